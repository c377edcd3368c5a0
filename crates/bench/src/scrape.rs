//! What `bench --controller` reads of `run`'s /metrics: AWS calls by operation, passes by kind and
//! result.

use std::time::Duration;

use dataplatform_aws::calls::is_read_operation;

/// AWS calls `run` made, by operation, from its /metrics.
#[derive(Clone, Default)]
pub struct AwsCalls(std::collections::BTreeMap<String, u64>);

impl AwsCalls {
    pub fn reads(&self) -> u64 {
        self.0
            .iter()
            .filter(|(op, _)| is_read_operation(op))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn writes(&self) -> u64 {
        self.total() - self.reads()
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn since(&self, earlier: &AwsCalls) -> AwsCalls {
        let mut calls = self.clone();
        for (operation, n) in &earlier.0 {
            if let Some(count) = calls.0.get_mut(operation) {
                *count -= n;
            }
        }
        calls.0.retain(|_, n| *n > 0);
        calls
    }

    /// The `n` most made operations, with how many per `per`.
    pub fn most_made(&self, n: usize, per: f64) -> String {
        let mut operations: Vec<_> = self.0.iter().collect();
        operations.sort_by(|a, b| b.1.cmp(a.1));
        let shown: Vec<String> = operations
            .iter()
            .take(n)
            .map(|(operation, count)| format!("{operation} {:.1}", **count as f64 / per))
            .collect();
        shown.join(", ")
    }
}

pub async fn aws_calls(metrics: std::net::SocketAddr) -> Result<AwsCalls, String> {
    let mut calls = AwsCalls::default();
    for (labels, value) in samples(&metrics_text(metrics).await?, "dataplatform_aws_calls_total") {
        let operation = label(labels, "operation").unwrap_or_default();
        *calls.0.entry(operation.to_owned()).or_default() += value as u64;
    }
    Ok(calls)
}

/// Passes `run` made so far: (accounts, grants).
pub async fn reconciles(metrics: std::net::SocketAddr) -> Result<(f64, f64), String> {
    let text = metrics_text(metrics).await?;
    let of = |kind: &str| -> f64 {
        samples(&text, "dataplatform_reconciles_total")
            .filter(|(labels, _)| label(labels, "kind") == Some(kind))
            .map(|(_, v)| v)
            .sum()
    };
    Ok((of("DataPlatformAccount"), of("SharedBucketGrant")))
}

/// The passes whose result was not success, by kind and reason (throttling, a connection moto
/// dropped, a dependency not ready yet).
pub fn failed_passes(text: &str) -> Vec<String> {
    samples(text, "dataplatform_reconciles_total")
        .filter(|(labels, value)| label(labels, "result") != Some("success") && *value > 0.0)
        .map(|(labels, value)| {
            let kind = label(labels, "kind").unwrap_or_default();
            format!("{value:.0} {kind} {}", label(labels, "result").unwrap_or_default())
        })
        .collect()
}

/// (labels, value) of each sample of `metric` in the text exposition.
fn samples<'a>(text: &'a str, metric: &'a str) -> impl Iterator<Item = (&'a str, f64)> + 'a {
    text.lines().filter_map(move |line| {
        let rest = line.strip_prefix(metric)?;
        let (labels, value) = rest.rsplit_once(' ')?;
        Some((labels, value.parse().ok()?))
    })
}

fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let end = labels[start..].find('"')?;
    Some(&labels[start..start + end])
}

pub async fn wait_for_metrics(metrics: std::net::SocketAddr) -> Result<(), String> {
    for _ in 0..100 {
        if metrics_text(metrics).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("`run` did not serve /metrics on {metrics}"))
}

/// GET /metrics over a plain TCP connection (HTTP/1.0: the server closes when done).
pub async fn metrics_text(metrics: std::net::SocketAddr) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(metrics)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|e| e.to_string())?;
    let (_, body) = response
        .split_once("\r\n\r\n")
        .ok_or("no HTTP response from /metrics")?;
    Ok(body.to_owned())
}
