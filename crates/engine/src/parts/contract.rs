//! What every part of an account provides, from the spec to deletion. Modelled on Crossplane's
//! external client (observe, then what to create, update or delete) and ACK's field deltas (compare
//! only what the spec owns); the account-wide code (`parts`) drives every part through these steps
//! in one order. Steps that are easy to forget have no default body, so a part that leaves one out
//! does not compile.

use std::fmt::Debug;
use std::future::Future;

use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, SpecProblem};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};

use crate::account::AccountContext;
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness};

pub trait AccountPart: 'static {
    /// How plans, the CLI's table and metrics name the part.
    const PART: Part;
    /// What AWS should hold: plain values, made from the spec without any call.
    type Desired: Clone + Debug + PartialEq + Send + Sync + 'static;
    /// What AWS holds under the part's names (`Default`: nothing yet).
    type Observed: Clone + Debug + Default + PartialEq + Send + Sync + 'static;

    /// Whether the account has this part at all (the registry only on an Organisation account with
    /// `spec.registry`).
    fn present(spec: &DataPlatformAccountSpec) -> bool;

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Self::Desired;

    /// Carries forward into the desired state what the object's last status recorded and AWS no
    /// longer tells (a rollout ECS rolled back; whether the last pass had target groups or scaling
    /// to look for). `None`: no status yet, or the CLI: look for everything.
    fn remember(desired: &mut Self::Desired, status: Option<&DataPlatformAccountStatus>);

    /// Completes the desired state with what parts earlier in the list found (compute: the
    /// database endpoint), before any diff.
    fn complete(_desired: &mut Self::Desired, _facts: &Facts) {}

    /// Read calls only: this is all a steady state costs.
    fn observe<'a>(
        session: &'a AccountSession,
        account: &'a AccountContext,
        desired: &'a Self::Desired,
    ) -> impl Future<Output = Result<Self::Observed, AwsError>> + Send + 'a;

    /// What only AWS can tell is wrong with the spec (a subnet that does not exist, a key that
    /// cannot be used): refused as `InvalidSpec`, naming the field, before any write.
    fn spec_problems(
        spec: &DataPlatformAccountSpec,
        desired: &Self::Desired,
        observed: &Self::Observed,
    ) -> Vec<SpecProblem>;

    /// What this part found that later parts build on.
    fn facts(_desired: &Self::Desired, _observed: &Self::Observed, _facts: &mut Facts) {}

    /// Desired against observed, over the fields the spec owns only. Pure.
    fn diff(
        account: &AccountContext,
        desired: &Self::Desired,
        observed: &Self::Observed,
        owner: &Owner<'_>,
    ) -> Vec<Outcome>;

    /// What is still missing or busy once `applied` (this pass's actions) has run.
    fn readiness(desired: &Self::Desired, observed: &Self::Observed, applied: &Plan, readiness: &mut Readiness);

    /// Under `deletionPolicy: Delete`: the deletions, in order, of what carries our owner tag. What
    /// keeps the part from going yet goes to `waiting`; parts earlier in the list then wait too.
    fn deletion(
        account: &AccountContext,
        desired: &Self::Desired,
        observed: &Self::Observed,
        waiting: &mut Vec<String>,
    ) -> Vec<Action>;

    /// The part's fields of the account's status.
    fn report(
        account: &AccountContext,
        desired: &Self::Desired,
        observed: &Self::Observed,
        status: &mut DataPlatformAccountStatus,
    );

    /// What AWS would count against its quotas of what the part holds (documents' sizes, rules,
    /// tags per resource), for the bench's report (issue 30).
    fn quota_use(account: &AccountContext, observed: &Self::Observed, used: &mut QuotaUse);

    /// The names the account role's policy must cover for this part (`iam-policy -f`).
    fn policy_scope(account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope);
}
