//! One pass over one account: validate, reach the account, observe, plan, act, report. The same code
//! serves the controller, the CLI's `plan`/`apply`, and the tests; every part goes through it by the
//! one list in `parts`.

use std::sync::Arc;
use std::time::Duration;

use dataplatform_api::InvalidSpec;
use dataplatform_api::conditions::Reason;
use dataplatform_api::{DataPlatformAccountStatus, ManagementPolicy};
use dataplatform_aws::{AccountSession, QuotaUse, Sessions};
use tracing::Instrument;

use crate::account::AccountObject;
use crate::error::ReconcileError;
use crate::execute::{ExecuteOptions, execute};
use crate::parts::{self, DesiredAccount, ObservedAccount};
use crate::plan::{Action, Plan};
use crate::status::{StatusBuilder, spec_already_carried_out};
use crate::vocabulary::Diff;

/// How soon to look again while something is still being created or changed in AWS.
pub const PROGRESS_REQUEUE: Duration = Duration::from_secs(30);
/// When a pass created what other parts wait for (the network before the database and services):
/// the next pass can go on at once, and does not wait for a watch event of our own status write.
pub const NEXT_STEP_REQUEUE: Duration = Duration::from_secs(1);

/// What AWS holds and what it should: the input of both `plan` and a reconcile.
pub struct AccountPlan {
    pub desired: DesiredAccount,
    pub observed: ObservedAccount,
    pub diff: Diff,
    pub session: Arc<AccountSession>,
}

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
    pub requeue_after: Option<Duration>,
    /// The pass stopped before its plan was done (a resource it was to create exists since it
    /// looked, or a test's stop): another pass goes on from what it finds.
    pub stopped_early: bool,
}

impl<S: crate::status::ObjectStatus> Reconciled<S> {
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
            stopped_early: false,
        }
    }
}

pub struct Engine {
    sessions: Arc<Sessions>,
}

