//! Registry (Organisation accounts with `spec.registry`): ECR repositories with scan on push, tag
//! mutability as the spec asks, the owner tag, and one repository-policy statement of ours that lets
//! every managed Child account pull. Other statements in a repository policy (people's) are kept, as
//! in bucket policies. A non-empty repository is never deleted.
//!
//! The pull statement names the AWS Organization when `spec.registry.organizationId` is set (the
//! condition aws:PrincipalOrgID: one size for any number of Children), and every Child account's
//! root otherwise (about 33 characters each). A policy past ECR's 10,240 characters is refused
//! before any write of the pass, naming the fix.

pub mod writes;
use dataplatform_api::SpecProblem;
use dataplatform_api::account::{RegistryStatus, RepositoryStatus};
use dataplatform_api::names::{REGISTRY_PULL_SID, ecr_repository};
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, Tier};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::ecr::RepositoryObservation;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::ECR_REPOSITORY_POLICY;
use dataplatform_aws::{AccountSession, AwsError, QuotaExceeded};
use serde_json::Value;

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::MergePolicyStatements;
use crate::plan::{Action, FieldChange, Op, Part, Plan, SharedDocument, StatementOwner};
use crate::policy::{self, Merged, Statement};
use crate::vocabulary::{NONE, Outcome, Owner, Readiness, ours, tag_changes, tag_update, tags_used};
use writes::RepositoryWrite;

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

/// Who may pull: the organisation's accounts by condition, or each Child account by name; `None`
/// when there is nobody to let pull.
fn pull_statement(organization: Option<&str>, children: Vec<String>) -> Option<Value> {
    let statement = Statement::allow(REGISTRY_PULL_SID).actions(&PULL_ACTIONS);
    match organization {
        Some(organization) => Some(
            statement
                .anyone()
                .condition("StringEquals", "aws:PrincipalOrgID", organization.to_owned())
                .build(),
        ),
        None => (!children.is_empty()).then(|| statement.principal("AWS", children).build()),
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

    /// Every Organisation account has one (empty without `spec.registry`), so repositories that
    /// left the spec are still found and reported.
    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> MaybeRegistry {
        if spec.tier != Tier::Organisation {
            return None;
        }
        let no_repositories = dataplatform_api::RegistrySpec {
            repositories: vec![],
            immutable_tags: false,
            organization_id: None,
        };
        let registry = spec.registry.as_ref().unwrap_or(&no_repositories);
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
            pull_statement: pull_statement(registry.organization_id.as_deref(), children),
        })
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &MaybeRegistry,
    ) -> Result<Vec<RepositoryObservation>, AwsError> {
        let Some(registry) = desired else {
            return Ok(vec![]);
        };
        let owner = Some((dataplatform_api::OWNER_TAG, account.owner.as_str()));
        session.ecr().observe_repositories(&registry.names(), owner).await
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
        let mut outcomes: Vec<Outcome> = registry
            .repositories
            .iter()
            .map(|repository| {
                let seen = observed.iter().find(|r| r.name == repository.name);
                repository_outcome(account, registry, repository, seen, owner)
            })
            .collect();
        outcomes.extend(no_longer_managed(registry, observed, &account.owner).map(|name| Outcome {
            note: Some(format!(
                "ecr:{name} is no longer in spec.registry: kept (it may hold images) and no longer managed; delete it by hand when it is empty"
            )),
            ..Default::default()
        }));
        outcomes
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
                    vec![RepositoryWrite::DeleteRepository {
                        repository: r.name.clone(),
                    }],
                )
            })
            .collect()
    }

    fn report(
        account: &AccountContext,
        desired: &MaybeRegistry,
        observed: &Vec<RepositoryObservation>,
        status: &mut DataPlatformAccountStatus,
    ) {
        status.registry = desired.as_ref().and_then(|registry| {
            let report = RegistryStatus {
                repositories: registry
                    .repositories
                    .iter()
                    .filter_map(|r| observed.iter().find(|seen| seen.name == r.name))
                    .map(|seen| RepositoryStatus {
                        name: seen.name.clone(),
                        arn: seen.arn.clone(),
                        uri: seen.uri.clone(),
                    })
                    .collect(),
                no_longer_managed: no_longer_managed(registry, observed, &account.owner).collect(),
            };
            (report != RegistryStatus::default()).then_some(report)
        });
    }

    fn quota_use(account: &AccountContext, observed: &Vec<RepositoryObservation>, used: &mut QuotaUse) {
        for repository in observed {
            let place = || format!("repository {} of {}", repository.name, account.owner);
            if let Some(policy) = &repository.policy {
                used.document(ECR_REPOSITORY_POLICY, policy, place);
            }
            tags_used(used, &repository.tags, place);
        }
    }

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.repositories = Some(match (&spec.tier, &spec.registry) {
            (Tier::Organisation, Some(registry)) => registry.repositories.clone(),
            _ => vec![],
        });
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

