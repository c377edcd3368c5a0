//! The controller's Kubernetes side, with kube's `Client` over the in-memory API server (no
//! cluster): the finalizer, status writes, events, the error classes, which objects a change
//! re-checks, and `run` end to end against moto.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{ApiServer, GROUP_PATH};
use dataplatform_api::{CLEANUP_FINALIZER, DataPlatformAccount, SharedBucketGrant};
use dataplatform_engine::ReconcileError;
use dataplatform_operator::controller::context::{Context, Error};
use dataplatform_operator::controller::requeue::{ControllerErrorClass, RequeuePolicy};
use dataplatform_operator::controller::{RunArgs, account, run_with_client, triggers};
use dataplatform_tests::{unique_account_id, unique_name};
use http::Method;
use kube::Client;
use kube::runtime::controller::Action;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher;
use serde_json::{Value, json};

pub(crate) const ACCOUNTS: &str = "dataplatformaccounts";
pub(crate) const GRANTS: &str = "sharedbucketgrants";

pub(crate) fn account_json(namespace: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "dataplatform.io/v1alpha1",
        "kind": "DataPlatformAccount",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    })
}

pub(crate) fn account_spec(account_id: &str) -> Value {
    json!({
        "accountId": account_id,
        "region": dataplatform_tests::TEST_REGION,
        "roleArn": format!("arn:aws:iam::{account_id}:role/dataplatform-operator"),
    })
}

pub(crate) fn grant_json(namespace: &str, name: &str, account: &str, grantee: &str) -> Value {
    json!({
        "apiVersion": "dataplatform.io/v1alpha1",
        "kind": "SharedBucketGrant",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"accountRef": {"name": account}, "grantee": {"accountId": grantee}, "prefixes": ["exports/"]},
    })
}

fn parsed<K: serde::de::DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("a valid object")
}

/// A context whose caches hold `accounts` and no grants, as after the controllers' first list.
pub(crate) async fn context(client: Client, accounts: &[DataPlatformAccount]) -> Arc<Context> {
    let (account_store, mut account_writer) = reflector::store::<DataPlatformAccount>();
    for account in accounts {
        account_writer.apply_watcher_event(&watcher::Event::Apply(account.clone()));
    }
    account_writer.apply_watcher_event(&watcher::Event::InitDone);
    let (grant_store, mut grant_writer) = reflector::store::<SharedBucketGrant>();
    grant_writer.apply_watcher_event(&watcher::Event::InitDone);
    // The writers must outlive the test or the stores report the controller as stopping.
    std::mem::forget((account_writer, grant_writer));
    let reporter = Reporter {
        controller: "dataplatform-operator".into(),
        instance: Some("test".into()),
    };
    Arc::new(Context::new(
        client,
        dataplatform_tests::engine().await,
        account_store,
        grant_store,
        reporter,
        RequeuePolicy::default(),
    ))
}

fn object_path(plural: &str, namespace: &str, name: &str) -> String {
    format!("{GROUP_PATH}/namespaces/{namespace}/{plural}/{name}")
}

