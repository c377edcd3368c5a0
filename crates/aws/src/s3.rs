//! S3 buckets: observe every setting the spec owns, and the writes that put each one right.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};

use crate::error::{AwsError, ErrorClass, optional};
use crate::permissions as op;
use crate::quotas::S3_BUCKET_POLICY;
use crate::session::AccountSession;

const SERVICE: &str = "s3";

/// The object ownership every bucket of ours has: ACLs off, the bucket owner owns every object.
pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    Kms { key_id: String },
    Aes256,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: the state of a new bucket.
    Unversioned,
    Enabled,
    Suspended,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL_BLOCKED: Self = Self {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
}

/// The expiry rule the operator owns, found by its id among the bucket's lifecycle rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpirationRule {
    pub days: i32,
}

/// Lifecycle rules of a bucket: the one the operator owns and the others, kept verbatim so a write
/// of ours never drops a rule somebody else added.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lifecycle {
    pub ours: Option<ExpirationRule>,
    others: Vec<LifecycleRule>,
}

impl Lifecycle {
    pub const RULE_ID: &'static str = "dataplatform-expiration";

    pub fn with_ours(&self, ours: Option<ExpirationRule>) -> Self {
        Self {
            ours,
            others: self.others.clone(),
        }
    }

    fn from_rules(rules: &[LifecycleRule]) -> Self {
        let (ours, others): (Vec<_>, Vec<_>) = rules.iter().cloned().partition(|r| r.id() == Some(Self::RULE_ID));
        let ours = ours.first().and_then(|rule| {
            let enabled = rule.status() == &ExpirationStatus::Enabled;
            let days = rule.expiration().and_then(|e| e.days());
            match (enabled, days) {
                (true, Some(days)) => Some(ExpirationRule { days }),
                _ => None,
            }
        });
        Self { ours, others }
    }

    fn to_rules(&self) -> Result<Vec<LifecycleRule>, AwsError> {
        let mut rules = self.others.clone();
        if let Some(ExpirationRule { days }) = self.ours {
            let rule = LifecycleRule::builder()
                .id(Self::RULE_ID)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .expiration(LifecycleExpiration::builder().days(days).build())
                // On a versioned bucket expiry only adds delete markers; this frees the space too.
                .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(days).build())
                .build()
                .map_err(|e| build_error("PutBucketLifecycleConfiguration", e))?;
            rules.push(rule);
        }
        Ok(rules)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BucketObservation {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub encryption: Option<Encryption>,
    pub versioning: Versioning,
    pub public_access_block: PublicAccessBlock,
    pub ownership: Option<String>,
    pub policy: Option<String>,
    pub lifecycle: Lifecycle,
    /// Where its server access logs go; `None`: not logged.
    pub logging: Option<crate::s3_logging::LoggingTarget>,
}

pub struct S3<'a> {
    pub(crate) session: &'a AccountSession,
}

impl AccountSession {
    pub fn s3(&self) -> S3<'_> {
        S3 { session: self }
    }
}

