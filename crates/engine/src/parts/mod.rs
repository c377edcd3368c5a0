//! The parts of an account, and the account-wide steps that take every part through the
//! [`AccountPart`] contract in one order ([`each_part`]): desired state, observation, the facts
//! parts hand on, diff, readiness, status, deletion and the account role's policy scope.
//!
//! Adding a part: its folder here (its `AccountPart` and its `Write`s), its line in the list below
//! and its name in `plan::Part` (see docs/architecture.md).

pub mod contract;

use std::future::Future;
use std::pin::Pin;

use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, SpecProblem};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};
use futures::future::try_join_all;

use crate::account::{AccountContext, ObjectId};
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Diff, Facts, Owner, Readiness};
use contract::AccountPart;

/// Writes, from the one list of parts below: each part's module, its fields in [`DesiredAccount`]
/// and [`ObservedAccount`], and its line in [`each_part`]. A field is named after its module.
macro_rules! account_parts {
    ($($module:ident::$part:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// What the spec wants in AWS, part by part: a pure function of the object's identity and
        /// spec, completed with what observation found ([`complete`]) before any diff.
        #[derive(Clone, Debug, PartialEq)]
        pub struct DesiredAccount {
            pub account: AccountContext,
            $(pub $module: <$module::$part as AccountPart>::Desired,)*
        }

        /// What AWS holds under the account's names, part by part.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct ObservedAccount {
            $(pub $module: <$module::$part as AccountPart>::Observed,)*
        }

        impl DesiredAccount {
            /// `child_accounts`: ids of the managed Child accounts, whom an Organisation's registry
            /// lets pull.
            pub fn new(
                id: &ObjectId,
                spec: &DataPlatformAccountSpec,
                child_accounts: &std::collections::BTreeSet<String>,
            ) -> Self {
                let account = AccountContext::new(id, spec, child_accounts);
                Self {
                    $($module: <$module::$part as AccountPart>::desired(&account, spec),)*
                    account,
                }
            }
        }

        /// Takes `step` through every part, in list order.
        pub(crate) fn each_part(step: &mut impl EachPart) {
            $(step.part::<$module::$part>(Slots {
                desired: |d| &d.$module,
                desired_mut: |d| &mut d.$module,
                observed: |o| &o.$module,
                observed_mut: |o| &mut o.$module,
            });)*
        }
    };
}

// Every part of an account, in dependency order: a part comes after the parts it builds on (the
// network before the database and the services in it, the bucket key before the buckets it
// encrypts and the roles that use it, the roles before the services that run as
// them, the log group before the services that write to it, the database before the services that
// connect to it, the user pool before the load balancers that sign people in through it, the load balancers before the services registered in their target groups and the records
// that point at them, the
// Cloud Map names before the services registered in them, the services before their scaling).
// Creation and updates go down the list, deletion up it. The one place the parts are listed.
account_parts! {
    network::Network,
    bucket_key::BucketKey,
    storage::Storage,
    identity::Identity,
    logging::Logging,
    database::Database,
    certificate::Certificate,
    user_pool::UserPool,
    load_balancer::LoadBalancing,
    dns::Dns,
    discovery::Discovery,
    compute::Compute,
    scaling::Scaling,
    registry::Registry,
}

/// Where one part lives in [`DesiredAccount`] and [`ObservedAccount`].
pub(crate) struct Slots<P: AccountPart> {
    desired: fn(&DesiredAccount) -> &P::Desired,
    desired_mut: fn(&mut DesiredAccount) -> &mut P::Desired,
    observed: fn(&ObservedAccount) -> &P::Observed,
    observed_mut: fn(&mut ObservedAccount) -> &mut P::Observed,
}

/// One account-wide step, taken with each part in turn.
pub(crate) trait EachPart {
    fn part<P: AccountPart>(&mut self, slots: Slots<P>);
}

/// Each part carries forward what the object's last status recorded (see [`AccountPart::remember`]).
pub fn remember(desired: &mut DesiredAccount, status: Option<&DataPlatformAccountStatus>) {
    struct Remember<'a>(&'a mut DesiredAccount, Option<&'a DataPlatformAccountStatus>);
    impl EachPart for Remember<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            P::remember((slots.desired_mut)(self.0), self.1);
        }
    }
    each_part(&mut Remember(desired, status));
}

