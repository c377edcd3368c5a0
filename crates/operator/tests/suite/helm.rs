//! The Helm chart, rendered and linted by Helm v4's own engine (helm-python-sdk in the test
//! virtualenv, installed by the test command): least-privilege RBAC, a restricted pod, leader
//! election exactly when replicas > 1, every controller flag reachable from values, and values the
//! schema refuses with the field named.

use std::collections::BTreeSet;
use std::process::Command;

use crate::rendered::{
    assert_restricted_operator_pod, controller_rules, documents, find, lease_rules, names, of_kind, repo,
};
use clap::Args;
use dataplatform_operator::cli::AwsArgs;
use dataplatform_operator::controller::RunArgs;
use serde_json::{Value, json};

const CHART: &str = "charts/dataplatform-operator";
const RELEASE: &str = "dataplatform-operator";
const NAMESPACE: &str = "dataplatform-system";
const PRODUCTION_VALUES: &str = "charts/dataplatform-operator/ci/production-values.yaml";

/// What Helm made of the chart with these values.
struct Render {
    objects: Vec<Value>,
    crds: Vec<Value>,
    lint: Value,
}

/// Runs tests/suite/helm/render.py; `Err` carries Helm's refusal of the values.
fn helm(values_file: Option<&str>, overrides: Value) -> Result<Render, String> {
    let script = repo().join("crates/operator/tests/suite/helm/render.py");
    let mut command = Command::new(dataplatform_tests::python());
    command.arg(script).arg(repo().join(CHART)).arg(RELEASE).arg(NAMESPACE);
    if let Some(file) = values_file {
        command.arg(repo().join(file));
    }
    let output = command
        .arg("--set-json")
        .arg(overrides.to_string())
        .output()
        .expect("python of the test virtualenv (scripts/test installs it)");
    assert!(
        output.status.success(),
        "render.py failed (run scripts/install-test-tools): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).expect("render.py prints JSON");
    if let Some(error) = result["error"].as_str() {
        return Err(error.to_owned());
    }
    let manifests = result["manifests"].as_object().expect("manifests");
    Ok(Render {
        objects: manifests
            .iter()
            .filter(|(template, _)| template.ends_with(".yaml"))
            .flat_map(|(_, yaml)| documents(yaml.as_str().expect("yaml")))
            .collect(),
        crds: result["crds"]
            .as_array()
            .expect("crds")
            .iter()
            .flat_map(|yaml| documents(yaml.as_str().expect("yaml")))
            .collect(),
        lint: result["lint"].clone(),
    })
}

fn render(values_file: Option<&str>, overrides: Value) -> Render {
    helm(values_file, overrides).unwrap_or_else(|e| panic!("Helm refused the values: {e}"))
}

/// Strict lint: no errors, no warnings (severity 2 and up); info such as "icon is recommended" is fine.
fn assert_lint_clean(render: &Render) {
    let problems: Vec<&Value> = render.lint["messages"]
        .as_array()
        .expect("lint messages")
        .iter()
        .filter(|m| m["severity"].as_i64().unwrap_or(3) >= 2)
        .collect();
    assert!(problems.is_empty(), "helm lint: {problems:#?}");
    assert_eq!(render.lint["errors"], json!([]), "helm lint");
    assert_eq!(render.lint["total_charts_linted"], 1);
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn default_values_install_cluster_wide_with_two_replicas_electing_a_leader() {
    let render = render(None, json!({}));
    assert_lint_clean(&render);
    let objects = &render.objects;

    assert_eq!(find(objects, "ClusterRole", RELEASE)["rules"], controller_rules());
    let binding = find(objects, "ClusterRoleBinding", RELEASE);
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}])
    );
    let lease_role = find(objects, "Role", "dataplatform-operator-leader-election");
    assert_eq!(lease_role["rules"], lease_rules());
    assert_eq!(lease_role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        of_kind(objects, &["ClusterRole", "Role"]).len(),
        2,
        "no other roles: {:?}",
        names(objects)
    );

    let deployment = find(objects, "Deployment", RELEASE);
    assert_eq!(deployment["spec"]["replicas"], 2);
    let args = assert_restricted_operator_pod(deployment, RELEASE);
    assert_eq!(
        args,
        [
            "run",
            "--log-format=json",
            "--resync-interval=5m",
            "--max-backoff=5m",
            "--error-requeue=15m",
            "--concurrency=4",
            "--http-address=0.0.0.0:8080",
            "--leader-election",
            "--leader-election-lease=dataplatform-operator",
            "--leader-election-lease-duration=15s",
            "--aws-requests-per-second=10",
            "--aws-burst=40",
            "--aws-max-attempts=10",
        ]
    );
    assert_eq!(
        container(deployment)["image"],
        "ghcr.io/dataplatform-io/dataplatform-operator:0.1.0",
        "the tag defaults to the chart's appVersion"
    );
    assert!(find(objects, "ServiceAccount", RELEASE)["metadata"]["annotations"].is_null());
    assert_eq!(
        find(objects, "Service", "dataplatform-operator-metrics")["spec"]["ports"][0]["targetPort"],
        "http"
    );
    assert!(
        of_kind(objects, &["ServiceMonitor"]).is_empty(),
        "the ServiceMonitor needs the Prometheus Operator: off by default"
    );
    assert_eq!(
        find(objects, "PodDisruptionBudget", RELEASE)["spec"]["maxUnavailable"],
        1
    );
    assert_eq!(render.crds.len(), 2, "Helm installs both CRDs from the chart's crds/");
}

