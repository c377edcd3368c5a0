//! What `/metrics` reports, in the Prometheus text format: reconciles by kind and result, their
//! duration, drift corrections, time from creation to Ready, objects by Ready state, and every AWS
//! call by service, operation and outcome (from the engine's call counter).

use std::sync::Mutex;
use std::time::Duration;

use dataplatform_aws::calls::{CallCounts, Outcome};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    kind: &'static str,
    /// `success`, or the condition reason of the error (`Throttled`, `InvalidSpec`, …).
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AwsCallLabels {
    service: String,
    operation: String,
    /// `success`, or `error_<http status>` (`error_none` when no response arrived).
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadyLabels {
    kind: &'static str,
    ready: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily<KindLabels>,
    drift_corrections: Family<KindLabels, Counter>,
    time_to_ready: HistogramFamily<KindLabels>,
    objects: Family<ReadyLabels, Gauge>,
    aws_calls: Family<AwsCallLabels, Counter>,
    /// The call counts already added to `aws_calls` (the counter is cumulative; Prometheus
    /// counters only move up).
    aws_calls_seen: Mutex<CallCounts>,
}

fn duration_histogram() -> Histogram {
    // 50 ms … ~7 min: a steady-state pass is a few reads, a first pass creates a whole account.
    Histogram::new(exponential_buckets(0.05, 2.0, 14))
}

fn time_to_ready_histogram() -> Histogram {
    // 10 s … ~3 h: buckets are quick, Aurora takes many minutes.
    Histogram::new(exponential_buckets(10.0, 2.0, 11))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Ready state of one object for the `dataplatform_objects` gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyState {
    True,
    False,
    Unknown,
}

impl ReadyState {
    fn label(self) -> &'static str {
        match self {
            ReadyState::True => "True",
            ReadyState::False => "False",
            ReadyState::Unknown => "Unknown",
        }
    }

    pub fn of(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> Self {
        match dataplatform_api::conditions::find(conditions, dataplatform_api::conditions::READY) {
            Some(c) if c.status == "True" => ReadyState::True,
            Some(c) if c.status == "False" => ReadyState::False,
            _ => ReadyState::Unknown,
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dataplatform");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register("reconciles", "Reconcile passes by kind and result", reconciles.clone());
        let reconcile_duration = HistogramFamily::<KindLabels>::new_with_constructor(duration_histogram as fn() -> _);
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile pass, AWS calls included",
            reconcile_duration.clone(),
        );
        let drift_corrections = Family::<KindLabels, Counter>::default();
        registry.register(
            "drift_corrections",
            "Fields set back to the spec after they changed in AWS",
            drift_corrections.clone(),
        );
        let time_to_ready = HistogramFamily::<KindLabels>::new_with_constructor(time_to_ready_histogram as fn() -> _);
        registry.register(
            "time_to_ready_seconds",
            "Time from an object's creation to its first Ready=True",
            time_to_ready.clone(),
        );
        let objects = Family::<ReadyLabels, Gauge>::default();
        registry.register("objects", "Objects by kind and Ready condition", objects.clone());
        let aws_calls = Family::<AwsCallLabels, Counter>::default();
        registry.register(
            "aws_calls",
            "AWS API calls by service, operation and outcome",
            aws_calls.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_duration,
            drift_corrections,
            time_to_ready,
            objects,
            aws_calls,
            aws_calls_seen: Mutex::new(CallCounts::default()),
        }
    }

    /// One reconcile pass ended: `result` is `None` on success, else the error's condition reason.
    pub fn reconciled(&self, kind: &'static str, result: Option<&str>, took: Duration) {
        let result = result.unwrap_or("success").to_owned();
        self.reconciles.get_or_create(&ReconcileLabels { kind, result }).inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind })
            .observe(took.as_secs_f64());
    }

    pub fn drift_corrected(&self, kind: &'static str, fields: usize) {
        if fields > 0 {
            self.drift_corrections
                .get_or_create(&KindLabels { kind })
                .inc_by(fields as u64);
        }
    }

    pub fn became_ready(&self, kind: &'static str, since_creation: Duration) {
        self.time_to_ready
            .get_or_create(&KindLabels { kind })
            .observe(since_creation.as_secs_f64());
    }

    /// The text exposition, with the object gauges and AWS call counters brought up to date.
    pub fn render(&self, objects: &[(&'static str, ReadyState)], calls: &CallCounts) -> String {
        self.objects.clear();
        for kind in ["DataPlatformAccount", "SharedBucketGrant"] {
            for state in [ReadyState::True, ReadyState::False, ReadyState::Unknown] {
                let count = objects.iter().filter(|(k, s)| *k == kind && *s == state).count();
                self.objects
                    .get_or_create(&ReadyLabels {
                        kind,
                        ready: state.label(),
                    })
                    .set(count as i64);
            }
        }
        self.add_new_calls(calls);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn add_new_calls(&self, calls: &CallCounts) {
        let mut seen = self.aws_calls_seen.lock().unwrap_or_else(|p| p.into_inner());
        for (key, &count) in &calls.0 {
            let before = seen.0.get(key).copied().unwrap_or(0);
            if count > before {
                let outcome = match key.outcome {
                    Outcome::Success => "success".to_owned(),
                    Outcome::Failure { status: Some(code) } => format!("error_{code}"),
                    Outcome::Failure { status: None } => "error_none".to_owned(),
                };
                self.aws_calls
                    .get_or_create(&AwsCallLabels {
                        service: key.service.clone(),
                        operation: key.operation.clone(),
                        outcome,
                    })
                    .inc_by(count - before);
            }
        }
        *seen = calls.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplatform_aws::calls::CallKey;

    fn calls(n: u64) -> CallCounts {
        CallCounts(
            [(
                CallKey {
                    service: "s3".into(),
                    operation: "GetBucketPolicy".into(),
                    outcome: Outcome::Success,
                },
                n,
            )]
            .into(),
        )
    }

    #[test]
    fn renders_every_family_and_counts_aws_calls_once() {
        let metrics = Metrics::new();
        metrics.reconciled("DataPlatformAccount", None, Duration::from_millis(120));
        metrics.reconciled("SharedBucketGrant", Some("InvalidSpec"), Duration::from_millis(1));
        metrics.drift_corrected("DataPlatformAccount", 2);
        metrics.became_ready("DataPlatformAccount", Duration::from_secs(42));
        let objects = [
            ("DataPlatformAccount", ReadyState::True),
            ("DataPlatformAccount", ReadyState::False),
            ("SharedBucketGrant", ReadyState::Unknown),
        ];
        metrics.render(&objects, &calls(3));
        let text = metrics.render(&objects, &calls(5));
        for line in [
            r#"dataplatform_reconciles_total{kind="DataPlatformAccount",result="success"} 1"#,
            r#"dataplatform_reconciles_total{kind="SharedBucketGrant",result="InvalidSpec"} 1"#,
            r#"dataplatform_reconcile_duration_seconds_count{kind="DataPlatformAccount"} 1"#,
            r#"dataplatform_drift_corrections_total{kind="DataPlatformAccount"} 2"#,
            r#"dataplatform_time_to_ready_seconds_sum{kind="DataPlatformAccount"} 42.0"#,
            r#"dataplatform_objects{kind="DataPlatformAccount",ready="True"} 1"#,
            r#"dataplatform_objects{kind="SharedBucketGrant",ready="Unknown"} 1"#,
            r#"dataplatform_objects{kind="SharedBucketGrant",ready="True"} 0"#,
            r#"dataplatform_aws_calls_total{service="s3",operation="GetBucketPolicy",outcome="success"} 5"#,
        ] {
            assert!(text.contains(line), "missing {line}\n{text}");
        }
    }
}
