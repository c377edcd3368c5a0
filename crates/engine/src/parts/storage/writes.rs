//! The storage part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::s3::{BUCKET_OWNER_ENFORCED, Encryption, Lifecycle, PublicAccessBlock};
use dataplatform_aws::s3_logging::LoggingTarget;
use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::Made;
use crate::plan::Write;

/// The storage part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum BucketWrite {
    CreateBucket {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    PutBucketTags {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    PutBucketEncryption {
        bucket: String,
        encryption: Encryption,
    },
    PutBucketVersioning {
        bucket: String,
        enabled: bool,
    },
    BlockPublicAccess {
        bucket: String,
    },
    EnforceBucketOwner {
        bucket: String,
    },
    PutBucketPolicy {
        bucket: String,
        document: String,
    },
    PutBucketLifecycle {
        bucket: String,
        lifecycle: Lifecycle,
    },
    /// `None` turns logging off.
    PutBucketLogging {
        bucket: String,
        target: Option<LoggingTarget>,
    },
    /// Only the log bucket: its access logs go with it under `Delete`.
    EmptyLogBucket {
        bucket: String,
    },
    DeleteBucket {
        bucket: String,
    },
}

impl Write for BucketWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let s3 = session.s3();
        match self {
            Self::CreateBucket { bucket, tags } => s3.create_bucket(bucket, tags).await,
            Self::PutBucketTags { bucket, tags } => s3.put_tags(bucket, tags).await,
            Self::PutBucketEncryption { bucket, encryption } => s3.put_encryption(bucket, encryption).await,
            Self::PutBucketVersioning { bucket, enabled } => s3.put_versioning(bucket, *enabled).await,
            Self::BlockPublicAccess { bucket } => {
                s3.put_public_access_block(bucket, PublicAccessBlock::ALL_BLOCKED).await
            }
            Self::EnforceBucketOwner { bucket } => s3.put_ownership(bucket, BUCKET_OWNER_ENFORCED).await,
            Self::PutBucketPolicy { bucket, document } => s3.put_policy(bucket, document).await,
            Self::PutBucketLifecycle { bucket, lifecycle } => s3.put_lifecycle(bucket, lifecycle).await,
            Self::PutBucketLogging { bucket, target } => s3.put_logging(bucket, target.as_ref()).await,
            Self::EmptyLogBucket { bucket } => s3.empty_log_bucket(bucket).await,
            Self::DeleteBucket { bucket } => s3.delete_bucket(bucket).await,
        }
    }

    /// The operator never deletes objects: a bucket that holds any is kept.
    async fn holds(&self, session: &AccountSession) -> Result<Option<&'static str>, AwsError> {
        match self {
            Self::DeleteBucket { bucket } => Ok((!session.s3().is_empty(bucket).await?).then_some("objects")),
            _ => Ok(None),
        }
    }
}
