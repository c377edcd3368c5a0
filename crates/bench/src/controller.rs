//! `dataplatform-bench --controller`: the operator's `run` in its own process, against the in-memory API server (served here
//! over HTTP on a local port) holding the mix's accounts and grants, and moto. Prints the time until
//! every object is Ready, AWS calls per object to get there and per pass in steady state (from the
//! process's /metrics), the Kubernetes writes in steady state, and the process's peak RSS and its
//! growth per tenant (an account and its grants). The RSS is the `run` process's alone: the API
//! server and its objects live in the bench's process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::scrape::{AwsCalls, aws_calls, failed_passes, metrics_text, reconciles, wait_for_metrics};
use super::{BenchArgs, Mix, mix};
use dataplatform_memory_api_server::ApiServer;
use dataplatform_operator::cli::AwsArgs;

pub(crate) const ACCOUNTS: &str = "dataplatformaccounts";
pub(crate) const GRANTS: &str = "sharedbucketgrants";
/// `run`'s resync interval in the bench: longer than the bench, so every pass it counts is one it
/// started itself (an object's progress, or the check below), not a resync.
const RESYNC: &str = "2h";
/// The annotation whose change asks every object for one pass: the steady-state check. Any
/// annotation change starts a pass (as a label would); this one means nothing to the operator.
const CHECK_ANNOTATION: &str = "bench.dataplatform.io/check";

pub async fn run(args: &BenchArgs, aws: &AwsArgs) -> Result<(), String> {
    let endpoint = aws
        .aws_endpoint_url
        .clone()
        .ok_or("bench creates hundreds of resources: point it at moto with --aws-endpoint-url")?;
    let mix = args.mix.unwrap_or(Mix::Shares);
    if mix == Mix::Real {
        return Err(
            "--controller waits for every object to be Ready, and moto starts no ECS task: use --mix shares or plain"
                .into(),
        );
    }
    let mix::Objects { accounts, grants } = mix::objects(mix, args.accounts, "eu-west-2");
    let api = ServedApi::start("controller").await?;
    let (server, kubeconfig) = (&api.server, &api.kubeconfig);
    let metrics = free_port()?;
    println!(
        "bench --controller: {} tenant accounts ({:?} mix), {} grants; `run` in its own process, {} objects of each kind at a time",
        args.accounts,
        mix,
        grants.len(),
        args.concurrency
    );

    // The operator's binary, built beside this one (scripts/bench builds both).
    let exe = operator_binary()?;
    // A profiler to start `run` under, e.g. `heaptrack -o /tmp/run` (the RSS is then the profiler's).
    let wrapper = std::env::var("DATAPLATFORM_BENCH_RUN_WRAPPER").unwrap_or_default();
    let mut command = wrapper.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    command.push(exe.display().to_string());
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .args([
            "run",
            "--http-address",
            &metrics.to_string(),
            "--resync-interval",
            RESYNC,
        ])
        .args([
            "--concurrency",
            &args.concurrency.to_string(),
            "--aws-endpoint-url",
            &endpoint,
        ])
        .args(["--aws-requests-per-second", &aws.aws_requests_per_second.to_string()])
        .args(["--aws-burst", &aws.aws_burst.to_string()])
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()))
        .kill_on_drop(true)
        // Its own process group, so a profiler's process and `run` under it stop together.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting `run`: {e}"))?;
    let pid = child.id().ok_or("`run` exited at once")?;
    let result = measure(server, pid, metrics, accounts, grants).await;
    stop(&mut child, pid).await;
    api.stop();
    result
}

/// The in-memory API server served on a local port, and a kubeconfig for `run` that points at it.
pub(crate) struct ServedApi {
    pub server: ApiServer,
    pub kubeconfig: PathBuf,
    workdir: PathBuf,
    serving: tokio::task::JoinHandle<()>,
}

impl ServedApi {
    pub async fn start(bench: &str) -> Result<Self, String> {
        let server = ApiServer::new(false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("a port for the API server: {e}"))?;
        let api_address = listener.local_addr().map_err(|e| e.to_string())?;
        let serving = tokio::spawn(server.clone().serve(listener));
        let workdir = std::env::temp_dir().join(format!("dataplatform-bench-{bench}-{}", std::process::id()));
        let kubeconfig = write_kubeconfig(&workdir, api_address)?;
        Ok(Self {
            server,
            kubeconfig,
            workdir,
            serving,
        })
    }

