//! Service discovery against moto: a private DNS namespace in the account's VPC, a Cloud Map
//! service per ECS service with a port, the ECS service registered in it and its address in status;
//! drift (a registry removed from a service, the Cloud Map service deleted) put back; deletion after
//! the services, the namespace last; a lost create answer not made twice.
//!
//! moto quirks met here: ListNamespaces and ListServices ignore their filters, and a second
//! CreateService of one name makes a second service (AWS: ServiceAlreadyExists).

use dataplatform_api::names::AccountNames;
use dataplatform_engine::AccountObject;
use dataplatform_tests::{Moto, account_object, converge_running, engine, unique_account_id};

const SERVICES: &str = "network: {vpc: {cidr: 10.60.0.0/16, natGateway: None, endpoints: []}}\ndatabase: {enabled: false}\ndeletionPolicy: Delete\nservices:\n- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512}\n- {name: code-server, image: dagster:1.9.0, cpu: 256, memory: 512, port: 4000}\n";

async fn discovery(account: &str) -> aws_sdk_servicediscovery::Client {
    aws_sdk_servicediscovery::Client::new(&Moto::shared().account_config(account).await)
}

async fn ecs(account: &str) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&Moto::shared().account_config(account).await)
}

/// The namespaces (name, id) and the Cloud Map services (name, ARN, TTL) the account holds.
async fn inventory(account: &str) -> (Vec<(String, String)>, Vec<(String, String, Option<i64>)>) {
    let client = discovery(account).await;
    let namespaces = client.list_namespaces().send().await.expect("namespaces");
    let services = client.list_services().send().await.expect("services");
    (
        namespaces
            .namespaces()
            .iter()
            .map(|n| {
                (
                    n.name().unwrap_or_default().to_owned(),
                    n.id().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        services
            .services()
            .iter()
            .map(|s| {
                let ttl = s.dns_config().and_then(|c| c.dns_records().first()).map(|r| r.ttl());
                (
                    s.name().unwrap_or_default().to_owned(),
                    s.arn().unwrap_or_default().to_owned(),
                    ttl,
                )
            })
            .collect(),
    )
}

async fn registries(object: &AccountObject, account: &str, service: &str) -> Vec<String> {
    let names = AccountNames::new(&object.id.namespace, &object.id.name, account);
    let described = ecs(account)
        .await
        .describe_services()
        .cluster(names.ecs_cluster())
        .services(service)
        .send()
        .await
        .expect("service");
    described.services()[0]
        .service_registries()
        .iter()
        .filter_map(|r| r.registry_arn().map(str::to_owned))
        .collect()
}

fn address(object: &AccountObject, service: &str) -> Option<String> {
    let status = object.status.as_ref()?;
    status.services.iter().find(|s| s.name == service)?.address.clone()
}

#[tokio::test]
async fn a_service_with_a_port_gets_a_name_in_the_accounts_namespace() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, SERVICES);
    converge_running(&engine, &mut object).await;

    let namespace = format!("{}.dataplatform.internal", object.id.name);
    let (namespaces, services) = inventory(&account).await;
    assert_eq!(
        namespaces.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&namespace)
    );
    let tags = discovery(&account)
        .await
        .list_tags_for_resource()
        .resource_arn(format!(
            "arn:aws:servicediscovery:eu-west-2:{account}:namespace/{}",
            namespaces[0].1
        ))
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags().iter().any(|t| t.key() == "dataplatform.io/owner"),
        "owner-tagged"
    );
    assert_eq!(services.len(), 1, "only the service with a port: {services:?}");
    let (name, arn, ttl) = services[0].clone();
    assert_eq!((name.as_str(), ttl), ("code-server", Some(10)));
    assert_eq!(
        registries(&object, &account, "code-server").await,
        std::slice::from_ref(&arn)
    );
    assert!(registries(&object, &account, "daemon").await.is_empty());
    assert_eq!(
        address(&object, "code-server"),
        Some(format!("code-server.{namespace}:4000"))
    );
    assert_eq!(address(&object, "daemon"), None);

    // Steady state: reads only.
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(
        pass.error.is_none() && pass.applied.is_empty(),
        "{:?} {:?}",
        pass.error,
        pass.applied
    );
    assert_eq!(engine.sessions().counter().snapshot().writes(), 0);

    // Drift: the registry removed from the ECS service by hand, then the Cloud Map service deleted.
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    ecs(&account)
        .await
        .update_service()
        .cluster(names.ecs_cluster())
        .service("code-server")
        .set_service_registries(Some(vec![]))
        .send()
        .await
        .expect("removed by hand");
    converge_running(&engine, &mut object).await;
    assert_eq!(
        registries(&object, &account, "code-server").await,
        std::slice::from_ref(&arn),
        "put back"
    );
    let id = arn.rsplit('/').next().unwrap_or_default();
    discovery(&account)
        .await
        .delete_service()
        .id(id)
        .send()
        .await
        .expect("deleted by hand");
    converge_running(&engine, &mut object).await;
    let (_, services) = inventory(&account).await;
    assert_eq!(services.len(), 1, "made again: {services:?}");
    assert_eq!(
        registries(&object, &account, "code-server").await,
        [services[0].1.clone()]
    );

    // Deleted: the ECS services first, then the Cloud Map service, the namespace last.
    let mut finished = false;
    for _ in 0..6 {
        let pass = engine.delete(&object, &[]).await;
        assert!(pass.error.is_none(), "{:?}", pass.error);
        if pass.finished {
            finished = true;
            break;
        }
    }
    assert!(finished);
    assert_eq!(inventory(&account).await, (vec![], vec![]));
}

