//! The registry's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::Made;
use crate::plan::Write;

/// The registry part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum RepositoryWrite {
    CreateRepository {
        repository: String,
        scan_on_push: bool,
        immutable_tags: bool,
        tags: BTreeMap<String, String>,
    },
    PutScanOnPush {
        repository: String,
        scan_on_push: bool,
    },
    PutTagMutability {
        repository: String,
        immutable_tags: bool,
    },
    TagRepository {
        arn: String,
        tags: TagUpdate,
    },
    DeleteRepository {
        repository: String,
    },
}

impl Write for RepositoryWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let ecr = session.ecr();
        match self {
            Self::CreateRepository {
                repository,
                scan_on_push,
                immutable_tags,
                tags,
            } => {
                ecr.create_repository(repository, *scan_on_push, *immutable_tags, tags)
                    .await
            }
            Self::PutScanOnPush {
                repository,
                scan_on_push,
            } => ecr.put_scan_on_push(repository, *scan_on_push).await,
            Self::PutTagMutability {
                repository,
                immutable_tags,
            } => ecr.put_tag_mutability(repository, *immutable_tags).await,
            Self::TagRepository { arn, tags } => ecr.retag(arn, tags).await,
            Self::DeleteRepository { repository } => ecr.delete_repository(repository).await,
        }
    }

    /// The operator never deletes images: a repository that holds any is kept.
    async fn holds(&self, session: &AccountSession) -> Result<Option<&'static str>, AwsError> {
        match self {
            Self::DeleteRepository { repository } => {
                Ok((!session.ecr().is_empty(repository).await?).then_some("images"))
            }
            _ => Ok(None),
        }
    }
}
