//! The identity part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::Made;
use crate::plan::Write;

/// The identity part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum RoleWrite {
    CreateRole {
        role: String,
        description: String,
        trust_policy: String,
        tags: BTreeMap<String, String>,
    },
    UpdateTrustPolicy {
        role: String,
        trust_policy: String,
    },
    PutRolePolicy {
        role: String,
        /// The role's own policy is `iam::INLINE_POLICY_NAME`; grants name theirs.
        name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    TagRole {
        role: String,
        tags: TagUpdate,
    },
    DeleteRole {
        role: String,
    },
}

impl Write for RoleWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let iam = session.iam();
        match self {
            Self::CreateRole {
                role,
                description,
                trust_policy,
                tags,
            } => iam.create_role(role, description, trust_policy, tags).await.map(drop),
            Self::UpdateTrustPolicy { role, trust_policy } => iam.update_trust_policy(role, trust_policy).await,
            Self::PutRolePolicy { role, name, document } => iam.put_inline_policy(role, name, document).await,
            Self::DeleteRolePolicy { role, name } => iam.delete_inline_policy(role, name).await,
            Self::TagRole { role, tags } => iam.retag_role(role, tags).await,
            Self::DeleteRole { role } => iam.delete_role(role).await,
        }
    }
}
