//! The skeleton of every pass, accounts and grants alike, written once (after Crossplane's managed
//! reconciler: one reconciler, each kind's own steps behind a trait): a paused object is left
//! alone; the kind plans with no write; conflicts, then quotas, stop the pass before any write;
//! an object only observed reports what it would change; otherwise the plan runs and the pass
//! reports "N change(s) made". Each kind fills in its steps ([`PassSteps`]).

use std::future::Future;
use std::time::Duration;

use dataplatform_api::DataPlatformAccountStatus;
use dataplatform_aws::AwsError;

use crate::error::ReconcileError;
use crate::plan::Action;
use crate::status::{ObjectStatus, StatusBuilder};

/// How soon to look again while something is still being created or changed in AWS.
pub const PROGRESS_REQUEUE: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Reconciled<S = DataPlatformAccountStatus> {
    pub status: S,
    /// Actions carried out this pass.
    pub applied: Vec<Action>,
    /// Actions not carried out: what observe-only found, or what was left after a failure.
    pub not_applied: Vec<Action>,
    pub error: Option<ReconcileError>,
    pub ready: bool,
    /// Look again this soon (something is in progress); `None`: the normal resync interval.
    /// With `waiting_on`, the first wait of that kind's schedule.
    pub requeue_after: Option<Duration>,
    /// What the object waits for in AWS, when it does: a caller that keeps a [`crate::WaitClock`]
    /// per object (the controller, `apply --wait`) looks again on that kind's schedule.
    pub waiting_on: Option<crate::wait::WaitKind>,
    /// The pass stopped before its plan was done (a resource it was to create exists since it
    /// looked, or a test's stop): another pass goes on from what it finds.
    pub stopped_early: bool,
}

impl<S: ObjectStatus> Reconciled<S> {
    /// A pass that ended in `error`: transient errors are looked at again soon.
    pub(crate) fn failed(
        status: StatusBuilder<S>,
        error: ReconcileError,
        applied: Vec<Action>,
        not_applied: Vec<Action>,
    ) -> Self {
        Self {
            status: status.failed(&error),
            applied,
            not_applied,
            requeue_after: error.is_transient().then_some(PROGRESS_REQUEUE),
            waiting_on: None,
            error: Some(error),
            ready: false,
            stopped_early: false,
        }
    }

    /// A paused object: no AWS call, only the Synced condition says so.
    pub(crate) fn paused(status: StatusBuilder<S>) -> Self {
        Self {
            status: status.paused(),
            applied: vec![],
            not_applied: vec![],
            error: None,
            ready: false,
            requeue_after: None,
            waiting_on: None,
            stopped_early: false,
        }
    }
}

/// What forbids writing any of a plan.
pub(crate) struct Gates {
    /// Resources under our names that are not ours.
    pub conflicts: Vec<String>,
    /// Writes that would pass one of AWS's quotas.
    pub quota_exceeded: Vec<String>,
    /// Something outside the object that must exist first (a grant's account not ready).
    pub not_ready: Option<String>,
}

/// What running the plan did.
pub(crate) struct Ran {
    pub done: Vec<Action>,
    pub not_done: Vec<Action>,
    pub error: Option<AwsError>,
    pub stopped_early: bool,
}

/// One kind's steps of a pass.
pub(crate) trait PassSteps {
    type Status: ObjectStatus;
    /// Everything a pass knows before it writes (desired, observed, the plan).
    type Planned;

    fn paused(&self) -> bool;
    /// Validation, observation and diff, with no write.
    fn plan(&self) -> impl Future<Output = Result<Self::Planned, ReconcileError>>;
    fn gates(planned: &Self::Planned) -> Gates;
    /// What the plan would write: reported as not made when a gate refuses it.
    fn actions(planned: &Self::Planned) -> Vec<Action>;
    /// Whether the pass may only report (`managementPolicy: ObserveOnly`).
    fn observe_only(&self, planned: &Self::Planned) -> bool;
    fn report_observed(&self, status: StatusBuilder<Self::Status>, planned: Self::Planned) -> Reconciled<Self::Status>;
    fn run(&mut self, planned: &Self::Planned) -> impl Future<Output = Ran>;
    /// `message`: what the pass changed, in words.
    fn report_synced(
        &self,
        status: StatusBuilder<Self::Status>,
        planned: Self::Planned,
        ran: Ran,
        message: String,
    ) -> Reconciled<Self::Status>;
    /// Logs a failed pass with the object and account.
    fn log_failure(&self, error: &ReconcileError);
}

/// One pass of any kind, in the one order every pass follows.
pub(crate) async fn pass<P: PassSteps>(mut steps: P, status: StatusBuilder<P::Status>) -> Reconciled<P::Status> {
    if steps.paused() {
        return Reconciled::paused(status);
    }
    let failed = |steps: &P, status, error: ReconcileError, applied, not_applied| {
        steps.log_failure(&error);
        Reconciled::failed(status, error, applied, not_applied)
    };
    let planned = match steps.plan().await {
        Ok(planned) => planned,
        Err(error) => return failed(&steps, status, error, vec![], vec![]),
    };
    let gates = P::gates(&planned);
    if !gates.conflicts.is_empty() {
        let error = ReconcileError::Conflict(gates.conflicts);
        return failed(&steps, status, error, vec![], P::actions(&planned));
    }
    // Checked before any write, so a pass that would pass a quota changes nothing (issue 30).
    if !gates.quota_exceeded.is_empty() {
        let error = ReconcileError::QuotaExceeded(gates.quota_exceeded);
        return failed(&steps, status, error, vec![], P::actions(&planned));
    }
    if let Some(waiting) = gates.not_ready {
        return failed(
            &steps,
            status,
            ReconcileError::DependencyNotReady(waiting),
            vec![],
            vec![],
        );
    }
    if steps.observe_only(&planned) {
        return steps.report_observed(status, planned);
    }
    let mut ran = steps.run(&planned).await;
    if let Some(error) = ran.error.take() {
        return failed(&steps, status, ReconcileError::Aws(error), ran.done, ran.not_done);
    }
    let message = match ran.done.len() {
        0 => String::new(),
        n => format!("{n} change(s) made"),
    };
    steps.report_synced(status, planned, ran, message)
}
