//! `dataplatform-bench`: the benchmark, a binary of its own so the operator's binary carries neither
//! it nor the in-memory API server it serves (issue 32). scripts/bench starts moto and runs it.

use std::process::ExitCode;

use clap::Parser;
use dataplatform_bench::BenchArgs;
use dataplatform_operator::cli::AwsArgs;

/// Benchmark the operator against a local endpoint (moto): converge N accounts, then a
/// steady-state pass, with calls per account, peak RSS and the endpoint's own time for the same
/// requests; --controller runs the operator's `run` against an in-memory API server instead.
#[derive(Parser)]
#[command(name = "dataplatform-bench", version, about)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Warnings only: stdout is the report.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // An account pass polls through deep SDK frames; 8 MiB as a main thread has.
        .thread_stack_size(8 << 20)
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(dataplatform_bench::run(&cli.bench, &cli.aws)),
        Err(e) => Err(format!("starting the async runtime: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
