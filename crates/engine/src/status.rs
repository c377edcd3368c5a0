//! The status an account reports: conditions with the contract's reasons, what exists per part, and
//! the drift the last reconcile corrected. Built from the previous status so a reconcile that changes
//! nothing produces an identical status (no write).

use dataplatform_api::account::{
    BucketStatus, BucketsStatus, ClusterStatus, DatabaseStatus, RolesStatus, ServiceStatus,
};
use dataplatform_api::conditions::{self, ConditionState, Reason, set_condition};
use dataplatform_api::names::BucketPurpose;
use dataplatform_api::{DataPlatformAccountStatus, SharedBucketGrantStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::compute::{failed_rollout, revision_text};
use crate::desired::DesiredAccount;
use crate::error::ReconcileError;
use crate::observe::ObservedAccount;
use crate::plan::{ActionKind, Plan};

/// Where the account's parts stand after a pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Readiness {
    /// Parts that are not there or not yet available, in words.
    pub pending: Vec<String>,
    /// Something was created this pass (Creating) rather than changed (Updating).
    pub creating: bool,
    /// Rollouts the ECS circuit breaker failed, with ECS's reason: Ready stays False until the
    /// spec changes.
    pub failed: Vec<String>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.pending.is_empty() && self.failed.is_empty()
    }
}

/// What the builder needs of a kind's status: its conditions and where the generation goes.
pub trait ObjectStatus: Clone + Default {
    fn conditions(&self) -> &[Condition];
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    fn set_observed_generation(&mut self, generation: Option<i64>);
    fn observed_generation(&self) -> Option<i64>;
    /// Set only when something else changed, so a steady state patches nothing.
    fn set_last_sync_time(&mut self, _now: &Time) {}
}

impl ObjectStatus for DataPlatformAccountStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }
    fn set_observed_generation(&mut self, generation: Option<i64>) {
        self.observed_generation = generation;
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
    fn set_last_sync_time(&mut self, now: &Time) {
        self.last_sync_time = Some(now.clone());
    }
}

impl ObjectStatus for SharedBucketGrantStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }
    fn set_observed_generation(&mut self, generation: Option<i64>) {
        self.observed_generation = generation;
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
}

pub struct StatusBuilder<S = DataPlatformAccountStatus> {
    pub(crate) status: S,
    generation: Option<i64>,
    pub(crate) now: Time,
    pub(crate) changed: bool,
}

impl<S: ObjectStatus> StatusBuilder<S> {
    pub fn new(previous: Option<&S>, generation: Option<i64>) -> Self {
        Self {
            status: previous.cloned().unwrap_or_default(),
            generation,
            now: Time(k8s_openapi::jiff::Timestamp::now()),
            changed: false,
        }
    }

    pub(crate) fn set(&mut self, type_: &'static str, status: bool, reason: Reason, message: impl Into<String>) {
        let state = ConditionState::new(type_, status, reason, message);
        self.changed |= set_condition(self.status.conditions_mut(), &state, self.generation, &self.now);
    }

    pub(crate) fn has_condition(&self, type_: &str) -> bool {
        conditions::find(self.status.conditions(), type_).is_some()
    }

    pub(crate) fn set_observed_generation(&mut self) {
        let generation = self.generation;
        self.status.set_observed_generation(generation);
    }

    pub fn paused(mut self) -> S {
        self.set(
            conditions::SYNCED,
            false,
            Reason::Paused,
            "annotation dataplatform.io/paused is \"true\": no AWS calls until it is removed",
        );
        if !self.has_condition(conditions::READY) {
            self.set(
                conditions::READY,
                false,
                Reason::Paused,
                "paused before the first reconcile",
            );
        }
        self.finish()
    }

    pub fn failed(mut self, error: &ReconcileError) -> S {
        let message = error.to_string();
        self.set(conditions::SYNCED, false, error.reason(), message.clone());
        if error.blocks_readiness() || !self.has_condition(conditions::READY) {
            self.set(conditions::READY, false, error.reason(), message);
        }
        self.set_observed_generation();
        self.finish()
    }

