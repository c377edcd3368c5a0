//! Database: an Aurora PostgreSQL Serverless v2 cluster with one `db.serverless` instance, storage
//! encrypted, master password managed by Secrets Manager. Looked up by name even while the spec
//! disables it, so deletion still finds one made earlier. Tells later parts where it listens.

pub mod model;
mod outcomes;
pub mod writes;
use dataplatform_api::SpecProblem;
use dataplatform_api::account::DatabaseStatus;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::rds::{ClusterChanges, ClusterObservation, ClusterSettings};
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, ActionKind, Part, Plan};
use crate::vocabulary::{DatabaseEndpoint, DatabaseNetwork, Facts, Outcome, Owner, Readiness, ours, tags_used};
use outcomes::{cluster_outcome, delete_instance, instance_outcome, misplaced};
use writes::DatabaseWrite;

pub use model::{CLUSTER, DesiredDatabase, INSTANCE, ObservedDatabase};

pub struct Database;

/// Why a cluster of ours stays while `spec.database.enabled` is false.
const UNMANAGED: &str = "spec.database.enabled is false: the cluster is kept, not managed; delete it by hand, or set spec.deletionPolicy: Delete (and deletionProtection: false) and delete the DataPlatformAccount";

impl AccountPart for Database {
    const PART: Part = Part::Database;
    type Desired = DesiredDatabase;
    type Observed = ObservedDatabase;

