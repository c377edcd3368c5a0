//! Identity: the IAM roles the account's ECS tasks run as, each with the trust of ECS tasks of this
//! account only and one inline policy of least privilege. The task-execution role pulls images,
//! reads the database secret and writes logs; the task role uses the account's three buckets, the
//! database secret and the bucket key; the run-launcher role, made only while a service has
//! `launchesRuns`, has the task role's rights and those of launching Dagster runs as ECS tasks, so
//! no other service can run a task. Roles are kept by kind.
//!
//! An Organisation's task role also carries one fixed statement for the shared buckets of other
//! accounts ([`granted_shared_bucket_statements`]): the same size however many grants it receives,
//! so IAM's 10,240-character quota on a role's inline policies is never reached by grants. Each
//! grantor's bucket policy (and KMS grant) decides what that role may really read: cross-account
//! access needs both sides. Grant policies an earlier version wrote, one per grant, are removed.
//! A write that would take the role's inline policies past the account's applied quota is refused.

mod statements;
pub mod writes;
use std::collections::BTreeMap;

use dataplatform_api::SpecProblem;
use dataplatform_api::account::RolesStatus;
use dataplatform_api::names::GRANTEE_POLICY_PREFIX;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus};
use dataplatform_aws::AccountQuotas;
use dataplatform_aws::QuotaUse;
use dataplatform_aws::iam::{INLINE_POLICY_NAME, RoleObservation};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::IAM_ROLE_INLINE_POLICIES;
use dataplatform_aws::quotas::IAM_ROLE_TRUST_POLICY;
use dataplatform_aws::{AccountSession, AwsError};
use serde_json::Value;

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, FieldChange, Part, Plan};
use crate::policy::{self, Statement};
use crate::vocabulary::{
    Facts, NONE, Outcome, Owner, Readiness, observe_each, ours, tag_changes, tag_update, tags_used,
};
use statements::{execution_statements, run_launcher_statements, task_statements};
use writes::RoleWrite;

pub use statements::granted_shared_bucket_statements;

pub struct Identity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleKind {
    TaskExecution,
    Task,
    RunLauncher,
}

