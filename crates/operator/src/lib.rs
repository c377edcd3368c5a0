//! The dataplatform-operator binary's library: CRD rendering, manifest loading, and the `plan` and
//! `apply` commands over the engine, the controllers of `run`, and the IAM documents of `iam-policy`.

pub mod cli;
pub mod controller;
pub mod crds;
pub mod iam_policy;
pub mod manifests;

/// The log filter: `RUST_LOG` when set (else `default_level`), with the AWS SDK's runtime held to
/// `debug` whatever it says. At `trace` the SDK prints every request body, and a sign-in rule's
/// request carries the OIDC client secret, which must never reach a log.
pub fn log_filter(rust_log: Option<&str>, default_level: &str) -> tracing_subscriber::EnvFilter {
    let mut filter = rust_log
        .and_then(|directives| tracing_subscriber::EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default_level));
    for capped in ["aws_smithy_runtime=debug", "aws_smithy_http_client=debug"] {
        filter = filter.add_directive(capped.parse().expect("a valid directive"));
    }
    filter
}
