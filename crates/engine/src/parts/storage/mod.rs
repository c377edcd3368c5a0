//! Storage: the account's three S3 buckets (workspace, datastore, shared), each with default
//! encryption, versioning, all four public-access blocks, `BucketOwnerEnforced`, a policy statement
//! that denies non-TLS access (other statements in the policy are others') and, on the workspace,
//! the expiry rule. Buckets are kept by purpose; a non-empty bucket is never deleted.

pub mod writes;
use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::SpecProblem;
use dataplatform_api::account::{BucketStatus, BucketsStatus};
use dataplatform_api::names::{BucketPurpose, DENY_INSECURE_TRANSPORT_SID};
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, OWNER_TAG};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::S3_BUCKET_POLICY;
use dataplatform_aws::s3::{
    BUCKET_OWNER_ENFORCED, BucketObservation, Encryption, ExpirationRule, Lifecycle, PublicAccessBlock, Versioning,
};
use dataplatform_aws::{AccountSession, AwsError};
use serde_json::Value;

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::MergePolicyStatements;
use crate::plan::{Action, FieldChange, Part, Plan, SharedDocument, StatementOwner};
use crate::policy::{self, Merged, Statement};
use crate::vocabulary::{NONE, Outcome, Owner, Readiness, observe_each, ours, tag_changes, tag_update, tags_used};
use writes::BucketWrite;

pub struct Storage;

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredBucket {
    pub name: String,
    pub encryption: Encryption,
    pub versioning: bool,
    /// Our TLS-only statement; other statements in the policy belong to others.
    pub tls_statement: Value,
    /// `None`: the bucket has no rule of ours (only the workspace expires objects).
    pub expiration: Option<ExpirationRule>,
}

/// Every bucket by purpose.
pub type DesiredBuckets = BTreeMap<BucketPurpose, DesiredBucket>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedBuckets {
    /// The buckets that exist, by purpose.
    pub buckets: BTreeMap<BucketPurpose, BucketObservation>,
    /// Buckets under our name with no owner tag at all and nothing in them: what a pass stopped
    /// between CreateBucket and the tagging call after it leaves (endpoints that ignore create-time
    /// tags). They are finished as ours; one holding objects is somebody's and stays a Conflict.
    pub unfinished: BTreeSet<BucketPurpose>,
    /// Why `spec.storage.kmsKeyArn` cannot encrypt the buckets (missing, disabled, pending deletion),
    /// found before any bucket write; `None` when it can or there is no key.
    pub key_problem: Option<String>,
}

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

/// A new bucket: created with its tags (again in a second call for endpoints that ignore
/// create-time tags), locked down, then configured.
fn creation(account: &AccountContext, bucket: &DesiredBucket) -> Vec<BucketWrite> {
    let name = &bucket.name;
    let mut ops = vec![
        BucketWrite::CreateBucket {
            bucket: name.clone(),
            tags: account.tags.clone(),
        },
        BucketWrite::PutBucketTags {
            bucket: name.clone(),
            tags: account.tags.clone(),
        },
        BucketWrite::BlockPublicAccess { bucket: name.clone() },
        BucketWrite::EnforceBucketOwner { bucket: name.clone() },
        BucketWrite::PutBucketEncryption {
            bucket: name.clone(),
            encryption: bucket.encryption.clone(),
        },
        BucketWrite::PutBucketPolicy {
            bucket: name.clone(),
            document: policy::document(vec![bucket.tls_statement.clone()]).to_string(),
        },
    ];
    if bucket.versioning {
        ops.push(BucketWrite::PutBucketVersioning {
            bucket: name.clone(),
            enabled: true,
        });
    }
    if bucket.expiration.is_some() {
        ops.push(BucketWrite::PutBucketLifecycle {
            bucket: name.clone(),
            lifecycle: Lifecycle::default().with_ours(bucket.expiration),
        });
    }
    ops
}

