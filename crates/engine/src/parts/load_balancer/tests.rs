//! The load-balancer part's decisions over plain values: no AWS, no moto.

use dataplatform_aws::elb::LoadBalancerObservation;
use serde_json::json;

use super::writes::LoadBalancerWrite;
use super::*;
use crate::account::ObjectId;

fn desired(services: serde_json::Value) -> DesiredLoadBalancing {
    let spec: DataPlatformAccountSpec = serde_json::from_value(json!({
        "accountId": "111111111111", "region": "eu-west-2",
        "network": {"vpc": {"cidr": "10.20.0.0/16"}},
        "services": services
    }))
    .expect("spec");
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    let account = AccountContext::new(&id, &spec, &Default::default());
    LoadBalancing::desired(&account, &spec)
}

#[test]
fn ready_waits_for_the_balancer_to_be_active() {
    let wanted =
        desired(json!([{"name": "frontend", "image": "x", "cpu": 256, "memory": 512, "port": 80, "expose": {}}]));
    let name = wanted.balancers[&Scheme::Internal].name.clone();
    let balancer = |state: &str| LoadBalancerObservation {
        arn: "arn:lb".into(),
        name: name.clone(),
        dns_name: "internal-x.elb.amazonaws.com".into(),
        canonical_zone_id: "Z2P70J7EXAMPLE".into(),
        scheme: "internal".into(),
        state: state.into(),
        subnets: Default::default(),
        security_groups: Default::default(),
        tags: Default::default(),
        idle_timeout: Some(60),
        listeners: vec![],
    };
    let pending = |state: &str| {
        let observed = ObservedLoadBalancing {
            balancers: vec![balancer(state)],
            target_groups: vec![],
            secret_versions: Default::default(),
        };
        let mut readiness = Readiness::default();
        LoadBalancing::readiness(&wanted, &observed, &Plan::default(), &mut readiness);
        readiness.pending
    };
    assert!(pending("provisioning").iter().any(|p| p.contains("is provisioning")));
    assert!(
        !pending("active").iter().any(|p| p.contains(&name)),
        "{:?}",
        pending("active")
    );
}

/// A rule that is not ours on the priority ours needs: a conflict naming it, and no write.
#[test]
fn a_foreign_rule_on_our_priority_is_a_conflict() {
    use dataplatform_aws::elb::{
        DefaultAction, HealthCheck, ListenerObservation, RuleConditions, RuleObservation, TargetGroupObservation,
    };
    let wanted =
        desired(json!([{"name": "frontend", "image": "x", "cpu": 256, "memory": 512, "port": 80, "expose": {}}]));
    let target = &wanted.targets[0];
    let tags: std::collections::BTreeMap<String, String> =
        [(dataplatform_api::OWNER_TAG.to_owned(), "ns/camden".to_owned())].into();
    let observed = ObservedLoadBalancing {
        balancers: vec![LoadBalancerObservation {
            arn: "arn:lb".into(),
            name: wanted.balancers[&Scheme::Internal].name.clone(),
            dns_name: "x".into(),
            canonical_zone_id: "Z2P70J7EXAMPLE".into(),
            scheme: "internal".into(),
            state: "active".into(),
            subnets: Default::default(),
            security_groups: Default::default(),
            tags: tags.clone(),
            idle_timeout: Some(60),
            listeners: vec![ListenerObservation {
                arn: "arn:listener".into(),
                port: 80,
                protocol: "HTTP".into(),
                certificate: None,
                default_action: DefaultAction::NotFound,
                rules: vec![RuleObservation {
                    arn: "arn:someone-elses-rule".into(),
                    priority: Some(target.priority),
                    conditions: RuleConditions::default(),
                    target_groups: vec!["arn:their-group".into()],
                    sign_in: None,
                    tags: Default::default(),
                }],
            }],
        }],
        target_groups: vec![TargetGroupObservation {
            arn: "arn:our-group".into(),
            name: target.name.clone(),
            port: 80,
            protocol_version: "HTTP1".into(),
            target_type: "ip".into(),
            vpc_id: "vpc-1".into(),
            health_check: HealthCheck {
                path: "/".into(),
                matcher: "200-399".into(),
            },
            load_balancers: vec![],
            tags,
        }],
        secret_versions: Default::default(),
    };
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    let spec: DataPlatformAccountSpec =
        serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2"})).expect("spec");
    let account = AccountContext::new(&id, &spec, &Default::default());
    let owner = Owner {
        value: &account.owner,
        adopt: false,
    };
    let outcomes = LoadBalancing::diff(&account, &wanted, &observed, &owner);
    let conflicts: Vec<&String> = outcomes.iter().filter_map(|o| o.conflict.as_ref()).collect();
    assert!(
        conflicts
            .iter()
            .any(|c| c.contains("arn:someone-elses-rule") && c.contains("not ours")),
        "{conflicts:?}"
    );
    assert!(
        !outcomes.iter().filter_map(|o| o.action.as_ref()).any(|a| a
            .ops
            .iter()
            .any(|op| matches!(op.get(), Some(LoadBalancerWrite::CreateRule { .. })))),
        "no rule is made on a taken priority"
    );
}

