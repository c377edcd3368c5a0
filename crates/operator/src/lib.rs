//! The `dataplatform-operator` binary's pieces, as a library so tests can reach them.

pub mod crds;
pub mod manifests;
pub mod plan_preview;
