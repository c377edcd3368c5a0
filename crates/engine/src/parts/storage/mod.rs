//! Storage: the account's three S3 buckets (workspace, datastore, shared), each with default
//! encryption, versioning, all four public-access blocks, `BucketOwnerEnforced`, a policy statement
//! that denies non-TLS access (other statements in the policy are others') and, on the workspace,
//! the expiry rule. Buckets are kept by purpose; a non-empty bucket is never deleted.

pub mod model;
mod settings;
pub mod writes;
use std::collections::BTreeSet;

use dataplatform_api::SpecProblem;
use dataplatform_api::account::{BucketStatus, BucketsStatus};
use dataplatform_api::names::{BucketPurpose, DENY_INSECURE_TRANSPORT_SID};
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, OWNER_TAG};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::S3_BUCKET_POLICY;
use dataplatform_aws::s3::{
    BucketObservation, Encryption, ExpirationRule,
};
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, FieldChange, Part, Plan};
use crate::policy::Statement;
use crate::vocabulary::{Outcome, Owner, Readiness, observe_each, ours, tag_changes, tag_update, tags_used};
use settings::{creation, settings_changes, policy_change, expiration_text};
use writes::BucketWrite;

pub use model::{DesiredBucket, DesiredBuckets, ObservedBuckets};

pub struct Storage;

impl AccountPart for Storage {
    const PART: Part = Part::Storage;
    type Desired = DesiredBuckets;
    type Observed = ObservedBuckets;

