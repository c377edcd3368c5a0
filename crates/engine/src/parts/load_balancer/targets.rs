//! Per exposed service a target group and the listener rule that forwards to it; and the rules and
//! target groups of ours no service needs any more. A rule is ours when it forwards to one of our
//! target groups; rules forwarding elsewhere are someone else's and never touched.

use std::collections::BTreeMap;

use dataplatform_aws::elb::{OidcSettings, RuleConditions, RuleObservation, SignInObservation, TargetGroupObservation};

use super::model::{
    DesiredLoadBalancing, DesiredTarget, ObservedLoadBalancing, SECRET_DIGEST_TAG, SignInMethod, secret_digest,
};
use super::writes::{LoadBalancerWrite, SignInWrite};
use crate::plan::{Action, Ec2Ref, FieldChange, Part};
use crate::vocabulary::{Outcome, Owner, list_text, tag_changes, tag_update};

pub fn target_group_resource(service: &str) -> String {
    format!("elb:target-group/{service}")
}

pub fn rule_resource(service: &str) -> String {
    format!("elb:rule/{service}")
}

/// A target's group, and its rule on `listener` (the forwarding listener of its scheme's load
/// balancer, known or made in this plan; `None` while that cannot be made).
pub fn target_outcomes(
    desired: &DesiredLoadBalancing,
    target: &DesiredTarget,
    listener: Option<&Ec2Ref>,
    observed: &ObservedLoadBalancing,
    owner: &Owner<'_>,
    outcomes: &mut Vec<Outcome>,
) {
    let resource = target_group_resource(&target.service);
    let seen = observed.target_group(&target.name);
    let group = match seen {
        None => {
            let Some(vpc) = &desired.vpc else {
                outcomes.push(Outcome::waiting(format!(
                    "{resource} ({}) waits for the network's VPC",
                    target.name
                )));
                return;
            };
            outcomes.push(Outcome::create(Action::create(
                Part::LoadBalancer,
                &resource,
                &target.name,
                vec![LoadBalancerWrite::CreateTargetGroup {
                    name: target.name.clone(),
                    vpc: vpc.clone(),
                    settings: target.settings.clone(),
                    tags: desired.tags.clone(),
                }],
            )));
            Ec2Ref::Made(resource)
        }
        Some(seen) => {
            if let Err(conflict) = owner.check(&resource, &target.name, &seen.tags) {
                outcomes.push(Outcome::conflict(conflict));
                return;
            }
            let mut changes = tag_changes(&desired.tags, &seen.tags);
            let mut ops = Vec::new();
            if !changes.is_empty() {
                ops.push(LoadBalancerWrite::TagElb {
                    arn: seen.arn.clone(),
                    tags: tag_update(&desired.tags, &seen.tags),
                });
            }
            let want = &target.settings.health_check;
            if seen.health_check != *want {
                changes.push(FieldChange::new(
                    "healthCheck",
                    format!("{} {}", seen.health_check.path, seen.health_check.matcher),
                    format!("{} {}", want.path, want.matcher),
                ));
                ops.push(LoadBalancerWrite::ModifyHealthCheck {
                    arn: seen.arn.clone(),
                    settings: target.settings.clone(),
                });
            }
            outcomes.push(Outcome::update(
                Part::LoadBalancer,
                resource,
                &target.name,
                changes,
                ops,
            ));
            Ec2Ref::Known(seen.arn.clone())
        }
    };
    // ELB signs people in on HTTPS listeners only, and moto does not refuse it on HTTP: never
    // planned (spec_problems says why).
    if target.sign_in.is_some() && !desired.forwards_over_https(target) {
        return;
    }
    if let Some(listener) = listener {
        rule_outcome(target, listener, &group, observed, outcomes);
    }
}

