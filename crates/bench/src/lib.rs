//! The benchmark (`dataplatform-bench`, run by scripts/bench; not in the operator's binary): N tenant accounts (and, in the real mix, their grants and the
//! Organisation account) against a local endpoint (moto). Prints the time to converge, AWS calls per
//! object to create and in a steady-state pass (reads/writes), the peak RSS and how much the
//! resident memory grew per 100 accounts, and the steady-state pass replayed against the endpoint
//! alone (the same HTTP requests, as many in flight as the operator had), so the operator's share of
//! the time is visible.

mod controller;
mod mix;
mod ready;
mod replay;
mod scrape;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dataplatform_aws::recorder::RequestRecorder;
use dataplatform_aws::{CallCounts, Sessions};
use dataplatform_engine::{AccountObject, Engine, GrantAccounts, GrantObject, ObjectId, ReconcileError};
use futures::StreamExt;

use dataplatform_operator::cli::AwsArgs;
pub use mix::Mix;

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// How many tenant DataPlatformAccounts (each its own AWS account).
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
    /// Objects reconciled at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// `real` (the engine's default): each tenant with a managed network, a database, three services
    /// (one exposed) and two grants to an Organisation account with a registry. `plain`: buckets,
    /// roles and a database. `shares` (the default with --controller): plain tenants with the real
    /// mix's grants and Organisation account.
    #[arg(long, value_enum)]
    pub mix: Option<Mix>,
    /// Measure `run` (its own process, over an in-memory API server) instead of the engine alone:
    /// time until every object is Ready, calls per object, steady state, and the process's RSS.
    #[arg(long)]
    pub controller: bool,
    /// Issue 36's scenario (an Organisation, a Child with a database and three services, a grant)
    /// through `run` with ECS's scheduler played by the bench: per object the time to Ready, the
    /// operator's share of it, its passes and the AWS calls spent waiting.
    #[arg(long, conflicts_with_all = ["controller", "mix", "accounts"])]
    pub time_to_ready: bool,
}

/// Passes over the accounts until none changes anything and all are ready.
const ACCOUNT_PASSES: usize = 8;
/// Passes over the grants (each waits for its accounts, already converged).
const GRANT_PASSES: usize = 3;

/// What one pass over a kind left to do.
#[derive(Default)]
struct Tally {
    /// Objects that made changes, or met a transient error: the next pass looks again.
    unsettled: usize,
    /// The transient errors met (throttling, a connection moto dropped), reported, not fatal.
    transient: Vec<String>,
}

impl Tally {
    /// One object's outcome; any error but a transient one ends the bench.
    fn add(&mut self, id: &ObjectId, applied: bool, error: Option<&ReconcileError>) -> Result<(), String> {
        match error {
            Some(error) if error.is_transient() => {
                self.unsettled += 1;
                self.transient.push(format!("{id}: {error}"));
            }
            Some(error) => return Err(format!("{id}: {error}")),
            None if applied => self.unsettled += 1,
            None => {}
        }
        Ok(())
    }
}

