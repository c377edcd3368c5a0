//! Deleting an account object. First the grants that name it are revoked (whatever the policy);
//! then `Retain` leaves AWS as it is, and `Delete` removes what the engine owns in dependency order
//! (services, task definitions, ECS cluster, repositories, database, roles, buckets), waits while
//! deletion protection is on or RDS is still deleting, and never empties a bucket or a repository:
//! one that still holds objects or images is reported and kept.

use dataplatform_api::conditions::Reason;
use dataplatform_api::{DeletionPolicy, ManagementPolicy, Tier};
use std::collections::BTreeMap;

use dataplatform_aws::ecs::parse_revision;
use dataplatform_aws::rds::InstanceObservation;

use crate::compute::deregister;
use crate::diff::ours;

use crate::desired::DesiredAccount;
use crate::error::ReconcileError;
use crate::execute::{ExecuteOptions, execute};
use crate::grant::{GrantAccounts, GrantObject, Revoked, organisations};
use crate::observe::ObservedAccount;
use crate::plan::{Action, Op, Part};
use crate::reconcile::{AccountObject, Engine, PROGRESS_REQUEUE};

#[derive(Debug, Default)]
pub struct Deleted {
    /// Cleanup is complete: the finalizer may go.
    pub finished: bool,
    pub deleted: Vec<Action>,
    /// Resources deliberately left in place, with why (non-empty buckets).
    pub kept: Vec<String>,
    /// Why deletion cannot finish yet (reported with reason `Deleting`).
    pub waiting: Vec<String>,
    pub error: Option<ReconcileError>,
}

impl Deleted {
    pub fn reason(&self) -> Reason {
        self.error.as_ref().map_or(Reason::Deleting, ReconcileError::reason)
    }

    pub fn message(&self) -> String {
        match &self.error {
            Some(error) => error.to_string(),
            None => self.waiting.join("; "),
        }
    }

    pub fn requeue_after(&self) -> Option<std::time::Duration> {
        (!self.finished).then_some(PROGRESS_REQUEUE)
    }
}

impl Engine {
    /// `grants` and `accounts`: every SharedBucketGrant and DataPlatformAccount the caller knows;
    /// the grants that name this account are revoked first, whatever the deletion policy.
    pub async fn delete(&self, object: &AccountObject, grants: &[GrantObject], accounts: &[AccountObject]) -> Deleted {
        // ObserveOnly never writes, so it deletes (and revokes) nothing either.
        if object.spec.management_policy == ManagementPolicy::ObserveOnly {
            return Deleted {
                finished: true,
                ..Default::default()
            };
        }
        if object.paused() {
            return Deleted {
                waiting: vec![
                    "annotation dataplatform.io/paused is \"true\": deletion waits until it is removed".into(),
                ],
                ..Default::default()
            };
        }
        let revoked = self.revoke_grants_naming(object, grants, accounts).await;
        if !revoked.finished || object.spec.deletion_policy == DeletionPolicy::Retain {
            return Deleted {
                finished: revoked.finished,
                deleted: revoked.revoked,
                waiting: revoked.waiting,
                error: revoked.error,
                ..Default::default()
            };
        }
        let plan = match self.observe(object).await {
            Ok(plan) => plan,
            Err(error) => {
                return Deleted {
                    error: Some(error),
                    ..Default::default()
                };
            }
        };
        let mut deleted = Deleted {
            deleted: revoked.revoked,
            ..Default::default()
        };
        let actions = deletion_actions(&plan.desired, &plan.observed, &mut deleted);
        let mut to_run = Vec::new();
        for action in actions {
            let emptiness = match action.ops.first() {
                Some(Op::DeleteBucket { bucket }) => {
                    Some((bucket, plan.session.s3().is_empty(bucket).await, "objects"))
                }
                Some(Op::DeleteRepository { repository }) => {
                    Some((repository, plan.session.ecr().is_empty(repository).await, "images"))
                }
                _ => None,
            };
            if let Some((name, empty, contents)) = emptiness {
                match empty {
                    Ok(true) => {}
                    Ok(false) => {
                        deleted.kept.push(format!(
                            "{} ({name}) is not empty and was kept; the operator never deletes {contents}",
                            action.resource
                        ));
                        continue;
                    }
                    Err(error) => {
                        deleted.error = Some(error.into());
                        return deleted;
                    }
                }
            }
            to_run.push(action);
        }
        let executed = execute(&plan.session, to_run, ExecuteOptions::default(), |_| {}).await;
        deleted.deleted.extend(executed.done);
        if let Some((action, error)) = executed.failed {
            if error.class == dataplatform_aws::ErrorClass::Conflict {
                // e.g. the cluster still has an instance being deleted: try again shortly.
                deleted.waiting.push(format!(
                    "{} ({}) cannot be deleted yet: {}",
                    action.resource, action.name, error
                ));
            } else {
                deleted.error = Some(error.into());
            }
        }
        deleted.finished = deleted.waiting.is_empty() && deleted.error.is_none();
        for kept in &deleted.kept {
            tracing::warn!(object = %object.id, account = %object.spec.account_id, "{kept}");
        }
        deleted
    }
}

