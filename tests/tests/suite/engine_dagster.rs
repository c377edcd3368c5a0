//! What a Dagster instance reads: every variable the shipped `docs/dagster/dagster.yaml` and
//! `workspace.yaml` name (`{env: X}`) is set in the task definitions the operator registers for the
//! daemon and the webserver (moto), the code server's host is its name in the namespace, and
//! Dagster's own config validation (`tests/support/check_dagster_files.py`, pinned dagster and
//! dagster-aws) accepts both files in that environment.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::names::AccountNames;
use dataplatform_tests::{Moto, account_object, converge_running, engine, python, unique_account_id};

const DAGSTER: &str = "network: {vpc: {cidr: 10.80.0.0/16, natGateway: None, endpoints: []}}\nlogging: {logGroup: /dataplatform/dagster-test, retentionDays: 7}\nservices:\n- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512, databaseAccess: true}\n- {name: code-server, image: code:1, cpu: 256, memory: 512, port: 4000, databaseAccess: true}\n- {name: webserver, image: dagster:1.9.0, cpu: 256, memory: 512, port: 3000, databaseAccess: true}\n";

/// Every `{env: X}` in a YAML document, at any depth.
fn env_names(value: &serde_yaml_ng::Value, found: &mut BTreeSet<String>) {
    match value {
        serde_yaml_ng::Value::Mapping(map) => {
            if map.len() == 1
                && let Some(name) = map.get("env").and_then(|v| v.as_str())
            {
                found.insert(name.to_owned());
                return;
            }
            map.values().for_each(|v| env_names(v, found));
        }
        serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|v| env_names(v, found)),
        _ => {}
    }
}

fn docs() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dagster")
}

fn shipped_env_names() -> BTreeSet<String> {
    let docs = docs();
    let mut found = BTreeSet::new();
    for file in ["dagster.yaml", "workspace.yaml"] {
        let text = std::fs::read_to_string(docs.join(file)).expect(file);
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect(file);
        env_names(&yaml, &mut found);
    }
    found
}

/// The family's newest active revision.
async fn newest_definition(account: &str, family: &str) -> aws_sdk_ecs::types::TaskDefinition {
    let ecs = aws_sdk_ecs::Client::new(&Moto::shared().account_config(account).await);
    let described = ecs
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
        .expect("task definition");
    described.task_definition().expect("definition").clone()
}

/// The environment and secret names of the family's newest active revision.
async fn container_variables(account: &str, family: &str) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let definition = newest_definition(account, family).await;
    let container = &definition.container_definitions()[0];
    let environment = container
        .environment()
        .iter()
        .filter_map(|kv| Some((kv.name()?.to_owned(), kv.value()?.to_owned())))
        .collect();
    let secrets = container.secrets().iter().map(|s| s.name().to_owned()).collect();
    (environment, secrets)
}

#[tokio::test]
async fn every_variable_the_shipped_dagster_files_read_is_set_for_the_daemon_and_webserver() {
    let wanted = shipped_env_names();
    assert!(wanted.len() >= 12, "the files were read: {wanted:?}");
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, DAGSTER);
    converge_running(&engine, &mut object).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let network = object.status.clone().and_then(|s| s.network).expect("network");
    for service in ["daemon", "webserver"] {
        let (environment, secrets) = container_variables(&account, &names.task_family(service)).await;
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|name| !environment.contains_key(*name) && !secrets.contains(*name))
            .collect();
        assert!(
            missing.is_empty(),
            "{service}: {missing:?} not set; has {environment:?}"
        );
        let code_server = object.status.as_ref().and_then(|s| {
            let address = s.services.iter().find(|x| x.name == "code-server")?.address.clone()?;
            Some(address)
        });
        assert_eq!(
            Some(format!(
                "{}:{}",
                environment["DATAPLATFORM_CODE_SERVER_HOST"], environment["DATAPLATFORM_CODE_SERVER_PORT"]
            )),
            code_server,
            "{service}: the workspace's code server is the one status names"
        );
        assert_eq!(environment["DATAPLATFORM_ECS_CLUSTER"], names.ecs_cluster());
        let subnets: BTreeSet<&str> = environment["DATAPLATFORM_SUBNETS"].split(',').collect();
        let private: BTreeSet<&str> = network
            .zones
            .iter()
            .filter_map(|z| z.private_subnet_id.as_deref())
            .collect();
        assert_eq!(subnets, private, "{service}: the tasks' subnets");
        assert_eq!(
            environment["DATAPLATFORM_SECURITY_GROUPS"], network.security_groups["tasks"],
            "{service}"
        );
        dagster_accepts_the_files(service, &environment, &secrets);
    }
}

