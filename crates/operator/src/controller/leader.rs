//! Leader election on a `coordination.k8s.io` Lease (kube-lease-manager), so two replicas never
//! reconcile at once. Leadership lost means the process stops its controllers and exits, as
//! client-go's controllers do; the Deployment restarts it as a candidate.

use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// How long a lease stays valid without renewal; a failed leader's successor waits this long.
    pub duration: Duration,
}

pub struct Leadership {
    state: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
}

impl Leadership {
    /// Waits until this process holds the lease.
    pub async fn acquire(client: Client, settings: &LeaseSettings) -> Result<Self, String> {
        let manager = LeaseManagerBuilder::new(client, &settings.name)
            .with_namespace(&settings.namespace)
            .with_identity(&settings.identity)
            .with_duration(settings.duration.as_secs().max(2))
            .with_grace((settings.duration.as_secs() / 3).max(1))
            .build()
            .await
            .map_err(|e| format!("lease {}/{}: {e}", settings.namespace, settings.name))?;
        let (mut state, task) = manager.watch().await;
        tracing::info!(lease = %settings.name, identity = %settings.identity, "waiting for leadership");
        while !*state.borrow_and_update() {
            state.changed().await.map_err(|_| {
                format!(
                    "lease {}/{}: the lease manager stopped",
                    settings.namespace, settings.name
                )
            })?;
        }
        tracing::info!(lease = %settings.name, identity = %settings.identity, "leading");
        Ok(Self { state, task })
    }

    /// Completes when leadership is lost.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + Sync + 'static {
        let mut state = self.state.clone();
        async move {
            while *state.borrow_and_update() {
                if state.changed().await.is_err() {
                    break;
                }
            }
        }
    }

    /// Whether the lease is still ours.
    pub fn leading(&self) -> bool {
        *self.state.borrow()
    }

    /// Gives the lease up so a standby takes over without waiting for it to expire.
    pub async fn release(self) {
        drop(self.state);
        match self.task.await {
            Ok(Ok(_)) => tracing::info!("lease released"),
            Ok(Err(error)) => tracing::warn!(%error, "releasing the lease failed"),
            Err(error) => tracing::warn!(%error, "the lease manager task failed"),
        }
    }
}