    /// The object is being deleted: Ready turns False with `reason` (Deleting, or the error's) and
    /// the message says what deletion waits for.
    pub fn deleting(mut self, error: Option<&ReconcileError>, message: impl Into<String>) -> S {
        let message = message.into();
        let reason = error.map_or(Reason::Deleting, ReconcileError::reason);
        self.set(conditions::READY, false, reason, message.clone());
        self.set(conditions::SYNCED, error.is_none(), reason, message);
        self.finish()
    }

    pub(crate) fn finish(mut self) -> S {
        if self.changed {
            self.status.set_last_sync_time(&self.now);
        }
        self.status
    }
}

impl StatusBuilder<DataPlatformAccountStatus> {
    /// After a successful pass. `drift` is what this pass corrected (or, observe-only, found).
    pub fn synced(
        mut self,
        desired: &DesiredAccount,
        observed: &ObservedAccount,
        readiness: &Readiness,
        synced_reason: Reason,
        synced_message: String,
        drift: Vec<String>,
    ) -> DataPlatformAccountStatus {
        self.set(conditions::SYNCED, true, synced_reason, synced_message);
        if readiness.is_ready() {
            self.set(conditions::READY, true, Reason::Available, "");
        } else if !readiness.failed.is_empty() {
            let mut message = readiness.failed.clone();
            message.extend(readiness.pending.iter().cloned());
            self.set(conditions::READY, false, Reason::ReconcileError, message.join("; "));
        } else {
            let reason = if readiness.creating {
                Reason::Creating
            } else {
                Reason::Updating
            };
            self.set(conditions::READY, false, reason, readiness.pending.join("; "));
        }
        let status = &mut self.status;
        status.observed_generation = self.generation;
        let bucket = |purpose: BucketPurpose| {
            desired
                .buckets
                .iter()
                .zip(&observed.buckets)
                .find(|(b, _)| b.purpose == purpose)
                .map(|(b, _)| BucketStatus {
                    name: b.name.clone(),
                    arn: b.arn(desired.partition),
                })
        };
        let buckets = Some(BucketsStatus {
            workspace: bucket(BucketPurpose::Workspace),
            datastore: bucket(BucketPurpose::Datastore),
            shared: bucket(BucketPurpose::Shared),
        });
        let role_arn = |i: usize| {
            desired
                .roles
                .get(i)
                .map(|r| r.arn(desired.partition, &desired.account_id))
        };
        let roles = Some(RolesStatus {
            task_execution_role_arn: role_arn(0),
            task_role_arn: role_arn(1),
        });
        let database = desired.database.as_ref().map(|db| {
            let seen = observed.cluster.as_ref();
            DatabaseStatus {
                cluster_identifier: db.cluster.clone(),
                endpoint: seen.and_then(|c| c.endpoint.clone()),
                port: seen.and_then(|c| c.port),
                status: Some(seen.map_or_else(|| "creating".to_owned(), |c| c.status.clone())),
                secret_arn: seen.and_then(|c| c.secret_arn.clone()),
            }
        });
        self.changed |= replace(&mut status.buckets, buckets);
        self.changed |= replace(&mut status.roles, roles);
        let (cluster, services, services_running) = compute_status(desired, observed);
        self.changed |= replace(&mut status.database, database);
        self.changed |= replace(&mut status.cluster, cluster);
        self.changed |= replace(&mut status.services, services);
        self.changed |= replace(&mut status.services_running, services_running);
        self.changed |= replace(&mut status.drift, drift);
        self.finish()
    }
}

pub(crate) fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

/// The cluster, each spec service as ECS last reported it, and running/desired over all of them.
fn compute_status(
    desired: &DesiredAccount,
    observed: &ObservedAccount,
) -> (Option<ClusterStatus>, Vec<ServiceStatus>, Option<String>) {
    let compute = &desired.compute;
    let cluster = observed.compute.cluster.as_ref().map(|c| ClusterStatus {
        name: c.name.clone(),
        arn: c.arn.clone(),
    });
    let services: Vec<ServiceStatus> = compute
        .services
        .iter()
        .map(|service| match observed.compute.service(&service.name) {
            Some(seen) => ServiceStatus {
                name: service.name.clone(),
                desired: seen.desired_count,
                running: seen.running_count,
                task_definition_arn: Some(seen.task_definition.clone()).filter(|arn| !arn.is_empty()),
            },
            None => ServiceStatus {
                name: service.name.clone(),
                desired: service.settings.desired_count,
                running: 0,
                task_definition_arn: None,
            },
        })
        .collect();
    let running = (!services.is_empty()).then(|| {
        let (running, wanted) = services.iter().fold((0, 0), |(r, d), s| (r + s.running, d + s.desired));
        format!("{running}/{wanted}")
    });
    (cluster, services, running)
}

