//! The network part against moto: the managed form builds a VPC the database and the services live
//! in, drift in it is put right, the existing form gets the database's own security group and
//! subnet group, a crash after any action leaves no duplicate, and deletion goes last and waits for
//! what is not ours.
//!
//! moto quirks met here: NAT gateways and endpoints are `available` at once and deleted at once
//! (AWS takes minutes in both directions), and their network interfaces are of type `interface`
//! (AWS says `nat_gateway`, `vpc_endpoint`), so "not ours" is told by interface id, not by type.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use dataplatform_api::names::AccountNames;
use dataplatform_engine::{AccountObject, ExecuteOptions};
use dataplatform_tests::{
    Moto, account_object, converge, converge_running, default_network_yaml, engine, unique_account_id,
};

const MANAGED: &str = "network: {vpc: {cidr: 10.30.0.0/16, natGateway: Single, endpoints: [s3, ecr]}}\n";
const DAEMON: &str = "services:\n- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512, databaseAccess: true}\n";

async fn ec2(account: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&Moto::shared().account_config(account).await)
}

async fn rds(account: &str) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&Moto::shared().account_config(account).await)
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn prefix(object: &AccountObject) -> String {
    AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id).network()
}

fn tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// The subnets and security groups ECS holds for the `daemon` service.
async fn daemon_network(account: &str, names: &AccountNames) -> (Vec<String>, Vec<String>) {
    let ecs = aws_sdk_ecs::Client::new(&Moto::shared().account_config(account).await);
    let described = ecs
        .describe_services()
        .cluster(names.ecs_cluster())
        .services("daemon")
        .send()
        .await
        .expect("service");
    let awsvpc = described.services()[0]
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .expect("awsvpc");
    (awsvpc.subnets().to_vec(), awsvpc.security_groups().to_vec())
}

/// Our VPC's id (there must be exactly one).
async fn our_vpc(object: &AccountObject) -> String {
    let vpcs = ec2(&object.spec.account_id)
        .await
        .describe_vpcs()
        .filters(filter("tag:Name", &prefix(object)))
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC under our name");
    vpcs.vpcs()[0].vpc_id().unwrap_or_default().to_owned()
}

/// How many of each kind the account holds under our names: what a rerun must not add to.
async fn inventory(object: &AccountObject) -> Vec<(String, usize)> {
    let account = &object.spec.account_id;
    let ec2 = ec2(account).await;
    let ours = filter("tag:Name", &format!("{}*", prefix(object)));
    let vpcs = ec2
        .describe_vpcs()
        .filters(ours.clone())
        .send()
        .await
        .expect("vpcs")
        .vpcs()
        .len();
    let subnets = ec2
        .describe_subnets()
        .filters(ours.clone())
        .send()
        .await
        .expect("subnets")
        .subnets()
        .len();
    let gateways = ec2
        .describe_internet_gateways()
        .filters(ours.clone())
        .send()
        .await
        .expect("gateways")
        .internet_gateways()
        .len();
    let tables = ec2
        .describe_route_tables()
        .filters(ours.clone())
        .send()
        .await
        .expect("tables")
        .route_tables()
        .len();
    let nats = ec2
        .describe_nat_gateways()
        .filter(ours.clone())
        .send()
        .await
        .expect("nats")
        .nat_gateways()
        .iter()
        .filter(|n| n.state().is_some_and(|s| s.as_str() != "deleted"))
        .count();
    let addresses = ec2
        .describe_addresses()
        .filters(ours.clone())
        .send()
        .await
        .expect("eips")
        .addresses()
        .len();
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(ours.clone())
        .send()
        .await
        .expect("endpoints")
        .vpc_endpoints()
        .iter()
        .filter(|e| e.state().is_some_and(|s| !s.as_str().eq_ignore_ascii_case("deleted")))
        .count();
    let groups = ec2
        .describe_security_groups()
        .filters(ours)
        .send()
        .await
        .expect("groups")
        .security_groups()
        .len();
    [
        ("vpc", vpcs),
        ("subnet", subnets),
        ("internet-gateway", gateways),
        ("route-table", tables),
        ("nat-gateway", nats),
        ("elastic-ip", addresses),
        ("endpoint", endpoints),
        ("security-group", groups),
    ]
    .into_iter()
    .map(|(kind, n)| (kind.to_owned(), n))
    .collect()
}

