//! `deploy/`: the kustomize base renders to least-privilege RBAC and a restricted Deployment with the
//! CRDs `crds/` holds (as does the chart), and Argo CD's health script for both kinds gives the right verdict for every
//! status fixture under Lua 5.1 (what Argo CD embeds).

use std::path::Path;
use std::process::Command;

use crate::rendered::{
    assert_restricted_operator_pod, controller_rules, documents, find, lease_rules, of_kind, read, repo,
};
use mlua::{Lua, LuaSerdeExt};
use serde_json::{Value, json};

/// The kustomize base and the Helm chart ship copies (kustomize refuses files outside its root,
/// Helm installs only its own `crds/`); each must equal `crds/`, file for file.
#[test]
fn every_copy_of_the_crds_equals_crds() {
    let files = |dir: &str| -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        files
    };
    let originals = files("crds");
    for copy in ["deploy/base/crds", "charts/dataplatform-operator/crds"] {
        assert_eq!(files(copy), originals, "{copy} holds other files than crds/");
        for file in &originals {
            assert_eq!(
                read(&format!("{copy}/{file}")),
                read(&format!("crds/{file}")),
                "{copy}/{file} differs from crds/{file}; copy it: cp crds/*.yaml {copy}/"
            );
        }
    }
}

/// `kubectl kustomize deploy/base` (kubectl embeds kustomize), else the base's files as they are.
fn rendered_base() -> Vec<Value> {
    let base = repo().join("deploy/base");
    match Command::new("kubectl").arg("kustomize").arg(&base).output() {
        Ok(output) if output.status.success() => documents(&String::from_utf8(output.stdout).expect("utf-8")),
        Ok(output) => panic!(
            "kubectl kustomize deploy/base: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => {
            eprintln!("kubectl not found: checking deploy/base's files without rendering them");
            ["rbac.yaml", "deployment.yaml", "namespace.yaml"]
                .iter()
                .flat_map(|file| documents(&read(&format!("deploy/base/{file}"))))
                .collect()
        }
    }
}

#[test]
fn the_base_grants_only_what_the_controller_uses_and_runs_restricted() {
    let objects = rendered_base();
    assert_eq!(
        find(&objects, "ClusterRole", "dataplatform-operator")["rules"],
        controller_rules()
    );
    assert_eq!(
        find(&objects, "Role", "dataplatform-operator-leader-election")["rules"],
        lease_rules()
    );
    let roles = of_kind(&objects, &["ClusterRole", "Role"]);
    assert_eq!(roles.len(), 2, "no other roles: {roles:#?}");

    let deployment = find(&objects, "Deployment", "dataplatform-operator");
    let args = assert_restricted_operator_pod(deployment, "dataplatform-operator");
    assert!(
        args.iter().any(|a| a == "--leader-election"),
        "two replicas elect a leader: {args:?}"
    );
}

fn health_script() -> String {
    read("deploy/argocd/health/health.lua")
}

/// Runs the health script on `object` as Argo CD does (the object in the global `obj`).
fn health(lua: &Lua, script: &str, object: &Value) -> (String, String) {
    lua.globals()
        .set("obj", lua.to_value(object).expect("to Lua"))
        .expect("set obj");
    let result: mlua::Table = lua.load(script).eval().expect("the script runs");
    (
        result.get("status").expect("status"),
        result.get("message").expect("message"),
    )
}

#[test]
fn health_script_runs_under_lua_5_1_and_judges_every_fixture() {
    let lua = Lua::new();
    let version: String = lua.globals().get("_VERSION").expect("_VERSION");
    assert_eq!(version, "Lua 5.1");
    let script = health_script();
    let cases = documents(&read("deploy/argocd/health/fixtures/cases.yaml"));
    let cases = cases[0].as_array().expect("a list of cases");
    assert!(cases.len() >= 10, "fixtures cover each verdict");
    for verdict in ["Healthy", "Progressing", "Degraded", "Suspended"] {
        assert!(
            cases.iter().any(|c| c["expect"] == verdict),
            "no fixture expects {verdict}"
        );
    }
    for case in cases {
        let (status, message) = health(&lua, &script, &case["object"]);
        assert_eq!(status, case["expect"].as_str().unwrap(), "{}: {message}", case["name"]);
    }
}

#[test]
fn degraded_and_progressing_say_why() {
    let lua = Lua::new();
    let script = health_script();
    let invalid = json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "False", "reason": "InvalidSpec", "message": "spec.roleArn: other account"},
        {"type": "Synced", "status": "False", "reason": "InvalidSpec", "message": "spec.roleArn: other account"}]}});
    assert_eq!(
        health(&lua, &script, &invalid),
        ("Degraded".into(), "InvalidSpec: spec.roleArn: other account".into())
    );
    let stale = json!({"metadata": {"generation": 5}, "status": {"observedGeneration": 4, "conditions": [
        {"type": "Ready", "status": "True", "reason": "Available"}]}});
    assert!(health(&lua, &script, &stale).1.contains("generation 5"));
}

#[test]
fn argocd_cm_holds_the_script_for_both_kinds() {
    let config_map = &documents(&read("deploy/argocd/argocd-cm-health.yaml"))[0];
    for kind in ["DataPlatformAccount", "SharedBucketGrant"] {
        let key = format!("resource.customizations.health.dataplatform.io_{kind}");
        assert_eq!(
            config_map["data"][&key].as_str(),
            Some(health_script().as_str()),
            "{key} must hold deploy/argocd/health/health.lua verbatim"
        );
    }
}

#[test]
fn tenant_examples_sync_accounts_before_grants_and_never_prune_accounts() {
    let wave = |path: &str| -> (i64, Value) {
        let object = documents(&read(path)).remove(0);
        let annotations = object["metadata"]["annotations"].clone();
        let wave = annotations["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        (wave, annotations)
    };
    let (account_wave, account) = wave("deploy/argocd/tenants/account.yaml");
    let (grant_wave, _) = wave("deploy/argocd/tenants/grant.yaml");
    assert!(account_wave < grant_wave);
    assert_eq!(account["argocd.argoproj.io/sync-options"], "Prune=false,Delete=false");
    assert!(Path::new(&repo().join("deploy/argocd/operator-application.yaml")).exists());
}
