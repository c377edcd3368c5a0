//! The dependency direction of architecture.md: api → aws → engine → operator. `api` knows nothing
//! of AWS, `aws` nothing of Kubernetes, `engine` nothing of kube-runtime. And the build stays small
//! enough for a CI machine's disk.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

fn workspace_packages() -> Vec<Value> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    metadata["packages"].as_array().expect("packages").clone()
}

/// Direct dependencies of each workspace package, with the features asked of each.
fn workspace_dependencies() -> BTreeMap<String, Vec<(String, Vec<String>)>> {
    let as_strings = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    workspace_packages()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null()) // normal dependencies; tests may use anything
                .map(|d| (d["name"].as_str().expect("name").to_owned(), as_strings(&d["features"])))
                .collect();
            (package["name"].as_str().expect("name").to_owned(), dependencies)
        })
        .collect()
}

fn assert_none(package: &str, forbidden: impl Fn(&str, &[String]) -> bool, why: &str) {
    let all = workspace_dependencies();
    let dependencies = all.get(package).unwrap_or_else(|| panic!("no package {package}"));
    let offending: Vec<_> = dependencies
        .iter()
        .filter(|(name, features)| forbidden(name, features))
        .map(|(n, _)| n)
        .collect();
    assert!(
        offending.is_empty(),
        "{package} must not depend on {offending:?}: {why}"
    );
}

#[test]
fn api_knows_nothing_of_aws() {
    assert_none(
        "dataplatform-api",
        |name, _| name.starts_with("aws-") || name.starts_with("dataplatform-"),
        "api holds the contract only",
    );
}

#[test]
fn aws_knows_nothing_of_kubernetes() {
    assert_none(
        "dataplatform-aws",
        |name, _| {
            name.starts_with("kube")
                || name == "k8s-openapi"
                || ["dataplatform-engine", "dataplatform-operator"].contains(&name)
        },
        "aws adapters are usable without a cluster",
    );
}

#[test]
fn engine_knows_nothing_of_kube_runtime() {
    assert_none(
        "dataplatform-engine",
        |name, features| {
            name == "kube-runtime"
                || name == "dataplatform-operator"
                || (name == "kube" && features.iter().any(|f| f == "runtime" || f == "client"))
        },
        "the engine runs the same in the CLI, the controller and the tests",
    );
}

/// Every integration-test target is a binary that links kube and the whole AWS SDK (about 100 MB
/// each, and a link of several seconds on two cores); a CI run once ran out of disk with eleven of
/// them. New test files go into the package's existing target (`tests/suite/main.rs`).
#[test]
fn each_package_has_at_most_one_integration_test_binary() {
    let crowded: Vec<String> = workspace_packages()
        .iter()
        .filter_map(|package| {
            let tests: Vec<&str> = package["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "test")))
                .filter_map(|t| t["name"].as_str())
                .collect();
            (tests.len() > 1).then(|| format!("{}: {tests:?}", package["name"]))
        })
        .collect();
    assert!(
        crowded.is_empty(),
        "one integration-test binary per package; move these into its tests/suite/main.rs as modules: {crowded:?}"
    );
}