#[tokio::test]
async fn a_managed_network_holds_the_database_and_the_services() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, &format!("{MANAGED}{DAEMON}"));
    let first = engine.plan(&object).await.expect("plan");
    assert!(
        first
            .diff
            .waiting
            .iter()
            .any(|w| w.contains("rds:cluster") && w.contains("waits for the network")),
        "{:?}",
        first.diff.waiting
    );
    // The network made, the rest waits for its facts: the next pass goes on at once.
    let pass = engine
        .reconcile(&object, dataplatform_engine::ExecuteOptions::default())
        .await;
    assert!(pass.error.is_none() && !pass.applied.is_empty(), "{:?}", pass.error);
    assert_eq!(pass.waiting_on, Some(dataplatform_engine::WaitKind::NextStep));
    assert_eq!(pass.requeue_after, Some(std::time::Duration::from_secs(1)));
    object.status = Some(pass.status);
    converge_running(&engine, &mut object).await;

    let ec2 = ec2(&account).await;
    let vpc = our_vpc(&object).await;
    let inventory: Vec<(String, usize)> = inventory(&object).await;
    let expect = [
        ("vpc", 1),
        ("subnet", 4),
        ("internet-gateway", 1),
        ("route-table", 3),
        ("nat-gateway", 1),
        ("elastic-ip", 1),
        ("endpoint", 3),
        ("security-group", 3),
    ];
    let expect: Vec<(String, usize)> = expect.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
    assert_eq!(inventory, expect);

    // Subnets carved from the range, per zone and tier, carrying our owner tag.
    let subnets = ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc))
        .send()
        .await
        .expect("subnets");
    let mut carved: Vec<(String, String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| {
            assert!(
                tag(s.tags(), "dataplatform.io/owner").is_some(),
                "owner tag on {:?}",
                s.subnet_id()
            );
            (
                tag(s.tags(), "Name")
                    .unwrap_or_default()
                    .rsplit('-')
                    .nth(3)
                    .unwrap_or_default()
                    .to_owned(),
                s.availability_zone().unwrap_or_default().to_owned(),
                s.cidr_block().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    carved.sort();
    assert_eq!(
        carved,
        [
            ("private".into(), "eu-west-2a".into(), "10.30.0.0/19".into()),
            ("private".into(), "eu-west-2b".into(), "10.30.32.0/19".into()),
            ("public".into(), "eu-west-2a".into(), "10.30.224.0/22".into()),
            ("public".into(), "eu-west-2b".into(), "10.30.228.0/22".into()),
        ]
    );
    let status = object.status.clone().expect("status");
    let network = status.network.clone().expect("status.network");
    assert_eq!(network.vpc_id.as_deref(), Some(vpc.as_str()));
    let private: BTreeSet<String> = network
        .zones
        .iter()
        .filter_map(|z| z.private_subnet_id.clone())
        .collect();
    assert_eq!(private.len(), 2);
    let tasks_group = network.security_groups["tasks"].clone();
    let database_group = network.security_groups["database"].clone();
    assert_eq!(
        network.endpoints.keys().cloned().collect::<Vec<_>>(),
        ["ecr-api", "ecr-dkr", "s3"]
    );

    // The database admits 5432 from the tasks' group and nothing else; nothing admits 0.0.0.0/0.
    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc))
        .send()
        .await
        .expect("groups");
    for group in groups.security_groups() {
        for permission in group.ip_permissions() {
            assert!(
                permission.ip_ranges().iter().all(|r| r.cidr_ip() != Some("0.0.0.0/0")),
                "{:?} admits anyone",
                group.group_name()
            );
        }
        if group.group_id() == Some(database_group.as_str()) {
            let rules: Vec<(Option<i32>, Vec<&str>)> = group
                .ip_permissions()
                .iter()
                .map(|p| {
                    (
                        p.from_port(),
                        p.user_id_group_pairs().iter().filter_map(|g| g.group_id()).collect(),
                    )
                })
                .collect();
            assert_eq!(rules, [(Some(5432), vec![tasks_group.as_str()])]);
            assert!(group.ip_permissions_egress().is_empty(), "the database needs no egress");
        }
    }

    // The cluster lives in our subnet group and security group; the service in the private subnets.
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let cluster = rds(&account)
        .await
        .describe_db_clusters()
        .db_cluster_identifier(names.db_cluster())
        .send()
        .await
        .expect("cluster");
    let cluster = &cluster.db_clusters()[0];
    assert_eq!(cluster.db_subnet_group(), Some(names.db_subnet_group().as_str()));
    let cluster_groups: Vec<&str> = cluster
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(cluster_groups, [database_group.as_str()]);
    let service = &status.services[0];
    assert_eq!(service.name, "daemon");
    let (subnets, groups) = daemon_network(&account, &names).await;
    assert_eq!(subnets.into_iter().collect::<BTreeSet<_>>(), private);
    assert_eq!(groups, std::slice::from_ref(&tasks_group));

    // Steady state: reads only.
    dataplatform_tests::steady_pass(&engine, &object).await;
}

