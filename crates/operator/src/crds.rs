//! The CustomResourceDefinitions as YAML, generated from the Rust types. `crds/` holds the
//! committed output; a test fails when the two differ.

use std::path::Path;

use dataplatform_api::{DataPlatformAccount, SharedBucketGrant};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// Every CRD of the operator with the file name it is committed under in `crds/`.
pub fn all() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("dataplatform.io_dataplatformaccounts.yaml", DataPlatformAccount::crd()),
        ("dataplatform.io_sharedbucketgrants.yaml", SharedBucketGrant::crd()),
    ]
}

/// One CRD as a YAML document.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml_ng::Error> {
    serde_yaml_ng::to_string(crd)
}

/// All CRDs as one multi-document YAML stream, for `kubectl apply -f -`.
pub fn render_all() -> Result<String, serde_yaml_ng::Error> {
    let documents = all()
        .iter()
        .map(|(_, crd)| to_yaml(crd))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(documents.iter().map(|doc| format!("---\n{doc}")).collect())
}

/// Writes each CRD to its file in `dir`.
pub fn write_to(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    for (file, crd) in all() {
        std::fs::write(dir.join(file), to_yaml(&crd)?)?;
    }
    Ok(())
}
