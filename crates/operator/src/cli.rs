//! `plan` and `apply`: the engine's observe/plan/act on manifests, with no cluster involved.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use dataplatform_api::DataPlatformAccount;
use dataplatform_api::conditions::{self, Reason};
use dataplatform_aws::{AwsSettings, BudgetConfig, RetryPolicy, Sessions};
use dataplatform_engine::{AccountObject, Action, ActionKind, Engine, GrantAccounts, GrantObject, Part, Reconciled};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::manifests::Manifest;

/// Flags every command that talks to AWS shares.
#[derive(clap::Args, Clone, Debug)]
pub struct AwsArgs {
    /// Send every AWS call to this endpoint (moto, LocalStack). Without it the SDK's own
    /// AWS_ENDPOINT_URL variable still applies.
    #[arg(long, env = "DATAPLATFORM_AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// Request budget per account and AWS service: sustained calls per second.
    #[arg(long, default_value_t = BudgetConfig::default().requests_per_second)]
    pub aws_requests_per_second: f64,
    /// Request budget per account and AWS service: calls allowed at once after a quiet period.
    #[arg(long, default_value_t = BudgetConfig::default().burst)]
    pub aws_burst: u32,
    /// Attempts per AWS call, the first included, before a throttled or transiently failing call
    /// fails the pass (exponential backoff with full jitter between them, at most 20s).
    #[arg(long, default_value_t = RetryPolicy::default().max_attempts, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub aws_max_attempts: u32,
}

impl AwsArgs {
    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: self.aws_endpoint_url.clone(),
            budget: BudgetConfig {
                requests_per_second: self.aws_requests_per_second,
                burst: self.aws_burst,
            },
            retry: RetryPolicy {
                max_attempts: self.aws_max_attempts,
                ..RetryPolicy::default()
            },
            ..AwsSettings::default()
        }
    }

    pub async fn engine(&self) -> Engine {
        Engine::new(Arc::new(Sessions::from_environment(self.settings()).await))
    }
}

/// Process exit codes of `plan`, as Terraform's `-detailed-exitcode` uses them.
pub const EXIT_NO_CHANGES: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;

/// The accounts among the manifests.
pub(crate) fn accounts(manifests: &[Manifest]) -> impl Iterator<Item = &DataPlatformAccount> {
    manifests.iter().filter_map(|m| match m {
        Manifest::Account(account) => Some(account.as_ref()),
        Manifest::Grant(_) => None,
    })
}

/// Every account of the manifests as the engine reads it; an Organisation's registry lets the
/// manifests' Child accounts pull.
fn account_objects(manifests: &[Manifest]) -> Vec<AccountObject> {
    let plain: Vec<AccountObject> = accounts(manifests).map(AccountObject::from_resource).collect();
    plain.iter().cloned().map(|a| a.with_child_accounts(&plain)).collect()
}

fn grant_objects(manifests: &[Manifest]) -> Vec<GrantObject> {
    manifests
        .iter()
        .filter_map(|m| match m {
            Manifest::Grant(grant) => Some(GrantObject::from_resource(grant)),
            Manifest::Account(_) => None,
        })
        .collect()
}

fn grant_heading(grant: &GrantObject) -> String {
    format!(
        "SharedBucketGrant {} ({} of {} to account {})",
        grant.id,
        match grant.spec.access {
            dataplatform_api::Access::Read => "Read",
            dataplatform_api::Access::ReadWrite => "ReadWrite",
        },
        grant.spec.account_ref.name,
        grant.spec.grantee.account_id
    )
}

fn missing_grantor(grant: &GrantObject) -> String {
    format!(
        "spec.accountRef: DataPlatformAccount {}/{} is not among these manifests; pass its file too",
        grant.id.namespace, grant.spec.account_ref.name
    )
}

/// `90s`, `15m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 15m or 1h"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => return Err(format!("{text:?}: use s, m or h, e.g. 90s, 15m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

/// How often `apply --wait` looks again when the pass names no kind of wait.
const WAIT_POLL: Duration = Duration::from_secs(5);

/// Reconciles again until the account is Ready or `timeout` has passed; prints what it waits for
/// whenever that changes.
async fn wait_until_ready(
    engine: &Engine,
    object: &mut AccountObject,
    mut reconciled: Reconciled,
    timeout: Duration,
    out: &mut impl Write,
) -> std::io::Result<Reconciled> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_message = String::new();
    // On the schedule of what the account waits for, as the controller's passes are.
    let mut clock = dataplatform_engine::WaitClock::default();
    while !reconciled.ready && reconciled.error.is_none() {
        let message = conditions::find(&reconciled.status.conditions, conditions::READY)
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let now = tokio::time::Instant::now();
        if now >= deadline {
            writeln!(out, "{}: not Ready after {}s: {message}", object.id, timeout.as_secs())?;
            break;
        }
        if message != last_message {
            writeln!(out, "{}: waiting: {message}", object.id)?;
            last_message = message;
        }
        let wait = clock.next(reconciled.waiting_on).unwrap_or(WAIT_POLL);
        tokio::time::sleep(wait.min(deadline - now)).await;
        object.status = Some(reconciled.status.clone());
        reconciled = engine.reconcile(object, Default::default()).await;
    }
    Ok(reconciled)
}

