//! The compute part of the diff: the ECS cluster, each service with its task-definition family, the
//! services that left the spec, and old revisions. A new revision is registered only when the
//! rendered content differs from the newest one AWS holds, so restarts never add revisions.

use dataplatform_aws::ecs::{
    CLUSTER_CAPACITY_PROVIDERS, FamilyObservation, ServiceChanges, ServiceObservation, TaskDefinitionContent,
};

use crate::desired::{DesiredAccount, DesiredService};
use crate::diff::{NONE, Outcome, Owner, missing_tags, ours, tag_changes, update};
use crate::observe::ObservedAccount;
use crate::plan::{Action, FieldChange, Op, Part};

/// Revisions kept registered per family for rollback, the one in use included.
pub const KEEP_REVISIONS: usize = 3;

pub(crate) fn compute_outcomes(
    desired: &DesiredAccount,
    observed: &ObservedAccount,
    owner: &Owner<'_>,
) -> Vec<Outcome> {
    let compute = &desired.compute;
    let mut outcomes = Vec::new();
    match &observed.compute.cluster {
        None if compute.services.is_empty() => return outcomes,
        None => outcomes.push(Outcome::create(Action::create(
            Part::Compute,
            "ecs:cluster",
            &compute.cluster,
            vec![Op::CreateEcsCluster {
                cluster: compute.cluster.clone(),
                tags: desired.tags.clone(),
            }],
        ))),
        Some(cluster) => {
            if let Err(conflict) = owner.check("ecs:cluster", &cluster.name, &cluster.tags) {
                // Nothing in someone else's cluster is ours to change.
                return vec![Outcome::conflict(conflict)];
            }
            let mut changes = tag_changes(&desired.tags, &cluster.tags);
            let mut ops = Vec::new();
            if !changes.is_empty() {
                ops.push(Op::TagEcsResource {
                    arn: cluster.arn.clone(),
                    tags: missing_tags(&desired.tags, &cluster.tags),
                });
            }
            if CLUSTER_CAPACITY_PROVIDERS
                .iter()
                .any(|p| !cluster.capacity_providers.iter().any(|seen| seen == p))
            {
                changes.push(FieldChange::new(
                    "capacityProviders",
                    list_text(&cluster.capacity_providers),
                    CLUSTER_CAPACITY_PROVIDERS.join(", "),
                ));
                ops.push(Op::PutClusterCapacityProviders {
                    cluster: cluster.name.clone(),
                });
            }
            outcomes.push(Outcome {
                action: update(Part::Compute, "ecs:cluster".to_owned(), &cluster.name, changes, ops),
                ..Default::default()
            });
        }
    }
    for service in &compute.services {
        outcomes.extend(service_outcomes(desired, service, observed, owner));
    }
    outcomes.extend(removed_services(desired, observed).into_iter().map(Outcome::create));
    outcomes
}

fn service_outcomes(
    desired: &DesiredAccount,
    service: &DesiredService,
    observed: &ObservedAccount,
    owner: &Owner<'_>,
) -> Vec<Outcome> {
    let resource = service.resource();
    let cluster = &desired.compute.cluster;
    let empty = FamilyObservation::default();
    let family = observed.compute.families.get(&service.family).unwrap_or(&empty);
    if family.latest_arn().is_some()
        && let Err(conflict) = owner.check(
            &format!("{resource} task definition"),
            &service.family,
            &family.latest_tags,
        )
    {
        return vec![Outcome::conflict(conflict)];
    }
    let Some(content) = service.render(observed.cluster.as_ref()) else {
        return vec![Outcome {
            waiting: Some(format!(
                "{resource} waits for the database endpoint (databaseAccess: true); it is created once rds:cluster reports one"
            )),
            ..Default::default()
        }];
    };
    let needs_revision = family.latest.as_ref() != Some(&content);
    let mut ops: Vec<Op> = Vec::new();
    if needs_revision {
        ops.push(Op::RegisterTaskDefinition {
            content: Box::new(content.clone()),
            tags: desired.tags.clone(),
        });
    }
    let seen = observed.compute.service(&service.name);
    let mut outcomes = Vec::new();
    match seen {
        None => {
            ops.push(Op::CreateService {
                cluster: cluster.clone(),
                service: service.name.clone(),
                family: service.family.clone(),
                settings: service.settings.clone(),
                tags: desired.tags.clone(),
            });
            outcomes.push(Outcome::create(Action::create(Part::Compute, resource, &service.name, ops)));
        }
        Some(seen) if seen.status == "DRAINING" => outcomes.push(Outcome {
            waiting: Some(format!(
                "{resource} ({}) is still draining from an earlier deletion; it is created again once ECS has removed it",
                service.name
            )),
            ..Default::default()
        }),
        Some(seen) => {
            if let Err(conflict) = owner.check(&resource, &service.name, &seen.tags) {
                return vec![Outcome::conflict(conflict)];
            }
            let (changes, service_ops) = service_changes(desired, service, seen, family, &content, needs_revision);
            ops.extend(service_ops);
            outcomes.push(Outcome {
                action: update(Part::Compute, resource, &service.name, changes, ops),
                ..Default::default()
            });
        }
    }
    // Only a revision this pass really registers takes one of the kept places.
    let registering = outcomes
        .iter()
        .filter_map(|o| o.action.as_ref())
        .any(|a| a.ops.iter().any(|op| matches!(op, Op::RegisterTaskDefinition { .. })));
    if ours(&family.latest_tags, owner.value) {
        outcomes.extend(stale_revisions(service, seen, family, registering).map(Outcome::create));
    }
    outcomes
}

