//! Reads the manifests users keep in Git (files or directories of multi-document YAML) into typed
//! objects for `plan` and `apply`, refusing what the API server would refuse before the engine
//! sees it: unknown fields, two objects for one AWS account, input too large to be a manifest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use dataplatform_api::admission::Admission;
use dataplatform_api::{DataPlatformAccount, SharedBucketGrant};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Larger than any manifest a person keeps in Git; `/dev/zero` stops here too.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// One object of a manifest.
#[derive(Clone, Debug, PartialEq)]
pub enum Manifest {
    Account(Box<DataPlatformAccount>),
    Grant(Box<SharedBucketGrant>),
}

/// What the files held: our objects, and a note per document of another kind left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifests {
    pub objects: Vec<Manifest>,
    pub skipped: Vec<String>,
}

/// A manifest that cannot be read, with the file and document it came from.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}, document {index}: {message}")]
    Invalid {
        path: PathBuf,
        index: usize,
        message: String,
    },
    #[error("{path}: larger than {MAX_FILE_BYTES} bytes; a manifest is far smaller (is it the right file?)")]
    TooLarge { path: PathBuf },
    #[error("no DataPlatformAccount or SharedBucketGrant found in {}", .paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Empty { paths: Vec<PathBuf> },
    #[error(
        "{first} and {second} both manage AWS account {account_id}; one account is one DataPlatformAccount (remove one)"
    )]
    SameAccount {
        account_id: String,
        first: String,
        second: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    api_version: Option<String>,
    kind: Option<String>,
}

/// Reads every `.yaml`/`.yml` file under `paths` (directories are read in name order), skipping
/// empty documents. Objects without a namespace get `default_namespace`.
pub fn load(paths: &[PathBuf], default_namespace: &str) -> Result<Manifests, ManifestError> {
    let mut manifests = Manifests::default();
    for file in yaml_files(paths)? {
        let text = read_capped(&file)?;
        let parsed = parse(&file, &text, default_namespace)?;
        manifests.objects.extend(parsed.objects);
        manifests.skipped.extend(parsed.skipped);
    }
    if manifests.objects.is_empty() {
        return Err(ManifestError::Empty { paths: paths.to_vec() });
    }
    refuse_shared_accounts(&manifests.objects)?;
    Ok(manifests)
}

fn read_capped(path: &Path) -> Result<String, ManifestError> {
    let io = |source| ManifestError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ManifestError::TooLarge { path: path.to_owned() });
    }
    String::from_utf8(bytes).map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Two objects for one AWS account would build two full stacks in it.
fn refuse_shared_accounts(objects: &[Manifest]) -> Result<(), ManifestError> {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for manifest in objects {
        let Manifest::Account(account) = manifest else { continue };
        let id = format!(
            "DataPlatformAccount {}/{}",
            account.metadata.namespace.as_deref().unwrap_or_default(),
            account.metadata.name.as_deref().unwrap_or_default()
        );
        if let Some(first) = seen.insert(&account.spec.account_id, id.clone()) {
            return Err(ManifestError::SameAccount {
                account_id: account.spec.account_id.clone(),
                first,
                second: id,
            });
        }
    }
    Ok(())
}

static ACCOUNTS: LazyLock<Admission> = LazyLock::new(Admission::accounts);
static GRANTS: LazyLock<Admission> = LazyLock::new(Admission::grants);

/// The CRD's own admission rules (every bound, pattern and CEL rule), as the API server would
/// run them on `kubectl apply` of the same document.
fn admitted(admission: &Admission, value: &serde_yaml_ng::Value) -> Result<(), String> {
    let object = serde_json::to_value(value).map_err(|e| e.to_string())?;
    match admission.create(&object).as_slice() {
        [] => Ok(()),
        errors => Err(format!(
            "the API server would refuse it: {}",
            dataplatform_api::first_few(errors.iter().cloned())
        )),
    }
}

/// `T` from one document, refusing fields the type does not have (the API server's schema would
/// prune them silently; in a file meant for `plan`/`apply` they are typos, e.g. `managementPolcy`).
fn typed<T: DeserializeOwned>(value: serde_yaml_ng::Value) -> Result<T, String> {
    let mut unknown = Vec::new();
    let typed = serde_ignored::deserialize(value, |path| {
        let path = path.to_string();
        // Read (and checked) above; the generated types leave them to the kind itself.
        if path != "apiVersion" && path != "kind" {
            unknown.push(path);
        }
    })
    .map_err(|e| e.to_string())?;
    match unknown.as_slice() {
        [] => Ok(typed),
        fields => Err(format!(
            "unknown field {}: not part of the schema (check the spelling against `kubectl explain`)",
            fields.join(", ")
        )),
    }
}

