//! SharedBucketGrant against moto, with three accounts: a tenant that grants, the managed
//! organisation that receives (its task role's one fixed statement is the other half), and an
//! unmanaged account.

use std::collections::BTreeSet;

use dataplatform_api::SharedBucketGrantSpec;
use dataplatform_api::conditions::{self, READY};
use dataplatform_api::names::{AccountNames, BucketPurpose, DENY_INSECURE_TRANSPORT_SID, GrantNames};
use dataplatform_aws::iam::INLINE_POLICY_NAME;
use dataplatform_engine::{AccountObject, Engine, ExecuteOptions, GrantAccounts, GrantObject, ObjectId};
use dataplatform_tests::{
    Moto, account_object, converge, create_bucket, default_network_yaml, engine, s3_client, unique_account_id,
    unique_name,
};
use serde_json::{Value, json};

pub(crate) const NO_DATABASE: &str = "database: {enabled: false}\n";

pub(crate) async fn ready_account(engine: &Engine, namespace: &str, extra: &str) -> AccountObject {
    let mut account = account_object(&unique_account_id(), &format!("{NO_DATABASE}{extra}"));
    account.id.namespace = namespace.to_owned();
    converge(engine, &mut account).await;
    account
}

pub(crate) fn grant_object(grantor: &AccountObject, spec: &str) -> GrantObject {
    let spec: SharedBucketGrantSpec =
        serde_yaml_ng::from_str(&format!("accountRef: {{name: {}}}\n{spec}", grantor.id.name)).expect("grant spec");
    GrantObject {
        id: ObjectId {
            namespace: grantor.id.namespace.clone(),
            name: unique_name("grant"),
        },
        generation: Some(1),
        annotations: Default::default(),
        spec,
        status: None,
    }
}

pub(crate) fn shared_bucket(account: &AccountObject) -> String {
    AccountNames::new(&account.id.namespace, &account.id.name, &account.spec.account_id).bucket(BucketPurpose::Shared)
}

pub(crate) async fn bucket_policy(account: &AccountObject) -> Value {
    let text = bucket_policy_text(account).await.expect("bucket policy");
    serde_json::from_str(&text).expect("policy JSON")
}

/// The shared bucket's policy; `None` when it has none (or the bucket is missing).
pub(crate) async fn bucket_policy_text(account: &AccountObject) -> Option<String> {
    let s3 = s3_client(&Moto::shared().account_config(&account.spec.account_id).await);
    s3.get_bucket_policy()
        .bucket(shared_bucket(account))
        .send()
        .await
        .ok()
        .and_then(|p| p.policy)
}

pub(crate) fn sids(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Sid"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) async fn task_role_policy(account: &AccountObject, policy: &str) -> Option<String> {
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(&account.spec.account_id).await);
    let role = AccountNames::new(&account.id.namespace, &account.id.name, &account.spec.account_id).task_role();
    iam.get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .ok()
        .map(|p| dataplatform_tests::percent_decoded(&p.policy_document))
}

pub(crate) async fn reconcile_ok(
    engine: &Engine,
    grant: &mut GrantObject,
    accounts: &[AccountObject],
) -> dataplatform_engine::Reconciled<dataplatform_api::SharedBucketGrantStatus> {
    let pass = engine
        .reconcile_grant(grant, &GrantAccounts::find(grant, accounts), ExecuteOptions::default())
        .await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    grant.status = Some(pass.status.clone());
    pass
}

fn ready(status: &dataplatform_api::SharedBucketGrantStatus) -> (String, String) {
    let c = conditions::find(&status.conditions, READY).expect("Ready");
    (c.status.clone(), c.reason.clone())
}

