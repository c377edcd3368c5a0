//! Admission validation, offline: every rule of api.md's "Validation" section is run the way the API
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
//! repository, which is what proves them. One real-server behaviour it does model: CEL sees every
//! `type: number` value as a double, also when written as `4` (`numbers_as_doubles`).

#[path = "admission/real_server.rs"]
mod real_server;

use dataplatform_api::{DataPlatformAccount, DataPlatformAccountSpec, SharedBucketGrant, SharedBucketGrantSpec};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::core::cel::{Validator, apply_defaults, compile_schema, estimate_rule_cost};
use serde_json::{Value, json};

struct Admission {
    schema: Value,
    openapi: jsonschema::Validator,
}

impl Admission {
    fn new(crd: CustomResourceDefinition) -> Self {
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("schema");
        let schema = serde_json::to_value(schema).expect("schema as JSON");
        // `nullable` is OpenAPI's; JSON Schema spells it as a type union.
        let openapi = jsonschema::draft4::new(&nullable_as_type_union(schema.clone()))
            .expect("the CRD schema is a valid JSON schema");
        Self { schema, openapi }
    }

    fn accounts() -> Self {
        Self::new(DataPlatformAccount::crd())
    }

    fn grants() -> Self {
        Self::new(SharedBucketGrant::crd())
    }

    /// Errors the API server would return, each as "field: message".
    fn review(&self, object: &Value, old: Option<&Value>) -> Vec<String> {
        let defaulted = apply_defaults(&self.schema, object);
        let mut errors: Vec<String> = self
            .openapi
            .iter_errors(&defaulted)
            .map(|e| {
                let mut field = e.instance_path().to_string().trim_start_matches('/').replace('/', ".");
                // The API server reports a missing property at the property's own path.
                if let jsonschema::error::ValidationErrorKind::Required {
                    property: Value::String(property),
                } = e.kind()
                {
                    field = format!("{field}.{property}");
                }
                format!("{field}: {e}")
            })
            .collect();
        // The API server hands CEL every `type: number` value as a double, `4` included; kube's
        // evaluator would see an int there, on which `self * 2.0` has no overload.
        let (defaulted, old) = (
            numbers_as_doubles(&self.schema, defaulted),
            old.map(|o| numbers_as_doubles(&self.schema, o.clone())),
        );
        if let Err(cel) = Validator::new().validate(&self.schema, &defaulted, old.as_ref()) {
            errors.extend(
                cel.into_vec()
                    .into_iter()
                    .map(|e| format!("{}: {}", e.field_path, e.message)),
            );
        }
        errors
    }

    fn create(&self, object: &Value) -> Vec<String> {
        self.review(object, None)
    }
}

/// `value` with every integer that sits where `schema` says `type: number` written as a float.
fn numbers_as_doubles(schema: &Value, value: Value) -> Value {
    match value {
        Value::Number(n) if schema["type"] == "number" => n.as_f64().map_or(Value::Number(n), |f| json!(f)),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, v)| {
                    let sub = schema["properties"]
                        .get(&key)
                        .unwrap_or(&schema["additionalProperties"]);
                    let v = numbers_as_doubles(sub, v);
                    (key, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| numbers_as_doubles(&schema["items"], v))
                .collect(),
        ),
        other => other,
    }
}