/// One reconcile of every account, `concurrency` at a time. Readiness is not waited for: moto
/// starts no ECS task (the tests play its scheduler), so accounts with services stay "0 of 1 tasks
/// running"; the bench reports how many are not Ready.
async fn account_pass(engine: &Engine, accounts: &mut [AccountObject], concurrency: usize) -> Result<Tally, String> {
    let results: Vec<_> = futures::stream::iter(accounts.iter().cloned().enumerate())
        .map(|(i, object)| async move { (i, engine.reconcile(&object, Default::default()).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut tally = Tally::default();
    for (i, reconciled) in results {
        tally.add(
            &accounts[i].id,
            !reconciled.applied.is_empty(),
            reconciled.error.as_ref(),
        )?;
        accounts[i].status = Some(reconciled.status);
    }
    Ok(tally)
}

/// One reconcile of every grant, as [`account_pass`].
async fn grant_pass(
    engine: &Engine,
    grants: &mut [GrantObject],
    accounts: &[AccountObject],
    concurrency: usize,
) -> Result<Tally, String> {
    let results: Vec<_> = futures::stream::iter(grants.iter().cloned().enumerate())
        .map(|(i, grant)| async move {
            let involved = GrantAccounts::find(&grant, accounts);
            (i, engine.reconcile_grant(&grant, &involved, Default::default()).await)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut tally = Tally::default();
    for (i, reconciled) in results {
        tally.add(&grants[i].id, !reconciled.applied.is_empty(), reconciled.error.as_ref())?;
        grants[i].status = Some(reconciled.status);
    }
    Ok(tally)
}

/// How many accounts are not Ready, and why the first of them is not.
fn not_ready(accounts: &[AccountObject]) -> (usize, String) {
    let waiting: Vec<String> = accounts
        .iter()
        .filter_map(|a| {
            let conditions = a.status.as_ref().map_or(&[][..], |s| s.conditions.as_slice());
            let ready = dataplatform_api::conditions::find(conditions, dataplatform_api::conditions::READY)?;
            (ready.status != "True").then(|| ready.message.clone())
        })
        .collect();
    (waiting.len(), waiting.into_iter().next().unwrap_or_default())
}

fn per_object(counts: &CallCounts, objects: usize) -> String {
    let n = objects.max(1) as f64;
    format!(
        "{:.1} calls ({:.1} reads, {:.1} writes)",
        counts.total() as f64 / n,
        counts.reads() as f64 / n,
        counts.writes() as f64 / n
    )
}

/// A line of /proc/self/status in MiB: `VmHWM` (peak resident) or `VmRSS` (resident now).
fn memory_mib(field: &str) -> Option<f64> {
    memory_mib_of(std::path::Path::new("/proc/self/status"), field)
}

/// A line of a /proc/PID/status file in MiB.
fn memory_mib_of(status: &std::path::Path, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Counted calls of one phase: what `phase` made, then the counter starts again.
async fn counted<T>(sessions: &Sessions, phase: impl Future<Output = T>) -> (T, CallCounts) {
    sessions.counter().reset();
    let result = phase.await;
    (result, sessions.counter().snapshot())
}

pub async fn run(args: &BenchArgs, aws: &AwsArgs) -> Result<(), String> {
    if args.controller {
        return controller::run(args, aws).await;
    }
    if args.time_to_ready {
        return ready::run(aws).await;
    }
    let mix = args.mix.unwrap_or(Mix::Real);
    let resident_before = memory_mib("VmRSS:");
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
    let mix::Objects { mut accounts, grants } = mix::objects(mix, args.accounts, "eu-west-2");
    // The Organisation's registry lets every tenant pull (the controller fills this from its cache).
    let children = dataplatform_engine::account::child_account_ids(accounts.iter().map(|a| &a.spec));
    for account in &mut accounts {
        account.child_accounts = children.clone();
    }
    println!(
        "bench: {} tenant accounts ({:?} mix), {} grants, {} objects at a time, endpoint {}",
        args.accounts,
        mix,
        grants.len(),
        args.concurrency,
        sessions.endpoint_url().unwrap_or_default()
    );

    let mut fleet = Fleet {
        engine: &engine,
        sessions: &sessions,
        concurrency: args.concurrency,
        accounts,
        grants,
    };
    fleet.converge().await?;
    recorder.reset();
    let steady = fleet.steady_state().await?;
    compare_with_endpoint(&recorder, steady).await?;
    fleet.report_quotas().await?;
    report_memory(resident_before, fleet.accounts.len());
    Ok(())
}

/// What the bench reconciles, and with what.
struct Fleet<'a> {
    engine: &'a Engine,
    sessions: &'a Sessions,
    concurrency: usize,
    accounts: Vec<AccountObject>,
    grants: Vec<GrantObject>,
}

impl Fleet<'_> {
    /// Account passes until nothing is left to make, then grant passes; prints the time and calls.
    async fn converge(&mut self) -> Result<(), String> {
        let Self {
            engine,
            sessions,
            concurrency,
            accounts,
            grants,
        } = self;
        let started = Instant::now();
        let mut transient = Vec::new();
        let (passes, account_calls) = counted(
            sessions,
            until_settled(ACCOUNT_PASSES, "accounts", &mut transient, async || {
                account_pass(engine, accounts, *concurrency).await
            }),
        )
        .await;
        let passes = passes?;
        let (grant_passes, grant_calls) = counted(
            sessions,
            until_settled(GRANT_PASSES, "grants", &mut transient, async || {
                grant_pass(engine, grants, accounts, *concurrency).await
            }),
        )
        .await;
        let grant_passes = grant_passes?;
        println!(
            "converge: {:.2} s in {passes} account and {grant_passes} grant passes; to create, per account {}",
            started.elapsed().as_secs_f64(),
            per_object(&account_calls, accounts.len())
        );
        if !grants.is_empty() {
            println!("  per grant {}", per_object(&grant_calls, grants.len()));
        }
        report_transient("converging", &transient);
        if let (waiting @ 1.., why) = not_ready(accounts) {
            println!("  {waiting} accounts not Ready (moto starts no ECS task), e.g.: {why}");
        }
        Ok(())
    }

    /// One pass over every account and grant, which must read only; returns how long it took.
    async fn steady_state(&mut self) -> Result<Duration, String> {
        let started = Instant::now();
        let (checked, steady_accounts) = counted(
            self.sessions,
            account_pass(self.engine, &mut self.accounts, self.concurrency),
        )
        .await;
        let mut transient = checked?.transient;
        let (checked, steady_grants) = counted(
            self.sessions,
            grant_pass(self.engine, &mut self.grants, &self.accounts, self.concurrency),
        )
        .await;
        transient.extend(checked?.transient);
        let steady = started.elapsed();
        println!(
            "steady state: {:.2} s; per account {}",
            steady.as_secs_f64(),
            per_object(&steady_accounts, self.accounts.len())
        );
        if !self.grants.is_empty() {
            println!("  per grant {}", per_object(&steady_grants, self.grants.len()));
        }
        report_transient("the steady-state pass (its counts include the retries)", &transient);
        if steady_accounts.writes() + steady_grants.writes() > 0 {
            let mut operations = steady_accounts.write_operations();
            operations.extend(steady_grants.write_operations());
            return Err(format!("steady state must not write, wrote {operations:?}"));
        }
        Ok(steady)
    }
}

impl Fleet<'_> {
    /// The largest value of each AWS quota found in what the fleet left in AWS (issue 30): every
    /// document and count measured as AWS counts it, read back from the endpoint.
    async fn report_quotas(&self) -> Result<(), String> {
        let measured: Vec<_> = futures::stream::iter(&self.accounts)
            .map(|account| async move { (account, self.engine.quota_use(account).await) })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut used = dataplatform_aws::QuotaUse::default();
        for (account, measured) in measured {
            used.merge(measured.map_err(|e| format!("{}: measuring quotas: {e}", account.id))?);
        }
        println!("quotas: the largest value measured of each, against AWS's default");
        for (quota, largest, place) in used.iter() {
            println!(
                "  {:<38} {largest:>6} of {:>6} {} ({:.0}%), at {place}",
                quota.name,
                quota.default,
                quota.counting.unit(),
                100.0 * *largest as f64 / quota.default as f64
            );
        }
        for quota in dataplatform_aws::quotas::ALL {
            if !used.iter().any(|(measured, _, _)| measured.name == quota.name) {
                println!("  {:<38} nothing of its kind in the fleet", quota.name);
            }
        }
        let over: Vec<String> = used
            .iter()
            .filter(|(quota, largest, _)| *largest > quota.default)
            .map(|(quota, largest, place)| format!("{} {largest} at {place}", quota.name))
            .collect();
        if !over.is_empty() {
            return Err(format!("past AWS's quota: {over:?}"));
        }
        Ok(())
    }
}

/// `pass` until one leaves nothing to do, at most `limit` times; returns how many it took. The
/// transient errors met are kept in `transient`.
async fn until_settled(
    limit: usize,
    what: &str,
    transient: &mut Vec<String>,
    mut pass: impl AsyncFnMut() -> Result<Tally, String>,
) -> Result<usize, String> {
    for n in 1..=limit {
        let tally = pass().await?;
        transient.extend(tally.transient);
        if tally.unsettled == 0 {
            return Ok(n);
        }
    }
    Err(format!("{what} not settled after {limit} passes"))
}

/// The steady-state requests sent again to the endpoint alone: the operator's share of the time.
async fn compare_with_endpoint(recorder: &RequestRecorder, steady: Duration) -> Result<(), String> {
    let requests = recorder.requests();
    let in_flight = recorder.peak_in_flight().max(1);
    let (alone, resent) = replay::replay(&requests, in_flight).await?;
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
    Ok(())
}

/// Transient errors are the endpoint's, not the bench's failure: say how many and the first.
fn report_transient(during: &str, errors: &[String]) {
    if let Some(first) = errors.first() {
        println!(
            "  {} transient errors while {during}, looked at again: e.g. {first}",
            errors.len()
        );
    }
}

fn report_memory(resident_before: Option<f64>, accounts: usize) {
    match (memory_mib("VmHWM:"), memory_mib("VmRSS:"), resident_before) {
        (Some(peak), Some(now), Some(before)) => {
            let per_account = (now - before) * 1024.0 / accounts.max(1) as f64;
            println!(
                "peak RSS: {peak:.1} MiB; resident {before:.1} MiB before the first session, {now:.1} MiB after \
                 ({per_account:.0} KiB per account, the fixed costs included: compare two sizes for the slope)"
            );
        }
        _ => println!("peak RSS: not available on this platform"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transient_error_is_looked_at_again_and_any_other_ends_the_bench() {
        let id = ObjectId {
            namespace: "bench".into(),
            name: "tenant-0".into(),
        };
        let mut tally = Tally::default();
        tally.add(&id, false, None).expect("settled");
        tally.add(&id, true, None).expect("made something");
        let waiting = ReconcileError::DependencyNotReady("moto dropped the connection".into());
        tally
            .add(&id, false, Some(&waiting))
            .expect("transient: not the bench's failure");
        assert_eq!(tally.unsettled, 2);
        assert_eq!(tally.transient.len(), 1);
        let conflict = ReconcileError::Conflict(vec!["someone's bucket".into()]);
        assert!(tally.add(&id, false, Some(&conflict)).is_err());
    }
}
