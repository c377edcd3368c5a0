//! The Kubernetes side of the controller tests: the in-memory API server the bench uses too.

pub use dataplatform_operator::api_server::{ApiServer, GROUP_PATH};