    fn present(_spec: &DataPlatformAccountSpec) -> bool {
        true
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredDatabase {
        let database = &spec.database;
        DesiredDatabase {
            cluster: account.names.db_cluster(),
            instance: account.names.db_instance(),
            settings: database.enabled.then(|| ClusterSettings {
                engine_version: database.engine_version.clone(),
                min_capacity: database.min_capacity,
                max_capacity: database.max_capacity,
                backup_retention_days: database.backup_retention_days,
                deletion_protection: database.deletion_protection,
            }),
            network: DatabaseNetwork::AccountDefault,
            vpc: None,
            subnet_group: account.names.db_subnet_group(),
        }
    }

    fn complete(desired: &mut DesiredDatabase, facts: &Facts) {
        desired.network = facts.database_network.clone();
        desired.vpc = facts.network_vpc.clone();
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &DesiredDatabase,
    ) -> Result<ObservedDatabase, AwsError> {
        let rds = session.rds();
        let (cluster, instance) = tokio::try_join!(
            rds.observe_cluster(&desired.cluster),
            rds.observe_instance(&desired.instance)
        )?;
        let foreign_vpc = match &cluster {
            Some(seen) if seen.subnet_group.as_deref() != Some(desired.subnet_group.as_str()) => {
                Box::pin(cluster_vpc(session, seen)).await?
            }
            _ => None,
        };
        Ok(ObservedDatabase {
            cluster,
            instance,
            foreign_vpc,
        })
    }

    fn facts(_desired: &DesiredDatabase, observed: &ObservedDatabase, facts: &mut Facts) {
        facts.database = observed.cluster.as_ref().and_then(|c| {
            Some(DatabaseEndpoint {
                host: c.endpoint.clone()?,
                port: c.port?,
                secret_arn: c.secret_arn.clone()?,
            })
        });
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredDatabase,
        observed: &ObservedDatabase,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let Some(settings) = &desired.settings else {
            return observed
                .cluster
                .as_ref()
                .filter(|c| ours(&c.tags, &account.owner))
                .map(|c| Outcome {
                    note: Some(format!("{CLUSTER} ({}): {UNMANAGED}", c.identifier)),
                    ..Default::default()
                })
                .into_iter()
                .collect();
        };
        if observed.cluster.is_none() && desired.network == DatabaseNetwork::Waiting {
            return vec![Outcome::waiting(format!(
                "{CLUSTER} ({}) waits for the network: it is created in the database's security group and DB subnet group once they exist",
                desired.cluster
            ))];
        }
        vec![
            cluster_outcome(account, desired, settings, observed, owner),
            instance_outcome(account, desired, observed.instance.as_ref(), owner),
        ]
    }

    fn readiness(desired: &DesiredDatabase, observed: &ObservedDatabase, applied: &Plan, readiness: &mut Readiness) {
        if desired.settings.is_none() {
            return;
        }
        let created_now = |resource: &str| {
            applied
                .actions
                .iter()
                .any(|a| a.resource == resource && a.kind == ActionKind::Create)
        };
        let statuses = [
            (CLUSTER, observed.cluster.as_ref().map(|c| c.status.as_str())),
            (INSTANCE, observed.instance.as_ref().map(|i| i.status.as_str())),
        ];
        for (resource, status) in statuses {
            match (status, created_now(resource)) {
                (_, true) | (None, _) => {
                    readiness.wait(crate::wait::WaitKind::Database, format!("{resource} is being created"))
                }
                (Some(status), false) if status != "available" => {
                    readiness.creating |= status == "creating";
                    readiness.wait(
                        crate::wait::WaitKind::Database,
                        format!("{resource} is {status} (waiting for available)"),
                    );
                }
                _ => {}
            }
        }
    }

    /// The instance, then the cluster (no final snapshot), once deletion protection is off in the
    /// spec; while it stays on, or RDS is still deleting, the parts before it in the list wait.
    fn deletion(
        account: &AccountContext,
        desired: &DesiredDatabase,
        observed: &ObservedDatabase,
        waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        let wants_protection = desired.settings.as_ref().is_none_or(|s| s.deletion_protection);
        let instance = observed.instance.as_ref().filter(|i| ours(&i.tags, &account.owner));
        let Some(cluster) = observed.cluster.as_ref().filter(|c| ours(&c.tags, &account.owner)) else {
            return instance.map(delete_instance).into_iter().collect();
        };
        if cluster.settings.deletion_protection && wants_protection {
            waiting.push(format!(
                "{CLUSTER} ({}) has deletion protection on; set spec.database.deletionProtection: false to delete it (no final snapshot is taken), or spec.deletionPolicy: Retain to keep it",
                cluster.identifier
            ));
            return vec![];
        }
        let mut actions: Vec<Action> = instance
            .filter(|i| i.status != "deleting")
            .map(delete_instance)
            .into_iter()
            .collect();
        if cluster.status == "deleting" {
            waiting.push(format!("{CLUSTER} ({}) is being deleted", cluster.identifier));
            return actions;
        }
        let mut ops = Vec::new();
        if cluster.settings.deletion_protection {
            ops.push(DatabaseWrite::ModifyDbCluster {
                cluster: cluster.identifier.clone(),
                changes: ClusterChanges {
                    deletion_protection: Some(false),
                    ..Default::default()
                },
            });
        }
        ops.push(DatabaseWrite::DeleteDbCluster {
            cluster: cluster.identifier.clone(),
        });
        actions.push(Action::delete(Part::Database, CLUSTER, &cluster.identifier, ops));
        actions
    }

    fn report(
        account: &AccountContext,
        desired: &DesiredDatabase,
        observed: &ObservedDatabase,
        status: &mut DataPlatformAccountStatus,
    ) {
        let seen = observed.cluster.as_ref();
        let kept = seen.filter(|c| desired.settings.is_none() && ours(&c.tags, &account.owner));
        if desired.settings.is_none() && kept.is_none() {
            status.database = None;
            return;
        }
        let note = match kept {
            Some(_) => Some(UNMANAGED.to_owned()),
            None => seen.and_then(|c| misplaced(desired, c, observed.foreign_vpc.as_deref())),
        };
        status.database = Some(DatabaseStatus {
            cluster_identifier: desired.cluster.clone(),
            endpoint: seen.and_then(|c| c.endpoint.clone()),
            port: seen.and_then(|c| c.port),
            status: Some(seen.map_or_else(|| "creating".to_owned(), |c| c.status.clone())),
            secret_arn: seen.and_then(|c| c.secret_arn.clone()),
            subnet_group: seen.and_then(|c| c.subnet_group.clone()),
            note,
        });
    }

    /// Observed (and removed) even while `spec.database.enabled` is false: both stay in scope.
    fn quota_use(account: &AccountContext, observed: &ObservedDatabase, used: &mut QuotaUse) {
        if let Some(cluster) = &observed.cluster {
            tags_used(used, &cluster.tags, || format!("database cluster of {}", account.owner));
        }
    }

    fn policy_scope(account: &AccountContext, _spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.db_cluster = Some(vec![account.names.db_cluster()]);
        scope.db_instance = Some(vec![account.names.db_instance()]);
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &Self::Desired,
        _observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        vec![]
    }
}

/// The VPC of a cluster outside our subnet group: its subnet group's, else its first security
/// group's (moto has no `default` subnet group), else unknown. Read only for such a cluster.
async fn cluster_vpc(session: &AccountSession, cluster: &ClusterObservation) -> Result<Option<String>, AwsError> {
    if let Some(group) = &cluster.subnet_group
        && let Some(seen) = session.rds().observe_subnet_group(group).await?
    {
        return Ok(Some(seen.vpc_id));
    }
    let Some(first) = cluster.security_groups.first() else {
        return Ok(None);
    };
    let groups = session
        .network()
        .security_groups_by_id(std::slice::from_ref(first))
        .await?;
    Ok(groups.first().map(|g| g.vpc_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::outcomes::{groups_correctable, version_newer};
    use super::*;

    /// A cluster in another VPC keeps its security groups: RDS would refuse the network's, and the
    /// pass would fail on every try. The report says why.
    #[test]
    fn a_cluster_in_another_vpc_is_reported_and_its_groups_left_alone() {
        let database = DesiredDatabase {
            cluster: "c".into(),
            instance: "c-1".into(),
            settings: None,
            network: DatabaseNetwork::In(dataplatform_aws::rds::ClusterPlacement {
                subnet_group: "ours-db".into(),
                security_groups: vec!["sg-ours".into()],
            }),
            vpc: Some("vpc-network".into()),
            subnet_group: "ours-db".into(),
        };
        assert!(groups_correctable(&database, None), "unknown VPC: corrected");
        assert!(groups_correctable(&database, Some("vpc-network")));
        assert!(!groups_correctable(&database, Some("vpc-elsewhere")));
        let cluster = ClusterObservation {
            identifier: "c".into(),
            arn: "arn".into(),
            status: "available".into(),
            settings: ClusterSettings {
                engine_version: "16.6".into(),
                min_capacity: 0.5,
                max_capacity: 4.0,
                backup_retention_days: 7,
                deletion_protection: true,
            },
            endpoint: None,
            port: None,
            secret_arn: None,
            subnet_group: Some("default".into()),
            security_groups: vec!["sg-default".into()],
            tags: Default::default(),
        };
        let note = misplaced(&database, &cluster, Some("vpc-elsewhere")).expect("reported");
        assert!(
            note.contains("left as they are") && note.contains("vpc-elsewhere"),
            "{note}"
        );
    }

    #[test]
    fn only_a_newer_engine_version_in_the_spec_is_a_change() {
        assert!(version_newer("16.10", "16.9"));
        assert!(!version_newer("16.6", "16.6"));
        assert!(!version_newer("16.6", "16.8"), "AWS's own minor upgrade is not drift");
    }
}
