//! `dataplatform-operator run`: kube-runtime controllers for both kinds, leader election, the
//! operations endpoints, and graceful shutdown. The engine does all AWS work; this module decides
//! when it runs and reports the outcome to Kubernetes.

pub mod account;
pub mod context;
pub mod events;
pub mod grant;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod namespaces;
pub mod pass;
pub mod requeue;
pub mod status;
pub mod triggers;
pub mod watches;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dataplatform_api::{DataPlatformAccount, SharedBucketGrant};
use dataplatform_engine::Engine;
use futures::StreamExt;
use kube::Client;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use tokio::sync::watch;

use crate::cli::parse_duration;
use context::{Context, Error, FIELD_MANAGER, object_key};
use leader::{Leadership, LeaseSettings};
use pass::Reconcilable;
use requeue::RequeuePolicy;

#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// Watch only these namespaces, comma-separated or repeated (default: every namespace). List
    /// the Organisation account's namespace too: grants and registries need it.
    #[arg(long = "namespace", env = "DATAPLATFORM_WATCH_NAMESPACE", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Reconcile only objects whose labels match this selector, e.g. `platform=data`.
    #[arg(long, env = "DATAPLATFORM_SELECTOR")]
    pub selector: Option<String>,
    /// How often each object is compared with AWS when nothing changes (jittered ±10%); an object
    /// may ask for its own with the annotation dataplatform.io/resync-interval.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// Longest wait between retries of throttling and other transient errors (exponential from 5s).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub max_backoff: Duration,
    /// Wait after an error only a person can fix (InvalidSpec, AccessDenied, AccountMismatch,
    /// Conflict); a spec change is reconciled at once regardless.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub error_requeue: Duration,
    /// Objects of each kind reconciled at once.
    #[arg(long, default_value_t = context::DEFAULT_CONCURRENCY)]
    pub concurrency: u16,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080", env = "DATAPLATFORM_HTTP_ADDRESS")]
    pub http_address: SocketAddr,
    /// Hold a coordination.k8s.io Lease before reconciling, so only one replica acts at a time.
    #[arg(long, env = "DATAPLATFORM_LEADER_ELECTION")]
    pub leader_election: bool,
    /// Namespace of the Lease (the operator's own namespace in a cluster).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub leader_election_namespace: String,
    #[arg(long, default_value = "dataplatform-operator")]
    pub leader_election_lease: String,
    /// This replica's name in the Lease (default: the pod name, else the host name).
    #[arg(long, env = "POD_NAME")]
    pub leader_election_identity: Option<String>,
    /// How long the Lease stays valid without renewal.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,
}

impl RunArgs {
    fn requeue_policy(&self) -> RequeuePolicy {
        RequeuePolicy {
            resync: self.resync_interval.max(requeue::MIN_RESYNC),
            backoff_cap: self.max_backoff,
            permanent_error: self.error_requeue,
            ..RequeuePolicy::default()
        }
    }

    fn identity(&self) -> String {
        self.leader_election_identity
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| format!("dataplatform-operator-{}", std::process::id()))
    }

    fn scope(&self) -> watches::Scope {
        let config = watcher::Config::default();
        watches::Scope {
            namespaces: self.namespaces.clone(),
            config: match &self.selector {
                Some(selector) => config.labels(selector),
                None => config,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("connecting to Kubernetes (in-cluster config or KUBECONFIG): {0}")]
    Connect(String),
    #[error("serving /metrics, /healthz and /readyz on {address}: {error}")]
    Http { address: SocketAddr, error: std::io::Error },
    #[error("leader election: {0}")]
    Leadership(String),
    #[error("leadership was lost; exiting so a restart rejoins as a candidate")]
    LeadershipLost,
}

/// Runs until SIGTERM or Ctrl-C, against the cluster of the in-cluster config or KUBECONFIG.
pub async fn run(args: RunArgs, engine: Engine) -> Result<(), RunError> {
    let client = Client::try_default()
        .await
        .map_err(|e| RunError::Connect(e.to_string()))?;
    run_with_client(client, engine, args, termination_signal()).await
}

/// SIGTERM (what Kubernetes sends) or Ctrl-C.
pub async fn termination_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("termination requested: finishing the passes in flight");
}