#[test]
fn production_values_scope_rbac_to_the_watched_namespaces_and_wire_irsa_and_prometheus() {
    let render = render(Some(PRODUCTION_VALUES), json!({}));
    assert_lint_clean(&render);
    let objects = &render.objects;

    assert!(
        of_kind(objects, &["ClusterRole", "ClusterRoleBinding"]).is_empty(),
        "watched namespaces need no cluster-wide rights: {:?}",
        names(objects)
    );
    assert_roles_in(objects, &["tenants", "platform"]);

    assert_eq!(
        find(objects, "ServiceAccount", RELEASE)["metadata"]["annotations"],
        json!({"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dataplatform-operator"})
    );
    let deployment = find(objects, "Deployment", RELEASE);
    assert_eq!(deployment["spec"]["replicas"], 3);
    let args = assert_restricted_operator_pod(deployment, RELEASE);
    for expected in [
        "--namespace=tenants,platform",
        "--selector=platform=data",
        "--resync-interval=10m",
        "--concurrency=8",
        "--http-address=0.0.0.0:9090",
        "--leader-election",
        "--leader-election-lease=dataplatform-operator-prod",
        "--leader-election-lease-duration=20s",
        "--aws-requests-per-second=5",
    ] {
        assert!(args.iter().any(|a| a == expected), "{expected} missing from {args:?}");
    }
    let operator = container(deployment);
    assert!(
        operator["image"].as_str().unwrap().contains("@sha256:"),
        "pinned by digest"
    );
    assert_eq!(operator["ports"][0]["containerPort"], 9090);
    assert!(
        operator["env"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "AWS_REGION", "value": "eu-west-2"}))
    );

    let monitor = find(objects, "ServiceMonitor", RELEASE);
    assert_eq!(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    let service = find(objects, "Service", "dataplatform-operator-metrics");
    assert_eq!(service["spec"]["ports"][0]["port"], 9090);
    assert_eq!(monitor["spec"]["selector"]["matchLabels"], service["spec"]["selector"]);
}

/// One Role and RoleBinding per namespace, each the controller's rules for our service account.
fn assert_roles_in(objects: &[Value], namespaces: &[&str]) {
    let roles = of_kind(objects, &["Role"]);
    let ours: Vec<&&Value> = roles.iter().filter(|r| r["metadata"]["name"] == RELEASE).collect();
    let mut in_namespaces: Vec<&str> = ours
        .iter()
        .filter_map(|r| r["metadata"]["namespace"].as_str())
        .collect();
    in_namespaces.sort();
    let mut expected = namespaces.to_vec();
    expected.sort();
    assert_eq!(in_namespaces, expected, "{:?}", names(objects));
    for role in ours {
        assert_eq!(role["rules"], controller_rules());
    }
    let bindings = of_kind(objects, &["RoleBinding"]);
    for namespace in namespaces {
        let binding = bindings
            .iter()
            .find(|b| b["metadata"]["name"] == RELEASE && b["metadata"]["namespace"] == *namespace)
            .unwrap_or_else(|| panic!("no RoleBinding in {namespace}"));
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(binding["subjects"][0]["namespace"], NAMESPACE);
    }
}

