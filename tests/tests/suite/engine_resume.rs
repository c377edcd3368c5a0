//! A run cut short after any action, then resumed, ends in the same state as an uninterrupted one:
//! no second bucket, role, cluster or instance, and a steady state afterwards.

use dataplatform_api::names::AccountNames;
use dataplatform_engine::ExecuteOptions;
use dataplatform_tests::{Moto, account_object, converge, engine, s3_client, unique_account_id};

/// Buckets, our roles, clusters and instances in the account, by name.
async fn inventory(account: &str, names: &AccountNames) -> Vec<String> {
    let config = Moto::shared().account_config(account).await;
    let mut found = Vec::new();
    let buckets = s3_client(&config).list_buckets().send().await.expect("list buckets");
    found.extend(
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(|n| format!("s3:{n}"))),
    );
    let roles = aws_sdk_iam::Client::new(&config)
        .list_roles()
        .send()
        .await
        .expect("list roles");
    found.extend(
        roles
            .roles()
            .iter()
            .filter(|r| [names.task_role(), names.task_execution_role()].contains(&r.role_name().to_owned()))
            .map(|r| format!("iam:{}", r.role_name())),
    );
    let rds = aws_sdk_rds::Client::new(&config);
    let clusters = rds.describe_db_clusters().send().await.expect("clusters");
    found.extend(
        clusters
            .db_clusters()
            .iter()
            .filter_map(|c| c.db_cluster_identifier().map(|n| format!("rds-cluster:{n}"))),
    );
    let instances = rds.describe_db_instances().send().await.expect("instances");
    found.extend(
        instances
            .db_instances()
            .iter()
            .filter_map(|i| i.db_instance_identifier().map(|n| format!("rds-instance:{n}"))),
    );
    found.sort();
    found
}

#[tokio::test]
async fn a_run_interrupted_after_each_action_resumes_to_the_same_state() {
    let engine = engine().await;

    let reference_account = unique_account_id();
    let mut reference = account_object(&reference_account, "");
    let full_plan = engine.plan(&reference).await.expect("plan").diff.plan;
    converge(&engine, &mut reference).await;
    let reference_names = AccountNames::new(&reference.id.namespace, &reference.id.name, &reference_account);
    let expected = inventory(&reference_account, &reference_names).await.len();
    assert_eq!(expected, 3 + 2 + 1 + 1);

    for stop_after in 1..full_plan.actions.len() {
        let account = unique_account_id();
        let mut object = account_object(&account, "");
        let cut = engine
            .reconcile(
                &object,
                ExecuteOptions {
                    stop_after_actions: Some(stop_after),
                },
            )
            .await;
        assert!(cut.error.is_none(), "{:?}", cut.error);
        assert_eq!(cut.applied.len(), stop_after);
        assert!(!cut.ready, "a run cut short is not Ready");
        object.status = Some(cut.status);

        converge(&engine, &mut object).await;
        let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
        let found = inventory(&account, &names).await;
        assert_eq!(found.len(), expected, "after a stop at {stop_after}: {found:?}");

        engine.sessions().counter().reset();
        engine.reconcile(&object, Default::default()).await;
        let calls = engine.sessions().counter().snapshot();
        assert_eq!(
            calls.writes(),
            0,
            "stop at {stop_after}: {:?}",
            calls.write_operations()
        );
    }
}

/// CreateRole carried out, its answer lost: the retry finds the role there (EntityAlreadyExists).
/// That is no error: the pass stops, the next one finds the role ours (it was created with our
/// tags) and gives it its policy; the account converges with one role of each kind.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_finished_by_the_next_pass() {
    let proxy = Moto::shared().losing_answers("CreateRole", 1).expect("fault proxy");
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "database: {enabled: false}\n");
    converge(&engine, &mut object).await;

    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let iam = aws_sdk_iam::Client::new(&Moto::shared().account_config(&account).await);
    for role in [names.task_execution_role(), names.task_role()] {
        let policies = iam
            .list_role_policies()
            .role_name(&role)
            .send()
            .await
            .expect("the role exists");
        assert_eq!(
            policies.policy_names().len(),
            1,
            "{role}: {:?}",
            policies.policy_names()
        );
    }
}

