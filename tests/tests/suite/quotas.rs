//! AWS's quotas against moto, which enforces none of them (issue 30): at each boundary what fits is
//! written, and the write that would not fit is refused before anything of its pass is sent, with
//! `QuotaExceeded` naming the quota, the count and the fix.

use dataplatform_api::SharedBucketGrantStatus;
use dataplatform_api::conditions::{self, READY, SYNCED};
use dataplatform_api::names::{AccountNames, GrantNames};
use dataplatform_aws::quotas::{ECR_REPOSITORY_POLICY, IAM_ROLE_INLINE_POLICIES, KMS_KEY_POLICY, S3_BUCKET_POLICY};
use dataplatform_engine::{AccountObject, Engine, ExecuteOptions, GrantAccounts, GrantObject, Reconciled};
use dataplatform_tests::{Moto, account_object, converge, converge_running, engine, unique_account_id, unique_name};

use crate::engine_grants::{NO_DATABASE, bucket_policy_text, grant_object, ready_account, reconcile_ok, sids};

fn condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    kind: &str,
) -> (String, String, String) {
    let c = conditions::find(conditions, kind).expect(kind);
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// Reconciles `object` expecting a quota refusal: nothing of the pass written, Synced and Ready
/// False with reason QuotaExceeded. Returns the message.
async fn refused_before_any_write(engine: &Engine, object: &AccountObject) -> String {
    engine.sessions().counter().reset();
    let refused = engine.reconcile(object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(
        calls.writes(),
        0,
        "nothing of the pass is written: {:?}",
        calls.write_operations()
    );
    let (status, reason, message) = condition(&refused.status.conditions, SYNCED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "QuotaExceeded"),
        "{message}"
    );
    assert_eq!(condition(&refused.status.conditions, READY).1, "QuotaExceeded");
    message
}

/// A grant of six 600-character prefixes: about 7.5 KB of bucket policy, so two fit in 20 KB and a
/// third does not.
fn large_grant(grantor: &AccountObject) -> GrantObject {
    let prefixes: Vec<String> = (0..6).map(|i| format!("\"p{i}-{}/\"", "a".repeat(594))).collect();
    grant_object(
        grantor,
        &format!(
            "grantee: {{accountId: \"{}\"}}\nprefixes: [{}]",
            unique_account_id(),
            prefixes.join(", ")
        ),
    )
}

async fn reconcile_grant(
    engine: &Engine,
    grant: &GrantObject,
    accounts: &[AccountObject],
) -> Reconciled<SharedBucketGrantStatus> {
    engine
        .reconcile_grant(grant, &GrantAccounts::find(grant, accounts), ExecuteOptions::default())
        .await
}

#[tokio::test]
async fn a_shared_bucket_takes_grants_until_its_policy_would_pass_s3s_20_kb_and_refuses_the_next_whole() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-barnet", "").await;
    let accounts = vec![tenant.clone()];
    let (mut first, mut second, mut third) = (large_grant(&tenant), large_grant(&tenant), large_grant(&tenant));
    reconcile_ok(&engine, &mut first, &accounts).await;
    reconcile_ok(&engine, &mut second, &accounts).await;
    let two = bucket_policy_text(&tenant).await.expect("policy");
    let size = S3_BUCKET_POLICY.measure(&two);
    assert!(
        size <= S3_BUCKET_POLICY.default && size > 15_000,
        "two grants fit: {size} bytes"
    );

    // The plan says so, and the pass writes nothing, not even the KMS grant or a part of the policy.
    let planned = engine
        .plan_grant(&third, &GrantAccounts::find(&third, &accounts), true)
        .await
        .expect("plan");
    assert_eq!(planned.plan.quota_exceeded.len(), 1, "{:?}", planned.plan);
    engine.sessions().counter().reset();
    let refused = reconcile_grant(&engine, &third, &accounts).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    assert_eq!(bucket_policy_text(&tenant).await.as_deref(), Some(two.as_str()));
    let (status, reason, message) = condition(&refused.status.conditions, SYNCED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "QuotaExceeded"),
        "{message}"
    );
    for part in [
        "s3.bucket-policy",
        "20480",
        "bytes",
        "fewer grantees",
        &tenant_bucket(&tenant),
    ] {
        assert!(message.contains(part), "{message} names {part}");
    }
    assert_eq!(condition(&refused.status.conditions, READY).1, "QuotaExceeded");
    assert!(refused.requeue_after.is_none(), "not retried soon: only a change helps");
    assert!(!refused.ready);

    // Revoking one grant makes room: the third fits now, and the first's statements are gone.
    let revoked = engine
        .revoke_grant(&first, &GrantAccounts::find(&first, &accounts))
        .await;
    assert!(revoked.finished, "{:?}", revoked.error);
    let pass = reconcile_ok(&engine, &mut third, &accounts).await;
    assert!(pass.ready);
    let policy: serde_json::Value =
        serde_json::from_str(&bucket_policy_text(&tenant).await.expect("policy")).expect("JSON");
    let owned_by = |grant: &GrantObject| {
        let names = GrantNames::new(&grant.id.namespace, &grant.id.name);
        sids(&policy).iter().filter(|sid| names.owns_statement(sid)).count()
    };
    assert_eq!((owned_by(&first), owned_by(&second), owned_by(&third)), (0, 2, 2));
}

