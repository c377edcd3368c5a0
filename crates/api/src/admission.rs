//! Admission as the API server runs it, offline: defaults applied, then the OpenAPI constraints (a
//! JSON-schema validator) and the CEL `x-kubernetes-validations` (kube's CEL) of the generated CRDs.
//! `plan`/`apply` run it on every manifest (they never meet an API server), and the admission tests
//! run the same code, so the two cannot disagree.
//!
//! It is an emulation, and what it does not model is listed in `tests/admission.rs`; the real-server
//! rules learnt so far are linted in `tests/admission/real_server.rs`. One real-server behaviour it
//! does model: CEL sees every `type: number` value as a double, also when written as `4`.

use jsonschema::error::ValidationErrorKind;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::core::cel::{Validator, apply_defaults};
use serde_json::{Value, json};

use crate::{DataPlatformAccount, SharedBucketGrant};

/// One kind's schema, ready to review objects.
pub struct Admission {
    /// The CRD's `openAPIV3Schema`.
    pub schema: Value,
    openapi: jsonschema::Validator,
}

impl Admission {
    pub fn new(crd: CustomResourceDefinition) -> Self {
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

    pub fn accounts() -> Self {
        Self::new(DataPlatformAccount::crd())
    }

    pub fn grants() -> Self {
        Self::new(SharedBucketGrant::crd())
    }

    /// Errors the API server would return, each as "field: message".
    pub fn review(&self, object: &Value, old: Option<&Value>) -> Vec<String> {
        let defaulted = apply_defaults(&self.schema, object);
        let mut blocking = false;
        let mut errors: Vec<String> = self
            .openapi
            .iter_errors(&defaulted)
            .map(|e| {
                blocking |= blocks_cel(e.kind());
                let mut field = e.instance_path().to_string().trim_start_matches('/').replace('/', ".");
                // The API server reports a missing property at the property's own path.
                if let jsonschema::error::ValidationErrorKind::Required {
                    property: Value::String(property),
                } = e.kind()
                {
                    field = format!("{field}.{property}");
                }
                format!("{field}: {}", describe(&e))
            })
            .collect();
        // The API server runs no CEL rule on an object that failed one of these (strategy.go's
        // `hasBlockingErr` in apiextensions-apiserver): the rules were written for the schema's
        // shape and bounds, and their cost is bounded by them (a list past maxItems would cost
        // more than the server's estimate allowed).
        if blocking {
            errors.push(CEL_SKIPPED.to_owned());
            return errors;
        }
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

    pub fn create(&self, object: &Value) -> Vec<String> {
        self.review(object, None)
    }
}

/// What the API server adds when it skipped the CEL rules.
pub const CEL_SKIPPED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// The schema errors after which the API server runs no CEL rule: a wrong type, a missing required
/// field, a value outside an enum, and a string, list or map past its maximum.
fn blocks_cel(kind: &ValidationErrorKind) -> bool {
    matches!(
        kind,
        ValidationErrorKind::Type { .. }
            | ValidationErrorKind::Required { .. }
            | ValidationErrorKind::Enum { .. }
            | ValidationErrorKind::MaxLength { .. }
            | ValidationErrorKind::MaxItems { .. }
            | ValidationErrorKind::MaxProperties { .. }
    )
}

/// The longest a message may quote of the value it is about: a list of a thousand services
/// quoted whole made a message of 119 KB.
const QUOTE_LIMIT: usize = 200;

/// The error in the API server's words where the value would be quoted at length (sizes), else
/// the validator's, its quote of the value cut short.
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    let instance = error.instance();
    match error.kind() {
        ValidationErrorKind::MaxItems { limit } => {
            let n = instance.as_array().map_or(0, Vec::len);
            format!("Too many: {n}: must have at most {limit} items")
        }
        ValidationErrorKind::MaxProperties { limit } => {
            let n = instance.as_object().map_or(0, serde_json::Map::len);
            format!("Too many: {n}: must have at most {limit} items")
        }
        ValidationErrorKind::MaxLength { limit } => {
            let n = instance.as_str().map_or(0, str::len);
            format!("Too long: {n}: may not be more than {limit} bytes")
        }
        _ => {
            let text = error.to_string();
            match text.char_indices().nth(QUOTE_LIMIT) {
                Some((cut, _)) => format!("{}... ({} characters in all)", &text[..cut], text.chars().count()),
                None => text,
            }
        }
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

pub fn nullable_as_type_union(mut schema: Value) -> Value {
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