/// What only AWS can tell is wrong with the spec, part by part in list order.
pub fn spec_problems(
    spec: &DataPlatformAccountSpec,
    desired: &DesiredAccount,
    observed: &ObservedAccount,
) -> Vec<SpecProblem> {
    struct Problems<'a> {
        spec: &'a DataPlatformAccountSpec,
        desired: &'a DesiredAccount,
        observed: &'a ObservedAccount,
        problems: Vec<SpecProblem>,
    }
    impl EachPart for Problems<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            let (desired, observed) = ((slots.desired)(self.desired), (slots.observed)(self.observed));
            self.problems.extend(P::spec_problems(self.spec, desired, observed));
        }
    }
    let mut step = Problems {
        spec,
        desired,
        observed,
        problems: vec![],
    };
    each_part(&mut step);
    step.problems
}

/// Puts one part's observation into its slot.
type Fill = Box<dyn FnOnce(&mut ObservedAccount) + Send>;
type Observing<'a> = Pin<Box<dyn Future<Output = Result<Fill, AwsError>> + Send + 'a>>;

/// Reads every part at once (read calls only: this is all a steady state costs), then completes
/// the desired state with the facts the parts found, in list order.
pub async fn observe(session: &AccountSession, desired: &mut DesiredAccount) -> Result<ObservedAccount, AwsError> {
    struct Observe<'a> {
        session: &'a AccountSession,
        desired: &'a DesiredAccount,
        reads: Vec<Observing<'a>>,
    }
    impl<'a> EachPart for Observe<'a> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            let (session, desired) = (self.session, self.desired);
            self.reads.push(Box::pin(async move {
                let seen = P::observe(session, &desired.account, (slots.desired)(desired)).await?;
                Ok(Box::new(move |observed: &mut ObservedAccount| *(slots.observed_mut)(observed) = seen) as Fill)
            }));
        }
    }
    let mut observed = ObservedAccount::default();
    {
        let mut step = Observe {
            session,
            desired,
            reads: vec![],
        };
        each_part(&mut step);
        for fill in try_join_all(step.reads).await? {
            fill(&mut observed);
        }
    }
    complete(desired, &observed);
    Ok(observed)
}

/// Each part, in list order, completes its desired state with the facts of the parts before it.
pub fn complete(desired: &mut DesiredAccount, observed: &ObservedAccount) {
    struct Complete<'a> {
        desired: &'a mut DesiredAccount,
        observed: &'a ObservedAccount,
        facts: Facts,
    }
    impl EachPart for Complete<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            P::complete((slots.desired_mut)(self.desired), &self.facts);
            P::facts(
                (slots.desired)(self.desired),
                (slots.observed)(self.observed),
                &mut self.facts,
            );
        }
    }
    each_part(&mut Complete {
        desired,
        observed,
        facts: Facts::default(),
    });
}

/// What every part holds, measured against AWS's quotas.
pub fn quota_use(desired: &DesiredAccount, observed: &ObservedAccount) -> QuotaUse {
    struct Measure<'a> {
        desired: &'a DesiredAccount,
        observed: &'a ObservedAccount,
        used: QuotaUse,
    }
    impl EachPart for Measure<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            P::quota_use(&self.desired.account, (slots.observed)(self.observed), &mut self.used);
        }
    }
    let mut step = Measure {
        desired,
        observed,
        used: QuotaUse::default(),
    };
    each_part(&mut step);
    step.used
}

/// Desired against observed, part by part, in list order (the order the executor follows).
pub fn diff(desired: &DesiredAccount, observed: &ObservedAccount, adopt: bool) -> Diff {
    struct DiffStep<'a> {
        desired: &'a DesiredAccount,
        observed: &'a ObservedAccount,
        owner: Owner<'a>,
        diff: Diff,
    }
    impl EachPart for DiffStep<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            let (desired, observed) = ((slots.desired)(self.desired), (slots.observed)(self.observed));
            for outcome in P::diff(&self.desired.account, desired, observed, &self.owner) {
                self.diff.add(outcome);
            }
        }
    }
    let mut step = DiffStep {
        desired,
        observed,
        owner: Owner {
            value: &desired.account.owner,
            adopt,
        },
        diff: Diff::default(),
    };
    each_part(&mut step);
    step.diff
}

