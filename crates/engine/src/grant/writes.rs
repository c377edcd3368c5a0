//! A grant's own AWS writes besides its bucket-policy statements: the KMS grants that let the
//! grantee use the grantor's bucket key.

use std::collections::BTreeSet;

use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::Made;
use crate::plan::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum KeyGrantWrite {
    CreateKeyGrant {
        key: String,
        name: String,
        grantee_principal: String,
        operations: BTreeSet<String>,
    },
    RetireKeyGrant {
        key: String,
        grant_id: String,
    },
}

impl Write for KeyGrantWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let kms = session.kms();
        match self {
            Self::CreateKeyGrant {
                key,
                name,
                grantee_principal,
                operations,
            } => kms.create_grant(key, name, grantee_principal, operations).await,
            Self::RetireKeyGrant { key, grant_id } => kms.retire_grant(key, grant_id).await,
        }
    }
}
