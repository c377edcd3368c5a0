//! KMS grants on a customer-managed key: how a SharedBucketGrant lets another account use the key
//! that encrypts the shared bucket. Grants are found by name; the key policy is never touched.

use std::collections::BTreeSet;

use aws_sdk_kms::types::GrantOperation;

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::session::AccountSession;

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
    /// The key's state as KMS reports it (`Enabled`, `Disabled`, `PendingDeletion`, ...); `None`
    /// when no such key exists.
    pub async fn key_state(&self, key: &str) -> Result<Option<String>, AwsError> {
        let kms = self.session.kms_client();
        let described = optional(
            self.session
                .call(&op::KMS_DESCRIBE_KEY, || kms.describe_key().key_id(key).send())
                .await,
        )?;
        Ok(described.map(|d| {
            d.key_metadata()
                .and_then(|m| m.key_state())
                .map_or_else(|| "Unknown".to_owned(), |state| state.as_str().to_owned())
        }))
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
