//! ECS compute against moto: the cluster, task definitions registered only when their content
//! changes, services that follow the spec (image, replicas, removal), drift, refusals and deletion.
//!
//! Moto runs no ECS scheduler: a new service reports no running task until an UpdateService sets a
//! desired count. Tests that need running tasks play the scheduler themselves (`start_tasks`,
//! `converge_running`); Ready keeps its meaning (running == desired on the newest revision).

use dataplatform_api::conditions::{self, Reason};
use dataplatform_api::names::AccountNames;
use dataplatform_engine::{AccountObject, Engine, Reconciled};
use dataplatform_tests::{
    Moto, account_object, converge_running, default_network_yaml, ecs_client, engine, start_tasks, unique_account_id,
};

const IMAGE: &str = "999999999999.dkr.ecr.eu-west-2.amazonaws.com/dagster";

fn services_yaml(tag: &str) -> String {
    format!(
        "services:
  - name: daemon
    image: {IMAGE}:{tag}
    cpu: 512
    memory: 1024
    replicas: 1
    command: [dagster-daemon, run]
    env: {{DAGSTER_HOME: /opt/dagster}}
    databaseAccess: true
  - name: webserver
    image: {IMAGE}:{tag}
    cpu: 256
    memory: 512
    replicas: 0
    port: 3000
    capacity: OnDemand
"
    )
}

async fn compute_object(account: &str, extra: &str) -> AccountObject {
    let spec = format!(
        "{}{}{extra}",
        default_network_yaml(account).await,
        services_yaml("1.9.0")
    );
    account_object(account, &spec)
}

fn names(object: &AccountObject) -> AccountNames {
    AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id)
}

/// Passes without playing the scheduler, until one makes no change.
async fn settle(engine: &Engine, object: &mut AccountObject) -> Reconciled {
    for _ in 0..4 {
        let pass = engine.reconcile(object, Default::default()).await;
        object.status = Some(pass.status.clone());
        assert!(pass.error.is_none(), "{:?}", pass.error);
        if pass.applied.is_empty() {
            return pass;
        }
    }
    panic!("{} kept changing", object.id);
}

/// A spec change, as the API server would record it.
fn bump_generation(object: &mut AccountObject) {
    object.generation = Some(object.generation.unwrap_or(1) + 1);
}

fn set_daemon_image(object: &mut AccountObject, tag: &str) {
    let daemon = object
        .spec
        .services
        .iter_mut()
        .find(|s| s.name == "daemon")
        .expect("daemon");
    daemon.image = format!("{IMAGE}:{tag}");
    bump_generation(object);
}

async fn active_revisions(account: &str, family: &str) -> Vec<String> {
    let listed = ecs_client(account)
        .await
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("ListTaskDefinitions");
    let mut arns = listed.task_definition_arns().to_vec();
    arns.sort();
    arns
}

async fn describe_service(account: &str, cluster: &str, service: &str) -> aws_sdk_ecs::types::Service {
    let described = ecs_client(account)
        .await
        .describe_services()
        .cluster(cluster)
        .services(service)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .expect("DescribeServices");
    described
        .services()
        .first()
        .cloned()
        .expect("the service is known to ECS")
}