#[tokio::test]
async fn grants_merge_keep_hand_written_statements_reach_the_organisation_and_revoke_exactly() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-camden", "").await;
    let organisation = ready_account(&engine, "platform", "tier: Organisation\n").await;
    let outsider = unique_account_id();
    let accounts = vec![tenant.clone(), organisation.clone()];
    let bucket = shared_bucket(&tenant);

    // Someone adds a statement by hand; no grant may touch it.
    let mut policy = bucket_policy(&tenant).await;
    let hand_written = json!({"Sid": "HandWrittenAuditor", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{outsider}:root")},
        "Action": "s3:GetBucketLocation", "Resource": format!("arn:aws:s3:::{bucket}")});
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(hand_written);
    s3_client(&Moto::shared().account_config(&tenant.spec.account_id).await)
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .expect("hand-written policy");

    let org_id = &organisation.spec.account_id;
    let mut to_org = grant_object(
        &tenant,
        &format!("grantee: {{accountId: \"{org_id}\"}}\nprefixes: [exports/]"),
    );
    let planned = engine
        .plan_grant(&to_org, &GrantAccounts::find(&to_org, &accounts), true)
        .await
        .expect("plan");
    let text = planned.plan.to_string();
    let names = GrantNames::new(&to_org.id.namespace, &to_org.id.name);
    assert!(
        text.contains(&format!(
            "~ update bucket-policy: statement {} absent -> Allow arn:aws:iam::{org_id}:root s3:ListBucket on arn:aws:s3:::{bucket} if s3:prefix StringLike exports/*",
            names.statement_id("List")
        )),
        "{text}"
    );
    assert!(
        !text.contains("grantee-policy"),
        "a grant writes nothing on the organisation: {text}"
    );

    let first = reconcile_ok(&engine, &mut to_org, &accounts).await;
    assert!(first.ready);
    assert_eq!(ready(&first.status), ("True".into(), "Available".into()));
    assert_eq!(first.status.statement_ids.len(), 2);
    assert_eq!(first.status.grantee_role_updated, Some(true));
    assert_eq!(first.status.bucket.as_deref(), Some(bucket.as_str()));
    // The organisation's half is its task role's own policy, the same whatever it is granted.
    assert_eq!(task_role_policy(&organisation, &names.grantee_policy()).await, None);
    let org_policy = task_role_policy(&organisation, INLINE_POLICY_NAME)
        .await
        .expect("the task role's policy");
    assert!(
        org_policy.contains("UseGrantedSharedObjects") && org_policy.contains("arn:aws:s3:::*-shared-????????/*"),
        "{org_policy}"
    );

    let mut to_outsider = grant_object(
        &tenant,
        &format!("grantee: {{accountId: \"{outsider}\"}}\naccess: ReadWrite"),
    );
    let second = reconcile_ok(&engine, &mut to_outsider, &accounts).await;
    assert!(second.ready);
    assert_eq!(
        second.status.grantee_role_updated, None,
        "the outsider is not a managed organisation"
    );
    let merged = sids(&bucket_policy(&tenant).await);
    let mut expected: BTreeSet<String> = first.status.statement_ids.iter().cloned().collect();
    expected.extend(second.status.statement_ids.iter().cloned());
    expected.insert("HandWrittenAuditor".into());
    expected.insert(DENY_INSECURE_TRANSPORT_SID.into());
    assert_eq!(merged, expected);

    // Steady state: both grants and the tenant itself only read.
    engine.sessions().counter().reset();
    let again_org = reconcile_ok(&engine, &mut to_org, &accounts).await;
    let again_outsider = reconcile_ok(&engine, &mut to_outsider, &accounts).await;
    let tenant_pass = engine.reconcile(&tenant, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "steady state wrote: {:?}", calls.write_operations());
    assert!(
        tenant_pass.applied.is_empty(),
        "the grants' statements are not the account's drift"
    );
    // A pass that changes nothing leaves the status as it was: no status write either.
    assert_eq!(
        reconcile_ok(&engine, &mut to_org, &accounts).await.status,
        again_org.status
    );
    assert_eq!(
        reconcile_ok(&engine, &mut to_outsider, &accounts).await.status,
        again_outsider.status
    );
    assert_eq!(again_org.status.statement_ids, first.status.statement_ids);

    // Deleting the first grant removes exactly its half of everything.
    let revoked = engine
        .revoke_grant(&to_org, &GrantAccounts::find(&to_org, &accounts))
        .await;
    assert!(revoked.finished, "{:?}", revoked.error);
    let left = sids(&bucket_policy(&tenant).await);
    let mut expected: BTreeSet<String> = second.status.statement_ids.iter().cloned().collect();
    expected.insert("HandWrittenAuditor".into());
    expected.insert(DENY_INSECURE_TRANSPORT_SID.into());
    assert_eq!(left, expected);
    assert_eq!(
        task_role_policy(&organisation, INLINE_POLICY_NAME).await,
        Some(org_policy),
        "the organisation's statement is not the grant's to remove"
    );
    engine.sessions().counter().reset();
    reconcile_ok(&engine, &mut to_outsider, &accounts).await;
    assert_eq!(
        engine.sessions().counter().snapshot().writes(),
        0,
        "the other grant still holds"
    );
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