    pub fn stop(self) {
        self.serving.abort();
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

async fn measure(
    server: &ApiServer,
    pid: u32,
    metrics: std::net::SocketAddr,
    accounts: Vec<dataplatform_engine::AccountObject>,
    grants: Vec<dataplatform_engine::GrantObject>,
) -> Result<(), String> {
    // Idle, with nothing to reconcile: what every added object is measured against.
    wait_for_metrics(metrics).await?;
    let idle = process_memory_mib(pid, "VmRSS:").unwrap_or_default();
    let tenants = accounts
        .iter()
        .filter(|a| a.spec.tier == dataplatform_api::Tier::Child)
        .count()
        .max(1);
    let objects = accounts.len() + grants.len();
    for account in &accounts {
        server.create(ACCOUNTS, object("DataPlatformAccount", &account.id, &account.spec));
    }
    for grant in &grants {
        server.create(GRANTS, object("SharedBucketGrant", &grant.id, &grant.spec));
    }

    let started = Instant::now();
    let deadline = started + Duration::from_secs(3600);
    let mut last_report = Instant::now();
    loop {
        let waiting = not_ready(server);
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} objects not Ready after an hour, e.g. {}",
                waiting.len(),
                waiting[0]
            ));
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            println!(
                "  {:.0} s: {} of {objects} objects not Ready, e.g. {}",
                started.elapsed().as_secs_f64(),
                waiting.len(),
                waiting[0]
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let to_ready = started.elapsed();
    let created = aws_calls(metrics).await?;
    println!(
        "all {objects} objects Ready in {:.1} s; to get there {:.1} AWS calls per object ({:.1} reads, {:.1} writes), {:.1} per tenant with its grants",
        to_ready.as_secs_f64(),
        created.total() as f64 / objects as f64,
        created.reads() as f64 / objects as f64,
        created.writes() as f64 / objects as f64,
        created.total() as f64 / tenants as f64,
    );

    let failed = failed_passes(&metrics_text(metrics).await?);
    if !failed.is_empty() {
        println!(
            "  passes that failed on the way, and were retried: {}",
            failed.join(", ")
        );
    }

    // Steady state: one pass of every account, then of every grant, none of which may write; the
    // status writes of the passes that made objects Ready are let finish first. The first round
    // only clears the "N change(s) made" of the pass that made the last changes (one status write
    // per object that had no pass since): the second is the steady state.
    settle(server).await;
    for plural in [ACCOUNTS, GRANTS] {
        check_every(server, metrics, plural).await?;
    }
    settle(server).await;
    let writes_before = server.counts().writes;
    let per_account = check_every(server, metrics, ACCOUNTS).await?;
    let per_grant = check_every(server, metrics, GRANTS).await?;
    let kubernetes_writes = server.counts().writes - writes_before;
    println!(
        "steady state, one pass of each: per account {:.1} AWS reads and {} writes, per grant {:.1} reads and {} writes; {kubernetes_writes} Kubernetes writes",
        per_account.reads() as f64 / accounts.len() as f64,
        per_account.writes(),
        per_grant.reads() as f64 / grants.len().max(1) as f64,
        per_grant.writes(),
    );
    println!(
        "  reads per account, the most made: {}",
        per_account.most_made(6, accounts.len() as f64)
    );
    let steady_writes = per_account.writes() + per_grant.writes();
    report_memory(pid, idle, tenants);
    if steady_writes > 0 || kubernetes_writes > 0 {
        let writes = server.recent_writes();
        let skip = writes.len().saturating_sub(kubernetes_writes as usize);
        return Err(format!(
            "steady state must not write; the last Kubernetes writes: {:?}",
            &writes[skip..]
        ));
    }
    Ok(())
}

/// Until 3 s pass without a Kubernetes write.
async fn settle(server: &ApiServer) {
    let mut writes = server.counts().writes;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = server.counts().writes;
        if now == writes {
            return;
        }
        writes = now;
    }
}

