//! The load-balancer part against moto: exposed services get one load balancer per scheme, a target
//! group and a listener rule each, and their ECS services register in them; security groups admit
//! only what is asked; drift is put right; a service that stops being exposed loses its rule and
//! target group, the last one its load balancer; a crash after any action leaves no duplicate.
//!
//! moto quirks met here: a load balancer is `active` on the first describe (AWS: minutes of
//! `provisioning`); an HTTPS listener needs a certificate moto's ACM holds; ECS does not report a
//! health-check grace period given at creation.

use aws_sdk_elasticloadbalancingv2::types::RulePriorityPair;
use dataplatform_api::names::AccountNames;
use dataplatform_api::{DataPlatformAccountStatus, Scheme};
use dataplatform_engine::{AccountObject, ExecuteOptions};
use dataplatform_tests::{
    Moto, account_object, converge_running, default_network_yaml, ecs_client, engine, request_certificate,
    unique_account_id,
};

const NETWORK: &str = "network: {vpc: {cidr: 10.40.0.0/16}}\ndatabase: {enabled: false}\n";
const FRONTEND: &str = "- {name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080, expose: {hosts: [files.camden.example.org], healthCheckPath: /healthz}}\n";
const WEBSERVER: &str = "- {name: webserver, image: dagster:1.9.0, cpu: 256, memory: 512, port: 3000, replicas: 0, expose: {path: /dagster/*, allowedCidrs: [10.8.0.0/16]}}\n";
const DAEMON: &str = "- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512}\n";

fn spec(services: &[&str]) -> String {
    format!("{NETWORK}services:\n{}", services.concat())
}

async fn elb(account: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&Moto::shared().account_config(account).await)
}

async fn ec2(account: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&Moto::shared().account_config(account).await)
}

fn names(object: &AccountObject) -> AccountNames {
    AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id)
}

fn status(object: &AccountObject) -> &DataPlatformAccountStatus {
    object.status.as_ref().expect("status")
}

/// The load balancers, target groups and rules of ours, by name: what a rerun must not add to.
async fn inventory(object: &AccountObject) -> (Vec<String>, Vec<String>, usize) {
    let elb = elb(&object.spec.account_id).await;
    let names = names(object);
    let balancers: Vec<aws_sdk_elasticloadbalancingv2::types::LoadBalancer> = elb
        .describe_load_balancers()
        .send()
        .await
        .expect("load balancers")
        .load_balancers()
        .to_vec();
    let ours: Vec<_> = balancers
        .iter()
        .filter(|b| {
            Scheme::ALL
                .iter()
                .any(|s| b.load_balancer_name() == Some(names.load_balancer(*s).as_str()))
        })
        .collect();
    let mut rules = 0;
    for balancer in &ours {
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(balancer.load_balancer_arn().unwrap_or_default())
            .send()
            .await
            .expect("listeners");
        for listener in listeners.listeners() {
            let found = elb
                .describe_rules()
                .listener_arn(listener.listener_arn().unwrap_or_default())
                .send()
                .await
                .expect("rules");
            rules += found.rules().iter().filter(|r| r.is_default() != Some(true)).count();
        }
    }
    let groups: Vec<String> = elb
        .describe_target_groups()
        .send()
        .await
        .expect("target groups")
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_name())
        .filter(|n| n.starts_with(&names.target_group_prefix()))
        .map(str::to_owned)
        .collect();
    let mut balancer_names: Vec<String> = ours
        .iter()
        .filter_map(|b| b.load_balancer_name().map(str::to_owned))
        .collect();
    balancer_names.sort();
    (balancer_names, groups, rules)
}

/// The target groups an ECS service registers in.
async fn attached(object: &AccountObject, service: &str) -> Vec<String> {
    let described = ecs_client(&object.spec.account_id)
        .await
        .describe_services()
        .cluster(names(object).ecs_cluster())
        .services(service)
        .send()
        .await
        .expect("service");
    described.services()[0]
        .load_balancers()
        .iter()
        .filter_map(|lb| lb.target_group_arn().map(str::to_owned))
        .collect()
}

