//! The dataplatform-operator binary's library: CRD rendering, manifest loading, and the `plan` and
//! `apply` commands over the engine, the controllers of `run`, and the IAM documents of `iam-policy`.

pub mod cli;
pub mod controller;
pub mod crds;
pub mod iam_policy;
pub mod manifests;
