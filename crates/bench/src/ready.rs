//! `dataplatform-bench --time-to-ready`: issue 36's scenario ([`super::mix::time_to_ready`]) applied at
//! once to `run` (its own process, over the in-memory API server), with moto as AWS and a stand-in
//! for ECS's scheduler that starts a service's tasks [`TASKS_START_AFTER`] after it first sees
//! them wanted. moto makes everything else at once, so what is left is the operator's own time.
//! Per object it prints when it became Ready, the time from the last thing AWS did for it (the
//! stand-in starting its tasks, or the object's own last write) to Ready — the operator's share —
//! its passes and the AWS calls those spent waiting; then whether a Child's status change makes
//! the Organisation pass. `run` logs each AWS call (trace) and each pass (debug) as JSON on its
//! stderr, which the bench reads as they come.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataplatform_api::names::AccountNames;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use super::controller::{ACCOUNTS, GRANTS, ServedApi, free_port, object, operator_binary, stop};
use super::mix;
use super::scrape::wait_for_metrics;
use dataplatform_memory_api_server::ApiServer;
use dataplatform_operator::cli::AwsArgs;

/// The stand-in's delay between a service wanting tasks and them running (the baseline's ~2 s).
const TASKS_START_AFTER: Duration = Duration::from_secs(2);
/// How often the bench looks at the API server for Ready, and the stand-in at ECS.
const LOOK_EVERY: Duration = Duration::from_millis(50);
const SCHEDULER_EVERY: Duration = Duration::from_millis(200);