#[tokio::test]
async fn drift_in_the_network_is_found_and_put_right() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, &format!("{MANAGED}database: {{enabled: false}}\n"));
    converge(&engine, &mut object).await;
    let ec2 = ec2(&account).await;
    let vpc = our_vpc(&object).await;
    let network = object.status.clone().and_then(|s| s.network).expect("status.network");
    let tasks_group = network.security_groups["tasks"].clone();
    let s3_endpoint = network.endpoints["s3"].clone();
    let private_table = format!("{}-private-eu-west-2a", prefix(&object));
    let table = ec2
        .describe_route_tables()
        .filters(filter("tag:Name", &private_table))
        .send()
        .await
        .expect("table");
    let table_id = table.route_tables()[0].route_table_id().unwrap_or_default().to_owned();

    // By hand: the private route to the NAT removed, SSH opened to the world, the S3 endpoint gone.
    ec2.delete_route()
        .route_table_id(&table_id)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("delete route");
    ec2.authorize_security_group_ingress()
        .group_id(&tasks_group)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .expect("open ssh");
    ec2.delete_vpc_endpoints()
        .vpc_endpoint_ids(&s3_endpoint)
        .send()
        .await
        .expect("delete endpoint");

    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let drift = pass.status.drift.clone();
    assert!(
        drift.contains(&"ec2:route-table/private/eu-west-2a.routes.0.0.0.0/0".to_owned()),
        "{drift:?}"
    );
    assert!(
        drift.contains(&"ec2:security-group/tasks.ingress".to_owned()),
        "{drift:?}"
    );
    assert!(
        pass.applied
            .iter()
            .any(|a| a.resource == "ec2:endpoint/s3" && a.kind == dataplatform_engine::ActionKind::Create),
        "{:?}",
        pass.applied
    );
    object.status = Some(pass.status);

    let routes = ec2
        .describe_route_tables()
        .route_table_ids(&table_id)
        .send()
        .await
        .expect("table");
    assert!(
        routes.route_tables()[0]
            .routes()
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0") && r.nat_gateway_id().is_some()),
        "the route to the NAT gateway is back"
    );
    let group = ec2
        .describe_security_groups()
        .group_ids(&tasks_group)
        .send()
        .await
        .expect("group");
    assert!(
        group.security_groups()[0].ip_permissions().is_empty(),
        "the hand-made rule is revoked"
    );
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("service-name", "com.amazonaws.eu-west-2.s3"))
        .send()
        .await
        .expect("endpoints");
    let live: Vec<_> = endpoints
        .vpc_endpoints()
        .iter()
        .filter(|e| e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("available")))
        .collect();
    assert_eq!(live.len(), 1, "the S3 endpoint is made again");
    let settled = converge(&engine, &mut object).await;
    assert!(settled.applied.is_empty());
}

