//! Logging (accounts with `spec.logging`): the CloudWatch Logs group the services write to, made
//! by the operator with the owner tag and the spec's retention, which is put back when it drifts. A
//! group of that name without our tag is written to and left alone (a note says so): people made it
//! before the operator did, as the README once advised. Before compute, so the group exists before
//! a task writes to it; deleted after the services.

pub mod writes;
use dataplatform_api::SpecProblem;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::logs::LogGroupObservation;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, FieldChange, Part, Plan};
use crate::vocabulary::{NONE, Outcome, Owner, Readiness, ours, tag_changes, tag_update, tags_used};
use writes::LogWrite;

pub struct Logging;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredLogGroup {
    pub name: String,
    pub retention_days: i32,
}

const RESOURCE: &str = "logs:group";

impl AccountPart for Logging {
    const PART: Part = Part::Logging;
    /// `None`: the account has no `spec.logging`.
    type Desired = Option<DesiredLogGroup>;
    type Observed = Option<LogGroupObservation>;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.logging.is_some()
    }

    fn desired(_account: &AccountContext, spec: &DataPlatformAccountSpec) -> Option<DesiredLogGroup> {
        spec.logging.as_ref().map(|logging| DesiredLogGroup {
            name: logging.log_group.clone(),
            retention_days: logging.retention_days,
        })
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &Option<DesiredLogGroup>,
    ) -> Result<Option<LogGroupObservation>, AwsError> {
        match desired {
            Some(group) => session.logs().observe_group(&group.name).await,
            None => Ok(None),
        }
    }

    fn diff(
        account: &AccountContext,
        desired: &Option<DesiredLogGroup>,
        observed: &Option<LogGroupObservation>,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let Some(group) = desired else {
            return vec![];
        };
        let Some(seen) = observed else {
            return vec![Outcome::create(Action::create(
                Part::Logging,
                RESOURCE,
                &group.name,
                vec![
                    LogWrite::CreateLogGroup {
                        name: group.name.clone(),
                        tags: account.tags.clone(),
                    },
                    LogWrite::PutLogRetention {
                        name: group.name.clone(),
                        days: group.retention_days,
                    },
                ],
            ))];
        };
        if owner.check(RESOURCE, &seen.name, &seen.tags).is_err() {
            return vec![Outcome {
                note: Some(format!(
                    "{RESOURCE} ({}) exists without our owner tag: services write to it, its retention ({}) is left to whoever made it",
                    seen.name,
                    seen.retention_days
                        .map_or("forever".to_owned(), |d| format!("{d} days"))
                )),
                ..Default::default()
            }];
        }
        let mut changes = tag_changes(&account.tags, &seen.tags);
        let mut ops = Vec::new();
        if !changes.is_empty() {
            ops.push(LogWrite::TagLogGroup {
                arn: seen.arn.clone(),
                tags: tag_update(&account.tags, &seen.tags),
            });
        }
        if seen.retention_days != Some(group.retention_days) {
            changes.push(FieldChange::new(
                "retentionDays",
                seen.retention_days.map_or(NONE.to_owned(), |d| d.to_string()),
                group.retention_days.to_string(),
            ));
            ops.push(LogWrite::PutLogRetention {
                name: group.name.clone(),
                days: group.retention_days,
            });
        }
        vec![Outcome::update(
            Part::Logging,
            RESOURCE.to_owned(),
            &group.name,
            changes,
            ops,
        )]
    }

    /// A group is usable as soon as it is created.
    fn readiness(_: &Option<DesiredLogGroup>, _: &Option<LogGroupObservation>, _: &Plan, _: &mut Readiness) {}

    fn deletion(
        account: &AccountContext,
        _desired: &Option<DesiredLogGroup>,
        observed: &Option<LogGroupObservation>,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        observed
            .iter()
            .filter(|seen| ours(&seen.tags, &account.owner))
            .map(|seen| {
                Action::delete(
                    Part::Logging,
                    RESOURCE,
                    &seen.name,
                    vec![LogWrite::DeleteLogGroup {
                        name: seen.name.clone(),
                    }],
                )
            })
            .collect()
    }

    /// The group's name is the spec's; nothing to report beyond it.
    fn report(
        _account: &AccountContext,
        _desired: &Option<DesiredLogGroup>,
        _observed: &Option<LogGroupObservation>,
        _status: &mut DataPlatformAccountStatus,
    ) {
    }

    fn quota_use(account: &AccountContext, observed: &Option<LogGroupObservation>, used: &mut QuotaUse) {
        if let Some(group) = observed {
            tags_used(used, &group.tags, || {
                format!("log group {} of {}", group.name, account.owner)
            });
        }
    }

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.log_group = Some(spec.logging.iter().map(|l| l.log_group.clone()).collect());
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
