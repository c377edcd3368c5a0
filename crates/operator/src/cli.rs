//! `plan` and `apply`: the engine's observe/plan/act on manifests, with no cluster involved.

use std::io::Write;
use std::sync::Arc;

use dataplatform_api::DataPlatformAccount;
use dataplatform_aws::{AwsSettings, BudgetConfig, Sessions};
use dataplatform_engine::{AccountObject, ActionKind, Engine, Part, Reconciled};

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
    let mut parts = Vec::new();
    if !account.spec.services.is_empty() {
        parts.push(format!("spec.services ({})", account.spec.services.len()));
    }
    if account.spec.registry.is_some() {
        parts.push("spec.registry".to_owned());
    }
    if !parts.is_empty() {
        writeln!(out, "  note: {} not managed by this version yet", parts.join(" and "))?;
    }
    Ok(())
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

pub async fn apply(engine: &Engine, manifests: &[Manifest], out: &mut impl Write) -> std::io::Result<u8> {
    let mut rows = Vec::new();
    let mut failed = false;
    for account in accounts(manifests) {
        let object = AccountObject::from_resource(account);
        let id = object.id.to_string();
        let mut progress = Vec::new();
        let reconciled = engine
            .reconcile_with_progress(&object, Default::default(), |action| {
                progress.push(format!("{id}: {} ... done", action.summary()));
            })
            .await;
        for line in progress {
            writeln!(out, "{line}")?;
        }
        if let Some(error) = &reconciled.error {
            failed = true;
            writeln!(out, "{id}: error ({}): {error}", error.reason())?;
        }
        not_yet_managed(out, account)?;
        for part in [Part::Storage, Part::Identity, Part::Database] {
            rows.push([id.clone(), part.as_str().to_owned(), part_state(&reconciled, part)]);
        }
    }
    grants_note(out, manifests)?;
    writeln!(out)?;
    write_table(out, ["ACCOUNT", "PART", "STATE"], &rows)?;
    Ok(if failed { EXIT_FAILED } else { EXIT_NO_CHANGES })
}

fn part_state(reconciled: &Reconciled, part: Part) -> String {
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
    let of_part = |kind| reconciled.applied.iter().any(|a| a.part == part && a.kind == kind);
    if of_part(ActionKind::Create) {
        "created".to_owned()
    } else if of_part(ActionKind::Update) {
        "updated".to_owned()
    } else {
        "in sync".to_owned()
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
