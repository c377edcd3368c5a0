//! What a service is attached to besides its tasks: the target group a load balancer forwards
//! to it through, and the Cloud Map service its tasks are named in. Each is put back when changed
//! by hand, and left alone while the part that makes it has not made it yet.

use dataplatform_aws::ecs::{ServiceChanges, ServiceLoadBalancer, ServiceObservation};

use super::model::DesiredService;
use crate::plan::FieldChange;
use crate::vocabulary::{list_text, option_text};

/// The target group an exposed service registers in (left alone while its target group is not
/// ready), none for a service that is not exposed, and the grace period where ECS reports it.
pub fn load_balancer_changes(
    service: &DesiredService,
    seen: &ServiceObservation,
    changes: &mut Vec<FieldChange>,
    update: &mut ServiceChanges,
) {
    let settings = &service.settings;
    let wanted: Option<Vec<ServiceLoadBalancer>> = match (service.exposed_port, &settings.load_balancer) {
        (None, _) => Some(vec![]),
        (Some(_), Some(lb)) => Some(vec![lb.clone()]),
        (Some(_), None) => None,
    };
    let text = |all: &[ServiceLoadBalancer]| {
        let texts: Vec<String> = all
            .iter()
            .map(|lb| format!("{}:{}", target_group_text(&lb.target_group_arn), lb.container_port))
            .collect();
        list_text(&texts)
    };
    if let Some(wanted) = wanted.filter(|w| *w != seen.load_balancers) {
        changes.push(FieldChange::new(
            "loadBalancers",
            text(&seen.load_balancers),
            text(&wanted),
        ));
        update.load_balancers = Some(wanted);
    }
    // The grace period applies only to a service with a target group. It goes with every change of
    // target groups, and alone when ECS reports another one (ECS does not report one given at
    // creation everywhere, and an unreported value is not drift).
    let attached = update.load_balancers.as_ref().unwrap_or(&seen.load_balancers);
    let Some(grace) = settings.health_check_grace_period.filter(|_| !attached.is_empty()) else {
        return;
    };
    let reported_otherwise = seen.health_check_grace_period.is_some_and(|seen| seen != grace);
    if update.load_balancers.is_none() && !reported_otherwise {
        return;
    }
    if seen.health_check_grace_period != Some(grace) {
        changes.push(FieldChange::new(
            "healthCheckGracePeriodSeconds",
            option_text(seen.health_check_grace_period),
            grace.to_string(),
        ));
    }
    update.health_check_grace_period = Some(grace);
}

/// The Cloud Map service a service with a port registers in (left alone while it is not made
/// yet), none for a service without a port: a registry removed by hand is put back.
pub fn registry_changes(
    service: &DesiredService,
    seen: &ServiceObservation,
    changes: &mut Vec<FieldChange>,
    update: &mut ServiceChanges,
) {
    let wanted: Option<Vec<String>> = match (service.port, &service.settings.registry) {
        (None, _) => Some(vec![]),
        (Some(_), Some(arn)) => Some(vec![arn.clone()]),
        (Some(_), None) => None,
    };
    if let Some(wanted) = wanted.filter(|w| *w != seen.registries) {
        let text = |all: &[String]| list_text(&all.iter().map(|arn| registry_text(arn).to_owned()).collect::<Vec<_>>());
        changes.push(FieldChange::new(
            "serviceRegistries",
            text(&seen.registries),
            text(&wanted),
        ));
        update.registries = Some(wanted);
    }
}

/// `service/srv-…` of a Cloud Map service ARN.
fn registry_text(arn: &str) -> &str {
    arn.rsplit_once(':').map_or(arn, |(_, rest)| rest)
}

/// `name/id` of a target group ARN.
fn target_group_text(arn: &str) -> &str {
    arn.split_once(":targetgroup/").map_or(arn, |(_, rest)| rest)
}
