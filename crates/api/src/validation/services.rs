//! `spec.services[]`: names, images, Fargate sizes, environment, secrets and the database wiring.

use std::collections::BTreeSet;

use super::{Problems, describe_memory, fargate_memory_for_cpu};
use crate::account::DataPlatformAccountSpec;
use crate::names::{DATABASE_VARIABLES, PLATFORM_ENV_PREFIX};

/// Why a variable under `DATAPLATFORM_` is refused.
const OPERATORS_VARIABLE: &str = "is under DATAPLATFORM_, where the operator tells each service about the platform (docs/dagster.md); choose another name";
use crate::patterns::{self, matches};

impl DataPlatformAccountSpec {
    pub(super) fn validate_services(&self, p: &mut Problems) {
        let mut seen = BTreeSet::new();
        for service in &self.services {
            let at = format!("spec.services[{}]", service.name);
            p.check_format(
                format!("{at}.name"),
                &service.name,
                patterns::DNS_LABEL,
                "a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
            );
            if !seen.insert(service.name.as_str()) {
                p.add(
                    format!("{at}.name"),
                    "service names must be unique; two services share this name",
                );
            }
            if service.image.trim().is_empty() {
                p.add(
                    format!("{at}.image"),
                    "name a container image, e.g. 999999999999.dkr.ecr.eu-west-2.amazonaws.com/dagster:1.9.0",
                );
            } else {
                p.check_format(
                    format!("{at}.image"),
                    &service.image,
                    patterns::CONTAINER_IMAGE,
                    "an image ECS takes: up to 255 letters, digits and -_:./# (repository and tag), optionally followed by @sha256: and 64 hex digits",
                );
            }
            match fargate_memory_for_cpu(service.cpu) {
                None => p.add(
                    format!("{at}.cpu"),
                    format!(
                        "{} is not a Fargate cpu value; use 256, 512, 1024, 2048, 4096, 8192 or 16384",
                        service.cpu
                    ),
                ),
                Some(allowed) if !allowed.contains(&service.memory) => p.add(
                    format!("{at}.memory"),
                    format!(
                        "{} MiB is not valid with cpu {}; Fargate allows {} MiB",
                        service.memory,
                        service.cpu,
                        describe_memory(&allowed)
                    ),
                ),
                Some(_) => {}
            }
            if !(0..=1000).contains(&service.replicas) {
                p.add(format!("{at}.replicas"), "must be 0 (scaled to zero) to 1000");
            }
            if service.port.is_some_and(|port| !(1..=65535).contains(&port)) {
                p.add(format!("{at}.port"), "must be 1 to 65535");
            }
            for name in service.env.keys() {
                p.check_format(
                    format!("{at}.env[{name}]"),
                    name,
                    patterns::ENV_NAME,
                    "an environment variable name (letters, digits, '_', not starting with a digit)",
                );
                if name.starts_with(PLATFORM_ENV_PREFIX) {
                    p.add(format!("{at}.env[{name}]"), OPERATORS_VARIABLE);
                }
            }
            if service.database_access {
                for name in DATABASE_VARIABLES
                    .iter()
                    .filter(|name| service.env.contains_key(**name))
                {
                    p.add(
                        format!("{at}.env[{name}]"),
                        "is set by databaseAccess: true; remove it from env, or set databaseAccess: false to wire the database yourself",
                    );
                }
            }
            self.validate_secrets(service, &at, p);
            if let Some(scaling) = &service.scaling {
                validate_scaling(scaling, service.replicas, &at, p);
            }
            if service.database_access && !self.database.enabled {
                p.add(
                    format!("{at}.databaseAccess"),
                    "needs spec.database.enabled: true; there is no database to connect to",
                );
            }
        }
    }

