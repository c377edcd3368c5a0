//! The compute diff: the ECS cluster, each service with its task-definition family, the services
//! that left the spec, and old revisions. A new revision is registered only when the desired content
//! differs from the newest one AWS holds (compared by equality), so restarts never add revisions.

use dataplatform_aws::ecs::{
    CLUSTER_CAPACITY_PROVIDERS, FamilyObservation, ServiceChanges, ServiceNetwork, ServiceObservation,
    TaskDefinitionContent,
};

use super::attachments;
use super::model::{DesiredCompute, DesiredService, ObservedCompute, revision_text};
use super::writes::EcsWrite;
use crate::account::AccountContext;
use crate::plan::{Action, FieldChange, Part, TaskRevision};
use crate::vocabulary::{NONE, Outcome, Owner, list_text, option_text, ours, tag_changes, tag_update};

/// Revisions kept registered per family for rollback, the one in use included.
pub const KEEP_REVISIONS: usize = 3;

pub fn outcomes(
    account: &AccountContext,
    desired: &DesiredCompute,
    observed: &ObservedCompute,
    owner: &Owner<'_>,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    match &observed.cluster {
        None if desired.services.is_empty() => return outcomes,
        None => outcomes.push(Outcome::create(Action::create(
            Part::Compute,
            "ecs:cluster",
            &desired.cluster,
            vec![EcsWrite::CreateEcsCluster {
                cluster: desired.cluster.clone(),
                tags: account.tags.clone(),
            }],
        ))),
        Some(cluster) => {
            if let Err(conflict) = owner.check("ecs:cluster", &cluster.name, &cluster.tags) {
                // Nothing in someone else's cluster is ours to change.
                return vec![Outcome::conflict(conflict)];
            }
            let mut changes = tag_changes(&account.tags, &cluster.tags);
            let mut ops = Vec::new();
            if !changes.is_empty() {
                ops.push(EcsWrite::TagEcsResource {
                    arn: cluster.arn.clone(),
                    tags: tag_update(&account.tags, &cluster.tags),
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
                ops.push(EcsWrite::PutClusterCapacityProviders {
                    cluster: cluster.name.clone(),
                });
            }
            outcomes.push(Outcome::update(
                Part::Compute,
                "ecs:cluster".to_owned(),
                &cluster.name,
                changes,
                ops,
            ));
        }
    }
    for service in &desired.services {
        outcomes.extend(service_outcomes(account, desired, service, observed, owner));
    }
    outcomes.extend(
        removed_services(account, desired, observed)
            .into_iter()
            .map(Outcome::create),
    );
    outcomes
}

fn service_outcomes(
    account: &AccountContext,
    compute: &DesiredCompute,
    service: &DesiredService,
    observed: &ObservedCompute,
    owner: &Owner<'_>,
) -> Vec<Outcome> {
    let resource = service.resource();
    let empty = FamilyObservation::default();
    let family = observed.families.get(&service.family).unwrap_or(&empty);
    if family.latest_arn().is_some()
        && let Err(conflict) = owner.check(
            &format!("{resource} task definition"),
            &service.family,
            &family.latest_tags,
        )
    {
        return vec![Outcome::conflict(conflict)];
    }
    if service.settings.network.subnets.is_empty() {
        return vec![Outcome::waiting(format!(
            "{resource} waits for the network: it is created once spec.network's subnets and the tasks' security group exist"
        ))];
    }
    let Some(content) = &service.content else {
        return vec![Outcome::waiting(format!(
            "{resource} waits for the database endpoint (databaseAccess: true); it is created once rds:cluster reports one"
        ))];
    };
    let needs_revision = family.latest.as_ref() != Some(content);
    if needs_revision && let Err(refused) = content.fits() {
        return vec![Outcome::quota_exceeded(refused)];
    }
    let mut ops: Vec<EcsWrite> = Vec::new();
    if needs_revision {
        ops.push(EcsWrite::RegisterTaskDefinition {
            content: Box::new(content.clone()),
            tags: account.tags.clone(),
        });
    }
    // The revision to run: the one registered above, or the newest AWS holds.
    let revision = match family.latest_arn() {
        Some(latest) if !needs_revision => TaskRevision::Existing(latest.to_owned()),
        _ => TaskRevision::Registered,
    };
    let seen = observed.service(&service.name);
    let mut outcomes = Vec::new();
    match seen {
        None if service.exposed_port.is_some() && service.settings.load_balancer.is_none() => {
            return vec![Outcome::waiting(format!(
                "{resource} waits for its target group: it is created attached to it once the load balancer forwards to it"
            ))];
        }
        None if service.port.is_some() && service.settings.registry.is_none() => {
            return vec![Outcome::waiting(format!(
                "{resource} waits for its name: it is created registered in its Cloud Map service once the namespace holds one"
            ))];
        }
        None => {
            ops.push(EcsWrite::CreateService {
                cluster: compute.cluster.clone(),
                service: service.name.clone(),
                revision,
                settings: service.settings.clone(),
                tags: account.tags.clone(),
            });
            outcomes.push(Outcome::create(Action::create(
                Part::Compute,
                resource,
                &service.name,
                ops,
            )));
        }
        Some(seen) if seen.status == "DRAINING" => outcomes.push(Outcome::waiting(format!(
            "{resource} ({}) is still draining from an earlier deletion; it is created again once ECS has removed it",
            service.name
        ))),
        Some(seen) => {
            if let Err(conflict) = owner.check(&resource, &service.name, &seen.tags) {
                return vec![Outcome::conflict(conflict)];
            }
            let wanted = Wanted {
                content,
                revision,
                needs_revision,
            };
            let (changes, service_ops) = service_changes(account, compute, service, seen, family, wanted);
            ops.extend(service_ops);
            outcomes.push(Outcome::update(Part::Compute, resource, &service.name, changes, ops));
        }
    }
    // Only a revision this pass really registers takes one of the kept places.
    let registering = outcomes.iter().filter_map(|o| o.action.as_ref()).any(|a| {
        a.ops
            .iter()
            .any(|op| matches!(op.get(), Some(EcsWrite::RegisterTaskDefinition { .. })))
    });
    if ours(&family.latest_tags, owner.value) {
        outcomes.extend(stale_revisions(service, seen, family, registering).map(Outcome::create));
    }
    outcomes
}

/// What a service should run.
struct Wanted<'a> {
    content: &'a TaskDefinitionContent,
    revision: TaskRevision,
    needs_revision: bool,
}

