//! The parts of an account, and the account-wide steps that take every part through the
//! [`AccountPart`] contract in one order ([`each_part`]): desired state, observation, the facts
//! parts hand on, diff, readiness, status, deletion and the account role's policy scope.
//!
//! Adding a part: a module here implementing `AccountPart`, its fields in [`DesiredAccount`] and
//! [`ObservedAccount`], its line in [`each_part`], its `Part` in `plan` and its `Op`s in `plan/ops.rs`.

pub mod compute;
pub mod database;
pub mod identity;
pub mod load_balancer;
pub mod logging;
pub mod network;
pub mod registry;
pub mod scaling;
pub mod storage;

use std::future::Future;
use std::pin::Pin;

use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};
use futures::future::try_join_all;

use crate::account::{AccountContext, ObjectId};
use crate::part::AccountPart;
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Diff, Facts, Owner, Readiness};
use compute::Compute;
use database::Database;
use identity::Identity;
use load_balancer::LoadBalancing;
use logging::Logging;
use network::Network;
use registry::Registry;
use scaling::Scaling;
use storage::Storage;

/// What the spec wants in AWS, part by part: a pure function of the object's identity and spec,
/// completed with what observation found ([`complete`]) before any diff.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAccount {
    pub account: AccountContext,
    pub network: <Network as AccountPart>::Desired,
    pub storage: <Storage as AccountPart>::Desired,
    pub identity: <Identity as AccountPart>::Desired,
    pub logging: <Logging as AccountPart>::Desired,
    pub database: <Database as AccountPart>::Desired,
    pub load_balancer: <LoadBalancing as AccountPart>::Desired,
    pub compute: <Compute as AccountPart>::Desired,
    pub scaling: <Scaling as AccountPart>::Desired,
    pub registry: <Registry as AccountPart>::Desired,
}

/// What AWS holds under the account's names, part by part.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedAccount {
    pub network: <Network as AccountPart>::Observed,
    pub storage: <Storage as AccountPart>::Observed,
    pub identity: <Identity as AccountPart>::Observed,
    pub logging: <Logging as AccountPart>::Observed,
    pub database: <Database as AccountPart>::Observed,
    pub load_balancer: <LoadBalancing as AccountPart>::Observed,
    pub compute: <Compute as AccountPart>::Observed,
    pub scaling: <Scaling as AccountPart>::Observed,
    pub registry: <Registry as AccountPart>::Observed,
}

impl DesiredAccount {
    /// `child_accounts`: ids of the managed Child accounts, whom an Organisation's registry lets pull.
    pub fn new(
        id: &ObjectId,
        spec: &DataPlatformAccountSpec,
        child_accounts: &std::collections::BTreeSet<String>,
    ) -> Self {
        let account = AccountContext::new(id, spec, child_accounts);
        Self {
            network: Network::desired(&account, spec),
            storage: Storage::desired(&account, spec),
            identity: Identity::desired(&account, spec),
            logging: Logging::desired(&account, spec),
            database: Database::desired(&account, spec),
            load_balancer: LoadBalancing::desired(&account, spec),
            compute: Compute::desired(&account, spec),
            scaling: Scaling::desired(&account, spec),
            registry: Registry::desired(&account, spec),
            account,
        }
    }
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

/// Every part of an account, in dependency order: a part comes after the parts it builds on (the
/// network before the database and the services in it, the roles before the services that run as
/// them, the log group before the services that write to it, the database before the services that
/// connect to it, the load balancers before the services registered in their target groups, the services
/// before their scaling).
/// Creation and updates go down the list, deletion up it. The one place this order is written.
pub(crate) fn each_part(step: &mut impl EachPart) {
    // Adding a field to DesiredAccount makes this fail to compile until the part is listed below.
    let _every_part_listed = |d: &DesiredAccount| {
        let DesiredAccount {
            account: _,
            network: _,
            storage: _,
            identity: _,
            logging: _,
            database: _,
            load_balancer: _,
            compute: _,
            scaling: _,
            registry: _,
        } = d;
    };
    step.part::<Network>(Slots {
        desired: |d| &d.network,
        desired_mut: |d| &mut d.network,
        observed: |o| &o.network,
        observed_mut: |o| &mut o.network,
    });
    step.part::<Storage>(Slots {
        desired: |d| &d.storage,
        desired_mut: |d| &mut d.storage,
        observed: |o| &o.storage,
        observed_mut: |o| &mut o.storage,
    });
    step.part::<Identity>(Slots {
        desired: |d| &d.identity,
        desired_mut: |d| &mut d.identity,
        observed: |o| &o.identity,
        observed_mut: |o| &mut o.identity,
    });
    step.part::<Logging>(Slots {
        desired: |d| &d.logging,
        desired_mut: |d| &mut d.logging,
        observed: |o| &o.logging,
        observed_mut: |o| &mut o.logging,
    });
    step.part::<Database>(Slots {
        desired: |d| &d.database,
        desired_mut: |d| &mut d.database,
        observed: |o| &o.database,
        observed_mut: |o| &mut o.database,
    });
    step.part::<LoadBalancing>(Slots {
        desired: |d| &d.load_balancer,
        desired_mut: |d| &mut d.load_balancer,
        observed: |o| &o.load_balancer,
        observed_mut: |o| &mut o.load_balancer,
    });
    step.part::<Compute>(Slots {
        desired: |d| &d.compute,
        desired_mut: |d| &mut d.compute,
        observed: |o| &o.compute,
        observed_mut: |o| &mut o.compute,
    });
    step.part::<Scaling>(Slots {
        desired: |d| &d.scaling,
        desired_mut: |d| &mut d.scaling,
        observed: |o| &o.scaling,
        observed_mut: |o| &mut o.scaling,
    });
    step.part::<Registry>(Slots {
        desired: |d| &d.registry,
        desired_mut: |d| &mut d.registry,
        observed: |o| &o.registry,
        observed_mut: |o| &mut o.registry,
    });
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
