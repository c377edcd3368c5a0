//! The network part's decisions over plain values: no AWS, no moto.

use std::collections::BTreeMap;

use dataplatform_api::OWNER_TAG;
use dataplatform_aws::network::{InterfaceObservation, SubnetObservation, VpcObservation};
use serde_json::{Value, json};

use super::*;
use crate::account::ObjectId;
use crate::plan::{PlannedPeer, PlannedRule};

fn account_and_desired(network: Value) -> (AccountContext, DataPlatformAccountSpec, DesiredNetwork) {
    desired_from(json!({"accountId": "111111111111", "region": "eu-west-2", "network": network}))
}

fn desired_from(spec: Value) -> (AccountContext, DataPlatformAccountSpec, DesiredNetwork) {
    let spec: DataPlatformAccountSpec = serde_json::from_value(spec).expect("spec");
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    let account = AccountContext::new(&id, &spec, &Default::default());
    let desired = Network::desired(&account, &spec);
    (account, spec, desired)
}

fn managed(zones: usize) -> (AccountContext, DataPlatformAccountSpec, DesiredNetwork) {
    account_and_desired(
        json!({"vpc": {"cidr": "10.20.0.0/16", "availabilityZones": zones, "natGateway": "None", "endpoints": []}}),
    )
}

fn tagged(owner: Option<&str>) -> BTreeMap<String, String> {
    owner
        .map(|o| (OWNER_TAG.to_owned(), o.to_owned()))
        .into_iter()
        .collect()
}

fn vpc(owner: Option<&str>) -> VpcObservation {
    VpcObservation {
        id: "vpc-1".into(),
        cidr: "10.20.0.0/16".into(),
        tags: tagged(owner),
        dns_support: true,
        dns_hostnames: true,
    }
}

fn subnet(id: &str, zone: &str, owner: Option<&str>) -> SubnetObservation {
    SubnetObservation {
        id: id.into(),
        vpc_id: "vpc-1".into(),
        cidr: "10.20.0.0/24".into(),
        zone: zone.into(),
        tags: tagged(owner),
    }
}

#[test]
fn a_managed_network_with_nothing_in_aws_is_made_vpc_first_with_a_subnet_per_zone_and_tier() {
    let (account, _, desired) = managed(2);
    let observed = ObservedNetwork {
        zones: vec!["eu-west-2a".into(), "eu-west-2b".into(), "eu-west-2c".into()],
        ..Default::default()
    };
    let owner = Owner {
        value: &account.owner,
        adopt: false,
    };
    let mut plan = Plan::default();
    for outcome in Network::diff(&account, &desired, &observed, &owner) {
        assert!(outcome.conflict.is_none(), "{:?}", outcome.conflict);
        plan.actions.extend(outcome.action);
    }
    assert!(plan.actions.iter().all(|a| a.kind == ActionKind::Create), "{plan}");
    assert_eq!(plan.actions[0].name, desired.names.vpc(), "the VPC first: {plan}");
    for zone in ["eu-west-2a", "eu-west-2b"] {
        for tier in [Tier::Private, Tier::Public] {
            let name = desired.names.subnet(tier, zone);
            assert!(plan.actions.iter().any(|a| a.name == name), "{name} is made: {plan}");
        }
    }
    assert!(
        !plan.actions.iter().any(|a| a.name.contains("eu-west-2c")),
        "two zones asked for, two used: {plan}"
    );

    let mut readiness = Readiness::default();
    Network::readiness(&desired, &observed, &plan, &mut readiness);
    assert!(
        readiness
            .pending
            .iter()
            .any(|p| p.starts_with("network: ") && p.contains("being created")),
        "{:?}",
        readiness.pending
    );
}

#[test]
fn more_zones_than_the_region_has_is_a_spec_problem_naming_the_field() {
    let (_, spec, desired) = managed(3);
    let observed = ObservedNetwork {
        zones: vec!["eu-west-2a".into(), "eu-west-2b".into()],
        ..Default::default()
    };
    let problems = Network::spec_problems(&spec, &desired, &observed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "spec.network.vpc.availabilityZones");
    assert!(
        problems[0].message.contains("2 available zone(s)"),
        "{}",
        problems[0].message
    );

    let enough = ObservedNetwork {
        zones: vec!["eu-west-2a".into(), "eu-west-2b".into(), "eu-west-2c".into()],
        ..Default::default()
    };
    assert!(Network::spec_problems(&spec, &desired, &enough).is_empty());
}

