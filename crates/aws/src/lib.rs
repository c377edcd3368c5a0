//! Per-account AWS sessions and typed adapters (`s3`, `iam`, `rds`, `ecs`, `ecr`, `kms`), each with
//! observe/create/update/delete, and the one error type that classifies AWS errors. Knows nothing of
//! Kubernetes; its only arrow into our code is `dataplatform-api` (names, spec types).

pub mod calls;
pub mod error;

pub use calls::{CallCounter, CallCounts, Outcome};
pub use error::{AwsError, ErrorClass};
