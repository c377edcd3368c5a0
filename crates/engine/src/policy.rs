//! IAM policy documents compared by meaning, not by text: AWS reorders keys, turns one-element lists
//! into strings and reformats whitespace, and none of that may look like drift. Bucket policies are
//! shared between owners (the TLS rule, each grant, statements people add by hand), so statements
//! are merged by Sid and only the ones a caller owns are ever replaced.

use serde_json::{Map, Value, json};

pub const VERSION: &str = "2012-10-17";

/// Canonical form: `Statement` always a list, and every value that IAM lets be "a string or a list"
/// a sorted, de-duplicated list.
pub fn normalize(document: &Value) -> Value {
    match document {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match key.as_str() {
                        "Statement" => Value::Array(as_list(value).iter().map(normalize_statement).collect()),
                        _ => value.clone(),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn normalize_statement(statement: &Value) -> Value {
    let Value::Object(map) = statement else {
        return statement.clone();
    };
    Value::Object(
        map.iter()
            .map(|(key, value)| {
                let value = match key.as_str() {
                    "Action" | "NotAction" | "Resource" | "NotResource" => sorted_list(value),
                    "Principal" | "NotPrincipal" => match value {
                        Value::Object(principals) => {
                            Value::Object(principals.iter().map(|(k, v)| (k.clone(), sorted_list(v))).collect())
                        }
                        other => other.clone(),
                    },
                    "Condition" => match value {
                        Value::Object(operators) => Value::Object(
                            operators
                                .iter()
                                .map(|(op, keys)| {
                                    let keys = match keys {
                                        Value::Object(keys) => Value::Object(
                                            keys.iter().map(|(k, v)| (k.clone(), sorted_list(v))).collect(),
                                        ),
                                        other => other.clone(),
                                    };
                                    (op.clone(), keys)
                                })
                                .collect(),
                        ),
                        other => other.clone(),
                    },
                    _ => value.clone(),
                };
                (key.clone(), value)
            })
            .collect(),
    )
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn sorted_list(value: &Value) -> Value {
    let mut items: Vec<String> = as_list(value)
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

/// Two documents mean the same (statement order aside).
pub fn same_document(a: &Value, b: &Value) -> bool {
    let (mut a, mut b) = (normalize(a), normalize(b));
    for doc in [&mut a, &mut b] {
        if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
            statements.sort_by_key(|s| s.to_string());
        }
    }
    a == b
}

pub fn same_statement(a: &Value, b: &Value) -> bool {
    normalize_statement(a) == normalize_statement(b)
}

/// The statements of a document, however it spells them (one object or a list).
pub fn statements(document: Option<&Value>) -> Vec<Value> {
    document
        .and_then(|doc| doc.get("Statement"))
        .map(as_list)
        .unwrap_or_default()
}

/// One line for people: `Allow arn:aws:iam::1:root s3:GetObject on arn:aws:s3:::b/*`, with the
/// condition keys when there are any.
pub fn describe_statement(statement: &Value) -> String {
    let normalized = normalize_statement(statement);
    let words = |key: &str| {
        normalized
            .get(key)
            .map(|v| {
                as_list(v)
                    .iter()
                    .map(|w| w.as_str().map_or_else(|| w.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let principals = match normalized.get("Principal") {
        Some(Value::Object(kinds)) => kinds
            .values()
            .flat_map(as_list)
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.as_str().unwrap_or("*").to_owned(),
        None => String::new(),
    };
    let mut line = [
        words("Effect"),
        principals,
        words("Action"),
        "on".to_owned(),
        words("Resource"),
    ]
    .into_iter()
    .filter(|w| !w.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    if let Some(Value::Object(operators)) = normalized.get("Condition") {
        for (operator, keys) in operators {
            for (key, values) in keys.as_object().into_iter().flatten() {
                let values: Vec<String> = as_list(values)
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect();
                line.push_str(&format!(" if {key} {operator} {}", values.join(",")));
            }
        }
    }
    line
}

/// One policy statement, built field by field rather than written as a JSON literal.
#[derive(Clone, Debug)]
pub struct Statement(Map<String, Value>);

impl Statement {
    pub fn allow(sid: &str) -> Self {
        Self::new(sid, "Allow")
    }

    pub fn deny(sid: &str) -> Self {
        Self::new(sid, "Deny")
    }

    /// A statement without a Sid (trust policies have none).
    pub fn allow_unnamed() -> Self {
        Self(Map::from_iter([("Effect".to_owned(), json!("Allow"))]))
    }

    fn new(sid: &str, effect: &str) -> Self {
        Self(Map::from_iter([
            ("Sid".to_owned(), json!(sid)),
            ("Effect".to_owned(), json!(effect)),
        ]))
    }

    /// `kind` is `AWS`, `Service` or `Federated`; `who` a name or a list of them.
    pub fn principal(self, kind: &str, who: impl Into<Value>) -> Self {
        self.with("Principal", json!({kind: who.into()}))
    }

    /// `"Principal": "*"`.
    pub fn anyone(self) -> Self {
        self.with("Principal", json!("*"))
    }

    pub fn action(self, action: &str) -> Self {
        self.with("Action", json!(action))
    }

    pub fn actions(self, actions: &[&str]) -> Self {
        self.with("Action", json!(actions))
    }

    pub fn resource(self, resource: impl Into<String>) -> Self {
        self.with("Resource", Value::String(resource.into()))
    }

    pub fn resources(self, resources: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let resources: Vec<Value> = resources.into_iter().map(|r| Value::String(r.into())).collect();
        self.with("Resource", Value::Array(resources))
    }

    /// Adds `"Condition": {operator: {key: value}}` (several calls add several keys).
    pub fn condition(mut self, operator: &str, key: &str, value: impl Into<Value>) -> Self {
        let conditions = self.0.entry("Condition").or_insert_with(|| json!({}));
        if let Value::Object(operators) = conditions {
            let keys = operators.entry(operator).or_insert_with(|| json!({}));
            if let Value::Object(keys) = keys {
                keys.insert(key.to_owned(), value.into());
            }
        }
        self
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

pub fn parse(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

pub fn document(statements: Vec<Value>) -> Value {
    json!({"Version": VERSION, "Statement": statements})
}

pub fn sid(statement: &Value) -> Option<&str> {
    statement.get("Sid").and_then(Value::as_str)
}

/// The result of putting a caller's statements into a shared policy.
#[derive(Clone, Debug, PartialEq)]
pub enum Merged {
    /// The policy already holds exactly these statements.
    Unchanged,
    /// Write this document.
    Put(Value),
    /// No statement is left: remove the policy.
    Delete,
}

/// Replaces the statements `owns` claims with `wanted`, keeping every other statement as it is.
/// An unreadable existing document is replaced only if nothing but ours was in it — we cannot tell,
/// so it is kept and reported by the caller as a conflict instead.
pub fn merge_owned(existing: Option<&Value>, owns: impl Fn(&str) -> bool, wanted: &[Value]) -> Merged {
    let current = statements(existing);
    let (ours, others): (Vec<Value>, Vec<Value>) = current.into_iter().partition(|s| sid(s).is_some_and(&owns));
    if same_document(&document(ours), &document(wanted.to_vec())) {
        return Merged::Unchanged;
    }
    let mut statements = others;
    statements.extend(wanted.iter().cloned());
    if statements.is_empty() {
        return Merged::Delete;
    }
    let mut merged = existing.and_then(Value::as_object).cloned().unwrap_or_else(Map::new);
    merged.insert("Version".into(), Value::String(VERSION.into()));
    merged.insert("Statement".into(), Value::Array(statements));
    Merged::Put(Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reformatted_and_reordered_documents_are_the_same() {
        let ours = json!({"Version": VERSION, "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::b",
             "Principal": {"AWS": ["arn:aws:iam::1:root"]}},
            {"Sid": "B", "Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::b"],
             "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}
        ]});
        let as_aws_returns_it = json!({"Statement": [
            {"Condition": {"Bool": {"aws:SecureTransport": "false"}}, "Resource": "arn:aws:s3:::b", "Action": "s3:*",
             "Effect": "Deny", "Sid": "B"},
            {"Principal": {"AWS": "arn:aws:iam::1:root"}, "Sid": "A", "Effect": "Allow",
             "Resource": ["arn:aws:s3:::b"], "Action": ["s3:ListBucket", "s3:GetObject"]}
        ], "Version": VERSION});
        assert!(same_document(&ours, &as_aws_returns_it));
        let widened = json!({"Version": VERSION, "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b",
             "Principal": {"AWS": "arn:aws:iam::1:root"}}]});
        assert!(!same_document(&ours, &widened));
    }

    #[test]
    fn merging_replaces_only_owned_statements() {
        let by_hand = json!({"Sid": "HandWritten", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "x"});
        let old_ours = json!({"Sid": "Ours", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "old"});
        let new_ours = json!({"Sid": "Ours", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "new"});
        let existing = document(vec![by_hand.clone(), old_ours.clone()]);
        let owns = |sid: &str| sid == "Ours";

        assert_eq!(merge_owned(Some(&existing), owns, &[old_ours]), Merged::Unchanged);
        let Merged::Put(merged) = merge_owned(Some(&existing), owns, std::slice::from_ref(&new_ours)) else {
            panic!("a changed statement must be written");
        };
        assert!(same_document(&merged, &document(vec![by_hand.clone(), new_ours])));
        let Merged::Put(without_ours) = merge_owned(Some(&existing), owns, &[]) else {
            panic!("removing ours keeps the hand-written statement");
        };
        assert!(same_document(&without_ours, &document(vec![by_hand])));
        assert_eq!(
            merge_owned(Some(&document(vec![json!({"Sid": "Ours"})])), owns, &[]),
            Merged::Delete
        );
        assert_eq!(merge_owned(None, owns, &[]), Merged::Unchanged);
    }
}