/// What is still missing or busy once `applied` has run against what was `observed`.
pub fn readiness(
    desired: &DesiredAccount,
    observed: &ObservedAccount,
    applied: &Plan,
    waiting: &[String],
) -> Readiness {
    let mut readiness = Readiness {
        pending: waiting.to_vec(),
        creating: applied.actions.iter().any(|a| a.kind == ActionKind::Create),
        failed: vec![],
    };
    compute_readiness(desired, observed, applied, &mut readiness);
    if desired.database.is_some() {
        let created_now = |resource: &str| {
            applied
                .actions
                .iter()
                .any(|a| a.resource == resource && a.kind == ActionKind::Create)
        };
        match (&observed.cluster, created_now("rds:cluster")) {
            (_, true) | (None, _) => readiness.pending.push("rds:cluster is being created".to_owned()),
            (Some(cluster), false) if cluster.status != "available" => {
                readiness.creating |= cluster.status == "creating";
                readiness
                    .pending
                    .push(format!("rds:cluster is {} (waiting for available)", cluster.status));
            }
            _ => {}
        }
        match (&observed.instance, created_now("rds:instance")) {
            (_, true) | (None, _) => readiness.pending.push("rds:instance is being created".to_owned()),
            (Some(instance), false) if instance.status != "available" => {
                readiness.creating |= instance.status == "creating";
                readiness
                    .pending
                    .push(format!("rds:instance is {} (waiting for available)", instance.status));
            }
            _ => {}
        }
    }
    readiness
}

/// Every service ACTIVE with its rollout finished: running == desired on the newest revision, one
/// deployment left. Moto starts no tasks, so its services stay pending until something plays the
/// scheduler; `Ready` is never relaxed for it.
fn compute_readiness(desired: &DesiredAccount, observed: &ObservedAccount, applied: &Plan, readiness: &mut Readiness) {
    let compute = &desired.compute;
    if compute.services.is_empty() {
        return;
    }
    let touched = |resource: &str| applied.actions.iter().find(|a| a.resource == resource).map(|a| a.kind);
    if observed.compute.cluster.is_none() {
        readiness.pending.push("ecs:cluster is being created".to_owned());
    }
    for service in &compute.services {
        let resource = service.resource();
        let seen = observed.compute.service(&service.name);
        let newest = observed
            .compute
            .families
            .get(&service.family)
            .and_then(|f| f.latest_arn());
        match (seen, touched(&resource)) {
            (None, _) | (_, Some(ActionKind::Create)) => {
                readiness.creating = true;
                readiness.pending.push(format!("{resource} is being created"));
            }
            (Some(_), Some(_)) => readiness.pending.push(format!("{resource} is rolling out the change")),
            (Some(seen), None) => {
                if let Some(reason) = newest.and_then(|arn| failed_rollout(seen, arn)) {
                    readiness.failed.push(format!(
                        "{resource}: the deployment of {} failed and ECS rolled it back: {reason}; fix the spec (image, command, resources) to roll out again",
                        newest.map(revision_text).unwrap_or_default()
                    ));
                } else if seen.status != "ACTIVE" {
                    readiness.pending.push(format!("{resource} is {}", seen.status));
                } else if seen.running_count != seen.desired_count
                    || seen.desired_count != service.settings.desired_count
                {
                    readiness.pending.push(format!(
                        "{resource}: {} of {} tasks running",
                        seen.running_count, service.settings.desired_count
                    ));
                } else if seen.deployments.len() > 1
                    || seen
                        .deployments
                        .iter()
                        .any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
                    || newest.is_some_and(|arn| seen.task_definition != arn)
                {
                    readiness.pending.push(format!(
                        "{resource} is rolling out {}",
                        revision_text(&seen.task_definition)
                    ));
                }
            }
        }
    }
}
