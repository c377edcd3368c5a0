//! Storage: the account's three S3 buckets (workspace, datastore, shared), each with default
//! encryption (SSE-S3, the key the spec names, or the operator's key once the bucket-key part has
//! made it), versioning, all four public-access blocks, `BucketOwnerEnforced`, a policy statement
//! that denies non-TLS access (other statements in the policy are others'), on the workspace the
//! expiry rule, and with `accessLogs` server access logging into the log bucket (`access_logs`).
//! Buckets are kept by purpose; a non-empty bucket is never deleted.

mod access_logs;
mod keys;
pub mod model;
mod settings;
pub mod writes;
use std::collections::BTreeSet;

use dataplatform_api::SpecProblem;
use dataplatform_api::account::{BucketStatus, BucketsStatus};
use dataplatform_api::names::BucketPurpose;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, OWNER_TAG};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::S3_BUCKET_POLICY;
use dataplatform_aws::s3::{BucketObservation, Encryption, ExpirationRule};
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, FieldChange, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness, observe_each, ours, tag_changes, tag_update, tags_used};
use keys::named_key_problem;
use settings::{creation, expiration_text, logging_change, policy_change, settings_changes};
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
        let log_bucket = access_logs::log_bucket(account, spec);
        let buckets = BucketPurpose::ALL
            .into_iter()
            .map(|purpose| {
                let name = account.names.bucket(purpose);
                let bucket = DesiredBucket {
                    encryption: match &spec.storage.kms_key_arn {
                        Some(key) => Some(Encryption::Kms { key_id: key.clone() }),
                        // Completed from the bucket key's facts once it exists.
                        None if spec.storage.managed_key() => None,
                        None => Some(Encryption::Aes256),
                    },
                    versioning: spec.storage.versioning,
                    tls_statement: access_logs::tls_statement(account, &name),
                    log_delivery: vec![],
                    expiration: (purpose == BucketPurpose::Workspace && spec.storage.workspace_expiration_days > 0)
                        .then_some(ExpirationRule {
                            days: spec.storage.workspace_expiration_days,
                        }),
                    logging: log_bucket.as_ref().map(|logs| access_logs::target(&logs.name, purpose)),
                    name,
                };
                (purpose, bucket)
            })
            .collect();
        DesiredBuckets {
            buckets,
            log_bucket,
            managed_key: spec.storage.managed_key(),
            named_key: spec.storage.kms_key_arn.clone(),
        }
    }

    /// The operator's key, once it exists, is what the buckets encrypt with.
    fn complete(desired: &mut DesiredBuckets, facts: &Facts) {
        if desired.managed_key {
            for bucket in desired.buckets.values_mut() {
                bucket.encryption = facts.bucket_key.clone().map(|key_id| Encryption::Kms { key_id });
            }
        }
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &DesiredBuckets,
    ) -> Result<ObservedBuckets, AwsError> {
        let log_bucket = async {
            match &desired.log_bucket {
                Some(bucket) => session.s3().observe_bucket(&bucket.name).await,
                None => Ok(None),
            }
        };
        let buckets = observe_each(&desired.buckets, |bucket| async move {
            session.s3().observe_bucket(&bucket.name).await
        });
        let (buckets, log_bucket) = futures::try_join!(buckets, log_bucket)?;
        let mut unfinished = BTreeSet::new();
        // Only an untagged bucket costs this read: a steady state never makes it.
        for (purpose, seen) in buckets.iter().filter(|(_, b)| !b.tags.contains_key(OWNER_TAG)) {
            if session.s3().is_empty(&seen.name).await? {
                unfinished.insert(*purpose);
            }
        }
        let log_bucket_unfinished = match log_bucket.as_ref().filter(|b| !b.tags.contains_key(OWNER_TAG)) {
            Some(seen) => session.s3().is_empty(&seen.name).await?,
            None => false,
        };
        let key_problem = match &desired.named_key {
            None => None,
            Some(key) => named_key_problem(session, account, key).await?,
        };
        let managed_key_in_use = if desired.managed_key {
            None
        } else {
            keys::managed_key_in_use(session, account, desired, &buckets).await?
        };
        Ok(ObservedBuckets {
            buckets,
            unfinished,
            key_problem,
            log_bucket,
            log_bucket_unfinished,
            managed_key_in_use,
        })
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredBuckets,
        observed: &ObservedBuckets,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        // The log bucket first: the others' logging names it.
        let log_bucket = desired.log_bucket.as_ref().map(|bucket| {
            let owner = Owner {
                value: owner.value,
                adopt: owner.adopt || observed.log_bucket_unfinished,
            };
            bucket_outcome(account, LOG_BUCKET, bucket, observed.log_bucket.as_ref(), &owner)
        });
        let buckets = desired.buckets.iter().map(|(purpose, bucket)| {
            let owner = Owner {
                value: owner.value,
                adopt: owner.adopt || observed.unfinished.contains(purpose),
            };
            bucket_outcome(
                account,
                &resource(*purpose),
                bucket,
                observed.buckets.get(purpose),
                &owner,
            )
        });
        log_bucket.into_iter().chain(buckets).collect()
    }

    /// A bucket is usable as soon as it is created (one waiting for its key says so in the diff).
    fn readiness(_: &DesiredBuckets, _: &ObservedBuckets, _: &Plan, _: &mut Readiness) {}

    /// The three buckets, then the log bucket (it records their deletion) and the logs in it.
    fn deletion(
        account: &AccountContext,
        desired: &DesiredBuckets,
        observed: &ObservedBuckets,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        let buckets = desired
            .buckets
            .keys()
            .filter_map(|purpose| Some((resource(*purpose), observed.buckets.get(purpose)?)));
        let deletions = buckets
            .filter(|(_, seen)| ours(&seen.tags, &account.owner))
            .map(|(resource, seen)| {
                Action::delete(
                    Part::Storage,
                    resource,
                    &seen.name,
                    vec![BucketWrite::DeleteBucket {
                        bucket: seen.name.clone(),
                    }],
                )
            });
        // The log bucket's objects are the access logs S3 wrote, not anybody's data: emptied.
        let log_bucket = observed
            .log_bucket
            .iter()
            .filter(|seen| ours(&seen.tags, &account.owner))
            .map(|seen| {
                let bucket = seen.name.clone();
                Action::delete(
                    Part::Storage,
                    LOG_BUCKET,
                    &seen.name,
                    vec![
                        BucketWrite::EmptyLogBucket { bucket: bucket.clone() },
                        BucketWrite::DeleteBucket { bucket },
                    ],
                )
            });
        deletions.chain(log_bucket).collect()
    }

    fn report(
        account: &AccountContext,
        desired: &DesiredBuckets,
        _observed: &ObservedBuckets,
        status: &mut DataPlatformAccountStatus,
    ) {
        let status_of = |b: &DesiredBucket| BucketStatus {
            name: b.name.clone(),
            arn: account.bucket_arn(&b.name),
        };
        let bucket = |purpose: BucketPurpose| desired.buckets.get(&purpose).map(status_of);
        status.buckets = Some(BucketsStatus {
            workspace: bucket(BucketPurpose::Workspace),
            datastore: bucket(BucketPurpose::Datastore),
            shared: bucket(BucketPurpose::Shared),
        });
        if let Some(logs) = &desired.log_bucket {
            status.storage.get_or_insert_with(Default::default).access_log_bucket = Some(status_of(logs));
        }
    }

    fn quota_use(account: &AccountContext, observed: &ObservedBuckets, used: &mut QuotaUse) {
        for bucket in observed.buckets.values().chain(&observed.log_bucket) {
            let place = || format!("bucket {} of {}", bucket.name, account.owner);
            if let Some(policy) = &bucket.policy {
                used.document(S3_BUCKET_POLICY, policy, place);
            }
            tags_used(used, &bucket.tags, place);
        }
    }

    fn policy_scope(account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        let mut buckets: Vec<String> = BucketPurpose::ALL.iter().map(|p| account.names.bucket(*p)).collect();
        let log_bucket: Vec<String> = spec
            .storage
            .access_logs
            .iter()
            .map(|_| account.names.access_log_bucket())
            .collect();
        buckets.extend(log_bucket.iter().cloned());
        scope.buckets = Some(buckets);
        scope.log_bucket = Some(log_bucket);
        // The operator's key has an id only KMS knows: its grants are on the account's keys.
        scope.keys = Some(match spec.storage.managed_key() {
            true => vec!["*".to_owned()],
            false => spec.storage.kms_key_arn.iter().cloned().collect(),
        });
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        desired: &Self::Desired,
        observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        let named = observed.key_problem.iter().map(|problem| SpecProblem {
            field: "spec.storage.kmsKeyArn".to_owned(),
            message: problem.clone(),
        });
        named.chain(keys::switch_problems(desired, observed)).collect()
    }
}

const LOG_BUCKET: &str = "s3:access-logs";

/// `s3:workspace`.
fn resource(purpose: BucketPurpose) -> String {
    format!("s3:{}", purpose.as_str())
}

fn bucket_outcome(
    account: &AccountContext,
    resource: &str,
    bucket: &DesiredBucket,
    observed: Option<&BucketObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = resource.to_owned();
    let name = bucket.name.clone();
    let Some(observed) = observed else {
        // With `encryption: Managed` a bucket is made once its key exists.
        let Some(ops) = creation(account, bucket) else {
            return Outcome::waiting(format!(
                "{resource} ({name}) waits for its KMS key: it is created once the bucket key (spec.storage.encryption: Managed) exists"
            ));
        };
        return Outcome::create(Action::create(Part::Storage, resource, name, ops));
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
    if let Some(change) = logging_change(bucket, observed, &account.names.access_log_bucket()) {
        changes.push(change.0);
        ops.push(change.1.into());
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
