//! What `plan` shows until the engine compares with AWS: for each manifest, whether it is valid
//! and the AWS resources (by their deterministic names) the operator would keep for it.

use std::fmt::Write;

use dataplatform_api::names::{AccountNames, BucketPurpose, GrantNames};
use dataplatform_api::{DataPlatformAccount, SharedBucketGrant, Tier};

use crate::manifests::Manifest;

/// The preview as text; `Err` holds the same text when any manifest is invalid.
pub fn render(manifests: &[Manifest]) -> Result<String, String> {
    let mut out = String::new();
    let mut invalid = false;
    for manifest in manifests {
        let problems = match manifest {
            Manifest::Account(account) => account_preview(&mut out, account),
            Manifest::Grant(grant) => grant_preview(&mut out, grant, manifests),
        };
        if let Err(problems) = problems {
            invalid = true;
            let _ = writeln!(out, "  InvalidSpec: nothing would be changed for this object");
            for problem in problems.problems {
                let _ = writeln!(out, "    {}: {}", problem.field, problem.message);
            }
        }
        out.push('\n');
    }
    if invalid { Err(out) } else { Ok(out) }
}

fn namespace_and_name(meta: &kube::core::ObjectMeta) -> (&str, &str) {
    (
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default(),
    )
}

fn account_preview(out: &mut String, account: &DataPlatformAccount) -> Result<(), dataplatform_api::InvalidSpec> {
    let (namespace, name) = namespace_and_name(&account.metadata);
    let spec = &account.spec;
    let _ = writeln!(
        out,
        "DataPlatformAccount {namespace}/{name} (account {}, {}, {:?})",
        spec.account_id, spec.region, spec.tier
    );
    spec.validate()?;
    let names = AccountNames::new(namespace, name, &spec.account_id);
    let mut line = |kind: &str, value: String| {
        let _ = writeln!(out, "  {kind:<22} {value}");
    };
    for purpose in BucketPurpose::ALL {
        line("s3 bucket", names.bucket(purpose));
    }
    line("iam role", names.task_execution_role());
    line("iam role", names.task_role());
    if spec.database.enabled {
        line(
            "rds cluster",
            format!(
                "{} (aurora-postgresql {})",
                names.db_cluster(),
                spec.database.engine_version
            ),
        );
        line("rds instance", format!("{} (db.serverless)", names.db_instance()));
    }
    if !spec.services.is_empty() {
        line("ecs cluster", names.ecs_cluster());
    }
    for service in &spec.services {
        line(
            "ecs service",
            format!(
                "{} (family {}, {} replicas, {:?})",
                names.ecs_service(&service.name),
                names.task_family(&service.name),
                service.replicas,
                service.capacity
            ),
        );
    }
    if spec.tier == Tier::Organisation {
        for repository in spec.registry.iter().flat_map(|r| &r.repositories) {
            line("ecr repository", dataplatform_api::names::ecr_repository(repository));
        }
    }
    Ok(())
}

fn grant_preview(
    out: &mut String,
    grant: &SharedBucketGrant,
    manifests: &[Manifest],
) -> Result<(), dataplatform_api::InvalidSpec> {
    let (namespace, name) = namespace_and_name(&grant.metadata);
    let spec = &grant.spec;
    let _ = writeln!(
        out,
        "SharedBucketGrant {namespace}/{name} ({} -> {}, {:?})",
        spec.account_ref.name, spec.grantee.account_id, spec.access
    );
    let grantor = manifests.iter().find_map(|m| match m {
        Manifest::Account(a) if namespace_and_name(&a.metadata) == (namespace, spec.account_ref.name.as_str()) => {
            Some(a)
        }
        _ => None,
    });
    spec.validate(namespace, grantor.map(|a| a.spec.account_id.as_str()))?;
    let names = GrantNames::new(namespace, name);
    match grantor {
        Some(account) => {
            let bucket = AccountNames::new(namespace, &spec.account_ref.name, &account.spec.account_id)
                .bucket(BucketPurpose::Shared);
            let _ = writeln!(out, "  {:<22} {bucket}", "shared bucket");
        }
        None => {
            let _ = writeln!(
                out,
                "  waits for DataPlatformAccount {namespace}/{} (not in these manifests)",
                spec.account_ref.name
            );
        }
    }
    let _ = writeln!(out, "  {:<22} {}*", "policy statements", names.statement_id(""));
    Ok(())
}
