//! The dependency direction of docs/architecture.md: api → aws → engine → operator. `api` knows nothing
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

/// Module path (`parts::compute::model`) of each engine source file, with its text.
fn engine_modules() -> BTreeMap<String, String> {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/engine/src"));
    let mut modules = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("engine/src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let relative = path.strip_prefix(root).expect("under src").with_extension("");
            let mut segments: Vec<String> = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if segments.last().is_some_and(|s| s == "mod" || s == "lib") {
                segments.pop();
            }
            let text = std::fs::read_to_string(&path).expect("source");
            modules.insert(segments.join("::"), text);
        }
    }
    modules
}

/// The engine modules `module` names in paths (`crate::x`, `super::x`, a child's `x::`), each
/// resolved to the longest module it names. Inline test modules count as their file's own code.
fn imports_of(module: &str, text: &str, known: &BTreeMap<String, String>) -> std::collections::BTreeSet<String> {
    let path = paths_in(text);
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let in_tests = text.find("mod tests {").unwrap_or(text.len());
    let children: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().trim_start_matches("pub ").strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .collect();
    let mut found = std::collections::BTreeSet::new();
    for (at, reference) in path {
        let mut segments: Vec<&str> = reference.split("::").collect();
        let base: Vec<String> = match segments[0] {
            "crate" => vec![],
            // `super` inside an inline test module is the file's own module.
            "super" if at >= in_tests => module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            "super" => parent
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            "self" => module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            // A child module named from its parent (`use storage::Storage`): the parent's path.
            child if children.contains(&child) => {
                let mut own: Vec<String> = module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                own.push(child.to_owned());
                own
            }
            _ => continue,
        };
        segments.remove(0);
        let mut full = base;
        full.extend(segments.iter().map(|s| (*s).to_owned()));
        if let Some(m) = longest_module(&full, known) {
            found.insert(m);
        }
    }
    found.remove(module);
    found
}

fn longest_module(segments: &[String], known: &BTreeMap<String, String>) -> Option<String> {
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| known.contains_key(candidate))
}

/// Every `a::b::c` path in `text` (with where it stands), items of `use` braces joined to their
/// prefix one level deep.
fn paths_in(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) && (i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != b':') {
            let start = i;
            let mut end = i;
            loop {
                while end < bytes.len() && is_ident(bytes[end]) {
                    end += 1;
                }
                if text[end..].starts_with("::") && end + 2 < bytes.len() && is_ident(bytes[end + 2]) {
                    end += 2;
                } else {
                    break;
                }
            }
            let path = &text[start..end];
            if path.contains("::") {
                found.push((start, path.to_owned()));
            }
            // `use crate::x::{a, b::c}`: each item under the prefix.
            if text[end..].starts_with("::{") {
                let close = text[end..].find('}').map_or(text.len(), |c| end + c);
                for item in text[end + 3..close].split(',') {
                    let item = item.trim().trim_start_matches('{');
                    if let Some(first) = item.split(['{', ' ', ':']).next().filter(|s| !s.is_empty()) {
                        found.push((start, format!("{path}::{first}")));
                    }
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

/// One module per concern and no cycles: no engine module imports one that (directly or through
/// others) imports it back, so the parts import the shared vocabulary and never their caller.
#[test]
fn no_engine_modules_import_each_other() {
    let modules = engine_modules();
    let graph: BTreeMap<String, std::collections::BTreeSet<String>> = modules
        .iter()
        .filter(|(m, _)| !m.is_empty())
        .map(|(m, text)| (m.clone(), imports_of(m, text, &modules)))
        .collect();
    assert!(graph.len() >= 15, "only {} engine modules found", graph.len());
    assert!(
        graph["parts"].contains("parts::contract")
            && graph["parts::compute::services"].contains("parts::compute::model"),
        "the import scan finds nothing: {graph:#?}"
    );
    let mut cycles = Vec::new();
    for (module, imports) in &graph {
        for imported in imports {
            // Does `imported` reach `module` again?
            let mut stack = vec![imported.clone()];
            let mut seen = std::collections::BTreeSet::new();
            while let Some(next) = stack.pop() {
                if next == *module {
                    cycles.push(format!("{module} -> {imported} -> ... -> {module}"));
                    break;
                }
                if seen.insert(next.clone()) {
                    stack.extend(graph.get(&next).into_iter().flatten().cloned());
                }
            }
        }
    }
    assert!(cycles.is_empty(), "engine modules import each other: {cycles:#?}");
}
