//! The dataplatform-operator binary's library: CRD rendering, manifest loading, and the `plan` and
//! `apply` commands over the engine, the controllers of `run`, and the IAM documents of `iam-policy`.

pub mod cli;
pub mod controller;
pub mod crds;
pub mod iam_policy;
pub mod manifests;

/// The log filter: `RUST_LOG` when set (else `default_level`), with the AWS SDK's runtime held to
/// `debug` at most whatever it says. At `trace` the SDK prints every request body, and a sign-in
/// rule's request carries the OIDC client secret, which must never reach a log. A cap, not a level:
/// below `trace` the SDK's targets stay where the filter puts them (the CLI's `warn` shows none of
/// their debug lines).
pub fn log_filter(rust_log: Option<&str>, default_level: &str) -> tracing_subscriber::EnvFilter {
    let mut filter = rust_log
        .and_then(|directives| tracing_subscriber::EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default_level));
    if filter.max_level_hint() == Some(tracing_subscriber::filter::LevelFilter::TRACE) {
        for capped in ["aws_smithy_runtime=debug", "aws_smithy_http_client=debug"] {
            filter = filter.add_directive(capped.parse().expect("a valid directive"));
        }
    }
    filter
}

#[cfg(test)]
mod log_filter_tests {
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn the_sdk_cap_lowers_trace_and_raises_nothing() {
        for (rust_log, default, most) in [
            (None, "warn", LevelFilter::WARN),
            (None, "info", LevelFilter::INFO),
            (Some("warn,dataplatform_engine=debug"), "warn", LevelFilter::DEBUG),
            (Some("trace"), "warn", LevelFilter::TRACE),
        ] {
            let filter = super::log_filter(rust_log, default);
            assert_eq!(filter.max_level_hint(), Some(most), "{rust_log:?}");
            let text = filter.to_string();
            assert_eq!(
                text.contains("aws_smithy_runtime=debug"),
                most == LevelFilter::TRACE,
                "{rust_log:?}: {text}"
            );
        }
    }
}