#[tokio::test]
async fn services_are_created_and_ready_once_their_tasks_run() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "logging: {logGroup: /dataplatform/test}\n").await;
    let names = names(&object);

    let settled = settle(&engine, &mut object).await;
    let ready = conditions::find(&settled.status.conditions, conditions::READY).expect("Ready");
    assert_eq!(ready.status, "False", "no task runs yet: {ready:?}");
    // Tasks start in seconds: the next look is on the tasks' schedule (a pass in 5 s, probes of
    // the services between), not the old 30 s poll.
    assert_eq!(settled.waiting_on, Some(dataplatform_engine::WaitKind::Tasks));
    assert_eq!(settled.requeue_after, Some(std::time::Duration::from_secs(5)));
    assert!(
        ready.message.contains("ecs:daemon: 0 of 1 tasks running"),
        "{}",
        ready.message
    );

    let ecs = ecs_client(&account).await;
    let clusters = ecs
        .describe_clusters()
        .clusters(names.ecs_cluster())
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .expect("DescribeClusters");
    let cluster = clusters.clusters().first().expect("the cluster");
    assert_eq!(cluster.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert!(
        cluster.tags().iter().any(|t| t.key() == Some("dataplatform.io/owner")),
        "{:?}",
        cluster.tags()
    );

    let daemon = ecs
        .describe_task_definition()
        .task_definition(names.task_family("daemon"))
        .send()
        .await
        .expect("DescribeTaskDefinition")
        .task_definition
        .expect("the daemon's task definition");
    assert_eq!(daemon.network_mode(), Some(&aws_sdk_ecs::types::NetworkMode::Awsvpc));
    assert_eq!(
        daemon.requires_compatibilities(),
        [aws_sdk_ecs::types::Compatibility::Fargate]
    );
    assert_eq!((daemon.cpu(), daemon.memory()), (Some("512"), Some("1024")));
    assert!(
        daemon
            .task_role_arn()
            .is_some_and(|arn| arn.ends_with(&names.task_role()))
    );
    let container = &daemon.container_definitions()[0];
    let database = settled.status.database.clone().expect("database status");
    let env = |name: &str| {
        container
            .environment()
            .iter()
            .find(|kv| kv.name() == Some(name))
            .and_then(|kv| kv.value().map(str::to_owned))
    };
    assert_eq!(env("DAGSTER_PG_HOST"), database.endpoint, "host from the cluster");
    assert_eq!(env("DAGSTER_PG_PORT"), database.port.map(|p| p.to_string()));
    assert_eq!(env("DAGSTER_HOME").as_deref(), Some("/opt/dagster"));
    let password = container.secrets().first().expect("the password is a secret");
    assert_eq!(password.name(), "DAGSTER_PG_PASSWORD");
    assert_eq!(
        password.value_from(),
        format!("{}:password::", database.secret_arn.expect("secret arn"))
    );
    let log = container.log_configuration().expect("logging asked for");
    assert_eq!(
        log.options().and_then(|o| o.get("awslogs-group")).map(String::as_str),
        Some("/dataplatform/test")
    );

    let service = describe_service(&account, &names.ecs_cluster(), "daemon").await;
    assert_eq!(service.desired_count(), 1);
    assert!(service.tags().iter().any(|t| t.key() == Some("dataplatform.io/owner")));
    let webserver = describe_service(&account, &names.ecs_cluster(), "webserver").await;
    assert_eq!(webserver.desired_count(), 0, "defined but scaled to zero");

    // The probe a waiting controller makes between passes: one read, and it says "not yet" until
    // the tasks run.
    let probe = || engine.probe(&object, dataplatform_engine::WaitKind::Tasks);
    assert_eq!(probe().await.expect("probe"), Some(false));
    engine.sessions().counter().reset();
    start_tasks(&account, &names.ecs_cluster()).await;
    assert_eq!(probe().await.expect("probe"), Some(true));
    let calls = engine.sessions().counter().snapshot();
    assert_eq!((calls.reads(), calls.writes()), (1, 0), "{calls:?}");
    assert_eq!(
        engine
            .probe(&object, dataplatform_engine::WaitKind::Database)
            .await
            .expect("probe"),
        None,
        "a database has no probe"
    );
    let running = engine.reconcile(&object, Default::default()).await;
    assert!(running.ready, "{:?}", running.status.conditions);
    assert_eq!(running.status.services_running.as_deref(), Some("1/1"));
    assert_eq!(running.status.services.len(), 2);
    assert!(running.status.services[0].task_definition_arn.is_some());
    assert_eq!(
        running.status.cluster.as_ref().map(|c| c.name.clone()),
        Some(names.ecs_cluster())
    );
    object.status = Some(running.status);

    engine.sessions().counter().reset();
    let steady = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    assert_eq!(Some(steady.status), object.status, "a steady state changes no status");
}

#[tokio::test]
async fn a_restarted_operator_registers_no_new_revision() {
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    converge_running(&engine().await, &mut object).await;

    let restarted = engine().await;
    let pass = restarted.reconcile(&object, Default::default()).await;
    let calls = restarted.sessions().counter().snapshot();
    assert!(pass.ready, "{:?}", pass.status.conditions);
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    assert_eq!(
        active_revisions(&account, &names(&object).task_family("daemon"))
            .await
            .len(),
        1
    );
}

/// RegisterTaskDefinition carried out, its answer lost on the way back: the engine looks at the
/// family before sending it again, so one revision exists, and the service runs exactly that one.
#[tokio::test]
async fn a_registration_whose_answer_was_lost_is_not_made_twice() {
    let proxy = Moto::shared()
        .losing_answers("RegisterTaskDefinition", 1)
        .expect("fault proxy");
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "database: {enabled: false}\n").await;
    object.spec.services.iter_mut().for_each(|s| s.database_access = false);
    settle(&engine, &mut object).await;

    let names = names(&object);
    let daemon = active_revisions(&account, &names.task_family("daemon")).await;
    assert_eq!(daemon.len(), 1, "{daemon:?}");
    let service = describe_service(&account, &names.ecs_cluster(), &names.ecs_service("daemon")).await;
    assert_eq!(service.task_definition(), Some(daemon[0].as_str()));
}

