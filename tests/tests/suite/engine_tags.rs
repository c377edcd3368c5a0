//! Tags against moto: `spec.tags` reach every kind of resource the operator tags, each with the
//! record of the keys it manages (dataplatform.io/managed-tags); a key removed from `spec.tags` is
//! removed from every one of them, and tags someone else set stay.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::{MANAGED_TAGS_TAG, owner_tag_value};
use dataplatform_engine::AccountObject;
use dataplatform_tests::{account_object, boto3, converge, converge_running, engine, unique_account_id, unique_name};

type Tagged = Vec<(String, String, BTreeMap<String, String>)>;

/// (kind, id, tags) of every resource `object` owns, read with boto3 (tests/support/owned_tags.py).
fn owned(object: &AccountObject, by_hand: Option<(&str, &str)>) -> Tagged {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/owned_tags.py");
    let owner = owner_tag_value(&object.id.namespace, &object.id.name);
    let tag = match by_hand {
        Some((key, value)) => format!("m['tag_by_hand'](client, '{owner}', '{key}', '{value}')\n"),
        None => String::new(),
    };
    let printed = boto3(
        &object.spec.account_id,
        &format!(
            "import json, runpy\nm = runpy.run_path('{script}')\n{tag}print(json.dumps(m['owned'](client, '{owner}')))"
        ),
    );
    serde_json::from_str(&printed).expect("owned_tags.py prints JSON")
}

fn kinds(tagged: &Tagged) -> BTreeSet<&str> {
    tagged.iter().map(|(kind, _, _)| kind.as_str()).collect()
}

fn tags_spec(tags: &str) -> String {
    format!("tags: {{{tags}}}\n")
}

#[tokio::test]
async fn a_key_removed_from_spec_tags_leaves_every_resource_and_tags_of_others_stay() {
    let engine = engine().await;
    let group = format!("/dataplatform/{}", unique_name("tags"));
    let tenant_spec = format!(
        "network: {{vpc: {{cidr: 10.41.0.0/16}}}}\nlogging: {{logGroup: {group}}}\nservices:\n\
         - {{name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080, expose: {{hosts: [files.example.org]}}}}\n"
    );
    let mut tenant = account_object(
        &unique_account_id(),
        &format!("{tenant_spec}{}", tags_spec("team: data, cost-centre: cc-17")),
    );
    let mut organisation = account_object(
        &unique_account_id(),
        &format!(
            "tier: Organisation\ndatabase: {{enabled: false}}\nregistry: {{repositories: [{}]}}\n{}",
            unique_name("dagster"),
            tags_spec("team: data, cost-centre: cc-17")
        ),
    );
    converge_running(&engine, &mut tenant).await;
    converge(&engine, &mut organisation).await;

    let before: Tagged = [
        owned(&tenant, Some(("keep-me", "yes"))),
        owned(&organisation, Some(("keep-me", "yes"))),
    ]
    .concat();
    let every_kind: BTreeSet<&str> = [
        "s3:bucket",
        "iam:role",
        "rds:cluster",
        "rds:instance",
        "rds:subnet-group",
        "ecs:cluster",
        "ecs:service",
        "ec2:vpc",
        "ec2:subnet",
        "ec2:security-group",
        "ec2:route-table",
        "elb:load-balancer",
        "elb:target-group",
        "logs:group",
        "ecr:repository",
    ]
    .into();
    assert!(
        kinds(&before).is_superset(&every_kind),
        "missing {:?}",
        every_kind.difference(&kinds(&before))
    );
    for (kind, id, tags) in &before {
        assert_eq!(
            tags.get("cost-centre").map(String::as_str),
            Some("cc-17"),
            "{kind} {id}: {tags:?}"
        );
        assert_eq!(
            tags.get(MANAGED_TAGS_TAG).map(String::as_str),
            Some("cost-centre team"),
            "{kind} {id}"
        );
    }

    // cost-centre leaves the spec: plan names the removal, a pass makes it everywhere.
    for object in [&mut tenant, &mut organisation] {
        object.spec.tags.remove("cost-centre");
        object.generation = object.generation.map(|g| g + 1);
        let plan = engine.plan(object).await.expect("plan");
        assert!(
            plan.diff
                .plan
                .actions
                .iter()
                .flat_map(|a| &a.changes)
                .any(|c| c.field == "tags.cost-centre" && c.to == "(none)"),
            "{:#?}",
            plan.diff.plan.actions
        );
    }
    converge_running(&engine, &mut tenant).await;
    converge(&engine, &mut organisation).await;

    let after: Tagged = [owned(&tenant, None), owned(&organisation, None)].concat();
    assert_eq!(kinds(&after), kinds(&before), "nothing was made or lost");
    for (kind, id, tags) in &after {
        assert!(!tags.contains_key("cost-centre"), "{kind} {id}: {tags:?}");
        assert_eq!(tags.get("team").map(String::as_str), Some("data"), "{kind} {id}");
        assert_eq!(
            tags.get("keep-me").map(String::as_str),
            Some("yes"),
            "someone's tag stays on {kind} {id}"
        );
        assert_eq!(
            tags.get(MANAGED_TAGS_TAG).map(String::as_str),
            Some("team"),
            "{kind} {id}"
        );
    }
}