#[tokio::test]
async fn finalizer_status_and_events_follow_the_object_and_nothing_is_written_when_nothing_changed() {
    let (client, server) = ApiServer::start();
    let (namespace, name) = ("tenant", unique_name("bad"));
    // A role in another account than accountId: only the controller can refuse it.
    let mut spec = account_spec("111111111111");
    spec["roleArn"] = json!("arn:aws:iam::222222222222:role/dataplatform-operator");
    server.create(ACCOUNTS, account_json(namespace, &name, spec.clone()));
    let fresh: DataPlatformAccount = parsed(server.get(ACCOUNTS, namespace, &name).unwrap());
    let ctx = context(client, std::slice::from_ref(&fresh)).await;
    let path = object_path(ACCOUNTS, namespace, &name);

    // 1. The finalizer comes first, alone.
    let action = account::reconcile(Arc::new(fresh), ctx.clone())
        .await
        .expect("finalizer added");
    assert_eq!(action, Action::await_change());
    let writes = server.writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!((&writes[0].method, &writes[0].path), (&Method::PATCH, &path));
    assert!(writes[0].content_type.contains("json-patch"), "{writes:#?}");
    let stored = server.get(ACCOUNTS, namespace, &name).unwrap();
    assert_eq!(stored["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));

    // 2. The invalid spec: Unknown first (for `kubectl wait`), then InvalidSpec, to the status
    //    subresource only, by server-side apply; one Warning event; no AWS call.
    server.clear_requests();
    let error = account::reconcile(Arc::new(parsed(stored)), ctx.clone())
        .await
        .expect_err("the spec is refused");
    assert!(
        matches!(error, Error::Reconcile(ReconcileError::InvalidSpec(_))),
        "{error}"
    );
    assert_eq!(error.class(), ControllerErrorClass::NeedsPerson);
    let writes = server.writes();
    let status_writes: Vec<_> = writes.iter().filter(|w| w.path == format!("{path}/status")).collect();
    assert_eq!(status_writes.len(), 2, "{writes:#?}");
    for write in &status_writes {
        assert_eq!(write.method, Method::PATCH);
        assert_eq!(write.content_type, "application/apply-patch+yaml");
        assert!(write.query.contains("fieldManager=dataplatform-operator") && write.query.contains("force=true"));
        assert_eq!(write.body["apiVersion"], "dataplatform.io/v1alpha1");
        assert_eq!(write.body["kind"], "DataPlatformAccount");
        assert!(
            write.body.get("spec").is_none(),
            "status writes never carry spec: {}",
            write.body
        );
    }
    let first = &status_writes[0].body["status"]["conditions"];
    assert_eq!(first[0]["type"], "Ready");
    assert_eq!(first[0]["status"], "Unknown");
    let reported = &status_writes[1].body["status"];
    let ready = reported["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("InvalidSpec"))
    );
    assert_eq!(ready["observedGeneration"], 1);
    assert!(ready["message"].as_str().unwrap().contains("roleArn"), "{ready}");
    let events = server.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        (events[0]["type"].as_str(), events[0]["reason"].as_str()),
        (Some("Warning"), Some("InvalidSpec"))
    );
    assert_eq!(events[0]["regarding"]["name"], json!(name));
    assert_eq!(
        ctx.engine.sessions().counter().snapshot().total(),
        0,
        "refused before any AWS call"
    );

    // 3. The same object again (a resync): no status write, no event.
    server.clear_requests();
    let again: DataPlatformAccount = parsed(server.get(ACCOUNTS, namespace, &name).unwrap());
    account::reconcile(Arc::new(again), ctx.clone())
        .await
        .expect_err("still refused");
    assert!(server.writes().is_empty(), "{:#?}", server.writes());
    assert_eq!(
        server.get(ACCOUNTS, namespace, &name).unwrap()["spec"],
        spec,
        "spec untouched"
    );

    // 4. Deleted (Retain, no grants): cleanup is finished at once and only then the finalizer goes.
    server.delete(ACCOUNTS, namespace, &name);
    server.clear_requests();
    let deleting: DataPlatformAccount = parsed(server.get(ACCOUNTS, namespace, &name).expect("held by the finalizer"));
    account::reconcile(Arc::new(deleting), ctx.clone())
        .await
        .expect("cleanup finished");
    let writes = server.writes();
    let finalizer_patch = writes.iter().find(|w| w.path == path).expect("finalizer removed");
    let operations: Vec<&str> = finalizer_patch
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["op"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["test", "remove"], "{}", finalizer_patch.body);
    assert!(server.get(ACCOUNTS, namespace, &name).is_none(), "the object is gone");
    assert!(
        server.events().iter().any(|e| e["reason"] == "Deleted"),
        "{:#?}",
        server.events()
    );
}

#[test]
fn error_classes_decide_the_requeue() {
    let policy = RequeuePolicy::default();
    let throttled = Error::Kube(kube::Error::Service("connection refused".into()));
    assert_eq!(throttled.class(), ControllerErrorClass::Transient);
    assert!(policy.after_error(&throttled.class(), 1) <= Duration::from_secs(6));
    assert!(policy.after_error(&throttled.class(), 10) >= Duration::from_secs(270));
    let waiting = Error::DeletionWaiting {
        message: "database deleting".into(),
        retry: Duration::from_secs(30),
    };
    assert_eq!(
        policy.after_error(&waiting.class(), 7),
        Duration::from_secs(30),
        "no backoff while AWS works"
    );
    let not_ready = Error::Reconcile(ReconcileError::DependencyNotReady("account".into()));
    assert_eq!(not_ready.class(), ControllerErrorClass::Transient);
}

#[test]
fn a_change_re_checks_exactly_the_objects_that_depend_on_it() {
    let tenant: DataPlatformAccount = parsed(account_json("la-camden", "camden", account_spec("111111111111")));
    let mut org_spec = account_spec("999999999999");
    org_spec["tier"] = json!("Organisation");
    org_spec["registry"] = json!({"repositories": ["dagster"]});
    let organisation: DataPlatformAccount = parsed(account_json("central", "org", org_spec));
    let mut other_org_spec = account_spec("888888888888");
    other_org_spec["tier"] = json!("Organisation");
    let other_organisation: DataPlatformAccount = parsed(account_json("central", "other-org", other_org_spec));
    let accounts: Vec<Arc<DataPlatformAccount>> = [&tenant, &organisation, &other_organisation]
        .into_iter()
        .map(|a| Arc::new(a.clone()))
        .collect();

    let to_org: SharedBucketGrant = parsed(grant_json("la-camden", "to-org", "camden", "999999999999"));
    let same_name_elsewhere: SharedBucketGrant = parsed(grant_json("la-hackney", "other", "camden", "999999999999"));
    let other_account: SharedBucketGrant = parsed(grant_json("la-camden", "from-archive", "archive", "777777777777"));
    let grants: Vec<Arc<SharedBucketGrant>> = [&to_org, &same_name_elsewhere, &other_account]
        .into_iter()
        .map(|g| Arc::new(g.clone()))
        .collect();

    // The tenant's change re-checks the grants whose accountRef names it, in its namespace only.
    assert_eq!(
        triggers::grants_affected_by_account(&tenant, &grants),
        vec![ObjectRef::from_obj(&to_org)]
    );
    // An Organisation's change re-checks every grant (the grantee half may land on it).
    assert_eq!(triggers::grants_affected_by_account(&organisation, &grants).len(), 3);
    // What a grant reads of its account: a status write about services re-checks no grant; the
    // shared bucket appearing does, and so does the account going.
    let mut busy = tenant.clone();
    busy.status = Some(serde_json::from_value(json!({"servicesRunning": "2/3"})).unwrap());
    assert_eq!(triggers::grant_inputs(&busy), triggers::grant_inputs(&tenant));
    let mut with_bucket = tenant.clone();
    with_bucket.status =
        Some(serde_json::from_value(json!({"buckets": {"shared": {"name": "b", "arn": "arn:aws:s3:::b"}}})).unwrap());
    assert_ne!(triggers::grant_inputs(&with_bucket), triggers::grant_inputs(&tenant));
    let mut going = tenant.clone();
    going.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    assert_ne!(triggers::grant_inputs(&going), triggers::grant_inputs(&tenant));
    // Only a Child matters to the registries, and only its account id: its status changing (as it
    // does on every pass while it waits) starts no Organisation pass.
    assert!(triggers::registry_inputs(&tenant).is_some());
    assert_eq!(triggers::registry_inputs(&busy), triggers::registry_inputs(&tenant));
    assert!(triggers::registry_inputs(&organisation).is_none());
    // A Child re-checks the Organisations with a registry (their pull statement lists children).
    assert_eq!(
        triggers::organisations_affected_by_account(&tenant, &accounts),
        vec![ObjectRef::from_obj(&organisation)]
    );
    assert!(triggers::organisations_affected_by_account(&organisation, &accounts).is_empty());
}

pub(crate) fn ready(object: &Value) -> Option<(String, i64)> {
    let condition = object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?
        .clone();
    Some((
        condition["status"].as_str()?.to_owned(),
        condition["observedGeneration"].as_i64().unwrap_or(-1),
    ))
}

pub(crate) async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("metrics endpoint");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

pub(crate) fn run_args(http_address: std::net::SocketAddr) -> RunArgs {
    RunArgs {
        namespaces: vec![],
        selector: None,
        resync_interval: Duration::from_secs(300),
        max_backoff: Duration::from_secs(5),
        error_requeue: Duration::from_secs(900),
        concurrency: 4,
        http_address,
        leader_election: false,
        leader_election_namespace: "operators".into(),
        leader_election_lease: "dataplatform-operator".into(),
        leader_election_identity: None,
        leader_election_lease_duration: Duration::from_secs(15),
    }
}

pub(crate) fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_takes_a_new_account_and_grant_to_ready_and_revokes_the_grant_on_deletion() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    let (client, server) = ApiServer::start();
    let (namespace, account_name, grant_name) = ("tenant", unique_name("camden"), unique_name("share"));
    let account_id = unique_account_id();
    let grantee = unique_account_id();
    let spec = account_spec(&account_id);
    server.create(ACCOUNTS, account_json(namespace, &account_name, spec.clone()));
    server.create(GRANTS, grant_json(namespace, &grant_name, &account_name, &grantee));

    let address = free_address();
    let args = run_args(address);
    let (stop, running) = run_in_background(client, dataplatform_tests::engine().await, args);

    let account = || server.get(ACCOUNTS, namespace, &account_name).unwrap();
    wait_for("the account to be Ready", || {
        ready(&account()) == Some(("True".into(), 1))
    })
    .await;
    // The grant waited for its account and was re-checked when the account turned Ready.
    let grant = || server.get(GRANTS, namespace, &grant_name);
    wait_for("the grant to be Ready", || {
        grant().and_then(|g| ready(&g)) == Some(("True".into(), 1))
    })
    .await;

    let stored = account();
    assert_eq!(stored["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));
    assert_eq!(
        stored["spec"], spec,
        "the controller never writes spec or defaults into it"
    );
    assert!(
        stored["status"]["buckets"]["shared"]["name"].is_string(),
        "{}",
        stored["status"]
    );
    let statement_ids = grant().unwrap()["status"]["statementIds"].clone();
    assert_eq!(statement_ids.as_array().map(Vec::len), Some(2), "{statement_ids}");
    let reasons: Vec<String> = server
        .events()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        reasons.contains(&"Created".to_owned()) && reasons.contains(&"Ready".to_owned()),
        "{reasons:?}"
    );
    assert!(
        !reasons.contains(&"DriftCorrected".to_owned()),
        "nothing drifted: {reasons:?}"
    );

    // Steady state: the passes the status writes triggered find nothing to do and write nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.clear_requests();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.writes().is_empty(), "{:#?}", server.writes());

    let metrics = http_get(address, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for expected in [
        r#"dataplatform_reconciles_total{kind="DataPlatformAccount",result="success"}"#,
        r#"dataplatform_objects{kind="DataPlatformAccount",ready="True"} 1"#,
        r#"dataplatform_aws_calls_total{service="s3",operation="CreateBucket",outcome="success"}"#,
        r#"dataplatform_time_to_ready_seconds_count{kind="SharedBucketGrant"} 1"#,
        r#"dataplatform_aws_calls_total{service="s3",operation="HeadBucket",outcome="error_404"}"#,
    ] {
        assert!(metrics.contains(expected), "missing {expected}\n{metrics}");
    }
    let readyz = http_get(address, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 200"), "{readyz}");

    // Deleting the grant revokes its statements before the finalizer goes.
    server.delete(GRANTS, namespace, &grant_name);
    wait_for("the grant to be gone", || grant().is_none()).await;
    let bucket = stored["status"]["buckets"]["shared"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let s3 = dataplatform_tests::s3_client(&dataplatform_tests::Moto::shared().account_config(&account_id).await);
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("the TLS rule stays");
    let policy = policy.policy().unwrap_or_default();
    for sid in statement_ids.as_array().unwrap() {
        assert!(!policy.contains(sid.as_str().unwrap()), "{sid} revoked: {policy}");
    }

    stop_run(stop, running, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pass_waiting_for_the_first_list_goes_on_when_it_arrives() {
    let (store, mut writer) = reflector::store::<DataPlatformAccount>();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { dataplatform_operator::controller::context::filled(&store).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer.apply_watcher_event(&watcher::Event::InitDone);
    for waiter in waiters {
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("no waiter is left behind")
            .expect("task")
            .expect("filled");
    }
}

/// Sends the shutdown signal and expects `run` to return cleanly within `within`.
pub(crate) async fn stop_run(stop: tokio::sync::oneshot::Sender<()>, running: Running, within: Duration) {
    let _ = stop.send(());
    tokio::time::timeout(within, running)
        .await
        .expect("run stops on the shutdown signal")
        .expect("run task")
        .expect("run ends cleanly");
}

/// `run` on the mock API server until the returned sender fires.
pub(crate) fn run_in_background(
    client: Client,
    engine: dataplatform_engine::Engine,
    args: RunArgs,
) -> (tokio::sync::oneshot::Sender<()>, Running) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run_with_client(client, engine, args, async {
        let _ = stopped.await;
    }));
    (stop, running)
}

fn lease(server: &ApiServer) -> Option<Value> {
    server.get("leases", "operators", "dataplatform-operator")
}

pub(crate) type Running = tokio::task::JoinHandle<Result<(), dataplatform_operator::controller::RunError>>;

/// `run --leader-election` on the mock API server until the returned sender fires.
fn run_electing(
    client: Client,
    engine: dataplatform_engine::Engine,
    identity: &str,
    address: std::net::SocketAddr,
) -> (tokio::sync::oneshot::Sender<()>, Running) {
    let mut args = run_args(address);
    args.leader_election = true;
    args.leader_election_identity = Some(identity.to_owned());
    run_in_background(client, engine, args)
}

/// An account only the controller can refuse: its passes make no AWS call.
fn refused_account(server: &ApiServer) -> String {
    let name = unique_name("refused");
    let mut spec = account_spec("111111111111");
    spec["roleArn"] = json!("arn:aws:iam::222222222222:role/dataplatform-operator");
    server.create(ACCOUNTS, account_json("tenant", &name, spec));
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_reconciles_only_while_it_holds_the_lease_and_releases_it_on_shutdown() {
    let (client, server) = ApiServer::start();
    let name = refused_account(&server);
    let (stop, running) = run_electing(client, dataplatform_tests::engine().await, "replica-a", free_address());

    wait_for("the account to be reconciled", || {
        ready(&server.get(ACCOUNTS, "tenant", &name).unwrap()).is_some_and(|(status, _)| status == "False")
    })
    .await;
    let held = lease(&server).expect("the Lease exists");
    assert_eq!(held["spec"]["holderIdentity"], "replica-a", "{held}");

    stop_run(stop, running, Duration::from_secs(20)).await;
    let released = lease(&server).expect("the Lease stays");
    assert_ne!(
        released["spec"]["holderIdentity"], "replica-a",
        "released on shutdown: {released}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stands_by_while_another_holds_the_lease() {
    let (client, server) = ApiServer::start();
    let renewed = serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ))
    .unwrap();
    server.put(
        "leases",
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "dataplatform-operator", "namespace": "operators"},
            "spec": {"holderIdentity": "replica-a", "leaseDurationSeconds": 3600,
                     "acquireTime": renewed, "renewTime": renewed},
        }),
    );
    let name = refused_account(&server);
    let address = free_address();
    let (stop, running) = run_electing(client, dataplatform_tests::engine().await, "replica-b", address);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let untouched = server.get(ACCOUNTS, "tenant", &name).unwrap();
    assert!(untouched["metadata"].get("finalizers").is_none(), "{untouched}");
    assert!(untouched.get("status").is_none(), "{untouched}");
    assert!(
        server.writes().iter().all(|w| !w.path.contains("dataplatformaccounts")),
        "{:#?}",
        server.writes()
    );
    let readyz = http_get(address, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 200"), "a standby is ready: {readyz}");
    assert_eq!(lease(&server).unwrap()["spec"]["holderIdentity"], "replica-a");

    stop_run(stop, running, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn an_unusable_resync_annotation_is_announced_once() {
    let (client, server) = ApiServer::start();
    let name = refused_account(&server);
    let mut object = server.get(ACCOUNTS, "tenant", &name).unwrap();
    object["metadata"]["annotations"] = json!({"dataplatform.io/resync-interval": "soon"});
    object["metadata"]["finalizers"] = json!([CLEANUP_FINALIZER]);
    server.put(ACCOUNTS, object);
    let ctx = context(client, &[]).await;
    let announced = |server: &ApiServer| {
        server
            .events()
            .into_iter()
            .filter(|e| e["reason"] == "InvalidAnnotation")
            .map(|e| e["note"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };

    for _ in 0..2 {
        let current: DataPlatformAccount = parsed(server.get(ACCOUNTS, "tenant", &name).unwrap());
        let _ = account::reconcile(Arc::new(current), ctx.clone()).await;
    }
    let notes = announced(&server);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("dataplatform.io/resync-interval") && notes[0].contains("90s"),
        "{notes:?}"
    );
}