/// Field by field: what the service runs, how many, where and how it deploys.
fn service_changes(
    desired: &DesiredAccount,
    service: &DesiredService,
    seen: &ServiceObservation,
    family: &FamilyObservation,
    content: &TaskDefinitionContent,
    needs_revision: bool,
) -> (Vec<FieldChange>, Vec<Op>) {
    let mut changes = tag_changes(&desired.tags, &seen.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(Op::TagEcsResource {
            arn: seen.arn.clone(),
            tags: missing_tags(&desired.tags, &seen.tags),
        });
    }
    let mut update = ServiceChanges::default();
    let settings = &service.settings;
    if needs_revision {
        changes.extend(content_changes(family.latest.as_ref(), content));
        update.task_definition_family = Some(service.family.clone());
    } else if let Some(latest) = family.latest_arn()
        && seen.task_definition != latest
        && failed_rollout(seen, latest).is_none()
    {
        // Someone pointed the service elsewhere. A revision whose rollout the circuit breaker
        // failed is not pushed again: that would fail the same way on every resync.
        changes.push(FieldChange::new(
            "taskDefinition",
            revision_text(&seen.task_definition),
            revision_text(latest),
        ));
        update.task_definition_family = Some(service.family.clone());
    }
    if seen.desired_count != settings.desired_count {
        changes.push(FieldChange::new(
            "desiredCount",
            seen.desired_count.to_string(),
            settings.desired_count.to_string(),
        ));
        update.desired_count = Some(settings.desired_count);
    }
    // Compared where AWS reports them (it does for every service made with them).
    if let Some(provider) = seen
        .capacity_provider
        .as_ref()
        .filter(|p| **p != settings.capacity_provider)
    {
        changes.push(FieldChange::new(
            "capacityProvider",
            provider,
            &settings.capacity_provider,
        ));
        update.capacity_provider = Some(settings.capacity_provider.clone());
    }
    if let Some(network) = seen.network.as_ref().filter(|n| **n != settings.network) {
        changes.push(FieldChange::new(
            "network",
            network_text(network),
            network_text(&settings.network),
        ));
        update.network = Some(settings.network.clone());
    }
    if seen.circuit_breaker_with_rollback == Some(false) {
        changes.push(FieldChange::new("deploymentCircuitBreaker", "off", "on with rollback"));
        update.circuit_breaker = true;
    }
    if update != ServiceChanges::default() {
        ops.push(Op::UpdateService {
            cluster: desired.compute.cluster.clone(),
            service: service.name.clone(),
            changes: update,
        });
    }
    (changes, ops)
}

/// The deployment of `revision` that the circuit breaker failed, with ECS's reason.
pub fn failed_rollout<'a>(service: &'a ServiceObservation, revision: &str) -> Option<&'a str> {
    service
        .deployments
        .iter()
        .find(|d| d.task_definition == revision && d.rollout_state.as_deref() == Some("FAILED"))
        .map(|d| d.rollout_state_reason.as_deref().unwrap_or("no reason given"))
}

