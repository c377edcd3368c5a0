//! What every reconcile shares: the Kubernetes client, the engine, both kinds' caches, the event
//! recorder, metrics and the requeue policy; and the controller's error type with its classification.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataplatform_api::{DataPlatformAccount, SharedBucketGrant, Tier};
use dataplatform_engine::{AccountObject, Engine, GrantObject, ReconcileError};
use futures::FutureExt;
use kube::runtime::events::{Event, Recorder, Reporter};
use kube::runtime::finalizer;
use kube::runtime::reflector::Store;
use kube::{Client, Resource};

use super::metrics::{Metrics, ReadyState};
use super::requeue::{ControllerErrorClass, FailureCounts, RequeuePolicy, WaitClocks};

/// Passes of each kind at once when `--concurrency` is not given.
pub const DEFAULT_CONCURRENCY: u16 = 4;

/// The slots passes of each kind wait for, first come first served. kube-runtime's own limit
/// (`Config::concurrency`) is not used: while every slot is busy it parks the objects that are due
/// in a hash set and takes an arbitrary one when a slot frees, so under sustained load (resyncs of
/// hundreds of Ready objects) some objects waited minutes for a pass while others had one every
/// 30 s. tokio's semaphore hands out permits in the order they were asked for.
pub struct PassSlots {
    accounts: tokio::sync::Semaphore,
    grants: tokio::sync::Semaphore,
}

impl PassSlots {
    pub fn new(per_kind: u16) -> Self {
        let slots = usize::from(per_kind.max(1));
        Self {
            accounts: tokio::sync::Semaphore::new(slots),
            grants: tokio::sync::Semaphore::new(slots),
        }
    }

    /// No pass waiting for a slot starts any more (shutdown): the passes running finish, the
    /// waiting ones are not started (the next process's first list brings them back).
    pub fn close(&self) {
        self.accounts.close();
        self.grants.close();
    }

    /// Waits for a slot of `K`'s passes (`None` once closed); the pass runs while the permit is
    /// held.
    pub async fn acquire<K: Resource<DynamicType = ()>>(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let semaphore = match K::kind(&()) == DataPlatformAccount::kind(&()) {
            true => &self.accounts,
            false => &self.grants,
        };
        semaphore.acquire().await.ok()
    }
}

/// The name our status patches and events are made under.
pub const FIELD_MANAGER: &str = "dataplatform-operator";

pub struct Context {
    pub client: Client,
    pub engine: Engine,
    pub accounts: Store<DataPlatformAccount>,
    pub grants: Store<SharedBucketGrant>,
    /// Who publishes the events. A recorder is made for each pass's events, not kept: kube's
    /// `Recorder` keeps every event it published for six minutes to count repeats as a series, and
    /// ours are published once per change (see `events`), so across a fleet that cache only held
    /// thousands of events nothing would repeat (issue 20).
    pub reporter: Reporter,
    pub metrics: Metrics,
    pub requeue: RequeuePolicy,
    pub failures: FailureCounts,
    /// Each waiting object's place in its wait's schedule.
    pub waits: WaitClocks,
    /// How many passes of each kind run at once (`--concurrency`).
    pub slots: PassSlots,
    /// Annotation problems already announced, so each is one event, not one per resync.
    announced: Mutex<HashSet<String>>,
}

impl Context {
    pub fn new(
        client: Client,
        engine: Engine,
        accounts: Store<DataPlatformAccount>,
        grants: Store<SharedBucketGrant>,
        reporter: Reporter,
        requeue: RequeuePolicy,
    ) -> Self {
        Self {
            client,
            engine,
            accounts,
            grants,
            reporter,
            metrics: Metrics::new(),
            requeue,
            failures: FailureCounts::default(),
            waits: WaitClocks::default(),
            slots: PassSlots::new(DEFAULT_CONCURRENCY),
            announced: Mutex::default(),
        }
    }

    /// `per_kind` passes of each kind at once.
    pub fn with_concurrency(mut self, per_kind: u16) -> Self {
        self.slots = PassSlots::new(per_kind);
        self
    }

    /// The accounts one grant reads: its grantor and every Organisation account. A pass copies
    /// these few, never the whole cache (with a thousand accounts, a copy of every one per pass in
    /// flight was most of the controller's memory).
    pub async fn accounts_of_grant(&self, grant: &GrantObject) -> Result<Vec<AccountObject>, Error> {
        filled(&self.accounts).await?;
        let reads = |account: &DataPlatformAccount| {
            account.spec.tier == Tier::Organisation
                || grant.names_grantor_at(
                    account.metadata.namespace.as_deref().unwrap_or_default(),
                    account.metadata.name.as_deref().unwrap_or_default(),
                )
        };
        Ok(self
            .accounts
            .state()
            .iter()
            .filter(|a| reads(a))
            .map(|a| AccountObject::from_resource(a))
            .collect())
    }

