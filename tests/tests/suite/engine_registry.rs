//! The organisation's ECR repositories: scan on push, optional immutable tags, and a pull
//! statement that follows the managed Child accounts while people's statements stay.

use std::collections::BTreeSet;

use dataplatform_api::names::REGISTRY_PULL_SID;
use dataplatform_tests::{Moto, account_object, converge, engine, unique_account_id, unique_name};
use serde_json::{Value, json};

async fn ecr(account: &str) -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(&Moto::shared().account_config(account).await)
}

async fn repository_policy(account: &str, repository: &str) -> Value {
    let text = ecr(account)
        .await
        .get_repository_policy()
        .repository_name(repository)
        .send()
        .await
        .ok()
        .and_then(|p| p.policy_text)
        .unwrap_or_else(|| "{}".into());
    serde_json::from_str(&text).expect("policy JSON")
}

fn pullers(policy: &Value) -> BTreeSet<String> {
    let statement = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["Sid"] == REGISTRY_PULL_SID);
    match statement.map(|s| &s["Principal"]["AWS"]) {
        Some(Value::String(one)) => [one.clone()].into(),
        Some(Value::Array(many)) => many.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect(),
        _ => BTreeSet::new(),
    }
}

fn root(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

#[tokio::test]
async fn repositories_let_every_child_pull_and_follow_children_as_they_come_and_go() {
    let engine = engine().await;
    let org_id = unique_account_id();
    let (first_child, second_child) = (unique_account_id(), unique_account_id());
    let repositories = [unique_name("dagster"), unique_name("code-server")];
    let mut org = account_object(
        &org_id,
        &format!(
            "tier: Organisation\ndatabase: {{enabled: false}}\nregistry: {{repositories: [{}, {}]}}",
            repositories[0], repositories[1]
        ),
    );
    org.child_accounts = [first_child.clone(), second_child.clone()].into();
    converge(&engine, &mut org).await;

    let described = ecr(&org_id)
        .await
        .describe_repositories()
        .send()
        .await
        .expect("describe");
    for name in &repositories {
        let repository = described
            .repositories()
            .iter()
            .find(|r| r.repository_name() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} created"));
        assert!(
            repository
                .image_scanning_configuration()
                .is_some_and(|c| c.scan_on_push())
        );
        assert_eq!(
            pullers(&repository_policy(&org_id, name).await),
            [root(&first_child), root(&second_child)].into()
        );
    }

    // A statement added by hand stays through every change below.
    let mut policy = repository_policy(&org_id, &repositories[0]).await;
    policy["Statement"].as_array_mut().expect("statements").push(json!({
        "Sid": "HandWrittenCi", "Effect": "Allow", "Principal": {"AWS": root(&unique_account_id())},
        "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload"]}));
    ecr(&org_id)
        .await
        .set_repository_policy()
        .repository_name(&repositories[0])
        .policy_text(policy.to_string())
        .send()
        .await
        .expect("hand-written statement");

    engine.sessions().counter().reset();
    let steady = engine.reconcile(&org, Default::default()).await;
    assert!(steady.applied.is_empty(), "{:?}", steady.applied);
    assert_eq!(engine.sessions().counter().snapshot().writes(), 0);

    // A child leaves: the pull statement of each repository follows, nothing else changes.
    org.child_accounts = [first_child.clone()].into();
    let pass = engine.reconcile(&org, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let updated: Vec<String> = pass.applied.iter().map(|a| a.resource.clone()).collect();
    assert_eq!(
        updated,
        repositories.iter().map(|r| format!("ecr:{r}")).collect::<Vec<_>>()
    );
    let first_policy = repository_policy(&org_id, &repositories[0]).await;
    assert_eq!(pullers(&first_policy), [root(&first_child)].into());
    assert!(first_policy.to_string().contains("HandWrittenCi"));

    // No child left: our statement goes, the hand-written one stays.
    org.child_accounts.clear();
    let pass = engine.reconcile(&org, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let first_policy = repository_policy(&org_id, &repositories[0]).await;
    assert!(pullers(&first_policy).is_empty());
    assert!(first_policy.to_string().contains("HandWrittenCi"));

    // Immutable tags when the spec asks.
    org.spec.registry.as_mut().expect("registry").immutable_tags = true;
    org.generation = Some(2);
    let pass = engine.reconcile(&org, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let described = ecr(&org_id)
        .await
        .describe_repositories()
        .send()
        .await
        .expect("describe");
    assert!(
        described
            .repositories()
            .iter()
            .all(|r| r.image_tag_mutability().map(|m| m.as_str()) == Some("IMMUTABLE"))
    );
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

/// status.registry names each repository's ARN and URI (what `docker push` needs); one that left
/// the spec is kept, listed as no longer managed, and `plan` says so.
#[tokio::test]
async fn the_registry_reports_its_uris_and_what_left_the_spec() {
    let engine = engine().await;
    let org_id = unique_account_id();
    let (kept, dropped) = (unique_name("dagster"), unique_name("old"));
    let mut org = account_object(
        &org_id,
        &format!("tier: Organisation\ndatabase: {{enabled: false}}\nregistry: {{repositories: [{kept}, {dropped}]}}"),
    );
    converge(&engine, &mut org).await;
    let registry = org.status.clone().and_then(|s| s.registry).expect("status.registry");
    let uris: Vec<(String, String)> = registry
        .repositories
        .iter()
        .map(|r| (r.name.clone(), r.uri.clone()))
        .collect();
    assert_eq!(uris.len(), 2, "{uris:?}");
    for (name, uri) in &uris {
        assert!(uri.ends_with(&format!("/{name}")) && uri.contains(".dkr.ecr."), "{uri}");
    }

    org.spec.registry.as_mut().expect("registry").repositories = vec![kept.clone()];
    org.generation = Some(2);
    let plan = engine.plan(&org).await.expect("plan");
    assert!(plan.diff.plan.is_empty(), "nothing is deleted: {}", plan.diff.plan);
    assert!(
        plan.diff
            .notes
            .iter()
            .any(|n| n.contains(&dropped) && n.contains("no longer managed")),
        "{:?}",
        plan.diff.notes
    );
    let settled = converge(&engine, &mut org).await;
    let registry = settled.status.registry.expect("status.registry");
    assert_eq!(registry.no_longer_managed, std::slice::from_ref(&dropped));
    assert_eq!(registry.repositories.len(), 1);
    let still = ecr(&org_id)
        .await
        .describe_repositories()
        .repository_names(&dropped)
        .send()
        .await;
    assert!(still.is_ok(), "the dropped repository is kept");
}
