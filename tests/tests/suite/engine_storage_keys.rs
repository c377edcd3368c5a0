//! The bucket key the operator makes (`storage.encryption: Managed`) and the access-log bucket
//! (`storage.accessLogs`), against moto: what they make, drift put back, switching refused, and
//! deletion in order (buckets, then the log bucket, then the key's scheduled deletion).

use aws_sdk_kms::types::KeyState;
use dataplatform_api::names::{AccountNames, BucketPurpose};
use dataplatform_engine::AccountObject;
use dataplatform_tests::{Moto, account_object, converge, engine, s3_client, unique_account_id};

use crate::engine_grants::kms_key;
use serde_json::Value;

const MANAGED_WITH_LOGS: &str = "database: {enabled: false}\ndeletionPolicy: Delete\nstorage: {encryption: Managed, keyDeletionWindowDays: 9, accessLogs: {retentionDays: 30}}\n";

fn names(object: &AccountObject) -> AccountNames {
    AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id)
}

async fn kms(account: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&Moto::shared().account_config(account).await)
}

/// The key the alias names: (ARN, state).
async fn aliased_key(account: &str, alias: &str) -> Option<(String, KeyState)> {
    let described = kms(account).await.describe_key().key_id(alias).send().await.ok()?;
    let metadata = described.key_metadata()?;
    Some((metadata.arn()?.to_owned(), metadata.key_state()?.clone()))
}

async fn key_policy(account: &str, key: &str) -> Value {
    let policy = kms(account)
        .await
        .get_key_policy()
        .key_id(key)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy");
    serde_json::from_str(policy.policy().expect("policy")).expect("JSON")
}

async fn rotation(account: &str, key: &str) -> bool {
    kms(account)
        .await
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .expect("GetKeyRotationStatus")
        .key_rotation_enabled()
}

async fn bucket_key_id(account: &str, bucket: &str) -> Option<String> {
    let s3 = s3_client(&Moto::shared().account_config(account).await);
    let encryption = s3.get_bucket_encryption().bucket(bucket).send().await.ok()?;
    let rule = encryption
        .server_side_encryption_configuration()?
        .rules()
        .first()?
        .clone();
    assert_eq!(
        rule.bucket_key_enabled(),
        Some(true),
        "{bucket}: SSE-KMS with a bucket key"
    );
    rule.apply_server_side_encryption_by_default()?
        .kms_master_key_id()
        .map(str::to_owned)
}

async fn logging_target(account: &str, bucket: &str) -> Option<(String, String)> {
    let s3 = s3_client(&Moto::shared().account_config(account).await);
    let logging = s3
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketLogging");
    logging
        .logging_enabled()
        .map(|l| (l.target_bucket().to_owned(), l.target_prefix().to_owned()))
}

async fn bucket_exists(account: &str, bucket: &str) -> bool {
    let s3 = s3_client(&Moto::shared().account_config(account).await);
    s3.head_bucket().bucket(bucket).send().await.is_ok()
}

