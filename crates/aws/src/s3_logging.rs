//! S3 server access logging: where a bucket's access logs go.

use aws_sdk_s3::types::{BucketLoggingStatus, Delete, LoggingEnabled, ObjectIdentifier};

use crate::error::AwsError;
use crate::permissions as op;
use crate::s3::S3;

/// The bucket and key prefix a bucket's server access logs are delivered to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingTarget {
    pub bucket: String,
    pub prefix: String,
}

impl S3<'_> {
    pub(crate) async fn logging(&self, bucket: &str) -> Result<Option<LoggingTarget>, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_BUCKET_LOGGING, || {
                s3.get_bucket_logging().bucket(bucket).send()
            })
            .await?;
        Ok(output.logging_enabled().map(|enabled| LoggingTarget {
            bucket: enabled.target_bucket().to_owned(),
            prefix: enabled.target_prefix().to_owned(),
        }))
    }

    /// Logs `bucket`'s accesses into `target`; `None` turns logging off.
    pub async fn put_logging(&self, bucket: &str, target: Option<&LoggingTarget>) -> Result<(), AwsError> {
        let enabled = match target {
            Some(target) => Some(
                LoggingEnabled::builder()
                    .target_bucket(&target.bucket)
                    .target_prefix(&target.prefix)
                    .build()
                    .map_err(|e| AwsError::request("s3", "PutBucketLogging", e))?,
            ),
            None => None,
        };
        let status = BucketLoggingStatus::builder().set_logging_enabled(enabled).build();
        let s3 = self.session.s3_client();
        self.session
            .call(&op::S3_PUT_BUCKET_LOGGING, || {
                s3.put_bucket_logging()
                    .bucket(bucket)
                    .bucket_logging_status(status.clone())
                    .send()
            })
            .await
            .map(drop)
    }
}

impl S3<'_> {
    /// Deletes every object (and version) in `bucket`, a thousand at a time: only ever the log
    /// bucket, whose objects are the access logs S3 delivered, on its way out under `Delete`.
    pub async fn empty_log_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        loop {
            let page = self
                .session
                .call(&op::S3_LIST_OBJECT_VERSIONS, || {
                    s3.list_object_versions().bucket(bucket).max_keys(1000).send()
                })
                .await?;
            let versions = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(page.delete_markers().iter().map(|m| (m.key(), m.version_id())));
            let objects: Vec<ObjectIdentifier> = versions
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .set_key(key.map(str::to_owned))
                        .set_version_id(version.filter(|v| *v != "null").map(str::to_owned))
                        .build()
                        .ok()
                })
                .collect();
            if objects.is_empty() {
                return Ok(());
            }
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| AwsError::request("s3", "DeleteObjects", e))?;
            let deleted = self
                .session
                .call(&op::S3_DELETE_OBJECTS, || {
                    s3.delete_objects().bucket(bucket).delete(delete.clone()).send()
                })
                .await?;
            // DeleteObjects answers 200 with a per-object error list: an object it could not
            // delete is an error here, not another round of the loop.
            if let Some(failed) = deleted.errors().first() {
                let code = failed.code().map(str::to_owned);
                return Err(AwsError {
                    service: "s3",
                    operation: "DeleteObjects",
                    class: crate::error::classify(code.as_deref(), None),
                    message: format!(
                        "{} of the objects in {bucket} could not be deleted, e.g. {}: {}",
                        deleted.errors().len(),
                        failed.key().unwrap_or_default(),
                        failed.message().unwrap_or_default()
                    ),
                    code,
                });
            }
        }
    }
}
