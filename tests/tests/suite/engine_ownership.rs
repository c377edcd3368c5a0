//! The operator changes only what is its own: a resource under its name without its tag is a
//! Conflict unless the object asks to adopt it; ObserveOnly and paused objects write nothing.

use dataplatform_api::conditions::{self, READY, SYNCED};
use dataplatform_api::names::{AccountNames, BucketPurpose};
use dataplatform_api::{ADOPT_ANNOTATION, ManagementPolicy, OWNER_TAG, PAUSED_ANNOTATION};
use dataplatform_engine::ReconcileError;
use dataplatform_tests::{Moto, account_object, converge, create_bucket, engine, s3_client, unique_account_id};

async fn bucket_tags(account: &str, bucket: &str) -> Vec<(String, String)> {
    let s3 = s3_client(&Moto::shared().account_config(account).await);
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(t) => t
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        Err(_) => vec![],
    }
}

#[tokio::test]
async fn a_bucket_under_our_name_without_our_tag_is_a_conflict_and_nothing_is_written() {
    let engine = engine().await;
    let account = unique_account_id();
    let object = account_object(&account, "");
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let squatted = names.bucket(BucketPurpose::Shared);
    let s3 = s3_client(&Moto::shared().account_config(&account).await);
    create_bucket(&s3, &squatted).await;
    // Someone's data: an untagged bucket that holds objects is never taken over.
    s3.put_object()
        .bucket(&squatted)
        .key("theirs.csv")
        .body(b"a,b".to_vec().into())
        .send()
        .await
        .expect("put an object");

    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    let Some(ReconcileError::Conflict(conflicts)) = &pass.error else {
        panic!("expected a Conflict, got {:?}", pass.error);
    };
    assert_eq!(conflicts.len(), 1);
    assert!(
        conflicts[0].contains(&squatted) && conflicts[0].contains(ADOPT_ANNOTATION),
        "{conflicts:?}"
    );
    assert_eq!(
        calls.writes(),
        0,
        "a conflict writes nothing: {:?}",
        calls.write_operations()
    );
    let synced = conditions::find(&pass.status.conditions, SYNCED).expect("Synced");
    assert_eq!((synced.status.as_str(), synced.reason.as_str()), ("False", "Conflict"));
    assert!(bucket_tags(&account, &squatted).await.is_empty());
}

/// A pass stopped between CreateBucket and the tagging call after it (moto, like S3 for general
/// purpose buckets, ignores create-time tags) leaves an empty, untagged bucket under our own name:
/// the next pass finishes it as ours instead of reporting a Conflict.
#[tokio::test]
async fn an_empty_untagged_bucket_under_our_name_is_finished_as_ours() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let unfinished = names.bucket(BucketPurpose::Workspace);
    create_bucket(&s3_client(&Moto::shared().account_config(&account).await), &unfinished).await;

    let pass = converge(&engine, &mut object).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let tags = bucket_tags(&account, &unfinished).await;
    assert!(
        tags.contains(&(
            OWNER_TAG.to_owned(),
            format!("{}/{}", object.id.namespace, object.id.name)
        )),
        "{tags:?}"
    );
}

#[tokio::test]
async fn the_adopt_annotation_takes_the_resource_over_by_tagging_it() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    object.annotations.insert(ADOPT_ANNOTATION.into(), "true".into());
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let existing = names.bucket(BucketPurpose::Datastore);
    create_bucket(&s3_client(&Moto::shared().account_config(&account).await), &existing).await;

    converge(&engine, &mut object).await;
    let tags = bucket_tags(&account, &existing).await;
    assert!(
        tags.contains(&(
            OWNER_TAG.to_owned(),
            format!("{}/{}", object.id.namespace, object.id.name)
        )),
        "{tags:?}"
    );
}

#[tokio::test]
async fn observe_only_reports_what_differs_and_writes_nothing() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    converge(&engine, &mut object).await;

    object.spec.management_policy = ManagementPolicy::ObserveOnly;
    object.spec.storage.workspace_expiration_days = 7;
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    assert_eq!(pass.status.drift, ["s3:workspace.lifecycle"]);
    let synced = conditions::find(&pass.status.conditions, SYNCED).expect("Synced");
    assert_eq!(
        (synced.status.as_str(), synced.reason.as_str()),
        ("True", "ObserveOnly")
    );
}

#[tokio::test]
async fn a_paused_object_makes_no_aws_call_and_keeps_its_ready_condition() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    converge(&engine, &mut object).await;

    object.annotations.insert(PAUSED_ANNOTATION.into(), "true".into());
    object.spec.storage.versioning = false;
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
    let ready = conditions::find(&pass.status.conditions, READY).expect("Ready");
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", "Available"));
    let synced = conditions::find(&pass.status.conditions, SYNCED).expect("Synced");
    assert_eq!(synced.reason, "Paused");
}