/// `run` with a given client (the tests' mock API server) until `shutdown` completes. In-flight
/// passes finish before it returns, so no AWS action is cut off halfway.
pub async fn run_with_client(
    client: Client,
    engine: Engine,
    args: RunArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let health = Arc::new(http::Health::default());
    let listener = http::bind(args.http_address).await.map_err(|error| RunError::Http {
        address: args.http_address,
        error,
    })?;
    let (stop_sender, stop_receiver) = watch::channel(false);
    let stopping = move || {
        let mut receiver = stop_receiver.clone();
        async move {
            let _ = receiver.wait_for(|stop| *stop).await;
        }
    };
    tokio::spawn(http::serve(listener, health.clone(), stopping()));
    let stop_sender = Arc::new(stop_sender);
    {
        let stop_sender = stop_sender.clone();
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_sender.send(true);
        });
    }

    let leadership = if args.leader_election {
        // A standby is healthy and ready: rollouts must not wait for it to lead.
        health.set_ready(true);
        let settings = LeaseSettings {
            namespace: args.leader_election_namespace.clone(),
            name: args.leader_election_lease.clone(),
            identity: args.identity(),
            duration: args.leader_election_lease_duration,
        };
        tokio::select! {
            acquired = Leadership::acquire(client.clone(), &settings) => {
                Some(acquired.map_err(RunError::Leadership)?)
            }
            () = stopping() => return Ok(()),
        }
    } else {
        None
    };
    let watching_lease = leadership.as_ref().map(|leadership| {
        let lost = leadership.lost();
        let stop_sender = stop_sender.clone();
        tokio::spawn(async move {
            lost.await;
            let _ = stop_sender.send(true);
        })
    });

    controllers(client, engine, &args, &health, stopping).await;
    match leadership {
        Some(leadership) => {
            let lost = !leadership.leading();
            // The watcher holds a view of the lease; the lease manager releases the lease only
            // once every view is gone.
            if let Some(watching) = watching_lease {
                watching.abort();
                let _ = watching.await;
            }
            leadership.release().await;
            if lost {
                return Err(RunError::LeadershipLost);
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// Both controllers, until `stopping` completes and their passes in flight have finished.
async fn controllers<S, F>(client: Client, engine: Engine, args: &RunArgs, health: &Arc<http::Health>, stopping: S)
where
    S: Fn() -> F,
    F: Future<Output = ()> + Send + Sync + 'static,
{
    let scope = args.scope();
    // Unbounded here: the passes wait for their slots in order (`context::PassSlots`).
    let config = ControllerConfig::default();
    let (accounts, account_triggers) = watches::own::<DataPlatformAccount>(&client, &scope);
    let (grants, grant_triggers) = watches::own::<SharedBucketGrant>(&client, &scope);

    // An account's pass reads no grant (deleting it reads the cache): grants start no account pass.
    let account_controller = Controller::for_stream(account_triggers, accounts.clone())
        .with_config(config.clone())
        .watches_stream(watches::changes(&client, &scope, triggers::registry_inputs), {
            let accounts = accounts.clone();
            move |account| triggers::organisations_affected_by_account(&account, &accounts.state())
        })
        .graceful_shutdown_on(stopping());
    let grant_controller = Controller::for_stream(grant_triggers, grants.clone())
        .with_config(config)
        .watches_stream(watches::changes(&client, &scope, triggers::grant_inputs), {
            let grants = grants.clone();
            move |account| triggers::grants_affected_by_account(&account, &grants.state())
        })
        .graceful_shutdown_on(stopping());

    let reporter = Reporter {
        controller: FIELD_MANAGER.to_owned(),
        instance: Some(args.identity()),
    };
    let ctx = Arc::new(
        Context::new(
            client,
            engine,
            accounts.clone(),
            grants.clone(),
            reporter,
            args.requeue_policy(),
        )
        .with_concurrency(args.concurrency),
    );
    health.leading(ctx.clone());
    {
        let (ctx, stopped) = (ctx.clone(), stopping());
        tokio::spawn(async move {
            stopped.await;
            ctx.slots.close();
        });
    }
    {
        let health = health.clone();
        tokio::spawn(async move {
            if context::filled(&accounts).await.is_ok() && context::filled(&grants).await.is_ok() {
                tracing::info!("caches filled: ready");
                health.set_ready(true);
            }
        });
    }

    let accounts_done = account_controller
        .run(account::reconcile, error_policy::<DataPlatformAccount>, ctx.clone())
        .for_each(log_dispatch_error);
    let grants_done = grant_controller
        .run(grant::reconcile, error_policy::<SharedBucketGrant>, ctx.clone())
        .for_each(log_dispatch_error);
    tracing::info!(
        namespaces = %match args.namespaces.is_empty() {
            true => "*".to_owned(),
            false => args.namespaces.join(","),
        },
        "controllers started"
    );
    futures::join!(accounts_done, grants_done);
    tracing::info!("controllers stopped");
}

fn error_policy<K: Reconcilable>(object: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    let failures = ctx.failures.record_failure(&object_key(object.as_ref()));
    let wait = ctx.requeue.after_error(&error.class(), failures);
    tracing::debug!(kind = K::KIND, object = %object_key(object.as_ref()), %error, failures,
        retry_in_seconds = wait.as_secs(), "requeued after an error");
    Action::requeue(wait)
}

async fn log_dispatch_error<K, E: std::fmt::Display>(
    result: Result<(ObjectRef<K>, Action), kube::runtime::controller::Error<Error, E>>,
) where
    K: kube::Resource,
    K::DynamicType: std::fmt::Debug,
{
    match result {
        Ok(_) => {}
        // Reconcile errors were logged with their object by `pass::run`.
        Err(kube::runtime::controller::Error::ReconcilerFailed(_, _)) => {}
        Err(error) => tracing::warn!(%error, "controller"),
    }
}