#[test]
fn an_existing_subnet_that_is_not_there_is_a_spec_problem_naming_its_index() {
    let (_, spec, desired) =
        account_and_desired(json!({"subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-1"]}));
    let observed = ObservedNetwork {
        subnets: vec![subnet("subnet-a", "eu-west-2a", None)],
        ..Default::default()
    };
    let problems = Network::spec_problems(&spec, &desired, &observed);
    assert!(
        problems
            .iter()
            .any(|p| p.field == "spec.network.subnetIds[1]" && p.message.contains("subnet-b does not exist")),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.field == "spec.network.subnetIds[0]"),
        "{problems:?}"
    );
}

#[test]
fn deletion_waits_while_the_vpc_holds_interfaces_the_network_did_not_make_and_deletes_none_of_it() {
    let (account, _, desired) = managed(2);
    let owner = account.owner.as_str();
    let observed = ObservedNetwork {
        vpcs: vec![vpc(Some(owner))],
        subnets: vec![subnet("subnet-a", "eu-west-2a", Some(owner))],
        interfaces: vec![InterfaceObservation {
            id: "eni-1".into(),
            description: "someone's Lambda".into(),
            kind: "lambda".into(),
        }],
        ..Default::default()
    };
    let mut waiting = vec![];
    let actions = Network::deletion(&account, &desired, &observed, &mut waiting);
    assert!(actions.is_empty(), "{actions:?}");
    assert!(
        waiting
            .iter()
            .any(|w| w.contains("eni-1 (someone's Lambda)") && w.contains("ec2:vpc (vpc-1)")),
        "{waiting:?}"
    );
}

#[test]
fn deletion_takes_our_subnets_before_our_vpc_and_leaves_what_is_not_ours() {
    let (account, _, desired) = managed(2);
    let owner = account.owner.as_str();
    let observed = ObservedNetwork {
        vpcs: vec![vpc(Some(owner))],
        subnets: vec![
            subnet("subnet-a", "eu-west-2a", Some(owner)),
            subnet("subnet-theirs", "eu-west-2b", Some("other/owner")),
        ],
        ..Default::default()
    };
    let mut waiting = vec![];
    let actions = Network::deletion(&account, &desired, &observed, &mut waiting);
    let deleted: Vec<(&str, &str)> = actions.iter().map(|a| (a.resource.as_str(), a.name.as_str())).collect();
    assert_eq!(deleted, [("ec2:subnet", "subnet-a"), ("ec2:vpc", "vpc-1")]);
    assert!(waiting.is_empty(), "{waiting:?}");

    let mut waiting = vec![];
    let theirs = ObservedNetwork {
        vpcs: vec![vpc(Some("other/owner"))],
        ..Default::default()
    };
    assert!(
        !Network::deletion(&account, &desired, &theirs, &mut waiting)
            .iter()
            .any(|a| a.resource == "ec2:vpc"),
        "a VPC without our owner tag is never deleted"
    );
}

/// The tasks' group admits each port a service declares from the group itself (Dagster's daemon
/// reaches its code server on 4000), the exposed port from the load balancer's group too, and
/// nothing for a service without a port.
#[test]
fn the_tasks_group_admits_each_declared_service_port_from_itself_and_nothing_else() {
    let (_, _, desired) = desired_from(json!({
        "accountId": "111111111111", "region": "eu-west-2",
        "network": {"vpc": {"cidr": "10.20.0.0/16", "availabilityZones": 2, "natGateway": "None", "endpoints": []}},
        "services": [
            {"name": "daemon", "image": "dagster:1", "cpu": 256, "memory": 512},
            {"name": "code-server", "image": "dagster:1", "cpu": 256, "memory": 512, "port": 4000},
            {"name": "frontend", "image": "web:1", "cpu": 256, "memory": 512, "port": 8080,
             "expose": {"hosts": ["files.example.org"]}},
        ],
    }));
    let lb = Ec2Ref::Made("ec2:security-group/lb-internal".into());
    let made = BTreeMap::from([(GroupRole::LoadBalancer(dataplatform_api::Scheme::Internal), lb.clone())]);
    let own = Ec2Ref::Made("ec2:security-group/tasks".into());
    let peers = security::RulePeers {
        made: &made,
        tasks: &[],
        vpc_cidr: Some("10.20.0.0/16"),
        own: own.clone(),
    };
    let (ingress, _) = desired.rules(GroupRole::Tasks, &peers);
    let tcp = |port: i32, peer: &Ec2Ref| PlannedRule {
        protocol: "tcp".into(),
        ports: Some((port, port)),
        peer: PlannedPeer::Group(peer.clone()),
    };
    let want = [tcp(4000, &own), tcp(8080, &own), tcp(8080, &lb)].into_iter().collect();
    assert_eq!(ingress, want);
}
