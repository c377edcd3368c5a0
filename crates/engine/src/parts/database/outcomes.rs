//! The database part's diff of one cluster and its instance, and where a cluster lives.

use dataplatform_aws::rds::{ClusterChanges, ClusterObservation, ClusterSettings, InstanceObservation};

use super::model::{CLUSTER, DesiredDatabase, INSTANCE, ObservedDatabase};
use super::writes::DatabaseWrite;
use crate::account::AccountContext;
use crate::plan::{Action, FieldChange, Part};
use crate::vocabulary::{DatabaseNetwork, Outcome, Owner, list_text, tag_changes, tag_update};

/// Whether the cluster's security groups may be set to the network's: not when it lives in another
/// VPC, where RDS would refuse a group of the network's VPC.
pub(super) fn groups_correctable(database: &DesiredDatabase, foreign_vpc: Option<&str>) -> bool {
    foreign_vpc.is_none_or(|vpc| database.vpc.as_deref() == Some(vpc))
}

/// A cluster outside the subnet group the network would put it in: reported, never moved (it holds
/// data; moving it means a snapshot and a restore, which is the owner's call).
pub(super) fn misplaced(
    database: &DesiredDatabase,
    cluster: &ClusterObservation,
    foreign_vpc: Option<&str>,
) -> Option<String> {
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

pub(super) fn delete_instance(instance: &InstanceObservation) -> Action {
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
pub(super) fn version_newer(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) > parse(b)
}

fn capacity_text(min: f64, max: f64) -> String {
    format!("{min}-{max} ACU")
}

pub(super) fn cluster_outcome(
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

pub(super) fn instance_outcome(
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
