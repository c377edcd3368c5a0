//! What the kustomize base and the Helm chart must both render: the same least-privilege RBAC and
//! a restricted pod running `run` with its probes.

use std::path::PathBuf;

use serde_json::{Value, json};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(yaml)
        .map(|doc| <Value as serde::Deserialize>::deserialize(doc).expect("a YAML document"))
        .filter(|doc| !doc.is_null())
        .collect()
}

pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} among {:?}", names(objects)))
}

pub fn names(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

pub fn of_kind<'a>(objects: &'a [Value], kinds: &[&str]) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| kinds.iter().any(|kind| o["kind"] == *kind))
        .collect()
}

/// The controller's rules: the two kinds (watch, and patch for the finalizer), their status,
/// their finalizers, and Events. Nothing else.
pub fn controller_rules() -> Value {
    json!([
        {"apiGroups": ["dataplatform.io"], "resources": ["dataplatformaccounts", "sharedbucketgrants"],
         "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["dataplatform.io"],
         "resources": ["dataplatformaccounts/status", "sharedbucketgrants/status"], "verbs": ["get", "patch"]},
        {"apiGroups": ["dataplatform.io"],
         "resources": ["dataplatformaccounts/finalizers", "sharedbucketgrants/finalizers"], "verbs": ["update"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    ])
}

/// Leader election's Lease (kube-lease-manager deletes one it finds inconsistent).
pub fn lease_rules() -> Value {
    json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "verbs": ["get", "create", "patch", "delete"]}])
}

/// Pod Security `restricted`, the health probes and resources; returns the container's args.
pub fn assert_restricted_operator_pod(deployment: &Value, service_account: &str) -> Vec<String> {
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["serviceAccountName"], service_account);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"].is_object() && container["resources"]["limits"].is_object());
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("a string arg").to_owned())
        .collect();
    assert_eq!(args[0], "run");
    args
}