fn content_changes(old: Option<&TaskDefinitionContent>, new: &TaskDefinitionContent) -> Vec<FieldChange> {
    let Some(old) = old else {
        return vec![FieldChange::new("taskDefinition", NONE, "new revision")];
    };
    let (a, b) = (&old.container, &new.container);
    let mut changes = Vec::new();
    let mut field = |name: &str, from: String, to: String| {
        if from != to {
            changes.push(FieldChange::new(name, from, to));
        }
    };
    field("image", a.image.clone(), b.image.clone());
    field("cpu", old.cpu.clone(), new.cpu.clone());
    field("memory", old.memory.clone(), new.memory.clone());
    field("command", list_text(&a.command), list_text(&b.command));
    field("port", option_text(a.port), option_text(b.port));
    field(
        "logging",
        option_text(a.log.as_ref().map(|l| &l.group)),
        option_text(b.log.as_ref().map(|l| &l.group)),
    );
    field(
        "executionRoleArn",
        old.execution_role_arn.clone(),
        new.execution_role_arn.clone(),
    );
    field("taskRoleArn", old.task_role_arn.clone(), new.task_role_arn.clone());
    field("fargate", old.fargate.to_string(), new.fargate.to_string());
    field("container", a.name.clone(), b.name.clone());
    for key in a
        .environment
        .keys()
        .chain(b.environment.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        field(
            &format!("env.{key}"),
            option_text(a.environment.get(key)),
            option_text(b.environment.get(key)),
        );
    }
    for key in a
        .secrets
        .keys()
        .chain(b.secrets.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        field(
            &format!("secrets.{key}"),
            option_text(a.secrets.get(key)),
            option_text(b.secrets.get(key)),
        );
    }
    if changes.is_empty() {
        // Differs only where a field above does not look (e.g. the family name).
        changes.push(FieldChange::new(
            "taskDefinition",
            "changed",
            "as rendered from the spec",
        ));
    }
    changes
}

/// Revisions past the newest [`KEEP_REVISIONS`] that no deployment uses any more.
fn stale_revisions(
    service: &DesiredService,
    seen: Option<&ServiceObservation>,
    family: &FamilyObservation,
    registering: bool,
) -> Option<Action> {
    let keep = KEEP_REVISIONS - usize::from(registering);
    let in_use = |arn: &str| {
        seen.is_some_and(|s| {
            s.task_definition == arn
                // The primary deployment runs the service's own revision; older deployments may
                // still be draining theirs.
                || s.deployments.iter().any(|d| d.status != "PRIMARY" && d.task_definition == arn)
        })
    };
    let stale: Vec<&str> = family
        .revisions
        .iter()
        .skip(keep)
        .map(|r| r.arn.as_str())
        .filter(|arn| !in_use(arn))
        .collect();
    (!stale.is_empty()).then(|| deregister(&service.name, &stale))
}

/// `ecs:daemon/revisions`: deregistering revisions of one service's family.
pub(crate) fn deregister(service: &str, arns: &[&str]) -> Action {
    let names: Vec<String> = arns.iter().map(|arn| revision_text(arn)).collect();
    Action::delete(
        Part::Compute,
        format!("ecs:{service}/revisions"),
        names.join(", "),
        arns.iter()
            .map(|arn| Op::DeregisterTaskDefinition { arn: (*arn).to_owned() })
            .collect(),
    )
}

/// Our services that left the spec: revisions deregistered first (a crash then leaves the service,
/// which the next pass finds again), then scaled to zero and deleted.
fn removed_services(desired: &DesiredAccount, observed: &ObservedAccount) -> Vec<Action> {
    observed
        .compute
        .services
        .iter()
        .filter(|s| !desired.compute.services.iter().any(|d| d.name == s.name))
        .filter(|s| s.status == "ACTIVE" && ours(&s.tags, &desired.owner))
        .map(|s| service_deletion(desired, observed, s))
        .collect()
}