/// CreateDBCluster and CreateDBInstance carried out, their answers lost: neither is sent again
/// (a second CreateDBCluster left moto with a second RDS-managed master secret, issue 37); the same
/// pass finds each by identifier and owner tag and goes on, and the account holds one cluster and
/// one instance, each created by one call.
#[tokio::test]
async fn a_database_whose_create_answer_was_lost_is_found_by_the_same_pass() {
    for operation in ["CreateDBCluster", "CreateDBInstance"] {
        let proxy = Moto::shared().losing_answers(operation, 1).expect("fault proxy");
        let engine = proxy.engine().await;
        let account = unique_account_id();
        let object = account_object(&account, "");
        let pass = engine.reconcile(&object, Default::default()).await;
        assert!(
            pass.error.is_none() && !pass.stopped_early,
            "{operation}: {:?}",
            pass.error
        );
        let config = Moto::shared().account_config(&account).await;
        let rds = aws_sdk_rds::Client::new(&config);
        let clusters = rds.describe_db_clusters().send().await.expect("clusters");
        let instances = rds.describe_db_instances().send().await.expect("instances");
        assert_eq!(
            (clusters.db_clusters().len(), instances.db_instances().len()),
            (1, 1),
            "{operation}"
        );
        // Each create sent once: a second CreateDBCluster is what made the second master secret.
        let calls = engine.sessions().counter().snapshot();
        assert_eq!(
            (calls.of("CreateDBCluster"), calls.of("CreateDBInstance")),
            (1, 1),
            "{operation}"
        );
    }
}

/// CreateLogGroup carried out, its answer lost: the same pass finds the group by name and owner
/// tag, sets its retention and goes on.
#[tokio::test]
async fn a_log_group_whose_create_answer_was_lost_is_found_by_the_same_pass() {
    let proxy = Moto::shared().losing_answers("CreateLogGroup", 1).expect("fault proxy");
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let object = account_object(
        &account,
        "database: {enabled: false}\nlogging: {logGroup: /dataplatform/lost, retentionDays: 14}\n",
    );
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none() && !pass.stopped_early, "{:?}", pass.error);
    let calls = engine.sessions().counter().snapshot();
    assert_eq!((calls.of("CreateLogGroup"), calls.of("PutRetentionPolicy")), (1, 1));
}

/// Sustained throttling (20%, in each protocol's own error shape) and 5% server errors: with the
/// default retry budget every pass finishes, the account converges, and it holds one of everything.
#[tokio::test]
async fn an_account_converges_under_sustained_throttling_and_server_errors() {
    let proxy = Moto::shared().under_load(0.2, 0.05, 7).expect("fault proxy");
    let loaded = proxy.engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "tags: {cost-centre: \"42\"}");
    converge(&loaded, &mut object).await;
    let calls = loaded.sessions().counter().snapshot();
    let faulted: u64 = calls
        .0
        .iter()
        .filter(|(key, _)| {
            // Injected server errors and S3's and EC2's throttling; moto itself answers neither.
            matches!(
                key.outcome,
                dataplatform_aws::Outcome::Failure {
                    status: Some(500 | 503)
                }
            )
        })
        .map(|(_, n)| n)
        .sum();
    assert!(faulted >= 3, "the proxy's faults were met and retried: {calls:?}");

    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let found = inventory(&account, &names).await;
    assert_eq!(found.iter().filter(|r| r.starts_with("s3:")).count(), 3, "{found:?}");
    assert_eq!(found.iter().filter(|r| r.starts_with("iam:")).count(), 2, "{found:?}");
    assert_eq!(found.iter().filter(|r| r.starts_with("rds-")).count(), 2, "{found:?}");
    // A clean engine finds nothing to do: what the faulty run made is complete.
    let pass = engine().await.reconcile(&object, Default::default()).await;
    assert!(
        pass.error.is_none() && pass.applied.is_empty(),
        "{:?} {:?}",
        pass.error,
        pass.applied
    );
}

/// Every answer held back up to 300 ms: a pass takes longer, and converges to one of everything.
#[tokio::test]
async fn an_account_converges_through_latency() {
    let proxy = Moto::shared().slow(300, 11).expect("fault proxy");
    let slow = proxy.engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "database: {enabled: false}\n");
    converge(&slow, &mut object).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let found = inventory(&account, &names).await;
    assert_eq!(found.iter().filter(|r| r.starts_with("s3:")).count(), 3, "{found:?}");
    assert_eq!(found.iter().filter(|r| r.starts_with("iam:")).count(), 2, "{found:?}");
}
