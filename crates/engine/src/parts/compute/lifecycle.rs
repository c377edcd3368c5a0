//! The compute part after the diff: whether its services run what the spec asks (readiness), what
//! the status says of them, and their deletion.

use std::collections::BTreeMap;

use dataplatform_api::DataPlatformAccountStatus;
use dataplatform_api::account::{ClusterStatus, ServiceStatus};
use dataplatform_aws::ecs::parse_revision;
use dataplatform_aws::{AccountSession, AwsError};

use super::model::{DesiredCompute, ObservedCompute, revision_text};
use super::services::deregister;
use super::writes::EcsWrite;
use crate::account::AccountContext;
use crate::plan::{Action, ActionKind, Part, Plan};
use crate::vocabulary::{Readiness, ours};
use crate::wait::WaitKind;

/// Every service ACTIVE with its rollout finished: running == desired on the newest revision, one
/// deployment left. Moto starts no tasks, so its services stay pending until something plays the
/// scheduler; `Ready` is never relaxed for it.
pub fn readiness(desired: &DesiredCompute, observed: &ObservedCompute, applied: &Plan, readiness: &mut Readiness) {
    if desired.services.is_empty() {
        return;
    }
    let touched = |resource: &str| applied.actions.iter().find(|a| a.resource == resource).map(|a| a.kind);
    if observed.cluster.is_none() {
        readiness.wait(WaitKind::Tasks, "ecs:cluster is being created".to_owned());
    }
    for service in &desired.services {
        let resource = service.resource();
        let seen = observed.service(&service.name);
        let newest = observed.families.get(&service.family).and_then(|f| f.latest_arn());
        let seen = match (seen, touched(&resource)) {
            (None, _) | (_, Some(ActionKind::Create)) => {
                readiness.creating = true;
                readiness.wait(WaitKind::Tasks, format!("{resource} is being created"));
                continue;
            }
            (Some(_), Some(_)) => {
                readiness.wait(WaitKind::Tasks, format!("{resource} is rolling out the change"));
                continue;
            }
            (Some(seen), None) => seen,
        };
        if let Some(reason) = newest.and_then(|arn| service.rollout_failure(seen, arn)) {
            readiness.failed.push(format!(
                "{resource}: the deployment of {} failed and ECS rolled it back: {reason}; fix the spec (image, command, resources) to roll out again",
                newest.map(revision_text).unwrap_or_default()
            ));
        } else if seen.status != "ACTIVE" {
            readiness.wait(WaitKind::Tasks, format!("{resource} is {}", seen.status));
        } else if seen.running_count != seen.desired_count
            || seen.desired_count != service.wanted_count(seen.desired_count)
        {
            readiness.wait(
                WaitKind::Tasks,
                format!(
                    "{resource}: {} of {} tasks running",
                    seen.running_count,
                    service.wanted_count(seen.desired_count)
                ),
            );
        } else if seen.deployments.len() > 1
            || seen
                .deployments
                .iter()
                .any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
            || newest.is_some_and(|arn| seen.task_definition != arn)
        {
            readiness.wait(
                WaitKind::Tasks,
                format!("{resource} is rolling out {}", revision_text(&seen.task_definition)),
            );
        }
    }
}

/// The probe of a wait for tasks: whether ECS reports every spec service with its tasks running
/// and one deployment, settled. Cheaper than [`readiness`] (no task definitions are read): the full
/// pass it lets through checks the revisions.
pub async fn tasks_settled(session: &AccountSession, desired: &DesiredCompute) -> Result<bool, AwsError> {
    if desired.services.is_empty() {
        return Ok(true);
    }
    let names: Vec<String> = desired.services.iter().map(|s| s.name.clone()).collect();
    let services = session.ecs().services_named(&desired.cluster, &names).await?;
    Ok(desired.services.iter().all(|service| {
        services.iter().find(|s| s.name == service.name).is_some_and(|seen| {
            seen.status == "ACTIVE"
                && seen.running_count == seen.desired_count
                && seen.desired_count == service.wanted_count(seen.desired_count)
                && seen.deployments.len() == 1
                && seen.deployments[0].rollout_state.as_deref() != Some("IN_PROGRESS")
        })
    }))
}

