//! Golden records of what `plan` prints and of the engine's ordered action lists, for the examples
//! on an empty moto and for the examples drifted behind the operator's back. They pin behaviour while
//! the engine's code moves: a change that alters a recorded line is a change of behaviour.
//!
//! After a deliberate change of behaviour, rewrite the records with `UPDATE_GOLDEN=1` and review the
//! diff of `crates/operator/tests/golden/`.

use std::path::Path;

use dataplatform_engine::AccountObject;
use dataplatform_operator::manifests::{self, Manifest};
use dataplatform_tests::{Moto, drift_the_examples, localized_examples};

use crate::cli_against_moto::operator;

fn compare_with_record(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden record");
        return;
    }
    let recorded = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; write it with UPDATE_GOLDEN=1", path.display()));
    if recorded != actual {
        let first = recorded
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| recorded.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from what the code does now, first at line {}:\n--- recorded\n{recorded}\n--- now\n{actual}",
            path.display(),
            first + 1
        );
    }
}

/// The accounts of the manifests in `dir`, as `plan` builds them.
pub(crate) fn accounts(dir: &Path) -> Vec<AccountObject> {
    let plain: Vec<AccountObject> = manifests::load(&[dir.to_owned()], "default")
        .expect("examples load")
        .objects
        .into_iter()
        .filter_map(|m| match m {
            Manifest::Account(account) => Some(AccountObject::from_resource(&account)),
            Manifest::Grant(_) => None,
        })
        .collect();
    plain.iter().cloned().map(|a| a.with_child_accounts(&plain)).collect()
}

/// Each account's plan as the executor would run it: action by action, every AWS write in order.
async fn action_lists(moto: &Moto, dir: &Path) -> String {
    let engine = moto.engine().await;
    let mut text = String::new();
    for account in accounts(dir) {
        let plan = Box::pin(engine.plan(&account)).await.expect("plan");
        text.push_str(&format!("{}\n", account.id));
        for action in &plan.diff.plan.actions {
            let ops: Vec<String> = action.ops.iter().map(|op| op.name()).collect();
            text.push_str(&format!(
                "  {} {:?} {} ({}): {}\n",
                action.part.as_str(),
                action.kind,
                action.resource,
                action.name,
                ops.join(", ")
            ));
        }
        for waiting in &plan.diff.waiting {
            text.push_str(&format!("  waiting: {waiting}\n"));
        }
    }
    text
}

fn printed_plan(moto: &Moto, dir: &Path) -> String {
    let output = operator(&["plan", "--aws-endpoint-url", moto.endpoint()], dir, None);
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[tokio::test]
async fn plan_and_actions_match_the_records_for_the_examples_and_a_drifted_account() {
    let moto = Moto::start().expect("own moto: the examples use fixed account ids");
    let examples = localized_examples(moto.endpoint());
    compare_with_record("examples.plan.txt", &printed_plan(&moto, &examples));
    compare_with_record("examples.actions.txt", &action_lists(&moto, &examples).await);

    let applied = operator(&["apply", "--aws-endpoint-url", moto.endpoint()], &examples, None);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    drift_the_examples(&moto).await;
    compare_with_record("drifted.plan.txt", &printed_plan(&moto, &examples));
    compare_with_record("drifted.actions.txt", &action_lists(&moto, &examples).await);
}
