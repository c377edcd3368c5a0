//! The compute part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::ecs::{ServiceChanges, ServiceSettings, TaskDefinitionContent};
use dataplatform_aws::{AccountSession, AwsError, ErrorClass, TagUpdate};

use crate::plan::Made;
use crate::plan::{TaskRevision, Write};

/// The compute part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum EcsWrite {
    CreateEcsCluster {
        cluster: String,
        tags: BTreeMap<String, String>,
    },
    PutClusterCapacityProviders {
        cluster: String,
    },
    TagEcsResource {
        arn: String,
        tags: TagUpdate,
    },
    DeleteEcsCluster {
        cluster: String,
    },
    RegisterTaskDefinition {
        content: Box<TaskDefinitionContent>,
        tags: BTreeMap<String, String>,
    },
    DeregisterTaskDefinition {
        arn: String,
    },
    CreateService {
        cluster: String,
        service: String,
        revision: TaskRevision,
        settings: ServiceSettings,
        tags: BTreeMap<String, String>,
    },
    UpdateService {
        cluster: String,
        service: String,
        /// The revision to roll to; `None` leaves the service on the one it runs.
        revision: Option<TaskRevision>,
        changes: ServiceChanges,
    },
    DeleteService {
        cluster: String,
        service: String,
    },
}

impl Write for EcsWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, made: &mut Made) -> Result<(), AwsError> {
        let ecs = session.ecs();
        let registered = &mut made.task_revision;
        match self {
            Self::CreateEcsCluster { cluster, tags } => ecs.create_cluster(cluster, tags).await,
            Self::PutClusterCapacityProviders { cluster } => ecs.put_cluster_capacity_providers(cluster).await,
            Self::TagEcsResource { arn, tags } => ecs.retag(arn, tags).await,
            Self::DeleteEcsCluster { cluster } => ecs.delete_cluster(cluster).await,
            Self::RegisterTaskDefinition { content, tags } => {
                *registered = Some(ecs.register_task_definition(content, tags).await?);
                Ok(())
            }
            Self::DeregisterTaskDefinition { arn } => ecs.deregister_task_definition(arn).await,
            Self::CreateService {
                cluster,
                service,
                revision,
                settings,
                tags,
            } => {
                let revision = revision_arn(revision, registered.as_deref())?;
                ecs.create_service(cluster, service, revision, settings, tags).await
            }
            Self::UpdateService {
                cluster,
                service,
                revision,
                changes,
            } => {
                let revision = match revision {
                    Some(revision) => Some(revision_arn(revision, registered.as_deref())?),
                    None => None,
                };
                ecs.update_service(cluster, service, revision, changes).await
            }
            Self::DeleteService { cluster, service } => ecs.delete_service(cluster, service).await,
        }
    }
}

/// The exact revision ARN a service write names. A `Registered` revision with no registration
/// before it in the action is a planning error, reported rather than guessed.
fn revision_arn<'a>(revision: &'a TaskRevision, registered: Option<&'a str>) -> Result<&'a str, AwsError> {
    match (revision, registered) {
        (TaskRevision::Existing(arn), _) => Ok(arn),
        (TaskRevision::Registered, Some(arn)) if !arn.is_empty() => Ok(arn),
        (TaskRevision::Registered, _) => Err(AwsError {
            service: "ecs",
            operation: "RegisterTaskDefinition",
            class: ErrorClass::Invalid,
            code: None,
            message: "no task-definition revision was registered before the service was pointed at it".to_owned(),
        }),
    }
}