/// Field by field: what the service runs, how many, where and how it deploys.
fn service_changes(
    account: &AccountContext,
    compute: &DesiredCompute,
    service: &DesiredService,
    seen: &ServiceObservation,
    family: &FamilyObservation,
    wanted: Wanted<'_>,
) -> (Vec<FieldChange>, Vec<EcsWrite>) {
    let mut changes = tag_changes(&account.tags, &seen.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(EcsWrite::TagEcsResource {
            arn: seen.arn.clone(),
            tags: tag_update(&account.tags, &seen.tags),
        });
    }
    let mut update = ServiceChanges::default();
    let mut revision = None;
    let settings = &service.settings;
    if wanted.needs_revision {
        changes.extend(content_changes(family.latest.as_ref(), wanted.content));
        revision = Some(wanted.revision);
    } else if let Some(latest) = family.latest_arn()
        && seen.task_definition != latest
        && service.rollout_failure(seen, latest).is_none()
    {
        // Someone pointed the service elsewhere. A revision whose rollout the circuit breaker
        // failed is not pushed again: that would fail the same way on every resync.
        changes.push(FieldChange::new(
            "taskDefinition",
            revision_text(&seen.task_definition),
            revision_text(latest),
        ));
        revision = Some(wanted.revision);
    }
    let wanted_count = service.wanted_count(seen.desired_count);
    if seen.desired_count != wanted_count {
        changes.push(FieldChange::new(
            "desiredCount",
            seen.desired_count.to_string(),
            wanted_count.to_string(),
        ));
        update.desired_count = Some(wanted_count);
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
    attachments::load_balancer_changes(service, seen, &mut changes, &mut update);
    attachments::registry_changes(service, seen, &mut changes, &mut update);
    if seen.circuit_breaker_with_rollback == Some(false) {
        changes.push(FieldChange::new("deploymentCircuitBreaker", "off", "on with rollback"));
        update.circuit_breaker = true;
    }
    if update != ServiceChanges::default() || revision.is_some() {
        ops.push(EcsWrite::UpdateService {
            cluster: compute.cluster.clone(),
            service: service.name.clone(),
            revision,
            changes: update,
        });
    }
    (changes, ops)
}

/// Every described field whose value differs (the field list is the content type's own).
fn content_changes(old: Option<&TaskDefinitionContent>, new: &TaskDefinitionContent) -> Vec<FieldChange> {
    let Some(old) = old else {
        return vec![FieldChange::new("taskDefinition", NONE, "new revision")];
    };
    let (before, after) = (old.described_fields(), new.described_fields());
    let mut names: Vec<&String> = before.iter().chain(&after).map(|(name, _)| name).collect();
    // First appearance wins, so the fields keep the content's order and each comes once.
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|name| seen.insert(*name));
    let value = |fields: &[(String, Option<String>)], name: &str| {
        option_text(fields.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_ref()))
    };
    let mut changes: Vec<FieldChange> = names
        .into_iter()
        .filter_map(|name| {
            let (from, to) = (value(&before, name), value(&after, name));
            (from != to).then(|| FieldChange::new(name.as_str(), from, to))
        })
        .collect();
    if changes.is_empty() {
        // Differs only where no described field looks (e.g. the family name).
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
pub fn deregister(service: &str, arns: &[&str]) -> Action {
    let names: Vec<String> = arns.iter().map(|arn| revision_text(arn)).collect();
    Action::delete(
        Part::Compute,
        format!("ecs:{service}/revisions"),
        names.join(", "),
        arns.iter()
            .map(|arn| EcsWrite::DeregisterTaskDefinition { arn: (*arn).to_owned() }),
    )
}

/// Our services that left the spec: revisions deregistered first (a crash then leaves the service,
/// which the next pass finds again), then scaled to zero and deleted.
fn removed_services(account: &AccountContext, desired: &DesiredCompute, observed: &ObservedCompute) -> Vec<Action> {
    observed
        .services
        .iter()
        .filter(|s| !desired.services.iter().any(|d| d.name == s.name))
        .filter(|s| s.status == "ACTIVE" && ours(&s.tags, &account.owner))
        .map(|s| {
            let mut ops: Vec<EcsWrite> = observed
                .our_family(&account.owner, &s.task_definition)
                .map(|family| {
                    family
                        .revisions
                        .iter()
                        .map(|r| EcsWrite::DeregisterTaskDefinition { arn: r.arn.clone() })
                        .collect()
                })
                .unwrap_or_default();
            ops.push(EcsWrite::DeleteService {
                cluster: desired.cluster.clone(),
                service: s.name.clone(),
            });
            Action::delete(Part::Compute, format!("ecs:{}", s.name), &s.name, ops)
        })
        .collect()
}

fn network_text(network: &ServiceNetwork) -> String {
    format!(
        "subnets {} groups {} publicIp {}",
        network.subnets.join(","),
        network.security_groups.join(","),
        network.assign_public_ip
    )
}