/// A group's ingress as (port, cidr or group) pairs.
async fn ingress(account: &str, group: &str) -> Vec<(i32, String)> {
    let found = ec2(account)
        .await
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .expect("group");
    let mut rules: Vec<(i32, String)> = found.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| {
            let port = p.from_port().unwrap_or(-1);
            p.ip_ranges()
                .iter()
                .filter_map(move |r| Some((port, r.cidr_ip()?.to_owned())))
                .chain(
                    p.user_id_group_pairs()
                        .iter()
                        .filter_map(move |g| Some((port, g.group_id()?.to_owned()))),
                )
        })
        .collect();
    rules.sort();
    rules
}

#[tokio::test]
async fn exposed_services_are_reached_through_one_internal_load_balancer() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, &spec(&[DAEMON, FRONTEND, WEBSERVER]));
    converge_running(&engine, &mut object).await;
    let names = names(&object);

    let (balancers, groups, rules) = inventory(&object).await;
    assert_eq!(
        balancers,
        [names.load_balancer(Scheme::Internal)],
        "one internal load balancer"
    );
    assert_eq!(groups.len(), 2, "a target group per exposed service: {groups:?}");
    assert_eq!(rules, 2, "a rule per exposed service");

    let elb = elb(&account).await;
    let described = elb
        .describe_load_balancers()
        .names(names.load_balancer(Scheme::Internal))
        .send()
        .await
        .expect("load balancer");
    let balancer = &described.load_balancers()[0];
    assert_eq!(balancer.scheme().map(|s| s.as_str()), Some("internal"));
    let status = status(&object);
    let network = status.network.clone().expect("status.network");
    let private: Vec<String> = network
        .zones
        .iter()
        .filter_map(|z| z.private_subnet_id.clone())
        .collect();
    let mut subnets: Vec<String> = balancer
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_owned))
        .collect();
    subnets.sort();
    let mut private_sorted = private.clone();
    private_sorted.sort();
    assert_eq!(
        subnets, private_sorted,
        "an internal load balancer lives in the private subnets"
    );
    let lb_group = network.security_groups["lb-internal"].clone();
    assert_eq!(balancer.security_groups(), std::slice::from_ref(&lb_group));

    // The load balancer's group admits HTTP from the VPC (the frontend's default) and the VPN range
    // (the web UI's); the tasks admit each service port from the load balancer's group and from
    // the tasks' group itself (one service reaching another), nothing else.
    assert_eq!(
        ingress(&account, &lb_group).await,
        [(80, "10.40.0.0/16".to_owned()), (80, "10.8.0.0/16".to_owned())]
    );
    let tasks_group = network.security_groups["tasks"].clone();
    let mut want = vec![
        (3000, lb_group.clone()),
        (3000, tasks_group.clone()),
        (8080, lb_group.clone()),
        (8080, tasks_group.clone()),
    ];
    want.sort();
    assert_eq!(ingress(&account, &tasks_group).await, want);

    // HTTP on 80 answering 404 to what no rule matches; the rules by host and by path and source.
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(balancer.load_balancer_arn().unwrap_or_default())
        .send()
        .await
        .expect("listeners");
    assert_eq!(listeners.listeners().len(), 1);
    let listener = &listeners.listeners()[0];
    assert_eq!(
        (listener.port(), listener.protocol().map(|p| p.as_str())),
        (Some(80), Some("HTTP"))
    );
    let target_groups = elb
        .describe_target_groups()
        .names(&groups[0])
        .names(&groups[1])
        .send()
        .await
        .expect("tgs");
    for group in target_groups.target_groups() {
        assert_eq!(group.target_type().map(|t| t.as_str()), Some("ip"));
        let frontend = group.port() == Some(8080);
        assert_eq!(group.health_check_path(), Some(if frontend { "/healthz" } else { "/" }));
        let service = if frontend { "frontend" } else { "webserver" };
        assert_eq!(
            attached(&object, service).await,
            [group.target_group_arn().unwrap_or_default().to_owned()],
            "{service} registers in its target group"
        );
    }
    assert!(
        attached(&object, "daemon").await.is_empty(),
        "the daemon is not exposed"
    );

    // Status: the load balancer's DNS name and each exposed service's URL.
    let dns = balancer.dns_name().unwrap_or_default();
    assert_eq!(status.load_balancers.len(), 1);
    assert_eq!(status.load_balancers[0].dns_name.as_deref(), Some(dns));
    let url = |name: &str| {
        status
            .services
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.url.clone())
    };
    assert_eq!(url("frontend").as_deref(), Some("http://files.camden.example.org/"));
    assert_eq!(url("webserver"), Some(format!("http://{dns}/dagster/")));
    assert_eq!(url("daemon"), None);

    // Steady state: reads only, and what the part reads.
    let calls = dataplatform_tests::steady_pass(&engine, &object).await;
    let elb_reads: u64 = calls
        .0
        .iter()
        .filter(|(k, _)| k.service == "elasticloadbalancing")
        .map(|(_, n)| *n)
        .sum();
    // DescribeLoadBalancers, DescribeTargetGroups, DescribeTags, the balancer's attributes and
    // listeners, the listener's rules.
    assert_eq!(elb_reads, 6, "{calls:?}");
    eprintln!("steady state: {} reads, {elb_reads} of them ELB", calls.total());
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