#[test]
fn an_account_that_never_exposed_a_service_reads_no_load_balancer() {
    let mut nothing = desired(json!([]));
    nothing.remember(Some(&DataPlatformAccountStatus::default()));
    assert!(!nothing.observe, "nothing exposed, none in status: no ELB read");
    nothing.remember(None);
    assert!(nothing.observe, "without a status (the CLI) it looks");
    let status = DataPlatformAccountStatus {
        load_balancers: vec![LoadBalancerStatus {
            scheme: Scheme::Internal,
            name: "x".into(),
            dns_name: None,
            state: None,
        }],
        ..Default::default()
    };
    nothing.remember(Some(&status));
    assert!(nothing.observe, "a balancer left to remove is looked at");
}

fn account() -> AccountContext {
    let spec: DataPlatformAccountSpec =
        serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2"})).expect("spec");
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    AccountContext::new(&id, &spec, &Default::default())
}

fn exposed_frontend() -> DesiredLoadBalancing {
    let mut wanted =
        desired(json!([{"name": "frontend", "image": "x", "cpu": 256, "memory": 512, "port": 80, "expose": {}}]));
    // What the network part hands on (its facts) once the subnets and the group exist.
    wanted.placement.insert(
        Scheme::Internal,
        crate::vocabulary::LoadBalancerPlacement {
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_group: "sg-lb".into(),
        },
    );
    wanted.vpc = Some("vpc-1".into());
    wanted
}

fn balancer(name: &str, owner: Option<&str>) -> LoadBalancerObservation {
    LoadBalancerObservation {
        arn: format!("arn:lb/{name}"),
        name: name.into(),
        dns_name: format!("internal-{name}.eu-west-2.elb.amazonaws.com"),
        canonical_zone_id: "Z2P70J7EXAMPLE".into(),
        scheme: "internal".into(),
        state: "active".into(),
        subnets: Default::default(),
        security_groups: Default::default(),
        tags: owner
            .map(|o| (dataplatform_api::OWNER_TAG.to_owned(), o.to_owned()))
            .into_iter()
            .collect(),
        idle_timeout: Some(60),
        listeners: vec![],
    }
}

fn target_group(name: &str, owner: Option<&str>) -> dataplatform_aws::elb::TargetGroupObservation {
    dataplatform_aws::elb::TargetGroupObservation {
        arn: format!("arn:tg/{name}"),
        name: name.into(),
        port: 80,
        protocol_version: "HTTP1".into(),
        target_type: "ip".into(),
        vpc_id: "vpc-1".into(),
        health_check: dataplatform_aws::elb::HealthCheck {
            path: "/".into(),
            matcher: "200-399".into(),
        },
        load_balancers: vec![],
        tags: owner
            .map(|o| (dataplatform_api::OWNER_TAG.to_owned(), o.to_owned()))
            .into_iter()
            .collect(),
    }
}

fn plan_of(outcomes: Vec<Outcome>) -> crate::vocabulary::Diff {
    let mut diff = crate::vocabulary::Diff::default();
    for outcome in outcomes {
        diff.add(outcome);
    }
    diff
}

#[test]
fn an_exposed_service_with_nothing_in_aws_gets_a_balancer_then_its_target_group_and_is_not_ready() {
    let (account, wanted) = (account(), exposed_frontend());
    let owner = Owner {
        value: &account.owner,
        adopt: false,
    };
    let nothing = ObservedLoadBalancing::default();
    let diff = plan_of(LoadBalancing::diff(&account, &wanted, &nothing, &owner));
    assert!(diff.conflicts.is_empty() && diff.waiting.is_empty(), "{diff:?}");
    let created: Vec<&str> = diff
        .plan
        .actions
        .iter()
        .filter(|a| a.kind == crate::plan::ActionKind::Create)
        .map(|a| a.name.as_str())
        .collect();
    let at = |name: &str| created.iter().position(|n| *n == name);
    let (balancer_name, group_name) = (&wanted.balancers[&Scheme::Internal].name, &wanted.targets[0].name);
    let (Some(balancer_at), Some(group_at)) = (at(balancer_name), at(group_name)) else {
        panic!("the balancer and the target group are made: {}", diff.plan);
    };
    assert!(
        balancer_at < group_at,
        "the balancer before what hangs off it: {}",
        diff.plan
    );

    let mut readiness = Readiness::default();
    LoadBalancing::readiness(&wanted, &nothing, &diff.plan, &mut readiness);
    assert!(
        readiness
            .pending
            .iter()
            .any(|p| p.contains(balancer_name.as_str()) && p.contains("being created")),
        "{:?}",
        readiness.pending
    );
}