/// Deeper than any manifest nests its `[` and `{`: the YAML parser's own limit is met only after
/// work that grows with the square of the input.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The deepest nesting of flow collections (`[`, `{`) outside quotes and comments, and where (line).
fn flow_depth(text: &str) -> (usize, usize) {
    let (mut depth, mut deepest, mut at, mut line) = (0usize, 0usize, 0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\n') => line += 1,
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if previous.is_whitespace() || "[{,:".contains(previous) => quote = Some(c),
            (None, '#') if previous.is_whitespace() => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            (None, '[' | '{') => {
                depth += 1;
                if depth > deepest {
                    (deepest, at) = (depth, line);
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    (deepest, at)
}

/// Parses one multi-document YAML text.
pub fn parse(path: &Path, text: &str, default_namespace: &str) -> Result<Manifests, ManifestError> {
    let mut manifests = Manifests::default();
    let (depth, line) = flow_depth(text);
    if depth > MAX_FLOW_DEPTH {
        return Err(ManifestError::Invalid {
            path: path.to_owned(),
            index: 1,
            message: format!(
                "line {line}: `[`/`{{` nested {depth} deep, more than {MAX_FLOW_DEPTH}; no manifest nests so deep"
            ),
        });
    }
    let ours = format!("{}/{}", dataplatform_api::GROUP, dataplatform_api::VERSION);
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_owned(),
            index: index + 1,
            message,
        };
        let value = serde_yaml_ng::Value::deserialize(document).map_err(|e| invalid(e.to_string()))?;
        if value.is_null() {
            continue;
        }
        let meta: TypeMeta = serde_yaml_ng::from_value(value.clone()).map_err(|e| invalid(e.to_string()))?;
        let api_version = meta.api_version.unwrap_or_default();
        let kind = meta.kind.unwrap_or_default();
        let mut manifest = match (api_version == ours, kind.as_str()) {
            (true, "DataPlatformAccount") => {
                admitted(&ACCOUNTS, &value).map_err(invalid)?;
                Manifest::Account(typed(value).map_err(invalid)?)
            }
            (true, "SharedBucketGrant") => {
                admitted(&GRANTS, &value).map_err(invalid)?;
                Manifest::Grant(typed(value).map_err(invalid)?)
            }
            (true, other) => {
                return Err(invalid(format!(
                    "kind {other:?} is not DataPlatformAccount or SharedBucketGrant"
                )));
            }
            (false, "DataPlatformAccount" | "SharedBucketGrant") => {
                return Err(invalid(format!("apiVersion {api_version:?} is not {ours}")));
            }
            // Namespaces and the rest a file meant for `kubectl apply` holds: nothing to do in AWS.
            (false, other) => {
                manifests.skipped.push(format!(
                    "{}, document {}: {api_version} {other} skipped (plan and apply read DataPlatformAccount and SharedBucketGrant only)",
                    path.display(),
                    index + 1
                ));
                continue;
            }
        };
        let metadata = match &mut manifest {
            Manifest::Account(a) => &mut a.metadata,
            Manifest::Grant(g) => &mut g.metadata,
        };
        if metadata.name.as_deref().unwrap_or_default().is_empty() {
            return Err(invalid("metadata.name is required".to_owned()));
        }
        let namespace = metadata.namespace.get_or_insert_with(|| default_namespace.to_owned());
        dataplatform_api::validate_object_name(namespace, metadata.name.as_deref().unwrap_or_default())
            .map_err(|e| invalid(e.to_string()))?;
        manifests.objects.push(manifest);
    }
    Ok(manifests)
}

fn yaml_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| ManifestError::Io {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "yaml" || ext == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = r#"
apiVersion: dataplatform.io/v1alpha1
kind: DataPlatformAccount
metadata: {name: camden}
spec: {accountId: "111111111111", region: eu-west-2}
"#;

    #[test]
    fn reads_several_documents_and_defaults_the_namespace() {
        let text = format!(
            "{ACCOUNT}---\n---\n{}",
            ACCOUNT
                .replace("camden", "barnet")
                .replace("111111111111", "222222222222")
        );
        let manifests = parse(Path::new("m.yaml"), &text, "tenants").expect("parses").objects;
        assert_eq!(manifests.len(), 2);
        let Manifest::Account(first) = &manifests[0] else {
            panic!("an account")
        };
        assert_eq!(first.metadata.namespace.as_deref(), Some("tenants"));
        assert_eq!(
            first.spec.database.backup_retention_days, 7,
            "defaults are applied as the API server would"
        );
    }

    #[test]
    fn skips_documents_of_other_kinds_with_a_note() {
        let text = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: la-camden}}\n---{ACCOUNT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n"
        );
        let manifests = parse(Path::new("m.yaml"), &text, "default").expect("parses");
        assert_eq!(manifests.objects.len(), 1);
        assert_eq!(manifests.skipped.len(), 2, "{:?}", manifests.skipped);
        assert!(
            manifests.skipped[1].contains("m.yaml, document 3") && manifests.skipped[1].contains("ConfigMap"),
            "{:?}",
            manifests.skipped
        );
    }

    #[test]
    fn refuses_our_kinds_under_another_api_version_and_unknown_kinds_of_our_group() {
        let text = format!("{ACCOUNT}---\n{}", ACCOUNT.replace("v1alpha1", "v1"));
        let message = parse(Path::new("m.yaml"), &text, "default")
            .expect_err("v1")
            .to_string();
        assert!(
            message.contains("m.yaml, document 2") && message.contains("apiVersion"),
            "{message}"
        );
        let text = ACCOUNT.replace("kind: DataPlatformAccount", "kind: DataPlatformAcount");
        let message = parse(Path::new("m.yaml"), &text, "default")
            .expect_err("typo")
            .to_string();
        assert!(message.contains("DataPlatformAcount"), "{message}");
    }

    #[test]
    fn refuses_unknown_fields_naming_them() {
        for (typo, field) in [
            ("managementPolcy: ObserveOnly", "spec.managementPolcy"),
            (
                "network: {subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d]}, services: [{name: d, image: x, cpu: 256, memory: 512, replica: 3}]",
                "spec.services.0.replica",
            ),
        ] {
            let text = ACCOUNT.replace("region: eu-west-2", &format!("region: eu-west-2, {typo}"));
            let message = parse(Path::new("m.yaml"), &text, "default")
                .expect_err("an unknown field")
                .to_string();
            assert!(
                message.contains(field) && message.contains("unknown field"),
                "{message}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_at_once_and_quotes_and_comments_do_not_count() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        let message = parse(Path::new("m.yaml"), &deep, "default")
            .expect_err("too deep")
            .to_string();
        assert!(message.contains("nested") && message.contains("line 1"), "{message}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let quoted = format!("{ACCOUNT}  # {}\nx: '{}'\n", "[".repeat(100), "{".repeat(100));
        assert_eq!(flow_depth(&quoted).0, 1, "only the spec's own braces count");
    }

    #[test]
    fn refuses_names_kubernetes_would_refuse() {
        let text = ACCOUNT.replace("name: camden", "name: Camden West");
        let message = parse(Path::new("m.yaml"), &text, "default")
            .expect_err("bad name")
            .to_string();
        assert!(
            message.contains("m.yaml, document 1") && message.contains("metadata.name"),
            "{message}"
        );
    }

    /// The admission tests' corpus of invalid objects (crates/api/tests/admission/invalid.yaml):
    /// `plan`/`apply` refuse each one before any AWS call, naming the field, as the API server does.
    #[test]
    fn refuses_every_object_admission_refuses_naming_the_field() {
        #[derive(Deserialize)]
        struct Case {
            what: String,
            field: String,
            object: serde_json::Value,
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/tests/admission/invalid.yaml");
        let cases: Vec<Case> =
            serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("corpus")).expect("corpus is YAML");
        assert!(cases.len() >= 30, "{} cases", cases.len());
        for case in cases {
            let text = serde_yaml_ng::to_string(&case.object).expect("YAML");
            let message = match parse(Path::new("case.yaml"), &text, "default") {
                Ok(_) => panic!("{}: plan/apply accept what admission refuses", case.what),
                Err(e) => e.to_string(),
            };
            assert!(message.contains(&case.field), "{}: {message}", case.what);
        }
    }

    #[test]
    fn bounds_and_patterns_of_the_schema_are_refused() {
        let text = ACCOUNT.replace(
            "region: eu-west-2",
            "region: eu-west-2, services: [{name: d, image: x, cpu: 256, memory: 512, replicas: 1001}]",
        );
        let message = parse(Path::new("m.yaml"), &text, "default")
            .expect_err("1001 replicas")
            .to_string();
        assert!(message.contains("spec.services.0.replicas"), "{message}");
    }

    #[test]
    fn refuses_a_malformed_spec_with_the_reason() {
        let text = ACCOUNT.replace("region: eu-west-2", "region: eu-west-2, tier: Parent");
        let message = parse(Path::new("m.yaml"), &text, "default")
            .expect_err("unknown tier")
            .to_string();
        assert!(message.contains("Parent"), "{message}");
    }

    #[test]
    fn refuses_empty_input_two_objects_for_one_account_and_oversized_files() {
        let dir = std::env::temp_dir().join(format!("manifests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let comments = write("comments.yaml", "# nothing here\n");
        let message = load(&[comments], "default").expect_err("empty").to_string();
        assert!(
            message.contains("no DataPlatformAccount or SharedBucketGrant found in"),
            "{message}"
        );

        let twice = write(
            "twice.yaml",
            &format!("{ACCOUNT}---\n{}", ACCOUNT.replace("camden", "barnet")),
        );
        let message = load(&[twice], "default").expect_err("one account twice").to_string();
        assert!(
            message.contains("default/camden")
                && message.contains("default/barnet")
                && message.contains("111111111111"),
            "{message}"
        );

        let huge = dir.join("huge.yaml");
        let file = std::fs::File::create(&huge).expect("create");
        file.set_len(MAX_FILE_BYTES + 1).expect("grow");
        let message = load(&[huge], "default").expect_err("too large").to_string();
        assert!(
            message.contains("huge.yaml") && message.contains("larger than"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