fn tenant_bucket(tenant: &AccountObject) -> String {
    crate::engine_grants::shared_bucket(tenant)
}

#[tokio::test]
async fn a_registry_names_its_organisation_instead_of_children_ecr_could_not_hold() {
    let engine = engine().await;
    let org_id = unique_account_id();
    let repository = unique_name("dagster");
    let mut org = account_object(
        &org_id,
        &format!("tier: Organisation\n{NO_DATABASE}registry: {{repositories: [{repository}]}}"),
    );
    // 400 Children at about 33 characters each: past ECR's 10,240.
    org.child_accounts = (0..400).map(|i| format!("{:012}", 500_000_000_000_u64 + i)).collect();
    let message = refused_before_any_write(&engine, &org).await;
    for part in [
        "ecr.repository-policy",
        "400 Child accounts",
        "10240",
        "spec.registry.organizationId",
    ] {
        assert!(message.contains(part), "{message} names {part}");
    }

    org.spec.registry.as_mut().expect("registry").organization_id = Some("o-a1b2c3d4e5".into());
    converge(&engine, &mut org).await;
    let ecr = aws_sdk_ecr::Client::new(&Moto::shared().account_config(&org_id).await);
    let text = ecr
        .get_repository_policy()
        .repository_name(&repository)
        .send()
        .await
        .expect("policy")
        .policy_text
        .expect("text");
    assert!(
        text.contains("aws:PrincipalOrgID") && text.contains("o-a1b2c3d4e5"),
        "{text}"
    );
    assert!(!text.contains("500000000000"), "no Child is named: {text}");
    assert!(ECR_REPOSITORY_POLICY.measure(&text) < 1_000, "{text}");
}

/// A Secrets Manager ARN of a secret named with `len` characters.
fn secret_arn(account: &str, len: usize, i: usize) -> String {
    format!(
        "arn:aws:secretsmanager:eu-west-2:{account}:secret:s{i:02}{}",
        "x".repeat(len - 3)
    )
}

fn service_with_secrets(account: &str, count: usize) -> String {
    let secrets: Vec<String> = (0..count)
        .map(|i| format!("{{name: S{i}, secretArn: \"{}\"}}", secret_arn(account, 200, i)))
        .collect();
    format!(
        "services:\n  - {{name: web, image: nginx:1.27, cpu: 256, memory: 512, replicas: 1, secrets: [{}]}}\n",
        secrets.join(", ")
    )
}

