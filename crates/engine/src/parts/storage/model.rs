//! What the storage part wants and finds: plain values, no AWS call.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::names::BucketPurpose;
use dataplatform_aws::s3::{BucketObservation, Encryption, ExpirationRule};
use serde_json::Value;

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