fn rule_outcome(
    target: &DesiredTarget,
    listener: &Ec2Ref,
    group: &Ec2Ref,
    observed: &ObservedLoadBalancing,
    outcomes: &mut Vec<Outcome>,
) {
    let resource = rule_resource(&target.service);
    let listener_rules = match listener {
        Ec2Ref::Known(arn) => observed
            .balancers
            .iter()
            .flat_map(|b| &b.listeners)
            .find(|l| &l.arn == arn)
            .map(|l| l.rules.as_slice())
            .unwrap_or_default(),
        Ec2Ref::Made(_) => &[],
    };
    let seen = match group {
        Ec2Ref::Known(arn) => listener_rules.iter().find(|r| r.target_groups.contains(arn)),
        Ec2Ref::Made(_) => None,
    };
    // A rule of someone else's on our priority: ELB would refuse ours.
    if let Some(taken) = listener_rules
        .iter()
        .find(|r| r.priority == Some(target.priority) && Some(r.arn.as_str()) != seen.map(|s| s.arn.as_str()))
        .filter(|r| !observed.target_groups.iter().any(|g| r.target_groups.contains(&g.arn)))
    {
        outcomes.push(Outcome::conflict(format!(
            "{resource}: priority {} on its listener is taken by a rule that is not ours ({}); move that rule to another priority",
            target.priority, taken.arn
        )));
        return;
    }
    let sign_in = match sign_in_write(target, seen, observed) {
        Ok(sign_in) => sign_in,
        Err(waiting) => {
            outcomes.push(*waiting);
            // Fail closed: a rule that forwards without the sign-in the spec asks for goes until
            // it can be written with it (requests meanwhile get the listener's 404).
            if let Some(open) = seen.filter(|r| r.sign_in.is_none()) {
                outcomes.push(Outcome::create(Action::delete(
                    Part::LoadBalancer,
                    resource.clone(),
                    &target.service,
                    vec![LoadBalancerWrite::DeleteRule { arn: open.arn.clone() }],
                )));
            }
            return;
        }
    };
    let Some(seen) = seen else {
        outcomes.push(Outcome::create(Action::create(
            Part::LoadBalancer,
            &resource,
            &target.service,
            vec![LoadBalancerWrite::CreateRule {
                listener: listener.clone(),
                priority: target.priority,
                conditions: target.conditions.clone(),
                target_group: group.clone(),
                sign_in,
                tags: BTreeMap::new(),
            }],
        )));
        return;
    };
    let mut changes = Vec::new();
    if seen.conditions != target.conditions || seen.target_groups.len() != 1 {
        changes.push(FieldChange::new(
            "conditions",
            conditions_text(&seen.conditions),
            conditions_text(&target.conditions),
        ));
    }
    changes.extend(sign_in_changes(seen, sign_in.as_ref()));
    let mut ops = Vec::new();
    if let (false, Ec2Ref::Known(group)) = (changes.is_empty(), group) {
        ops.push(LoadBalancerWrite::ModifyRule {
            arn: seen.arn.clone(),
            conditions: target.conditions.clone(),
            target_group: group.clone(),
            sign_in,
        });
    }
    if seen.priority != Some(target.priority) {
        changes.push(FieldChange::new(
            "priority",
            crate::vocabulary::option_text(seen.priority),
            target.priority.to_string(),
        ));
        ops.push(LoadBalancerWrite::SetRulePriority {
            arn: seen.arn.clone(),
            priority: target.priority,
        });
    }
    outcomes.push(Outcome::update(
        Part::LoadBalancer,
        resource,
        &target.service,
        changes,
        ops,
    ));
}

