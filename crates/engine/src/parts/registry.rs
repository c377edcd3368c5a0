//! Registry (Organisation accounts with `spec.registry`): ECR repositories with scan on push, tag
//! mutability as the spec asks, the owner tag, and one repository-policy statement of ours that lets
//! every managed Child account pull. Other statements in a repository policy (people's) are kept, as
//! in bucket policies. A non-empty repository is never deleted.

use dataplatform_api::names::{REGISTRY_PULL_SID, ecr_repository};
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, Tier};
use dataplatform_aws::ecr::RepositoryObservation;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError};
use serde_json::Value;

use crate::account::AccountContext;
use crate::part::AccountPart;
use crate::plan::{Action, FieldChange, Op, Part, Plan, SharedDocument, StatementOwner};
use crate::policy::{self, Merged, Statement};
use crate::vocabulary::{NONE, Outcome, Owner, Readiness, missing_tags, ours, tag_changes};

pub struct Registry;

/// `None`: the account has no registry.
pub type MaybeRegistry = Option<DesiredRegistry>;

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredRegistry {
    pub repositories: Vec<DesiredRepository>,
    /// `None` when there is no managed Child account to let pull.
    pub pull_statement: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredRepository {
    pub name: String,
    pub immutable_tags: bool,
}

/// Pulling an image, and nothing else.
const PULL_ACTIONS: [&str; 3] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

impl DesiredRegistry {
    pub fn names(&self) -> Vec<String> {
        self.repositories.iter().map(|r| r.name.clone()).collect()
    }

    fn wanted_statements(&self) -> Vec<Value> {
        self.pull_statement.iter().cloned().collect()
    }
}

fn owner_of_pull_statement() -> StatementOwner {
    StatementOwner::Sid(REGISTRY_PULL_SID.to_owned())
}

impl AccountPart for Registry {
    const PART: Part = Part::Registry;
    type Desired = MaybeRegistry;
    /// The registry's repositories that exist.
    type Observed = Vec<RepositoryObservation>;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.registry.is_some()
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> MaybeRegistry {
        let registry = spec.registry.as_ref().filter(|_| spec.tier == Tier::Organisation)?;
        let children: Vec<String> = account
            .child_accounts
            .iter()
            .filter(|id| **id != spec.account_id)
            .map(|id| format!("arn:{}:iam::{id}:root", account.partition))
            .collect();
        Some(DesiredRegistry {
            repositories: registry
                .repositories
                .iter()
                .map(|name| DesiredRepository {
                    name: ecr_repository(name),
                    immutable_tags: registry.immutable_tags,
                })
                .collect(),
            pull_statement: (!children.is_empty()).then(|| {
                Statement::allow(REGISTRY_PULL_SID)
                    .principal("AWS", children)
                    .actions(&PULL_ACTIONS)
                    .build()
            }),
        })
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &MaybeRegistry,
    ) -> Result<Vec<RepositoryObservation>, AwsError> {
        let names = desired.as_ref().map(DesiredRegistry::names).unwrap_or_default();
        session.ecr().observe_repositories(&names).await
    }

    fn diff(
        account: &AccountContext,
        desired: &MaybeRegistry,
        observed: &Vec<RepositoryObservation>,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let Some(registry) = desired else {
            return vec![];
        };
        registry
            .repositories
            .iter()
            .map(|repository| {
                let seen = observed.iter().find(|r| r.name == repository.name);
                repository_outcome(account, registry, repository, seen, owner)
            })
            .collect()
    }

    /// A repository is usable as soon as it is created.
    fn readiness(_: &MaybeRegistry, _: &Vec<RepositoryObservation>, _: &Plan, _: &mut Readiness) {}

    fn deletion(
        account: &AccountContext,
        _desired: &MaybeRegistry,
        observed: &Vec<RepositoryObservation>,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        observed
            .iter()
            .filter(|r| ours(&r.tags, &account.owner))
            .map(|r| {
                Action::delete(
                    Part::Registry,
                    format!("ecr:{}", r.name),
                    &r.name,
                    vec![Op::DeleteRepository {
                        repository: r.name.clone(),
                    }],
                )
            })
            .collect()
    }

    /// The registry reports nothing in status yet.
    fn report(
        _: &AccountContext,
        _: &MaybeRegistry,
        _: &Vec<RepositoryObservation>,
        _: &mut DataPlatformAccountStatus,
    ) {
    }

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.repositories = Some(match (&spec.tier, &spec.registry) {
            (Tier::Organisation, Some(registry)) => registry.repositories.clone(),
            _ => vec![],
        });
    }
}

fn repository_outcome(
    account: &AccountContext,
    registry: &DesiredRegistry,
    repository: &DesiredRepository,
    seen: Option<&RepositoryObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = format!("ecr:{}", repository.name);
    let merge_pull_statement = || Op::MergePolicyStatements {
        document: SharedDocument::RepositoryPolicy {
            repository: repository.name.clone(),
        },
        owner: owner_of_pull_statement(),
        statements: registry.wanted_statements(),
    };
    let Some(seen) = seen else {
        let mut ops = vec![Op::CreateRepository {
            repository: repository.name.clone(),
            scan_on_push: true,
            immutable_tags: repository.immutable_tags,
            tags: account.tags.clone(),
        }];
        if registry.pull_statement.is_some() {
            ops.push(merge_pull_statement());
        }
        return Outcome::create(Action::create(Part::Registry, resource, &repository.name, ops));
    };
    if let Err(conflict) = owner.check(&resource, &repository.name, &seen.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&account.tags, &seen.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(Op::TagRepository {
            arn: seen.arn.clone(),
            tags: missing_tags(&account.tags, &seen.tags),
        });
    }
    if !seen.scan_on_push {
        changes.push(FieldChange::new("scanOnPush", "false", "true"));
        ops.push(Op::PutScanOnPush {
            repository: repository.name.clone(),
            scan_on_push: true,
        });
    }
    if seen.immutable_tags != repository.immutable_tags {
        changes.push(FieldChange::new(
            "immutableTags",
            seen.immutable_tags.to_string(),
            repository.immutable_tags.to_string(),
        ));
        ops.push(Op::PutTagMutability {
            repository: repository.name.clone(),
            immutable_tags: repository.immutable_tags,
        });
    }
    let existing = match seen.policy.as_deref().map(policy::parse) {
        Some(None) => {
            return Outcome::conflict(format!(
                "{resource} ({}) has a repository policy that is not valid JSON; fix or remove it by hand",
                repository.name
            ));
        }
        parsed => parsed.flatten(),
    };
    let owner = owner_of_pull_statement();
    let owns = |sid: &str| owner.owns(sid);
    if policy::merge_owned(existing.as_ref(), owns, &registry.wanted_statements()) != Merged::Unchanged {
        let ours = policy::statements(existing.as_ref())
            .into_iter()
            .find(|s| policy::sid(s).is_some_and(owns));
        let describe = |s: Option<&Value>| s.map_or_else(|| NONE.to_owned(), policy::describe_statement);
        changes.push(FieldChange::new(
            format!("policy.{REGISTRY_PULL_SID}"),
            describe(ours.as_ref()),
            describe(registry.pull_statement.as_ref()),
        ));
        ops.push(merge_pull_statement());
    }
    Outcome::update(Part::Registry, resource, &repository.name, changes, ops)
}