impl Engine {
    /// Grants whose grantor is `object` lose every half; grants whose grantee is `object` (an
    /// Organisation) lose the policy on its task role. Stops at the first grant that cannot finish.
    async fn revoke_grants_naming(
        &self,
        object: &AccountObject,
        grants: &[GrantObject],
        accounts: &[AccountObject],
    ) -> Revoked {
        let mut all = Revoked {
            finished: true,
            ..Default::default()
        };
        for grant in grants {
            let involved = if grant.names_grantor(&object.id) {
                let mut organisations = organisations(accounts);
                organisations.retain(|o| o.id != object.id);
                if object.spec.tier == Tier::Organisation {
                    organisations.push(object);
                }
                GrantAccounts {
                    grantor: Some(object),
                    organisations,
                }
            } else if object.spec.tier == Tier::Organisation && grant.spec.grantee.account_id == object.spec.account_id
            {
                GrantAccounts {
                    grantor: None,
                    organisations: vec![object],
                }
            } else {
                continue;
            };
            let revoked = self.revoke_grant(grant, &involved).await;
            all.revoked.extend(revoked.revoked);
            if !revoked.finished {
                all.finished = false;
                all.waiting = revoked.waiting;
                all.error = revoked.error;
                return all;
            }
        }
        all
    }
}

fn delete_instance(instance: &InstanceObservation) -> Action {
    Action::delete(
        Part::Database,
        "rds:instance",
        &instance.identifier,
        vec![Op::DeleteDbInstance {
            instance: instance.identifier.clone(),
        }],
    )
}

