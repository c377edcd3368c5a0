//! Lints for what a real kube-apiserver refuses although the offline emulation (the rest of this
//! test binary) accepts it. Each rule below was learnt the hard way: a real API server (v1.36)
//! refused our CRDs while every offline test was green. The walk covers every schema of both CRDs,
//! and each lint is itself tested on a small schema that breaks it, so it cannot pass vacuously.
//!
//! Known real-server rules and where they are checked:
//! - `multipleOf` below 1 on a number: the server checks integral values (`0`, `2`, `4.0`) on an
//!   integer code path that truncates the factor to 0, so it refuses every integral value — and the
//!   CRD itself, since defaults are validated. Lint: [`multiple_of_below_one`]. Use a CEL rule.
//! - CEL regexes are RE2 (Go's `regexp`): counted repetition above 1000, also as a product of nested
//!   counts, does not compile, and the CRD is refused. Lint: every regex literal given to
//!   `matches`/`find`/`findAll` is compiled by Google's RE2 (the PyPI `google-re2` binding in the
//!   test virtualenv). Express lengths with `minLength`/`maxLength`.
//! - Defaults are validated against their own schema, CEL rules included. Lint: each `default` is
//!   run through the JSON-schema validator and kube's CEL against the schema it sits on.
//! - CEL cost limits are the server's own estimate, not kube's: only approximated, by
//!   `every_cel_rule_compiles_and_stays_within_the_cost_budget` with kube's estimator.

use super::{collect_rules, nullable_as_type_union};
use dataplatform_api::{DataPlatformAccount, SharedBucketGrant};
use kube::CustomResourceExt;
use kube::core::cel::Validator;
use serde_json::{Value, json};

/// Every `openAPIV3Schema` of both CRDs, each with the CRD's name.
fn crd_schemas() -> Vec<(String, Value)> {
    [DataPlatformAccount::crd(), SharedBucketGrant::crd()]
        .into_iter()
        .flat_map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            crd.spec.versions.into_iter().map(move |v| {
                let schema = v.schema.and_then(|s| s.open_api_v3_schema).expect("schema");
                (
                    format!("{name}/{}", v.name),
                    serde_json::to_value(schema).expect("JSON"),
                )
            })
        })
        .collect()
}

/// Calls `visit(path, schema)` for `schema` and every schema under it.
fn walk<'a>(path: &str, schema: &'a Value, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(path, schema);
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, sub) in properties {
            walk(&format!("{path}.{name}"), sub, visit);
        }
    }
    if let Some(sub @ Value::Object(_)) = schema.get("items") {
        walk(&format!("{path}[]"), sub, visit);
    }
    if let Some(sub @ Value::Object(_)) = schema.get("additionalProperties") {
        walk(&format!("{path}[*]"), sub, visit);
    }
}

/// Paths whose `multipleOf` is below 1.
fn multiple_of_below_one(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk("", schema, &mut |path, s| {
        if let Some(factor) = s.get("multipleOf").and_then(Value::as_f64)
            && factor < 1.0
        {
            found.push(format!("{path}: multipleOf {factor}"));
        }
    });
    found
}