/// What is still missing or busy once `applied` has run against what was `observed`.
pub fn readiness(
    desired: &DesiredAccount,
    observed: &ObservedAccount,
    applied: &Plan,
    waiting: &[String],
) -> Readiness {
    struct ReadinessStep<'a> {
        desired: &'a DesiredAccount,
        observed: &'a ObservedAccount,
        applied: &'a Plan,
        readiness: Readiness,
    }
    impl EachPart for ReadinessStep<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            let (desired, observed) = ((slots.desired)(self.desired), (slots.observed)(self.observed));
            P::readiness(desired, observed, self.applied, &mut self.readiness);
        }
    }
    let mut step = ReadinessStep {
        desired,
        observed,
        applied,
        readiness: Readiness {
            pending: waiting.to_vec(),
            creating: applied
                .actions
                .iter()
                .any(|a| a.kind == crate::plan::ActionKind::Create),
            failed: vec![],
            waits: Default::default(),
        },
    };
    each_part(&mut step);
    step.readiness
}

/// Every part writes its own fields of `status`.
pub fn report(desired: &DesiredAccount, observed: &ObservedAccount, status: &mut DataPlatformAccountStatus) {
    struct Report<'a> {
        desired: &'a DesiredAccount,
        observed: &'a ObservedAccount,
        status: &'a mut DataPlatformAccountStatus,
    }
    impl EachPart for Report<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            let (desired, observed) = ((slots.desired)(self.desired), (slots.observed)(self.observed));
            P::report(&self.desired.account, desired, observed, self.status);
        }
    }
    each_part(&mut Report {
        desired,
        observed,
        status,
    });
}

/// Deletions up the list, last part first; a part that cannot go yet (`waiting`) holds back every
/// part before it in the list.
pub fn deletion(desired: &DesiredAccount, observed: &ObservedAccount, waiting: &mut Vec<String>) -> Vec<Action> {
    struct Deletion<'a> {
        desired: &'a DesiredAccount,
        observed: &'a ObservedAccount,
        /// Per part in list order: its deletions and what it waits for.
        parts: Vec<(Vec<Action>, Vec<String>)>,
    }
    impl EachPart for Deletion<'_> {
        fn part<P: AccountPart>(&mut self, slots: Slots<P>) {
            let (desired, observed) = ((slots.desired)(self.desired), (slots.observed)(self.observed));
            let mut waiting = Vec::new();
            let actions = P::deletion(&self.desired.account, desired, observed, &mut waiting);
            self.parts.push((actions, waiting));
        }
    }
    let mut step = Deletion {
        desired,
        observed,
        parts: vec![],
    };
    each_part(&mut step);
    let mut actions = Vec::new();
    for (deletions, waits) in step.parts.into_iter().rev() {
        actions.extend(deletions);
        if !waits.is_empty() {
            waiting.extend(waits);
            break;
        }
    }
    actions
}

/// Whether a wait of `kind` may be over, by the one read that says so, for kinds that have one (a
/// waiting pass reads every part; this reads one thing): `None` when the kind has no probe and a
/// full pass must look.
pub async fn probe(
    session: &AccountSession,
    desired: &DesiredAccount,
    kind: crate::wait::WaitKind,
) -> Result<Option<bool>, AwsError> {
    match kind {
        crate::wait::WaitKind::Tasks => Ok(Some(compute::tasks_settled(session, &desired.compute).await?)),
        _ => Ok(None),
    }
}

/// The names the role the operator assumes in this account must cover (`iam-policy -f`).
pub fn policy_scope(id: &ObjectId, spec: &DataPlatformAccountSpec) -> PolicyScope {
    struct Scope<'a> {
        account: AccountContext,
        spec: &'a DataPlatformAccountSpec,
        scope: PolicyScope,
    }
    impl EachPart for Scope<'_> {
        fn part<P: AccountPart>(&mut self, _slots: Slots<P>) {
            P::policy_scope(&self.account, self.spec, &mut self.scope);
        }
    }
    let account = AccountContext::new(id, spec, &Default::default());
    let mut step = Scope {
        scope: PolicyScope {
            account_id: Some(account.account_id.clone()),
            region: Some(account.region.clone()),
            ..Default::default()
        },
        account,
        spec,
    };
    each_part(&mut step);
    step.scope
}

/// The parts the account has, in list order (the CLI's table).
pub fn present(spec: &DataPlatformAccountSpec) -> Vec<Part> {
    struct Present<'a>(&'a DataPlatformAccountSpec, Vec<Part>);
    impl EachPart for Present<'_> {
        fn part<P: AccountPart>(&mut self, _slots: Slots<P>) {
            if P::present(self.0) {
                self.1.push(P::PART);
            }
        }
    }
    let mut step = Present(spec, vec![]);
    each_part(&mut step);
    step.1
}

#[cfg(test)]
mod tests;