/// Cloud Map's CreateService carried out, its answer lost: the same pass finds it by name and owner
/// tag (moto would make a second one of the same name) and goes on, and the account holds one.
#[tokio::test]
async fn a_name_whose_create_answer_was_lost_is_not_made_twice() {
    // With only a service with a port, the first CreateService is Cloud Map's: ECS's waits for it.
    let proxy = Moto::shared().losing_answers("CreateService", 1).expect("fault proxy");
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let only_code_server = SERVICES.replace("- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512}\n", "");
    let mut object = account_object(&account, &only_code_server);
    for _ in 0..3 {
        let pass = engine.reconcile(&object, Default::default()).await;
        assert!(pass.error.is_none(), "found by the same pass: {:?}", pass.error);
        object.status = Some(pass.status);
    }
    converge_running(&engine, &mut object).await;
    let (_, services) = inventory(&account).await;
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(
        registries(&object, &account, "code-server").await,
        [services[0].1.clone()]
    );
    let calls = engine.sessions().counter().snapshot();
    assert!(calls.of("CreateService") >= 2, "the lost create was met: {calls:?}");
}

/// The existing form in a VPC with DNS host names off (EC2's default for a new VPC): the names do
/// not resolve there, which status says until the VPC's owner turns them on.
#[tokio::test]
async fn the_existing_form_reports_a_vpc_whose_dns_host_names_are_off() {
    let engine = engine().await;
    let account = unique_account_id();
    let ec2 = aws_sdk_ec2::Client::new(&Moto::shared().account_config(&account).await);
    let vpc = ec2.create_vpc().cidr_block("10.70.0.0/16").send().await.expect("vpc");
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_owned();
    let mut subnets = Vec::new();
    for (zone, cidr) in [("eu-west-2a", "10.70.0.0/24"), ("eu-west-2b", "10.70.1.0/24")] {
        let made = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(zone)
            .send()
            .await
            .expect("subnet");
        subnets.push(made.subnet().and_then(|s| s.subnet_id()).unwrap_or_default().to_owned());
    }
    let group = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("theirs")
        .description("the network team's")
        .send()
        .await
        .expect("group");
    let spec = format!(
        "network: {{subnetIds: [{}], securityGroupIds: [{}]}}\ndatabase: {{enabled: false}}\nservices:\n- {{name: code-server, image: dagster:1.9.0, cpu: 256, memory: 512, port: 4000}}\n",
        subnets.join(", "),
        group.group_id().unwrap_or_default()
    );
    let mut object = account_object(&account, &spec);
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let note = pass
        .status
        .network
        .as_ref()
        .and_then(|n| n.note.clone())
        .unwrap_or_default();
    assert!(note.contains(&vpc) && note.contains("enableDnsHostnames"), "{note}");
    assert!(!note.contains("enableDnsSupport"), "support is on: {note}");

    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("turned on by its owner");
    object.status = Some(pass.status);
    let pass = engine.reconcile(&object, Default::default()).await;
    assert_eq!(pass.status.network.and_then(|n| n.note), None);
}
