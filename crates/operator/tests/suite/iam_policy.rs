//! `dataplatform-operator iam-policy`: the documents it prints, scoped by manifests to exactly the
//! names the engine uses, and within IAM's size limit.

use std::process::Command;

use crate::rendered::repo;
use dataplatform_api::names::{AccountNames, BucketPurpose};
use dataplatform_aws::quotas::IAM_ROLE_INLINE_POLICIES;
use dataplatform_engine::DesiredAccount;
use serde_json::{Value, json};

fn iam_policy(args: &[&str]) -> Result<Value, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_dataplatform-operator"))
        .current_dir(repo())
        .arg("iam-policy")
        .args(args)
        .output()
        .expect("the binary runs");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("JSON on stdout"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn statement<'a>(policy: &'a Value, sid: &str) -> Option<&'a Value> {
    policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid)
}

/// As IAM counts it: docs/iam.md attaches the document as the role's inline policy, whose quota is
/// 10,240 per role (a managed policy's would be 6,144).
fn iam_size(policy: &Value) -> usize {
    IAM_ROLE_INLINE_POLICIES.measure(&policy.to_string())
}

#[test]
fn the_account_policy_fits_every_account_and_a_manifest_narrows_it_to_one() {
    let everywhere = iam_policy(&[]).expect("the default document");
    assert_eq!(
        statement(&everywhere, "Buckets").unwrap()["Resource"],
        json!(["arn:aws:s3:::*"])
    );
    assert!(
        iam_size(&everywhere) <= IAM_ROLE_INLINE_POLICIES.default,
        "{} characters",
        iam_size(&everywhere)
    );

    let organisation = iam_policy(&["-f", "examples/", "--account", "region"]).expect("scoped");
    let names = AccountNames::new("org-region", "region", "999999999999");
    let buckets: Vec<String> = BucketPurpose::ALL
        .iter()
        .map(|p| format!("arn:aws:s3:::{}", names.bucket(*p)))
        .collect();
    assert_eq!(statement(&organisation, "Buckets").unwrap()["Resource"], json!(buckets));
    assert_eq!(
        statement(&organisation, "Roles").unwrap()["Resource"],
        json!([
            format!("arn:aws:iam::999999999999:role/{}", names.task_execution_role()),
            format!("arn:aws:iam::999999999999:role/{}", names.task_role()),
            format!("arn:aws:iam::999999999999:role/{}", names.run_launcher_role()),
        ])
    );
    assert!(
        statement(&organisation, "Repositories").is_some(),
        "the Organisation hosts the registry"
    );
    assert!(iam_size(&organisation) <= IAM_ROLE_INLINE_POLICIES.default);

    let child = iam_policy(&["-f", "examples/child-account.yaml"]).expect("one account needs no --account");
    assert!(
        statement(&child, "Repositories").is_none(),
        "a Child hosts no repositories"
    );
}

