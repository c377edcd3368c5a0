//! A bucket's settings: how a new one is made, and the diff of what the spec owns of one that exists.

use dataplatform_aws::s3::{
    BUCKET_OWNER_ENFORCED, BucketObservation, Encryption, ExpirationRule, Lifecycle, PublicAccessBlock, Versioning,
};
use dataplatform_aws::s3_logging::LoggingTarget;

use crate::account::AccountContext;
use crate::plan::MergePolicyStatements;
use crate::plan::{FieldChange, SharedDocument, StatementOwner};
use crate::policy::{self, Merged};
use crate::vocabulary::NONE;
use serde_json::Value;

use super::keys::same_key;
use super::model::DesiredBucket;
use super::writes::BucketWrite;

/// A new bucket: created with its tags (again in a second call for endpoints that ignore
/// create-time tags), locked down, then configured.
/// `None` while the bucket's key does not exist yet.
pub(super) fn creation(account: &AccountContext, bucket: &DesiredBucket) -> Option<Vec<BucketWrite>> {
    let name = &bucket.name;
    let encryption = bucket.encryption.clone()?;
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
            encryption,
        },
        BucketWrite::PutBucketPolicy {
            bucket: name.clone(),
            document: policy::document(ours(bucket)).to_string(),
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
    if let Some(target) = &bucket.logging {
        ops.push(BucketWrite::PutBucketLogging {
            bucket: name.clone(),
            target: Some(target.clone()),
        });
    }
    Some(ops)
}

/// The statements of a bucket's policy that are ours. Delivery before TLS: moto reads a log
/// bucket's statements in order to find a delivery one and fails on a `"Principal": "*"` before it
/// (`_log_permissions_enabled_policy` calls `.get` on the string); AWS does not care.
fn ours(bucket: &DesiredBucket) -> Vec<Value> {
    let mut statements: Vec<Value> = bucket.log_delivery.clone();
    statements.push(bucket.tls_statement.clone());
    statements
}

/// Logging put back when it is off or goes elsewhere while the spec asks for it, and turned off
/// when it goes to our log bucket and the spec no longer asks; logging somebody else set up on
/// a bucket the spec does not log is theirs.
pub(super) fn logging_change(
    bucket: &DesiredBucket,
    observed: &BucketObservation,
    our_log_bucket: &str,
) -> Option<(FieldChange, BucketWrite)> {
    let change = |target: Option<&LoggingTarget>| {
        (
            FieldChange::new("logging", logging_text(observed.logging.as_ref()), logging_text(target)),
            BucketWrite::PutBucketLogging {
                bucket: bucket.name.clone(),
                target: target.cloned(),
            },
        )
    };
    match (&bucket.logging, &observed.logging) {
        (Some(wanted), seen) if seen.as_ref() != Some(wanted) => Some(change(Some(wanted))),
        (None, Some(seen)) if seen.bucket == our_log_bucket => Some(change(None)),
        _ => None,
    }
}

fn logging_text(target: Option<&LoggingTarget>) -> String {
    target.map_or(NONE.to_owned(), |t| format!("s3://{}/{}", t.bucket, t.prefix))
}

/// Encryption, versioning, the public-access block and ownership.
pub(super) fn settings_changes(
    bucket: &DesiredBucket,
    observed: &BucketObservation,
    changes: &mut Vec<FieldChange>,
    ops: &mut Vec<BucketWrite>,
) {
    let name = &bucket.name;
    // `None`: the operator's key is not made yet; the bucket keeps what it has until it is.
    if let Some(encryption) = &bucket.encryption
        && !encryption_matches(encryption, observed.encryption.as_ref())
    {
        changes.push(FieldChange::new(
            "encryption",
            encryption_text(observed.encryption.as_ref()),
            encryption_text(Some(encryption)),
        ));
        ops.push(BucketWrite::PutBucketEncryption {
            bucket: name.clone(),
            encryption: encryption.clone(),
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
pub(super) fn policy_change(
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
    let wanted = ours(bucket);
    let owned: Vec<&str> = wanted.iter().filter_map(policy::sid).collect();
    let merged = policy::merge_owned(existing.as_ref(), |sid| owned.contains(&sid), &wanted);
    Ok(matches!(merged, Merged::Put(_)).then(|| {
        (
            FieldChange::new(
                "policy",
                format!("statement {} missing or changed", owned.join(", ")),
                if bucket.log_delivery.is_empty() {
                    "deny non-TLS access"
                } else {
                    "deny non-TLS access, S3 log delivery only"
                },
            ),
            MergePolicyStatements {
                document: SharedDocument::BucketPolicy {
                    bucket: bucket.name.clone(),
                },
                owner: match owned.as_slice() {
                    [one] => StatementOwner::Sid((*one).to_owned()),
                    many => StatementOwner::Sids(many.iter().map(|s| (*s).to_owned()).collect()),
                },
                statements: wanted.clone(),
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
        (Encryption::Kms { key_id: wanted }, Some(Encryption::Kms { key_id: seen })) => same_key(wanted, seen),
        _ => false,
    }
}

pub(super) fn expiration_text(rule: Option<ExpirationRule>) -> String {
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
