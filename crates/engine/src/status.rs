//! The status an object reports: conditions with the contract's reasons, what exists per part (each
//! part writes its own fields), and the drift the last reconcile corrected. Built from the previous
//! status so a reconcile that changes nothing produces an identical status (no write).

use dataplatform_api::conditions::{self, ConditionState, Reason, set_condition};
use dataplatform_api::{DataPlatformAccountStatus, SharedBucketGrantStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::error::ReconcileError;
use crate::parts::{self, DesiredAccount, ObservedAccount};
use crate::vocabulary::Readiness;

/// Whether the object's spec is one an earlier pass already carried out: its generation is the one
/// the status was written for, and that pass finished (Synced). Changes a pass makes then are drift
/// (AWS changed behind the operator's back); otherwise they are the spec's own (an update). The one
/// definition, for status.drift, the events and the drift metric alike.
pub fn spec_already_carried_out<S: ObjectStatus>(status: Option<&S>, generation: Option<i64>) -> bool {
    let Some(status) = status else {
        return false;
    };
    let synced = conditions::find(status.conditions(), conditions::SYNCED).is_some_and(|c| c.status == "True");
    generation.is_some() && status.observed_generation() == generation && synced
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
            self.set(conditions::READY, false, Reason::DeploymentFailed, message.join("; "));
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
        let before = status.clone();
        parts::report(desired, observed, status);
        status.drift = drift;
        self.changed |= *status != before;
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
