//! Reads the manifests users keep in Git (files or directories of multi-document YAML) into typed
//! objects for `plan` and `apply`.

use std::path::{Path, PathBuf};

use dataplatform_api::{DataPlatformAccount, SharedBucketGrant};
use serde::Deserialize;

/// One object of a manifest.
#[derive(Clone, Debug, PartialEq)]
pub enum Manifest {
    Account(Box<DataPlatformAccount>),
    Grant(Box<SharedBucketGrant>),
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
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    api_version: Option<String>,
    kind: Option<String>,
}

/// Reads every `.yaml`/`.yml` file under `paths` (directories are read in name order), skipping
/// empty documents. Objects without a namespace get `default_namespace`.
pub fn load(paths: &[PathBuf], default_namespace: &str) -> Result<Vec<Manifest>, ManifestError> {
    let mut manifests = Vec::new();
    for file in yaml_files(paths)? {
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Io {
            path: file.clone(),
            source,
        })?;
        manifests.extend(parse(&file, &text, default_namespace)?);
    }
    Ok(manifests)
}

/// Parses one multi-document YAML text.
pub fn parse(path: &Path, text: &str, default_namespace: &str) -> Result<Vec<Manifest>, ManifestError> {
    let mut manifests = Vec::new();
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
        // The namespaces a tenant's file creates for kubectl are nothing to do in AWS.
        if api_version == "v1" && meta.kind.as_deref() == Some("Namespace") {
            continue;
        }
        if api_version != format!("{}/{}", dataplatform_api::GROUP, dataplatform_api::VERSION) {
            return Err(invalid(format!(
                "apiVersion {api_version:?} is not {}/{}; only DataPlatformAccount and SharedBucketGrant manifests are read",
                dataplatform_api::GROUP,
                dataplatform_api::VERSION
            )));
        }
        let mut manifest = match meta.kind.as_deref() {
            Some("DataPlatformAccount") => {
                Manifest::Account(serde_yaml_ng::from_value(value).map_err(|e| invalid(e.to_string()))?)
            }
            Some("SharedBucketGrant") => {
                Manifest::Grant(serde_yaml_ng::from_value(value).map_err(|e| invalid(e.to_string()))?)
            }
            other => {
                return Err(invalid(format!(
                    "kind {other:?} is not DataPlatformAccount or SharedBucketGrant"
                )));
            }
        };
        let metadata = match &mut manifest {
            Manifest::Account(a) => &mut a.metadata,
            Manifest::Grant(g) => &mut g.metadata,
        };
        if metadata.name.as_deref().unwrap_or_default().is_empty() {
            return Err(invalid("metadata.name is required".to_owned()));
        }
        metadata.namespace.get_or_insert_with(|| default_namespace.to_owned());
        manifests.push(manifest);
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
        let manifests = parse(Path::new("m.yaml"), &text, "tenants").expect("parses");
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
    fn skips_the_namespaces_a_file_creates_for_kubectl() {
        let text = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: la-camden}}\n---{ACCOUNT}");
        let manifests = parse(Path::new("m.yaml"), &text, "default").expect("parses");
        assert_eq!(manifests.len(), 1);
        let text = format!("apiVersion: v2\nkind: Namespace\nmetadata: {{name: la-camden}}\n---{ACCOUNT}");
        assert!(
            parse(Path::new("m.yaml"), &text, "default").is_err(),
            "only core v1 Namespaces"
        );
    }

    #[test]
    fn refuses_other_kinds_naming_file_and_document() {
        let text = format!("{ACCOUNT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n");
        let err = parse(Path::new("m.yaml"), &text, "default").expect_err("a ConfigMap is refused");
        let message = err.to_string();
        assert!(message.contains("m.yaml, document 2"), "{message}");
        assert!(message.contains("apiVersion"), "{message}");
    }

    #[test]
    fn refuses_a_malformed_spec_with_the_reason() {
        let text = ACCOUNT.replace("region: eu-west-2", "region: eu-west-2, tier: Parent");
        let message = parse(Path::new("m.yaml"), &text, "default")
            .expect_err("unknown tier")
            .to_string();
        assert!(message.contains("Parent"), "{message}");
    }
}
