//! Carries out a plan, action by action, in the plan's order (which is dependency order). Every
//! operation is safe to repeat, so a run cut short anywhere is finished by the next one.

use dataplatform_aws::{AccountSession, AwsError, ErrorClass};
use serde_json::Value;

use crate::plan::{Action, ActionKind, Op, SharedDocument, StatementOwner, TaskRevision};
use crate::policy::{self, Merged};

mod elb;
mod network;

pub use network::Made;

impl Op {
    /// `resource`: the resource of the op's action, under which a create keeps the id it makes;
    /// `made`: what the run's earlier ops made (ids, the task-definition revision just registered).
    pub async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        if let Some(result) = network::run(self, session, resource, made).await {
            return result;
        }
        if let Some(result) = Box::pin(elb::run(self, session, resource, made)).await {
            return result;
        }
        let registered = &mut made.task_revision;
        let (s3, iam, rds, ecs, ecr) = (session.s3(), session.iam(), session.rds(), session.ecs(), session.ecr());
        match self {
            Op::RegisterScalableTarget { resource_id, min, max } => {
                session.scaling().register(resource_id, *min, *max).await
            }
            Op::DeregisterScalableTarget { resource_id } => session.scaling().deregister(resource_id).await,
            Op::PutScheduledAction {
                resource_id,
                name,
                schedule,
                time_zone,
                min,
                max,
            } => {
                session
                    .scaling()
                    .put_action(resource_id, name, schedule, time_zone, *min, *max)
                    .await
            }
            Op::DeleteScheduledAction { resource_id, name } => session.scaling().delete_action(resource_id, name).await,
            Op::PutCpuPolicy {
                resource_id,
                name,
                target,
            } => session.scaling().put_cpu_policy(resource_id, name, *target).await,
            Op::DeleteScalingPolicy { resource_id, name } => session.scaling().delete_policy(resource_id, name).await,
            Op::CreateLogGroup { name, tags } => session.logs().create_group(name, tags).await,
            Op::PutLogRetention { name, days } => session.logs().put_retention(name, *days).await,
            Op::TagLogGroup { arn, tags } => session.logs().retag(arn, tags).await,
            Op::DeleteLogGroup { name } => session.logs().delete_group(name).await,
            Op::CreateBucket { bucket, tags } => s3.create_bucket(bucket, tags).await,
            Op::PutBucketTags { bucket, tags } => s3.put_tags(bucket, tags).await,
            Op::PutBucketEncryption { bucket, encryption } => s3.put_encryption(bucket, encryption).await,
            Op::PutBucketVersioning { bucket, enabled } => s3.put_versioning(bucket, *enabled).await,
            Op::BlockPublicAccess { bucket } => {
                s3.put_public_access_block(bucket, dataplatform_aws::s3::PublicAccessBlock::ALL_BLOCKED)
                    .await
            }
            Op::EnforceBucketOwner { bucket } => {
                s3.put_ownership(bucket, dataplatform_aws::s3::BUCKET_OWNER_ENFORCED)
                    .await
            }
            Op::PutBucketPolicy { bucket, document } => s3.put_policy(bucket, document).await,
            Op::DeleteBucketPolicy { bucket } => s3.delete_policy(bucket).await,
            Op::PutBucketLifecycle { bucket, lifecycle } => s3.put_lifecycle(bucket, lifecycle).await,
            Op::DeleteBucket { bucket } => s3.delete_bucket(bucket).await,
            Op::CreateRole {
                role,
                description,
                trust_policy,
                tags,
            } => iam.create_role(role, description, trust_policy, tags).await.map(drop),
            Op::UpdateTrustPolicy { role, trust_policy } => iam.update_trust_policy(role, trust_policy).await,
            Op::PutRolePolicy { role, name, document } => iam.put_inline_policy(role, name, document).await,
            Op::DeleteRolePolicy { role, name } => iam.delete_inline_policy(role, name).await,
            Op::TagRole { role, tags } => iam.retag_role(role, tags).await,
            Op::DeleteRole { role } => iam.delete_role(role).await,
            Op::CreateDbCluster {
                cluster,
                settings,
                placement,
                tags,
            } => rds.create_cluster(cluster, settings, placement.as_ref(), tags).await,
            Op::ModifyDbCluster { cluster, changes } => rds.modify_cluster(cluster, changes).await,
            Op::TagDbResource { arn, tags } => rds.retag(arn, tags).await,
            Op::CreateDbInstance {
                instance,
                cluster,
                tags,
            } => rds.create_instance(instance, cluster, tags).await,
            Op::DeleteDbInstance { instance } => rds.delete_instance(instance).await,
            Op::DeleteDbCluster { cluster } => rds.delete_cluster(cluster).await,
            Op::CreateEcsCluster { cluster, tags } => ecs.create_cluster(cluster, tags).await,
            Op::PutClusterCapacityProviders { cluster } => ecs.put_cluster_capacity_providers(cluster).await,
            Op::TagEcsResource { arn, tags } => ecs.retag(arn, tags).await,
            Op::DeleteEcsCluster { cluster } => ecs.delete_cluster(cluster).await,
            Op::RegisterTaskDefinition { content, tags } => {
                *registered = Some(ecs.register_task_definition(content, tags).await?);
                Ok(())
            }
            Op::DeregisterTaskDefinition { arn } => ecs.deregister_task_definition(arn).await,
            Op::CreateService {
                cluster,
                service,
                revision,
                settings,
                tags,
            } => {
                let revision = revision_arn(revision, registered.as_deref())?;
                ecs.create_service(cluster, service, revision, settings, tags).await
            }
            Op::UpdateService {
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
            Op::DeleteService { cluster, service } => ecs.delete_service(cluster, service).await,
            Op::MergePolicyStatements {
                document,
                owner,
                statements,
            } => merge_statements(session, document, owner, statements).await,
            Op::CreateKeyGrant {
                key,
                name,
                grantee_principal,
                operations,
            } => {
                session
                    .kms()
                    .create_grant(key, name, grantee_principal, operations)
                    .await
            }
            Op::RetireKeyGrant { key, grant_id } => session.kms().retire_grant(key, grant_id).await,
            Op::CreateRepository {
                repository,
                scan_on_push,
                immutable_tags,
                tags,
            } => {
                ecr.create_repository(repository, *scan_on_push, *immutable_tags, tags)
                    .await
            }
            Op::PutScanOnPush {
                repository,
                scan_on_push,
            } => ecr.put_scan_on_push(repository, *scan_on_push).await,
            Op::PutTagMutability {
                repository,
                immutable_tags,
            } => ecr.put_tag_mutability(repository, *immutable_tags).await,
            Op::TagRepository { arn, tags } => ecr.retag(arn, tags).await,
            Op::DeleteRepository { repository } => ecr.delete_repository(repository).await,
            // Network ops are run by `network::run` above; reaching here is a bug, reported.
            other => Err(AwsError {
                service: "ec2",
                operation: "plan",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("no runner for {other:?}"),
            }),
        }
    }
}

