//! `plan` and `apply` on the examples against moto, as the README's demo runs them.

use std::path::Path;
use std::process::{Command, Output};

use dataplatform_api::names::AccountNames;
use dataplatform_tests::{Moto, localized_examples};

pub(crate) fn operator(args: &[&str], examples: &Path, endpoint_env: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dataplatform-operator"));
    command
        .args(args)
        .arg("-f")
        .arg(examples)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-2")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG");
    if let Some(endpoint) = endpoint_env {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    command.output().expect("run dataplatform-operator")
}

/// Table columns are padded to the widest cell; assertions read rows with single spaces.
fn squeezed(text: &str) -> String {
    text.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

fn stdout(output: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn plan_shows_changes_apply_makes_them_and_plan_then_finds_none() {
    let endpoint = Moto::start().expect("own moto: the examples use fixed account ids");
    let endpoint = endpoint.endpoint().to_owned();
    let examples = localized_examples(&endpoint);

    // The SDK's standard variable alone reaches moto.
    let before = operator(&["plan"], &examples, Some(&endpoint));
    let text = stdout(&before);
    assert_eq!(before.status.code(), Some(2), "changes pending: exit 2\n{text}");
    // camden's buckets wait for the key the operator makes for them (examples/child-account.yaml).
    assert!(
        text.contains("+ create kms:bucket-key (alias/dataplatform/camden-"),
        "{text}"
    );
    assert!(
        text.contains("waiting: s3:workspace (camden-workspace-") && text.contains("waits for its KMS key"),
        "{text}"
    );
    assert!(text.contains("+ create s3:workspace (region-workspace-"), "{text}");
    assert!(text.contains("+ create rds:cluster (region-"), "{text}");
    // The whole network is one plan; what lives in it waits for its ids.
    assert!(text.contains("+ create ec2:vpc (camden-"), "{text}");
    assert!(text.contains("+ create ec2:endpoint/ecr-dkr (camden-"), "{text}");
    assert!(text.contains("+ create rds:subnet-group (camden-"), "{text}");
    assert!(text.contains("waiting: ecs:frontend waits for the network"), "{text}");
    assert!(text.contains("waiting: rds:cluster (camden-"), "{text}");
    assert!(text.contains("+ create ecr:dagster (dagster)"), "{text}");
    // The grant's statements, as they will be added to camden's shared bucket policy.
    assert!(
        text.contains("~ update bucket-policy: statement DataPlatformGrant")
            && text.contains(
                "absent -> Allow arn:aws:iam::999999999999:role/org-daemon s3:GetObject on arn:aws:s3:::camden-shared-"
            ),
        "{text}"
    );
    assert!(text.contains("+ create s3:access-logs (camden-logs-"), "{text}");
    assert!(text.contains("Plan: 40 to create, 1 to update, 0 to delete."), "{text}");
    assert!(
        text.contains("waiting: the shared bucket camden-shared-") && text.contains("does not exist yet"),
        "{text}"
    );

    let applied = operator(&["apply", "--aws-endpoint-url", &endpoint], &examples, None);
    let text = stdout(&applied);
    assert_eq!(applied.status.code(), Some(0), "{text}");
    assert!(
        text.contains("la-camden/camden: + create s3:shared (camden-shared-"),
        "{text}"
    );
    assert!(text.contains("... done"), "{text}");
    // Output for people: warnings at most, no SDK debug lines.
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert!(
        !stderr.contains(" DEBUG ") && !stderr.contains(" TRACE "),
        "{}",
        stderr.lines().take(5).collect::<Vec<_>>().join("\n")
    );
    let table = squeezed(text.split("ACCOUNT").nth(1).expect("a table at the end"));
    assert!(table.contains("PART") && table.contains("STATE"), "{text}");
    assert!(table.contains("la-camden/camden storage created"), "{text}");
    // The services waiting for the database endpoint are made by a later pass of the same apply.
    assert!(
        text.contains("la-camden/camden: + create service daemon (daemon) ... done"),
        "{text}"
    );
    assert!(
        table.contains("la-camden/camden compute created, 0/3 tasks running"),
        "{text}"
    );

    // camden runs no tasks on moto, so it is not Ready; its grant needs only the shared bucket.
    assert!(
        text.contains("la-camden/camden-to-region: ~ update bucket-policy") && text.contains("... done"),
        "{text}"
    );
    assert!(
        table.contains("la-camden/camden-to-region grant granted: 2 statements"),
        "{text}"
    );
    assert!(table.contains("org-region/region registry created"), "{text}");
    // People read this output: no log colour when it is not a terminal.
    assert!(!text.contains('\x1b'), "ANSI escapes in {text}");

    let after = operator(&["plan", "--aws-endpoint-url", &endpoint], &examples, None);
    let text = stdout(&after);
    assert_eq!(after.status.code(), Some(0), "nothing pending: exit 0\n{text}");
    assert!(text.contains("Plan: 0 to create, 0 to update, 0 to delete."), "{text}");
}

#[tokio::test]
async fn apply_waits_for_running_tasks_only_when_asked() {
    let moto = Moto::start().expect("own moto: the examples use fixed account ids");
    let endpoint = moto.endpoint().to_owned();
    let examples = localized_examples(&endpoint);
    let apply = |wait: &'static str| {
        let (endpoint, examples) = (endpoint.clone(), examples.clone());
        move || {
            operator(
                &["apply", "--aws-endpoint-url", &endpoint, "--wait", wait],
                &examples,
                None,
            )
        }
    };

    let unwaited = operator(&["apply", "--aws-endpoint-url", &endpoint], &examples, None);
    let text = stdout(&unwaited);
    assert_eq!(unwaited.status.code(), Some(0), "{text}");
    // The grant needs camden's shared bucket only, not its tasks: the first run makes it.
    assert!(
        squeezed(&text).contains("la-camden/camden-to-region grant granted: 2 statements"),
        "{text}"
    );

    // Moto starts no tasks by itself, so the wait runs out.
    let timed_out = tokio::task::spawn_blocking(apply("1s")).await.expect("apply");
    let text = stdout(&timed_out);
    assert_eq!(timed_out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("la-camden/camden: not Ready after 1s: ecs:daemon: 0 of 1 tasks running"),
        "{text}"
    );

    // The test plays ECS's scheduler; then the wait ends as soon as the tasks run.
    let cluster = AccountNames::new("la-camden", "camden", "111111111111").ecs_cluster();
    moto.start_tasks("111111111111", &cluster).await;
    let waited = tokio::task::spawn_blocking(apply("60s")).await.expect("apply");
    let text = stdout(&waited);
    assert_eq!(waited.status.code(), Some(0), "{text}");
    assert!(text.contains("in sync, 3/3 tasks running"), "{text}");
    assert!(
        squeezed(&text).contains("la-camden/camden-to-region grant in sync: 2 statements"),
        "{text}"
    );
    let again = operator(&["plan", "--aws-endpoint-url", &endpoint], &examples, None);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}
