//! How services run, against moto: secrets passed by reference only, read by the task-execution
//! role and nothing else.

use dataplatform_api::names::AccountNames;
use dataplatform_engine::AccountObject;
use dataplatform_tests::{
    Moto, account_object, boto3, converge_running, default_network_yaml, engine, unique_account_id,
};
use serde_json::Value;

fn names(object: &AccountObject) -> AccountNames {
    AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id)
}

/// The `secrets` of the newest revision of `service`'s family, as (name, valueFrom).
async fn task_secrets(object: &AccountObject, service: &str) -> (String, Vec<(String, String)>) {
    let ecs = aws_sdk_ecs::Client::new(&Moto::shared().account_config(&object.spec.account_id).await);
    let described = ecs
        .describe_task_definition()
        .task_definition(names(object).task_family(service))
        .send()
        .await
        .expect("task definition");
    let definition = described.task_definition().expect("definition");
    let mut secrets: Vec<(String, String)> = definition.container_definitions()[0]
        .secrets()
        .iter()
        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
        .collect();
    secrets.sort();
    (definition.task_definition_arn().unwrap_or_default().to_owned(), secrets)
}

/// The task-execution role's inline policy statement `sid`'s resources.
async fn execution_role_resources(object: &AccountObject, sid: &str) -> Vec<String> {
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(&object.spec.account_id).await);
    let names = names(object);
    let policy = iam
        .get_role_policy()
        .role_name(names.task_execution_role())
        .policy_name(dataplatform_aws::iam::INLINE_POLICY_NAME)
        .send()
        .await
        .expect("inline policy");
    let document: Value =
        serde_json::from_str(&dataplatform_tests::percent_decoded(policy.policy_document())).expect("policy JSON");
    let statement = document["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["Sid"] == sid);
    let mut resources: Vec<String> = match statement.map(|s| &s["Resource"]) {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(all)) => all.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => vec![],
    };
    resources.sort();
    resources
}

#[tokio::test]
async fn secrets_reach_the_container_by_reference_and_only_their_arns_are_readable() {
    let engine = engine().await;
    let account = unique_account_id();
    let value = "correct-horse-battery-staple";
    let secret = boto3(
        &account,
        &format!(
            "print(client('secretsmanager').create_secret(Name='camden/frontend', SecretString='{{\"apiKey\": \"{value}\"}}')['ARN'])"
        ),
    );
    let parameter = boto3(
        &account,
        &format!(
            "s = client('ssm'); s.put_parameter(Name='/camden/registry-token', Value='{value}', Type='SecureString'); print(s.get_parameter(Name='/camden/registry-token')['Parameter']['ARN'])"
        ),
    );
    let service = |key: &str| {
        format!(
            "services:\n- name: frontend\n  image: nginx:1.27\n  cpu: 256\n  memory: 512\n  secrets:\n  - {{name: API_KEY, secretArn: '{secret}', jsonKey: {key}}}\n  - {{name: REGISTRY_TOKEN, parameterArn: '{parameter}'}}\n"
        )
    };
    let network = default_network_yaml(&account).await;
    let mut object = account_object(
        &account,
        &format!("{network}database: {{enabled: false}}\n{}", service("apiKey")),
    );
    converge_running(&engine, &mut object).await;

    let (first, secrets) = task_secrets(&object, "frontend").await;
    assert_eq!(
        secrets,
        [
            ("API_KEY".to_owned(), format!("{secret}:apiKey::")),
            ("REGISTRY_TOKEN".to_owned(), parameter.clone()),
        ]
    );
    // moto's ARN carries the six-character suffix: exactly that secret, and exactly that parameter.
    assert_eq!(
        execution_role_resources(&object, "ReadServiceSecrets").await,
        std::slice::from_ref(&secret)
    );
    assert_eq!(
        execution_role_resources(&object, "ReadServiceParameters").await,
        std::slice::from_ref(&parameter)
    );
    let status = serde_json::to_string(&object.status).expect("status JSON");
    assert!(!status.contains(value), "no secret value in status");

    // Another key of the same secret is a new revision like any other change.
    object.spec = account_object(
        &account,
        &format!("{network}database: {{enabled: false}}\n{}", service("otherKey")),
    )
    .spec;
    converge_running(&engine, &mut object).await;
    let (second, secrets) = task_secrets(&object, "frontend").await;
    assert_ne!(first, second, "a new revision");
    assert_eq!(secrets[0].1, format!("{secret}:otherKey::"));
}

