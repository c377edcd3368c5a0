//! One pass over one grant, and its revocation: reach the grantor's account, observe, diff, act.

use std::sync::Arc;

use dataplatform_api::conditions::Reason;
use dataplatform_api::{ManagementPolicy, SharedBucketGrantStatus};
use dataplatform_aws::AccountSession;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tracing::Instrument;

use crate::account::AccountObject;
use crate::error::ReconcileError;
use crate::execute::{ExecuteOptions, execute};
use crate::grant::desired::DesiredGrant;
use crate::grant::diff::{GrantPlan, ObservedGrant, diff};
use crate::grant::object::{GrantAccounts, GrantObject};
use crate::pass::{Gates, PassSteps, Ran, pass};
use crate::plan::Action;
use crate::reconcile::{Engine, PROGRESS_REQUEUE, Reconciled};
use crate::status::StatusBuilder;

/// What AWS holds and what the grant wants: the input of both `plan` and a reconcile.
pub struct GrantPlanned {
    pub desired: DesiredGrant,
    pub observed: ObservedGrant,
    pub plan: GrantPlan,
    grantor_session: Option<Arc<AccountSession>>,
}

/// The outcome of revoking a grant (it is being deleted, or its account is).
#[derive(Debug, Default)]
pub struct Revoked {
    /// Nothing of the grant is left in AWS: the finalizer may go.
    pub finished: bool,
    pub revoked: Vec<Action>,
    /// Why revocation cannot finish yet.
    pub waiting: Vec<String>,
    /// What revocation could not reach and left in AWS, in words (for the final event).
    pub kept: Vec<String>,
    pub error: Option<ReconcileError>,
}

