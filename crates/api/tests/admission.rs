//! Admission validation, offline: every rule of docs/api.md's "What admission refuses" is run the way the API
//! server runs it — defaults applied, then the OpenAPI constraints (a JSON-schema validator) and the
//! CEL `x-kubernetes-validations` (kube's CEL support) of the generated CRD — against valid and
//! invalid objects. Each refusal must name the field. The controller's own checks
//! (`validate()`, for `plan`/`apply` which never meet an API server) must refuse the same objects.
//!
//! This is an emulation, not the API server. What it does not model, and a real kube-apiserver does:
//! the integer code path of `multipleOf` (a factor below 1 refuses every integral value), RE2 as the
//! CEL regex engine (kube's CEL uses Rust's `regex`, which accepts counted repetition above 1000),
//! the validation of the CRD's own defaults, the server's CEL cost estimate and its per-request cost
//! limit, structural-schema and pruning rules, and the server's exact error wording. The first three
//! are linted in `admission/real_server.rs`; the CRDs are applied to a real API server outside this
//! repository, which is what proves them. Real-server behaviours it does model: CEL sees every
//! `type: number` value as a double, also when written as `4` (`numbers_as_doubles`), and no CEL
//! rule runs on an object with a type, required, enum or size error (`blocks_cel`).

#[path = "admission/real_server.rs"]
mod real_server;

use dataplatform_api::admission::{Admission, nullable_as_type_union};
use dataplatform_api::{DataPlatformAccountSpec, SharedBucketGrantSpec};
use kube::core::cel::{compile_schema, estimate_rule_cost};
use serde_json::{Value, json};

fn account() -> Value {
    json!({
        "apiVersion": "dataplatform.io/v1alpha1",
        "kind": "DataPlatformAccount",
        "metadata": {"name": "camden", "namespace": "la-camden"},
        "spec": {
            "accountId": "111111111111",
            "region": "eu-west-2",
            "network": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]},
            "services": [
                {"name": "daemon", "image": "dagster:1.9.0", "cpu": 512, "memory": 1024, "replicas": 1},
                {"name": "webserver", "image": "dagster:1.9.0", "cpu": 256, "memory": 512, "replicas": 0, "port": 3000}
            ]
        }
    })
}

fn grant() -> Value {
    json!({
        "apiVersion": "dataplatform.io/v1alpha1",
        "kind": "SharedBucketGrant",
        "metadata": {"name": "camden-to-region", "namespace": "la-camden"},
        "spec": {
            "accountRef": {"name": "camden"},
            "grantee": {"accountId": "999999999999", "principals": ["arn:aws:iam::999999999999:role/org-daemon"]},
            "prefixes": ["exports/"]
        }
    })
}

/// `base` with the JSON value at `pointer` (e.g. "/spec/region") replaced, or removed when `None`.
fn with(mut base: Value, pointer: &str, value: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let parent = base.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    match (parent, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(v)) => items[key.parse::<usize>().expect("index")] = v,
        (Value::Array(items), None) => {
            items.remove(key.parse::<usize>().expect("index"));
        }
        _ => panic!("{pointer} is not inside an object or array"),
    }
    base
}

/// An invalid object: the valid base with one change. Admission, `validate()` and `plan`/`apply`
/// (crates/operator's manifests tests) must all refuse it, naming `field`.
#[derive(serde::Deserialize)]
struct Case {
    what: String,
    object: Value,
    /// The field the refusal must name.
    field: String,
}

/// `admission/invalid.yaml`: the one corpus of invalid objects, for every path that must refuse them.
fn corpus(kind: &str) -> Vec<Case> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/admission/invalid.yaml");
    let cases: Vec<Case> =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("corpus")).expect("corpus is YAML");
    let cases: Vec<Case> = cases.into_iter().filter(|c| c.object["kind"] == kind).collect();
    assert!(cases.len() >= 6, "the corpus holds only {} {kind}s", cases.len());
    cases
}

fn invalid_accounts() -> Vec<Case> {
    corpus("DataPlatformAccount")
}

fn invalid_grants() -> Vec<Case> {
    corpus("SharedBucketGrant")
}

fn assert_refused(admission: &Admission, case: &Case) {
    let errors = admission.create(&case.object);
    assert!(!errors.is_empty(), "{}: admitted, but must be refused", case.what);
    assert!(
        errors.iter().any(|e| e.contains(&case.field)),
        "{}: refused, but no message names {}: {errors:#?}",
        case.what,
        case.field
    );
}

#[test]
fn valid_objects_are_admitted() {
    assert_eq!(Admission::accounts().create(&account()), Vec::<String>::new());
    assert_eq!(Admission::grants().create(&grant()), Vec::<String>::new());
    let minimal = json!({"apiVersion": "dataplatform.io/v1alpha1", "kind": "DataPlatformAccount", "metadata": {"name": "m"},
        "spec": {"accountId": "222222222222", "region": "us-east-1"}});
    assert_eq!(Admission::accounts().create(&minimal), Vec::<String>::new());
    let organisation = with(
        with(account(), "/spec/tier", Some(json!("Organisation"))),
        "/spec/registry",
        Some(json!({"repositories": ["dagster", "team/frontend"]})),
    );
    assert_eq!(Admission::accounts().create(&organisation), Vec::<String>::new());
}