/// The exact revision ARN a service op names. A `Registered` revision with no registration before
/// it in the action is a planning error, reported rather than guessed.
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

/// Where a run stops early: used by tests to play a crash after any number of actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecuteOptions {
    pub stop_after_actions: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Executed {
    pub done: Vec<Action>,
    pub failed: Option<(Action, AwsError)>,
    pub stopped_early: bool,
}

pub async fn execute(
    session: &AccountSession,
    actions: Vec<Action>,
    options: ExecuteOptions,
    mut on_done: impl FnMut(&Action),
) -> Executed {
    let mut executed = Executed::default();
    let mut made = Made::default();
    for (index, action) in actions.into_iter().enumerate() {
        if options.stop_after_actions.is_some_and(|limit| index >= limit) {
            executed.stopped_early = true;
            break;
        }
        made.task_revision = None;
        for op in &action.ops {
            // Boxed: `run` is as large as the largest SDK call of any operation.
            if let Err(error) = Box::pin(op.run(session, &action.resource, &mut made)).await {
                if action.kind == ActionKind::Create && error.already_exists() {
                    // Made since this pass looked (most often by our own attempt whose answer was
                    // lost): not an error, but nothing more of this pass may build on the plan. The
                    // next pass looks again, finishes it when it is ours, and reports it when not.
                    tracing::info!(resource = %action.resource, name = %action.name, %error, "exists already: looking again");
                    executed.stopped_early = true;
                    return executed;
                }
                tracing::warn!(resource = %action.resource, name = %action.name, %error, "AWS action failed");
                executed.failed = Some((action, error));
                return executed;
            }
        }
        tracing::info!(resource = %action.resource, name = %action.name, kind = ?action.kind, "AWS action done");
        on_done(&action);
        executed.done.push(action);
    }
    executed
}
