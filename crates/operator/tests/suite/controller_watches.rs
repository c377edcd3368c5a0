//! What starts a pass: `run` over the in-memory API server, watching two of three namespaces.
//! Our own status writes, and status writes by anyone, start none; a label change does; a grant in
//! one watched namespace reaches the Organisation account in the other.

use std::time::Duration;

use serde_json::json;

use crate::controller::{
    ACCOUNTS, GRANTS, account_json, account_spec, free_address, grant_json, http_get, ready, run_args,
    run_in_background, stop_run, wait_for,
};
use crate::support::ApiServer;
use dataplatform_tests::{unique_account_id, unique_name};

/// The sum of the samples of `metric` (every label set) on /metrics.
async fn metric_sum(address: std::net::SocketAddr, metric: &str) -> f64 {
    let text = http_get(address, "/metrics").await;
    text.lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")) || line.starts_with(&format!("{metric} ")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_changes_by_others_start_passes_over_the_watched_namespaces() {
    let (client, server) = ApiServer::start();
    let (tenant, central, elsewhere) = ("la-camden", "central", "la-unwatched");
    let (account, organisation, grant) = (unique_name("camden"), unique_name("org"), unique_name("share"));
    let org_id = unique_account_id();
    let mut org_spec = account_spec(&org_id);
    org_spec["tier"] = json!("Organisation");
    server.create(ACCOUNTS, account_json(central, &organisation, org_spec));
    server.create(
        ACCOUNTS,
        account_json(tenant, &account, account_spec(&unique_account_id())),
    );
    server.create(GRANTS, grant_json(tenant, &grant, &account, &org_id));
    let unwatched = unique_name("other");
    server.create(
        ACCOUNTS,
        account_json(elsewhere, &unwatched, account_spec(&unique_account_id())),
    );

    let address = free_address();
    let mut args = run_args(address);
    args.namespaces = vec![tenant.into(), central.into()];
    let (stop, running) = run_in_background(client, dataplatform_tests::engine().await, args);

    let object = |plural: &str, namespace: &str, name: &str| server.get(plural, namespace, name).expect("stored");
    wait_for("both accounts and the grant to be Ready", || {
        [
            object(ACCOUNTS, tenant, &account),
            object(ACCOUNTS, central, &organisation),
            object(GRANTS, tenant, &grant),
        ]
        .iter()
        .all(|o| ready(o) == Some(("True".into(), 1)))
    })
    .await;
    // The grant in one namespace reached the Organisation in the other (one cache over both).
    assert_eq!(
        object(GRANTS, tenant, &grant)["status"]["granteeRoleUpdated"],
        json!(true)
    );
    let stranger = object(ACCOUNTS, elsewhere, &unwatched);
    assert!(
        stranger["metadata"]["finalizers"].is_null() && stranger["status"].is_null(),
        "an unwatched namespace is left alone: {stranger}"
    );

    // Settled: the status writes of the last passes came back as watch events.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let passes = metric_sum(address, "dataplatform_reconciles_total").await;
    let calls = metric_sum(address, "dataplatform_aws_calls_total").await;
    server.clear_requests();
    // Someone else's status write, and a status write as ours would be: no pass, no AWS call.
    server.touch(ACCOUNTS, tenant, &account, |o| {
        o["status"]["servicesRunning"] = json!("0/0")
    });
    server.touch(GRANTS, tenant, &grant, |o| {
        o["status"]["conditions"][0]["message"] = json!("edited")
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(metric_sum(address, "dataplatform_reconciles_total").await, passes);
    assert_eq!(metric_sum(address, "dataplatform_aws_calls_total").await, calls);
    assert!(server.writes().is_empty(), "{:#?}", server.writes());

    // A label is someone's change: one pass of that object, which finds nothing to do.
    server.touch(ACCOUNTS, tenant, &account, |o| {
        o["metadata"]["labels"] = json!({"team": "data"})
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while metric_sum(address, "dataplatform_reconciles_total").await == passes {
        assert!(tokio::time::Instant::now() < deadline, "the label started no pass");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(metric_sum(address, "dataplatform_reconciles_total").await, passes + 1.0);

    stop_run(stop, running, Duration::from_secs(30)).await;
}
