//! KMS: the key the operator makes for an account's buckets (`storage.encryption: Managed`), found
//! by its alias, and grants on a customer-managed key (how a SharedBucketGrant lets another account
//! use the key that encrypts the shared bucket, found by name). A named key's policy is never touched.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
use aws_sdk_kms::types::{GrantOperation, Tag};

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::quotas::KMS_KEY_POLICY;
use crate::session::AccountSession;

/// What a managed key is, as the operator compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyObservation {
    pub arn: String,
    pub key_id: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    pub tags: BTreeMap<String, String>,
    /// The key policy (`default`, the only one KMS has); `None` while the key is pending deletion.
    pub policy: Option<String>,
    pub rotation: bool,
}

impl KeyObservation {
    pub fn pending_deletion(&self) -> bool {
        self.state == "PendingDeletion"
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    pub grant_id: String,
    pub grantee_principal: String,
    /// Operation names as KMS spells them, e.g. `Decrypt`.
    pub operations: BTreeSet<String>,
}

pub struct Kms<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn kms(&self) -> Kms<'_> {
        Kms { session: self }
    }
}

impl Kms<'_> {
    /// DescribeKey of a key id, ARN or alias; `None` when no such key exists.
    async fn describe(&self, key: &str) -> Result<Option<DescribeKeyOutput>, AwsError> {
        let kms = self.session.kms_client();
        optional(
            self.session
                .call(&op::KMS_DESCRIBE_KEY, || kms.describe_key().key_id(key).send())
                .await,
        )
    }

    /// The key's state as KMS reports it (`Enabled`, `Disabled`, `PendingDeletion`, ...); `None`
    /// when no such key exists.
    pub async fn key_state(&self, key: &str) -> Result<Option<String>, AwsError> {
        Ok(self.describe(key).await?.map(|d| {
            d.key_metadata()
                .and_then(|m| m.key_state())
                .map_or_else(|| "Unknown".to_owned(), |state| state.as_str().to_owned())
        }))
    }

    /// The ARN of the key `alias` names, by one read; `None` when the alias does not exist.
    pub async fn key_arn(&self, alias: &str) -> Result<Option<String>, AwsError> {
        Ok(self
            .describe(alias)
            .await?
            .and_then(|d| d.key_metadata().and_then(|m| m.arn()).map(str::to_owned)))
    }

    /// The key `alias` names (e.g. `alias/dataplatform/x`), with its tags, policy and rotation;
    /// `None` when the alias does not exist.
    pub async fn observe_key(&self, alias: &str) -> Result<Option<KeyObservation>, AwsError> {
        let Some(metadata) = self.describe(alias).await?.and_then(|d| d.key_metadata().cloned()) else {
            return Ok(None);
        };
        let key_id = metadata.key_id().to_owned();
        let state = metadata
            .key_state()
            .map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned());
        let tags = self.key_tags(&key_id).await?;
        // A key pending deletion answers neither read (KMSInvalidStateException).
        let (policy, rotation) = if state == "PendingDeletion" {
            (None, false)
        } else {
            let (policy, rotation) = tokio::try_join!(self.key_policy(&key_id), self.rotation(&key_id))?;
            (Some(policy), rotation)
        };
        Ok(Some(KeyObservation {
            arn: metadata.arn().unwrap_or_default().to_owned(),
            key_id,
            state,
            tags,
            policy,
            rotation,
        }))
    }

    /// Keys of this account and region whose `tag` is `value` and that are not pending deletion:
    /// what a CreateKey whose alias was never made (a lost answer, a crash) left. Reads every key's
    /// tags, so it runs only when the alias is missing.
    pub async fn keys_tagged(&self, tag: &str, value: &str) -> Result<Vec<String>, AwsError> {
        let kms = self.session.kms_client();
        let mut marker: Option<String> = None;
        let mut found = Vec::new();
        loop {
            let page = self
                .session
                .call(&op::KMS_LIST_KEYS, || kms.list_keys().set_marker(marker.clone()).send())
                .await?;
            for key in page.keys() {
                let Some(id) = key.key_id() else { continue };
                if self.key_tags(id).await?.get(tag).map(String::as_str) == Some(value)
                    && self.key_state(id).await?.is_some_and(|s| s != "PendingDeletion")
                {
                    found.push(key.key_arn().unwrap_or(id).to_owned());
                }
            }
            match page.next_marker().filter(|_| page.truncated()) {
                Some(next) => marker = Some(next.to_owned()),
                None => return Ok(found),
            }
        }
    }

    async fn key_tags(&self, key: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let kms = self.session.kms_client();
        let mut marker: Option<String> = None;
        let mut tags = BTreeMap::new();
        loop {
            let page = self
                .session
                .call(&op::KMS_LIST_RESOURCE_TAGS, || {
                    kms.list_resource_tags().key_id(key).set_marker(marker.clone()).send()
                })
                .await?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())),
            );
            match page.next_marker().filter(|_| page.truncated()) {
                Some(next) => marker = Some(next.to_owned()),
                None => return Ok(tags),
            }
        }
    }

    async fn key_policy(&self, key: &str) -> Result<String, AwsError> {
        let kms = self.session.kms_client();
        let policy = self
            .session
            .call(&op::KMS_GET_KEY_POLICY, || {
                kms.get_key_policy().key_id(key).policy_name("default").send()
            })
            .await?;
        Ok(policy.policy().unwrap_or_default().to_owned())
    }

    async fn rotation(&self, key: &str) -> Result<bool, AwsError> {
        let kms = self.session.kms_client();
        let status = self
            .session
            .call(&op::KMS_GET_KEY_ROTATION_STATUS, || {
                kms.get_key_rotation_status().key_id(key).send()
            })
            .await?;
        Ok(status.key_rotation_enabled())
    }

    /// A symmetric encryption key with `policy` and `tags`; its ARN. A policy past KMS's 32 KB is
    /// never sent.
    pub async fn create_key(
        &self,
        description: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        check_policy(policy, description, "CreateKey")?;
        let kms = self.session.kms_client();
        let tags = kms_tags(tags)?;
        let created = self
            .session
            .call_not_repeated(&op::KMS_CREATE_KEY, || {
                kms.create_key()
                    .description(description)
                    .policy(policy)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        Ok(created
            .key_metadata()
            .and_then(|m| m.arn())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn create_alias(&self, alias: &str, key: &str) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .call(&op::KMS_CREATE_ALIAS, || {
                kms.create_alias().alias_name(alias).target_key_id(key).send()
            })
            .await
            .map(drop)
    }

    /// Deleting an alias that is already gone is not an error.
    pub async fn delete_alias(&self, alias: &str) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .delete_if_exists(&op::KMS_DELETE_ALIAS, || kms.delete_alias().alias_name(alias).send())
            .await
    }

    /// A policy past KMS's 32 KB is never sent.
    pub async fn put_key_policy(&self, key: &str, policy: &str) -> Result<(), AwsError> {
        check_policy(policy, key, "PutKeyPolicy")?;
        let kms = self.session.kms_client();
        self.session
            .call(&op::KMS_PUT_KEY_POLICY, || {
                kms.put_key_policy()
                    .key_id(key)
                    .policy_name("default")
                    .policy(policy)
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn enable_rotation(&self, key: &str) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .call(&op::KMS_ENABLE_KEY_ROTATION, || {
                kms.enable_key_rotation().key_id(key).send()
            })
            .await
            .map(drop)
    }

    pub async fn enable_key(&self, key: &str) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .call(&op::KMS_ENABLE_KEY, || kms.enable_key().key_id(key).send())
            .await
            .map(drop)
    }

    /// Leaves the key Disabled, as KMS does.
    pub async fn cancel_deletion(&self, key: &str) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .call(&op::KMS_CANCEL_KEY_DELETION, || {
                kms.cancel_key_deletion().key_id(key).send()
            })
            .await
            .map(drop)
    }

    /// KMS deletes the key after `days` (7 to 30).
    pub async fn schedule_deletion(&self, key: &str, days: i32) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .call(&op::KMS_SCHEDULE_KEY_DELETION, || {
                kms.schedule_key_deletion()
                    .key_id(key)
                    .pending_window_in_days(days)
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn tag_key(&self, key: &str, tags: &crate::TagUpdate) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        if !tags.remove.is_empty() {
            self.session
                .call(&op::KMS_UNTAG_RESOURCE, || {
                    kms.untag_resource()
                        .key_id(key)
                        .set_tag_keys(Some(tags.remove.clone()))
                        .send()
                })
                .await?;
        }
        if !tags.add.is_empty() {
            let add = kms_tags(&tags.add)?;
            self.session
                .call(&op::KMS_TAG_RESOURCE, || {
                    kms.tag_resource().key_id(key).set_tags(Some(add.clone())).send()
                })
                .await?;
        }
        Ok(())
    }

    /// The grants on `key` called `name`. `None`: the key does not exist (or is not visible).
    pub async fn grants_named(&self, key: &str, name: &str) -> Result<Option<Vec<KeyGrant>>, AwsError> {
        let kms = self.session.kms_client();
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = optional(
                self.session
                    .call(&op::KMS_LIST_GRANTS, || {
                        kms.list_grants().key_id(key).set_marker(marker.clone()).send()
                    })
                    .await,
            )?;
            let Some(page) = page else { return Ok(None) };
            found.extend(
                page.grants()
                    .iter()
                    .filter(|g| g.name() == Some(name))
                    .map(|g| KeyGrant {
                        grant_id: g.grant_id().unwrap_or_default().to_owned(),
                        grantee_principal: g.grantee_principal().unwrap_or_default().to_owned(),
                        operations: g.operations().iter().map(|o| o.as_str().to_owned()).collect(),
                    }),
            );
            match page.next_marker().filter(|_| page.truncated()) {
                Some(next) => marker = Some(next.to_owned()),
                None => return Ok(Some(found)),
            }
        }
    }

    pub async fn create_grant(
        &self,
        key: &str,
        name: &str,
        grantee_principal: &str,
        operations: &BTreeSet<String>,
    ) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        let operations: Vec<GrantOperation> = operations.iter().map(|o| GrantOperation::from(o.as_str())).collect();
        self.session
            .call(&op::KMS_CREATE_GRANT, || {
                kms.create_grant()
                    .key_id(key)
                    .name(name)
                    .grantee_principal(grantee_principal)
                    .set_operations(Some(operations.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    /// Retiring a grant that is already gone is not an error.
    pub async fn retire_grant(&self, key: &str, grant_id: &str) -> Result<(), AwsError> {
        let kms = self.session.kms_client();
        self.session
            .delete_if_exists(&op::KMS_RETIRE_GRANT, || {
                kms.retire_grant().key_id(key).grant_id(grant_id).send()
            })
            .await
    }
}

fn check_policy(policy: &str, subject: &str, operation: &'static str) -> Result<(), AwsError> {
    KMS_KEY_POLICY
        .check_document(policy, &format!("the key policy of {subject}"))
        .map_err(|refused| refused.refused("kms", operation))
}

fn kms_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| AwsError::request("kms", "TagResource", e))
        })
        .collect()
}