/// Our repositories that are not in the spec (any more).
fn no_longer_managed<'a>(
    registry: &'a DesiredRegistry,
    observed: &'a [RepositoryObservation],
    owner: &'a str,
) -> impl Iterator<Item = String> + 'a {
    observed
        .iter()
        .filter(move |seen| ours(&seen.tags, owner) && !registry.repositories.iter().any(|r| r.name == seen.name))
        .map(|seen| seen.name.clone())
}

fn repository_outcome(
    account: &AccountContext,
    registry: &DesiredRegistry,
    repository: &DesiredRepository,
    seen: Option<&RepositoryObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = format!("ecr:{}", repository.name);
    let merge_pull_statement = || MergePolicyStatements {
        document: SharedDocument::RepositoryPolicy {
            repository: repository.name.clone(),
        },
        owner: owner_of_pull_statement(),
        statements: registry.wanted_statements(),
    };
    let Some(seen) = seen else {
        if let Err(refused) = policy_fits(account, repository, &policy::document(registry.wanted_statements())) {
            return Outcome::quota_exceeded(refused);
        }
        let mut ops: Vec<Op> = vec![
            RepositoryWrite::CreateRepository {
                repository: repository.name.clone(),
                scan_on_push: true,
                immutable_tags: repository.immutable_tags,
                tags: account.tags.clone(),
            }
            .into(),
        ];
        if registry.pull_statement.is_some() {
            ops.push(merge_pull_statement().into());
        }
        return Outcome::create(Action::create(Part::Registry, resource, &repository.name, ops));
    };
    if let Err(conflict) = owner.check(&resource, &repository.name, &seen.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&account.tags, &seen.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(RepositoryWrite::TagRepository {
            arn: seen.arn.clone(),
            tags: tag_update(&account.tags, &seen.tags),
        });
    }
    if !seen.scan_on_push {
        changes.push(FieldChange::new("scanOnPush", "false", "true"));
        ops.push(RepositoryWrite::PutScanOnPush {
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
        ops.push(RepositoryWrite::PutTagMutability {
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
    let merged = policy::merge_owned(existing.as_ref(), owns, &registry.wanted_statements());
    if let Merged::Put(document) = &merged
        && let Err(refused) = policy_fits(account, repository, document)
    {
        return Outcome::quota_exceeded(refused);
    }
    if merged != Merged::Unchanged {
        let ours = policy::statements(existing.as_ref())
            .into_iter()
            .find(|s| policy::sid(s).is_some_and(owns));
        let describe = |s: Option<&Value>| s.map_or_else(|| NONE.to_owned(), policy::describe_statement);
        changes.push(FieldChange::new(
            format!("policy.{REGISTRY_PULL_SID}"),
            describe(ours.as_ref()),
            describe(registry.pull_statement.as_ref()),
        ));
    }
    let mut ops = crate::plan::ops(ops);
    if merged != Merged::Unchanged {
        ops.push(merge_pull_statement().into());
    }
    Outcome::update(Part::Registry, resource, &repository.name, changes, ops)
}

/// The repository's policy as it would be written, measured as ECR counts it.
fn policy_fits(
    account: &AccountContext,
    repository: &DesiredRepository,
    document: &Value,
) -> Result<(), QuotaExceeded> {
    let subject = format!(
        "the policy of repository {} (its pull statement names {} Child accounts)",
        repository.name,
        account.child_accounts.len()
    );
    ECR_REPOSITORY_POLICY.check_document(&document.to_string(), &subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::ObjectId;

    /// The repository policy the registry writes with `children` Child accounts and no other statement.
    fn policy_with(children: u64, organization: Option<&str>) -> String {
        let spec: DataPlatformAccountSpec = serde_json::from_value(serde_json::json!({
            "accountId": "999999999999", "region": "eu-west-2", "tier": "Organisation",
            "registry": {"repositories": ["dagster"], "organizationId": organization}
        }))
        .expect("spec");
        let ids = (0..children).map(|i| format!("{:012}", 100_000_000_000 + i)).collect();
        let id = ObjectId {
            namespace: "platform".into(),
            name: "region".into(),
        };
        let account = AccountContext::new(&id, &spec, &ids);
        let registry = Registry::desired(&account, &spec).expect("an Organisation has a registry");
        policy::document(registry.wanted_statements()).to_string()
    }

    #[test]
    fn the_pull_statement_names_children_up_to_ecrs_quota_and_the_organisation_at_any_count() {
        let fits = |children| {
            ECR_REPOSITORY_POLICY
                .check_document(&policy_with(children, None), "x")
                .is_ok()
        };
        let last = (1..1_000).take_while(|n| fits(*n)).last().expect("one Child fits");
        assert!(!fits(last + 1), "the first that does not fit");
        assert!((280..=320).contains(&last), "about 300 Children fit: {last}");
        let organisation = policy_with(1, Some("o-a1b2c3d4e5"));
        assert_eq!(
            policy_with(2_000, Some("o-a1b2c3d4e5")),
            organisation,
            "one size at any count"
        );
        assert!(organisation.contains("aws:PrincipalOrgID"), "{organisation}");
    }
}