#[tokio::test]
async fn https_with_a_certificate_and_an_internet_facing_balancer_in_the_public_subnets() {
    let engine = engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, "files.camden.example.org");
    let public =
        "- {name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080, expose: {scheme: InternetFacing}}\n";
    let extra = format!("loadBalancer: {{certificateArn: {certificate}, idleTimeoutSeconds: 3600}}\n");
    let mut object = account_object(&account, &format!("{}{extra}", spec(&[public])));
    let plan = engine.plan(&object).await.expect("plan");
    let printed = format!("{}\n{}", plan.diff.plan, plan.diff.notes.join("\n"));
    assert!(
        printed.contains("0.0.0.0/0"),
        "plan says the balancer is open to anyone:\n{printed}"
    );
    converge_running(&engine, &mut object).await;
    let names = names(&object);

    let elb = elb(&account).await;
    let described = elb
        .describe_load_balancers()
        .names(names.load_balancer(Scheme::InternetFacing))
        .send()
        .await
        .expect("load balancer");
    let balancer = &described.load_balancers()[0];
    assert_eq!(balancer.scheme().map(|s| s.as_str()), Some("internet-facing"));
    let network = status(&object).network.clone().expect("network");
    let mut public: Vec<String> = network
        .zones
        .iter()
        .filter_map(|z| z.public_subnet_id.clone())
        .collect();
    public.sort();
    let mut subnets: Vec<String> = balancer
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_owned))
        .collect();
    subnets.sort();
    assert_eq!(subnets, public);
    let attributes = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(balancer.load_balancer_arn().unwrap_or_default())
        .send()
        .await
        .expect("attributes");
    let idle = attributes
        .attributes()
        .iter()
        .find(|a| a.key() == Some("idle_timeout.timeout_seconds"))
        .and_then(|a| a.value());
    assert_eq!(idle, Some("3600"));

    // HTTPS on 443 with the certificate; HTTP on 80 redirecting to it; both open to anyone.
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(balancer.load_balancer_arn().unwrap_or_default())
        .send()
        .await
        .expect("listeners");
    let mut seen: Vec<(i32, String, Option<String>, String)> = listeners
        .listeners()
        .iter()
        .map(|l| {
            (
                l.port().unwrap_or_default(),
                l.protocol().map(|p| p.as_str().to_owned()).unwrap_or_default(),
                l.certificates()
                    .first()
                    .and_then(|c| c.certificate_arn().map(str::to_owned)),
                l.default_actions()
                    .first()
                    .and_then(|a| a.r#type())
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (80, "HTTP".to_owned(), None, "redirect".to_owned()),
            (
                443,
                "HTTPS".to_owned(),
                Some(certificate.clone()),
                "fixed-response".to_owned()
            ),
        ]
    );
    let lb_group = network.security_groups["lb-internet-facing"].clone();
    assert_eq!(
        ingress(&account, &lb_group).await,
        [(80, "0.0.0.0/0".to_owned()), (443, "0.0.0.0/0".to_owned())]
    );
    let frontend = status(&object).services.iter().find(|s| s.name == "frontend").cloned();
    assert_eq!(
        frontend.and_then(|s| s.url),
        Some(format!("https://{}/", balancer.dns_name().unwrap_or_default()))
    );
}

#[tokio::test]
async fn drift_in_the_load_balancer_is_found_and_put_right() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, &spec(&[FRONTEND, WEBSERVER]));
    converge_running(&engine, &mut object).await;
    let names = names(&object);
    let elb = elb(&account).await;
    let described = elb
        .describe_load_balancers()
        .names(names.load_balancer(Scheme::Internal))
        .send()
        .await
        .expect("load balancer");
    let balancer_arn = described.load_balancers()[0]
        .load_balancer_arn()
        .unwrap_or_default()
        .to_owned();
    let listener = elb
        .describe_listeners()
        .load_balancer_arn(&balancer_arn)
        .send()
        .await
        .expect("listeners");
    let listener_arn = listener.listeners()[0].listener_arn().unwrap_or_default().to_owned();
    let rules = elb
        .describe_rules()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("rules");
    let rule = rules
        .rules()
        .iter()
        .find(|r| r.is_default() != Some(true))
        .expect("a rule");
    let (rule_arn, priority) = (
        rule.rule_arn().unwrap_or_default().to_owned(),
        rule.priority().unwrap_or_default().to_owned(),
    );

    // A rule's priority moved, a range added to the load balancer's group, the frontend detached.
    elb.set_rule_priorities()
        .rule_priorities(RulePriorityPair::builder().rule_arn(&rule_arn).priority(49999).build())
        .send()
        .await
        .expect("move the rule");
    let lb_group = status(&object).network.clone().expect("network").security_groups["lb-internal"].clone();
    ec2(&account)
        .await
        .authorize_security_group_ingress()
        .group_id(&lb_group)
        .ip_protocol("tcp")
        .from_port(80)
        .to_port(80)
        .cidr_ip("203.0.113.0/24")
        .send()
        .await
        .expect("open the group");
    let ecs = ecs_client(&account).await;
    ecs.update_service()
        .cluster(names.ecs_cluster())
        .service("frontend")
        .set_load_balancers(Some(vec![]))
        .send()
        .await
        .expect("detach the frontend");
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let drift = pass.status.drift.clone();
    for field in [
        "elb:rule/",
        ".priority",
        "ec2:security-group/lb-internal.ingress",
        "ecs:frontend.loadBalancers",
    ] {
        assert!(drift.iter().any(|d| d.contains(field)), "{field} reported in {drift:?}");
    }
    object.status = Some(pass.status);

    // The listener deleted (its rules go with it): made again with both rules.
    elb.delete_listener()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("delete the listener");
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    assert!(
        pass.applied.iter().any(|a| a.resource == "elb:listener/internal/80"),
        "{:?}",
        pass.applied
    );
    object.status = Some(pass.status);
    converge_running(&engine, &mut object).await;

    let rules = {
        let listener = elb
            .describe_listeners()
            .load_balancer_arn(&balancer_arn)
            .send()
            .await
            .expect("listeners");
        assert_eq!(listener.listeners().len(), 1, "one listener again");
        let arn = listener.listeners()[0].listener_arn().unwrap_or_default().to_owned();
        elb.describe_rules()
            .listener_arn(arn)
            .send()
            .await
            .expect("rules")
            .rules()
            .to_vec()
    };
    let priorities: Vec<&str> = rules
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .filter_map(|r| r.priority())
        .collect();
    assert_eq!(priorities.len(), 2);
    assert!(
        priorities.contains(&priority.as_str()),
        "the moved rule is back at {priority}: {priorities:?}"
    );
    assert!(
        !ingress(&account, &lb_group)
            .await
            .iter()
            .any(|(_, peer)| peer == "203.0.113.0/24")
    );
    assert_eq!(
        attached(&object, "frontend").await.len(),
        1,
        "attached again, by UpdateService"
    );
}

