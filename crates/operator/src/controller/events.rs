//! Which Kubernetes Events a pass publishes. Events follow what changed, never the pass itself: a
//! resync that finds AWS as the spec wants publishes nothing, and an error is announced when it
//! first appears (or its message changes), not on every retry.

use dataplatform_api::conditions::{self, Reason};
use dataplatform_engine::{Action, ActionKind, ReconcileError};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::{Event, EventType};

/// The API limits an event note to 1 kB.
const NOTE_LIMIT: usize = 1000;

/// What one pass did, as far as events care.
pub struct PassSummary<'a> {
    pub applied: &'a [Action],
    /// The spec is the one the previous pass saw: changes made were drift corrections.
    pub spec_unchanged: bool,
    pub error: Option<&'a ReconcileError>,
    pub conditions_before: &'a [Condition],
    pub conditions_after: &'a [Condition],
}

pub fn for_pass(pass: &PassSummary<'_>) -> Vec<Event> {
    let mut events = Vec::new();
    if !pass.applied.is_empty() {
        let all_creates = pass.applied.iter().all(|a| a.kind == ActionKind::Create);
        let reason = if all_creates {
            "Created"
        } else if pass.spec_unchanged {
            "DriftCorrected"
        } else {
            "Updated"
        };
        events.push(normal(reason, "Reconcile", describe(pass.applied)));
    }
    if let Some(error) = pass.error
        && condition_changed(pass.conditions_before, pass.conditions_after, conditions::SYNCED)
    {
        events.push(warning(error.reason(), "Reconcile", error.to_string()));
    }
    if turned_ready(pass.conditions_before, pass.conditions_after) {
        events.push(normal(
            "Ready",
            "Reconcile",
            "every part exists and AWS reports it available".into(),
        ));
    }
    events
}

/// Events of a deletion pass: what was removed, what deletion waits for (once per message), the
/// error class (once per message), and the end.
pub fn for_deletion(
    removed: &[Action],
    finished: bool,
    kept: &[String],
    error: Option<&ReconcileError>,
    conditions_before: &[Condition],
    conditions_after: &[Condition],
) -> Vec<Event> {
    let mut events = Vec::new();
    if !removed.is_empty() {
        events.push(normal("Deleting", "Delete", describe(removed)));
    }
    let changed = condition_changed(conditions_before, conditions_after, conditions::READY);
    match error {
        Some(error) if changed => events.push(warning(error.reason(), "Delete", error.to_string())),
        None if !finished && changed => {
            let waiting =
                conditions::find(conditions_after, conditions::READY).map_or(String::new(), |c| c.message.clone());
            events.push(normal("Deleting", "Delete", waiting));
        }
        _ => {}
    }
    if finished {
        let note = match kept.len() {
            0 => "cleanup finished; the finalizer is removed".to_owned(),
            _ => format!("cleanup finished; kept: {}", kept.join("; ")),
        };
        events.push(normal("Deleted", "Delete", note));
    }
    events
}

/// A Warning about an annotation the controller cannot use (announced once per value).
pub fn invalid_annotation(problem: String) -> Event {
    event(EventType::Warning, "InvalidAnnotation", "Reconcile", problem)
}

fn describe(actions: &[Action]) -> String {
    let lines: Vec<String> = actions.iter().map(Action::summary).collect();
    truncate(lines.join("; "))
}

fn truncate(mut note: String) -> String {
    if note.len() > NOTE_LIMIT {
        let mut end = NOTE_LIMIT - 3;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str("...");
    }
    note
}

fn event(type_: EventType, reason: &str, action: &str, note: String) -> Event {
    Event {
        type_,
        reason: reason.to_owned(),
        note: Some(truncate(note)),
        action: action.to_owned(),
        secondary: None,
    }
}

fn normal(reason: &str, action: &str, note: String) -> Event {
    event(EventType::Normal, reason, action, note)
}

/// A Warning named after the error's condition reason.
fn warning(reason: Reason, action: &str, note: String) -> Event {
    event(EventType::Warning, reason.as_str(), action, note)
}

fn condition_changed(before: &[Condition], after: &[Condition], type_: &str) -> bool {
    let key = |c: &Condition| (c.status.clone(), c.reason.clone(), c.message.clone());
    conditions::find(before, type_).map(key) != conditions::find(after, type_).map(key)
}

/// Whether Ready turned True in this pass (an event, and the time-to-Ready metric).
pub fn turned_ready(before: &[Condition], after: &[Condition]) -> bool {
    let ready = |list: &[Condition]| conditions::find(list, conditions::READY).is_some_and(|c| c.status == "True");
    !ready(before) && ready(after)
}