#[tokio::test]
async fn the_existing_form_gets_the_databases_own_group_and_subnet_group() {
    let engine = engine().await;
    let account = unique_account_id();
    let network = default_network_yaml(&account).await;
    let mut object = account_object(&account, &network);
    converge(&engine, &mut object).await;
    let given_group = object.spec.network.as_ref().expect("network").security_group_ids[0].clone();
    let status = object.status.clone().expect("status");
    let database_group = status.network.as_ref().expect("network").security_groups["database"].clone();
    let ec2 = ec2(&account).await;
    let group = ec2
        .describe_security_groups()
        .group_ids(&database_group)
        .send()
        .await
        .expect("group");
    let ingress: Vec<(Option<i32>, Vec<&str>)> = group.security_groups()[0]
        .ip_permissions()
        .iter()
        .map(|p| {
            (
                p.from_port(),
                p.user_id_group_pairs().iter().filter_map(|g| g.group_id()).collect(),
            )
        })
        .collect();
    assert_eq!(ingress, [(Some(5432), vec![given_group.as_str()])]);
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let rds = rds(&account).await;
    let group = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(names.db_subnet_group())
        .send()
        .await
        .expect("subnet group");
    let in_group: BTreeSet<&str> = group.db_subnet_groups()[0]
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .collect();
    let given: BTreeSet<&str> = object
        .spec
        .network
        .as_ref()
        .expect("network")
        .subnet_ids
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(in_group, given);
    assert_eq!(
        status.database.as_ref().and_then(|d| d.subnet_group.as_deref()),
        Some(names.db_subnet_group().as_str())
    );
    assert!(status.database.as_ref().and_then(|d| d.note.as_ref()).is_none());
}

#[tokio::test]
async fn subnets_of_one_zone_are_refused_before_any_write() {
    let engine = engine().await;
    let account = unique_account_id();
    let two = default_network_yaml(&account).await;
    // The first subnet only: one zone.
    let first = two
        .split("subnetIds: [")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("a subnet")
        .to_owned();
    let group = two
        .split("securityGroupIds: [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .expect("a group")
        .to_owned();
    let spec = format!("network:\n  subnetIds: [{first}]\n  securityGroupIds: [{group}]\n");
    let object = account_object(&account, &spec);
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    let message = pass.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("spec.network.subnetIds") && message.contains("at least two availability zones"),
        "{message}"
    );
    assert_eq!(engine.sessions().counter().snapshot().writes(), 0);
}

#[tokio::test]
async fn a_cluster_in_another_subnet_group_is_reported_and_only_its_groups_corrected() {
    let engine = engine().await;
    let account = unique_account_id();
    let network = default_network_yaml(&account).await;
    let mut object = account_object(&account, &network);
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    // Made before the operator, in the account's default subnet group, and adopted.
    rds(&account)
        .await
        .create_db_cluster()
        .db_cluster_identifier(names.db_cluster())
        .engine("aurora-postgresql")
        .engine_version("16.6")
        .master_username("dataplatform")
        .manage_master_user_password(true)
        .send()
        .await
        .expect("cluster made by hand");
    object.annotations.insert("dataplatform.io/adopt".into(), "true".into());
    converge(&engine, &mut object).await;

    let status = object.status.clone().expect("status");
    let database = status.database.clone().expect("database");
    let placement = database.note.expect("placement reported");
    assert!(placement.contains("never moved"), "{placement}");
    let database_group = status.network.expect("network").security_groups["database"].clone();
    let cluster = rds(&account)
        .await
        .describe_db_clusters()
        .db_cluster_identifier(names.db_cluster())
        .send()
        .await
        .expect("cluster");
    let cluster = &cluster.db_clusters()[0];
    assert_ne!(
        cluster.db_subnet_group(),
        Some(names.db_subnet_group().as_str()),
        "not moved"
    );
    let groups: Vec<&str> = cluster
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(
        groups,
        [database_group.as_str()],
        "its security groups are corrected in place"
    );
}