/// The rule's sign-in as written. OIDC: the secret is sent when the rule has none or holds an
/// earlier version, and a secret that does not exist holds the rule back. The user pool: the rule
/// waits for the pool, its domain and its app client. A rule held back that forwards without
/// sign-in is removed; one that signs in keeps what it has.
fn sign_in_write(
    target: &DesiredTarget,
    seen: Option<&RuleObservation>,
    observed: &ObservedLoadBalancing,
) -> Result<Option<SignInWrite>, Box<Outcome>> {
    let Some(sign_in) = &target.sign_in else {
        return Ok(None);
    };
    let waiting = |what: String| {
        Box::new(Outcome::waiting(format!(
            "{} of {} waits for {what}",
            rule_resource(&target.service),
            target.service,
        )))
    };
    let (settings, secret_arn, json_key) = match &sign_in.method {
        SignInMethod::UserPool {
            settings: Some(settings),
            ..
        } => {
            return Ok(Some(SignInWrite::Cognito(settings.clone())));
        }
        SignInMethod::UserPool { settings: None, .. } => {
            return Err(waiting(
                "the account's user pool, its domain and its app client (spec.userPool)".to_owned(),
            ));
        }
        SignInMethod::Oidc {
            settings,
            secret_arn,
            json_key,
        } => (settings, secret_arn, json_key),
    };
    let Some(Some(version)) = observed.secret_versions.get(secret_arn) else {
        return Err(waiting(format!(
            "its client secret {secret_arn}, which does not exist in the account: store the identity provider's client secret there"
        )));
    };
    let digest = secret_digest(secret_arn, json_key.as_deref(), version);
    let written_with = seen
        .filter(|r| r.sign_in.is_some())
        .and_then(|r| r.tags.get(SECRET_DIGEST_TAG));
    Ok(Some(SignInWrite::Oidc {
        settings: settings.clone(),
        secret_arn: secret_arn.clone(),
        json_key: json_key.clone(),
        send_secret: written_with != Some(&digest),
        digest,
    }))
}

/// What differs in a rule's sign-in, field by field; never an OIDC secret's value, which is not
/// read back (only whether the rule was written with the current version).
fn sign_in_changes(seen: &RuleObservation, want: Option<&SignInWrite>) -> Vec<FieldChange> {
    let text = |s: &SignInObservation| match s {
        SignInObservation::Oidc(s) => format!("oidc client {} of {}", s.client_id, s.issuer),
        SignInObservation::Cognito(s) => format!("user pool client {} of {}", s.client_id, s.user_pool_arn),
    };
    let want_seen = want.map(SignInWrite::as_observed);
    match (&seen.sign_in, want_seen) {
        (None, None) => vec![],
        (Some(seen), None) => vec![FieldChange::new("signIn", text(seen), "none")],
        (None, Some(want)) => vec![FieldChange::new("signIn", "none", text(&want))],
        (Some(SignInObservation::Oidc(seen)), Some(SignInObservation::Oidc(w))) => {
            let mut changes = oidc_changes(seen, &w);
            if want.is_some_and(|w| matches!(w, SignInWrite::Oidc { send_secret: true, .. })) {
                changes.push(FieldChange::new(
                    "signIn.oidc.clientSecret",
                    "an earlier version",
                    "the current version",
                ));
            }
            changes
        }
        (Some(SignInObservation::Cognito(seen)), Some(SignInObservation::Cognito(w))) => {
            let mut changes: Vec<FieldChange> = [
                ("userPoolArn", &seen.user_pool_arn, &w.user_pool_arn),
                ("clientId", &seen.client_id, &w.client_id),
                ("domain", &seen.domain, &w.domain),
                ("scope", &seen.scope, &w.scope),
            ]
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(field, a, b)| FieldChange::new(format!("signIn.userPool.{field}"), a.clone(), b.clone()))
            .collect();
            changes.extend(timeout_change(seen.session_timeout, w.session_timeout));
            changes
        }
        (Some(seen), Some(want)) => vec![FieldChange::new("signIn", text(seen), text(&want))],
    }
}

fn oidc_changes(seen: &OidcSettings, w: &OidcSettings) -> Vec<FieldChange> {
    let mut changes: Vec<FieldChange> = [
        ("issuer", &seen.issuer, &w.issuer),
        (
            "authorizationEndpoint",
            &seen.authorization_endpoint,
            &w.authorization_endpoint,
        ),
        ("tokenEndpoint", &seen.token_endpoint, &w.token_endpoint),
        ("userInfoEndpoint", &seen.user_info_endpoint, &w.user_info_endpoint),
        ("clientId", &seen.client_id, &w.client_id),
        ("scope", &seen.scope, &w.scope),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(field, a, b)| FieldChange::new(format!("signIn.oidc.{field}"), a.clone(), b.clone()))
    .collect();
    changes.extend(timeout_change(seen.session_timeout, w.session_timeout));
    changes
}