/// (retention, owner tag) of the log group `name`, as CloudWatch holds it; `None` when it is gone.
fn log_group(account: &str, name: &str) -> Option<(Option<i64>, Option<String>)> {
    let found = boto3(
        account,
        &format!(
            "import json\n\
             logs = client('logs')\n\
             groups = [g for g in logs.describe_log_groups(logGroupNamePrefix='{name}')['logGroups'] if g['logGroupName'] == '{name}']\n\
             print(json.dumps([groups[0].get('retentionInDays'), logs.list_tags_log_group(logGroupName='{name}')['tags'].get('dataplatform.io/owner')] if groups else None))"
        ),
    );
    let found: Value = serde_json::from_str(&found).expect("JSON");
    let found = found.as_array()?;
    Some((found[0].as_i64(), found[1].as_str().map(str::to_owned)))
}

#[tokio::test]
async fn the_log_group_is_made_with_its_retention_kept_and_deleted_with_the_account() {
    let engine = engine().await;
    let account = unique_account_id();
    let group = format!("/dataplatform/{account}");
    let network = default_network_yaml(&account).await;
    let spec = |days: i32| {
        format!(
            "{network}database: {{enabled: false}}\ndeletionPolicy: Delete\nlogging: {{logGroup: {group}, retentionDays: {days}}}\nservices:\n- {{name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512}}\n"
        )
    };
    let mut object = account_object(&account, &spec(14));
    converge_running(&engine, &mut object).await;
    let owner = format!("{}/{}", object.id.namespace, object.id.name);
    assert_eq!(log_group(&account, &group), Some((Some(14), Some(owner.clone()))));

    // The task definition names the group and no longer asks ECS to create it.
    let ecs = aws_sdk_ecs::Client::new(&Moto::shared().account_config(&account).await);
    let described = ecs
        .describe_task_definition()
        .task_definition(names(&object).task_family("daemon"))
        .send()
        .await
        .expect("task definition");
    let options = described.task_definition().expect("definition").container_definitions()[0]
        .log_configuration()
        .and_then(|l| l.options())
        .cloned()
        .unwrap_or_default();
    assert_eq!(options.get("awslogs-group"), Some(&group));
    assert!(!options.contains_key("awslogs-create-group"), "{options:?}");

    // Retention changed by hand: put back and reported.
    boto3(
        &account,
        &format!("client('logs').put_retention_policy(logGroupName='{group}', retentionInDays=365)"),
    );
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    assert!(
        pass.status.drift.iter().any(|d| d == "logs:group.retentionDays"),
        "{:?}",
        pass.status.drift
    );
    object.status = Some(pass.status);
    assert_eq!(log_group(&account, &group).map(|g| g.0), Some(Some(14)));

    // A new retention in the spec is applied; deletion removes the group.
    object.spec = account_object(&account, &spec(90)).spec;
    converge_running(&engine, &mut object).await;
    assert_eq!(log_group(&account, &group).map(|g| g.0), Some(Some(90)));
    let deleted = engine.delete(&object, &[]).await;
    assert!(
        deleted.finished && deleted.error.is_none(),
        "{:?} {:?}",
        deleted.waiting,
        deleted.error
    );
    assert_eq!(
        log_group(&account, &group),
        None,
        "deletionPolicy Delete removes the group"
    );
}

