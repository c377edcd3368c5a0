//! Database: an Aurora PostgreSQL Serverless v2 cluster with one `db.serverless` instance, storage
//! encrypted, master password managed by Secrets Manager. Looked up by name even while the spec
//! disables it, so deletion still finds one made earlier. Tells later parts where it listens.

pub mod writes;
use dataplatform_api::SpecProblem;
use dataplatform_api::account::DatabaseStatus;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::rds::{ClusterChanges, ClusterObservation, ClusterSettings, InstanceObservation};
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, ActionKind, FieldChange, Part, Plan};
use crate::vocabulary::{
    DatabaseEndpoint, DatabaseNetwork, Facts, Outcome, Owner, Readiness, list_text, ours, tag_changes, tag_update,
    tags_used,
};
use writes::DatabaseWrite;

pub struct Database;

const CLUSTER: &str = "rds:cluster";
const INSTANCE: &str = "rds:instance";
/// Why a cluster of ours stays while `spec.database.enabled` is false.
const UNMANAGED: &str = "spec.database.enabled is false: the cluster is kept, not managed; delete it by hand, or set spec.deletionPolicy: Delete (and deletionProtection: false) and delete the DataPlatformAccount";

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredDatabase {
    pub cluster: String,
    pub instance: String,
    /// `None` while `spec.database.enabled` is false.
    pub settings: Option<ClusterSettings>,
    /// Where the cluster lives, from the network part's facts (`complete`).
    pub network: DatabaseNetwork,
    /// The network's VPC (`complete`).
    pub vpc: Option<String>,
    /// Our DB subnet group's name.
    pub subnet_group: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedDatabase {
    pub cluster: Option<ClusterObservation>,
    pub instance: Option<InstanceObservation>,
    /// The VPC of a cluster outside our DB subnet group (of its subnet group, else of its first
    /// security group); `None` when it is in ours or the VPC cannot be told.
    pub foreign_vpc: Option<String>,
}

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
                (_, true) | (None, _) => readiness.pending.push(format!("{resource} is being created")),
                (Some(status), false) if status != "available" => {
                    readiness.creating |= status == "creating";
                    readiness
                        .pending
                        .push(format!("{resource} is {status} (waiting for available)"));
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

/// Whether the cluster's security groups may be set to the network's: not when it lives in another
/// VPC, where RDS would refuse a group of the network's VPC.
fn groups_correctable(database: &DesiredDatabase, foreign_vpc: Option<&str>) -> bool {
    foreign_vpc.is_none_or(|vpc| database.vpc.as_deref() == Some(vpc))
}

/// A cluster outside the subnet group the network would put it in: reported, never moved (it holds
/// data; moving it means a snapshot and a restore, which is the owner's call).
fn misplaced(database: &DesiredDatabase, cluster: &ClusterObservation, foreign_vpc: Option<&str>) -> Option<String> {
    let DatabaseNetwork::In(placement) = &database.network else {
        return None;
    };
    let actual = cluster.subnet_group.as_deref().unwrap_or("default");
    let groups = if groups_correctable(database, foreign_vpc) {
        "only its security groups are corrected".to_owned()
    } else {
        format!(
            "its security groups are left as they are too (it is in VPC {}, the network in {})",
            foreign_vpc.unwrap_or_default(),
            database.vpc.as_deref().unwrap_or("(none yet)")
        )
    };
    (actual != placement.subnet_group).then(|| {
        format!(
            "the cluster is in DB subnet group {actual}, not {}: a cluster holding data is never moved or replaced, {groups}; to move it, restore a snapshot into {}",
            placement.subnet_group, placement.subnet_group
        )
    })
}

fn delete_instance(instance: &InstanceObservation) -> Action {
    Action::delete(
        Part::Database,
        INSTANCE,
        &instance.identifier,
        vec![DatabaseWrite::DeleteDbInstance {
            instance: instance.identifier.clone(),
        }],
    )
}

/// Numeric comparison of dotted versions: "16.10" is newer than "16.9".
fn version_newer(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) > parse(b)
}

fn capacity_text(min: f64, max: f64) -> String {
    format!("{min}-{max} ACU")
}

fn cluster_outcome(
    account: &AccountContext,
    database: &DesiredDatabase,
    want: &ClusterSettings,
    seen: &ObservedDatabase,
    owner: &Owner<'_>,
) -> Outcome {
    let name = database.cluster.clone();
    let Some(observed) = seen.cluster.as_ref() else {
        return Outcome::create(Action::create(
            Part::Database,
            CLUSTER,
            name.clone(),
            vec![DatabaseWrite::CreateDbCluster {
                cluster: name,
                settings: want.clone(),
                placement: match &database.network {
                    DatabaseNetwork::In(placement) => Some(placement.clone()),
                    _ => None,
                },
                tags: account.tags.clone(),
            }],
        ));
    };
    if let Err(conflict) = owner.check(CLUSTER, &name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&account.tags, &observed.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(DatabaseWrite::TagDbResource {
            arn: observed.arn.clone(),
            tags: tag_update(&account.tags, &observed.tags),
        });
    }
    let mut modify = settings_changes(want, &observed.settings, &mut changes);
    // The security groups are corrected in place; the subnet group never is (see `misplaced`).
    if let DatabaseNetwork::In(placement) = &database.network
        && groups_correctable(database, seen.foreign_vpc.as_deref())
    {
        let sorted = |groups: &[String]| {
            let mut groups = groups.to_vec();
            groups.sort();
            groups
        };
        if sorted(&placement.security_groups) != sorted(&observed.security_groups) {
            changes.push(FieldChange::new(
                "securityGroups",
                list_text(&observed.security_groups),
                list_text(&placement.security_groups),
            ));
            modify.security_groups = Some(placement.security_groups.clone());
        }
    }
    let mut waiting = None;
    if modify != ClusterChanges::default() {
        if observed.status == "available" {
            ops.push(DatabaseWrite::ModifyDbCluster {
                cluster: name.clone(),
                changes: modify,
            });
        } else {
            // RDS refuses changes while the cluster is busy; they are made on a later pass.
            changes.retain(|c| c.field.starts_with("tags."));
            waiting = Some(format!(
                "{CLUSTER} ({name}) is {}; its settings are changed once it is available",
                observed.status
            ));
        }
    }
    Outcome {
        waiting,
        ..Outcome::update(Part::Database, CLUSTER.to_owned(), &name, changes, ops)
    }
}

/// The settings the spec owns that differ, as the fields people read and the changes RDS makes.
fn settings_changes(want: &ClusterSettings, seen: &ClusterSettings, changes: &mut Vec<FieldChange>) -> ClusterChanges {
    let mut modify = ClusterChanges::default();
    // AWS upgrades minor versions by itself; only a newer version in the spec is a change.
    if version_newer(&want.engine_version, &seen.engine_version) {
        changes.push(FieldChange::new(
            "engineVersion",
            &seen.engine_version,
            &want.engine_version,
        ));
        modify.engine_version = Some(want.engine_version.clone());
    }
    let same = |a: f64, b: f64| (a - b).abs() < 1e-9;
    if !same(want.min_capacity, seen.min_capacity) || !same(want.max_capacity, seen.max_capacity) {
        changes.push(FieldChange::new(
            "capacity",
            capacity_text(seen.min_capacity, seen.max_capacity),
            capacity_text(want.min_capacity, want.max_capacity),
        ));
        modify.capacity = Some((want.min_capacity, want.max_capacity));
    }
    if want.backup_retention_days != seen.backup_retention_days {
        changes.push(FieldChange::new(
            "backupRetentionDays",
            seen.backup_retention_days.to_string(),
            want.backup_retention_days.to_string(),
        ));
        modify.backup_retention_days = Some(want.backup_retention_days);
    }
    if want.deletion_protection != seen.deletion_protection {
        changes.push(FieldChange::new(
            "deletionProtection",
            seen.deletion_protection.to_string(),
            want.deletion_protection.to_string(),
        ));
        modify.deletion_protection = Some(want.deletion_protection);
    }
    modify
}

fn instance_outcome(
    account: &AccountContext,
    database: &DesiredDatabase,
    observed: Option<&InstanceObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let name = database.instance.clone();
    let Some(observed) = observed else {
        return Outcome::create(Action::create(
            Part::Database,
            INSTANCE,
            name.clone(),
            vec![DatabaseWrite::CreateDbInstance {
                instance: name,
                cluster: database.cluster.clone(),
                tags: account.tags.clone(),
            }],
        ));
    };
    if let Err(conflict) = owner.check(INSTANCE, &name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let changes = tag_changes(&account.tags, &observed.tags);
    let ops = if changes.is_empty() {
        vec![]
    } else {
        vec![DatabaseWrite::TagDbResource {
            arn: observed.arn.clone(),
            tags: tag_update(&account.tags, &observed.tags),
        }]
    };
    Outcome::update(Part::Database, INSTANCE.to_owned(), &name, changes, ops)
}

#[cfg(test)]
mod tests {
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