    /// Each secret: one source, an ARN in this account and region, a name no other variable has.
    fn validate_secrets(&self, service: &crate::ServiceSpec, at: &str, p: &mut Problems) {
        let mut names = BTreeSet::new();
        for (i, secret) in service.secrets.iter().enumerate() {
            let field = format!("{at}.secrets[{i}]");
            p.check_format(
                format!("{field}.name"),
                &secret.name,
                patterns::ENV_NAME,
                "an environment variable name (letters, digits, '_', not starting with a digit)",
            );
            if secret.name.starts_with(PLATFORM_ENV_PREFIX) {
                p.add(format!("{field}.name"), OPERATORS_VARIABLE);
            }
            if !names.insert(secret.name.as_str()) {
                p.add(format!("{field}.name"), "another secret sets this variable");
            }
            if service.env.contains_key(&secret.name) {
                p.add(
                    format!("{field}.name"),
                    "is also set in env: a variable comes from one place; remove it from env",
                );
            }
            if service.database_access && DATABASE_VARIABLES.contains(&secret.name.as_str()) {
                p.add(
                    format!("{field}.name"),
                    "is a DAGSTER_PG_* variable databaseAccess: true sets; choose another name",
                );
            }
            let (arn, pattern, what) = match (&secret.secret_arn, &secret.parameter_arn) {
                (Some(arn), None) => (arn, patterns::SECRET_ARN, "a Secrets Manager secret ARN"),
                (None, Some(arn)) => (arn, patterns::PARAMETER_ARN, "an SSM parameter ARN"),
                _ => {
                    p.add(
                        format!("{field}.secretArn"),
                        "set exactly one of secretArn and parameterArn",
                    );
                    continue;
                }
            };
            let arn_field = format!(
                "{field}.{}",
                if secret.secret_arn.is_some() {
                    "secretArn"
                } else {
                    "parameterArn"
                }
            );
            if !matches(pattern, arn) {
                p.add(arn_field, format!("{arn:?} is not {what}"));
                continue;
            }
            let (region, account) = super::arn_region_account(arn);
            if region != self.region || account != self.account_id {
                p.add(
                    arn_field,
                    format!(
                        "is in account {account} region {region}; a task reads secrets of its own account and region ({} {}): copy the secret there",
                        self.account_id, self.region
                    ),
                );
            }
            if let Some(key) = &secret.json_key {
                if secret.secret_arn.is_none() {
                    p.add(
                        format!("{field}.jsonKey"),
                        "picks a key of a Secrets Manager secret's JSON; it needs secretArn",
                    );
                }
                p.check_format(
                    format!("{field}.jsonKey"),
                    key,
                    patterns::JSON_KEY,
                    "a JSON key of letters, digits and '_', '.' or '-'",
                );
            }
        }
    }
}