fn timeout_change(seen: i64, want: i64) -> Option<FieldChange> {
    (seen != want).then(|| FieldChange::new("signIn.sessionTimeoutSeconds", seen.to_string(), want.to_string()))
}

/// Rules of ours that forward where no desired rule does: a service no longer exposed, a rule left
/// on the listener the spec moved away from, a target group being replaced. Planned before the
/// rules that are made, so a replacement takes the priority its predecessor frees.
pub fn unwanted_rules(desired: &DesiredLoadBalancing, observed: &ObservedLoadBalancing, owner: &str) -> Vec<Outcome> {
    let ours: Vec<&str> = observed.our_target_groups(owner).map(|g| g.arn.as_str()).collect();
    let wanted_group = |arn: &str| {
        observed
            .target_groups
            .iter()
            .find(|g| g.arn == arn)
            .is_some_and(|g| desired.targets.iter().any(|t| t.name == g.name))
    };
    let mut outcomes = Vec::new();
    for balancer in observed
        .balancers
        .iter()
        .filter(|b| crate::vocabulary::ours(&b.tags, owner))
    {
        let forwarding_port = desired
            .balancers
            .values()
            .find(|d| d.name == balancer.name)
            .map(|d| d.forwarding_port);
        for listener in &balancer.listeners {
            let ours_here = listener
                .rules
                .iter()
                .filter(|r| r.target_groups.iter().any(|g| ours.contains(&g.as_str())));
            for rule in ours_here {
                let wanted =
                    Some(listener.port) == forwarding_port && rule.target_groups.iter().all(|g| wanted_group(g));
                if !wanted {
                    outcomes.push(Outcome::create(delete_rule(rule, &balancer.name, listener.port)));
                }
            }
        }
    }
    outcomes
}

/// Target groups of ours no service needs: each deleted once no rule forwards to it any more (the
/// pass after its rule went), so a service the compute part detached in that pass is off it first.
pub fn unwanted_groups(desired: &DesiredLoadBalancing, observed: &ObservedLoadBalancing, owner: &str) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for group in observed.our_target_groups(owner) {
        if desired.targets.iter().any(|t| t.name == group.name) {
            continue;
        }
        if !observed.in_use(group) {
            outcomes.push(Outcome::create(delete_target_group(group)));
        } else {
            outcomes.push(Outcome::waiting(format!(
                "elb:target-group ({}) is no longer needed and is deleted once no rule forwards to it",
                group.name
            )));
        }
    }
    outcomes
}

pub fn delete_target_group(group: &TargetGroupObservation) -> Action {
    Action::delete(
        Part::LoadBalancer,
        format!("elb:target-group/{}", group.name),
        &group.name,
        vec![LoadBalancerWrite::DeleteTargetGroup { arn: group.arn.clone() }],
    )
}

fn delete_rule(rule: &RuleObservation, balancer: &str, port: i32) -> Action {
    Action::delete(
        Part::LoadBalancer,
        format!("elb:rule/{balancer}/{port}/{}", rule.priority.unwrap_or_default()),
        rule.arn.rsplit('/').next().unwrap_or(&rule.arn),
        vec![LoadBalancerWrite::DeleteRule { arn: rule.arn.clone() }],
    )
}

pub fn conditions_text(conditions: &RuleConditions) -> String {
    let mut parts = Vec::new();
    if !conditions.hosts.is_empty() {
        parts.push(format!("host {}", conditions.hosts.join(",")));
    }
    parts.push(format!("path {}", list_text(&conditions.paths)));
    if !conditions.source_cidrs.is_empty() {
        parts.push(format!("from {}", conditions.source_cidrs.join(",")));
    }
    parts.join(" ")
}