/// Encryption, versioning, the public-access block and ownership.
fn settings_changes(
    bucket: &DesiredBucket,
    observed: &BucketObservation,
    changes: &mut Vec<FieldChange>,
    ops: &mut Vec<BucketWrite>,
) {
    let name = &bucket.name;
    if !encryption_matches(&bucket.encryption, observed.encryption.as_ref()) {
        changes.push(FieldChange::new(
            "encryption",
            encryption_text(observed.encryption.as_ref()),
            encryption_text(Some(&bucket.encryption)),
        ));
        ops.push(BucketWrite::PutBucketEncryption {
            bucket: name.clone(),
            encryption: bucket.encryption.clone(),
        });
    }
    let versioning_ok = match observed.versioning {
        Versioning::Enabled => bucket.versioning,
        Versioning::Suspended | Versioning::Unversioned => !bucket.versioning,
    };
    if !versioning_ok {
        changes.push(FieldChange::new(
            "versioning",
            format!("{:?}", observed.versioning),
            if bucket.versioning { "Enabled" } else { "Suspended" },
        ));
        ops.push(BucketWrite::PutBucketVersioning {
            bucket: name.clone(),
            enabled: bucket.versioning,
        });
    }
    if observed.public_access_block != PublicAccessBlock::ALL_BLOCKED {
        changes.push(FieldChange::new(
            "publicAccessBlock",
            public_access_text(observed.public_access_block),
            "all four blocked",
        ));
        ops.push(BucketWrite::BlockPublicAccess { bucket: name.clone() });
    }
    if observed.ownership.as_deref() != Some(BUCKET_OWNER_ENFORCED) {
        changes.push(FieldChange::new(
            "ownership",
            observed.ownership.as_deref().unwrap_or(NONE),
            BUCKET_OWNER_ENFORCED,
        ));
        ops.push(BucketWrite::EnforceBucketOwner { bucket: name.clone() });
    }
}

/// Our TLS statement merged into the bucket policy when it is missing or changed; `Err` when the
/// policy is not JSON we may rewrite.
fn policy_change(
    resource: &str,
    bucket: &DesiredBucket,
    observed: &BucketObservation,
) -> Result<Option<(FieldChange, MergePolicyStatements)>, String> {
    let existing = match observed.policy.as_deref().map(policy::parse) {
        Some(None) => {
            return Err(format!(
                "{resource} ({}) has a bucket policy that is not valid JSON; fix or remove it by hand",
                bucket.name
            ));
        }
        parsed => parsed.flatten(),
    };
    let merged = policy::merge_owned(
        existing.as_ref(),
        |sid| sid == DENY_INSECURE_TRANSPORT_SID,
        std::slice::from_ref(&bucket.tls_statement),
    );
    Ok(matches!(merged, Merged::Put(_)).then(|| {
        (
            FieldChange::new(
                "policy",
                format!("statement {DENY_INSECURE_TRANSPORT_SID} missing or changed"),
                "deny non-TLS access",
            ),
            MergePolicyStatements {
                document: SharedDocument::BucketPolicy {
                    bucket: bucket.name.clone(),
                },
                owner: StatementOwner::Sid(DENY_INSECURE_TRANSPORT_SID.to_owned()),
                statements: vec![bucket.tls_statement.clone()],
            },
        )
    }))
}

fn encryption_text(encryption: Option<&Encryption>) -> String {
    match encryption {
        None => NONE.to_owned(),
        Some(Encryption::Aes256) => "AES256".to_owned(),
        Some(Encryption::Kms { key_id }) => format!("aws:kms {key_id}"),
    }
}

fn encryption_matches(desired: &Encryption, observed: Option<&Encryption>) -> bool {
    match (desired, observed) {
        (Encryption::Aes256, Some(Encryption::Aes256)) => true,
        // AWS may answer with the key id where we gave the key ARN.
        (Encryption::Kms { key_id: wanted }, Some(Encryption::Kms { key_id: seen })) => {
            wanted == seen || wanted.ends_with(&format!("/{seen}"))
        }
        _ => false,
    }
}

fn expiration_text(rule: Option<ExpirationRule>) -> String {
    rule.map_or(NONE.to_owned(), |r| format!("expire after {} days", r.days))
}

fn public_access_text(block: PublicAccessBlock) -> String {
    let off: Vec<&str> = [
        ("blockPublicAcls", block.block_public_acls),
        ("ignorePublicAcls", block.ignore_public_acls),
        ("blockPublicPolicy", block.block_public_policy),
        ("restrictPublicBuckets", block.restrict_public_buckets),
    ]
    .into_iter()
    .filter(|(_, on)| !on)
    .map(|(name, _)| name)
    .collect();
    format!("off: {}", off.join(", "))
}