#[tokio::test]
async fn a_network_interrupted_after_each_action_resumes_without_duplicates() {
    let engine = engine().await;
    let spec = "network: {vpc: {cidr: 10.40.0.0/16, natGateway: PerZone, endpoints: [s3, logs]}}\ndatabase: {enabled: false}\n";
    let reference_account = unique_account_id();
    let mut reference = account_object(&reference_account, spec);
    let plan = engine.plan(&reference).await.expect("plan").diff.plan;
    let network_actions = plan
        .actions
        .iter()
        .filter(|a| a.part == dataplatform_engine::Part::Network)
        .count();
    converge(&engine, &mut reference).await;
    let expected = inventory(&reference).await;
    assert!(
        expected.iter().any(|(kind, n)| kind == "nat-gateway" && *n == 2),
        "{expected:?}"
    );

    for stop_after in 1..=network_actions {
        let account = unique_account_id();
        let mut object = account_object(&account, spec);
        let cut = engine
            .reconcile(
                &object,
                ExecuteOptions {
                    stop_after_actions: Some(stop_after),
                },
            )
            .await;
        assert!(cut.error.is_none(), "stop at {stop_after}: {:?}", cut.error);
        object.status = Some(cut.status);
        converge(&engine, &mut object).await;
        assert_eq!(inventory(&object).await, expected, "after a stop at {stop_after}");
    }
}