/// What the grant reads that the accounts' passes have not made yet, known without an AWS call: a
/// status names the shared bucket and the task role only after the account's first pass. Until
/// then the grant waits for free; the status write that names them starts its next pass (the
/// controller watches those fields), and a bench of hundreds of new tenants makes no grant observe
/// AWS before its bucket exists.
fn not_made_yet(grant: &GrantObject, grantor: &AccountObject, organisations: &[&AccountObject]) -> Option<String> {
    let status = grantor.status.as_ref();
    if status
        .and_then(|s| s.buckets.as_ref())
        .and_then(|b| b.shared.as_ref())
        .is_none()
    {
        return Some(format!(
            "the shared bucket of DataPlatformAccount {} does not exist yet (its first pass creates it; spec.accountRef of {})",
            grantor.id, grant.id
        ));
    }
    let without_role = organisations.iter().find(|organisation| {
        organisation.spec.account_id == grant.spec.grantee.account_id && {
            let roles = organisation.status.as_ref().and_then(|s| s.roles.as_ref());
            roles.and_then(|r| r.task_role_arn.as_ref()).is_none()
        }
    })?;
    Some(format!(
        "the task role of organisation account {} (the grantee) does not exist yet (its first pass creates it)",
        without_role.id
    ))
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

impl Engine {
    /// Everything up to the grant's plan, with no write. `active: false` plans the revocation.
    pub async fn plan_grant(
        &self,
        grant: &GrantObject,
        accounts: &GrantAccounts<'_>,
        active: bool,
    ) -> Result<GrantPlanned, ReconcileError> {
        // Revoking needs no valid spec: what the grant owns is found by the names it derives from
        // namespace/name (statement Sids, the KMS grant's name, the grantee policy's name).
        if active {
            grant.spec.validate(
                &grant.id.namespace,
                accounts.grantor.map(|g| g.spec.account_id.as_str()),
            )?;
        }
        let mut desired = DesiredGrant::new(grant, accounts.grantor, &accounts.organisations, active);
        let grantor_session = match accounts.grantor {
            Some(grantor) => Some(self.verified_session(grantor).await?),
            None => None,
        };
        let observed = Box::pin(observe(&mut desired, grantor_session.as_deref())).await?;
        let mut key_not_made = None;
        if let Some(key) = desired.key.as_ref().filter(|k| !k.grants.is_empty())
            && observed.key_grants.is_none()
        {
            // Still named by its alias: the account's key is not made yet; the grant waits for it
            // as for the shared bucket.
            if !key.key.starts_with("alias/") {
                return Err(ReconcileError::DependencyNotReady(format!(
                    "KMS key {} (spec.storage.kmsKeyArn of the granting account) does not exist or the operator may not list its grants",
                    key.key
                )));
            }
            key_not_made = Some(format!(
                "the KMS key {} does not exist yet (DataPlatformAccount {} makes it for encryption: Managed)",
                key.key,
                desired.grantor_owner.as_deref().unwrap_or("of the grantor")
            ));
        }
        let mut plan = diff(&desired, &observed);
        if let Some(waiting) = key_not_made {
            plan.grantor_not_ready.get_or_insert(waiting);
        }
        Ok(GrantPlanned {
            desired,
            observed,
            plan,
            grantor_session,
        })
    }

    async fn verified_session(&self, account: &AccountObject) -> Result<Arc<AccountSession>, ReconcileError> {
        let session = self.sessions().session(&account.target()).await;
        session.verify_identity().await?;
        Ok(session)
    }

    pub async fn reconcile_grant(
        &self,
        grant: &GrantObject,
        accounts: &GrantAccounts<'_>,
        options: ExecuteOptions,
    ) -> Reconciled<SharedBucketGrantStatus> {
        let status = StatusBuilder::new(grant.status.as_ref(), grant.generation);
        let account_id = accounts.grantor.map_or("", |g| g.spec.account_id.as_str());
        let span = tracing::info_span!("reconcile_grant", object = %grant.id, account = %account_id);
        let now = now();
        let steps = GrantPass {
            engine: self,
            grant,
            accounts,
            options,
            active: !grant.expired(&now),
            now,
            span,
        };
        pass(steps, status).await
    }

    /// Removes every statement and KMS grant of `grant` that the grantor's account holds. With no
    /// grantor there is nothing of the grant to reach: a grantee Organisation holds nothing per grant.
    pub async fn revoke_grant(&self, grant: &GrantObject, accounts: &GrantAccounts<'_>) -> Revoked {
        if grant.paused() {
            return Revoked {
                waiting: vec![format!(
                    "SharedBucketGrant {} has annotation dataplatform.io/paused: revocation waits until it is removed",
                    grant.id
                )],
                ..Default::default()
            };
        }
        if let Err(invalid) = grant.check_annotations() {
            return Revoked {
                error: Some(invalid.into()),
                ..Default::default()
            };
        }
        let span = tracing::info_span!("revoke_grant", object = %grant.id,
            account = %accounts.grantor.map_or("", |g| g.spec.account_id.as_str()));
        let planned = match self.plan_grant(grant, accounts, false).instrument(span.clone()).await {
            Ok(planned) => planned,
            Err(error) => {
                return Revoked {
                    error: Some(error),
                    ..Default::default()
                };
            }
        };
        if !planned.plan.conflicts.is_empty() {
            return Revoked {
                error: Some(ReconcileError::Conflict(planned.plan.conflicts.clone())),
                ..Default::default()
            };
        }
        // Removing statements only shrinks a policy AWS already holds, but one past the quota (written
        // where nothing enforces it) is not rewritten: revocation must not report itself finished.
        if !planned.plan.quota_exceeded.is_empty() {
            return Revoked {
                error: Some(ReconcileError::QuotaExceeded(planned.plan.quota_exceeded.clone())),
                ..Default::default()
            };
        }
        let executed = planned.execute(ExecuteOptions::default()).instrument(span).await;
        Revoked {
            finished: executed.error.is_none() && executed.not_done.is_empty(),
            revoked: executed.done,
            waiting: vec![],
            kept: vec![],
            error: executed.error.map(ReconcileError::Aws),
        }
    }

    /// Revokes a grant that is being deleted. When its `accountRef` names an account that no longer
    /// exists, the finalizer may go: the grantor's half
    /// cannot be reached (no account to act in), and is named in `kept` so a person can check it.
    pub async fn revoke_deleted_grant(&self, grant: &GrantObject, accounts: &GrantAccounts<'_>) -> Revoked {
        let mut revoked = self.revoke_grant(grant, accounts).await;
        if accounts.grantor.is_none() && revoked.finished {
            revoked.kept.push(grantor_gone_note(grant));
        }
        revoked
    }
}

/// A grant's steps of the pass every kind shares ([`pass`]).
struct GrantPass<'a> {
    engine: &'a Engine,
    grant: &'a GrantObject,
    accounts: &'a GrantAccounts<'a>,
    options: ExecuteOptions,
    /// Not expired: a grant past `expiresAt` plans its revocation.
    active: bool,
    now: Time,
    span: tracing::Span,
}

impl GrantPass<'_> {
    /// What keeps the grant from being planned at all, known without an AWS call.
    fn unplannable(&self) -> Result<(), ReconcileError> {
        let (grant, accounts) = (self.grant, self.accounts);
        grant.check_annotations()?;
        grant.spec.validate(
            &grant.id.namespace,
            accounts.grantor.map(|g| g.spec.account_id.as_str()),
        )?;
        let Some(grantor) = accounts.grantor else {
            return Err(ReconcileError::DependencyNotReady(format!(
                "DataPlatformAccount {}/{} (spec.accountRef) does not exist",
                grant.id.namespace, grant.spec.account_ref.name
            )));
        };
        if self.active
            && let Some(waiting) = not_made_yet(grant, grantor, &accounts.organisations)
        {
            return Err(ReconcileError::DependencyNotReady(waiting));
        }
        Ok(())
    }
}

