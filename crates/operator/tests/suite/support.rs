//! The Kubernetes side of the controller tests: the in-memory API server the bench uses too.

pub use dataplatform_memory_api_server::{ApiServer, GROUP_PATH};