#[test]
fn a_balancer_no_service_exposes_any_more_is_deleted_and_one_not_ours_is_left() {
    let account = account();
    let owner = Owner {
        value: &account.owner,
        adopt: false,
    };
    let ours_name = account.names.load_balancer(Scheme::Internal);
    let observed = ObservedLoadBalancing {
        balancers: vec![
            balancer(&ours_name, Some(&account.owner)),
            balancer("someone-elses", None),
        ],
        target_groups: vec![],
        secret_versions: Default::default(),
    };
    let diff = plan_of(LoadBalancing::diff(&account, &desired(json!([])), &observed, &owner));
    let deleted: Vec<&str> = diff
        .plan
        .actions
        .iter()
        .filter(|a| a.kind == crate::plan::ActionKind::Delete)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(deleted, [ours_name.as_str()], "{}", diff.plan);
}

#[test]
fn deletion_takes_our_balancers_and_target_groups_only_and_holds_the_network_back() {
    let (account, wanted) = (account(), exposed_frontend());
    let ours_name = wanted.balancers[&Scheme::Internal].name.clone();
    let observed = ObservedLoadBalancing {
        balancers: vec![
            balancer(&ours_name, Some(&account.owner)),
            balancer("someone-elses", None),
        ],
        target_groups: vec![
            target_group(&wanted.targets[0].name, Some(&account.owner)),
            target_group("their-group", Some("other/owner")),
        ],
        secret_versions: Default::default(),
    };
    let mut waiting = vec![];
    let actions = LoadBalancing::deletion(&account, &wanted, &observed, &mut waiting);
    let names: Vec<&str> = actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, [ours_name.as_str(), wanted.targets[0].name.as_str()]);
    assert!(actions.iter().all(|a| a.kind == crate::plan::ActionKind::Delete));
    assert_eq!(waiting.len(), 2, "the network waits until ELB lets go: {waiting:?}");

    let mut none_waiting = vec![];
    let nothing = LoadBalancing::deletion(&account, &wanted, &ObservedLoadBalancing::default(), &mut none_waiting);
    assert!(
        nothing.is_empty() && none_waiting.is_empty(),
        "nothing left: the network may go"
    );
}

#[test]
fn status_lists_our_balancers_with_their_dns_names_and_states() {
    let (account, wanted) = (account(), exposed_frontend());
    let ours_name = wanted.balancers[&Scheme::Internal].name.clone();
    let mut provisioning = balancer(&ours_name, Some(&account.owner));
    provisioning.state = "provisioning".into();
    let observed = ObservedLoadBalancing {
        balancers: vec![provisioning, balancer("someone-elses", None)],
        target_groups: vec![],
        secret_versions: Default::default(),
    };
    let mut status = DataPlatformAccountStatus::default();
    LoadBalancing::report(&account, &wanted, &observed, &mut status);
    assert_eq!(
        status.load_balancers,
        vec![LoadBalancerStatus {
            scheme: Scheme::Internal,
            name: ours_name.clone(),
            dns_name: Some(format!("internal-{ours_name}.eu-west-2.elb.amazonaws.com")),
            state: Some("provisioning".into()),
        }]
    );
}

/// ELB signs people in on HTTPS listeners only and moto does not refuse it on HTTP: a spec that
/// slipped past validation (a caller that skipped it) is still refused, and no rule is planned on
/// the HTTP listener that is there.
#[test]
fn sign_in_on_an_http_listener_is_a_spec_problem_and_never_planned() {
    let account = account();
    let mut wanted = desired(
        json!([{"name": "webserver", "image": "x", "cpu": 256, "memory": 512, "port": 80,
        "expose": {"signIn": {"oidc": {"issuer": "https://id.example.org", "authorizationEndpoint": "https://id.example.org/a",
            "tokenEndpoint": "https://id.example.org/t", "userInfoEndpoint": "https://id.example.org/u", "clientId": "c",
            "clientSecret": {"secretArn": "arn:aws:secretsmanager:eu-west-2:111111111111:secret:x-AbCdEf"}}}}}]),
    );
    wanted.vpc = Some("vpc-1".into());
    let name = wanted.balancers[&Scheme::Internal].name.clone();
    let mut seen = balancer(&name, Some(&account.owner));
    seen.listeners = vec![dataplatform_aws::elb::ListenerObservation {
        arn: "arn:listener-80".into(),
        port: 80,
        protocol: "HTTP".into(),
        certificate: None,
        default_action: dataplatform_aws::elb::DefaultAction::NotFound,
        rules: vec![],
    }];
    let observed = ObservedLoadBalancing {
        balancers: vec![seen],
        target_groups: vec![target_group(&wanted.targets[0].name, Some(&account.owner))],
        secret_versions: [(
            "arn:aws:secretsmanager:eu-west-2:111111111111:secret:x-AbCdEf".to_owned(),
            Some("v1".to_owned()),
        )]
        .into(),
    };
    let spec = serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2"})).expect("spec");
    let problems = LoadBalancing::spec_problems(&spec, &wanted, &observed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "spec.services[webserver].expose.signIn");
    assert!(problems[0].message.contains("certificateArn"), "{problems:?}");
    let owner = Owner {
        value: &account.owner,
        adopt: false,
    };
    let diff = plan_of(LoadBalancing::diff(&account, &wanted, &observed, &owner));
    assert!(
        !diff.plan.actions.iter().any(|a| a.resource.starts_with("elb:rule/")),
        "{}",
        diff.plan
    );
}