#[test]
fn integral_and_half_capacities_are_admitted() {
    for (min, max) in [
        (json!(0), json!(2)),
        (json!(0.5), json!(4)),
        (json!(2), json!(4.5)),
        (json!(4.0), json!(256)),
    ] {
        let object = with(
            account(),
            "/spec/database",
            Some(json!({"minCapacity": min, "maxCapacity": max})),
        );
        assert_eq!(
            Admission::accounts().create(&object),
            Vec::<String>::new(),
            "{min}..{max}"
        );
        let spec: DataPlatformAccountSpec = serde_json::from_value(object["spec"].clone()).expect("spec");
        assert!(spec.validate().is_ok(), "{min}..{max}: {:?}", spec.validate());
    }
    let longest_external_id = with(account(), "/spec/externalId", Some(json!("x".repeat(1224))));
    assert_eq!(Admission::accounts().create(&longest_external_id), Vec::<String>::new());
}

/// `kubectl apply -f examples/` on an empty cluster: files in name order, documents in file order;
/// each object's namespace must have been created before it.
#[test]
fn the_examples_pass_admission_and_create_their_namespaces_first() {
    use serde::Deserialize;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    let mut seen = Vec::new();
    let mut namespaces = std::collections::BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read example");
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let object = Value::deserialize(document).expect("example is YAML");
            let namespace = object["metadata"]["namespace"].as_str().unwrap_or("default");
            if object["kind"] == "Namespace" {
                namespaces.insert(object["metadata"]["name"].as_str().expect("name").to_owned());
                continue;
            }
            assert!(
                namespaces.contains(namespace),
                "{}: namespace {namespace} is not created before it is used",
                path.display()
            );
            seen.push(admit_example(&path, &object));
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "DataPlatformAccount/Child",
            "DataPlatformAccount/Organisation",
            "SharedBucketGrant/-"
        ]
    );
}

fn admit_example(path: &std::path::Path, object: &Value) -> String {
    let admission = match object["kind"].as_str() {
        Some("DataPlatformAccount") => Admission::accounts(),
        Some("SharedBucketGrant") => Admission::grants(),
        other => panic!("{}: unexpected kind {other:?}", path.display()),
    };
    assert_eq!(admission.create(object), Vec::<String>::new(), "{}", path.display());
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["spec"]["tier"].as_str().unwrap_or("-")
    )
}

#[test]
fn invalid_accounts_are_refused_naming_the_field() {
    let admission = Admission::accounts();
    for case in invalid_accounts() {
        assert_refused(&admission, &case);
    }
}

#[test]
fn invalid_grants_are_refused_naming_the_field() {
    let admission = Admission::grants();
    for case in invalid_grants() {
        assert_refused(&admission, &case);
    }
}

#[test]
fn account_id_and_region_are_immutable() {
    let admission = Admission::accounts();
    let old = account();
    let retagged = with(old.clone(), "/spec/tags", Some(json!({"team": "data"})));
    assert_eq!(admission.review(&retagged, Some(&old)), Vec::<String>::new());
    for (pointer, value, field) in [
        ("/spec/accountId", "222222222222", "spec.accountId"),
        ("/spec/region", "eu-west-1", "spec.region"),
    ] {
        let errors = admission.review(&with(old.clone(), pointer, Some(json!(value))), Some(&old));
        assert!(
            errors.iter().any(|e| e.contains(field) && e.contains("immutable")),
            "{field}: {errors:#?}"
        );
    }
}

#[test]
fn the_controller_refuses_what_admission_refuses() {
    for case in invalid_accounts() {
        let refused = match serde_json::from_value::<DataPlatformAccountSpec>(case.object["spec"].clone()) {
            Err(_) => true, // an unknown enum value never becomes a spec
            Ok(spec) => spec
                .validate()
                .is_err_and(|e| e.problems.iter().any(|p| p.field.starts_with(&case.field))),
        };
        assert!(
            refused,
            "{}: admission refuses it, validate() must too, naming {}",
            case.what, case.field
        );
    }
    for case in invalid_grants() {
        let refused = match serde_json::from_value::<SharedBucketGrantSpec>(case.object["spec"].clone()) {
            Err(_) => true,
            Ok(spec) => spec
                .validate("la-camden", None)
                .is_err_and(|e| e.problems.iter().any(|p| p.field.starts_with(&case.field))),
        };
        assert!(
            refused,
            "{}: admission refuses it, validate() must too, naming {}",
            case.what, case.field
        );
    }
}