#[tokio::test]
async fn a_role_whose_inline_policies_would_pass_iams_quota_is_refused_before_anything_is_written() {
    let engine = engine().await;
    let account_id = unique_account_id();
    let network = dataplatform_tests::default_network_yaml(&account_id).await;
    // Twenty secrets of 200-character names: each names two ARNs (with and without AWS's suffix).
    let spec = |secrets: usize| {
        account_object(
            &account_id,
            &format!("{NO_DATABASE}{network}{}", service_with_secrets(&account_id, secrets)),
        )
        .spec
    };
    let mut tenant = account_object(&account_id, NO_DATABASE);
    tenant.spec = spec(20);
    let message = refused_before_any_write(&engine, &tenant).await;
    let role = AccountNames::new(&tenant.id.namespace, &tenant.id.name, &account_id).task_execution_role();
    for part in [
        "iam.role-inline-policies",
        "10240",
        role.as_str(),
        "spec.services[].secrets",
    ] {
        assert!(message.contains(part), "{message} names {part}");
    }

    // Ten fit; the account's quota was read once, whatever the passes.
    tenant.spec = spec(10);
    converge_running(&engine, &mut tenant).await;
    assert_eq!(engine.sessions().counter().snapshot().of("GetAccountSummary"), 1);

    // A policy written by hand on the role shares its quota: a change that would pass it is refused.
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(&account_id).await);
    let ours = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(dataplatform_aws::iam::INLINE_POLICY_NAME)
        .send()
        .await
        .expect("our policy");
    let used = IAM_ROLE_INLINE_POLICIES.measure(&dataplatform_tests::percent_decoded(ours.policy_document()));
    let resources: Vec<String> = (0..(IAM_ROLE_INLINE_POLICIES.default - used) / 40)
        .map(|i| format!("\"arn:aws:s3:::hand-{i:05}-xxxxxxxxxxxx\""))
        .collect();
    let hand = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
        resources.join(",")
    );
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("written-by-hand")
        .policy_document(&hand)
        .send()
        .await
        .expect("moto takes any size");
    tenant.spec = spec(12);
    refused_before_any_write(&engine, &tenant).await;
    iam.delete_role_policy()
        .role_name(&role)
        .policy_name("written-by-hand")
        .send()
        .await
        .expect("remove the hand-written policy");
    converge_running(&engine, &mut tenant).await;
}

/// A policy document of exactly `size` as `quota` counts it, allowing `action` on `resource`.
fn document_of_size(
    quota: &dataplatform_aws::Quota,
    size: usize,
    action: &str,
    resource: &str,
    principal: bool,
) -> String {
    let principal = if principal { r#""Principal":"*","# } else { "" };
    let frame = |sid: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow",{principal}"Action":"{action}","Resource":"{resource}"}}]}}"#
        )
    };
    let text = frame(&"a".repeat(size - quota.measure(&frame(""))));
    assert_eq!(quota.measure(&text), size);
    text
}

/// `write` of a document one past `quota` is refused before it is sent; the last that fits is sent.
async fn refuses_one_past_and_sends_the_last(
    counter: &dataplatform_aws::CallCounter,
    quota: &dataplatform_aws::Quota,
    operation: &str,
    document: impl Fn(usize) -> String,
    write: impl AsyncFn(String) -> Result<(), dataplatform_aws::AwsError>,
) {
    counter.reset();
    let refused = write(document(quota.default + 1)).await.expect_err("one past");
    assert_eq!(refused.class, dataplatform_aws::ErrorClass::QuotaExceeded, "{refused}");
    assert_eq!(counter.snapshot().of(operation), 0, "{operation} was sent");
    write(document(quota.default)).await.expect("the last that fits");
    assert_eq!(counter.snapshot().of(operation), 1);
}

