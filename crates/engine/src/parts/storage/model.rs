//! What the storage part wants and finds: plain values, no AWS call.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::names::BucketPurpose;
use dataplatform_aws::s3::{BucketObservation, Encryption, ExpirationRule};
use dataplatform_aws::s3_logging::LoggingTarget;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredBucket {
    pub name: String,
    /// `None`: the operator's key (`encryption: Managed`) does not exist yet; the bucket waits.
    pub encryption: Option<Encryption>,
    pub versioning: bool,
    /// Our TLS-only statement; other statements in the policy belong to others.
    pub tls_statement: Value,
    /// The log bucket's statements letting S3's logging service deliver (one per source bucket).
    pub log_delivery: Vec<Value>,
    /// `None`: the bucket has no rule of ours (the workspace and the log bucket expire objects).
    pub expiration: Option<ExpirationRule>,
    /// Where its server access logs go (`spec.storage.accessLogs`); `None`: not logged by us.
    pub logging: Option<LoggingTarget>,
}

/// Every bucket by purpose, and the log bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredBuckets {
    pub buckets: BTreeMap<BucketPurpose, DesiredBucket>,
    /// `spec.storage.accessLogs`: the bucket the three log into.
    pub log_bucket: Option<DesiredBucket>,
    /// `spec.storage.encryption: Managed`.
    pub managed_key: bool,
    /// `spec.storage.kmsKeyArn`.
    pub named_key: Option<String>,
}

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
    /// The log bucket, when the spec asks for one.
    pub log_bucket: Option<BucketObservation>,
    /// The log bucket exists without any owner tag and empty (see `unfinished`).
    pub log_bucket_unfinished: bool,
    /// Without `encryption: Managed`: the operator's key for these buckets that a bucket still
    /// encrypts with (ARN), found only when a bucket's key is not the spec's.
    pub managed_key_in_use: Option<String>,
}