impl PassSteps for GrantPass<'_> {
    type Status = SharedBucketGrantStatus;
    type Planned = GrantPlanned;

    fn paused(&self) -> bool {
        self.grant.paused()
    }

    async fn plan(&self) -> Result<GrantPlanned, ReconcileError> {
        self.unplannable()?;
        let planned = self.engine.plan_grant(self.grant, self.accounts, self.active);
        planned.instrument(self.span.clone()).await
    }

    fn gates(planned: &GrantPlanned) -> Gates {
        Gates {
            conflicts: planned.plan.conflicts.clone(),
            quota_exceeded: planned.plan.quota_exceeded.clone(),
            not_ready: planned.plan.grantor_not_ready.clone(),
        }
    }

    fn actions(planned: &GrantPlanned) -> Vec<Action> {
        planned.plan.actions().cloned().collect()
    }

    /// The grantor's account is only watched: the grant's writes there wait too.
    fn observe_only(&self, _planned: &GrantPlanned) -> bool {
        self.accounts
            .grantor
            .is_some_and(|g| g.spec.management_policy == ManagementPolicy::ObserveOnly)
    }

    fn report_observed(
        &self,
        status: StatusBuilder<SharedBucketGrantStatus>,
        planned: GrantPlanned,
    ) -> Reconciled<SharedBucketGrantStatus> {
        let not_applied = Self::actions(&planned);
        let waiting: Vec<String> = not_applied
            .iter()
            .map(|a| format!("{a} (not made: the account is ObserveOnly)"))
            .collect();
        let message = format!(
            "DataPlatformAccount {}/{} has managementPolicy ObserveOnly: {} change(s) not made",
            self.grant.id.namespace,
            self.grant.spec.account_ref.name,
            not_applied.len()
        );
        Reconciled {
            status: status.grant_synced(&planned.desired, &waiting, Reason::ObserveOnly, message),
            applied: vec![],
            ready: waiting.is_empty(),
            not_applied,
            error: None,
            requeue_after: None,
            waiting_on: None,
            stopped_early: false,
        }
    }

    async fn run(&mut self, planned: &GrantPlanned) -> Ran {
        planned.execute(self.options).instrument(self.span.clone()).await
    }

    fn report_synced(
        &self,
        status: StatusBuilder<SharedBucketGrantStatus>,
        planned: GrantPlanned,
        ran: Ran,
        message: String,
    ) -> Reconciled<SharedBucketGrantStatus> {
        let ready = self.active && ran.not_done.is_empty();
        let until_expiry = self.grant.time_to_expiry(&self.now);
        let requeue_after = match (ready || !self.active, until_expiry) {
            (true, until) => until,
            (false, until) => Some(until.map_or(PROGRESS_REQUEUE, |u| u.min(PROGRESS_REQUEUE))),
        };
        Reconciled {
            status: status.grant_synced(&planned.desired, &[], Reason::ReconcileSuccess, message),
            applied: ran.done,
            not_applied: ran.not_done,
            error: None,
            ready,
            requeue_after,
            waiting_on: None,
            stopped_early: false,
        }
    }

    fn log_failure(&self, error: &ReconcileError) {
        tracing::warn!(parent: &self.span, reason = %error.reason(), %error, "grant reconcile failed");
    }
}

fn grantor_gone_note(grant: &GrantObject) -> String {
    let account = format!(
        "DataPlatformAccount {}/{}",
        grant.id.namespace, grant.spec.account_ref.name
    );
    let last_seen = grant.status.as_ref().filter(|s| !s.statement_ids.is_empty());
    match last_seen.and_then(|s| s.bucket.as_deref().map(|bucket| (bucket, &s.statement_ids))) {
        Some((bucket, sids)) => format!(
            "{account} (spec.accountRef) no longer exists, so its half was not reached: deleting that account \
             revokes its grants, but if its finalizer was removed by hand, remove the statements {} from the \
             policy of bucket {bucket}",
            sids.join(", ")
        ),
        None => format!("{account} (spec.accountRef) no longer exists; the grant had made nothing in its account"),
    }
}

impl GrantPlanned {
    /// The grantor's actions, stopping at the first failure.
    async fn execute(&self, options: ExecuteOptions) -> Ran {
        let Some(session) = &self.grantor_session else {
            return Ran {
                done: vec![],
                not_done: self.plan.grantor.clone(),
                error: None,
                stopped_early: false,
            };
        };
        let executed = execute(session, self.plan.grantor.clone(), options, |_| {}).await;
        Ran {
            not_done: self.plan.grantor[executed.done.len()..].to_vec(),
            done: executed.done,
            error: executed.failed.map(|(_, error)| error),
            stopped_early: executed.stopped_early,
        }
    }
}

/// A grantor's managed key is named by its alias until this finds its ARN (grants need the ARN).
async fn observe(
    desired: &mut DesiredGrant,
    grantor: Option<&AccountSession>,
) -> Result<ObservedGrant, ReconcileError> {
    let mut observed = ObservedGrant::default();
    if let (Some(session), Some(bucket)) = (grantor, &desired.bucket) {
        if desired.active {
            observed.bucket_tags = session.s3().tags_if_exists(bucket).await?;
        }
        if observed.bucket_tags.is_some() || !desired.active {
            observed.bucket_policy = session.s3().policy(bucket).await?;
        }
        if let Some(key) = desired.key.as_mut() {
            if key.key.starts_with("alias/")
                && let Some(arn) = session.kms().key_arn(&key.key).await?
            {
                key.key = arn;
            }
            if !key.key.starts_with("alias/") {
                observed.key_grants = session.kms().grants_named(&key.key, &key.name).await?;
            }
        }
    }
    Ok(observed)
}