/// A key made by hand in `account`: its ARN.
pub(crate) async fn kms_key(account: &str) -> String {
    let kms = aws_sdk_kms::Client::new(&Moto::shared().account_config(account).await);
    kms.create_key()
        .send()
        .await
        .expect("create key")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("key ARN")
}

async fn our_key_grants(account: &str, key: &str, name: &str) -> Vec<(String, BTreeSet<String>)> {
    let kms = aws_sdk_kms::Client::new(&Moto::shared().account_config(account).await);
    kms.list_grants()
        .key_id(key)
        .send()
        .await
        .expect("list grants")
        .grants
        .unwrap_or_default()
        .into_iter()
        .filter(|g| g.name.as_deref() == Some(name))
        .map(|g| {
            (
                g.grantee_principal.unwrap_or_default(),
                g.operations
                    .unwrap_or_default()
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// A tenant with `encryption: Managed`: the grant's KMS grant is made on the key the operator
/// made, found by its alias while the account's status does not name it yet, by status.storage
/// once it does.
#[tokio::test]
async fn a_kms_grant_is_made_on_the_key_the_operator_made() {
    let engine = engine().await;
    let tenant_id = unique_account_id();
    let mut tenant = account_object(&tenant_id, &format!("{NO_DATABASE}storage: {{encryption: Managed}}"));
    converge(&engine, &mut tenant).await;
    let key = tenant
        .status
        .as_ref()
        .and_then(|s| s.storage.as_ref())
        .and_then(|s| s.kms_key_arn.clone())
        .expect("status.storage.kmsKeyArn");
    let grantee = unique_account_id();
    let reader = format!("arn:aws:iam::{grantee}:role/reader");
    let mut grant = grant_object(
        &tenant,
        &format!("grantee: {{accountId: \"{grantee}\", principals: [\"{reader}\"]}}"),
    );
    let names = GrantNames::new(&grant.id.namespace, &grant.id.name);
    let mut unrecorded = tenant.clone();
    if let Some(status) = unrecorded.status.as_mut() {
        status.storage = None;
    }
    reconcile_ok(&engine, &mut grant, &[unrecorded]).await;
    let read_ops: BTreeSet<String> = ["Decrypt", "DescribeKey"].map(String::from).into();
    assert_eq!(
        our_key_grants(&tenant_id, &key, &names.kms_grant()).await,
        vec![(reader.clone(), read_ops)]
    );
    engine.sessions().counter().reset();
    reconcile_ok(&engine, &mut grant, &[tenant]).await;
    assert_eq!(
        engine.sessions().counter().snapshot().writes(),
        0,
        "by status: the same key"
    );
}

#[tokio::test]
async fn a_kms_grant_follows_access_survives_a_crash_and_goes_when_the_grant_expires() {
    let engine = engine().await;
    let tenant_id = unique_account_id();
    let key = kms_key(&tenant_id).await;
    let mut tenant = account_object(&tenant_id, &format!("{NO_DATABASE}storage: {{kmsKeyArn: \"{key}\"}}"));
    converge(&engine, &mut tenant).await;
    let accounts = vec![tenant.clone()];
    let grantee = unique_account_id();
    let reader = format!("arn:aws:iam::{grantee}:role/reader");
    let mut grant = grant_object(
        &tenant,
        &format!(
            "grantee: {{accountId: \"{grantee}\", principals: [\"{reader}\"]}}\nexpiresAt: \"2999-01-01T00:00:00Z\""
        ),
    );
    let names = GrantNames::new(&grant.id.namespace, &grant.id.name);

    // A crash after the bucket policy: the rerun adds the KMS grant once.
    let cut = engine
        .reconcile_grant(
            &grant,
            &GrantAccounts::find(&grant, &accounts),
            ExecuteOptions {
                stop_after_actions: Some(1),
            },
        )
        .await;
    assert!(!cut.ready && cut.applied.len() == 1, "{:?}", cut.applied);
    assert!(our_key_grants(&tenant_id, &key, &names.kms_grant()).await.is_empty());
    let pass = reconcile_ok(&engine, &mut grant, &accounts).await;
    assert!(pass.ready);
    let read_ops: BTreeSet<String> = ["Decrypt", "DescribeKey"].map(String::from).into();
    assert_eq!(
        our_key_grants(&tenant_id, &key, &names.kms_grant()).await,
        vec![(reader.clone(), read_ops)]
    );
    engine.sessions().counter().reset();
    reconcile_ok(&engine, &mut grant, &accounts).await;
    assert_eq!(engine.sessions().counter().snapshot().writes(), 0);

    // ReadWrite: KMS grants cannot change, so the old one is retired and a new one made.
    grant.spec.access = dataplatform_api::Access::ReadWrite;
    grant.generation = Some(2);
    let widened = reconcile_ok(&engine, &mut grant, &accounts).await;
    let kinds: Vec<String> = widened
        .applied
        .iter()
        .map(|a| a.to_string().lines().next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(widened.applied.len(), 3, "{kinds:?}");
    let write_ops: BTreeSet<String> = ["Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey"]
        .map(String::from)
        .into();
    assert_eq!(
        our_key_grants(&tenant_id, &key, &names.kms_grant()).await,
        vec![(reader.clone(), write_ops)]
    );

    // expiresAt passes: statements and KMS grant go, revokedAt is recorded, and stays put.
    grant.spec.expires_at = Some(serde_yaml_ng::from_str("\"2020-01-01T00:00:00Z\"").expect("a past time"));
    grant.generation = Some(3);
    let expired = reconcile_ok(&engine, &mut grant, &accounts).await;
    assert!(!expired.ready);
    assert!(expired.status.revoked_at.is_some());
    assert!(expired.status.statement_ids.is_empty());
    assert_eq!(ready(&expired.status), ("False".to_owned(), "Expired".to_owned()));
    assert!(our_key_grants(&tenant_id, &key, &names.kms_grant()).await.is_empty());
    let left = sids(&bucket_policy(&tenant).await);
    assert!(!left.iter().any(|sid| names.owns_statement(sid)), "{left:?}");
    engine.sessions().counter().reset();
    let later = reconcile_ok(&engine, &mut grant, &accounts).await;
    assert_eq!(engine.sessions().counter().snapshot().writes(), 0);
    assert_eq!(
        later.status.revoked_at, expired.status.revoked_at,
        "revokedAt does not move"
    );
    assert!(!later.ready);
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

#[tokio::test]
async fn bad_grants_are_refused_before_any_call_and_wait_for_their_account() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-hackney", "").await;
    let accounts = vec![tenant.clone()];
    let own = &tenant.spec.account_id;
    let grantee = unique_account_id();
    let elsewhere = unique_account_id();
    let cases = [
        (
            format!(
                "accountRef: {{name: {}, namespace: other}}\ngrantee: {{accountId: \"{grantee}\"}}",
                tenant.id.name
            ),
            "spec.accountRef.namespace",
        ),
        (format!("grantee: {{accountId: \"{own}\"}}"), "spec.grantee.accountId"),
        (
            format!("grantee: {{accountId: \"{grantee}\", principals: [\"arn:aws:iam::{elsewhere}:role/x\"]}}"),
            "spec.grantee.principals[0]",
        ),
        (
            format!("grantee: {{accountId: \"{grantee}\"}}\nprefixes: [\"/exports\"]"),
            "spec.prefixes[0]",
        ),
        (
            format!("grantee: {{accountId: \"{grantee}\"}}\nprefixes: [\"exp*\"]"),
            "spec.prefixes[0]",
        ),
    ];
    for (spec, field) in cases {
        let mut grant = grant_object(&tenant, "grantee: {accountId: \"000000000000\"}");
        let mut yaml: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(&spec).expect("case");
        if !yaml.contains_key("accountRef") {
            yaml.insert(
                "accountRef".into(),
                serde_yaml_ng::from_str(&format!("{{name: {}}}", tenant.id.name)).expect("ref"),
            );
        }
        grant.spec = serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(yaml)).expect("spec");
        engine.sessions().counter().reset();
        let pass = engine
            .reconcile_grant(
                &grant,
                &GrantAccounts::find(&grant, &accounts),
                ExecuteOptions::default(),
            )
            .await;
        assert_eq!(
            engine.sessions().counter().snapshot().total(),
            0,
            "{field}: no AWS call"
        );
        let error = pass.error.expect("refused").to_string();
        assert!(error.contains(field), "{field}: {error}");
        assert_eq!(ready(&pass.status), ("False".into(), "InvalidSpec".into()));
    }

    // An account whose first pass has not named its shared bucket yet, and one that does not
    // exist: the grant waits, and looks at nothing in AWS (the account's status write that names
    // the bucket starts its next pass).
    let mut unreconciled = account_object(&unique_account_id(), NO_DATABASE);
    let waiting = grant_object(&unreconciled, &format!("grantee: {{accountId: \"{grantee}\"}}"));
    for known in [vec![unreconciled.clone()], vec![]] {
        engine.sessions().counter().reset();
        let pass = engine
            .reconcile_grant(
                &waiting,
                &GrantAccounts::find(&waiting, &known),
                ExecuteOptions::default(),
            )
            .await;
        let calls = engine.sessions().counter().snapshot();
        assert_eq!(calls.total(), 0, "no AWS call: {calls:?}");
        assert_eq!(ready(&pass.status), ("False".into(), "DependencyNotReady".into()));
        assert!(pass.requeue_after.is_some(), "a waiting grant looks again");
    }
    let message = ready_message(&engine, &waiting, &unreconciled).await;
    assert!(message.contains("first pass creates it"), "{message}");

    // Its status names the bucket, which is not there: the reads find it missing, nothing is written.
    let bucket = shared_bucket(&unreconciled);
    unreconciled.status = Some(dataplatform_api::DataPlatformAccountStatus {
        buckets: Some(dataplatform_api::account::BucketsStatus {
            shared: Some(dataplatform_api::account::BucketStatus {
                name: bucket.clone(),
                arn: format!("arn:aws:s3:::{bucket}"),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let message = ready_message(&engine, &waiting, &unreconciled).await;
    assert!(
        message.contains(&bucket) && message.contains("does not exist yet"),
        "{message}"
    );

    // The bucket exists under the grantor's name but is not ours (yet): still nothing is written.
    create_bucket(
        &s3_client(&Moto::shared().account_config(&unreconciled.spec.account_id).await),
        &bucket,
    )
    .await;
    let message = ready_message(&engine, &waiting, &unreconciled).await;
    assert!(
        message.contains("does not carry the dataplatform.io/owner tag"),
        "{message}"
    );
    assert!(bucket_policy_text(&unreconciled).await.is_none());
}

/// Reconciles `grant` (expecting it to wait) and returns its Ready message.
async fn ready_message(engine: &Engine, grant: &GrantObject, grantor: &AccountObject) -> String {
    engine.sessions().counter().reset();
    let accounts = [grantor.clone()];
    let pass = engine
        .reconcile_grant(grant, &GrantAccounts::find(grant, &accounts), ExecuteOptions::default())
        .await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    let condition = conditions::find(&pass.status.conditions, READY).expect("Ready");
    assert_eq!(condition.reason, "DependencyNotReady", "{}", condition.message);
    condition.message.clone()
}

/// A grant needs its grantor's shared bucket, not the whole account Ready: it is made and Ready while
/// the account's services have no running task, and kept in place while they still have none.
#[tokio::test]
async fn a_grant_is_made_and_kept_while_its_account_has_no_running_tasks() {
    let engine = engine().await;
    let account_id = unique_account_id();
    let services = "services:\n  - {name: daemon, image: dagster:1.9.0, cpu: 256, memory: 512, replicas: 1}\n";
    let mut tenant = account_object(
        &account_id,
        &format!("{NO_DATABASE}{}{services}", default_network_yaml(&account_id).await),
    );
    for _ in 0..3 {
        let pass = engine.reconcile(&tenant, Default::default()).await;
        assert!(pass.error.is_none(), "{:?}", pass.error);
        tenant.status = Some(pass.status.clone());
    }
    let account_ready = conditions::find(&tenant.status.as_ref().expect("status").conditions, READY).expect("Ready");
    assert_eq!(
        account_ready.status, "False",
        "moto runs no task: the account is not Ready"
    );

    let mut grant = grant_object(&tenant, "grantee: {accountId: \"999999999999\"}");
    let accounts = vec![tenant.clone()];
    let pass = reconcile_ok(&engine, &mut grant, &accounts).await;
    assert!(pass.ready, "{:?}", pass.status.conditions);
    assert_eq!(ready(&pass.status), ("True".into(), "Available".into()));
    let names = GrantNames::new(&grant.id.namespace, &grant.id.name);
    let owned = |policy: &Value| sids(policy).into_iter().filter(|sid| names.owns_statement(sid)).count();
    assert!(owned(&bucket_policy(&tenant).await) > 0);

    // Someone removes the bucket policy; the account still runs no task, and the grant puts it back.
    let s3 = s3_client(&Moto::shared().account_config(&account_id).await);
    s3.delete_bucket_policy()
        .bucket(shared_bucket(&tenant))
        .send()
        .await
        .expect("moto DeleteBucketPolicy");
    let pass = reconcile_ok(&engine, &mut grant, &accounts).await;
    assert!(!pass.applied.is_empty() && pass.ready, "{:?}", pass.status.conditions);
    assert!(owned(&bucket_policy(&tenant).await) > 0);
}

#[tokio::test]
async fn deleting_an_account_first_revokes_the_grants_that_name_it() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-islington", "").await;
    let organisation = ready_account(&engine, "platform", "tier: Organisation\n").await;
    let accounts = vec![tenant.clone(), organisation.clone()];
    let org_id = organisation.spec.account_id.clone();
    let mut grant = grant_object(&tenant, &format!("grantee: {{accountId: \"{org_id}\"}}"));
    reconcile_ok(&engine, &mut grant, &accounts).await;
    let names = GrantNames::new(&grant.id.namespace, &grant.id.name);

    // The organisation goes first: it holds nothing of the grant, whose statements stay.
    let deleted = engine.delete(&organisation, std::slice::from_ref(&grant)).await;
    assert!(deleted.finished, "{:?}", deleted.error);
    assert!(
        sids(&bucket_policy(&tenant).await)
            .iter()
            .any(|sid| names.owns_statement(sid))
    );

    // The tenant (Retain): its grants' statements go, the bucket stays.
    let deleted = engine.delete(&tenant, std::slice::from_ref(&grant)).await;
    assert!(deleted.finished, "{:?}", deleted.error);
    let left = sids(&bucket_policy(&tenant).await);
    assert!(!left.iter().any(|sid| names.owns_statement(sid)), "{left:?}");
    assert!(left.contains(DENY_INSECURE_TRANSPORT_SID));
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

/// A grant whose spec became invalid after it was carried out (a prefix with a wildcard, as a
/// CLI file can hold) is still revoked: its statements are found by the Sids its name derives.
#[tokio::test]
async fn a_grant_whose_spec_became_invalid_is_still_revoked() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-hackney", "").await;
    let accounts = vec![tenant.clone()];
    let grantee = unique_account_id();
    let mut grant = grant_object(&tenant, &format!("grantee: {{accountId: \"{grantee}\"}}"));
    let names = GrantNames::new(&grant.id.namespace, &grant.id.name);
    reconcile_ok(&engine, &mut grant, &accounts).await;
    assert!(
        sids(&bucket_policy(&tenant).await)
            .iter()
            .any(|sid| names.owns_statement(sid))
    );

    grant.spec.prefixes = vec!["exports/*".into()];
    assert!(
        grant
            .spec
            .validate(&grant.id.namespace, Some(&tenant.spec.account_id))
            .is_err()
    );
    let revoked = engine
        .revoke_grant(&grant, &GrantAccounts::find(&grant, &accounts))
        .await;
    assert!(revoked.finished, "{:?}", revoked.error);
    let left = bucket_policy_text(&tenant)
        .await
        .map(|t| serde_json::from_str::<Value>(&t).expect("JSON"));
    assert!(
        left.as_ref()
            .is_none_or(|p| !sids(p).iter().any(|sid| names.owns_statement(sid))),
        "{left:?}"
    );
}

/// A grant whose `accountRef` names an account that no longer exists (its object was removed with
/// its finalizer stripped) still finishes on deletion: the grantor's half cannot be reached and is
/// named for a person to check.
#[tokio::test]
async fn a_grant_whose_account_is_gone_finishes_and_names_what_it_could_not_reach() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-haringey", "").await;
    let organisation = ready_account(&engine, "platform-haringey", "tier: Organisation\n").await;
    let org_id = organisation.spec.account_id.clone();
    let mut grant = grant_object(&tenant, &format!("grantee: {{accountId: \"{org_id}\"}}"));
    let names = GrantNames::new(&grant.id.namespace, &grant.id.name);
    reconcile_ok(&engine, &mut grant, &[tenant.clone(), organisation.clone()]).await;

    let only_the_organisation = vec![organisation.clone()];
    engine.sessions().counter().reset();
    let revoked = engine
        .revoke_deleted_grant(&grant, &GrantAccounts::find(&grant, &only_the_organisation))
        .await;
    assert!(revoked.finished, "{:?} {:?}", revoked.error, revoked.waiting);
    assert_eq!(
        engine.sessions().counter().snapshot().writes(),
        0,
        "nothing to write anywhere"
    );
    let kept = revoked.kept.join("; ");
    assert!(
        kept.contains(&format!(
            "DataPlatformAccount la-haringey/{} (spec.accountRef) no longer exists",
            tenant.id.name
        )) && kept.contains(&shared_bucket(&tenant)),
        "{kept}"
    );
    // The tenant's statements were out of reach: still there, as the note says.
    assert!(
        sids(&bucket_policy(&tenant).await)
            .iter()
            .any(|sid| names.owns_statement(sid) && kept.contains(sid.as_str()))
    );
}

/// Before grants shared one fixed statement, each wrote its own inline policy on the Organisation's
/// task role: 80 of them at 40 tenants, past IAM's quota (issue 30). The Organisation's pass removes
/// any such policy it finds, and nothing else.
#[tokio::test]
async fn an_organisation_removes_the_per_grant_policies_an_earlier_version_wrote() {
    let engine = engine().await;
    let mut organisation = ready_account(&engine, "platform-legacy", "tier: Organisation\n").await;
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(&organisation.spec.account_id).await);
    let role = AccountNames::new(
        &organisation.id.namespace,
        &organisation.id.name,
        &organisation.spec.account_id,
    )
    .task_role();
    let legacy = GrantNames::new("la-camden", "to-region").grantee_policy();
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    for name in [legacy.as_str(), "written-by-hand"] {
        iam.put_role_policy()
            .role_name(&role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .expect("moto PutRolePolicy");
    }
    let plan = engine.plan(&organisation).await.expect("plan").diff.plan.to_string();
    assert!(plan.contains(&format!("inlinePolicies.{legacy}")), "{plan}");
    converge(&engine, &mut organisation).await;
    assert_eq!(task_role_policy(&organisation, &legacy).await, None);
    assert!(task_role_policy(&organisation, "written-by-hand").await.is_some());
}