fn nullable_as_type_union(mut schema: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.remove("nullable") == Some(Value::Bool(true))
                    && let Some(Value::String(t)) = map.get("type").cloned()
                {
                    map.insert("type".into(), json!([t, "null"]));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

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

struct Case {
    what: &'static str,
    object: Value,
    /// The field the refusal must name.
    field: &'static str,
}

fn invalid_accounts() -> Vec<Case> {
    let case = |what, pointer: &str, value: Value, field| Case {
        what,
        object: with(account(), pointer, Some(value)),
        field,
    };
    vec![
        case(
            "account id too short",
            "/spec/accountId",
            json!("12345"),
            "spec.accountId",
        ),
        case(
            "account id with letters",
            "/spec/accountId",
            json!("11111111111a"),
            "spec.accountId",
        ),
        case(
            "region not a region code",
            "/spec/region",
            json!("Europe (London)"),
            "spec.region",
        ),
        case("unknown tier", "/spec/tier", json!("Parent"), "spec.tier"),
        case(
            "unknown deletion policy",
            "/spec/deletionPolicy",
            json!("Orphan"),
            "spec.deletionPolicy",
        ),
        case(
            "role ARN not a role",
            "/spec/roleArn",
            json!("arn:aws:iam::111111111111:user/bob"),
            "spec.roleArn",
        ),
        case(
            "KMS alias instead of a key",
            "/spec/storage",
            json!({"kmsKeyArn": "arn:aws:kms:eu-west-2:111111111111:alias/x"}),
            "spec.storage.kmsKeyArn",
        ),
        case(
            "negative expiry",
            "/spec/storage",
            json!({"workspaceExpirationDays": -1}),
            "spec.storage.workspaceExpirationDays",
        ),
        case(
            "min capacity above max",
            "/spec/database",
            json!({"minCapacity": 8, "maxCapacity": 4}),
            "spec.database.minCapacity",
        ),
        case(
            "capacity not in half steps",
            "/spec/database",
            json!({"minCapacity": 0.3}),
            "spec.database.minCapacity",
        ),
        case(
            "max capacity not in half steps",
            "/spec/database",
            json!({"maxCapacity": 4.3}),
            "spec.database.maxCapacity",
        ),
        case(
            "negative min capacity",
            "/spec/database",
            json!({"minCapacity": -1}),
            "spec.database.minCapacity",
        ),
        case(
            "max capacity above 256",
            "/spec/database",
            json!({"maxCapacity": 300}),
            "spec.database.maxCapacity",
        ),
        case(
            "external id too short",
            "/spec/externalId",
            json!("x"),
            "spec.externalId",
        ),
        case(
            "external id too long",
            "/spec/externalId",
            json!("x".repeat(1225)),
            "spec.externalId",
        ),
        case(
            "external id with a space",
            "/spec/externalId",
            json!("camden 7f3a"),
            "spec.externalId",
        ),
        case(
            "max capacity below 1",
            "/spec/database",
            json!({"minCapacity": 0, "maxCapacity": 0.5}),
            "spec.database.maxCapacity",
        ),
        case(
            "backup retention too long",
            "/spec/database",
            json!({"backupRetentionDays": 40}),
            "spec.database.backupRetentionDays",
        ),
        case(
            "engine version not a version",
            "/spec/database",
            json!({"engineVersion": "latest"}),
            "spec.database.engineVersion",
        ),
        case(
            "duplicate service names",
            "/spec/services/1",
            json!({"name": "daemon", "image": "x", "cpu": 256, "memory": 512}),
            "spec.services",
        ),
        case(
            "service name not a DNS label",
            "/spec/services/0/name",
            json!("Daemon_1"),
            "spec.services",
        ),
        case(
            "negative replicas",
            "/spec/services/0/replicas",
            json!(-1),
            "spec.services",
        ),
        case(
            "unknown capacity",
            "/spec/services/0/capacity",
            json!("Reserved"),
            "spec.services",
        ),
        case(
            "malformed subnet",
            "/spec/network/subnetIds",
            json!(["vpc-123"]),
            "spec.network.subnetIds",
        ),
        case(
            "no security group",
            "/spec/network/securityGroupIds",
            json!([]),
            "spec.network.securityGroupIds",
        ),
        case(
            "registry on a Child account",
            "/spec/registry",
            json!({"repositories": ["dagster"]}),
            "spec.registry",
        ),
        case(
            "reserved tag key",
            "/spec/tags",
            json!({"aws:createdBy": "me"}),
            "spec.tags",
        ),
        Case {
            what: "services without network",
            object: with(account(), "/spec/network", None),
            field: "spec.network",
        },
    ]
}

fn invalid_grants() -> Vec<Case> {
    let case = |what, pointer: &str, value: Value, field| Case {
        what,
        object: with(grant(), pointer, Some(value)),
        field,
    };
    vec![
        case(
            "grantee account id malformed",
            "/spec/grantee/accountId",
            json!("99999"),
            "spec.grantee.accountId",
        ),
        case(
            "grantee principal not an IAM ARN",
            "/spec/grantee/principals",
            json!(["org-daemon"]),
            "spec.grantee.principals",
        ),
        case("unknown access", "/spec/access", json!("Admin"), "spec.access"),
        case(
            "prefix with a wildcard",
            "/spec/prefixes",
            json!(["exports/*"]),
            "spec.prefixes",
        ),
        case(
            "prefix with a leading slash",
            "/spec/prefixes",
            json!(["/exports/"]),
            "spec.prefixes",
        ),
        Case {
            what: "no grantee",
            object: with(grant(), "/spec/grantee", None),
            field: "spec.grantee",
        },
    ]
}

fn assert_refused(admission: &Admission, case: &Case) {
    let errors = admission.create(&case.object);
    assert!(!errors.is_empty(), "{}: admitted, but must be refused", case.what);
    assert!(
        errors.iter().any(|e| e.contains(case.field)),
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
                .is_err_and(|e| e.problems.iter().any(|p| p.field.starts_with(case.field))),
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
                .is_err_and(|e| e.problems.iter().any(|p| p.field.starts_with(case.field))),
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