#[tokio::test]
async fn a_managed_key_and_a_log_bucket_are_made_and_used_by_the_buckets_and_roles() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    let ready = converge(&engine, &mut object).await;
    let names = names(&object);

    let (key, state) = aliased_key(&account, &names.bucket_key_alias())
        .await
        .expect("the alias names a key");
    assert_eq!(state, KeyState::Enabled);
    assert!(rotation(&account, &key).await, "automatic rotation on");
    let policy = key_policy(&account, &key).await;
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(sids, ["AccountAdministersKey", "TaskRolesUseKey"]);
    assert!(
        !policy.to_string().contains("\"kms:*\""),
        "the account root administers but does not use the key: {policy}"
    );
    let storage = ready.status.storage.as_ref().expect("status.storage");
    assert_eq!(storage.kms_key_arn.as_deref(), Some(key.as_str()));

    for purpose in BucketPurpose::ALL {
        let bucket = names.bucket(purpose);
        let used = bucket_key_id(&account, &bucket).await.expect("SSE-KMS");
        assert!(
            key.ends_with(&used) || used == key,
            "{bucket} encrypts with {used}, not {key}"
        );
        assert_eq!(
            logging_target(&account, &bucket).await,
            Some((names.access_log_bucket(), format!("{}/", purpose.as_str()))),
            "{bucket} logs into the log bucket under its own prefix"
        );
    }

    // The task role may use the key.
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(&account).await);
    let inline = iam
        .get_role_policy()
        .role_name(names.task_role())
        .policy_name(dataplatform_aws::iam::INLINE_POLICY_NAME)
        .send()
        .await
        .expect("GetRolePolicy")
        .policy_document()
        .to_owned();
    let inline = dataplatform_tests::percent_decoded(&inline);
    assert!(inline.contains("UseBucketKey") && inline.contains(&key), "{inline}");

    // The log bucket: SSE-S3, expiring, delivery by S3's logging service of this account only.
    let logs = names.access_log_bucket();
    assert_eq!(
        ready
            .status
            .storage
            .as_ref()
            .and_then(|s| s.access_log_bucket.as_ref())
            .map(|b| b.name.as_str()),
        Some(logs.as_str())
    );
    let s3 = s3_client(&Moto::shared().account_config(&account).await);
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&logs)
        .send()
        .await
        .expect("encryption");
    let rule = encryption.server_side_encryption_configuration().expect("sse").rules()[0].clone();
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .expect("default")
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&logs)
        .send()
        .await
        .expect("lifecycle");
    assert!(
        lifecycle
            .rules()
            .iter()
            .any(|r| r.expiration().and_then(|e| e.days()) == Some(30)),
        "log objects expire after the retention"
    );
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(&logs)
            .send()
            .await
            .expect("policy")
            .policy()
            .expect("p"),
    )
    .expect("JSON");
    let deliveries: Vec<&Value> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Principal"]["Service"] == "logging.s3.amazonaws.com")
        .collect();
    assert_eq!(
        deliveries.len(),
        3,
        "one delivery statement per source bucket: {policy}"
    );
    for statement in deliveries {
        assert_eq!(
            statement["Condition"]["StringEquals"]["aws:SourceAccount"],
            account.as_str()
        );
    }
}

#[tokio::test]
async fn a_key_policy_rotation_or_logging_changed_by_hand_is_put_back_and_reported() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    converge(&engine, &mut object).await;
    let names = names(&object);
    let (key, _) = aliased_key(&account, &names.bucket_key_alias()).await.expect("key");
    let client = kms(&account).await;
    client
        .disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .expect("rotation off");
    let wide = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Everything","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    client
        .put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(wide)
        .send()
        .await
        .expect("policy by hand");
    let shared = names.bucket(BucketPurpose::Shared);
    let s3 = s3_client(&Moto::shared().account_config(&account).await);
    s3.put_bucket_logging()
        .bucket(&shared)
        .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
        .send()
        .await
        .expect("logging off");

    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let drift = pass.status.drift.join("\n");
    for field in ["rotation", "policy", "logging"] {
        assert!(drift.contains(field), "{field} reported as drift: {drift}");
    }
    assert!(rotation(&account, &key).await);
    let policy = key_policy(&account, &key).await;
    assert!(policy.to_string().contains("TaskRolesUseKey"), "{policy}");
    assert!(logging_target(&account, &shared).await.is_some());
    let again = converge(&engine, &mut object).await;
    assert!(again.applied.is_empty());
}

#[tokio::test]
async fn switching_between_a_named_key_and_the_managed_one_is_refused_before_any_write() {
    let engine = engine().await;
    let account = unique_account_id();
    let named = kms_key(&account).await;

    // Managed → named.
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    converge(&engine, &mut object).await;
    let names = names(&object);
    let workspace = names.bucket(BucketPurpose::Workspace);
    let before = bucket_key_id(&account, &workspace).await;
    object.spec.storage.encryption = None;
    object.spec.storage.kms_key_arn = Some(named.clone());
    let pass = engine.reconcile(&object, Default::default()).await;
    let error = pass.error.expect("refused").to_string();
    assert!(
        error.contains("spec.storage.encryption") && error.contains("objects keep the key"),
        "{error}"
    );
    assert!(pass.applied.is_empty());
    assert_eq!(
        bucket_key_id(&account, &workspace).await,
        before,
        "the buckets keep their key"
    );

    // Named → managed, on another account.
    let other = unique_account_id();
    let other_key = kms_key(&other).await;
    let mut named_object = account_object(
        &other,
        &format!("database: {{enabled: false}}\nstorage: {{kmsKeyArn: \"{other_key}\"}}\n"),
    );
    converge(&engine, &mut named_object).await;
    named_object.spec.storage.kms_key_arn = None;
    named_object.spec.storage.encryption = Some(dataplatform_api::account::BucketEncryption::Managed);
    let pass = engine.reconcile(&named_object, Default::default()).await;
    let error = pass.error.expect("refused").to_string();
    assert!(
        error.contains("spec.storage.encryption") && error.contains(&other_key),
        "{error}"
    );
    assert!(pass.applied.is_empty(), "not even the key is made");
    let other_names = self::names(&named_object);
    assert!(aliased_key(&other, &other_names.bucket_key_alias()).await.is_none());
}