/// Bounds, schedules (cron fields that exist, in a time zone that exists) and the CPU target.
fn validate_scaling(scaling: &crate::ScalingSpec, replicas: i32, at: &str, p: &mut Problems) {
    let at = format!("{at}.scaling");
    if !(0..=1000).contains(&scaling.min_replicas) || !(1..=1000).contains(&scaling.max_replicas) {
        p.add(
            format!("{at}.minReplicas"),
            "minReplicas must be 0 to 1000 and maxReplicas 1 to 1000",
        );
    }
    if scaling.min_replicas > scaling.max_replicas {
        p.add(format!("{at}.minReplicas"), "must not exceed maxReplicas");
    }
    let within = |n: i32| (scaling.min_replicas..=scaling.max_replicas).contains(&n);
    if !within(replicas) {
        p.add(
            format!("{at}.replicas"),
            format!("replicas {replicas} (the count at creation) must lie within [minReplicas, maxReplicas]"),
        );
    }
    if scaling.cpu_target_percent.is_some_and(|t| !(10..=90).contains(&t)) {
        p.add(format!("{at}.cpuTargetPercent"), "must be 10 to 90");
    }
    let mut names = BTreeSet::new();
    for (i, schedule) in scaling.schedules.iter().enumerate() {
        let field = format!("{at}.schedules[{i}]");
        p.check_format(
            format!("{field}.name"),
            &schedule.name,
            patterns::SCHEDULE_NAME,
            "lowercase letters, digits and '-', at most 32",
        );
        if !names.insert(schedule.name.as_str()) {
            p.add(
                format!("{field}.name"),
                "another schedule of this service has this name",
            );
        }
        if !within(schedule.replicas) {
            p.add(
                format!("{field}.replicas"),
                "must lie within [minReplicas, maxReplicas]",
            );
        }
        if !matches(patterns::CRON_SCHEDULE, &schedule.cron) {
            p.add(
                format!("{field}.cron"),
                format!(
                    "{:?} is not five cron fields such as \"0 8 * * MON-FRI\" (weekdays by name)",
                    schedule.cron
                ),
            );
        } else if let Err(error) = schedule.cron.parse::<croner::Cron>() {
            p.add(format!("{field}.cron"), format!("{:?}: {error}", schedule.cron));
        } else {
            let fields: Vec<&str> = schedule.cron.split(' ').collect();
            if fields[2] != "*" && fields[4] != "*" {
                p.add(
                    format!("{field}.cron"),
                    "sets both day-of-month and day-of-week, which Application Auto Scaling cannot run: keep one of them *",
                );
            }
        }
        if schedule.time_zone.parse::<chrono_tz::Tz>().is_err() {
            p.add(
                format!("{field}.timeZone"),
                format!(
                    "{:?} is not an IANA time zone such as Europe/London or UTC",
                    schedule.time_zone
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    /// What admission cannot check: a secret of another account or region.
    #[test]
    fn secrets_of_another_account_or_region_are_refused() {
        let spec = |arn: &str| -> crate::DataPlatformAccountSpec {
            serde_yaml_ng::from_str(&format!(
                "accountId: '111111111111'\nregion: eu-west-2\nnetwork: {{vpc: {{cidr: 10.20.0.0/16}}}}\nservices:\n- {{name: a, image: x, cpu: 256, memory: 512, secrets: [{{name: KEY, secretArn: '{arn}'}}]}}\n"
            ))
            .expect("spec")
        };
        assert!(
            spec("arn:aws:secretsmanager:eu-west-2:111111111111:secret:a-AbCdEf")
                .validate()
                .is_ok()
        );
        for arn in [
            "arn:aws:secretsmanager:eu-west-1:111111111111:secret:a-AbCdEf",
            "arn:aws:secretsmanager:eu-west-2:222222222222:secret:a-AbCdEf",
        ] {
            let problems = spec(arn).validate().expect_err("refused").problems;
            assert!(
                problems
                    .iter()
                    .any(|p| p.field == "spec.services[a].secrets[0].secretArn"
                        && p.message.contains("its own account and region")),
                "{arn}: {problems:?}"
            );
        }
    }
}

#[cfg(test)]
mod scaling_tests {
    /// What admission cannot check: cron fields out of range, both day fields, unknown time zones.
    #[test]
    fn schedules_aws_cannot_run_are_refused() {
        let spec = |cron: &str, zone: &str| -> crate::DataPlatformAccountSpec {
            serde_yaml_ng::from_str(&format!(
                "accountId: '111111111111'\nregion: eu-west-2\nnetwork: {{vpc: {{cidr: 10.20.0.0/16}}}}\nservices:\n- {{name: a, image: x, cpu: 256, memory: 512, scaling: {{minReplicas: 0, maxReplicas: 2, schedules: [{{name: s, cron: '{cron}', timeZone: '{zone}', replicas: 1}}]}}}}\n"
            ))
            .expect("spec")
        };
        assert!(spec("0 8 * * MON-FRI", "Europe/London").validate().is_ok());
        for (cron, zone, field) in [
            ("0 25 * * *", "UTC", "cron"),
            ("0 8 1 * MON", "UTC", "cron"),
            ("0 8 * * *", "Europe/Camden", "timeZone"),
        ] {
            let problems = spec(cron, zone).validate().expect_err("refused").problems;
            let want = format!("spec.services[a].scaling.schedules[0].{field}");
            assert!(problems.iter().any(|p| p.field == want), "{cron} {zone}: {problems:?}");
        }
    }
}