impl RoleKind {
    pub fn label(self) -> &'static str {
        match self {
            RoleKind::TaskExecution => "task-execution-role",
            RoleKind::Task => "task-role",
            RoleKind::RunLauncher => "run-launcher-role",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            RoleKind::TaskExecution => {
                "dataplatform-operator: lets ECS pull images and read the database secret for the account's tasks"
            }
            RoleKind::Task => {
                "dataplatform-operator: what the account's tasks may do: its three buckets and the database secret"
            }
            RoleKind::RunLauncher => {
                "dataplatform-operator: the task role's rights, and launching Dagster runs as ECS tasks in the account's cluster"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredRole {
    pub name: String,
    pub trust_policy: Value,
    pub inline_policy: Value,
}

pub type DesiredRoles = BTreeMap<RoleKind, DesiredRole>;

/// The roles that exist, by kind, and the account's applied IAM quotas.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedIdentity {
    pub roles: BTreeMap<RoleKind, RoleObservation>,
    pub quotas: AccountQuotas,
}

impl AccountPart for Identity {
    const PART: Part = Part::Identity;
    type Desired = DesiredRoles;
    type Observed = ObservedIdentity;

    fn present(_spec: &DataPlatformAccountSpec) -> bool {
        true
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredRoles {
        let trust_policy = policy::document(vec![
            Statement::allow_unnamed()
                .principal("Service", "ecs-tasks.amazonaws.com")
                .action("sts:AssumeRole")
                // Only ECS acting for this account may use the role (confused-deputy protection).
                .condition("StringEquals", "aws:SourceAccount", account.account_id.clone())
                .build(),
        ]);
        let role = |kind: RoleKind, name: String, statements: Vec<Value>| {
            let role = DesiredRole {
                name,
                trust_policy: trust_policy.clone(),
                inline_policy: policy::document(statements),
            };
            (kind, role)
        };
        let mut roles = BTreeMap::from([
            role(
                RoleKind::TaskExecution,
                account.names.task_execution_role(),
                execution_statements(account, spec),
            ),
            role(
                RoleKind::Task,
                account.names.task_role(),
                task_statements(account, spec),
            ),
        ]);
        if spec.services.iter().any(|s| s.launches_runs) {
            let mut statements = task_statements(account, spec);
            statements.extend(run_launcher_statements(account, spec));
            roles.extend([role(
                RoleKind::RunLauncher,
                account.names.run_launcher_role(),
                statements,
            )]);
        }
        roles
    }

    /// The operator's bucket key (`encryption: Managed`), once it exists, is what the task roles use.
    fn complete(desired: &mut DesiredRoles, facts: &Facts) {
        let Some(key) = &facts.bucket_key else { return };
        for kind in [RoleKind::Task, RoleKind::RunLauncher] {
            if let Some(Value::Array(statements)) = desired
                .get_mut(&kind)
                .and_then(|role| role.inline_policy.get_mut("Statement"))
            {
                statements.push(statements::bucket_key_statement(key));
            }
        }
    }

    /// The run-launcher role is looked for when no service needs it too, so one left is deleted.
    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &DesiredRoles,
    ) -> Result<ObservedIdentity, AwsError> {
        let iam = session.iam();
        let mut names: BTreeMap<RoleKind, String> = desired.iter().map(|(k, r)| (*k, r.name.clone())).collect();
        names
            .entry(RoleKind::RunLauncher)
            .or_insert_with(|| account.names.run_launcher_role());
        let roles = observe_each(&names, |name| async move { session.iam().observe_role(name).await });
        let (roles, quotas) = futures::try_join!(roles, iam.account_quotas())?;
        Ok(ObservedIdentity { roles, quotas })
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredRoles,
        observed: &ObservedIdentity,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = desired
            .iter()
            .map(|(kind, role)| {
                let seen = observed.roles.get(kind);
                within_quota(
                    role_outcome(account, *kind, role, seen, owner),
                    role,
                    seen,
                    &observed.quotas,
                )
            })
            .collect();
        // No service launches runs any more: the launcher role goes (ECS keeps running tasks'
        // credentials until they stop; the services moved to the task role in the same pass).
        outcomes.extend(
            unwanted_roles(account, desired, observed)
                .into_iter()
                .map(Outcome::create),
        );
        outcomes
    }

    /// A role is usable as soon as it is created.
    fn readiness(_: &DesiredRoles, _: &ObservedIdentity, _: &Plan, _: &mut Readiness) {}

    fn deletion(
        account: &AccountContext,
        _desired: &DesiredRoles,
        observed: &ObservedIdentity,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        observed
            .roles
            .iter()
            .filter(|(_, seen)| ours(&seen.tags, &account.owner))
            .map(|(kind, seen)| delete_role(*kind, seen))
            .collect()
    }

    fn report(
        account: &AccountContext,
        desired: &DesiredRoles,
        _observed: &ObservedIdentity,
        status: &mut DataPlatformAccountStatus,
    ) {
        let arn = |kind: RoleKind| desired.get(&kind).map(|r| account.role_arn(&r.name));
        status.roles = Some(RolesStatus {
            task_execution_role_arn: arn(RoleKind::TaskExecution),
            task_role_arn: arn(RoleKind::Task),
            run_launcher_role_arn: arn(RoleKind::RunLauncher),
        });
    }

    fn quota_use(account: &AccountContext, observed: &ObservedIdentity, used: &mut QuotaUse) {
        for role in observed.roles.values() {
            let place = || format!("role {} of {}", role.name, account.owner);
            let inline = role.inline_policy.iter().chain(role.other_policies.values());
            let size = inline.map(|d| IAM_ROLE_INLINE_POLICIES.measure(d)).sum();
            used.record(IAM_ROLE_INLINE_POLICIES, size, place);
            used.document(IAM_ROLE_TRUST_POLICY, &role.trust_policy, place);
            tags_used(used, &role.tags, place);
        }
    }

    fn policy_scope(account: &AccountContext, _spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        // The launcher role whether a service needs it or not: the operator deletes one left.
        let roles = vec![
            account.names.task_execution_role(),
            account.names.task_role(),
            account.names.run_launcher_role(),
        ];
        scope.passed_roles = Some(roles.clone());
        scope.roles = Some(roles);
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &Self::Desired,
        _observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        vec![]
    }
}

/// `iam:task-role`.
fn resource(kind: RoleKind) -> String {
    format!("iam:{}", kind.label())
}

fn delete_role(kind: RoleKind, seen: &RoleObservation) -> Action {
    Action::delete(
        Part::Identity,
        resource(kind),
        &seen.name,
        vec![RoleWrite::DeleteRole {
            role: seen.name.clone(),
        }],
    )
}

/// Roles of ours of a kind the spec no longer needs (the run-launcher role).
fn unwanted_roles(account: &AccountContext, desired: &DesiredRoles, observed: &ObservedIdentity) -> Vec<Action> {
    observed
        .roles
        .iter()
        .filter(|(kind, seen)| !desired.contains_key(kind) && ours(&seen.tags, &account.owner))
        .map(|(kind, seen)| delete_role(*kind, seen))
        .collect()
}

fn role_outcome(
    account: &AccountContext,
    kind: RoleKind,
    role: &DesiredRole,
    observed: Option<&RoleObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = resource(kind);
    let Some(observed) = observed else {
        return Outcome::create(Action::create(
            Part::Identity,
            resource,
            role.name.clone(),
            vec![
                RoleWrite::CreateRole {
                    role: role.name.clone(),
                    description: kind.description().to_owned(),
                    trust_policy: role.trust_policy.to_string(),
                    tags: account.tags.clone(),
                },
                RoleWrite::PutRolePolicy {
                    role: role.name.clone(),
                    name: INLINE_POLICY_NAME.to_owned(),
                    document: role.inline_policy.to_string(),
                },
            ],
        ));
    };
    if let Err(conflict) = owner.check(&resource, &role.name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&account.tags, &observed.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(RoleWrite::TagRole {
            role: role.name.clone(),
            tags: tag_update(&account.tags, &observed.tags),
        });
    }
    // First, so that the role's own policy is measured without them.
    for name in observed.other_policies.keys().filter(|name| is_grant_policy(name)) {
        changes.push(FieldChange::new(
            format!("inlinePolicies.{name}"),
            "a grant's policy",
            NONE,
        ));
        ops.push(RoleWrite::DeleteRolePolicy {
            role: role.name.clone(),
            name: name.clone(),
        });
    }
    let same_trust =
        policy::parse(&observed.trust_policy).is_some_and(|p| policy::same_document(&p, &role.trust_policy));
    if !same_trust {
        changes.push(FieldChange::new("trustPolicy", "changed", "ecs-tasks for this account"));
        ops.push(RoleWrite::UpdateTrustPolicy {
            role: role.name.clone(),
            trust_policy: role.trust_policy.to_string(),
        });
    }
    let same_policy = observed
        .inline_policy
        .as_deref()
        .and_then(policy::parse)
        .is_some_and(|p| policy::same_document(&p, &role.inline_policy));
    if !same_policy {
        let from = if observed.inline_policy.is_some() {
            "changed"
        } else {
            NONE
        };
        changes.push(FieldChange::new("inlinePolicy", from, "least privilege"));
        ops.push(RoleWrite::PutRolePolicy {
            role: role.name.clone(),
            name: INLINE_POLICY_NAME.to_owned(),
            document: role.inline_policy.to_string(),
        });
    }
    Outcome::update(Part::Identity, resource, &role.name, changes, ops)
}

/// A policy one SharedBucketGrant wrote on an Organisation's task role before grants shared one
/// fixed statement: ours, and no longer wanted.
fn is_grant_policy(name: &str) -> bool {
    name.starts_with(GRANTEE_POLICY_PREFIX)
}

/// Refuses a role's writes when its inline policies together, after them, would pass the account's
/// applied quota (IAM counts every inline policy of the role, ours and hand-written ones alike).
fn within_quota(
    outcome: Outcome,
    role: &DesiredRole,
    seen: Option<&RoleObservation>,
    quotas: &AccountQuotas,
) -> Outcome {
    let writes_policy = outcome.action.as_ref().is_some_and(|a| {
        a.ops
            .iter()
            .any(|op| matches!(op.get(), Some(RoleWrite::PutRolePolicy { .. })))
    });
    if !writes_policy {
        return outcome;
    }
    let kept = seen.into_iter().flat_map(|s| &s.other_policies);
    let others: usize = kept
        .filter(|(name, _)| !is_grant_policy(name))
        .map(|(_, document)| IAM_ROLE_INLINE_POLICIES.measure(document))
        .sum();
    let used = IAM_ROLE_INLINE_POLICIES.measure(&role.inline_policy.to_string()) + others;
    let subject = format!("the inline policies of role {} together", role.name);
    match IAM_ROLE_INLINE_POLICIES.check(quotas.role_policy_size, used, &subject) {
        Ok(()) => outcome,
        Err(refused) => Outcome::quota_exceeded(refused),
    }
}