#[tokio::test]
async fn a_log_group_someone_else_made_is_written_to_and_left_alone() {
    let engine = engine().await;
    let account = unique_account_id();
    let group = format!("/theirs/{account}");
    boto3(
        &account,
        &format!(
            "l = client('logs'); l.create_log_group(logGroupName='{group}'); l.put_retention_policy(logGroupName='{group}', retentionInDays=7)"
        ),
    );
    let mut object = account_object(&account, &format!("logging: {{logGroup: {group}}}\n"));
    let plan = engine.plan(&object).await.expect("plan");
    assert!(
        plan.diff
            .notes
            .iter()
            .any(|n| n.contains("without our owner tag") && n.contains("7 days")),
        "{:?}",
        plan.diff.notes
    );
    assert!(
        plan.diff.conflicts.is_empty(),
        "not a conflict: {:?}",
        plan.diff.conflicts
    );
    dataplatform_tests::converge(&engine, &mut object).await;
    assert_eq!(log_group(&account, &group), Some((Some(7), None)), "untouched");
}

/// The daemon's scalable target, scheduled actions and policies, as Application Auto Scaling holds
/// them (JSON from boto3).
fn scaling_of(object: &AccountObject, service: &str) -> Value {
    let id = format!("service/{}/{service}", names(object).ecs_cluster());
    let found = boto3(
        &object.spec.account_id,
        &format!(
            "import json\n\
             a = client('application-autoscaling')\n\
             t = a.describe_scalable_targets(ServiceNamespace='ecs', ResourceIds=['{id}'])['ScalableTargets']\n\
             s = a.describe_scheduled_actions(ServiceNamespace='ecs', ResourceId='{id}')['ScheduledActions']\n\
             p = a.describe_scaling_policies(ServiceNamespace='ecs', ResourceId='{id}')['ScalingPolicies']\n\
             print(json.dumps({{'targets': [[x['MinCapacity'], x['MaxCapacity']] for x in t], 'actions': sorted([[x['ScheduledActionName'], x['Schedule'], x.get('Timezone'), x['ScalableTargetAction'].get('MinCapacity'), x['ScalableTargetAction'].get('MaxCapacity')] for x in s]), 'policies': sorted([[x['PolicyName'], x.get('TargetTrackingScalingPolicyConfiguration', {{}}).get('TargetValue')] for x in p])}}))"
        ),
    );
    serde_json::from_str(&found).expect("JSON")
}