/// The regex literals CEL rules hand to `matches`, `find` and `findAll`.
fn cel_regexes(schema: &Value) -> Vec<(String, String)> {
    let call = regex::Regex::new(r#"\.(?:matches|find|findAll)\(\s*(?:'([^']*)'|"([^"]*)")"#).expect("regex");
    let mut rules = Vec::new();
    collect_rules(schema, &mut rules);
    rules
        .into_iter()
        .flat_map(|(rule, _)| {
            call.captures_iter(&rule)
                .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_owned()))
                .map(|pattern| (rule.clone(), pattern))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The patterns Google's RE2 refuses, each with RE2's reason.
fn refused_by_re2(patterns: &[&str]) -> Vec<String> {
    let python = std::env::var_os("DATAPLATFORM_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let script = r#"
import json, sys
import re2
for pattern in json.load(sys.stdin):
    try:
        re2.compile(pattern)
    except Exception as e:
        print(f"{pattern}: {e}")
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "could not run {}: {e}. Run the README's test command (scripts/test), which installs google-re2 into .venv",
                python.display()
            )
        });
    serde_json::to_writer(child.stdin.take().expect("stdin"), patterns).expect("write patterns");
    let out = child.wait_with_output().expect("python ran");
    assert!(
        out.status.success(),
        "RE2 check failed to run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Defaults their own schema (OpenAPI constraints or CEL rules) refuses.
fn refused_defaults(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk("", schema, &mut |path, s| {
        let Some(default) = s.get("default") else { return };
        let mut bare = s.clone();
        bare.as_object_mut().expect("schema object").remove("default");
        let openapi = jsonschema::draft4::new(&nullable_as_type_union(bare.clone())).expect("valid JSON schema");
        found.extend(
            openapi
                .iter_errors(default)
                .map(|e| format!("{path}: default {default}: {e}")),
        );
        if let Err(errors) = Validator::new().validate(&bare, default, None) {
            found.extend(
                errors
                    .into_vec()
                    .into_iter()
                    .map(|e| format!("{path}: default {default}: {}", e.message)),
            );
        }
    });
    found
}

#[test]
fn no_number_has_a_multiple_of_below_one() {
    for (crd, schema) in crd_schemas() {
        let found = multiple_of_below_one(&schema);
        assert!(
            found.is_empty(),
            "{crd}: the API server refuses every integral value (and the CRD's defaults) under these; use a CEL rule instead: {found:#?}"
        );
    }
}

#[test]
fn every_cel_regex_compiles_under_re2() {
    let mut checked = 0;
    for (crd, schema) in crd_schemas() {
        let regexes = cel_regexes(&schema);
        checked += regexes.len();
        let patterns: Vec<&str> = regexes.iter().map(|(_, p)| p.as_str()).collect();
        let refused = refused_by_re2(&patterns);
        assert!(
            refused.is_empty(),
            "{crd}: the API server cannot compile these CEL rules (RE2: counted repetition at most 1000; use maxLength): {refused:#?}"
        );
    }
    assert!(
        checked >= 10,
        "only {checked} CEL regexes found: the scan has lost them"
    );
}

#[test]
fn every_default_is_admitted_by_its_own_schema() {
    let mut defaults = 0;
    for (crd, schema) in crd_schemas() {
        walk("", &schema, &mut |_, s| {
            defaults += usize::from(s.get("default").is_some())
        });
        let found = refused_defaults(&schema);
        assert!(found.is_empty(), "{crd}: the API server refuses the CRD: {found:#?}");
    }
    assert!(defaults >= 10, "only {defaults} defaults found: the walk has lost them");
}

/// Each lint finds what it exists for, so none passes by finding nothing.
#[test]
fn the_lints_catch_what_the_real_server_refused() {
    let capacity = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "cap": {"type": "number", "multipleOf": 0.5, "default": 4.0},
        "ok": {"type": "number", "multipleOf": 2},
    }}}});
    assert_eq!(multiple_of_below_one(&capacity), [".spec.cap: multipleOf 0.5"]);

    let external_id = json!({"type": "string", "x-kubernetes-validations": [
        {"rule": "self.matches('^[A-Za-z0-9+=,.@:/_-]{2,1224}$')"},
        {"rule": "self.matches(\"^x{2}$\")"},
    ]});
    let regexes = cel_regexes(&external_id);
    assert_eq!(regexes.len(), 2, "{regexes:?}");
    let refused = refused_by_re2(&regexes.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>());
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("{2,1224}"), "{refused:?}");

    let bad_defaults = json!({"type": "object", "properties": {
        "max": {"type": "number", "maximum": 2.0, "default": 4.0},
        "db": {"type": "object", "default": {"min": 8},
            "properties": {"min": {"type": "number"}},
            "x-kubernetes-validations": [{"rule": "self.min <= 4.0", "message": "min too large"}]},
    }});
    let refused = refused_defaults(&bad_defaults);
    assert!(refused.iter().any(|e| e.starts_with(".max:")), "{refused:#?}");
    assert!(
        refused
            .iter()
            .any(|e| e.starts_with(".db:") && e.contains("min too large")),
        "{refused:#?}"
    );
}
