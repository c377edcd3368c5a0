//! The one write several owners share: statements merged into a policy document (a bucket's, a
//! repository's) that others write statements into too.

use dataplatform_aws::{AccountSession, AwsError, ErrorClass};
use serde_json::Value;

use super::made::Made;
use super::op::Write;
use super::refs::{SharedDocument, StatementOwner};
use crate::policy::{self, Merged};

/// Re-reads the policy of `document` when it runs and replaces only the statements `owner` owns,
/// so statements written since the plan was made (by people, or by another owner) stay.
#[derive(Clone, Debug, PartialEq)]
pub struct MergePolicyStatements {
    pub document: SharedDocument,
    pub owner: StatementOwner,
    pub statements: Vec<Value>,
}

impl Write for MergePolicyStatements {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        merge_statements(session, &self.document, &self.owner, &self.statements).await
    }
}

/// Read, merge, write under the account's policy lock: the plan was made from an earlier read, and
/// the statements of other owners may have changed since.
async fn merge_statements(
    session: &AccountSession,
    document: &SharedDocument,
    owner: &StatementOwner,
    statements: &[Value],
) -> Result<(), AwsError> {
    let _edit = session.lock_policy_edits().await;
    let (service, operation, current) = match document {
        SharedDocument::BucketPolicy { bucket } => ("s3", "PutBucketPolicy", session.s3().policy(bucket).await?),
        SharedDocument::RepositoryPolicy { repository } => {
            ("ecr", "SetRepositoryPolicy", session.ecr().policy(repository).await?)
        }
    };
    let current = match current.as_deref().map(policy::parse) {
        Some(None) => {
            return Err(AwsError {
                service,
                operation,
                class: ErrorClass::Conflict,
                code: None,
                message: format!("{document} is not valid JSON; fix or remove it by hand, nothing was changed"),
            });
        }
        parsed => parsed.flatten(),
    };
    match (
        policy::merge_owned(current.as_ref(), |sid| owner.owns(sid), statements),
        document,
    ) {
        (Merged::Unchanged, _) => Ok(()),
        (Merged::Put(merged), SharedDocument::BucketPolicy { bucket }) => {
            session.s3().put_policy(bucket, &merged.to_string()).await
        }
        (Merged::Put(merged), SharedDocument::RepositoryPolicy { repository }) => {
            session.ecr().set_policy(repository, &merged.to_string()).await
        }
        (Merged::Delete, SharedDocument::BucketPolicy { bucket }) => session.s3().delete_policy(bucket).await,
        (Merged::Delete, SharedDocument::RepositoryPolicy { repository }) => {
            session.ecr().delete_policy(repository).await
        }
    }
}