#[test]
fn trust_and_operator_documents() {
    let trust = iam_policy(&[
        "--document",
        "account-trust",
        "--operator-role-arn",
        "arn:aws:iam::999999999999:role/dataplatform-operator",
        "-f",
        "examples/child-account.yaml",
    ])
    .expect("account trust");
    assert_eq!(
        trust["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::999999999999:role/dataplatform-operator"
    );
    assert!(trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"].is_string());

    let irsa = iam_policy(&[
        "--document",
        "operator-trust",
        "--oidc-provider",
        "https://oidc.eks.eu-west-2.amazonaws.com/id/ABC",
        "--cluster-account-id",
        "999999999999",
    ])
    .expect("operator trust");
    assert_eq!(
        irsa["Statement"][0]["Principal"]["Federated"],
        "arn:aws:iam::999999999999:oidc-provider/oidc.eks.eu-west-2.amazonaws.com/id/ABC"
    );

    let operator = iam_policy(&["--document", "operator-role", "-f", "examples/"]).expect("operator role");
    assert_eq!(operator["Statement"][0]["Action"], "sts:AssumeRole");
    assert_eq!(
        operator["Statement"].as_array().unwrap().len(),
        1,
        "nothing but AssumeRole"
    );
}

#[test]
fn missing_choices_are_errors_that_say_what_to_add() {
    let several = iam_policy(&["-f", "examples/"]).unwrap_err();
    assert!(
        several.contains("--account NAME") && several.contains("camden"),
        "{several}"
    );
    let trust = iam_policy(&["--document", "account-trust"]).unwrap_err();
    assert!(trust.contains("--operator-role-arn"), "{trust}");
    let service_account = iam_policy(&["--document", "operator-trust", "--service-account", "x"]).unwrap_err();
    assert!(service_account.contains("namespace/name"), "{service_account}");
}

/// Findings of parliament (PyPI), the IAM linter, for each named document.
fn parliament(documents: &[(&str, Value)]) -> Vec<(String, String, String)> {
    let script = r#"
import json, sys
from parliament import analyze_policy_string
for name, document in json.load(sys.stdin):
    for finding in analyze_policy_string(json.dumps(document)).findings:
        print(json.dumps([name, finding.issue, json.dumps(finding.detail)]))
"#;
    let mut child = Command::new(dataplatform_tests::python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test virtualenv's python (scripts/test installs parliament)");
    serde_json::to_writer(child.stdin.take().expect("stdin"), documents).expect("documents");
    let output = child.wait_with_output().expect("parliament ran");
    assert!(
        output.status.success(),
        "parliament: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a finding"))
        .collect()
}

/// What parliament reports that is so by design (docs/iam.md): writing bucket
/// policies and lifecycle rules implies power over objects; RDS's create calls are scoped to our own
/// cluster, instance and the default groups only; RegisterTaskDefinition has no resource-level
/// permissions and repositories are listed whatever the spec says; listener actions name only the
/// `app` (Application Load Balancer) ARNs, never the `net` ones parliament lists beside them.
fn accepted(issue: &str, detail: &str) -> bool {
    let only_network_load_balancers = || {
        let formats: Vec<Value> = serde_json::from_str(detail).unwrap_or_default();
        !formats.is_empty()
            && formats.iter().all(|f| {
                let format = f["required_format"].as_str().unwrap_or_default();
                format.contains("/net/") || format.contains("/app/")
            })
            && formats
                .iter()
                .any(|f| f["required_format"].as_str().unwrap_or_default().contains("/net/"))
    };
    let only_kms_alias_calls = || {
        let formats: Vec<Value> = serde_json::from_str(detail).unwrap_or_default();
        !formats.is_empty()
            && formats.iter().all(|f| {
                let action = f["action"].as_str().unwrap_or_default();
                action == "kms:CreateAlias" || action == "kms:DeleteAlias"
            })
    };
    match issue {
        "RESOURCE_MISMATCH" if only_network_load_balancers() => true,
        // An alias's calls need the alias and the key: each of the two statements names one.
        "RESOURCE_MISMATCH" if only_kms_alias_calls() => true,
        "RESOURCE_POLICY_PRIVILEGE_ESCALATION" => {
            detail.contains("s3:PutBucketPolicy") || detail.contains("s3:PutLifecycleConfiguration")
        }
        "RESOURCE_MISMATCH" => ["rds:CreateDBCluster", "rds:CreateDBInstance"]
            .iter()
            .any(|a| detail.contains(a)),
        "RESOURCE_STAR" => detail == r#"["ecr:DescribeRepositories", "ecs:RegisterTaskDefinition"]"#,
        _ => false,
    }
}

/// The inline policy of each role the engine makes for the examples' accounts, the Organisation's
/// shared-bucket statement among them.
fn role_documents() -> Vec<(String, Value)> {
    let accounts = crate::golden::accounts(&repo().join("examples"));
    accounts
        .iter()
        .flat_map(|account| {
            let desired = DesiredAccount::new(&account.id, &account.spec, &Default::default());
            let roles: Vec<(String, Value)> = desired
                .identity
                .values()
                .map(|role| (format!("{} {}", account.id, role.name), role.inline_policy.clone()))
                .collect();
            roles
        })
        .collect()
}

/// The roles the engine makes pass the IAM linter too, each within IAM's quota.
#[test]
fn the_roles_documents_pass_the_iam_linter() {
    let documents = role_documents();
    assert!(
        documents
            .iter()
            .any(|(_, d)| d.to_string().contains("UseGrantedSharedObjects")),
        "the Organisation's task role is among them"
    );
    for (name, document) in &documents {
        assert!(iam_size(document) <= IAM_ROLE_INLINE_POLICIES.default, "{name}");
    }
    let named: Vec<(&str, Value)> = documents.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let findings: Vec<_> = parliament(&named)
        .into_iter()
        .filter(|(_, issue, detail)| !launcher_accepted(issue, detail))
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
}

/// What the run-launcher role keeps at `*` by design: ecs:RegisterTaskDefinition, which AWS does not
/// scope to a resource (as in the operator's own role), and ecs:ListTasks, whose only resource is a
/// container instance, which Fargate has none of: it is limited to the cluster by `ecs:cluster`.
fn launcher_accepted(issue: &str, detail: &str) -> bool {
    issue == "RESOURCE_STAR" && [r#"["ecs:ListTasks"]"#, r#"["ecs:RegisterTaskDefinition"]"#].contains(&detail)
}

/// The permission documents `iam-policy` prints pass a real IAM linter: no unknown action or
/// prefix, no malformed statement, and nothing else beyond what is accepted by design. (Trust
/// policies are resource policies, which parliament does not lint: it calls them malformed.)
#[test]
fn the_permission_documents_pass_the_iam_linter() {
    let documents = [
        ("account-role", iam_policy(&[]).expect("account role")),
        (
            "account-role -f",
            iam_policy(&["-f", "examples/", "--account", "region"]).expect("scoped"),
        ),
        (
            "operator-role",
            iam_policy(&["--document", "operator-role", "-f", "examples/"]).expect("operator role"),
        ),
    ];
    let refused: Vec<_> = parliament(&documents)
        .into_iter()
        .filter(|(_, issue, detail)| !accepted(issue, detail))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");

    // The linter does find what it is for.
    let broken =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}]});
    let findings = parliament(&[("broken", broken)]);
    assert!(
        findings.iter().any(|(_, issue, _)| issue == "UNKNOWN_ACTION"),
        "{findings:?}"
    );
}
