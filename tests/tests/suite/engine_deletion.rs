//! Deleting an account object: Retain leaves everything; Delete removes what the engine owns in
//! order, waits while deletion protection is on, and keeps a bucket that still holds objects.

use dataplatform_api::DeletionPolicy;
use dataplatform_api::names::{AccountNames, BucketPurpose};
use dataplatform_engine::deletion::Deleted;
use dataplatform_tests::{Moto, account_object, converge, engine, s3_client, unique_account_id};

async fn bucket_exists(account: &str, bucket: &str) -> bool {
    let s3 = s3_client(&Moto::shared().account_config(account).await);
    s3.head_bucket().bucket(bucket).send().await.is_ok()
}

async fn cluster_exists(account: &str, cluster: &str) -> bool {
    let rds = aws_sdk_rds::Client::new(&Moto::shared().account_config(account).await);
    rds.describe_db_clusters()
        .db_cluster_identifier(cluster)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn retain_leaves_every_resource_and_makes_no_call() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    converge(&engine, &mut object).await;

    engine.sessions().counter().reset();
    let deleted = engine.delete(&object, &[]).await;
    assert!(deleted.finished);
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    assert!(bucket_exists(&account, &names.bucket(BucketPurpose::Workspace)).await);
    assert!(cluster_exists(&account, &names.db_cluster()).await);
}

#[tokio::test]
async fn delete_waits_for_deletion_protection_then_removes_all_but_a_non_empty_bucket() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "deletionPolicy: Delete");
    assert_eq!(object.spec.deletion_policy, DeletionPolicy::Delete);
    converge(&engine, &mut object).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let datastore = names.bucket(BucketPurpose::Datastore);
    let s3 = s3_client(&Moto::shared().account_config(&account).await);
    // Our policy denies plain HTTP, and moto enforces it; moto only speaks HTTP, so lift it to upload.
    s3.delete_bucket_policy()
        .bucket(&datastore)
        .send()
        .await
        .expect("lift policy");
    s3.put_object()
        .bucket(&datastore)
        .key("uploads/report.csv")
        .body(b"a,b\n1,2\n".to_vec().into())
        .send()
        .await
        .expect("upload");

    let waiting: Deleted = engine.delete(&object, &[]).await;
    assert!(!waiting.finished);
    assert_eq!(waiting.reason().as_str(), "Deleting");
    assert!(
        waiting.message().contains("spec.database.deletionProtection: false"),
        "{}",
        waiting.message()
    );
    assert!(waiting.deleted.is_empty(), "nothing goes while the database must stay");
    assert!(cluster_exists(&account, &names.db_cluster()).await);

    object.spec.database.deletion_protection = false;
    let done = engine.delete(&object, &[]).await;
    assert!(done.finished, "{:?} {:?}", done.waiting, done.error);
    let order: Vec<_> = done.deleted.iter().map(|a| a.resource.as_str()).collect();
    assert_eq!(
        order,
        [
            "rds:instance",
            "rds:cluster",
            "iam:task-execution-role",
            "iam:task-role",
            "s3:workspace",
            "s3:shared"
        ]
    );
    assert_eq!(done.kept.len(), 1);
    assert!(
        done.kept[0].contains(&datastore) && done.kept[0].contains("still holds objects"),
        "{:?}",
        done.kept
    );
    assert!(
        bucket_exists(&account, &datastore).await,
        "a bucket with objects is never emptied"
    );
    assert!(!bucket_exists(&account, &names.bucket(BucketPurpose::Workspace)).await);
    assert!(!cluster_exists(&account, &names.db_cluster()).await);
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

/// `database.enabled: false` on an account whose database exists: the cluster stays (it holds
/// data), nothing is written to RDS (the roles lose their access to its secret), and both status
/// and the plan say it is kept and not managed.
#[tokio::test]
async fn a_database_disabled_after_creation_is_kept_and_reported() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    converge(&engine, &mut object).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);

    object.spec.database.enabled = false;
    object.generation = Some(2);
    let plan = engine.plan(&object).await.expect("plan");
    assert!(
        plan.diff
            .plan
            .actions
            .iter()
            .all(|a| a.part != dataplatform_engine::Part::Database),
        "{}",
        plan.diff.plan
    );
    assert!(
        plan.diff.notes.iter().any(|n| n.contains("kept, not managed")),
        "{:?}",
        plan.diff.notes
    );
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none() && pass.ready, "{:?}", pass.error);
    let writes = engine.sessions().counter().snapshot().write_operations();
    assert!(writes.iter().all(|w| !w.starts_with("rds:")), "{writes:?}");
    let database = pass.status.database.expect("still reported");
    assert_eq!(database.cluster_identifier, names.db_cluster());
    assert!(
        database
            .note
            .as_deref()
            .is_some_and(|n| n.contains("kept, not managed")),
        "{database:?}"
    );
    assert!(cluster_exists(&account, &names.db_cluster()).await);
}

/// A spec that became invalid after its resources were made (here a cpu/memory pair Fargate
/// refuses, as a CLI file or a schema change can leave it) does not keep deletion from cleaning up:
/// deletion checks only what reaching the account needs.
#[tokio::test]
async fn an_account_whose_spec_became_invalid_is_still_deleted() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "deletionPolicy: Delete\ndatabase: {enabled: false}\n");
    converge(&engine, &mut object).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    assert!(bucket_exists(&account, &names.bucket(BucketPurpose::Workspace)).await);

    object.spec.storage.workspace_expiration_days = -5;
    assert!(object.spec.validate().is_err(), "the spec is invalid now");
    let deleted = engine.delete(&object, &[]).await;
    assert!(deleted.finished, "{:?} {:?}", deleted.waiting, deleted.error);
    for purpose in BucketPurpose::ALL {
        assert!(
            !bucket_exists(&account, &names.bucket(purpose)).await,
            "{purpose:?} deleted"
        );
    }
}