/// The cluster, each spec service as ECS last reported it, and running/desired over all of them.
pub fn report(desired: &DesiredCompute, observed: &ObservedCompute, status: &mut DataPlatformAccountStatus) {
    status.cluster = observed.cluster.as_ref().map(|c| ClusterStatus {
        name: c.name.clone(),
        arn: c.arn.clone(),
    });
    status.services = desired
        .services
        .iter()
        .map(|service| match observed.service(&service.name) {
            Some(seen) => {
                let newest = observed.families.get(&service.family).and_then(|f| f.latest_arn());
                let failure = newest.and_then(|arn| Some((arn, service.rollout_failure(seen, arn)?)));
                ServiceStatus {
                    name: service.name.clone(),
                    desired: seen.desired_count,
                    running: seen.running_count,
                    task_definition_arn: Some(seen.task_definition.clone()).filter(|arn| !arn.is_empty()),
                    failed_task_definition_arn: failure.map(|(arn, _)| arn.to_owned()),
                    failed_reason: failure.map(|(_, reason)| reason.to_owned()),
                    url: service.url.clone(),
                    sign_in_callback_url: service.sign_in_callback.clone(),
                    address: service.address.clone(),
                    // The scaling part adds its own.
                    scaling: None,
                }
            }
            None => ServiceStatus {
                name: service.name.clone(),
                desired: service.settings.desired_count,
                running: 0,
                task_definition_arn: None,
                failed_task_definition_arn: None,
                failed_reason: None,
                url: service.url.clone(),
                sign_in_callback_url: service.sign_in_callback.clone(),
                address: service.address.clone(),
                scaling: None,
            },
        })
        .collect();
    status.services_running = (!status.services.is_empty()).then(|| {
        let (running, wanted) = status
            .services
            .iter()
            .fold((0, 0), |(r, d), s| (r + s.running, d + s.desired));
        format!("{running}/{wanted}")
    });
}

/// Services (scaled to zero, then deleted), then every revision of our families, then the cluster.
/// A crash between the steps is safe: the spec's families are observed whether or not their
/// services still exist.
pub fn deletion(account: &AccountContext, desired: &DesiredCompute, observed: &ObservedCompute) -> Vec<Action> {
    let owner = account.owner.as_str();
    let mut actions = Vec::new();
    for service in observed
        .services
        .iter()
        .filter(|s| s.status == "ACTIVE" && ours(&s.tags, owner))
    {
        actions.push(Action::delete(
            Part::Compute,
            format!("ecs:{}", service.name),
            &service.name,
            vec![EcsWrite::DeleteService {
                cluster: desired.cluster.clone(),
                service: service.name.clone(),
            }],
        ));
    }
    // Our families, by the service they belong to: the spec's, and those of services that left it.
    let mut families: BTreeMap<&str, &str> = desired
        .services
        .iter()
        .map(|s| (s.family.as_str(), s.name.as_str()))
        .collect();
    for service in &observed.services {
        if let Some((family, _)) = parse_revision(&service.task_definition)
            && let Some((family, _)) = observed.families.get_key_value(&family)
        {
            families.entry(family.as_str()).or_insert(service.name.as_str());
        }
    }
    for (family, service) in families {
        let Some(observed_family) = observed.families.get(family).filter(|f| ours(&f.latest_tags, owner)) else {
            continue;
        };
        let arns: Vec<&str> = observed_family.revisions.iter().map(|r| r.arn.as_str()).collect();
        if !arns.is_empty() {
            actions.push(deregister(service, &arns));
        }
    }
    if let Some(cluster) = observed.cluster.as_ref().filter(|c| ours(&c.tags, owner)) {
        actions.push(Action::delete(
            Part::Compute,
            "ecs:cluster",
            &cluster.name,
            vec![EcsWrite::DeleteEcsCluster {
                cluster: cluster.name.clone(),
            }],
        ));
    }
    actions
}
