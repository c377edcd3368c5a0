//! The documents stay true to the repository: every relative link in README.md, CHANGELOG.md and
//! docs/ resolves inside it, and the fields docs/api.md documents are exactly those of the generated
//! CRDs, so the contract cannot drift from the types.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dataplatform_operator::crds;
use serde_json::Value;

use crate::rendered::repo;

/// README.md, CHANGELOG.md and every Markdown file under docs/.
fn documents() -> Vec<PathBuf> {
    let root = repo();
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            targets.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    targets
}

#[test]
fn every_relative_link_resolves_inside_the_repository() {
    let root = repo().canonicalize().expect("the repository");
    let mut broken = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            let resolved = file.parent().expect("a folder").join(path).canonicalize();
            match resolved {
                Ok(found) if found.starts_with(&root) => {}
                Ok(found) => broken.push(format!(
                    "{}: {target} leaves the repository ({})",
                    name(&file),
                    found.display()
                )),
                Err(_) => broken.push(format!("{}: {target} does not exist", name(&file))),
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
    assert!(!link_targets("[a](docs/api.md) and [b](https://x)").is_empty());
}

fn name(file: &Path) -> String {
    file.strip_prefix(repo()).unwrap_or(file).display().to_string()
}

/// Every field path of a CRD's spec and status, as docs/api.md writes them (`spec.services[].name`).
fn crd_fields(schema: &Value) -> BTreeSet<String> {
    fn walk(node: &Value, path: &str, out: &mut BTreeSet<String>) {
        let Some(properties) = node["properties"].as_object() else {
            return;
        };
        for (key, field) in properties {
            let here = format!("{path}.{key}");
            out.insert(here.clone());
            match field["type"].as_str() {
                Some("array") => walk(&field["items"], &format!("{here}[]"), out),
                Some("object") => walk(field, &here, out),
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    for part in ["spec", "status"] {
        walk(&schema["properties"][part], part, &mut out);
    }
    out
}

/// The field paths of the tables in one section of docs/api.md: rows that start with `spec.` or
/// `status.` in backticks.
fn documented_fields(section: &str) -> BTreeSet<String> {
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|path| path.starts_with("spec.") || path.starts_with("status."))
        .map(str::to_owned)
        .collect()
}

#[test]
fn docs_api_documents_exactly_the_fields_of_the_generated_crds() {
    let text = std::fs::read_to_string(repo().join("docs/api.md")).expect("docs/api.md");
    let grant_at = text
        .find("\n## SharedBucketGrant")
        .expect("a SharedBucketGrant section");
    let account_at = text
        .find("\n## DataPlatformAccount")
        .expect("a DataPlatformAccount section");
    let sections = [
        ("DataPlatformAccount", &text[account_at..grant_at]),
        ("SharedBucketGrant", &text[grant_at..]),
    ];
    for ((kind, section), (_, crd)) in sections.into_iter().zip(crds::all()) {
        assert_eq!(crd.spec.names.kind, kind);
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("schema");
        let generated = crd_fields(&schema["openAPIV3Schema"]);
        let documented = documented_fields(section);
        let undocumented: Vec<_> = generated.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&generated).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "{kind}: fields of the CRD not in docs/api.md: {undocumented:?}; fields in docs/api.md the CRD does not have: {unknown:?}"
        );
        assert!(generated.len() > 10, "{kind}: {generated:?}");
    }
}
