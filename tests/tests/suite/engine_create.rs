//! From an empty account to everything the spec asks for, and then no more writes.

use dataplatform_api::conditions::{self, READY, SYNCED};
use dataplatform_tests::{account_object, converge, engine, unique_account_id};

#[tokio::test]
async fn an_empty_account_gets_every_part_and_a_second_pass_only_reads() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "tags: {cost-centre: \"42\"}");

    let first = engine.reconcile(&object, Default::default()).await;
    assert!(first.error.is_none(), "{:?}", first.error);
    let created: Vec<_> = first.applied.iter().map(|a| a.resource.as_str()).collect();
    assert_eq!(
        created,
        [
            "s3:workspace",
            "s3:datastore",
            "s3:shared",
            "iam:task-execution-role",
            "iam:task-role",
            "rds:cluster",
            "rds:instance"
        ]
    );
    let ready = conditions::find(&first.status.conditions, READY).expect("Ready is set");
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "Creating"));
    object.status = Some(first.status);

    let settled = converge(&engine, &mut object).await;
    let ready = conditions::find(&settled.status.conditions, READY).expect("Ready");
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", "Available"));
    let synced = conditions::find(&settled.status.conditions, SYNCED).expect("Synced");
    assert_eq!(synced.reason, "ReconcileSuccess");

    engine.sessions().counter().reset();
    let steady = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert!(steady.applied.is_empty());
    assert_eq!(calls.writes(), 0, "steady state wrote: {:?}", calls.write_operations());
    assert!(calls.reads() > 0);
    assert_eq!(
        steady.status,
        object.status.clone().expect("status"),
        "steady state changes no status"
    );
}