    fn present(_spec: &DataPlatformAccountSpec) -> bool {
        true
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredBuckets {
        BucketPurpose::ALL
            .into_iter()
            .map(|purpose| {
                let name = account.names.bucket(purpose);
                let arn = account.bucket_arn(&name);
                let bucket = DesiredBucket {
                    encryption: match &spec.storage.kms_key_arn {
                        Some(key) => Encryption::Kms { key_id: key.clone() },
                        None => Encryption::Aes256,
                    },
                    versioning: spec.storage.versioning,
                    tls_statement: Statement::deny(DENY_INSECURE_TRANSPORT_SID)
                        .anyone()
                        .action("s3:*")
                        .resources([arn.clone(), format!("{arn}/*")])
                        .condition("Bool", "aws:SecureTransport", "false")
                        .build(),
                    expiration: (purpose == BucketPurpose::Workspace && spec.storage.workspace_expiration_days > 0)
                        .then_some(ExpirationRule {
                            days: spec.storage.workspace_expiration_days,
                        }),
                    name,
                };
                (purpose, bucket)
            })
            .collect()
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &DesiredBuckets,
    ) -> Result<ObservedBuckets, AwsError> {
        let buckets = observe_each(desired, |bucket| async move {
            session.s3().observe_bucket(&bucket.name).await
        })
        .await?;
        let mut unfinished = BTreeSet::new();
        // Only an untagged bucket costs this read: a steady state never makes it.
        for (purpose, seen) in buckets.iter().filter(|(_, b)| !b.tags.contains_key(OWNER_TAG)) {
            if session.s3().is_empty(&seen.name).await? {
                unfinished.insert(*purpose);
            }
        }
        let key = desired.values().find_map(|b| match &b.encryption {
            Encryption::Kms { key_id } => Some(key_id),
            Encryption::Aes256 => None,
        });
        let key_problem = match key {
            None => None,
            Some(key) => match session.kms().key_state(key).await? {
                None => Some(format!(
                    "key {key} does not exist in account {} region {}; name a key of that account (aws kms list-keys)",
                    account.account_id, account.region
                )),
                Some(state) if state != "Enabled" => Some(format!(
                    "key {key} is {state}; S3 cannot encrypt with it until it is Enabled"
                )),
                Some(_) => None,
            },
        };
        Ok(ObservedBuckets {
            buckets,
            unfinished,
            key_problem,
        })
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredBuckets,
        observed: &ObservedBuckets,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        desired
            .iter()
            .map(|(purpose, bucket)| {
                let owner = Owner {
                    value: owner.value,
                    adopt: owner.adopt || observed.unfinished.contains(purpose),
                };
                bucket_outcome(account, *purpose, bucket, observed.buckets.get(purpose), &owner)
            })
            .collect()
    }

    /// A bucket is usable as soon as it is created.
    fn readiness(_: &DesiredBuckets, _: &ObservedBuckets, _: &Plan, _: &mut Readiness) {}

    fn deletion(
        account: &AccountContext,
        desired: &DesiredBuckets,
        observed: &ObservedBuckets,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        desired
            .keys()
            .filter_map(|purpose| Some((purpose, observed.buckets.get(purpose)?)))
            .filter(|(_, seen)| ours(&seen.tags, &account.owner))
            .map(|(purpose, seen)| {
                Action::delete(
                    Part::Storage,
                    resource(*purpose),
                    &seen.name,
                    vec![BucketWrite::DeleteBucket {
                        bucket: seen.name.clone(),
                    }],
                )
            })
            .collect()
    }

    fn report(
        account: &AccountContext,
        desired: &DesiredBuckets,
        _observed: &ObservedBuckets,
        status: &mut DataPlatformAccountStatus,
    ) {
        let bucket = |purpose: BucketPurpose| {
            desired.get(&purpose).map(|b| BucketStatus {
                name: b.name.clone(),
                arn: account.bucket_arn(&b.name),
            })
        };
        status.buckets = Some(BucketsStatus {
            workspace: bucket(BucketPurpose::Workspace),
            datastore: bucket(BucketPurpose::Datastore),
            shared: bucket(BucketPurpose::Shared),
        });
    }

    fn quota_use(account: &AccountContext, observed: &ObservedBuckets, used: &mut QuotaUse) {
        for bucket in observed.buckets.values() {
            let place = || format!("bucket {} of {}", bucket.name, account.owner);
            if let Some(policy) = &bucket.policy {
                used.document(S3_BUCKET_POLICY, policy, place);
            }
            tags_used(used, &bucket.tags, place);
        }
    }

    fn policy_scope(account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.buckets = Some(BucketPurpose::ALL.iter().map(|p| account.names.bucket(*p)).collect());
        scope.keys = Some(spec.storage.kms_key_arn.iter().cloned().collect());
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &Self::Desired,
        observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        observed
            .key_problem
            .iter()
            .map(|problem| SpecProblem {
                field: "spec.storage.kmsKeyArn".to_owned(),
                message: problem.clone(),
            })
            .collect()
    }
}

/// `s3:workspace`.
fn resource(purpose: BucketPurpose) -> String {
    format!("s3:{}", purpose.as_str())
}

fn bucket_outcome(
    account: &AccountContext,
    purpose: BucketPurpose,
    bucket: &DesiredBucket,
    observed: Option<&BucketObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = resource(purpose);
    let name = bucket.name.clone();
    let Some(observed) = observed else {
        return Outcome::create(Action::create(Part::Storage, resource, name, creation(account, bucket)));
    };
    if let Err(conflict) = owner.check(&resource, &name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&account.tags, &observed.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        // S3 replaces the whole set: what the bucket holds, less the managed keys that left
        // spec.tags, plus what the spec wants.
        let update = tag_update(&account.tags, &observed.tags);
        let mut tags = observed.tags.clone();
        tags.retain(|key, _| !update.remove.contains(key));
        tags.extend(update.add);
        ops.push(BucketWrite::PutBucketTags {
            bucket: name.clone(),
            tags,
        });
    }
    settings_changes(bucket, observed, &mut changes, &mut ops);
    let mut ops = crate::plan::ops(ops);
    match policy_change(&resource, bucket, observed) {
        Err(conflict) => return Outcome::conflict(conflict),
        Ok(Some((change, merge))) => {
            changes.push(change);
            ops.push(merge.into());
        }
        Ok(None) => {}
    }
    if observed.lifecycle.ours != bucket.expiration {
        changes.push(FieldChange::new(
            "lifecycle",
            expiration_text(observed.lifecycle.ours),
            expiration_text(bucket.expiration),
        ));
        ops.push(
            BucketWrite::PutBucketLifecycle {
                bucket: name.clone(),
                lifecycle: observed.lifecycle.with_ours(bucket.expiration),
            }
            .into(),
        );
    }
    Outcome::update(Part::Storage, resource, &name, changes, ops)
}

