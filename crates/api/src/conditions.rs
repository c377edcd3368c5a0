//! Condition types and reasons of the contract, and the helper that updates a condition list the way
//! Kubernetes expects (lastTransitionTime moves only when the status flips).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// True when every part exists and AWS reports it available.
pub const READY: &str = "Ready";
/// True when the last reconcile finished without error.
pub const SYNCED: &str = "Synced";

/// The reasons a condition may carry; these words are part of the API contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Available,
    Creating,
    Updating,
    Deleting,
    ReconcileSuccess,
    ReconcileError,
    Throttled,
    AccessDenied,
    InvalidSpec,
    AccountMismatch,
    Conflict,
    Paused,
    ObserveOnly,
    DependencyNotReady,
    /// A grant past `spec.expiresAt`: access revoked, as asked.
    Expired,
    /// A service rollout the ECS circuit breaker rolled back.
    DeploymentFailed,
    /// A write would pass one of AWS's size or count quotas: it was not sent, nor any other write
    /// of the pass; the message names the quota, the count and the fix.
    QuotaExceeded,
}

impl Reason {
    pub const ALL: [Reason; 17] = [
        Reason::Available,
        Reason::Creating,
        Reason::Updating,
        Reason::Deleting,
        Reason::ReconcileSuccess,
        Reason::ReconcileError,
        Reason::Throttled,
        Reason::AccessDenied,
        Reason::InvalidSpec,
        Reason::AccountMismatch,
        Reason::Conflict,
        Reason::Paused,
        Reason::ObserveOnly,
        Reason::DependencyNotReady,
        Reason::Expired,
        Reason::DeploymentFailed,
        Reason::QuotaExceeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Available => "Available",
            Reason::Creating => "Creating",
            Reason::Updating => "Updating",
            Reason::Deleting => "Deleting",
            Reason::ReconcileSuccess => "ReconcileSuccess",
            Reason::ReconcileError => "ReconcileError",
            Reason::Throttled => "Throttled",
            Reason::AccessDenied => "AccessDenied",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::AccountMismatch => "AccountMismatch",
            Reason::Conflict => "Conflict",
            Reason::Paused => "Paused",
            Reason::ObserveOnly => "ObserveOnly",
            Reason::DependencyNotReady => "DependencyNotReady",
            Reason::Expired => "Expired",
            Reason::DeploymentFailed => "DeploymentFailed",
            Reason::QuotaExceeded => "QuotaExceeded",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state one condition should be in after a reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionState {
    pub type_: &'static str,
    pub status: bool,
    pub reason: Reason,
    pub message: String,
}

impl ConditionState {
    pub fn new(type_: &'static str, status: bool, reason: Reason, message: impl Into<String>) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// Sets `state` in `conditions`, keeping `lastTransitionTime` when the status did not change.
/// Returns whether anything in the list changed, so callers can skip a status write when not.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    state: &ConditionState,
    generation: Option<i64>,
    now: &Time,
) -> bool {
    let status = if state.status { "True" } else { "False" };
    match conditions.iter_mut().find(|c| c.type_ == state.type_) {
        Some(existing) => {
            let unchanged = existing.status == status
                && existing.reason == state.reason.as_str()
                && existing.message == state.message
                && existing.observed_generation == generation;
            if unchanged {
                return false;
            }
            if existing.status != status {
                existing.last_transition_time = now.clone();
            }
            existing.status = status.to_owned();
            existing.reason = state.reason.as_str().to_owned();
            existing.message = state.message.clone();
            existing.observed_generation = generation;
            true
        }
        None => {
            conditions.push(Condition {
                type_: state.type_.to_owned(),
                status: status.to_owned(),
                reason: state.reason.as_str().to_owned(),
                message: state.message.clone(),
                observed_generation: generation,
                last_transition_time: now.clone(),
            });
            true
        }
    }
}

/// The condition of `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("valid timestamp"))
    }

    #[test]
    fn adds_a_missing_condition() {
        let mut list = Vec::new();
        let changed = set_condition(
            &mut list,
            &ConditionState::new(READY, false, Reason::Creating, "bucket"),
            Some(1),
            &at(10),
        );
        assert!(changed);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].status, "False");
        assert_eq!(list[0].reason, "Creating");
        assert_eq!(list[0].last_transition_time, at(10));
    }

    #[test]
    fn same_state_is_no_change() {
        let mut list = Vec::new();
        let state = ConditionState::new(SYNCED, true, Reason::ReconcileSuccess, "");
        set_condition(&mut list, &state, Some(2), &at(10));
        assert!(!set_condition(&mut list, &state, Some(2), &at(20)));
        assert_eq!(list[0].last_transition_time, at(10));
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let mut list = Vec::new();
        set_condition(
            &mut list,
            &ConditionState::new(READY, false, Reason::Creating, "a"),
            Some(1),
            &at(10),
        );
        assert!(set_condition(
            &mut list,
            &ConditionState::new(READY, false, Reason::Updating, "b"),
            Some(1),
            &at(20)
        ));
        assert_eq!(
            list[0].last_transition_time,
            at(10),
            "reason change alone keeps the transition time"
        );
        assert!(set_condition(
            &mut list,
            &ConditionState::new(READY, true, Reason::Available, ""),
            Some(1),
            &at(30)
        ));
        assert_eq!(list[0].last_transition_time, at(30));
        assert_eq!(list[0].reason, "Available");
    }

    #[test]
    fn reasons_spell_the_contract_words() {
        let words: Vec<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            words,
            [
                "Available",
                "Creating",
                "Updating",
                "Deleting",
                "ReconcileSuccess",
                "ReconcileError",
                "Throttled",
                "AccessDenied",
                "InvalidSpec",
                "AccountMismatch",
                "Conflict",
                "Paused",
                "ObserveOnly",
                "DependencyNotReady",
                // Issue 22 added these two (docs/api.md, "Conditions and reasons").
                "Expired",
                "DeploymentFailed",
                // Issue 30.
                "QuotaExceeded",
            ]
        );
    }
}