/// The adapters check every document themselves, whoever calls them: the engine's plan-time checks
/// are not the only guard (a grant racing another onto one bucket is measured again at the write).
#[tokio::test]
async fn a_document_past_its_quota_is_never_sent_by_the_adapters() {
    let engine = engine().await;
    let account = account_object(&unique_account_id(), NO_DATABASE);
    let config = Moto::shared().account_config(&account.spec.account_id).await;
    let session = engine.sessions().session(&account.target()).await;
    let counter = engine.sessions().counter();

    let bucket = unique_name("quota");
    dataplatform_tests::create_bucket(&dataplatform_tests::s3_client(&config), &bucket).await;
    let objects = format!("arn:aws:s3:::{bucket}/*");
    refuses_one_past_and_sends_the_last(
        counter,
        &S3_BUCKET_POLICY,
        "PutBucketPolicy",
        |size| document_of_size(&S3_BUCKET_POLICY, size, "s3:GetObject", &objects, true),
        async |document| session.s3().put_policy(&bucket, &document).await,
    )
    .await;

    let repository = unique_name("quota");
    let ecr = aws_sdk_ecr::Client::new(&config);
    ecr.create_repository()
        .repository_name(&repository)
        .send()
        .await
        .expect("moto CreateRepository");
    refuses_one_past_and_sends_the_last(
        counter,
        &ECR_REPOSITORY_POLICY,
        "SetRepositoryPolicy",
        |size| document_of_size(&ECR_REPOSITORY_POLICY, size, "ecr:BatchGetImage", "*", true),
        async |document| session.ecr().set_policy(&repository, &document).await,
    )
    .await;

    let role = unique_name("quota");
    let iam = aws_sdk_iam::Client::new(&config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("moto CreateRole");
    refuses_one_past_and_sends_the_last(
        counter,
        &IAM_ROLE_INLINE_POLICIES,
        "PutRolePolicy",
        |size| document_of_size(&IAM_ROLE_INLINE_POLICIES, size, "s3:GetObject", "*", false),
        async |document| session.iam().put_inline_policy(&role, "big", &document).await,
    )
    .await;
    assert!(
        iam.get_role_policy()
            .role_name(&role)
            .policy_name("big")
            .send()
            .await
            .is_ok()
    );

    let key = aws_sdk_kms::Client::new(&config)
        .create_key()
        .send()
        .await
        .expect("moto CreateKey")
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .expect("key id");
    refuses_one_past_and_sends_the_last(
        counter,
        &KMS_KEY_POLICY,
        "PutKeyPolicy",
        |size| document_of_size(&KMS_KEY_POLICY, size, "kms:Decrypt", "*", true),
        async |document| session.kms().put_key_policy(&key, &document).await,
    )
    .await;
    counter.reset();
    let refused = session
        .kms()
        .create_key(
            "big",
            &document_of_size(&KMS_KEY_POLICY, KMS_KEY_POLICY.default + 1, "kms:Decrypt", "*", true),
            &Default::default(),
        )
        .await
        .expect_err("one past");
    assert_eq!(refused.class, dataplatform_aws::ErrorClass::QuotaExceeded, "{refused}");
    assert_eq!(counter.snapshot().of("CreateKey"), 0, "CreateKey was sent");

    // ACM: ten names a certificate by default; the eleventh is refused before the request.
    let names = |n: usize| (1..n).map(|i| format!("h{i}.camden.example.org")).collect::<Vec<_>>();
    counter.reset();
    let refused = session
        .acm()
        .request("camden.example.org", &names(11), "eleven", &Default::default())
        .await
        .expect_err("one past");
    assert_eq!(refused.class, dataplatform_aws::ErrorClass::QuotaExceeded, "{refused}");
    assert_eq!(
        counter.snapshot().of("RequestCertificate"),
        0,
        "RequestCertificate was sent"
    );
    session
        .acm()
        .request("camden.example.org", &names(10), "ten", &Default::default())
        .await
        .expect("the last that fits is sent");
    assert_eq!(counter.snapshot().of("RequestCertificate"), 1);
}

/// A bucket policy already past S3's quota (moto takes one; AWS never holds one) is not rewritten
/// by a revocation, and the revocation does not report itself finished while the grant's statements
/// are still there.
#[tokio::test]
async fn a_revocation_that_cannot_rewrite_the_policy_does_not_finish() {
    let engine = engine().await;
    let tenant = ready_account(&engine, "la-brent", "").await;
    let accounts = vec![tenant.clone()];
    let mut grant = large_grant(&tenant);
    reconcile_ok(&engine, &mut grant, &accounts).await;
    let mut policy: serde_json::Value =
        serde_json::from_str(&bucket_policy_text(&tenant).await.expect("policy")).expect("JSON");
    let bucket = tenant_bucket(&tenant);
    let by_hand = serde_json::json!({"Sid": "WrittenByHand", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/{}", "x".repeat(21_000))});
    policy["Statement"].as_array_mut().expect("statements").push(by_hand);
    dataplatform_tests::s3_client(&Moto::shared().account_config(&tenant.spec.account_id).await)
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .expect("moto takes any size");
    let revoked = engine
        .revoke_grant(&grant, &GrantAccounts::find(&grant, &accounts))
        .await;
    assert!(!revoked.finished, "the grant's statements are still there");
    let error = revoked.error.expect("refused").to_string();
    assert!(error.contains("s3.bucket-policy"), "{error}");
}