pub async fn plan(engine: &Engine, manifests: &[Manifest], out: &mut impl Write) -> std::io::Result<u8> {
    let (mut create, mut update, mut delete, mut failed) = (0, 0, 0, false);
    let objects = account_objects(manifests);
    for object in &objects {
        writeln!(
            out,
            "DataPlatformAccount {} (account {}, {})",
            object.id, object.spec.account_id, object.spec.region
        )?;
        match engine.plan(object).await {
            Err(error) => {
                failed = true;
                writeln!(out, "  error ({}): {error}", error.reason())?;
            }
            Ok(plan) => {
                for conflict in &plan.diff.conflicts {
                    failed = true;
                    writeln!(out, "  conflict: {conflict}")?;
                }
                for refused in &plan.diff.quota_exceeded {
                    failed = true;
                    writeln!(out, "  quota exceeded: {refused}")?;
                }
                if plan.diff.plan.is_empty() && plan.diff.conflicts.is_empty() && plan.diff.quota_exceeded.is_empty() {
                    writeln!(out, "  no changes")?;
                }
                for line in plan.diff.plan.to_string().lines() {
                    writeln!(out, "  {line}")?;
                }
                for waiting in &plan.diff.waiting {
                    writeln!(out, "  waiting: {waiting}")?;
                }
                for note in &plan.diff.notes {
                    writeln!(out, "  note: {note}")?;
                }
                create += plan.diff.plan.count(ActionKind::Create);
                update += plan.diff.plan.count(ActionKind::Update);
                delete += plan.diff.plan.count(ActionKind::Delete);
            }
        }
    }
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    for grant in grant_objects(manifests) {
        writeln!(out, "{}", grant_heading(&grant))?;
        let involved = GrantAccounts::find(&grant, &objects);
        if involved.grantor.is_none() {
            failed = true;
            writeln!(out, "  error (DependencyNotReady): {}", missing_grantor(&grant))?;
            continue;
        }
        match engine.plan_grant(&grant, &involved, !grant.expired(&now)).await {
            Err(error) => {
                failed = true;
                writeln!(out, "  error ({}): {error}", error.reason())?;
            }
            Ok(planned) => {
                for conflict in &planned.plan.conflicts {
                    failed = true;
                    writeln!(out, "  conflict: {conflict}")?;
                }
                for refused in &planned.plan.quota_exceeded {
                    failed = true;
                    writeln!(out, "  quota exceeded: {refused}")?;
                }
                if planned.plan.is_empty()
                    && planned.plan.conflicts.is_empty()
                    && planned.plan.quota_exceeded.is_empty()
                {
                    writeln!(out, "  no changes")?;
                }
                for line in planned.plan.to_string().lines() {
                    writeln!(out, "  {line}")?;
                }
                if let Some(waiting) = &planned.plan.grantor_not_ready {
                    writeln!(out, "  waiting: {waiting}")?;
                }
                for action in planned.plan.actions() {
                    match action.kind {
                        ActionKind::Create => create += 1,
                        ActionKind::Update => update += 1,
                        ActionKind::Delete => delete += 1,
                    }
                }
            }
        }
    }
    writeln!(
        out,
        "\nPlan: {create} to create, {update} to update, {delete} to delete."
    )?;
    Ok(if failed {
        EXIT_FAILED
    } else if create + update + delete > 0 {
        EXIT_CHANGES
    } else {
        EXIT_NO_CHANGES
    })
}

pub async fn apply(
    engine: &Engine,
    manifests: &[Manifest],
    wait: Option<Duration>,
    out: &mut impl Write,
) -> std::io::Result<u8> {
    let mut rows = Vec::new();
    let mut failed = false;
    let mut objects = account_objects(manifests);
    for object in &mut objects {
        let id = object.id.to_string();
        let mut reconciled = apply_pass(engine, object, out).await?;
        let mut applied = reconciled.applied.clone();
        // Some actions wait for others of the same run (a service for the database endpoint): run
        // again while passes still make changes, as the controller's requeue would.
        for _ in 1..MAX_APPLY_PASSES {
            let progressed = !reconciled.applied.is_empty() || reconciled.stopped_early;
            if !progressed || reconciled.ready || reconciled.error.is_some() {
                break;
            }
            object.status = Some(reconciled.status.clone());
            reconciled = apply_pass(engine, object, out).await?;
            applied.extend(reconciled.applied.iter().cloned());
        }
        let reconciled = match wait {
            Some(timeout) => {
                let reconciled = wait_until_ready(engine, object, reconciled, timeout, out).await?;
                failed |= !reconciled.ready;
                reconciled
            }
            None => reconciled,
        };
        if let Some(error) = &reconciled.error {
            failed = true;
            writeln!(out, "{id}: error ({}): {error}", error.reason())?;
        }
        for part in dataplatform_engine::parts::present(&object.spec) {
            rows.push([
                id.clone(),
                part.as_str().to_owned(),
                part_state(&reconciled, &applied, part),
            ]);
        }
        // Grants read the account's readiness from the status this run produced.
        object.status = Some(reconciled.status);
    }
    for grant in grant_objects(manifests) {
        let (state, grant_failed) = apply_grant(engine, &grant, &objects, wait.is_some(), out).await?;
        failed |= grant_failed;
        rows.push([grant.id.to_string(), Part::Grant.as_str().to_owned(), state]);
    }
    writeln!(out)?;
    write_table(out, ["ACCOUNT", "PART", "STATE"], &rows)?;
    Ok(if failed { EXIT_FAILED } else { EXIT_NO_CHANGES })
}

