//! One pass over one account: validate, reach the account, observe, plan, act, report. The same code
//! serves the controller, the CLI's `plan`/`apply`, and the tests; every part goes through it by the
//! one list in `parts`.

use std::future::Future;
use std::sync::Arc;

use dataplatform_api::InvalidSpec;
use dataplatform_api::conditions::Reason;
use dataplatform_api::{DataPlatformAccountStatus, ManagementPolicy};
use dataplatform_aws::{AccountSession, QuotaUse, Sessions};
use tracing::Instrument;

use crate::account::AccountObject;
use crate::error::ReconcileError;
use crate::execute::{ExecuteOptions, execute};
use crate::parts::{self, DesiredAccount, ObservedAccount};
use crate::pass::{Gates, PassSteps, Ran, pass};
use crate::plan::{Action, Plan};
use crate::status::{StatusBuilder, spec_already_carried_out};
use crate::vocabulary::Diff;
use crate::wait::WaitKind;

pub use crate::pass::{PROGRESS_REQUEUE, Reconciled};

/// What AWS holds and what it should: the input of both `plan` and a reconcile.
pub struct AccountPlan {
    pub desired: DesiredAccount,
    pub observed: ObservedAccount,
    pub diff: Diff,
    pub session: Arc<AccountSession>,
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
        object.check_annotations()?;
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

    /// Whether an account waiting for `kind` may be done waiting, by one read for kinds with a probe:
    /// `Some(false)`, not yet (no pass needed); `Some(true)`, a pass should look; `None`, the kind
    /// has no probe.
    pub async fn probe(&self, object: &AccountObject, kind: WaitKind) -> Result<Option<bool>, ReconcileError> {
        let span = tracing::info_span!("probe", object = %object.id, account = %object.spec.account_id);
        let session = self.sessions.session(&object.target()).await;
        let desired = DesiredAccount::new(&object.id, &object.spec, &object.child_accounts);
        Ok(parts::probe(&session, &desired, kind).instrument(span).await?)
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
        // Every log line of the pass (adapters and executor included) carries the object and account.
        let span = tracing::info_span!("reconcile", object = %object.id, account = %object.spec.account_id);
        let steps = AccountPass {
            engine: self,
            object,
            options,
            on_done,
            span,
        };
        pass(steps, status).await
    }
}

/// An account's steps of the pass every kind shares ([`pass`]).
struct AccountPass<'a, F> {
    engine: &'a Engine,
    object: &'a AccountObject,
    options: ExecuteOptions,
    on_done: F,
    span: tracing::Span,
}

impl<F: FnMut(&Action)> PassSteps for AccountPass<'_, F> {
    type Status = DataPlatformAccountStatus;
    type Planned = AccountPlan;

    fn paused(&self) -> bool {
        self.object.paused()
    }

    fn plan(&self) -> impl Future<Output = Result<AccountPlan, ReconcileError>> {
        self.engine.plan(self.object).instrument(self.span.clone())
    }

    fn gates(plan: &AccountPlan) -> Gates {
        Gates {
            conflicts: plan.diff.conflicts.clone(),
            quota_exceeded: plan.diff.quota_exceeded.clone(),
            not_ready: None,
        }
    }

    fn actions(plan: &AccountPlan) -> Vec<Action> {
        plan.diff.plan.actions.clone()
    }

    fn observe_only(&self, _plan: &AccountPlan) -> bool {
        self.object.spec.management_policy == ManagementPolicy::ObserveOnly
    }

    fn report_observed(&self, status: StatusBuilder, plan: AccountPlan) -> Reconciled {
        let found: Vec<String> = plan.diff.plan.actions.iter().flat_map(|a| a.changed_fields()).collect();
        let message = match plan.diff.plan.actions.len() {
            0 => "managementPolicy is ObserveOnly: AWS matches the spec".to_owned(),
            n => format!("managementPolicy is ObserveOnly: {n} change(s) not made, see status.drift"),
        };
        let mut readiness = parts::readiness(&plan.desired, &plan.observed, &Plan::default(), &plan.diff.waiting);
        readiness.pending.extend(
            plan.diff
                .plan
                .actions
                .iter()
                .filter(|a| a.kind == crate::plan::ActionKind::Create)
                .map(|a| format!("{} does not exist", a.resource)),
        );
        let ready = readiness.is_ready();
        Reconciled {
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
            waiting_on: None,
            stopped_early: false,
        }
    }

    async fn run(&mut self, plan: &AccountPlan) -> Ran {
        let actions = plan.diff.plan.actions.clone();
        let executed = execute(&plan.session, actions, self.options, &mut self.on_done)
            .instrument(self.span.clone())
            .await;
        Ran {
            not_done: plan.diff.plan.actions[executed.done.len()..].to_vec(),
            error: executed.failed.map(|(_, error)| error),
            stopped_early: executed.stopped_early,
            done: executed.done,
        }
    }

    fn report_synced(&self, status: StatusBuilder, plan: AccountPlan, ran: Ran, message: String) -> Reconciled {
        let applied = Plan {
            actions: ran.done.clone(),
        };
        let drift = if spec_already_carried_out(self.object.status.as_ref(), self.object.generation) {
            applied.actions.iter().flat_map(|a| a.changed_fields()).collect()
        } else {
            vec![]
        };
        let readiness = parts::readiness(&plan.desired, &plan.observed, &applied, &plan.diff.waiting);
        let ready = readiness.is_ready() && !ran.stopped_early;
        // Only a create counts: what was made stays made, so a spec that keeps a part waiting
        // cannot turn this into a pass a second.
        let waiting_on = match (ready, readiness.creating && !plan.diff.waiting.is_empty()) {
            (true, _) => None,
            (false, true) => Some(WaitKind::NextStep),
            (false, false) => Some(readiness.soonest_wait()),
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
            applied: ran.done,
            not_applied: ran.not_done,
            error: None,
            ready,
            requeue_after: waiting_on.map(|kind| kind.after(0)),
            waiting_on,
            stopped_early: ran.stopped_early,
        }
    }

    fn log_failure(&self, error: &ReconcileError) {
        let object = self.object;
        tracing::warn!(object = %object.id, account = %object.spec.account_id, reason = %error.reason(), %error, "reconcile failed");
    }
}