#[tokio::test]
async fn a_key_whose_alias_was_never_made_is_named_not_made_again() {
    let engine = engine().await;
    let account = unique_account_id();
    let object = account_object(&account, MANAGED_WITH_LOGS);
    let names = names(&object);
    // What a CreateKey whose answer was lost (or a crash before CreateAlias) leaves.
    let owner = dataplatform_api::owner_tag_value(&object.id.namespace, &object.id.name);
    let left = kms(&account)
        .await
        .create_key()
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(dataplatform_api::OWNER_TAG)
                .tag_value(owner)
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .and_then(|m| m.arn().map(str::to_owned))
        .expect("arn");
    let mut object = object;
    converge(&engine, &mut object).await;
    let (named, _) = aliased_key(&account, &names.bucket_key_alias()).await.expect("alias");
    assert_eq!(named, left, "the key left behind is named");
    let keys = kms(&account).await.list_keys().send().await.expect("ListKeys");
    assert_eq!(keys.keys().len(), 1, "no second key");
}

#[tokio::test]
async fn delete_removes_the_buckets_then_the_log_bucket_then_schedules_the_key() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    converge(&engine, &mut object).await;
    let names = names(&object);
    let (key, _) = aliased_key(&account, &names.bucket_key_alias()).await.expect("key");
    let s3 = s3_client(&Moto::shared().account_config(&account).await);
    let logs = names.access_log_bucket();
    // moto writes access logs into the log bucket; our policy denies plain HTTP, which moto
    // enforces on objects, and moto only speaks HTTP: lift it so the logs can be deleted.
    s3.delete_bucket_policy()
        .bucket(&logs)
        .send()
        .await
        .expect("lift policy");
    let listed = s3.list_objects_v2().bucket(&logs).send().await.expect("list logs");
    assert!(listed.key_count().unwrap_or(0) > 0, "moto delivered access logs");

    let deleted = engine.delete(&object, &[]).await;
    assert!(deleted.finished, "{:?}", deleted);
    assert!(deleted.kept.is_empty(), "{:?}", deleted.kept);
    let order: Vec<&str> = deleted.deleted.iter().map(|a| a.resource.as_str()).collect();
    let position = |r: &str| {
        order
            .iter()
            .position(|o| *o == r)
            .unwrap_or_else(|| panic!("{r} in {order:?}"))
    };
    assert!(position("s3:shared") < position("s3:access-logs"));
    assert!(position("s3:access-logs") < position("kms:bucket-key"));
    assert!(!bucket_exists(&account, &names.access_log_bucket()).await);
    let described = kms(&account)
        .await
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .expect("DescribeKey");
    let metadata = described.key_metadata().expect("metadata");
    assert_eq!(metadata.key_state(), Some(&KeyState::PendingDeletion));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("now");
    let wait = metadata
        .deletion_date()
        .map(|d| d.secs() - now.as_secs() as i64)
        .expect("a deletion date");
    assert!(
        (9 * 86_400 - 600..=9 * 86_400).contains(&wait),
        "keyDeletionWindowDays: 9, KMS deletes in {wait} s"
    );
    assert!(
        aliased_key(&account, &names.bucket_key_alias()).await.is_none(),
        "the alias is gone"
    );
}