#[test]
fn the_single_watch_namespace_value_still_works_and_joins_the_list() {
    let render = render(
        None,
        json!({"controller": {"watchNamespace": "tenants", "watchNamespaces": ["platform", "tenants"]}}),
    );
    assert_lint_clean(&render);
    assert!(of_kind(&render.objects, &["ClusterRole", "ClusterRoleBinding"]).is_empty());
    assert_roles_in(&render.objects, &["platform", "tenants"]);
    let args = assert_restricted_operator_pod(find(&render.objects, "Deployment", RELEASE), RELEASE);
    assert!(args.iter().any(|a| a == "--namespace=platform,tenants"), "{args:?}");
}

#[test]
fn one_replica_runs_without_leader_election_and_never_overlaps_itself() {
    let render = render(None, json!({"replicas": 1}));
    assert_lint_clean(&render);
    let objects = &render.objects;
    let deployment = find(objects, "Deployment", RELEASE);
    let args = assert_restricted_operator_pod(deployment, RELEASE);
    assert!(!args.iter().any(|a| a.starts_with("--leader-election")), "{args:?}");
    assert_eq!(
        deployment["spec"]["strategy"]["type"], "Recreate",
        "a rolling update would run two reconcilers at once"
    );
    assert!(of_kind(objects, &["Role", "RoleBinding", "PodDisruptionBudget"]).is_empty());
}

/// The long flags of `run` (and the global --log-format), read from the CLI's own definitions, so
/// a flag added to the controller without a value in the chart fails this test.
fn run_flags() -> BTreeSet<String> {
    let command = AwsArgs::augment_args(RunArgs::augment_args(clap::Command::new("run")));
    command
        .get_arguments()
        .filter_map(|arg| arg.get_long().map(str::to_owned))
        .chain(["log-format".to_owned()])
        .filter(|flag| flag != "help")
        .collect()
}

#[test]
fn every_controller_flag_is_reachable_from_values() {
    // The pod name and namespace reach these through the downward API (POD_NAME, POD_NAMESPACE).
    let from_environment = ["leader-election-identity", "leader-election-namespace"];
    let render = render(
        Some(PRODUCTION_VALUES),
        json!({"aws": {"endpointUrl": "http://moto.test:5000"}}),
    );
    let deployment = find(&render.objects, "Deployment", RELEASE);
    let args: BTreeSet<String> = container(deployment)["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str()?.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap().to_owned())
        .collect();
    let env: Vec<&str> = container(deployment)["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"POD_NAME") && env.contains(&"POD_NAMESPACE"));
    let flags = run_flags();
    assert!(flags.len() > 10, "the flag list comes from clap: {flags:?}");
    let unreachable: Vec<String> = flags
        .into_iter()
        .filter(|flag| !args.contains(flag) && !from_environment.contains(&flag.as_str()))
        .collect();
    assert!(
        unreachable.is_empty(),
        "controller flags no chart value sets: {unreachable:?} (add them to values.yaml, values.schema.json and templates/deployment.yaml)"
    );
}

#[test]
fn the_schema_refuses_bad_values_naming_the_field() {
    for (values, field) in [
        (
            json!({"controller": {"resyncInterval": "5 minutes"}}),
            "/controller/resyncInterval",
        ),
        (json!({"controler": {"concurrency": 2}}), "controler"),
        (json!({"replicas": 0}), "/replicas"),
        (
            json!({"serviceAccount": {"roleArn": "dataplatform-operator"}}),
            "/serviceAccount/roleArn",
        ),
        (json!({"controller": {"logFormat": "xml"}}), "/controller/logFormat"),
        (
            json!({"controller": {"watchNamespaces": ["tenants", "Platform"]}}),
            "/controller/watchNamespaces/1",
        ),
        (
            json!({"controller": {"watchNamespaces": "tenants,platform"}}),
            "/controller/watchNamespaces",
        ),
    ] {
        let error = helm(None, values.clone())
            .err()
            .unwrap_or_else(|| panic!("{values} was accepted"));
        assert!(error.contains(field), "{values}: {error}");
    }
}
