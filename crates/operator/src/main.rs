use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dataplatform_operator::cli::{self, AwsArgs};
use dataplatform_operator::{controller, crds, iam_policy, manifests};

/// Runs a multi-account AWS data platform from two Kubernetes custom resources.
#[derive(Parser)]
#[command(name = "dataplatform-operator", version, about)]
struct Cli {
    /// Log lines as text or as JSON objects (one per line, for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "DATAPLATFORM_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct ManifestArgs {
    /// Manifest files or directories of them.
    #[arg(short = 'f', long = "filename", required = true)]
    paths: Vec<PathBuf>,
    /// Namespace for objects that name none.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers: reconcile every DataPlatformAccount and SharedBucketGrant in the
    /// cluster (in-cluster config or KUBECONFIG) until SIGTERM.
    Run {
        #[command(flatten)]
        run: controller::RunArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Print the CustomResourceDefinitions as YAML (for `kubectl apply -f -`).
    Crds {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        write_dir: Option<PathBuf>,
    },
    /// Compare the manifests with AWS and print what `apply` would change. Makes no change.
    /// Exits 0 when there is nothing to do, 2 when there are changes, 1 on errors.
    Plan {
        #[command(flatten)]
        manifests: ManifestArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Make AWS match the manifests, printing each action and a table of the result. Returns once
    /// the changes are made; ECS tasks start afterwards unless --wait is given.
    Apply {
        #[command(flatten)]
        manifests: ManifestArgs,
        #[command(flatten)]
        aws: AwsArgs,
        /// Wait until every account is Ready (tasks running on the new revisions, database
        /// available), at most this long, e.g. 90s, 15m, 1h. Exits 1 when the time runs out.
        #[arg(long, value_parser = cli::parse_duration, value_name = "TIMEOUT")]
        wait: Option<std::time::Duration>,
    },
    /// Print an IAM policy (JSON) the operator's roles need: by default the permissions of the role
    /// it assumes in each account, built from the same catalogue every AWS call goes through; -f
    /// scopes them to one account's resources. --document picks the trust policies or the
    /// operator's own role instead.
    IamPolicy(iam_policy::IamPolicyArgs),
}

/// Logs go to stderr; RUST_LOG overrides the level (`info` for `run`, `warn` for the commands
/// whose stdout is the result), but not the SDK's cap ([`dataplatform_operator::log_filter`]). Colour only on a terminal, and never under `NO_COLOR`.
fn init_logging(format: LogFormat, default_level: &str) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = dataplatform_operator::log_filter(rust_log.as_deref(), default_level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_wanted(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}

/// <https://no-color.org>: a `NO_COLOR` that is set and not empty turns colour off.
fn colour_wanted(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Run { .. } => "info",
        _ => "warn",
    };
    init_logging(cli.log_format, default_level);
    match cli.command {
        Command::Run { run, aws } => match runtime() {
            Ok(runtime) => match runtime.block_on(async { controller::run(run, aws.engine().await).await }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.to_string()),
            },
            Err(e) => fail(&e),
        },
        Command::Crds { write_dir: None } => match crds::render_all() {
            Ok(yaml) => print_result(&yaml),
            Err(e) => fail(&format!("rendering the CRDs: {e}")),
        },
        Command::Crds { write_dir: Some(dir) } => match crds::write_to(&dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("writing the CRDs to {}: {e}", dir.display())),
        },
        Command::Plan { manifests, aws } => run_against_aws(manifests, aws, Mode::Plan),
        Command::Apply { manifests, aws, wait } => run_against_aws(manifests, aws, Mode::Apply { wait }),
        Command::IamPolicy(args) => match iam_policy::document(&args) {
            Ok(document) => print_result(&format!("{document:#}\n")),
            Err(e) => fail(&e.to_string()),
        },
    }
}

enum Mode {
    Plan,
    Apply { wait: Option<std::time::Duration> },
}

fn run_against_aws(manifest_args: ManifestArgs, aws: AwsArgs, mode: Mode) -> ExitCode {
    let manifests = match manifests::load(&manifest_args.paths, &manifest_args.namespace) {
        Ok(loaded) => {
            for note in &loaded.skipped {
                eprintln!("note: {note}");
            }
            loaded.objects
        }
        Err(e) => return fail(&e.to_string()),
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e),
    };
    let result = runtime.block_on(async {
        let engine = aws.engine().await;
        let mut out = std::io::stdout().lock();
        match mode {
            Mode::Plan => cli::plan(&engine, &manifests, &mut out).await,
            Mode::Apply { wait } => cli::apply(&engine, &manifests, wait, &mut out).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&format!("writing the output: {e}")),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // An account pass polls through deep SDK frames; 8 MiB as a main thread has.
        .thread_stack_size(8 << 20)
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))
}

/// Prints a command's result; a closed pipe (`| head`) is the reader's choice, not an error.
fn print_result(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("writing the output: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some("".as_ref())));
        assert!(!colour_wanted(true, Some("1".as_ref())));
        assert!(!colour_wanted(false, None));
    }
}