#[tokio::test]
async fn a_bucket_kept_for_its_objects_keeps_its_key() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    converge(&engine, &mut object).await;
    let names = names(&object);
    let datastore = names.bucket(BucketPurpose::Datastore);
    let s3 = s3_client(&Moto::shared().account_config(&account).await);
    // Our policy denies plain HTTP, and moto enforces it; moto only speaks HTTP, so lift it to upload.
    s3.delete_bucket_policy()
        .bucket(&datastore)
        .send()
        .await
        .expect("lift policy");
    s3.delete_bucket_policy()
        .bucket(names.access_log_bucket())
        .send()
        .await
        .expect("lift the log bucket's policy");
    s3.put_object()
        .bucket(&datastore)
        .key("report.csv")
        .body(b"a,b\n".to_vec().into())
        .send()
        .await
        .expect("upload");

    let deleted = engine.delete(&object, &[]).await;
    assert!(deleted.finished);
    let kept = deleted.kept.join("\n");
    assert!(
        kept.contains("s3:datastore") && kept.contains("kms:bucket-key"),
        "{kept}"
    );
    let (_, state) = aliased_key(&account, &names.bucket_key_alias())
        .await
        .expect("alias kept");
    assert_eq!(state, KeyState::Enabled, "the objects stay readable");
    assert!(bucket_exists(&account, &datastore).await);
}

/// The keys of `account` not pending deletion, and the aliases naming ours.
async fn live_keys(account: &str) -> usize {
    let client = kms(account).await;
    let mut live = 0;
    for key in client.list_keys().send().await.expect("ListKeys").keys() {
        let described = client
            .describe_key()
            .key_id(key.key_id().expect("id"))
            .send()
            .await
            .expect("DescribeKey");
        if described.key_metadata().and_then(|m| m.key_state()) != Some(&KeyState::PendingDeletion) {
            live += 1;
        }
    }
    live
}

/// CreateKey carried out, its answer lost: the same pass finds the key by its owner tag and names
/// it; the account holds one key.
#[tokio::test]
async fn a_key_whose_create_answer_was_lost_is_found_not_made_twice() {
    let proxy = Moto::shared().losing_answers("CreateKey", 1).expect("fault proxy");
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    converge(&engine, &mut object).await;
    assert_eq!(engine.sessions().counter().snapshot().of("CreateKey"), 1);
    assert_eq!(live_keys(&account).await, 1);
    assert!(
        aliased_key(&account, &names(&object).bucket_key_alias())
            .await
            .is_some()
    );
}

/// A first pass stopped after each of its actions, then resumed: one key, named, four buckets
/// encrypted and logged as a run never stopped leaves them, and nothing more to write.
#[tokio::test]
async fn a_run_stopped_after_each_action_resumes_to_one_key_and_four_buckets() {
    let engine = engine().await;
    let first = engine
        .plan(&account_object(&unique_account_id(), MANAGED_WITH_LOGS))
        .await
        .expect("plan")
        .diff
        .plan;
    for stop_after in 1..first.actions.len() {
        let account = unique_account_id();
        let mut object = account_object(&account, MANAGED_WITH_LOGS);
        let cut = engine
            .reconcile(
                &object,
                dataplatform_engine::ExecuteOptions {
                    stop_after_actions: Some(stop_after),
                },
            )
            .await;
        assert!(cut.error.is_none(), "{:?}", cut.error);
        object.status = Some(cut.status);
        converge(&engine, &mut object).await;
        assert_eq!(live_keys(&account).await, 1, "stop at {stop_after}");
        let names = names(&object);
        let (key, _) = aliased_key(&account, &names.bucket_key_alias()).await.expect("alias");
        for purpose in BucketPurpose::ALL {
            let bucket = names.bucket(purpose);
            let used = bucket_key_id(&account, &bucket).await.expect("SSE-KMS");
            assert!(key.ends_with(&used), "stop at {stop_after}: {bucket} uses {used}");
            assert!(
                logging_target(&account, &bucket).await.is_some(),
                "stop at {stop_after}: {bucket}"
            );
        }
        assert!(bucket_exists(&account, &names.access_log_bucket()).await);
    }
}

/// The key scheduled for deletion by hand: the next pass cancels it and enables the key again (the
/// buckets' objects would otherwise become unreadable when KMS deletes it).
#[tokio::test]
async fn a_key_scheduled_for_deletion_by_hand_is_cancelled_and_enabled() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, MANAGED_WITH_LOGS);
    converge(&engine, &mut object).await;
    let alias = names(&object).bucket_key_alias();
    let (key, _) = aliased_key(&account, &alias).await.expect("key");
    let key_id = key.rsplit('/').next().expect("id").to_owned();
    kms(&account)
        .await
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("scheduled by hand");

    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    assert!(
        pass.status.drift.join("\n").contains("state"),
        "{:?}",
        pass.status.drift
    );
    assert_eq!(
        aliased_key(&account, &alias).await.map(|k| k.1),
        Some(KeyState::Enabled)
    );
    converge(&engine, &mut object).await;
}