    /// The account ids of the Child accounts (an Organisation's registry lets them pull).
    pub async fn child_account_ids(&self) -> Result<BTreeSet<String>, Error> {
        filled(&self.accounts).await?;
        Ok(self.child_account_ids_cached())
    }

    /// The managed Child accounts the cache holds now, filled or not.
    pub fn child_account_ids_cached(&self) -> BTreeSet<String> {
        let accounts = self.accounts.state();
        dataplatform_engine::account::child_account_ids(accounts.iter().map(|a| &a.spec))
    }

    pub async fn grant_objects(&self) -> Result<Vec<GrantObject>, Error> {
        filled(&self.grants).await?;
        Ok(self
            .grants
            .state()
            .iter()
            .map(|g| GrantObject::from_resource(g))
            .collect())
    }

    /// Publishes `events` about `object`; a failed publish is logged, never fails the pass.
    pub async fn publish<K: Resource<DynamicType = ()>>(&self, object: &K, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let reference = object.object_ref(&());
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        for event in events {
            if let Err(error) = recorder.publish(&event, &reference).await {
                tracing::warn!(reason = %event.reason, %error, "publishing an event failed");
            }
        }
    }

    /// Whether `problem` about `object` is new (and remembers it).
    pub fn first_time(&self, object: &str, problem: &str) -> bool {
        self.announced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{object}: {problem}"))
    }

    /// Ready state of every cached object, for the `objects` gauge.
    pub fn ready_states(&self) -> Vec<(&'static str, ReadyState)> {
        let accounts = self.accounts.state().into_iter().map(|a| {
            let conditions = a.status.as_ref().map_or(&[][..], |s| &s.conditions[..]);
            ("DataPlatformAccount", ReadyState::of(conditions))
        });
        let grants = self.grants.state().into_iter().map(|g| {
            let conditions = g.status.as_ref().map_or(&[][..], |s| &s.conditions[..]);
            ("SharedBucketGrant", ReadyState::of(conditions))
        });
        accounts.chain(grants).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The engine's pass failed; the status already says why.
    #[error("{0}")]
    Reconcile(ReconcileError),
    /// Deletion waits on AWS (a database deleting, protection on); the status says what for.
    #[error("deletion not finished: {message}")]
    DeletionWaiting { message: String, retry: Duration },
    #[error("finalizer: {0}")]
    Finalizer(String),
    #[error("the controller is stopping")]
    Stopping,
}

impl Error {
    pub fn class(&self) -> ControllerErrorClass {
        match self {
            Error::Reconcile(error) => ControllerErrorClass::of_reconcile(error),
            Error::DeletionWaiting { retry, .. } => ControllerErrorClass::InProgress(*retry),
            Error::Kube(_) | Error::Finalizer(_) | Error::Stopping => ControllerErrorClass::Transient,
        }
    }

    /// The `result` label of the reconcile metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Reconcile(error) => error.reason().as_str(),
            Error::DeletionWaiting { .. } => "Deleting",
            Error::Kube(_) | Error::Finalizer(_) => "KubernetesApiError",
            Error::Stopping => "Stopping",
        }
    }
}

impl From<finalizer::Error<Error>> for Error {
    fn from(error: finalizer::Error<Error>) -> Self {
        match error {
            finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => inner,
            finalizer::Error::AddFinalizer(kube) | finalizer::Error::RemoveFinalizer(kube) => Error::Kube(kube),
            other => Error::Finalizer(other.to_string()),
        }
    }
}

/// Waits until `store` holds the first list. Polled rather than awaited: kube-runtime's
/// `Store::wait_until_ready` wakes only the last of several concurrent waiters (a oneshot
/// receiver keeps one waker), and at startup several passes wait at once.
pub async fn filled<K>(store: &Store<K>) -> Result<(), Error>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match store.wait_until_ready().now_or_never() {
            Some(Ok(())) => return Ok(()),
            Some(Err(_)) => return Err(Error::Stopping),
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// `Kind/namespace/name`: the key of per-object memory (failure counts).
pub fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

pub type SharedContext = Arc<Context>;