#[tokio::test]
async fn deletion_removes_the_network_last_and_waits_for_what_is_not_ours() {
    let engine = engine().await;
    let account = unique_account_id();
    let spec = format!("{MANAGED}database: {{enabled: false}}\ndeletionPolicy: Delete\n");
    let mut object = account_object(&account, &spec);
    converge(&engine, &mut object).await;
    let ec2 = ec2(&account).await;
    let vpc = our_vpc(&object).await;
    let subnet = object.status.clone().and_then(|s| s.network).expect("network").zones[0]
        .private_subnet_id
        .clone()
        .expect("subnet");
    let foreign = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .description("someone's instance")
        .send()
        .await
        .expect("an interface not ours");
    let foreign = foreign
        .network_interface()
        .and_then(|i| i.network_interface_id())
        .unwrap_or_default()
        .to_owned();

    let waiting = engine.delete(&object, &[]).await;
    assert!(!waiting.finished);
    assert!(
        waiting.message().contains(&foreign) && waiting.message().contains("someone's instance"),
        "{}",
        waiting.message()
    );
    assert!(
        waiting
            .deleted
            .iter()
            .all(|a| a.part != dataplatform_engine::Part::Network),
        "nothing of the network goes while something else is in it: {:?}",
        waiting.deleted
    );
    assert_eq!(our_vpc(&object).await, vpc);

    ec2.delete_network_interface()
        .network_interface_id(&foreign)
        .send()
        .await
        .expect("remove it");
    let mut finished = false;
    for _ in 0..4 {
        let pass = engine.delete(&object, &[]).await;
        assert!(pass.error.is_none(), "{:?}", pass.error);
        if pass.finished {
            finished = true;
            break;
        }
    }
    assert!(finished, "deletion finishes once the VPC holds only ours");
    let left: Vec<(String, usize)> = inventory(&object).await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// EC2 creates carried out, their answers lost: none is sent again blind (EC2 has no idempotency
/// token for a VPC, and a second one would be a duplicate). Each is found by the same pass (a VPC,
/// an address, a route table and an endpoint under their Name and owner tags, a subnet by its
/// block in the VPC, a NAT gateway in its subnet), which goes on; the account holds one of each.
#[tokio::test]
async fn creates_whose_answers_were_lost_are_not_made_twice() {
    for operation in [
        "CreateVpc",
        "CreateSubnet",
        "CreateNatGateway",
        "AllocateAddress",
        "CreateRouteTable",
        "CreateVpcEndpoint",
    ] {
        let proxy = Moto::shared().losing_answers(operation, 1).expect("fault proxy");
        let engine = proxy.engine().await;
        let account = unique_account_id();
        let mut object = account_object(&account, &format!("{MANAGED}database: {{enabled: false}}\n"));
        let first = engine.reconcile(&object, Default::default()).await;
        assert!(
            first.error.is_none() && !first.stopped_early,
            "{operation}: found by the same pass: {:?}",
            first.error
        );
        object.status = Some(first.status);
        converge(&engine, &mut object).await;
        let counts = inventory(&object).await;
        for (kind, n) in &counts {
            let want = match kind.as_str() {
                "subnet" => 4,
                "route-table" | "endpoint" => 3,
                "security-group" => 2,
                _ => 1,
            };
            assert_eq!(*n, want, "{operation}: {kind} in {counts:?}");
        }
    }
}

/// CreateSecurityGroup carried out, its answer lost: the group is named and tagged in the create,
/// so the same pass looks once, finds it and goes on (its rules, the rest of the network) instead
/// of failing; nothing is made twice (issue 37).
#[tokio::test]
async fn a_security_group_whose_answer_was_lost_is_found_by_the_same_pass() {
    let proxy = Moto::shared()
        .losing_answers("CreateSecurityGroup", 1)
        .expect("fault proxy");
    finishes_in_one_pass_with_two_groups(proxy).await;
}

/// CreateSecurityGroup answered with a 500 before EC2 carried it out (the retry layer never repeats
/// a create): the pass looks, finds nothing, sends it once more and goes on (issue 37).
#[tokio::test]
async fn a_security_group_create_refused_with_a_500_is_sent_again_after_one_look() {
    let proxy = Moto::shared().failing("CreateSecurityGroup", 1).expect("fault proxy");
    finishes_in_one_pass_with_two_groups(proxy).await;
}

/// AuthorizeSecurityGroupIngress carried out, its answer lost: the retry meets
/// InvalidPermission.Duplicate, which means the rules are there, not that the pass failed.
#[tokio::test]
async fn rules_whose_authorization_answer_was_lost_are_not_an_error() {
    let proxy = Moto::shared()
        .losing_answers("AuthorizeSecurityGroupIngress", 1)
        .expect("fault proxy");
    finishes_in_one_pass_with_two_groups(proxy).await;
}

async fn finishes_in_one_pass_with_two_groups(proxy: Moto) {
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let object = account_object(&account, &format!("{MANAGED}database: {{enabled: false}}\n"));
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none() && !pass.stopped_early, "{:?}", pass.error);
    assert!(pass.not_applied.is_empty(), "the pass finished its plan");
    let counts = inventory(&object).await;
    assert!(counts.contains(&("security-group".to_owned(), 2)), "{counts:?}");
    // The next pass has nothing left to make.
    let mut object = object;
    object.status = Some(pass.status);
    let again = engine.plan(&object).await.expect("plan");
    let creates: Vec<String> = again
        .diff
        .plan
        .actions
        .iter()
        .filter(|a| a.kind == dataplatform_engine::ActionKind::Create)
        .map(|a| a.to_string())
        .collect();
    assert!(creates.is_empty(), "{creates:?}");
}

