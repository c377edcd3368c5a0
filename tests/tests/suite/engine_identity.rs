//! Which account the engine writes to: the one the spec names, proven by sts:GetCallerIdentity, and
//! nothing at all for a spec that cannot be right.

use dataplatform_api::conditions::{self, SYNCED};
use dataplatform_api::names::{AccountNames, BucketPurpose};
use dataplatform_aws::{AwsSettings, Sessions};
use dataplatform_engine::{Engine, ReconcileError};
use dataplatform_tests::{Moto, account_object, converge, engine, s3_client, unique_account_id};

#[tokio::test]
async fn two_accounts_reached_through_assume_role_stay_separate() {
    let engine = engine().await;
    let (first, second) = (unique_account_id(), unique_account_id());
    let mut a = account_object(&first, "");
    let mut b = account_object(&second, "");
    converge(&engine, &mut a).await;
    converge(&engine, &mut b).await;

    let names_a = AccountNames::new(&a.id.namespace, &a.id.name, &first);
    let names_b = AccountNames::new(&b.id.namespace, &b.id.name, &second);
    let buckets_in = |account: String| async move {
        let s3 = s3_client(&Moto::shared().account_config(&account).await);
        let listed = s3.list_buckets().send().await.expect("list buckets");
        listed
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let in_first = buckets_in(first.clone()).await;
    let in_second = buckets_in(second.clone()).await;
    assert!(in_first.contains(&names_a.bucket(BucketPurpose::Shared)));
    assert!(
        !in_first.contains(&names_b.bucket(BucketPurpose::Shared)),
        "{in_first:?}"
    );
    assert!(in_second.contains(&names_b.bucket(BucketPurpose::Shared)));
    assert!(
        !in_second.contains(&names_a.bucket(BucketPurpose::Shared)),
        "{in_second:?}"
    );
}

#[tokio::test]
async fn credentials_for_another_account_are_refused_before_any_write() {
    // No roleArn: the engine uses its ambient credentials, which belong to another account.
    let (ambient, named) = (unique_account_id(), unique_account_id());
    let base = Moto::shared().account_config(&ambient).await;
    let engine = Engine::new(std::sync::Arc::new(Sessions::new(base, AwsSettings::default())));
    let mut object = account_object(&named, "");
    object.spec.role_arn = None;

    let pass = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    let Some(ReconcileError::AccountMismatch(mismatch)) = &pass.error else {
        panic!("expected AccountMismatch, got {:?}", pass.error);
    };
    assert!(mismatch.to_string().contains(&ambient) && mismatch.to_string().contains(&named));
    assert_eq!(calls.writes(), 0);
    assert_eq!(calls.total(), 1, "only sts:GetCallerIdentity: {calls:?}");
    let synced = conditions::find(&pass.status.conditions, SYNCED).expect("Synced");
    assert_eq!(
        (synced.status.as_str(), synced.reason.as_str()),
        ("False", "AccountMismatch")
    );
}

#[tokio::test]
async fn an_invalid_spec_makes_no_aws_call_and_names_the_field() {
    let engine = engine().await;
    let account = unique_account_id();
    let object = account_object(
        &account,
        "roleArn: arn:aws:iam::000000000001:role/elsewhere\ndatabase: {minCapacity: 8, maxCapacity: 2}",
    );
    let pass = engine.reconcile(&object, Default::default()).await;
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
    let Some(ReconcileError::InvalidSpec(invalid)) = &pass.error else {
        panic!("expected InvalidSpec, got {:?}", pass.error);
    };
    let fields: Vec<_> = invalid.problems.iter().map(|p| p.field.as_str()).collect();
    assert!(fields.contains(&"spec.roleArn"), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("spec.database")), "{fields:?}");
    let synced = conditions::find(&pass.status.conditions, SYNCED).expect("Synced");
    assert_eq!(
        (synced.status.as_str(), synced.reason.as_str()),
        ("False", "InvalidSpec")
    );
    assert!(synced.message.contains("spec.roleArn"));
}

/// A name Kubernetes accepts (63 + 253 characters) makes an owner tag longer than any AWS tag value:
/// refused before the first call, not after three buckets when IAM refuses the role.
#[tokio::test]
async fn an_owner_tag_too_long_for_aws_is_refused_before_any_call() {
    let engine = engine().await;
    let mut object = account_object(&unique_account_id(), "");
    object.id.namespace = "n".repeat(63);
    object.id.name = "a".repeat(253);
    let pass = engine.reconcile(&object, Default::default()).await;
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
    let Some(ReconcileError::InvalidSpec(invalid)) = &pass.error else {
        panic!("expected InvalidSpec, got {:?}", pass.error);
    };
    assert_eq!(invalid.problems[0].field, "metadata.name", "{invalid}");
    assert!(invalid.problems[0].message.contains("256"), "{invalid}");
}

/// A bucket key that does not exist is a spec problem found before any bucket is written, not a
/// PutBucketEncryption failure after three buckets.
#[tokio::test]
async fn a_bucket_key_that_does_not_exist_is_refused_before_any_write() {
    let engine = engine().await;
    let account = unique_account_id();
    let key = format!("arn:aws:kms:eu-west-2:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let object = account_object(&account, &format!("storage: {{kmsKeyArn: \"{key}\"}}"));
    let pass = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    let Some(ReconcileError::InvalidSpec(invalid)) = &pass.error else {
        panic!("expected InvalidSpec, got {:?}", pass.error);
    };
    assert_eq!(invalid.problems[0].field, "spec.storage.kmsKeyArn", "{invalid}");
    assert!(invalid.problems[0].message.contains("does not exist"), "{invalid}");
}

/// `dataplatform.io/pause` (for `paused`) must not let writes through: a pass and a deletion are
/// both refused, naming the annotation meant, before any AWS call (issue 37).
#[tokio::test]
async fn a_misspelt_annotation_of_ours_is_refused_before_any_call_in_a_pass_and_a_deletion() {
    let engine = engine().await;
    let mut object = account_object(&unique_account_id(), "deletionPolicy: Delete");
    object.annotations.insert("dataplatform.io/pause".into(), "true".into());
    let pass = engine.reconcile(&object, Default::default()).await;
    let Some(ReconcileError::InvalidSpec(invalid)) = &pass.error else {
        panic!("expected InvalidSpec, got {:?}", pass.error);
    };
    assert_eq!(invalid.problems[0].field, "metadata.annotations[dataplatform.io/pause]");
    assert!(
        invalid.to_string().contains("did you mean dataplatform.io/paused?"),
        "{invalid}"
    );
    let deleted = engine.delete(&object, &[]).await;
    assert!(
        matches!(deleted.error, Some(ReconcileError::InvalidSpec(_))) && !deleted.finished,
        "{deleted:?}"
    );
    assert_eq!(engine.sessions().counter().snapshot().total(), 0);
}