/// The deletions, in dependency order, of resources that carry our owner tag; resources of others
/// are left alone. Pushes onto `deleted.waiting` what blocks the database.
fn deletion_actions(desired: &DesiredAccount, observed: &ObservedAccount, deleted: &mut Deleted) -> Vec<Action> {
    let owner = desired.owner.as_str();
    let mut actions = compute_deletion_actions(desired, observed);
    actions.extend(observed.repositories.iter().filter(|r| ours(&r.tags, owner)).map(|r| {
        Action::delete(
            Part::Registry,
            format!("ecr:{}", r.name),
            &r.name,
            vec![Op::DeleteRepository {
                repository: r.name.clone(),
            }],
        )
    }));
    let wants_protection = desired
        .database
        .as_ref()
        .is_none_or(|db| db.settings.deletion_protection);

    let instance = observed.instance.as_ref().filter(|i| ours(&i.tags, owner));
    let cluster = observed.cluster.as_ref().filter(|c| ours(&c.tags, owner));
    if let Some(cluster) = cluster {
        if cluster.settings.deletion_protection && wants_protection {
            deleted.waiting.push(format!(
                "rds:cluster ({}) has deletion protection on; set spec.database.deletionProtection: false to delete it (no final snapshot is taken), or spec.deletionPolicy: Retain to keep it",
                cluster.identifier
            ));
        } else {
            if let Some(instance) = instance.filter(|i| i.status != "deleting") {
                actions.push(delete_instance(instance));
            }
            if cluster.status == "deleting" {
                deleted
                    .waiting
                    .push(format!("rds:cluster ({}) is being deleted", cluster.identifier));
            } else {
                let mut ops = Vec::new();
                if cluster.settings.deletion_protection {
                    ops.push(Op::ModifyDbCluster {
                        cluster: cluster.identifier.clone(),
                        changes: dataplatform_aws::rds::ClusterChanges {
                            deletion_protection: Some(false),
                            ..Default::default()
                        },
                    });
                }
                ops.push(Op::DeleteDbCluster {
                    cluster: cluster.identifier.clone(),
                });
                actions.push(Action::delete(Part::Database, "rds:cluster", &cluster.identifier, ops));
            }
        }
    } else if let Some(instance) = instance {
        actions.push(delete_instance(instance));
    }
    if !deleted.waiting.is_empty() {
        // Nothing after the database goes while it stays.
        return actions;
    }

    for (role, seen) in desired.roles.iter().zip(&observed.roles) {
        if let Some(seen) = seen.as_ref().filter(|r| ours(&r.tags, owner)) {
            actions.push(Action::delete(
                Part::Identity,
                format!("iam:{}", role.kind.label()),
                &seen.name,
                vec![Op::DeleteRole {
                    role: seen.name.clone(),
                }],
            ));
        }
    }
    for (bucket, seen) in desired.buckets.iter().zip(&observed.buckets) {
        if let Some(seen) = seen.as_ref().filter(|b| ours(&b.tags, owner)) {
            actions.push(Action::delete(
                Part::Storage,
                format!("s3:{}", bucket.purpose.as_str()),
                &seen.name,
                vec![Op::DeleteBucket {
                    bucket: seen.name.clone(),
                }],
            ));
        }
    }
    actions
}

/// Services (scaled to zero, then deleted), then every revision of our families, then the cluster.
/// A crash between the steps is safe: the spec's families are observed whether or not their
/// services still exist.
fn compute_deletion_actions(desired: &DesiredAccount, observed: &ObservedAccount) -> Vec<Action> {
    let owner = desired.owner.as_str();
    let seen = &observed.compute;
    let mut actions = Vec::new();
    for service in seen
        .services
        .iter()
        .filter(|s| s.status == "ACTIVE" && ours(&s.tags, owner))
    {
        actions.push(Action::delete(
            Part::Compute,
            format!("ecs:{}", service.name),
            &service.name,
            vec![Op::DeleteService {
                cluster: desired.compute.cluster.clone(),
                service: service.name.clone(),
            }],
        ));
    }
    // Our families, by the service they belong to: the spec's, and those of services that left it.
    let mut families: BTreeMap<&str, &str> = desired
        .compute
        .services
        .iter()
        .map(|s| (s.family.as_str(), s.name.as_str()))
        .collect();
    for service in &seen.services {
        if let Some((family, _)) = parse_revision(&service.task_definition)
            && let Some((family, _)) = seen.families.get_key_value(&family)
        {
            families.entry(family.as_str()).or_insert(service.name.as_str());
        }
    }
    for (family, service) in families {
        let Some(observed_family) = seen.families.get(family).filter(|f| ours(&f.latest_tags, owner)) else {
            continue;
        };
        let arns: Vec<&str> = observed_family.revisions.iter().map(|r| r.arn.as_str()).collect();
        if !arns.is_empty() {
            actions.push(deregister(service, &arns));
        }
    }
    if let Some(cluster) = seen.cluster.as_ref().filter(|c| ours(&c.tags, owner)) {
        actions.push(Action::delete(
            Part::Compute,
            "ecs:cluster",
            &cluster.name,
            vec![Op::DeleteEcsCluster {
                cluster: cluster.name.clone(),
            }],
        ));
    }
    actions
}