#[tokio::test]
async fn exposing_attaches_the_running_service_and_unexposing_removes_rule_group_and_balancer() {
    let engine = engine().await;
    let account = unique_account_id();
    let plain = "- {name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080}\n";
    let mut object = account_object(&account, &spec(&[plain]));
    converge_running(&engine, &mut object).await;
    let ecs = ecs_client(&account).await;
    let names = names(&object);
    let service_arn = |described: &aws_sdk_ecs::operation::describe_services::DescribeServicesOutput| {
        described.services()[0].service_arn().unwrap_or_default().to_owned()
    };
    let before = ecs
        .describe_services()
        .cluster(names.ecs_cluster())
        .services("frontend")
        .send()
        .await
        .expect("service");
    assert_eq!(
        inventory(&object).await,
        (vec![], vec![], 0),
        "nothing exposed, no load balancer"
    );

    object.spec = account_object(&account, &spec(&[FRONTEND])).spec;
    converge_running(&engine, &mut object).await;
    let after = ecs
        .describe_services()
        .cluster(names.ecs_cluster())
        .services("frontend")
        .send()
        .await
        .expect("service");
    assert_eq!(
        service_arn(&after),
        service_arn(&before),
        "the service is updated, not made again"
    );
    assert_eq!(attached(&object, "frontend").await.len(), 1);
    let lb_group = status(&object).network.clone().expect("network").security_groups["lb-internal"].clone();
    let (_, first_groups, _) = inventory(&object).await;

    // A new port: ELB cannot change a target group's, so a new group replaces the old one.
    object.spec = account_object(&account, &spec(&[&FRONTEND.replace("8080", "8081")])).spec;
    converge_running(&engine, &mut object).await;
    let (balancers, groups, rules) = inventory(&object).await;
    assert_eq!((balancers.len(), groups.len(), rules), (1, 1, 1), "{groups:?}");
    assert_ne!(groups, first_groups, "a new target group");
    let new_group = elb(&account)
        .await
        .describe_target_groups()
        .names(&groups[0])
        .send()
        .await
        .expect("tg");
    let new_group = &new_group.target_groups()[0];
    assert_eq!(new_group.port(), Some(8081));
    assert_eq!(
        attached(&object, "frontend").await,
        [new_group.target_group_arn().unwrap_or_default().to_owned()]
    );
    let tasks = status(&object).network.clone().expect("network").security_groups["tasks"].clone();
    let mut want = vec![(8081, lb_group.clone()), (8081, tasks.clone())];
    want.sort();
    assert_eq!(ingress(&account, &tasks).await, want);

    // Unexposed: detached, its rule, target group, load balancer and the balancer's group gone.
    object.spec = account_object(&account, &spec(&[plain])).spec;
    converge_running(&engine, &mut object).await;
    assert!(attached(&object, "frontend").await.is_empty(), "detached");
    assert_eq!(inventory(&object).await, (vec![], vec![], 0));
    let groups = ec2(&account)
        .await
        .describe_security_groups()
        .send()
        .await
        .expect("groups");
    assert!(
        !groups
            .security_groups()
            .iter()
            .any(|g| g.group_id() == Some(lb_group.as_str())),
        "the load balancer's security group is deleted with it"
    );
    let tasks = status(&object).network.clone().expect("network").security_groups["tasks"].clone();
    assert_eq!(
        ingress(&account, &tasks).await,
        [(8080, tasks.clone())],
        "only the other tasks reach it, on its port"
    );
    assert!(status(&object).load_balancers.is_empty());
}