/// Reconciles one grant after the accounts; returns its row's state and whether the run failed.
/// A grant waiting for its account's shared bucket fails the run only under `--wait`, as an
/// account still creating does.
async fn apply_grant(
    engine: &Engine,
    grant: &GrantObject,
    accounts: &[AccountObject],
    waited: bool,
    out: &mut impl Write,
) -> std::io::Result<(String, bool)> {
    let involved = GrantAccounts::find(grant, accounts);
    if involved.grantor.is_none() {
        writeln!(
            out,
            "{}: error (DependencyNotReady): {}",
            grant.id,
            missing_grantor(grant)
        )?;
        return Ok(("not synced: DependencyNotReady".to_owned(), true));
    }
    let reconciled = engine.reconcile_grant(grant, &involved, Default::default()).await;
    for action in &reconciled.applied {
        writeln!(out, "{}: {} ... done", grant.id, action.summary())?;
    }
    match &reconciled.error {
        Some(error) if error.reason() == Reason::DependencyNotReady => {
            writeln!(out, "{}: waiting: {error}", grant.id)?;
            return Ok(("waiting for its account's shared bucket".to_owned(), waited));
        }
        Some(error) => {
            writeln!(out, "{}: error ({}): {error}", grant.id, error.reason())?;
            return Ok((format!("not synced: {}", error.reason()), true));
        }
        None => {}
    }
    let status = &reconciled.status;
    if status.revoked_at.is_some() {
        return Ok(("revoked: spec.expiresAt has passed".to_owned(), false));
    }
    if !reconciled.ready {
        let why = conditions::find(&status.conditions, conditions::READY).map_or("", |c| c.message.as_str());
        writeln!(out, "{}: waiting: {why}", grant.id)?;
        return Ok(("waiting".to_owned(), waited));
    }
    let verb = if reconciled.applied.is_empty() {
        "in sync"
    } else {
        "granted"
    };
    let grantee = match status.grantee_role_updated {
        Some(true) => ", grantee role updated",
        _ => "",
    };
    Ok((
        format!("{verb}: {} statements{grantee}", status.statement_ids.len()),
        false,
    ))
}

/// Passes one `apply` runs at most before it reports what still waits. The longest chain of
/// passes that each wait for the last is five (the network; the Cloud Map namespace in its VPC;
/// the namespace's services; the ECS services registered in them; their scaling), and a pass a
/// lost answer cut short (it found its own create made) takes one more: eight leaves room for three.
/// Only passes that made something, or stopped to look again, count.
const MAX_APPLY_PASSES: usize = 8;

async fn apply_pass(engine: &Engine, object: &AccountObject, out: &mut impl Write) -> std::io::Result<Reconciled> {
    let mut progress = Vec::new();
    let reconciled = engine
        .reconcile_with_progress(object, Default::default(), |action| {
            progress.push(format!("{}: {} ... done", object.id, action.summary()));
        })
        .await;
    for line in progress {
        writeln!(out, "{line}")?;
    }
    Ok(reconciled)
}

/// `applied`: every action of the run, over all its passes.
fn part_state(reconciled: &Reconciled, applied: &[Action], part: Part) -> String {
    if let Some(error) = &reconciled.error {
        return format!("not synced: {}", error.reason());
    }
    if part == Part::Database {
        match reconciled.status.database.as_ref().and_then(|d| d.status.as_deref()) {
            None => return "disabled".to_owned(),
            Some("available") => {}
            Some(other) => return other.to_owned(),
        }
    }
    let of_part = |kind| applied.iter().any(|a| a.part == part && a.kind == kind);
    let state = if of_part(ActionKind::Create) {
        "created"
    } else if of_part(ActionKind::Update) || of_part(ActionKind::Delete) {
        "updated"
    } else {
        "in sync"
    };
    match (part, reconciled.status.services_running.as_deref()) {
        (Part::Compute, None) => "no services".to_owned(),
        (Part::Compute, Some(running)) => format!("{state}, {running} tasks running"),
        _ => state.to_owned(),
    }
}

fn write_table<const N: usize>(out: &mut impl Write, header: [&str; N], rows: &[[String; N]]) -> std::io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