#[tokio::test]
async fn an_image_bump_registers_one_revision_and_rolls_the_service() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    let names = names(&object);
    converge_running(&engine, &mut object).await;

    set_daemon_image(&mut object, "1.9.1");
    let plan = engine.plan(&object).await.expect("plan");
    let shown = plan.diff.plan.to_string();
    assert_eq!(
        shown.trim(),
        format!("~ update service daemon: image {IMAGE}:1.9.0 -> {IMAGE}:1.9.1"),
        "{shown}"
    );

    engine.sessions().counter().reset();
    let rolled = engine.reconcile(&object, Default::default()).await;
    assert!(rolled.error.is_none(), "{:?}", rolled.error);
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(
        calls.write_operations(),
        ["ecs:RegisterTaskDefinition", "ecs:UpdateService"]
    );
    assert_eq!((calls.of("RegisterTaskDefinition"), calls.of("UpdateService")), (1, 1));
    assert!(rolled.status.drift.is_empty(), "a spec change is not drift");
    let service = describe_service(&account, &names.ecs_cluster(), "daemon").await;
    assert!(
        service.task_definition().is_some_and(|arn| arn.ends_with(":2")),
        "{service:?}"
    );

    object.status = Some(rolled.status);
    converge_running(&engine, &mut object).await;
    assert_eq!(active_revisions(&account, &names.task_family("daemon")).await.len(), 2);
}

#[tokio::test]
async fn scaling_to_zero_keeps_the_service_and_scaling_back_restarts_it() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    let names = names(&object);
    converge_running(&engine, &mut object).await;

    object.spec.services[0].replicas = 0;
    bump_generation(&mut object);
    engine.sessions().counter().reset();
    let scaled = converge_running(&engine, &mut object).await;
    assert_eq!(
        engine.sessions().counter().snapshot().write_operations(),
        ["ecs:UpdateService"]
    );
    assert_eq!(scaled.status.services_running.as_deref(), Some("0/0"));
    let daemon = describe_service(&account, &names.ecs_cluster(), "daemon").await;
    assert_eq!((daemon.status(), daemon.desired_count()), (Some("ACTIVE"), 0));

    object.spec.services[0].replicas = 1;
    bump_generation(&mut object);
    let back = converge_running(&engine, &mut object).await;
    assert_eq!(back.status.services_running.as_deref(), Some("1/1"));
    assert_eq!(active_revisions(&account, &names.task_family("daemon")).await.len(), 1);
}

#[tokio::test]
async fn a_service_removed_from_the_spec_is_deleted_with_its_revisions() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    let names = names(&object);
    converge_running(&engine, &mut object).await;

    object.spec.services.retain(|s| s.name != "webserver");
    bump_generation(&mut object);
    let plan = engine.plan(&object).await.expect("plan");
    assert!(
        plan.diff
            .plan
            .to_string()
            .contains("- delete service webserver (webserver)"),
        "{}",
        plan.diff.plan
    );
    let removed = converge_running(&engine, &mut object).await;
    assert_eq!(removed.status.services.len(), 1);
    let webserver = describe_service(&account, &names.ecs_cluster(), "webserver").await;
    assert_eq!(webserver.status(), Some("INACTIVE"));
    assert!(
        active_revisions(&account, &names.task_family("webserver"))
            .await
            .is_empty()
    );
    // The daemon is told each port-service's address (DATAPLATFORM_WEBSERVER_HOST went): it rolled
    // to a new revision, its last one kept for rollback.
    assert_eq!(active_revisions(&account, &names.task_family("daemon")).await.len(), 2);
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

#[tokio::test]
async fn desired_count_and_task_definition_changed_out_of_band_are_put_back() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    let names = names(&object);
    converge_running(&engine, &mut object).await;
    set_daemon_image(&mut object, "1.9.1");
    converge_running(&engine, &mut object).await;

    let first_revision = active_revisions(&account, &names.task_family("daemon")).await[0].clone();
    ecs_client(&account)
        .await
        .update_service()
        .cluster(names.ecs_cluster())
        .service("daemon")
        .desired_count(4)
        .task_definition(&first_revision)
        .send()
        .await
        .expect("change the service behind the operator");

    let corrected = engine.reconcile(&object, Default::default()).await;
    assert!(corrected.error.is_none(), "{:?}", corrected.error);
    let mut drift = corrected.status.drift.clone();
    drift.sort();
    assert_eq!(drift, ["ecs:daemon.desiredCount", "ecs:daemon.taskDefinition"]);
    let daemon = describe_service(&account, &names.ecs_cluster(), "daemon").await;
    assert_eq!(daemon.desired_count(), 1);
    assert!(daemon.task_definition().is_some_and(|arn| arn.ends_with(":2")));
}

