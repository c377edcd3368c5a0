//! `plan` and `apply`: the engine's observe/plan/act on manifests, with no cluster involved.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use dataplatform_api::DataPlatformAccount;
use dataplatform_api::conditions;
use dataplatform_aws::{AwsSettings, BudgetConfig, Sessions};
use dataplatform_engine::{AccountObject, Action, ActionKind, Engine, Part, Reconciled};

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
}

impl AwsArgs {
    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: self.aws_endpoint_url.clone(),
            budget: BudgetConfig {
                requests_per_second: self.aws_requests_per_second,
                burst: self.aws_burst,
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

fn accounts(manifests: &[Manifest]) -> impl Iterator<Item = &DataPlatformAccount> {
    manifests.iter().filter_map(|m| match m {
        Manifest::Account(account) => Some(account.as_ref()),
        Manifest::Grant(_) => None,
    })
}

fn not_yet_managed(out: &mut impl Write, account: &DataPlatformAccount) -> std::io::Result<()> {
    if account.spec.registry.is_some() {
        writeln!(out, "  note: spec.registry not managed by this version yet")?;
    }
    Ok(())
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

/// How often `apply --wait` looks again.
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
        tokio::time::sleep(WAIT_POLL.min(deadline - now)).await;
        object.status = Some(reconciled.status.clone());
        reconciled = engine.reconcile(object, Default::default()).await;
    }
    Ok(reconciled)
}

fn grants_note(out: &mut impl Write, manifests: &[Manifest]) -> std::io::Result<()> {
    for manifest in manifests {
        if let Manifest::Grant(grant) = manifest {
            writeln!(
                out,
                "SharedBucketGrant {}/{}: not handled by this version yet",
                grant.metadata.namespace.as_deref().unwrap_or_default(),
                grant.metadata.name.as_deref().unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

pub async fn plan(engine: &Engine, manifests: &[Manifest], out: &mut impl Write) -> std::io::Result<u8> {
    let (mut create, mut update, mut delete, mut failed) = (0, 0, 0, false);
    for account in accounts(manifests) {
        let object = AccountObject::from_resource(account);
        writeln!(
            out,
            "DataPlatformAccount {} (account {}, {})",
            object.id, object.spec.account_id, object.spec.region
        )?;
        match engine.plan(&object).await {
            Err(error) => {
                failed = true;
                writeln!(out, "  error ({}): {error}", error.reason())?;
            }
            Ok(plan) => {
                for conflict in &plan.diff.conflicts {
                    failed = true;
                    writeln!(out, "  conflict: {conflict}")?;
                }
                if plan.diff.plan.is_empty() && plan.diff.conflicts.is_empty() {
                    writeln!(out, "  no changes")?;
                }
                for line in plan.diff.plan.to_string().lines() {
                    writeln!(out, "  {line}")?;
                }
                for waiting in &plan.diff.waiting {
                    writeln!(out, "  waiting: {waiting}")?;
                }
                create += plan.diff.plan.count(ActionKind::Create);
                update += plan.diff.plan.count(ActionKind::Update);
                delete += plan.diff.plan.count(ActionKind::Delete);
            }
        }
        not_yet_managed(out, account)?;
    }
    grants_note(out, manifests)?;
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
    for account in accounts(manifests) {
        let mut object = AccountObject::from_resource(account);
        let id = object.id.to_string();
        let mut reconciled = apply_pass(engine, &object, out).await?;
        let mut applied = reconciled.applied.clone();
        // Some actions wait for others of the same run (a service for the database endpoint): run
        // again while passes still make changes, as the controller's requeue would.
        for _ in 1..MAX_APPLY_PASSES {
            if reconciled.applied.is_empty() || reconciled.ready || reconciled.error.is_some() {
                break;
            }
            object.status = Some(reconciled.status.clone());
            reconciled = apply_pass(engine, &object, out).await?;
            applied.extend(reconciled.applied.iter().cloned());
        }
        let reconciled = match wait {
            Some(timeout) => {
                let reconciled = wait_until_ready(engine, &mut object, reconciled, timeout, out).await?;
                failed |= !reconciled.ready;
                reconciled
            }
            None => reconciled,
        };
        if let Some(error) = &reconciled.error {
            failed = true;
            writeln!(out, "{id}: error ({}): {error}", error.reason())?;
        }
        not_yet_managed(out, account)?;
        for part in [Part::Storage, Part::Identity, Part::Database, Part::Compute] {
            rows.push([
                id.clone(),
                part.as_str().to_owned(),
                part_state(&reconciled, &applied, part),
            ]);
        }
    }
    grants_note(out, manifests)?;
    writeln!(out)?;
    write_table(out, ["ACCOUNT", "PART", "STATE"], &rows)?;
    Ok(if failed { EXIT_FAILED } else { EXIT_NO_CHANGES })
}

/// Passes one `apply` runs at most before it reports what still waits.
const MAX_APPLY_PASSES: usize = 4;

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