/// What `run`'s log says of one object's passes.
#[derive(Debug, Default)]
struct PassLog {
    passes: u32,
    waiting_passes: u32,
    /// One-read looks at a wait between passes (tasks starting).
    probes: u32,
    calls: u64,
    calls_waiting: u64,
    last_write: Option<Instant>,
    /// The pass in progress: its calls and writes so far.
    open_calls: u64,
    open_writes: u64,
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(shared: &Shared<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub async fn run(aws: &AwsArgs) -> Result<(), String> {
    let endpoint = aws
        .aws_endpoint_url
        .clone()
        .ok_or("point the bench at moto with --aws-endpoint-url")?;
    let region = "eu-west-2";
    let mix::Objects { accounts, grants } = mix::time_to_ready(region);
    let api = ServedApi::start("ready").await?;
    let (server, kubeconfig) = (&api.server, &api.kubeconfig);
    let metrics = free_port()?;
    println!(
        "bench --time-to-ready: an Organisation account (a registry, one service), a Child (a network, a database, \
         three services, one exposed) and its grant, applied at once; ECS's scheduler played by the bench \
         ({} s from a service wanting tasks to them running)",
        TASKS_START_AFTER.as_secs()
    );
    let mut child = tokio::process::Command::new(operator_binary()?)
        .args(["--log-format", "json", "run", "--resync-interval", "2h"])
        .args(["--http-address", &metrics.to_string(), "--aws-endpoint-url", &endpoint])
        .env("KUBECONFIG", kubeconfig)
        .env(
            "RUST_LOG",
            "error,dataplatform_aws::retry=trace,dataplatform_operator::controller=debug",
        )
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting `run`: {e}"))?;
    let pid = child.id().ok_or("`run` exited at once")?;
    let log: Shared<BTreeMap<String, PassLog>> = Arc::default();
    let reading = tokio::spawn(read_log(child.stderr.take().ok_or("no stderr")?, log.clone()));
    let started: Shared<BTreeMap<String, Instant>> = Arc::default();
    let clusters: Vec<(String, String, String)> = accounts
        .iter()
        .map(|a| {
            let names = AccountNames::new(&a.id.namespace, &a.id.name, &a.spec.account_id);
            (a.id.to_string(), a.spec.account_id.clone(), names.ecs_cluster())
        })
        .collect();
    let scheduling = tokio::spawn(play_scheduler(endpoint, region, clusters, started.clone()));

    let result = async {
        wait_for_metrics(metrics).await?;
        let applied = Instant::now();
        for account in &accounts {
            server.create(ACCOUNTS, object("DataPlatformAccount", &account.id, &account.spec));
        }
        for grant in &grants {
            server.create(GRANTS, object("SharedBucketGrant", &grant.id, &grant.spec));
        }
        let ready = wait_for_ready(server, Duration::from_secs(600)).await?;
        // The status writes of the last passes land, and their log lines are read.
        tokio::time::sleep(Duration::from_secs(2)).await;
        report(applied, &ready, &lock(&started), &lock(&log));
        organisation_passes(server, &log).await
    }
    .await;
    scheduling.abort();
    stop(&mut child, pid).await;
    reading.abort();
    api.stop();
    result
}

/// When each object's Ready condition first turned True.
async fn wait_for_ready(server: &ApiServer, timeout: Duration) -> Result<BTreeMap<String, Instant>, String> {
    let deadline = Instant::now() + timeout;
    let mut ready = BTreeMap::new();
    loop {
        let mut waiting = vec![];
        for plural in [ACCOUNTS, GRANTS] {
            for (id, is_ready, message) in server.tally(plural, ready_condition) {
                match is_ready {
                    true => {
                        ready.entry(id).or_insert_with(Instant::now);
                    }
                    false => waiting.push(format!("{id}: {message}")),
                }
            }
        }
        if waiting.is_empty() {
            return Ok(ready);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not Ready after {} s: {}",
                timeout.as_secs(),
                waiting.join("; ")
            ));
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

fn ready_condition(object: &Value) -> (String, bool, String) {
    let id = format!(
        "{}/{}",
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    );
    let conditions = object["status"]["conditions"].as_array();
    let ready = conditions.and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let message = ready.map_or("no status yet".to_owned(), |r| r["message"].to_string());
    (id, ready.is_some_and(|r| r["status"] == "True"), message)
}

/// Per object: Ready after apply, the last AWS work for it, the operator's share, passes, calls.
fn report(
    applied: Instant,
    ready: &BTreeMap<String, Instant>,
    tasks_started: &BTreeMap<String, Instant>,
    log: &BTreeMap<String, PassLog>,
) {
    let secs = |at: Instant| at.saturating_duration_since(applied).as_secs_f64();
    println!(
        "object               Ready after apply  last AWS work  operator's share  passes (waiting)  probes  AWS calls (waiting)"
    );
    let mut worst = 0.0f64;
    for (id, at) in ready {
        let passes = log.get(id);
        // An account's: its tasks starting or its own last write; a grant's: its own last write.
        let last_aws = [tasks_started.get(id).copied(), passes.and_then(|p| p.last_write)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(applied);
        let share = at.saturating_duration_since(last_aws).as_secs_f64();
        worst = worst.max(share);
        let (p, pw, probes, c, cw) = passes.map_or((0, 0, 0, 0, 0), |p| {
            (p.passes, p.waiting_passes, p.probes, p.calls, p.calls_waiting)
        });
        println!(
            "{id:<20} {:>15.1} s {:>12.1} s {:>15.2} s {:>9} ({pw:>3}) {probes:>7} {:>12} ({cw:>4})",
            secs(*at),
            secs(last_aws),
            share,
            p,
            c
        );
    }
    println!(
        "the operator's share, the largest: {worst:.2} s (baseline on a real API server with a fixed 30 s poll: 33-38 s to Ready)"
    );
}

/// A Child's status changing (as its passes do while it waits) must start no Organisation pass:
/// the Organisation reads only the Children's account ids.
async fn organisation_passes(server: &ApiServer, log: &Shared<BTreeMap<String, PassLog>>) -> Result<(), String> {
    let passes = || lock(log).get("bench/organisation").map_or(0, |p| p.passes);
    let before = passes();
    for round in 0..5 {
        server.touch(ACCOUNTS, "bench", "tenant-0", |o| {
            o["status"]["servicesRunning"] = Value::String(format!("{round}/9"));
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = passes();
    println!(
        "the Organisation's passes: {before} to Ready; {} while the Child's status changed 5 times",
        after - before
    );
    Ok(())
}

/// Reads `run`'s JSON log: each AWS call counts to its object's pass in progress; "pass finished"
/// closes the pass (waiting when it names a wait and wrote nothing); a failed pass closes it too.
async fn read_log(stderr: tokio::process::ChildStderr, log: Shared<BTreeMap<String, PassLog>>) {
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    // DATAPLATFORM_BENCH_RUN_LOG=FILE keeps `run`'s log too, to see where the time went.
    let mut kept = std::env::var_os("DATAPLATFORM_BENCH_RUN_LOG").and_then(|path| std::fs::File::create(path).ok());
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(file) = kept.as_mut() {
            use std::io::Write;
            let _ = writeln!(file, "{line}");
        }
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(object) = entry["span"]["object"].as_str() else {
            continue;
        };
        let mut log = lock(&log);
        let pass = log.entry(object.to_owned()).or_default();
        match entry["message"].as_str().unwrap_or_default() {
            "AWS call" => {
                pass.open_calls += 1;
                let operation = entry["operation"].as_str().unwrap_or_default();
                if !dataplatform_aws::calls::is_read_operation(operation) {
                    pass.open_writes += 1;
                    pass.last_write = Some(Instant::now());
                }
            }
            "probed" => {
                pass.probes += 1;
                pass.calls += pass.open_calls;
                pass.calls_waiting += pass.open_calls;
                (pass.open_calls, pass.open_writes) = (0, 0);
            }
            message @ ("pass finished" | "pass did not finish") => {
                pass.passes += 1;
                pass.calls += pass.open_calls;
                if message == "pass finished" && entry["waiting_on"].is_string() && pass.open_writes == 0 {
                    pass.waiting_passes += 1;
                    pass.calls_waiting += pass.open_calls;
                }
                (pass.open_calls, pass.open_writes) = (0, 0);
            }
            _ => {}
        }
    }
}

/// ECS's scheduler as the bench plays it: a service whose running count is short of its desired
/// count gets its tasks [`TASKS_START_AFTER`] after the stand-in first saw it so (moto reports
/// running = desired once an UpdateService sets the desired count).
async fn play_scheduler(
    endpoint: String,
    region: &'static str,
    clusters: Vec<(String, String, String)>,
    started: Shared<BTreeMap<String, Instant>>,
) {
    let mut clients = vec![];
    for (object, account_id, cluster) in clusters {
        match ecs_client(&endpoint, region, &account_id).await {
            Ok(client) => clients.push((object, client, cluster)),
            Err(e) => eprintln!("the ECS stand-in cannot act in {account_id}: {e}"),
        }
    }
    let mut first_seen: BTreeMap<String, Instant> = BTreeMap::new();
    loop {
        for (object, ecs, cluster) in &clients {
            let Ok(listed) = ecs.list_services().cluster(cluster).send().await else {
                continue;
            };
            for arn in listed.service_arns() {
                // With the tags, as `run` asks: moto keeps "leave the tags out" in a class-level
                // table, so a describe without them, racing one of `run`'s, strips the owner tag
                // from `run`'s answer (and `run` reports the service as not its own).
                let describe = ecs.describe_services().cluster(cluster).services(arn);
                let Ok(described) = describe.include(aws_sdk_ecs::types::ServiceField::Tags).send().await else {
                    continue;
                };
                for service in described.services() {
                    if service.status() != Some("ACTIVE") || service.running_count() == service.desired_count() {
                        continue;
                    }
                    let seen = *first_seen.entry(arn.clone()).or_insert_with(Instant::now);
                    if seen.elapsed() < TASKS_START_AFTER {
                        continue;
                    }
                    let update = ecs.update_service().cluster(cluster).service(arn);
                    if update.desired_count(service.desired_count()).send().await.is_ok() {
                        lock(&started).insert(object.clone(), Instant::now());
                        first_seen.remove(arn);
                    }
                }
            }
        }
        tokio::time::sleep(SCHEDULER_EVERY).await;
    }
}

/// An ECS client acting in `account_id` on moto (moto scopes what assumed-role credentials make to
/// the role's account).
async fn ecs_client(endpoint: &str, region: &'static str, account_id: &str) -> Result<aws_sdk_ecs::Client, String> {
    use aws_credential_types::Credentials;
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .load()
        .await;
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account_id}:role/ecs-scheduler-stand-in"))
        .role_session_name("bench")
        .send()
        .await
        .map_err(|e| format!("sts:AssumeRole: {e}"))?;
    let creds = assumed.credentials().ok_or("no credentials")?;
    let config = base
        .into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_owned()),
                None,
                "bench",
            ),
        ))
        .build();
    Ok(aws_sdk_ecs::Client::new(&config))
}