/// A third zone added and a NAT gateway asked for later: the new zone's subnets take the next
/// blocks (the first two do not move), the DB subnet group and the service take the new private
/// subnet, and each private table gets its default route to the new NAT gateway.
#[tokio::test]
async fn zones_added_and_a_nat_gateway_asked_for_later_move_nothing_that_exists() {
    let engine = engine().await;
    let account = unique_account_id();
    let spec = format!("network: {{vpc: {{cidr: 10.50.0.0/16, natGateway: None, endpoints: [s3]}}}}\n{DAEMON}");
    let mut object = account_object(&account, &spec);
    converge_running(&engine, &mut object).await;
    let before = object.status.clone().and_then(|s| s.network).expect("network");
    assert_eq!(before.zones.len(), 2);

    let vpc = object.spec.network.as_mut().and_then(|n| n.vpc.as_mut()).expect("vpc");
    vpc.availability_zones = 3;
    vpc.nat_gateway = dataplatform_api::NatGateway::Single;
    object.generation = Some(2);
    converge_running(&engine, &mut object).await;
    let after = object.status.clone().and_then(|s| s.network).expect("network");
    assert_eq!(after.zones.len(), 3);
    assert_eq!(
        after.zones[..2],
        before.zones[..],
        "the first two zones' subnets are the same ones"
    );
    assert_eq!(after.nat_gateways.len(), 1);

    let ec2 = ec2(&account).await;
    let third = after.zones[2].private_subnet_id.clone().expect("third private subnet");
    let subnet = ec2.describe_subnets().subnet_ids(&third).send().await.expect("subnet");
    assert_eq!(subnet.subnets()[0].cidr_block(), Some("10.50.64.0/19"));
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let group = rds(&account)
        .await
        .describe_db_subnet_groups()
        .db_subnet_group_name(names.db_subnet_group())
        .send()
        .await
        .expect("subnet group");
    let in_group: BTreeSet<&str> = group.db_subnet_groups()[0]
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .collect();
    assert!(in_group.contains(third.as_str()) && in_group.len() == 3, "{in_group:?}");
    let (subnets, _) = daemon_network(&account, &names).await;
    assert!(subnets.contains(&third), "{subnets:?}");
    let nat = after.nat_gateways[0].clone();
    let tables = ec2
        .describe_route_tables()
        .filters(filter("tag:Name", &format!("{}-private-*", prefix(&object))))
        .send()
        .await
        .expect("tables");
    assert_eq!(tables.route_tables().len(), 3);
    for table in tables.route_tables() {
        assert!(
            table
                .routes()
                .iter()
                .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0") && r.nat_gateway_id() == Some(nat.as_str())),
            "{:?} routes to the NAT gateway",
            table.route_table_id()
        );
    }
}

/// Dagster's daemon reaches its code server: the tasks' group admits the code server's port from
/// itself (and only that: the daemon declares none); revoked by hand, the rule is put back.
#[tokio::test]
async fn services_reach_each_others_declared_ports_through_the_tasks_group() {
    let engine = engine().await;
    let account = unique_account_id();
    let services = "services:\n- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512}\n- {name: code-server, image: dagster:1.9.0, cpu: 256, memory: 512, port: 4000}\n";
    let mut object = account_object(&account, &format!("{MANAGED}database: {{enabled: false}}\n{services}"));
    converge_running(&engine, &mut object).await;
    let network = object.status.clone().and_then(|s| s.network).expect("status.network");
    let tasks_group = network.security_groups["tasks"].clone();
    let ec2 = ec2(&account).await;
    let ingress = |group: aws_sdk_ec2::types::SecurityGroup| -> Vec<(Option<i32>, Vec<String>, usize)> {
        group
            .ip_permissions()
            .iter()
            .map(|p| {
                let groups = p
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned));
                (p.from_port(), groups.collect(), p.ip_ranges().len())
            })
            .collect()
    };
    let described = || async {
        let found = ec2.describe_security_groups().group_ids(&tasks_group).send().await;
        found.expect("group").security_groups()[0].clone()
    };
    let tasks = described().await;
    assert_eq!(ingress(tasks.clone()), [(Some(4000), vec![tasks_group.clone()], 0)]);

    ec2.revoke_security_group_ingress()
        .group_id(&tasks_group)
        .set_ip_permissions(Some(tasks.ip_permissions().to_vec()))
        .send()
        .await
        .expect("revoked by hand");
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    assert!(
        pass.applied.iter().any(|a| a.resource == "ec2:security-group/tasks"),
        "{:?}",
        pass.applied
    );
    assert_eq!(ingress(described().await), [(Some(4000), vec![tasks_group.clone()], 0)]);
}