impl S3<'_> {
    /// `None` when no bucket of that name exists. A bucket held by another account answers
    /// AccessDenied and is returned as that error.
    pub async fn observe_bucket(&self, bucket: &str) -> Result<Option<BucketObservation>, AwsError> {
        if !self.exists(bucket).await? {
            return Ok(None);
        }
        let (tags, encryption, versioning, public_access_block, ownership, policy, lifecycle, logging) = tokio::try_join!(
            self.tags(bucket),
            self.encryption(bucket),
            self.versioning(bucket),
            self.public_access_block(bucket),
            self.ownership(bucket),
            self.policy(bucket),
            self.lifecycle(bucket),
            self.logging(bucket),
        )?;
        Ok(Some(BucketObservation {
            name: bucket.to_owned(),
            tags,
            encryption,
            versioning,
            public_access_block,
            ownership,
            policy,
            lifecycle,
            logging,
        }))
    }

    /// The bucket's tags alone (who owns it), `None` when no bucket of that name exists: what a
    /// grant needs to know of its grantor's bucket before it writes there.
    pub async fn tags_if_exists(&self, bucket: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        if !self.exists(bucket).await? {
            return Ok(None);
        }
        self.tags(bucket).await.map(Some)
    }

    /// A bucket held by another account answers AccessDenied, returned as that error.
    async fn exists(&self, bucket: &str) -> Result<bool, AwsError> {
        let s3 = self.session.s3_client();
        let head = self
            .session
            .call(&op::S3_HEAD_BUCKET, || s3.head_bucket().bucket(bucket).send())
            .await;
        if absent(&head) {
            return Ok(false);
        }
        head.map(|_| true)
    }

    async fn tags(&self, bucket: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let s3 = self.session.s3_client();
        let tagging = self
            .session
            .call(&op::S3_GET_BUCKET_TAGGING, || {
                s3.get_bucket_tagging().bucket(bucket).send()
            })
            .await;
        Ok(optional(tagging)?
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn encryption(&self, bucket: &str) -> Result<Option<Encryption>, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_BUCKET_ENCRYPTION, || {
                s3.get_bucket_encryption().bucket(bucket).send()
            })
            .await;
        Ok(optional(output)?.and_then(|o| {
            let default = o
                .server_side_encryption_configuration()?
                .rules()
                .first()?
                .apply_server_side_encryption_by_default()?
                .clone();
            Some(match default.sse_algorithm() {
                ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse => Encryption::Kms {
                    key_id: default.kms_master_key_id().unwrap_or_default().to_owned(),
                },
                _ => Encryption::Aes256,
            })
        }))
    }

    async fn versioning(&self, bucket: &str) -> Result<Versioning, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_BUCKET_VERSIONING, || {
                s3.get_bucket_versioning().bucket(bucket).send()
            })
            .await?;
        Ok(match output.status() {
            Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
            Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
            _ => Versioning::Unversioned,
        })
    }

    async fn public_access_block(&self, bucket: &str) -> Result<PublicAccessBlock, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_PUBLIC_ACCESS_BLOCK, || {
                s3.get_public_access_block().bucket(bucket).send()
            })
            .await;
        Ok(optional(output)?
            .and_then(|o| o.public_access_block_configuration().cloned())
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })
            .unwrap_or_default())
    }

    async fn ownership(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_BUCKET_OWNERSHIP_CONTROLS, || {
                s3.get_bucket_ownership_controls().bucket(bucket).send()
            })
            .await;
        Ok(optional(output)?.and_then(|o| {
            o.ownership_controls()?
                .rules()
                .first()
                .map(|r| r.object_ownership().as_str().to_owned())
        }))
    }

    /// The bucket's policy document; `None` when it has none (or the bucket is gone).
    pub async fn policy(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_BUCKET_POLICY, || {
                s3.get_bucket_policy().bucket(bucket).send()
            })
            .await;
        Ok(optional(output)?.and_then(|o| o.policy().map(str::to_owned)))
    }

    async fn lifecycle(&self, bucket: &str) -> Result<Lifecycle, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_GET_BUCKET_LIFECYCLE_CONFIGURATION, || {
                s3.get_bucket_lifecycle_configuration().bucket(bucket).send()
            })
            .await;
        Ok(optional(output)?
            .map(|o| Lifecycle::from_rules(o.rules()))
            .unwrap_or_default())
    }

    /// Creates the bucket with its tags in the same request, so a bucket of ours is never untagged
    /// on AWS even if we stop right after (endpoints that ignore create-time tags get them from the
    /// `put_tags` that follows).
    pub async fn create_bucket(&self, bucket: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let region = self.session.region().to_owned();
        let mut configuration = CreateBucketConfiguration::builder();
        // us-east-1 is the one region that refuses its own location constraint.
        if region != "us-east-1" {
            configuration = configuration.location_constraint(BucketLocationConstraint::from(region.as_str()));
        }
        let configuration = configuration.set_tags(Some(to_tags(tags)?)).build();
        let created = self
            .session
            .call(&op::S3_CREATE_BUCKET, || {
                s3.create_bucket()
                    .bucket(bucket)
                    .create_bucket_configuration(configuration.clone())
                    .send()
            })
            .await;
        match created {
            Err(e) if e.code.as_deref() == Some("BucketAlreadyOwnedByYou") => Ok(()),
            other => other.map(drop),
        }
    }

    pub async fn put_tags(&self, bucket: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let tagging = Tagging::builder()
            .set_tag_set(Some(to_tags(tags)?))
            .build()
            .map_err(|e| build_error("PutBucketTagging", e))?;
        self.session
            .call(&op::S3_PUT_BUCKET_TAGGING, || {
                s3.put_bucket_tagging().bucket(bucket).tagging(tagging.clone()).send()
            })
            .await
            .map(drop)
    }

    pub async fn put_encryption(&self, bucket: &str, encryption: &Encryption) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let default = match encryption {
            Encryption::Kms { key_id } => ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(key_id),
            Encryption::Aes256 => ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256),
        }
        .build()
        .map_err(|e| build_error("PutBucketEncryption", e))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default)
            // S3 Bucket Keys cut KMS requests (and cost) by orders of magnitude.
            .bucket_key_enabled(matches!(encryption, Encryption::Kms { .. }))
            .build();
        let configuration = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| build_error("PutBucketEncryption", e))?;
        self.session
            .call(&op::S3_PUT_BUCKET_ENCRYPTION, || {
                s3.put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(configuration.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_versioning(&self, bucket: &str, enabled: bool) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let status = if enabled {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        let configuration = VersioningConfiguration::builder().status(status).build();
        self.session
            .call(&op::S3_PUT_BUCKET_VERSIONING, || {
                s3.put_bucket_versioning()
                    .bucket(bucket)
                    .versioning_configuration(configuration.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_public_access_block(&self, bucket: &str, block: PublicAccessBlock) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let configuration = PublicAccessBlockConfiguration::builder()
            .block_public_acls(block.block_public_acls)
            .ignore_public_acls(block.ignore_public_acls)
            .block_public_policy(block.block_public_policy)
            .restrict_public_buckets(block.restrict_public_buckets)
            .build();
        self.session
            .call(&op::S3_PUT_PUBLIC_ACCESS_BLOCK, || {
                s3.put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(configuration.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_ownership(&self, bucket: &str, ownership: &str) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership))
            .build()
            .map_err(|e| build_error("PutBucketOwnershipControls", e))?;
        let controls = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|e| build_error("PutBucketOwnershipControls", e))?;
        self.session
            .call(&op::S3_PUT_BUCKET_OWNERSHIP_CONTROLS, || {
                s3.put_bucket_ownership_controls()
                    .bucket(bucket)
                    .ownership_controls(controls.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    /// A policy past S3's 20 KB is never sent.
    pub async fn put_policy(&self, bucket: &str, policy: &str) -> Result<(), AwsError> {
        S3_BUCKET_POLICY
            .check_document(policy, &format!("the policy of bucket {bucket}"))
            .map_err(|refused| refused.refused("s3", "PutBucketPolicy"))?;
        let s3 = self.session.s3_client();
        self.session
            .call(&op::S3_PUT_BUCKET_POLICY, || {
                s3.put_bucket_policy().bucket(bucket).policy(policy).send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_policy(&self, bucket: &str) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        self.session
            .call(&op::S3_DELETE_BUCKET_POLICY, || {
                s3.delete_bucket_policy().bucket(bucket).send()
            })
            .await
            .map(drop)
    }

    pub async fn put_lifecycle(&self, bucket: &str, lifecycle: &Lifecycle) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let rules = lifecycle.to_rules()?;
        if rules.is_empty() {
            return self
                .session
                .call(&op::S3_DELETE_BUCKET_LIFECYCLE, || {
                    s3.delete_bucket_lifecycle().bucket(bucket).send()
                })
                .await
                .map(drop);
        }
        let configuration = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| build_error("PutBucketLifecycleConfiguration", e))?;
        self.session
            .call(&op::S3_PUT_BUCKET_LIFECYCLE_CONFIGURATION, || {
                s3.put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(configuration.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    /// True when the bucket holds no object, version or delete marker.
    pub async fn is_empty(&self, bucket: &str) -> Result<bool, AwsError> {
        let s3 = self.session.s3_client();
        let output = self
            .session
            .call(&op::S3_LIST_OBJECT_VERSIONS, || {
                s3.list_object_versions().bucket(bucket).max_keys(1).send()
            })
            .await?;
        Ok(output.versions().is_empty() && output.delete_markers().is_empty())
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        let s3 = self.session.s3_client();
        let deleted = self
            .session
            .call(&op::S3_DELETE_BUCKET, || s3.delete_bucket().bucket(bucket).send())
            .await;
        if absent(&deleted) {
            return Ok(());
        }
        deleted.map(drop)
    }
}

fn to_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| build_error("PutBucketTagging", e))
        })
        .collect()
}

fn absent<T>(result: &Result<T, AwsError>) -> bool {
    matches!(result, Err(e) if e.class == ErrorClass::NotFound)
}

fn build_error(operation: &'static str, error: impl std::fmt::Display) -> AwsError {
    AwsError::request(SERVICE, operation, error)
}