#[tokio::test]
async fn a_crash_after_any_action_and_a_rerun_leave_no_duplicate() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, &spec(&[FRONTEND, WEBSERVER]));
    // The network first, so the load balancer's plan is what the crashes cut.
    let pass = engine.reconcile(&object, ExecuteOptions::default()).await;
    object.status = Some(pass.status);
    let planned = engine.plan(&object).await.expect("plan");
    let count = planned
        .diff
        .plan
        .actions
        .iter()
        .filter(|a| a.resource.starts_with("elb:"))
        .count();
    assert!(
        count >= 5,
        "balancer, listener, two groups, two rules: {:?}",
        planned.diff.plan
    );
    for stop in 1..=planned.diff.plan.actions.len() {
        let pass = engine
            .reconcile(
                &object,
                ExecuteOptions {
                    stop_after_actions: Some(1),
                },
            )
            .await;
        assert!(pass.error.is_none(), "after {stop}: {:?}", pass.error);
        object.status = Some(pass.status);
    }
    converge_running(&engine, &mut object).await;
    let (balancers, groups, rules) = inventory(&object).await;
    assert_eq!((balancers.len(), groups.len(), rules), (1, 2, 2));
}

#[tokio::test]
async fn the_existing_form_exposes_through_our_tasks_group_and_deletion_goes_before_the_network() {
    let engine = engine().await;
    let account = unique_account_id();
    let network = default_network_yaml(&account).await;
    let extra = format!("{network}database: {{enabled: false}}\ndeletionPolicy: Delete\nservices:\n{FRONTEND}");
    let mut object = account_object(&account, &extra);
    converge_running(&engine, &mut object).await;
    let groups = status(&object).network.clone().expect("network").security_groups;
    let (tasks, lb_group) = (groups["tasks"].clone(), groups["lb-internal"].clone());
    let described = ecs_client(&account)
        .await
        .describe_services()
        .cluster(names(&object).ecs_cluster())
        .services("frontend")
        .send()
        .await
        .expect("service");
    let service_groups = described.services()[0]
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|c| c.security_groups().to_vec())
        .unwrap_or_default();
    assert!(
        service_groups.contains(&tasks),
        "our tasks group joins the spec's: {service_groups:?}"
    );
    assert_eq!(service_groups.len(), 2);
    let mut want = vec![(8080, lb_group.clone()), (8080, tasks.clone())];
    want.sort();
    assert_eq!(ingress(&account, &tasks).await, want);
    let vpc_range = ingress(&account, &lb_group).await;
    assert_eq!(vpc_range.len(), 1, "HTTP from the VPC's range: {vpc_range:?}");

    // Deleted: services first, then the balancer and target groups, then our groups.
    let mut order: Vec<String> = Vec::new();
    for _ in 0..6 {
        let deleted = engine.delete(&object, &[]).await;
        assert!(deleted.error.is_none(), "{:?}", deleted.error);
        order.extend(deleted.deleted.iter().map(|a| a.resource.clone()));
        if deleted.finished {
            break;
        }
    }
    let first = |prefix: &str| order.iter().position(|r| r.starts_with(prefix)).unwrap_or(usize::MAX);
    assert!(first("ecs:frontend") < first("elb:load-balancer"), "{order:?}");
    assert!(first("elb:load-balancer") < first("elb:target-group"), "{order:?}");
    assert!(first("elb:target-group") < first("ec2:security-group"), "{order:?}");
    assert!(first("ec2:security-group") < usize::MAX, "{order:?}");
    assert_eq!(inventory(&object).await, (vec![], vec![], 0));
    let left = ec2(&account)
        .await
        .describe_security_groups()
        .send()
        .await
        .expect("groups");
    assert!(
        !left
            .security_groups()
            .iter()
            .any(|g| [&tasks, &lb_group].contains(&&g.group_id().unwrap_or_default().to_owned()))
    );
}