/// Asks every object of `plural` for one pass (an annotation change, as someone's edit would)
/// and returns the AWS calls those passes made.
async fn check_every(server: &ApiServer, metrics: std::net::SocketAddr, plural: &str) -> Result<AwsCalls, String> {
    let of_kind = |passes: (f64, f64)| if plural == ACCOUNTS { passes.0 } else { passes.1 };
    let (calls_before, passes_before) = (aws_calls(metrics).await?, of_kind(reconciles(metrics).await?));
    let names = server.tally(plural, |o| {
        let text = |field: &str| o["metadata"][field].as_str().unwrap_or_default().to_owned();
        (text("namespace"), text("name"))
    });
    for (namespace, name) in &names {
        server.touch(plural, namespace, name, |o| {
            let round = o["metadata"]["annotations"][CHECK_ANNOTATION]
                .as_str()
                .map_or(0, |r| r.parse().unwrap_or(0));
            o["metadata"]["annotations"][CHECK_ANNOTATION] = json!((round + 1).to_string())
        });
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    let count = names.len();
    while of_kind(reconciles(metrics).await?) < passes_before + count as f64 {
        if Instant::now() > deadline {
            return Err(format!(
                "the check passes of {count} {plural} did not finish in 30 minutes"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(aws_calls(metrics).await?.since(&calls_before))
}

/// SIGTERM to `run`'s process group (it finishes its passes and exits), SIGKILL after 30 s.
pub(crate) async fn stop(child: &mut tokio::process::Child, pid: u32) {
    let group = format!("-{pid}");
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", "--", &group])
        .status()
        .await;
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        let _ = tokio::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .await;
        let _ = child.wait().await;
    }
}

/// The object as `kubectl apply` leaves it: with its own copy in an annotation.
pub(crate) fn object(kind: &str, id: &dataplatform_engine::ObjectId, spec: &impl serde::Serialize) -> Value {
    let mut applied = json!({
        "apiVersion": "dataplatform.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": id.name, "namespace": id.namespace},
        "spec": spec,
    });
    let copy = applied.to_string();
    applied["metadata"]["annotations"] = json!({dataplatform_operator::controller::watches::LEFT_OUT_OF_CACHE: copy});
    applied
}

/// The objects whose Ready condition is not True (or that have none yet), with its message.
fn not_ready(server: &ApiServer) -> Vec<String> {
    let read = |object: &Value| {
        let conditions = object["status"]["conditions"].as_array();
        let ready = conditions.and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
        match ready {
            Some(ready) if ready["status"] == "True" => None,
            Some(ready) => Some(format!("{}: {}", object["metadata"]["name"], ready["message"])),
            None => Some(format!("{}: no status yet", object["metadata"]["name"])),
        }
    };
    let mut waiting: Vec<String> = server.tally(ACCOUNTS, read).into_iter().flatten().collect();
    waiting.extend(server.tally(GRANTS, read).into_iter().flatten());
    waiting
}

fn write_kubeconfig(dir: &std::path::Path, api: std::net::SocketAddr) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("kubeconfig");
    let config = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: bench\nclusters:\n- name: bench\n  cluster:\n    server: http://{api}\n\
         contexts:\n- name: bench\n  context:\n    cluster: bench\n    user: bench\n    namespace: bench\nusers:\n- name: bench\n  user: {{}}\n"
    );
    std::fs::write(&path, config).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

pub(crate) fn free_port() -> Result<std::net::SocketAddr, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a port for /metrics: {e}"))
}

/// A line of /proc/PID/status in MiB.
fn process_memory_mib(pid: u32, field: &str) -> Option<f64> {
    super::memory_mib_of(&PathBuf::from(format!("/proc/{pid}/status")), field)
}

fn report_memory(pid: u32, idle: f64, tenants: usize) {
    let field = |name: &str| process_memory_mib(pid, name);
    match (field("VmHWM:"), field("VmRSS:")) {
        (Some(peak), Some(now)) => {
            println!(
                "`run` peak RSS: {peak:.1} MiB; resident {idle:.1} MiB idle, {now:.1} MiB in steady state \
                 ({:.0} KiB per tenant with its grants over idle, the passes' fixed share included: \
                 compare two sizes for the cost of one more)",
                (now - idle) * 1024.0 / tenants as f64
            );
            if let (Some(heap), Some(mapped)) = (field("RssAnon:"), field("RssFile:")) {
                println!("  of that {heap:.1} MiB anonymous (heap, stacks), {mapped:.1} MiB the binary and libraries");
            }
        }
        _ => println!("`run` RSS: not available on this platform"),
    }
}

/// `dataplatform-operator` in the directory this binary runs from.
pub(crate) fn operator_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding the bench's own path: {e}"))?;
    let operator = exe.with_file_name(format!("dataplatform-operator{}", std::env::consts::EXE_SUFFIX));
    if operator.is_file() {
        Ok(operator)
    } else {
        Err(format!(
            "{} is missing: build it with the bench (`cargo build -p dataplatform-operator -p dataplatform-bench`, as scripts/bench does)",
            operator.display()
        ))
    }
}
