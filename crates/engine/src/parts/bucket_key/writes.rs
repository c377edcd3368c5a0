//! The bucket-key part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_api::OWNER_TAG;
use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::{Ec2Ref, Lookup, Made, Write};

/// The bucket-key part's AWS writes. A key is named by its ARN, or by the create before it.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyWrite {
    CreateKey {
        description: String,
        policy: String,
        tags: BTreeMap<String, String>,
    },
    EnableKeyRotation {
        key: Ec2Ref,
    },
    CreateAlias {
        alias: String,
        key: Ec2Ref,
    },
    PutKeyPolicy {
        key: String,
        policy: String,
    },
    CancelKeyDeletion {
        key: String,
    },
    EnableKey {
        key: String,
    },
    TagKey {
        key: String,
        tags: TagUpdate,
    },
    DeleteAlias {
        alias: String,
    },
    ScheduleKeyDeletion {
        key: String,
        days: i32,
        /// The buckets encrypted with it: while any is left the key is kept.
        buckets: Vec<String>,
    },
}

impl Write for KeyWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        let kms = session.kms();
        match self {
            Self::CreateKey {
                description,
                policy,
                tags,
            } => {
                let arn = kms.create_key(description, policy, tags).await?;
                made.ids.insert(resource.to_owned(), arn);
                Ok(())
            }
            Self::EnableKeyRotation { key } => kms.enable_rotation(&made.id(key)?).await,
            Self::CreateAlias { alias, key } => kms.create_alias(alias, &made.id(key)?).await,
            Self::PutKeyPolicy { key, policy } => kms.put_key_policy(key, policy).await,
            Self::CancelKeyDeletion { key } => kms.cancel_deletion(key).await,
            Self::EnableKey { key } => kms.enable_key(key).await,
            Self::TagKey { key, tags } => kms.tag_key(key, tags).await,
            Self::DeleteAlias { alias } => kms.delete_alias(alias).await,
            Self::ScheduleKeyDeletion { key, days, .. } => kms.schedule_deletion(key, *days).await,
        }
    }

    /// A CreateKey whose answer was lost: the key carrying our owner tag is the one it made.
    async fn look_after_failure(&self, session: &AccountSession, _made: &Made) -> Result<Lookup, AwsError> {
        match self {
            Self::CreateKey { tags, .. } => {
                let Some(owner) = tags.get(OWNER_TAG) else {
                    return Ok(Lookup::CannotTell);
                };
                Ok(Lookup::only(session.kms().keys_tagged(OWNER_TAG, owner).await?))
            }
            _ => Ok(Lookup::CannotTell),
        }
    }

    /// The key is scheduled for deletion only once the buckets it encrypts are gone: a bucket kept
    /// because it holds objects keeps the key that decrypts them.
    async fn holds(&self, session: &AccountSession) -> Result<Option<&'static str>, AwsError> {
        let Self::ScheduleKeyDeletion { buckets, .. } = self else {
            return Ok(None);
        };
        for bucket in buckets {
            if session.s3().tags_if_exists(bucket).await?.is_some() {
                return Ok(Some("the key of buckets that are kept"));
            }
        }
        Ok(None)
    }
}