#[tokio::test]
async fn old_revisions_are_deregistered_keeping_the_last_three() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    let names = names(&object);
    converge_running(&engine, &mut object).await;
    for tag in ["1.9.1", "1.9.2", "1.9.3", "1.9.4"] {
        set_daemon_image(&mut object, tag);
        converge_running(&engine, &mut object).await;
    }
    let kept: Vec<String> = active_revisions(&account, &names.task_family("daemon"))
        .await
        .iter()
        .map(|arn| arn.rsplit(':').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kept, ["3", "4", "5"], "revisions 1 and 2 are deregistered");
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

#[tokio::test]
async fn an_invalid_fargate_size_is_refused_before_any_call() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    object.spec.services[1].memory = 4096;
    let refused = engine.reconcile(&object, Default::default()).await;
    let error = refused.error.expect("refused");
    assert_eq!(error.reason(), Reason::InvalidSpec);
    let message = error.to_string();
    assert!(
        message.contains("spec.services[webserver].memory") && message.contains("512, 1024, 2048"),
        "{message}"
    );
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
}

#[tokio::test]
async fn services_without_a_network_are_refused_before_any_call() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(&account, "").await;
    object.spec.network = None;
    let refused = engine.reconcile(&object, Default::default()).await;
    let message = refused.error.expect("refused").to_string();
    assert!(
        message.contains("spec.network: required when spec.services"),
        "{message}"
    );
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
}

#[tokio::test]
async fn subnets_and_security_groups_that_do_not_exist_are_refused_before_any_write() {
    let engine = engine().await;
    let account = unique_account_id();
    let spec = format!(
        "network: {{subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d]}}\n{}",
        services_yaml("1.9.0")
    );
    let object = account_object(&account, &spec);
    let refused = engine.reconcile(&object, Default::default()).await;
    let error = refused.error.expect("refused");
    assert_eq!(error.reason(), Reason::InvalidSpec);
    let message = error.to_string();
    assert!(
        message.contains("spec.network.subnetIds[0]: subnet subnet-0a1b2c3d does not exist")
            && message.contains("spec.network.securityGroupIds[0]: security group sg-0a1b2c3d does not exist"),
        "{message}"
    );
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
}

#[tokio::test]
async fn delete_removes_services_then_task_definitions_then_the_cluster() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = compute_object(
        &account,
        "deletionPolicy: Delete\ndatabase: {deletionProtection: false}\n",
    )
    .await;
    let names = names(&object);
    converge_running(&engine, &mut object).await;
    set_daemon_image(&mut object, "1.9.1");
    converge_running(&engine, &mut object).await;

    let mut order = Vec::new();
    for _ in 0..5 {
        let deleted = engine.delete(&object, &[]).await;
        assert!(deleted.error.is_none(), "{:?}", deleted.error);
        order.extend(deleted.deleted.iter().map(|a| a.resource.clone()));
        if deleted.finished {
            break;
        }
    }
    let position = |resource: &str| {
        order
            .iter()
            .position(|r| r == resource)
            .unwrap_or_else(|| panic!("{resource} not deleted: {order:?}"))
    };
    assert!(position("ecs:daemon") < position("ecs:daemon/revisions"), "{order:?}");
    assert!(
        position("ecs:webserver") < position("ecs:daemon/revisions"),
        "{order:?}"
    );
    assert!(position("ecs:daemon/revisions") < position("ecs:cluster"), "{order:?}");
    assert!(
        position("ecs:webserver/revisions") < position("ecs:cluster"),
        "{order:?}"
    );
    assert!(position("ecs:cluster") < position("rds:cluster"), "{order:?}");
    assert!(position("rds:cluster") < position("iam:task-role"), "{order:?}");

    let daemon = describe_service(&account, &names.ecs_cluster(), "daemon").await;
    assert_eq!(daemon.status(), Some("INACTIVE"));
    assert!(
        active_revisions(&account, &names.task_family("daemon"))
            .await
            .is_empty()
    );
    assert!(
        active_revisions(&account, &names.task_family("webserver"))
            .await
            .is_empty()
    );
    let clusters = ecs_client(&account)
        .await
        .describe_clusters()
        .clusters(names.ecs_cluster())
        .send()
        .await
        .expect("DescribeClusters");
    assert_eq!(clusters.clusters()[0].status(), Some("INACTIVE"));
}