#[test]
fn every_cel_rule_compiles_and_stays_within_the_cost_budget() {
    for schema in [Admission::accounts().schema, Admission::grants().schema] {
        let compiled = compile_schema(&schema);
        assert!(!compiled.has_errors(), "{:#?}", compiled.compilation_errors());
        let mut rules = Vec::new();
        collect_rules(&schema, &mut rules);
        assert!(!rules.is_empty(), "no x-kubernetes-validations found");
        for (rule, subschema) in rules {
            // Cost and bounds only: kube-cel's scope check mistakes comprehension variables
            // (`self.all(x, ...)`) for unknown variables.
            let warnings = estimate_rule_cost(&rule, &compile_schema(&subschema));
            assert!(warnings.is_empty(), "{rule}: {warnings:#?}");
        }
    }
}

fn collect_rules(schema: &Value, out: &mut Vec<(String, Value)>) {
    if let Some(rules) = schema.get("x-kubernetes-validations").and_then(Value::as_array) {
        for rule in rules {
            out.push((rule["rule"].as_str().expect("rule text").to_owned(), schema.clone()));
        }
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        properties.values().for_each(|s| collect_rules(s, out));
    }
    for key in ["additionalProperties", "items"] {
        if let Some(s @ Value::Object(_)) = schema.get(key) {
            collect_rules(s, out);
        }
    }
}

/// A list past its maxItems stops admission before the CEL rules, as the API server does
/// (apiextensions-apiserver's `hasBlockingErr`): a thousand services is one short error, not the
/// list quoted whole and a CEL rule per pair of names (issue 37: 119 KB and seconds).
#[test]
fn a_list_past_its_bound_is_refused_in_one_short_message_without_running_the_cel_rules() {
    let service = |i: usize| json!({"name": "same", "image": format!("x:{i}"), "cpu": 256, "memory": 512});
    let huge = with(account(), "/spec/services", Some((0..1000).map(service).collect()));
    let errors = Admission::accounts().create(&huge);
    assert_eq!(
        errors,
        [
            "spec.services: Too many: 1000: must have at most 20 items".to_owned(),
            dataplatform_api::admission::CEL_SKIPPED.to_owned()
        ],
        "every service is named `same`, which a CEL rule refuses: it must not have run"
    );
    // Within the bound the same duplicates reach the CEL rule.
    let duplicates = with(account(), "/spec/services", Some((0..2).map(service).collect()));
    let errors = Admission::accounts().create(&duplicates);
    assert!(errors.iter().any(|e| e.contains("must be unique")), "{errors:#?}");
}

/// A refused value is quoted in part, never whole.
#[test]
fn an_error_quotes_a_long_value_only_in_part() {
    let long_image = "x".repeat(5000);
    let object = with(account(), "/spec/services/0/cpu", Some(json!(long_image)));
    let errors = Admission::accounts().create(&object);
    assert!(
        errors.iter().any(|e| e.starts_with("spec.services.0.cpu")),
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| e.len() < 400), "{errors:#?}");
}

/// Tag values are held to AWS's characters at admission too (issue 37: a NUL byte).
#[test]
fn a_tag_value_with_a_character_aws_refuses_is_refused_at_admission() {
    let admission = Admission::accounts();
    let bad = with(account(), "/spec/tags", Some(json!({"owner": "a\u{0}b"})));
    let errors = admission.create(&bad);
    assert!(errors.iter().any(|e| e.starts_with("spec.tags.owner")), "{errors:#?}");
    let good = with(
        account(),
        "/spec/tags",
        Some(json!({"site": "Café Zürich", "path": "/a/b=c+d@e:f_g.h-i"})),
    );
    assert_eq!(admission.create(&good), Vec::<String>::new());
}

#[test]
fn sign_in_through_the_user_pool_is_admitted_and_valid() {
    let object = json!({"apiVersion": "dataplatform.io/v1alpha1", "kind": "DataPlatformAccount", "metadata": {"name": "camden"},
        "spec": {"accountId": "111111111111", "region": "eu-west-2",
            "network": {"vpc": {"cidr": "10.20.0.0/16"}},
            "loadBalancer": {"certificateArn": "arn:aws:acm:eu-west-2:111111111111:certificate/0a1b2c3d"},
            "userPool": {"domainPrefix": "camden-dataplatform", "saml": {"providerName": "EntraID",
                "metadataUrl": "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml?appid=a"}},
            "services": [{"name": "webserver", "image": "dagster:1.9.0", "cpu": 256, "memory": 512, "port": 3000,
                "expose": {"hosts": ["dagster.camden.example.org", "*.camden.example.org"], "signIn": {"userPool": true}}}]}});
    assert_eq!(Admission::accounts().create(&object), Vec::<String>::new());
    let spec: DataPlatformAccountSpec = serde_json::from_value(object["spec"].clone()).expect("spec");
    assert_eq!(spec.validate(), Ok(()));
}
