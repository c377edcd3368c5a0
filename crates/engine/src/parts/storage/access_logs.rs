//! The log bucket (`spec.storage.accessLogs`): where S3 delivers the three buckets' server access
//! logs, one prefix each. SSE-S3, because S3's log delivery cannot write to a bucket whose default
//! encryption is SSE-KMS; objects expire after the retention; no versioning (expired logs would
//! stay as noncurrent versions); a policy that lets only S3's logging service, for these source
//! buckets of this account, write under each one's prefix (S3 User Guide, "Permissions for log
//! delivery": `logging.s3.amazonaws.com` with `aws:SourceArn` and `aws:SourceAccount`).

use dataplatform_api::DataPlatformAccountSpec;
use dataplatform_api::names::{BucketPurpose, DENY_INSECURE_TRANSPORT_SID};
use dataplatform_aws::s3::{Encryption, ExpirationRule};
use dataplatform_aws::s3_logging::LoggingTarget;
use serde_json::Value;

use crate::account::AccountContext;
use crate::policy::Statement;

use super::model::DesiredBucket;

/// Where `purpose`'s access logs go in `log_bucket`.
pub(super) fn target(log_bucket: &str, purpose: BucketPurpose) -> LoggingTarget {
    LoggingTarget {
        bucket: log_bucket.to_owned(),
        prefix: format!("{}/", purpose.as_str()),
    }
}

pub(super) fn tls_statement(account: &AccountContext, bucket: &str) -> Value {
    let arn = account.bucket_arn(bucket);
    Statement::deny(DENY_INSECURE_TRANSPORT_SID)
        .anyone()
        .action("s3:*")
        .resources([arn.clone(), format!("{arn}/*")])
        .condition("Bool", "aws:SecureTransport", "false")
        .build()
}

pub(super) fn log_bucket(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Option<DesiredBucket> {
    let logs = spec.storage.access_logs.as_ref()?;
    let name = account.names.access_log_bucket();
    let log_delivery = BucketPurpose::ALL
        .iter()
        .map(|purpose| delivery_statement(account, &name, *purpose))
        .collect();
    Some(DesiredBucket {
        encryption: Some(Encryption::Aes256),
        versioning: false,
        tls_statement: tls_statement(account, &name),
        log_delivery,
        expiration: Some(ExpirationRule {
            days: logs.retention_days,
        }),
        logging: None,
        name,
    })
}

/// One source bucket's delivery under its own prefix. One resource per statement, as a string:
/// moto recognises a delivery statement only in that shape (`_log_permissions_enabled_policy`).
fn delivery_statement(account: &AccountContext, log_bucket: &str, purpose: BucketPurpose) -> Value {
    let source = account.bucket_arn(&account.names.bucket(purpose));
    let target = target(log_bucket, purpose);
    Statement::allow(&delivery_sid(purpose))
        .principal("Service", "logging.s3.amazonaws.com")
        .action("s3:PutObject")
        .resource(format!("{}/{}*", account.bucket_arn(log_bucket), target.prefix))
        .condition("ArnLike", "aws:SourceArn", source)
        .condition("StringEquals", "aws:SourceAccount", account.account_id.clone())
        .build()
}

/// `AccessLogsFromWorkspace`.
fn delivery_sid(purpose: BucketPurpose) -> String {
    let name = purpose.as_str();
    format!("AccessLogsFrom{}{}", name[..1].to_uppercase(), &name[1..])
}