impl Engine {
    pub fn new(sessions: Arc<Sessions>) -> Self {
        Self { sessions }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Everything up to the plan, with no write: validation, identity, observation, the checks only
    /// AWS can answer (does the network exist? can the bucket key be used?), diff.
    pub async fn plan(&self, object: &AccountObject) -> Result<AccountPlan, ReconcileError> {
        let plan = self.observe(object, false).await?;
        let problems = parts::spec_problems(&object.spec, &plan.desired, &plan.observed);
        if !problems.is_empty() {
            return Err(InvalidSpec { problems }.into());
        }
        Ok(plan)
    }

    /// `plan` without the network check: deletion must still work after the VPC is gone.
    /// `deleting`: only what reaching the account needs is validated, so an object whose spec
    /// became invalid since (a schema change, a CLI file) is still cleaned up.
    pub(crate) async fn observe(&self, object: &AccountObject, deleting: bool) -> Result<AccountPlan, ReconcileError> {
        if deleting {
            object.spec.validate_for_deletion()?;
        } else {
            object.spec.validate()?;
        }
        dataplatform_api::validate_owner_tag(&object.id.namespace, &object.id.name)?;
        let session = self.sessions.session(&object.target()).await;
        session.verify_identity().await?;
        let mut desired = DesiredAccount::new(&object.id, &object.spec, &object.child_accounts);
        parts::remember(&mut desired, object.status.as_ref());
        // Boxed: the reads of every part in one future are large, and callers that block on a
        // reconcile (the CLI, tests) would carry them on their stack.
        let observed = Box::pin(parts::observe(&session, &mut desired)).await?;
        let diff = parts::diff(&desired, &observed, object.adopt());
        Ok(AccountPlan {
            desired,
            observed,
            diff,
            session,
        })
    }

    /// What the account holds in AWS, measured against AWS's quotas (the bench's report): reads only.
    pub async fn quota_use(&self, object: &AccountObject) -> Result<QuotaUse, ReconcileError> {
        let plan = self.observe(object, false).await?;
        Ok(parts::quota_use(&plan.desired, &plan.observed))
    }

    pub async fn reconcile(&self, object: &AccountObject, options: ExecuteOptions) -> Reconciled {
        self.reconcile_with_progress(object, options, |_| {}).await
    }

    /// `on_done` hears of each action as it completes (the CLI prints a line per action).
    pub async fn reconcile_with_progress(
        &self,
        object: &AccountObject,
        options: ExecuteOptions,
        on_done: impl FnMut(&Action),
    ) -> Reconciled {
        let status = StatusBuilder::new(object.status.as_ref(), object.generation);
        if object.paused() {
            return Reconciled::paused(status);
        }
        // Every log line of the pass (adapters and executor included) carries the object and account.
        let span = tracing::info_span!("reconcile", object = %object.id, account = %object.spec.account_id);
        let plan = match self.plan(object).instrument(span.clone()).await {
            Ok(plan) => plan,
            Err(error) => return failed(object, status, error, vec![], vec![]),
        };
        if !plan.diff.conflicts.is_empty() {
            let error = ReconcileError::Conflict(plan.diff.conflicts.clone());
            return failed(object, status, error, vec![], plan.diff.plan.actions);
        }
        // Checked before any write, so a pass that would pass a quota changes nothing (issue 30).
        if !plan.diff.quota_exceeded.is_empty() {
            let error = ReconcileError::QuotaExceeded(plan.diff.quota_exceeded.clone());
            return failed(object, status, error, vec![], plan.diff.plan.actions);
        }

        if object.spec.management_policy == ManagementPolicy::ObserveOnly {
            let found: Vec<String> = plan.diff.plan.actions.iter().flat_map(|a| a.changed_fields()).collect();
            let message = match plan.diff.plan.actions.len() {
                0 => "managementPolicy is ObserveOnly: AWS matches the spec".to_owned(),
                n => format!("managementPolicy is ObserveOnly: {n} change(s) not made, see status.drift"),
            };
            let readiness = parts::readiness(&plan.desired, &plan.observed, &Plan::default(), &plan.diff.waiting);
            let mut readiness = readiness;
            readiness.pending.extend(
                plan.diff
                    .plan
                    .actions
                    .iter()
                    .filter(|a| a.kind == crate::plan::ActionKind::Create)
                    .map(|a| format!("{} does not exist", a.resource)),
            );
            let ready = readiness.is_ready();
            return Reconciled {
                status: status.synced(
                    &plan.desired,
                    &plan.observed,
                    &readiness,
                    Reason::ObserveOnly,
                    message,
                    found,
                ),
                applied: vec![],
                not_applied: plan.diff.plan.actions,
                error: None,
                ready,
                requeue_after: None,
                stopped_early: false,
            };
        }

        let drift_counts = spec_already_carried_out(object.status.as_ref(), object.generation);
        let executed = execute(&plan.session, plan.diff.plan.actions.clone(), options, on_done)
            .instrument(span)
            .await;
        let applied = Plan {
            actions: executed.done.clone(),
        };
        let not_applied: Vec<Action> = plan.diff.plan.actions[executed.done.len()..].to_vec();
        if let Some((_, error)) = executed.failed {
            return failed(object, status, ReconcileError::Aws(error), executed.done, not_applied);
        }
        let drift = if drift_counts {
            applied.actions.iter().flat_map(|a| a.changed_fields()).collect()
        } else {
            vec![]
        };
        let readiness = parts::readiness(&plan.desired, &plan.observed, &applied, &plan.diff.waiting);
        let ready = readiness.is_ready() && !executed.stopped_early;
        let message = match applied.actions.len() {
            0 => String::new(),
            n => format!("{n} change(s) made"),
        };
        Reconciled {
            status: status.synced(
                &plan.desired,
                &plan.observed,
                &readiness,
                Reason::ReconcileSuccess,
                message,
                drift,
            ),
            applied: executed.done,
            not_applied,
            error: None,
            ready,
            // Only a create counts: what was made stays made, so a spec that keeps a part waiting
            // cannot turn this into a pass a second.
            requeue_after: match (ready, readiness.creating && !plan.diff.waiting.is_empty()) {
                (true, _) => None,
                (false, true) => Some(NEXT_STEP_REQUEUE),
                (false, false) => Some(PROGRESS_REQUEUE),
            },
            stopped_early: executed.stopped_early,
        }
    }
}

fn failed(
    object: &AccountObject,
    status: StatusBuilder,
    error: ReconcileError,
    applied: Vec<Action>,
    not_applied: Vec<Action>,
) -> Reconciled {
    tracing::warn!(object = %object.id, account = %object.spec.account_id, reason = %error.reason(), %error, "reconcile failed");
    Reconciled::failed(status, error, applied, not_applied)
}
