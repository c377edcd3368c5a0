//! The dataplatform-operator binary's library: CRD rendering, manifest loading, and the `plan` and
//! `apply` commands over the engine, and the controllers of `run`.

pub mod bench;
pub mod cli;
pub mod controller;
pub mod crds;
pub mod manifests;
