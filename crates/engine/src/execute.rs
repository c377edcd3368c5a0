//! Carries out a plan, action by action, in the plan's order (which is dependency order). Every
//! write is safe to repeat, so a run cut short anywhere is finished by the next one. How each write
//! runs is its part's ([`crate::plan::Write`]); this is the loop around them.

use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::{Action, ActionKind, Lookup, Made, Op};

/// Where a run stops early: used by tests to play a crash after any number of actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecuteOptions {
    pub stop_after_actions: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Executed {
    pub done: Vec<Action>,
    pub failed: Option<(Action, AwsError)>,
    pub stopped_early: bool,
}

pub async fn execute(
    session: &AccountSession,
    actions: Vec<Action>,
    options: ExecuteOptions,
    mut on_done: impl FnMut(&Action),
) -> Executed {
    let mut executed = Executed::default();
    let mut made = Made::default();
    for (index, action) in actions.into_iter().enumerate() {
        if options.stop_after_actions.is_some_and(|limit| index >= limit) {
            executed.stopped_early = true;
            break;
        }
        made.task_revision = None;
        for op in &action.ops {
            if let Err(error) = run_op(session, &action, op, &mut made).await {
                if action.kind == ActionKind::Create && error.already_exists() {
                    // Made since this pass looked (most often by our own attempt whose answer was
                    // lost): not an error, but nothing more of this pass may build on the plan. The
                    // next pass looks again, finishes it when it is ours, and reports it when not.
                    tracing::info!(resource = %action.resource, name = %action.name, %error, "exists already: looking again");
                    executed.stopped_early = true;
                    return executed;
                }
                tracing::warn!(resource = %action.resource, name = %action.name, %error, "AWS action failed");
                executed.failed = Some((action, error));
                return executed;
            }
        }
        tracing::info!(resource = %action.resource, name = %action.name, kind = ?action.kind, "AWS action done");
        on_done(&action);
        executed.done.push(action);
    }
    executed
}

/// Runs one write. A create that fails with a transient fault (its answer lost, a 5xx) may have been
/// carried out: the write looks once under its name and owner tag, and the run goes on with what it
/// finds, or sends the create again when nothing is there (issue 37) — up to [`CREATE_ATTEMPTS`]
/// times in all, as the retry layer tries a call that may be repeated blind.
async fn run_op(session: &AccountSession, action: &Action, op: &Op, made: &mut Made) -> Result<(), AwsError> {
    let mut attempts = 1;
    loop {
        let error = match op.run(session, &action.resource, made).await {
            Ok(()) => return Ok(()),
            Err(error) if action.kind == ActionKind::Create && error.class.is_retryable() => error,
            Err(error) => return Err(error),
        };
        match op.look_after_failure(session, made).await? {
            Lookup::Made(id) => {
                tracing::info!(resource = %action.resource, name = %action.name, %error, "made despite the failed answer: going on with it");
                made.ids.insert(action.resource.clone(), id);
                return Ok(());
            }
            Lookup::NotMade if attempts < CREATE_ATTEMPTS => {
                tracing::info!(resource = %action.resource, name = %action.name, %error, "not made: sending it again");
                attempts += 1;
            }
            Lookup::NotMade | Lookup::CannotTell => return Err(error),
        }
    }
}

/// How often a create that is not repeated blind is sent when each look finds nothing made.
const CREATE_ATTEMPTS: u32 = 3;
