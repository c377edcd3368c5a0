//! Per-account AWS sessions and typed adapters (`s3`, `iam`, `rds`, `ecs`, `ecr`, `kms`), each with
//! observe/create/update/delete, and the one error type that classifies AWS errors. Knows nothing of
//! Kubernetes. Filled by the account-engine issue; the dependency on `dataplatform-api` (names, spec
//! types) is its only arrow into our code.
