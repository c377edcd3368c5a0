//! Per-account AWS sessions and typed adapters (`s3`, `iam`, `rds`, `ecs`, `network` (EC2), `elb`, `ecr`, `kms`),
//! each with observe/create/update/delete, and the one error type that classifies AWS errors. Knows
//! nothing of Kubernetes; its only arrow into our code is `dataplatform-api` (names, spec types).

pub mod acm;
pub mod budget;
pub mod calls;
pub mod cognito;
pub mod credentials;
pub mod ecr;
pub mod ecs;
pub mod elb;
pub mod error;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod network;
pub mod permissions;
pub mod policy;
pub mod quotas;
pub mod rds;
pub mod recorder;
pub mod retry;
pub mod route53;
pub mod s3;
pub mod s3_logging;
pub mod scaling;
pub mod secrets;
pub mod servicediscovery;
pub mod session;
pub mod tags;

pub use budget::BudgetConfig;
pub use calls::{CallCounter, CallCounts, Outcome};
pub use error::{AwsError, ErrorClass};
pub use quotas::{AccountQuotas, Quota, QuotaExceeded, QuotaUse};
pub use retry::RetryPolicy;
pub use session::{AccountSession, AccountTarget, AwsSettings, IdentityError, Sessions};
pub use tags::TagUpdate;