#[tokio::test]
async fn creates_whose_answers_were_lost_are_not_made_twice() {
    // A balancer and a target group are found by name and owner tag, a listener by its port on
    // our balancer, a rule by its priority and target group: no pass fails.
    for operation in [
        "CreateLoadBalancer",
        "CreateListener",
        "CreateTargetGroup",
        "CreateRule",
    ] {
        let proxy = Moto::shared().losing_answers(operation, 1).expect("fault proxy");
        let engine = proxy.engine().await;
        let account = unique_account_id();
        let mut object = account_object(&account, &spec(&[FRONTEND, WEBSERVER]));
        let mut failed = false;
        for _ in 0..4 {
            let pass = engine.reconcile(&object, Default::default()).await;
            failed |= pass.error.is_some();
            object.status = Some(pass.status);
        }
        assert!(!failed, "{operation}: a pass failed");
        converge_running(&engine, &mut object).await;
        let (balancers, groups, rules) = inventory(&object).await;
        assert_eq!((balancers.len(), groups.len(), rules), (1, 2, 2), "{operation}");
        let elb = elb(&account).await;
        let all = elb.describe_load_balancers().send().await.expect("balancers");
        assert_eq!(
            all.load_balancers().len(),
            1,
            "{operation}: no second balancer of the same name"
        );
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(all.load_balancers()[0].load_balancer_arn().unwrap_or_default())
            .send()
            .await
            .expect("listeners");
        assert_eq!(listeners.listeners().len(), 1, "{operation}");
    }
}
