//! Scaling (services with `scaling`): an Application Auto Scaling target on each such service's
//! desired count, a scheduled action per schedule and a CPU target-tracking policy, so scaling goes
//! on while the operator is down. After compute (a target needs its service) and deleted before it.
//! Scheduled actions and policies are ours when named `dataplatform-...`; others are left alone. A
//! service's target is deregistered when `scaling` leaves its spec and we registered it (our status
//! said it was scaled, or it carries an action or policy of ours).

pub mod writes;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use dataplatform_api::SpecProblem;
use dataplatform_api::scaling::ScalingStatus;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::scaling::ScalingObservation;
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, FieldChange, Part, Plan};
use crate::vocabulary::{Facts, NONE, Outcome, Owner, Readiness};
use writes::ScalingWrite;

pub struct Scaling;

/// What our scheduled actions and policies are named with first.
pub const OWN_PREFIX: &str = "dataplatform-";
const CPU_POLICY: &str = "dataplatform-cpu";

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredScaling {
    pub targets: Vec<DesiredTarget>,
    /// Every spec service's resource id, so a target whose `scaling` left the spec is found.
    pub every_resource_id: Vec<(String, String)>,
    /// Services our last status reported as scaled.
    pub previously_scaled: BTreeSet<String>,
    /// ECS services that exist (from compute's facts): a target needs its service.
    pub existing_services: BTreeSet<String>,
    /// Whether Application Auto Scaling is read at all (see `remember`).
    pub observe: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredTarget {
    pub service: String,
    pub resource_id: String,
    pub min: i32,
    pub max: i32,
    pub actions: Vec<DesiredAction>,
    pub cpu_target: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredAction {
    /// `dataplatform-<schedule name>`.
    pub name: String,
    pub schedule_name: String,
    /// The spec's five fields, and Application Auto Scaling's form of them.
    pub cron: String,
    pub expression: String,
    pub time_zone: String,
    pub min: i32,
    pub max: i32,
    pub replicas: i32,
}

impl DesiredScaling {
    /// What the last status says (`None`, as for the CLI: look).
    fn remember(&mut self, status: Option<&DataPlatformAccountStatus>) {
        self.previously_scaled = status
            .map(|s| {
                s.services
                    .iter()
                    .filter(|s| s.scaling.is_some())
                    .map(|s| s.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.observe = !self.targets.is_empty() || status.is_none() || !self.previously_scaled.is_empty();
    }
}

fn resource(service: &str) -> String {
    format!("scaling:{service}")
}

impl AccountPart for Scaling {
    const PART: Part = Part::Scaling;
    type Desired = DesiredScaling;
    type Observed = Vec<ScalingObservation>;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.services.iter().any(|s| s.scaling.is_some())
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredScaling {
        let cluster = account.names.ecs_cluster();
        let resource_id = |service: &str| format!("service/{cluster}/{}", account.names.ecs_service(service));
        let targets = spec
            .services
            .iter()
            .filter_map(|service| {
                let scaling = service.scaling.as_ref()?;
                let cpu_target = scaling.cpu_target_percent.map(f64::from);
                let actions = scaling
                    .schedules
                    .iter()
                    .map(|schedule| DesiredAction {
                        name: format!("{OWN_PREFIX}{}", schedule.name),
                        schedule_name: schedule.name.clone(),
                        cron: schedule.cron.clone(),
                        expression: schedule.aws_expression(),
                        time_zone: schedule.time_zone.clone(),
                        // With a CPU target the policy may add tasks up to the bound.
                        min: schedule.replicas,
                        max: if cpu_target.is_some() {
                            scaling.max_replicas
                        } else {
                            schedule.replicas
                        },
                        replicas: schedule.replicas,
                    })
                    .collect();
                Some(DesiredTarget {
                    service: service.name.clone(),
                    resource_id: resource_id(&service.name),
                    min: scaling.min_replicas,
                    max: scaling.max_replicas,
                    actions,
                    cpu_target,
                })
            })
            .collect();
        DesiredScaling {
            targets,
            every_resource_id: spec
                .services
                .iter()
                .map(|s| (s.name.clone(), resource_id(&s.name)))
                .collect(),
            previously_scaled: BTreeSet::new(),
            existing_services: BTreeSet::new(),
            observe: true,
        }
    }

    fn complete(desired: &mut DesiredScaling, facts: &Facts) {
        desired.existing_services = facts.services.clone();
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &DesiredScaling,
    ) -> Result<Vec<ScalingObservation>, AwsError> {
        if !desired.observe {
            return Ok(vec![]);
        }
        let ids: Vec<String> = desired.every_resource_id.iter().map(|(_, id)| id.clone()).collect();
        session.scaling().observe(&ids).await
    }

    fn diff(
        _account: &AccountContext,
        desired: &DesiredScaling,
        observed: &Vec<ScalingObservation>,
        _owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = desired
            .targets
            .iter()
            .map(|target| target_outcome(desired, target, observed))
            .collect();
        outcomes.extend(deregistrations(desired, observed).into_iter().map(Outcome::create));
        outcomes
    }

    /// Scaling is in place once its calls are made; the count itself is compute's readiness.
    fn readiness(_: &DesiredScaling, _: &Vec<ScalingObservation>, _: &Plan, _: &mut Readiness) {}

    fn deletion(
        _account: &AccountContext,
        desired: &DesiredScaling,
        observed: &Vec<ScalingObservation>,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        observed
            .iter()
            .filter(|seen| ours(desired, seen))
            .map(|seen| deregister(&service_of(desired, &seen.target.resource_id), &seen.target.resource_id))
            .collect()
    }

    fn report(
        _account: &AccountContext,
        desired: &DesiredScaling,
        _observed: &Vec<ScalingObservation>,
        status: &mut DataPlatformAccountStatus,
    ) {
        let now = Utc::now();
        for target in &desired.targets {
            if let Some(service) = status.services.iter_mut().find(|s| s.name == target.service) {
                service.scaling = Some(ScalingStatus {
                    min_replicas: target.min,
                    max_replicas: target.max,
                    next_scheduled_change: next_change(&target.actions, now),
                });
            }
        }
    }

    /// Scalable targets, scheduled actions and policies carry no tags nor documents of ours.
    fn quota_use(_account: &AccountContext, _observed: &Vec<ScalingObservation>, _used: &mut QuotaUse) {}

    fn policy_scope(_account: &AccountContext, _spec: &DataPlatformAccountSpec, _scope: &mut PolicyScope) {
        // Scalable targets are scoped with the ECS cluster (compute's scope).
    }

    fn remember(desired: &mut Self::Desired, status: Option<&DataPlatformAccountStatus>) {
        desired.remember(status);
    }

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &Self::Desired,
        _observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        vec![]
    }
}

fn service_of(desired: &DesiredScaling, resource_id: &str) -> String {
    desired
        .every_resource_id
        .iter()
        .find(|(_, id)| id == resource_id)
        .map_or_else(|| resource_id.to_owned(), |(service, _)| service.clone())
}

/// We registered it: a spec service scaled now or in our last status, or it carries our names.
fn ours(desired: &DesiredScaling, seen: &ScalingObservation) -> bool {
    let service = service_of(desired, &seen.target.resource_id);
    desired.targets.iter().any(|t| t.resource_id == seen.target.resource_id)
        || desired.previously_scaled.contains(&service)
        || seen.actions.iter().any(|a| a.name.starts_with(OWN_PREFIX))
        || seen.policies.iter().any(|p| p.name.starts_with(OWN_PREFIX))
}

fn deregister(service: &str, resource_id: &str) -> Action {
    Action::delete(
        Part::Scaling,
        resource(service),
        resource_id,
        vec![ScalingWrite::DeregisterScalableTarget {
            resource_id: resource_id.to_owned(),
        }],
    )
}

/// Targets of ours on services whose spec no longer has `scaling`.
fn deregistrations(desired: &DesiredScaling, observed: &[ScalingObservation]) -> Vec<Action> {
    observed
        .iter()
        .filter(|seen| !desired.targets.iter().any(|t| t.resource_id == seen.target.resource_id))
        .filter(|seen| ours(desired, seen))
        .map(|seen| deregister(&service_of(desired, &seen.target.resource_id), &seen.target.resource_id))
        .collect()
}

fn target_outcome(desired: &DesiredScaling, target: &DesiredTarget, observed: &[ScalingObservation]) -> Outcome {
    let resource = resource(&target.service);
    let seen = observed.iter().find(|o| o.target.resource_id == target.resource_id);
    let register = ScalingWrite::RegisterScalableTarget {
        resource_id: target.resource_id.clone(),
        min: target.min,
        max: target.max,
    };
    let Some(seen) = seen else {
        if !desired.existing_services.contains(&target.service) {
            return Outcome::waiting(format!(
                "{resource} waits for ecs:{}: a scalable target needs its service",
                target.service
            ));
        }
        let mut ops = vec![register];
        ops.extend(target.actions.iter().map(|a| put_action(target, a)));
        ops.extend(target.cpu_target.map(|cpu| put_policy(target, cpu)));
        return Outcome::create(Action::create(Part::Scaling, resource, &target.resource_id, ops));
    };
    let mut changes = Vec::new();
    let mut ops = Vec::new();
    if (seen.target.min, seen.target.max) != (target.min, target.max) {
        changes.push(FieldChange::new(
            "replicas",
            format!("{}..{}", seen.target.min, seen.target.max),
            format!("{}..{}", target.min, target.max),
        ));
        ops.push(register);
    }
    action_changes(target, seen, &mut changes, &mut ops);
    let policy = seen.policies.iter().find(|p| p.name == CPU_POLICY);
    match (target.cpu_target, policy) {
        (Some(cpu), seen_policy) if seen_policy.and_then(|p| p.cpu_target) != Some(cpu) => {
            changes.push(FieldChange::new(
                "cpuTargetPercent",
                seen_policy
                    .and_then(|p| p.cpu_target)
                    .map_or(NONE.to_owned(), |t| t.to_string()),
                cpu.to_string(),
            ));
            ops.push(put_policy(target, cpu));
        }
        (None, Some(_)) => {
            changes.push(FieldChange::new("cpuTargetPercent", "set", NONE));
            ops.push(ScalingWrite::DeleteScalingPolicy {
                resource_id: target.resource_id.clone(),
                name: CPU_POLICY.to_owned(),
            });
        }
        _ => {}
    }
    Outcome::update(Part::Scaling, resource, &target.resource_id, changes, ops)
}

/// Each schedule's action as the spec has it, and our actions the spec no longer has.
fn action_changes(
    target: &DesiredTarget,
    seen: &ScalingObservation,
    changes: &mut Vec<FieldChange>,
    ops: &mut Vec<ScalingWrite>,
) {
    for action in &target.actions {
        let found = seen.actions.iter().find(|a| a.name == action.name);
        let same = found.is_some_and(|a| {
            a.schedule == action.expression
                && a.time_zone.as_deref().unwrap_or("UTC") == action.time_zone
                && (a.min, a.max) == (Some(action.min), Some(action.max))
        });
        if !same {
            let from = found.map_or(NONE.to_owned(), |a| {
                format!(
                    "{} {}: {}",
                    a.schedule,
                    a.time_zone.as_deref().unwrap_or("UTC"),
                    a.min.map_or(NONE.to_owned(), |m| m.to_string())
                )
            });
            changes.push(FieldChange::new(
                format!("schedule {}", action.schedule_name),
                from,
                format!("{} {}: {}", action.cron, action.time_zone, action.replicas),
            ));
            ops.push(put_action(target, action));
        }
    }
    for extra in seen
        .actions
        .iter()
        .filter(|a| a.name.starts_with(OWN_PREFIX) && !target.actions.iter().any(|d| d.name == a.name))
    {
        changes.push(FieldChange::new(
            format!("schedule {}", extra.name.trim_start_matches(OWN_PREFIX)),
            &extra.schedule,
            NONE,
        ));
        ops.push(ScalingWrite::DeleteScheduledAction {
            resource_id: target.resource_id.clone(),
            name: extra.name.clone(),
        });
    }
}

fn put_action(target: &DesiredTarget, action: &DesiredAction) -> ScalingWrite {
    ScalingWrite::PutScheduledAction {
        resource_id: target.resource_id.clone(),
        name: action.name.clone(),
        schedule: action.expression.clone(),
        time_zone: action.time_zone.clone(),
        min: action.min,
        max: action.max,
    }
}

fn put_policy(target: &DesiredTarget, cpu: f64) -> ScalingWrite {
    ScalingWrite::PutCpuPolicy {
        resource_id: target.resource_id.clone(),
        name: CPU_POLICY.to_owned(),
        target: cpu,
    }
}

/// The earliest next run of `actions` after `now`, e.g. "evening: 0 at 2026-12-01T19:00:00+00:00
/// (Europe/London)".
pub fn next_change(actions: &[DesiredAction], now: DateTime<Utc>) -> Option<String> {
    actions
        .iter()
        .filter_map(|action| {
            let zone: chrono_tz::Tz = action.time_zone.parse().ok()?;
            let cron: croner::Cron = action.cron.parse().ok()?;
            let next = cron.find_next_occurrence(&now.with_timezone(&zone), false).ok()?;
            Some((next.with_timezone(&Utc), action, next))
        })
        .min_by_key(|(at, _, _)| *at)
        .map(|(_, action, local)| {
            format!(
                "{}: {} at {} ({})",
                action.schedule_name,
                action.replicas,
                local.to_rfc3339(),
                action.time_zone
            )
        })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn action(name: &str, cron: &str, zone: &str, replicas: i32) -> DesiredAction {
        DesiredAction {
            name: format!("{OWN_PREFIX}{name}"),
            schedule_name: name.to_owned(),
            cron: cron.to_owned(),
            expression: String::new(),
            time_zone: zone.to_owned(),
            min: replicas,
            max: replicas,
            replicas,
        }
    }

    #[test]
    fn the_next_change_is_the_earliest_run_in_each_schedules_time_zone() {
        let actions = [
            action("office-hours", "0 8 * * MON-FRI", "Europe/London", 1),
            action("evening", "0 19 * * *", "Europe/London", 0),
        ];
        // Friday 2026-07-03 20:00 UTC is 21:00 in London (summer time): Saturday's evening comes first.
        let friday_night = Utc.with_ymd_and_hms(2026, 7, 3, 20, 0, 0).unwrap();
        assert_eq!(
            next_change(&actions, friday_night).as_deref(),
            Some("evening: 0 at 2026-07-04T19:00:00+01:00 (Europe/London)")
        );
        // Monday 06:30 UTC is 07:30 in London: office hours at 08:00 local.
        let monday_morning = Utc.with_ymd_and_hms(2026, 7, 6, 6, 30, 0).unwrap();
        assert_eq!(
            next_change(&actions, monday_morning).as_deref(),
            Some("office-hours: 1 at 2026-07-06T08:00:00+01:00 (Europe/London)")
        );
        assert_eq!(next_change(&[], monday_morning), None);
    }
}
