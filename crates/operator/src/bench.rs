//! `dataplatform-operator bench`: N accounts against a local endpoint (moto). Prints the time to
//! converge, AWS calls per account for creation and for a steady-state pass (reads/writes), the peak
//! RSS, and the steady-state pass replayed against the endpoint alone (the same HTTP requests, as
//! many in flight as the operator had), so the operator's share of the time is visible.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dataplatform_aws::recorder::{RecordedRequest, RequestRecorder};
use dataplatform_aws::{CallCounts, Sessions};
use dataplatform_engine::{AccountObject, Engine, ObjectId};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::cli::AwsArgs;

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// How many DataPlatformAccounts (each its own AWS account).
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
    /// Accounts reconciled at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

fn objects(count: usize, region: &str) -> Vec<AccountObject> {
    (0..count)
        .map(|i| {
            let account_id = format!("{:012}", 300_000_000_000u64 + i as u64);
            let spec = serde_json::json!({
                "accountId": account_id,
                "region": region,
                "roleArn": format!("arn:aws:iam::{account_id}:role/dataplatform-operator"),
                "tags": {"cost-centre": "bench"},
            });
            AccountObject {
                id: ObjectId {
                    namespace: "bench".to_owned(),
                    name: format!("tenant-{i}"),
                },
                generation: Some(1),
                annotations: Default::default(),
                spec: serde_json::from_value(spec).expect("the bench spec is valid"),
                status: None,
                child_accounts: Default::default(),
            }
        })
        .collect()
}