/// Deregisters the family's revisions (when they are ours) and deletes the service.
fn service_deletion(desired: &DesiredAccount, observed: &ObservedAccount, service: &ServiceObservation) -> Action {
    let mut ops: Vec<Op> = our_family(desired, observed, &service.task_definition)
        .map(|family| {
            family
                .revisions
                .iter()
                .map(|r| Op::DeregisterTaskDefinition { arn: r.arn.clone() })
                .collect()
        })
        .unwrap_or_default();
    ops.push(Op::DeleteService {
        cluster: desired.compute.cluster.clone(),
        service: service.name.clone(),
    });
    Action::delete(Part::Compute, format!("ecs:{}", service.name), &service.name, ops)
}

fn our_family<'a>(
    desired: &DesiredAccount,
    observed: &'a ObservedAccount,
    revision_arn: &str,
) -> Option<&'a FamilyObservation> {
    let (family, _) = dataplatform_aws::ecs::parse_revision(revision_arn)?;
    observed
        .compute
        .families
        .get(&family)
        .filter(|f| ours(&f.latest_tags, &desired.owner))
}

/// `family:12` for an ARN.
pub fn revision_text(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

fn list_text(items: &[String]) -> String {
    if items.is_empty() {
        NONE.to_owned()
    } else {
        items.join(" ")
    }
}

fn option_text(value: Option<impl ToString>) -> String {
    value.map_or_else(|| NONE.to_owned(), |v| v.to_string())
}

fn network_text(network: &dataplatform_aws::ecs::ServiceNetwork) -> String {
    format!(
        "subnets {} groups {} publicIp {}",
        network.subnets.join(","),
        network.security_groups.join(","),
        network.assign_public_ip
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use dataplatform_aws::ecs::{Deployment, Revision};
    use dataplatform_aws::rds::{ClusterObservation, ClusterSettings};
    use serde_json::json;

    use super::*;
    use crate::desired::ObjectId;
    use crate::diff::diff;
    use crate::observe::ObservedCompute;
    use crate::plan::ActionKind;
    use crate::status::readiness;

    fn desired() -> DesiredAccount {
        let spec = serde_json::from_value(json!({
            "accountId": "111111111111", "region": "eu-west-2",
            "network": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]},
            "services": [{"name": "daemon", "image": "dagster:1.9.1", "cpu": 256, "memory": 512, "databaseAccess": true}]
        }))
        .expect("spec");
        let id = ObjectId {
            namespace: "ns".into(),
            name: "camden".into(),
        };
        DesiredAccount::new(&id, &spec, &Default::default())
    }

    fn arn(revision: i32) -> String {
        format!("arn:aws:ecs:eu-west-2:111111111111:task-definition/camden-x-daemon:{revision}")
    }

    /// The compute part as AWS would hold it after we made it, with `revisions` registered (newest
    /// first) and the service on the newest.
    fn observed(desired: &DesiredAccount, revisions: &[i32]) -> ObservedAccount {
        let database = ClusterObservation {
            identifier: "db".into(),
            arn: "arn:aws:rds:eu-west-2:111111111111:cluster:db".into(),
            status: "available".into(),
            settings: ClusterSettings {
                engine_version: "16.6".into(),
                min_capacity: 0.5,
                max_capacity: 4.0,
                backup_retention_days: 7,
                deletion_protection: true,
            },
            endpoint: Some("db.example".into()),
            port: Some(5432),
            secret_arn: Some("arn:aws:secretsmanager:eu-west-2:111111111111:secret:rds!cluster-1".into()),
            tags: BTreeMap::new(),
        };
        let service = &desired.compute.services[0];
        let content = service.render(Some(&database)).expect("rendered");
        let newest = arn(revisions[0]);
        let mut observed = ObservedAccount {
            cluster: Some(database),
            ..Default::default()
        };
        observed.compute = ObservedCompute {
            cluster: Some(dataplatform_aws::ecs::ClusterObservation {
                name: desired.compute.cluster.clone(),
                arn: "arn:aws:ecs:eu-west-2:111111111111:cluster/x".into(),
                capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
                tags: desired.tags.clone(),
            }),
            services: vec![ServiceObservation {
                name: service.name.clone(),
                arn: "arn:aws:ecs:eu-west-2:111111111111:service/x/daemon".into(),
                status: "ACTIVE".into(),
                desired_count: 1,
                running_count: 1,
                task_definition: newest.clone(),
                capacity_provider: Some("FARGATE_SPOT".into()),
                network: Some(service.settings.network.clone()),
                circuit_breaker_with_rollback: Some(true),
                deployments: vec![Deployment {
                    status: "PRIMARY".into(),
                    task_definition: newest,
                    rollout_state: Some("COMPLETED".into()),
                    rollout_state_reason: None,
                }],
                tags: desired.tags.clone(),
            }],
            families: BTreeMap::from([(
                service.family.clone(),
                FamilyObservation {
                    revisions: revisions
                        .iter()
                        .map(|&number| Revision {
                            number,
                            arn: arn(number),
                        })
                        .collect(),
                    latest: Some(content),
                    latest_tags: desired.tags.clone(),
                },
            )]),
            missing_network: Default::default(),
        };
        observed
    }

    fn compute_actions(desired: &DesiredAccount, observed: &ObservedAccount) -> Vec<Action> {
        let diff = diff(desired, observed, false);
        diff.plan
            .actions
            .into_iter()
            .filter(|a| a.part == Part::Compute)
            .collect()
    }

    #[test]
    fn what_aws_holds_already_needs_nothing_and_is_ready() {
        let desired = desired();
        let observed = observed(&desired, &[1]);
        assert!(compute_actions(&desired, &observed).is_empty());
        let state = readiness(&desired, &observed, &Default::default(), &[]);
        assert!(
            state.pending.iter().all(|p| !p.starts_with("ecs:")),
            "{:?}",
            state.pending
        );
        assert!(state.failed.is_empty());
    }

    #[test]
    fn a_rollout_the_circuit_breaker_failed_is_reported_and_not_pushed_again() {
        let desired = desired();
        let mut observed = observed(&desired, &[2, 1]);
        // ECS rolled back to revision 1 after revision 2 failed to start.
        let service = &mut observed.compute.services[0];
        service.task_definition = arn(1);
        service.deployments = vec![
            Deployment {
                status: "PRIMARY".into(),
                task_definition: arn(1),
                rollout_state: Some("COMPLETED".into()),
                rollout_state_reason: None,
            },
            Deployment {
                status: "ACTIVE".into(),
                task_definition: arn(2),
                rollout_state: Some("FAILED".into()),
                rollout_state_reason: Some("tasks failed to start".into()),
            },
        ];
        assert!(
            compute_actions(&desired, &observed).is_empty(),
            "pushing the failed revision again would fail again"
        );
        let state = readiness(&desired, &observed, &Default::default(), &[]);
        assert!(!state.is_ready());
        assert!(
            state
                .failed
                .iter()
                .any(|f| f.contains("camden-x-daemon:2 failed") && f.contains("tasks failed to start")),
            "{:?}",
            state.failed
        );
    }

    #[test]
    fn settings_aws_does_not_report_are_not_drift_but_reported_differences_are() {
        let desired = desired();
        let mut observed = observed(&desired, &[1]);
        let service = &mut observed.compute.services[0];
        service.capacity_provider = None;
        service.circuit_breaker_with_rollback = None;
        assert!(compute_actions(&desired, &observed).is_empty());

        let service = &mut observed.compute.services[0];
        service.capacity_provider = Some("FARGATE".into());
        service.circuit_breaker_with_rollback = Some(false);
        let [action] = compute_actions(&desired, &observed).try_into().expect("one action");
        assert_eq!(action.kind, ActionKind::Update);
        let fields: Vec<String> = action.changed_fields().collect();
        assert_eq!(
            fields,
            ["ecs:daemon.capacityProvider", "ecs:daemon.deploymentCircuitBreaker"]
        );
    }

    #[test]
    fn revisions_past_the_last_three_go_unless_a_deployment_still_uses_them() {
        let desired = desired();
        let mut observed = observed(&desired, &[5, 4, 3, 2, 1]);
        observed.compute.services[0].deployments.push(Deployment {
            status: "ACTIVE".into(),
            task_definition: arn(2),
            rollout_state: None,
            rollout_state_reason: None,
        });
        let [action] = compute_actions(&desired, &observed).try_into().expect("one action");
        assert_eq!(action.to_string(), "- delete ecs:daemon/revisions (camden-x-daemon:1)");
    }
}