#[tokio::test]
async fn scaling_on_a_schedule_owns_the_count_within_its_bounds_and_leaves_others_alone() {
    let engine = engine().await;
    let account = unique_account_id();
    let network = default_network_yaml(&account).await;
    let daemon = |office: &str| {
        format!(
            "{network}database: {{enabled: false}}\nservices:\n- name: daemon\n  image: dagster:1.9.0\n  cpu: 256\n  memory: 512\n  replicas: 1\n  scaling:\n    minReplicas: 0\n    maxReplicas: 2\n    cpuTargetPercent: 70\n    schedules:\n    - {{name: office-hours, cron: '{office}', timeZone: Europe/London, replicas: 1}}\n    - {{name: evening, cron: '0 19 * * *', timeZone: Europe/London, replicas: 0}}\n"
        )
    };
    let mut object = account_object(&account, &daemon("0 8 * * MON-FRI"));
    converge_running(&engine, &mut object).await;
    let seen = scaling_of(&object, "daemon");
    assert_eq!(seen["targets"], serde_json::json!([[0, 2]]), "{seen}");
    assert_eq!(
        seen["actions"],
        serde_json::json!([
            ["dataplatform-evening", "cron(0 19 * * ? *)", "Europe/London", 0, 2],
            [
                "dataplatform-office-hours",
                "cron(0 8 ? * MON-FRI *)",
                "Europe/London",
                1,
                2
            ]
        ])
    );
    assert_eq!(seen["policies"], serde_json::json!([["dataplatform-cpu", 70.0]]));
    let status = object.status.clone().expect("status");
    let scaling = status.services[0].scaling.clone().expect("status.services[].scaling");
    assert_eq!((scaling.min_replicas, scaling.max_replicas), (0, 2));
    let next = scaling.next_scheduled_change.unwrap_or_default();
    assert!(
        next.starts_with("office-hours: 1 at ") || next.starts_with("evening: 0 at "),
        "{next}"
    );

    // A count Application Auto Scaling chose inside the bounds is not drift; one outside is put back.
    let ecs = aws_sdk_ecs::Client::new(&Moto::shared().account_config(&account).await);
    let cluster = names(&object).ecs_cluster();
    let set_count = |n: i32| {
        ecs.update_service()
            .cluster(&cluster)
            .service("daemon")
            .desired_count(n)
            .send()
    };
    set_count(2).await.expect("scale to 2");
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(
        pass.error.is_none() && pass.applied.is_empty(),
        "{:?} {:?}",
        pass.error,
        pass.applied
    );
    set_count(5).await.expect("scale to 5");
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(
        pass.status.drift.iter().any(|d| d == "ecs:daemon.desiredCount"),
        "{:?}",
        pass.status.drift
    );
    let count = ecs
        .describe_services()
        .cluster(&cluster)
        .services("daemon")
        .send()
        .await
        .expect("service");
    assert_eq!(count.services()[0].desired_count(), 2, "brought back inside [0, 2]");
    object.status = Some(pass.status);

    // Our action changed by hand: put back and reported.
    let id = format!("service/{cluster}/daemon");
    boto3(
        &account,
        &format!(
            "client('application-autoscaling').put_scheduled_action(ServiceNamespace='ecs', ScalableDimension='ecs:service:DesiredCount', ResourceId='{id}', ScheduledActionName='dataplatform-evening', Schedule='cron(0 23 * * ? *)', Timezone='Europe/London', ScalableTargetAction={{'MinCapacity': 0, 'MaxCapacity': 2}})"
        ),
    );
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(
        pass.status.drift.iter().any(|d| d == "scaling:daemon.schedule evening"),
        "{:?}",
        pass.status.drift
    );
    object.status = Some(pass.status);
    assert_eq!(
        scaling_of(&object, "daemon")["actions"][0],
        serde_json::json!(["dataplatform-evening", "cron(0 19 * * ? *)", "Europe/London", 0, 2])
    );

    // Someone's own action stays when ours changes; plan names the schedule.
    boto3(
        &account,
        &format!(
            "client('application-autoscaling').put_scheduled_action(ServiceNamespace='ecs', ScalableDimension='ecs:service:DesiredCount', ResourceId='{id}', ScheduledActionName='theirs', Schedule='cron(0 12 * * ? *)', ScalableTargetAction={{'MinCapacity': 1, 'MaxCapacity': 1}})"
        ),
    );
    object.spec = account_object(&account, &daemon("30 7 * * MON-FRI")).spec;
    let plan = engine.plan(&object).await.expect("plan");
    let printed = plan.diff.plan.to_string();
    assert!(
        printed.contains("~ update service daemon scaling: schedule office-hours cron(0 8 ? * MON-FRI *) Europe/London: 1 -> 30 7 * * MON-FRI Europe/London: 1"),
        "{printed}"
    );
    converge_running(&engine, &mut object).await;
    let seen = scaling_of(&object, "daemon");
    let actions: Vec<String> = seen["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["dataplatform-evening", "dataplatform-office-hours", "theirs"]);

    // Without scaling the target is deregistered and the spec owns the count again.
    set_count(2).await.expect("scale to 2");
    object.spec = account_object(&account, &format!("{network}database: {{enabled: false}}\nservices:\n- {{name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512, replicas: 1}}\n")).spec;
    converge_running(&engine, &mut object).await;
    assert_eq!(scaling_of(&object, "daemon")["targets"], serde_json::json!([]));
    let count = ecs
        .describe_services()
        .cluster(&cluster)
        .services("daemon")
        .send()
        .await
        .expect("service");
    assert_eq!(count.services()[0].desired_count(), 1, "replicas again");
}