/// Dagster's own validation of both files, in exactly the container's environment (secrets, which
/// ECS resolves at task start, stand in as placeholders).
fn dagster_accepts_the_files(service: &str, environment: &BTreeMap<String, String>, secrets: &BTreeSet<String>) {
    let script = docs().join("../../tests/support/check_dagster_files.py");
    let checked = std::process::Command::new(python())
        .arg(script)
        .arg(docs())
        .env_clear()
        .envs(environment)
        .envs(secrets.iter().map(|name| (name.clone(), "placeholder".to_owned())))
        .output()
        .expect("run check_dagster_files.py");
    assert!(
        checked.status.success(),
        "{service}: Dagster refuses the shipped files: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// The actions a role's inline policy allows, by statement.
async fn role_actions(account: &str, role: &str) -> Option<Vec<(String, Vec<String>, serde_json::Value)>> {
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(account).await);
    let policy = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(dataplatform_aws::iam::INLINE_POLICY_NAME)
        .send()
        .await
        .ok()?;
    let document: serde_json::Value =
        serde_json::from_str(&dataplatform_tests::percent_decoded(policy.policy_document())).expect("policy JSON");
    let statements = document["Statement"].as_array().cloned().unwrap_or_default();
    Some(
        statements
            .iter()
            .map(|s| {
                let actions = match &s["Action"] {
                    serde_json::Value::String(one) => vec![one.clone()],
                    serde_json::Value::Array(all) => all.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
                    _ => vec![],
                };
                (
                    s["Sid"].as_str().unwrap_or_default().to_owned(),
                    actions,
                    s["Condition"].clone(),
                )
            })
            .collect(),
    )
}

async fn task_role_of(account: &str, family: &str) -> String {
    let definition = newest_definition(account, family).await;
    definition.task_role_arn().unwrap_or_default().to_owned()
}

/// Only a service with `launchesRuns` may launch runs: it runs as the run-launcher role (ecs:RunTask
/// in the account's cluster only, iam:PassRole of the two task roles only to ECS tasks); the
/// frontend's role cannot call ecs:RunTask. With no service launching runs the launcher role goes.
#[tokio::test]
async fn only_a_service_that_launches_runs_may_run_tasks() {
    let engine = engine().await;
    let account = unique_account_id();
    let spec = "network: {vpc: {cidr: 10.90.0.0/16, natGateway: None, endpoints: []}}\ndatabase: {enabled: false}\nservices:\n- {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512, launchesRuns: true}\n- {name: frontend, image: web:1, cpu: 256, memory: 512, port: 8080}\n";
    let mut object = account_object(&account, spec);
    converge_running(&engine, &mut object).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let arn = |role: String| format!("arn:aws:iam::{account}:role/{role}");
    assert_eq!(
        task_role_of(&account, &names.task_family("daemon")).await,
        arn(names.run_launcher_role())
    );
    assert_eq!(
        task_role_of(&account, &names.task_family("frontend")).await,
        arn(names.task_role())
    );

    let frontend = role_actions(&account, &names.task_role())
        .await
        .expect("task role policy");
    assert!(
        !frontend
            .iter()
            .any(|(_, actions, _)| actions.iter().any(|a| a.starts_with("ecs:") || a == "iam:PassRole")),
        "the frontend's role launches nothing: {frontend:?}"
    );
    let launcher = role_actions(&account, &names.run_launcher_role())
        .await
        .expect("launcher policy");
    let statement = |action: &str| {
        launcher
            .iter()
            .find(|(_, actions, _)| actions.iter().any(|a| a == action))
            .unwrap_or_else(|| panic!("{action} in {launcher:?}"))
            .2
            .clone()
    };
    let cluster = format!("arn:aws:ecs:eu-west-2:{account}:cluster/{}", names.ecs_cluster());
    assert_eq!(statement("ecs:RunTask")["ArnEquals"]["ecs:cluster"], cluster.as_str());
    assert_eq!(
        statement("iam:PassRole")["StringEquals"]["iam:PassedToService"],
        "ecs-tasks.amazonaws.com"
    );
    assert!(
        launcher.iter().any(|(sid, _, _)| sid == "UseAccountObjects"),
        "the task role's rights too"
    );

    object.spec.services.iter_mut().for_each(|s| s.launches_runs = false);
    converge_running(&engine, &mut object).await;
    assert_eq!(
        task_role_of(&account, &names.task_family("daemon")).await,
        arn(names.task_role())
    );
    assert!(
        role_actions(&account, &names.run_launcher_role()).await.is_none(),
        "the launcher role is gone"
    );
}
