//! The load balancers and their listeners: one per exposed scheme, in the subnets and with the
//! security group the network part made for it, and the load balancers no service needs any more.

use dataplatform_api::Scheme;
use dataplatform_aws::elb::{DefaultAction, ListenerObservation, ListenerSettings, LoadBalancerObservation};

use super::model::{DesiredBalancer, DesiredLoadBalancing, ObservedLoadBalancing};
use super::writes::LoadBalancerWrite;
use crate::plan::{Action, Ec2Ref, FieldChange, Part};
use crate::vocabulary::{Outcome, Owner, list_text, ours, tag_changes, tag_update};

/// How the plan names one load balancer and its listeners.
pub fn balancer_resource(scheme: Scheme) -> String {
    format!("elb:load-balancer/{}", scheme.aws_name())
}

pub fn listener_resource(scheme: Scheme, port: i32) -> String {
    format!("elb:listener/{}/{port}", scheme.aws_name())
}

/// The load balancer of `balancer`'s scheme and its listeners; how later ops name the listener
/// the rules go on (`None` while it cannot be made, or is not ours).
pub fn balancer_outcomes(
    desired: &DesiredLoadBalancing,
    balancer: &DesiredBalancer,
    observed: &ObservedLoadBalancing,
    owner: &Owner<'_>,
    outcomes: &mut Vec<Outcome>,
) -> Option<Ec2Ref> {
    let resource = balancer_resource(balancer.scheme);
    let seen = observed.balancer(&balancer.name);
    let reference = match seen {
        None => {
            let Some(placement) = desired.placement.get(&balancer.scheme) else {
                outcomes.push(Outcome::waiting(format!(
                    "{resource} ({}) waits for the network: it is created once its subnets and security group exist",
                    balancer.name
                )));
                return None;
            };
            let made = Ec2Ref::Made(resource.clone());
            outcomes.push(Outcome::create(Action::create(
                Part::LoadBalancer,
                &resource,
                &balancer.name,
                vec![
                    LoadBalancerWrite::CreateLoadBalancer {
                        name: balancer.name.clone(),
                        internal: balancer.scheme == Scheme::Internal,
                        subnets: placement.subnets.clone(),
                        groups: vec![placement.security_group.clone()],
                        tags: desired.tags.clone(),
                    },
                    LoadBalancerWrite::SetIdleTimeout {
                        load_balancer: made.clone(),
                        seconds: desired.idle_timeout,
                    },
                ],
            )));
            made
        }
        Some(seen) => {
            if let Err(conflict) = owner.check(&resource, &balancer.name, &seen.tags) {
                outcomes.push(Outcome::conflict(conflict));
                return None;
            }
            if seen.scheme != balancer.scheme.aws_name() {
                outcomes.push(Outcome::conflict(format!(
                    "{resource} ({}) is {}, not {}; a load balancer's scheme cannot change: delete it by hand and the operator makes it again",
                    balancer.name,
                    seen.scheme,
                    balancer.scheme.aws_name()
                )));
                return None;
            }
            outcomes.push(balancer_update(desired, balancer, seen));
            Ec2Ref::Known(seen.arn.clone())
        }
    };
    let mut forwarding = None;
    for listener in &balancer.listeners {
        let made = listener_outcome(desired, balancer, seen, &reference, listener, outcomes);
        if listener.port == balancer.forwarding_port {
            forwarding = Some(made);
        }
    }
    if let Some(seen) = seen {
        unwanted_listeners(balancer, seen, outcomes);
    }
    forwarding
}

/// Tags, subnets, security group and idle timeout of a load balancer of ours.
fn balancer_update(
    desired: &DesiredLoadBalancing,
    balancer: &DesiredBalancer,
    seen: &LoadBalancerObservation,
) -> Outcome {
    let mut changes = tag_changes(&desired.tags, &seen.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(LoadBalancerWrite::TagElb {
            arn: seen.arn.clone(),
            tags: tag_update(&desired.tags, &seen.tags),
        });
    }
    if let Some(placement) = desired.placement.get(&balancer.scheme) {
        let subnets: std::collections::BTreeSet<String> = placement.subnets.iter().cloned().collect();
        if subnets != seen.subnets {
            let text = |s: &std::collections::BTreeSet<String>| list_text(&s.iter().cloned().collect::<Vec<_>>());
            changes.push(FieldChange::new("subnets", text(&seen.subnets), text(&subnets)));
            ops.push(LoadBalancerWrite::SetLoadBalancerSubnets {
                arn: seen.arn.clone(),
                subnets: placement.subnets.clone(),
            });
        }
        let group = placement.security_group.clone();
        if seen.security_groups.len() != 1 || !seen.security_groups.contains(&group) {
            changes.push(FieldChange::new(
                "securityGroups",
                list_text(&seen.security_groups.iter().cloned().collect::<Vec<_>>()),
                group.clone(),
            ));
            ops.push(LoadBalancerWrite::SetLoadBalancerGroups {
                arn: seen.arn.clone(),
                groups: vec![group],
            });
        }
    }
    if seen.idle_timeout != Some(desired.idle_timeout) {
        changes.push(FieldChange::new(
            "idleTimeoutSeconds",
            crate::vocabulary::option_text(seen.idle_timeout),
            desired.idle_timeout.to_string(),
        ));
        ops.push(LoadBalancerWrite::SetIdleTimeout {
            load_balancer: Ec2Ref::Known(seen.arn.clone()),
            seconds: desired.idle_timeout,
        });
    }
    Outcome::update(
        Part::LoadBalancer,
        balancer_resource(balancer.scheme),
        &balancer.name,
        changes,
        ops,
    )
}