/// One reconcile of every object, `concurrency` at a time; returns how many made changes or are not
/// yet ready, and the first error.
async fn pass(engine: &Engine, objects: &mut [AccountObject], concurrency: usize) -> Result<usize, String> {
    let results: Vec<_> = futures::stream::iter(objects.iter().cloned().enumerate())
        .map(|(i, object)| async move { (i, engine.reconcile(&object, Default::default()).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut unsettled = 0;
    for (i, reconciled) in results {
        if let Some(error) = reconciled.error {
            return Err(format!("{}: {error}", objects[i].id));
        }
        if !reconciled.applied.is_empty() || !reconciled.ready {
            unsettled += 1;
        }
        objects[i].status = Some(reconciled.status);
    }
    Ok(unsettled)
}

fn per_account(counts: &CallCounts, accounts: usize) -> String {
    let n = accounts.max(1) as f64;
    format!(
        "{:.1} calls ({:.1} reads, {:.1} writes)",
        counts.total() as f64 / n,
        counts.reads() as f64 / n,
        counts.writes() as f64 / n
    )
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn run(args: &BenchArgs, aws: &AwsArgs) -> Result<(), String> {
    let recorder = RequestRecorder::new();
    let mut settings = aws.settings();
    settings
        .interceptors
        .push(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(
            recorder.clone(),
        ));
    let sessions = Arc::new(Sessions::from_environment(settings).await);
    if sessions.endpoint_url().is_none() {
        return Err("bench creates hundreds of resources: point it at moto with --aws-endpoint-url".into());
    }
    let engine = Engine::new(sessions.clone());
    let mut objects = objects(args.accounts, "eu-west-2");
    println!(
        "bench: {} accounts, {} at a time, endpoint {}",
        args.accounts,
        args.concurrency,
        sessions.endpoint_url().unwrap_or_default()
    );

    let started = Instant::now();
    let mut passes = 0;
    loop {
        passes += 1;
        let unsettled = pass(&engine, &mut objects, args.concurrency).await?;
        if unsettled == 0 || passes == 5 {
            break;
        }
    }
    let converge = started.elapsed();
    let create_calls = sessions.counter().snapshot();
    println!(
        "converge: {:.2} s in {passes} passes; per account {}",
        converge.as_secs_f64(),
        per_account(&create_calls, args.accounts)
    );

    sessions.counter().reset();
    recorder.reset();
    let started = Instant::now();
    pass(&engine, &mut objects, args.concurrency).await?;
    let steady = started.elapsed();
    let steady_calls = sessions.counter().snapshot();
    println!(
        "steady state: {:.2} s; per account {}",
        steady.as_secs_f64(),
        per_account(&steady_calls, args.accounts)
    );

    let requests = recorder.requests();
    let in_flight = recorder.peak_in_flight().max(1);
    let (alone, resent) = replay(&requests, in_flight).await?;
    let ratio = steady.as_secs_f64() / alone.as_secs_f64().max(f64::EPSILON);
    println!(
        "endpoint alone: {:.2} s for the same {} requests, {in_flight} in flight; operator/endpoint = {ratio:.2} (target <= 1.25)",
        alone.as_secs_f64(),
        requests.len()
    );
    if resent > 0 {
        println!("  ({resent} of them sent again after the endpoint dropped their connection)");
    }
    println!(
        "endpoint busy during the operator's pass: {:.2} s of {:.2} s",
        recorder.busy().as_secs_f64(),
        steady.as_secs_f64()
    );
    match peak_rss_mib() {
        Some(mib) => println!("peak RSS: {mib:.1} MiB"),
        None => println!("peak RSS: not available on this platform"),
    }
    if steady_calls.writes() > 0 {
        return Err(format!(
            "steady state must not write, wrote {:?}",
            steady_calls.write_operations()
        ));
    }
    Ok(())
}

/// Sends the recorded requests again over plain HTTP/1.1 keep-alive connections, `connections` at
/// once, and returns the wall time and how many requests were sent again because the endpoint
/// dropped their connection (moto under load resets some): a reset is not the bench's failure.
async fn replay(requests: &[RecordedRequest], connections: usize) -> Result<(Duration, usize), String> {
    /// Attempts per request before a dropped connection ends the replay.
    const ATTEMPTS: usize = 4;
    let mut lanes: Vec<Vec<&RecordedRequest>> = vec![Vec::new(); connections];
    for (i, request) in requests.iter().enumerate() {
        lanes[i % connections].push(request);
    }
    let started = Instant::now();
    let results = futures::future::join_all(lanes.into_iter().map(|lane| async move {
        let mut connection: Option<(String, BufReader<TcpStream>)> = None;
        let mut resent = 0;
        for request in lane {
            let (authority, path) = split_uri(&request.uri)?;
            for attempt in 1..=ATTEMPTS {
                if connection.as_ref().is_none_or(|(a, _)| *a != authority) {
                    let stream = TcpStream::connect(&authority)
                        .await
                        .map_err(|e| format!("connect {authority}: {e}"))?;
                    connection = Some((authority.clone(), BufReader::new(stream)));
                }
                let (_, stream) = connection.as_mut().ok_or("no connection")?;
                match send(stream, &authority, path, request).await {
                    Ok(Some(keep_alive)) => {
                        if !keep_alive {
                            connection = None;
                        }
                        break;
                    }
                    // Dropped before or while answering: a new connection, the same request (the
                    // steady state it replays reads only, so sending again is safe).
                    Ok(None) | Err(_) if attempt < ATTEMPTS => {
                        connection = None;
                        resent += 1;
                    }
                    Ok(None) => return Err(format!("replay: {authority} closed the connection {ATTEMPTS} times")),
                    Err(error) => return Err(format!("replay: {error} ({ATTEMPTS} attempts)")),
                }
            }
        }
        Ok::<usize, String>(resent)
    }))
    .await;
    let resent = results.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().sum();
    Ok((started.elapsed(), resent))
}

fn split_uri(uri: &str) -> Result<(String, &str), String> {
    let rest = uri
        .strip_prefix("http://")
        .ok_or_else(|| format!("replay speaks plain HTTP only, got {uri}"))?;
    let slash = rest.find('/').unwrap_or(rest.len());
    let path = if slash == rest.len() { "/" } else { &rest[slash..] };
    Ok((rest[..slash].to_owned(), path))
}

/// One request and its whole response: `Some(keep_alive)`, or `None` when the server closed the
/// connection before answering (a kept-alive connection it had dropped).
async fn send(
    stream: &mut BufReader<TcpStream>,
    authority: &str,
    path: &str,
    request: &RecordedRequest,
) -> Result<Option<bool>, std::io::Error> {
    let mut head = format!("{} {path} HTTP/1.1\r\nhost: {authority}\r\n", request.method);
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    stream.get_mut().write_all(head.as_bytes()).await?;
    stream.get_mut().write_all(&request.body).await?;

    let (mut length, mut keep_alive, mut answered) = (None, true, false);
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(answered.then_some(false));
        }
        answered = true;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse::<usize>().ok();
        }
        if lower.starts_with("connection:") && lower.contains("close") {
            keep_alive = false;
        }
    }
    match length {
        Some(length) => {
            let mut body = vec![0; length];
            stream.read_exact(&mut body).await?;
            Ok(Some(keep_alive))
        }
        None => {
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await?;
            Ok(Some(false))
        }
    }
}
