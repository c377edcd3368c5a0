//! Counts every AWS call by service, operation and outcome. One SDK interceptor, attached to every
//! client, serves the tests ("a steady-state pass makes zero writes") and, later, the metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    /// Failed; the HTTP status when a response arrived.
    Failure {
        status: Option<u16>,
    },
}

/// One counted kind of call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    pub service: String,
    pub operation: String,
    pub outcome: Outcome,
}

impl CallKey {
    /// Whether the operation only reads. Everything else counts as a write, so a new kind of call
    /// can never hide inside the "steady state makes no writes" promise.
    pub fn is_read(&self) -> bool {
        is_read_operation(&self.operation)
    }
}

/// Read operations, by AWS's naming convention.
pub fn is_read_operation(operation: &str) -> bool {
    ["Get", "List", "Describe", "Head"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

/// A snapshot of the counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCounts(pub BTreeMap<CallKey, u64>);

impl CallCounts {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn reads(&self) -> u64 {
        self.0.iter().filter(|(k, _)| k.is_read()).map(|(_, n)| n).sum()
    }

    pub fn writes(&self) -> u64 {
        self.total() - self.reads()
    }

    /// The write operations made, e.g. `["s3:PutBucketVersioning"]`, for assertion messages.
    pub fn write_operations(&self) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| !k.is_read())
            .map(|k| format!("{}:{}", k.service, k.operation))
            .collect()
    }

    /// Calls of one operation, any outcome.
    pub fn of(&self, operation: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.operation == operation)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The interceptor. Clones share one set of counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<CallKey, u64>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn snapshot(&self) -> CallCounts {
        CallCounts(self.lock().clone())
    }

    /// Clears the counts, e.g. between a create pass and a steady-state pass.
    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<CallKey, u64>> {
        // A panic elsewhere while holding the lock leaves the counts usable.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "dataplatform-call-counter"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        let outcome = match context.output_or_error() {
            Some(Ok(_)) => Outcome::Success,
            _ => Outcome::Failure {
                status: context.response().map(|r| r.status().as_u16()),
            },
        };
        let key = CallKey {
            // The SDK names services "S3", "IAM", "Elastic Load Balancing v2"; metrics and our
            // adapters use IAM's service prefix.
            service: match service {
                "Elastic Load Balancing v2" => "elasticloadbalancing".to_owned(),
                "CloudWatch Logs" => "logs".to_owned(),
                "Application Auto Scaling" => "application-autoscaling".to_owned(),
                "Secrets Manager" => "secretsmanager".to_owned(),
                "Route 53" => "route53".to_owned(),
                "ACM" => "acm".to_owned(),
                "Cognito Identity Provider" => "cognito-idp".to_owned(),
                other => other.to_ascii_lowercase(),
            },
            operation: operation.to_owned(),
            outcome,
        };
        *self.lock().entry(key).or_default() += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(operation: &str) -> CallKey {
        CallKey {
            service: "s3".into(),
            operation: operation.into(),
            outcome: Outcome::Success,
        }
    }

    #[test]
    fn reads_and_writes_are_told_apart_by_operation() {
        let counts = CallCounts(
            [
                (key("GetBucketVersioning"), 3),
                (key("HeadBucket"), 1),
                (key("PutBucketVersioning"), 2),
                (key("CreateBucket"), 1),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(counts.total(), 7);
        assert_eq!(counts.reads(), 4);
        assert_eq!(counts.writes(), 3);
        assert_eq!(counts.write_operations(), ["s3:CreateBucket", "s3:PutBucketVersioning"]);
    }
}