fn listener_outcome(
    desired: &DesiredLoadBalancing,
    balancer: &DesiredBalancer,
    seen_balancer: Option<&LoadBalancerObservation>,
    reference: &Ec2Ref,
    listener: &ListenerSettings,
    outcomes: &mut Vec<Outcome>,
) -> Ec2Ref {
    let resource = listener_resource(balancer.scheme, listener.port);
    let seen = seen_balancer.and_then(|b| b.listeners.iter().find(|l| l.port == listener.port));
    let Some(seen) = seen else {
        outcomes.push(Outcome::create(Action::create(
            Part::LoadBalancer,
            &resource,
            format!("{} port {}", balancer.name, listener.port),
            vec![LoadBalancerWrite::CreateListener {
                load_balancer: reference.clone(),
                settings: listener.clone(),
                tags: desired.tags.clone(),
            }],
        )));
        return Ec2Ref::Made(resource);
    };
    let mut changes = Vec::new();
    if seen.protocol != listener.protocol() {
        changes.push(FieldChange::new("protocol", &seen.protocol, listener.protocol()));
    }
    if seen.certificate != listener.certificate {
        changes.push(FieldChange::new(
            "certificate",
            crate::vocabulary::option_text(seen.certificate.as_ref()),
            crate::vocabulary::option_text(listener.certificate.as_ref()),
        ));
    }
    if seen.default_action != listener.default_action {
        changes.push(FieldChange::new(
            "defaultAction",
            action_text(&seen.default_action),
            action_text(&listener.default_action),
        ));
    }
    let ops = if changes.is_empty() {
        vec![]
    } else {
        vec![LoadBalancerWrite::ModifyListener {
            arn: seen.arn.clone(),
            settings: listener.clone(),
        }]
    };
    outcomes.push(Outcome::update(
        Part::LoadBalancer,
        resource,
        &format!("{} port {}", balancer.name, listener.port),
        changes,
        ops,
    ));
    Ec2Ref::Known(seen.arn.clone())
}

/// Listeners of ours on 80 or 443 that the spec no longer asks for (443 after the certificate is
/// removed); listeners on other ports are someone else's and left alone.
fn unwanted_listeners(balancer: &DesiredBalancer, seen: &LoadBalancerObservation, outcomes: &mut Vec<Outcome>) {
    let unwanted = seen
        .listeners
        .iter()
        .filter(|l| [80, 443].contains(&l.port))
        .filter(|l| !balancer.listeners.iter().any(|want| want.port == l.port));
    for listener in unwanted {
        outcomes.push(Outcome::create(delete_listener(
            balancer.scheme,
            &balancer.name,
            listener,
        )));
    }
}

fn delete_listener(scheme: Scheme, name: &str, listener: &ListenerObservation) -> Action {
    Action::delete(
        Part::LoadBalancer,
        listener_resource(scheme, listener.port),
        format!("{name} port {}", listener.port),
        vec![LoadBalancerWrite::DeleteListener {
            arn: listener.arn.clone(),
        }],
    )
}

/// Load balancers of ours that no exposed service needs any more (their listeners and rules go
/// with them).
pub fn unwanted_balancers(
    desired: &DesiredLoadBalancing,
    observed: &ObservedLoadBalancing,
    owner: &str,
) -> Vec<Action> {
    observed
        .balancers
        .iter()
        .filter(|b| ours(&b.tags, owner))
        .filter(|b| !desired.balancers.values().any(|want| want.name == b.name))
        .map(delete_balancer)
        .collect()
}

/// The scheme of a load balancer ELB holds, from its `internal` / `internet-facing`.
pub fn scheme_of(seen: &LoadBalancerObservation) -> Scheme {
    if seen.scheme == Scheme::Internal.aws_name() {
        Scheme::Internal
    } else {
        Scheme::InternetFacing
    }
}

pub fn delete_balancer(seen: &LoadBalancerObservation) -> Action {
    Action::delete(
        Part::LoadBalancer,
        balancer_resource(scheme_of(seen)),
        &seen.name,
        vec![LoadBalancerWrite::DeleteLoadBalancer { arn: seen.arn.clone() }],
    )
}

fn action_text(action: &DefaultAction) -> String {
    match action {
        DefaultAction::NotFound => "404".to_owned(),
        DefaultAction::RedirectToHttps => "redirect to https".to_owned(),
        DefaultAction::Other(kind) => kind.clone(),
    }
}
