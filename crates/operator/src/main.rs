use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dataplatform_operator::{crds, manifests, plan_preview};

/// Runs a multi-account AWS data platform from two Kubernetes custom resources.
#[derive(Parser)]
#[command(name = "dataplatform-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML (for `kubectl apply -f -`).
    Crds {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        write_dir: Option<PathBuf>,
    },
    /// Show what the operator would manage for the manifests in files or directories.
    Plan {
        /// Manifest files or directories of them.
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// Namespace for objects that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Crds { write_dir: None } => match crds::render_all() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("rendering the CRDs: {e}")),
        },
        Command::Crds { write_dir: Some(dir) } => match crds::write_to(&dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("writing the CRDs to {}: {e}", dir.display())),
        },
        Command::Plan { paths, namespace } => {
            let manifests = match manifests::load(&paths, &namespace) {
                Ok(m) => m,
                Err(e) => return fail(&e.to_string()),
            };
            println!("Preview (names only): comparing with AWS arrives with the account engine.\n");
            match plan_preview::render(&manifests) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(text) => {
                    print!("{text}");
                    fail("some manifests are invalid; see InvalidSpec above")
                }
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
