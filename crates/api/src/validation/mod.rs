//! Checks made before any AWS call: everything the CRD schema checks at admission (the CLI's
//! `plan`/`apply` never pass an API server, and an object may predate a schema change), plus what
//! only code can check (docs/api.md, "What admission refuses"): Fargate cpu/memory pairs, a role in another account,
//! a grant to the grantor's own account. Every problem names the field and what is allowed.

mod exposure;
pub use exposure::in_zone;
mod network;
mod services;
mod user_pool;

use crate::account::{DataPlatformAccountSpec, Tier};
use crate::grant::SharedBucketGrantSpec;
use crate::meta::{MANAGED_TAGS_TAG, NO_MANAGED_TAGS, OWNER_TAG, TAG_VALUE_LIMIT, managed_tags_value, owner_tag_value};
use crate::patterns::{self, matches};

/// One thing wrong with a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// Path of the field, e.g. `spec.services[daemon].memory`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// A spec that must not reach AWS; reported as `Synced=False`, reason `InvalidSpec`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", first_few(.problems.iter().map(|p| format!("{}: {}", p.field, p.message))))]
pub struct InvalidSpec {
    pub problems: Vec<SpecProblem>,
}

/// How many problems a message names; the rest are counted. A spec with thousands of bad items
/// gets a message a person reads, not one of hundreds of kilobytes.
pub const PROBLEMS_NAMED: usize = 10;

/// The first [`PROBLEMS_NAMED`] of `problems`, joined by "; ", and how many more there are.
pub fn first_few(problems: impl IntoIterator<Item = String>) -> String {
    let mut named = Vec::new();
    let mut more = 0usize;
    for problem in problems {
        if named.len() < PROBLEMS_NAMED {
            named.push(problem);
        } else {
            more += 1;
        }
    }
    match more {
        0 => named.join("; "),
        n => format!("{}; and {n} more", named.join("; ")),
    }
}

/// The longest tag value the services we tag accept (S3, IAM, RDS, ECS, ECR alike).
pub const MAX_TAG_VALUE: usize = 256;

/// What Kubernetes requires of an object's name and namespace: `plan`/`apply` read manifests that
/// never meet an API server, and refuse what it would.
pub fn validate_object_name(namespace: &str, name: &str) -> Result<(), InvalidSpec> {
    let mut p = Problems::default();
    if name.len() > 253 || !matches(patterns::DNS_SUBDOMAIN, name) {
        p.add(
            "metadata.name",
            format!("{name:?} is not a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253 characters"),
        );
    }
    if !matches(patterns::DNS_LABEL, namespace) {
        p.add(
            "metadata.namespace",
            format!(
                "{namespace:?} is not a Kubernetes namespace: lowercase letters, digits and '-', at most 63 characters"
            ),
        );
    }
    p.finish()
}

/// Every resource carries the owner tag `namespace/name`, which must fit a tag value: checked
/// before the first write, so no pass starts what it cannot finish.
pub fn validate_owner_tag(namespace: &str, name: &str) -> Result<(), InvalidSpec> {
    let mut p = Problems::default();
    let length = owner_tag_value(namespace, name).len();
    if length > MAX_TAG_VALUE {
        p.add(
            "metadata.name",
            format!(
                "namespace/name is {length} characters, and the owner tag dataplatform.io/owner every AWS resource carries holds at most {MAX_TAG_VALUE}; use a name of at most {} characters in namespace {namespace}",
                MAX_TAG_VALUE.saturating_sub(namespace.len() + 1)
            ),
        );
    }
    p.finish()
}

#[derive(Default)]
struct Problems(Vec<SpecProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(SpecProblem {
            field: field.into(),
            message: message.into(),
        });
    }

    fn check_format(&mut self, field: impl Into<String>, value: &str, pattern: &str, what: &str) {
        if !matches(pattern, value) {
            self.add(field, format!("{value:?} is not {what}"));
        }
    }

    fn finish(self) -> Result<(), InvalidSpec> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidSpec { problems: self.0 })
        }
    }
}

/// The region and account fields of an ARN (`arn:partition:service:region:account:...`), empty
/// where it has none.
fn arn_region_account(arn: &str) -> (&str, &str) {
    let mut fields = arn.split(':').skip(3);
    (fields.next().unwrap_or_default(), fields.next().unwrap_or_default())
}

/// Fargate's valid task sizes: for each cpu value, the memory values (MiB) it accepts.
pub fn fargate_memory_for_cpu(cpu: i32) -> Option<Vec<i32>> {
    let steps = |from: i32, to: i32, step: i32| (from..=to).step_by(step as usize).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => steps(1024, 4096, 1024),
        1024 => steps(2048, 8192, 1024),
        2048 => steps(4096, 16384, 1024),
        4096 => steps(8192, 30720, 1024),
        8192 => steps(16384, 61440, 4096),
        16384 => steps(32768, 122880, 8192),
        _ => return None,
    })
}

fn describe_memory(values: &[i32]) -> String {
    let evenly_stepped = values.len() > 3 && values.windows(2).all(|w| w[1] - w[0] == values[1] - values[0]);
    match values {
        [first, second, .., last] if evenly_stepped => format!("{first} to {last} in steps of {}", second - first),
        _ => values.iter().map(i32::to_string).collect::<Vec<_>>().join(", "),
    }
}

impl DataPlatformAccountSpec {
    /// Every problem in the spec, or `Ok`.
    pub fn validate(&self) -> Result<(), InvalidSpec> {
        let mut p = Problems::default();
        self.validate_reach(&mut p);
        self.validate_parts(&mut p);
        p.finish()
    }

    /// Only what reaching the account needs (its id, region, role and external id): enough to find
    /// and delete what the object made, whatever else in the spec became invalid since.
    pub fn validate_for_deletion(&self) -> Result<(), InvalidSpec> {
        let mut p = Problems::default();
        self.validate_reach(&mut p);
        p.finish()
    }

    fn validate_reach(&self, p: &mut Problems) {
        p.check_format(
            "spec.accountId",
            &self.account_id,
            patterns::ACCOUNT_ID,
            "12 digits (quote it in YAML)",
        );
        p.check_format(
            "spec.region",
            &self.region,
            patterns::REGION,
            "an AWS region code such as eu-west-2",
        );
        if let Some(role_arn) = &self.role_arn {
            p.check_format("spec.roleArn", role_arn, patterns::ROLE_ARN, "an IAM role ARN");
            let role_account = role_arn.split(':').nth(4).unwrap_or_default();
            if matches(patterns::ROLE_ARN, role_arn) && role_account != self.account_id {
                p.add(
                    "spec.roleArn",
                    format!("the role is in account {role_account}, not in spec.accountId {}; name a role in the account this object manages", self.account_id),
                );
            }
        }
        if let Some(external_id) = &self.external_id {
            if (2..=1224).contains(&external_id.len()) {
                p.check_format(
                    "spec.externalId",
                    external_id,
                    patterns::EXTERNAL_ID,
                    "letters, digits and +=,.@:/-_ only",
                );
            } else {
                p.add("spec.externalId", "must be 2 to 1224 characters long");
            }
        }
    }

    fn validate_parts(&self, p: &mut Problems) {
        for (key, value) in &self.tags {
            let reserved = key == OWNER_TAG || key == MANAGED_TAGS_TAG || key == NO_MANAGED_TAGS;
            if key.is_empty() || key.len() > 128 || key.starts_with("aws:") || reserved || value.len() > 256 {
                p.add(
                    format!("spec.tags[{key}]"),
                    "keys must be 1-128 characters, must not start with aws: nor be dataplatform.io/owner, dataplatform.io/managed-tags or -; values at most 256 characters",
                );
            } else if !matches(patterns::TAG_TEXT, key) || !matches(patterns::TAG_TEXT, value) {
                p.add(
                    format!("spec.tags[{key}]"),
                    "keys and values may contain only letters, digits, spaces and _ . : / = + - @ (the characters AWS accepts in tags)",
                );
            } else if key.contains(' ') {
                p.add(
                    format!("spec.tags[{key}]"),
                    format!("must not contain a space: the operator records the keys it manages, space-separated, in the tag {MANAGED_TAGS_TAG}; write it with - or _"),
                );
            }
        }
        if managed_tags_value(self.tags.keys()).len() > TAG_VALUE_LIMIT {
            p.add(
                "spec.tags",
                format!(
                    "the keys, joined by spaces, must fit in {TAG_VALUE_LIMIT} characters (the operator records them in the tag {MANAGED_TAGS_TAG}); use fewer or shorter keys"
                ),
            );
        }
        self.validate_network(p);
        self.validate_storage(p);
        self.validate_database(p);
        self.validate_services(p);
        exposure::validate_exposure(self, p);
        user_pool::validate_user_pool(self, p);
        self.validate_registry(p);
        if let Some(logging) = &self.logging {
            p.check_format(
                "spec.logging.logGroup",
                &logging.log_group,
                patterns::LOG_GROUP,
                "a CloudWatch Logs group name (1-512 characters of letters, digits and _-./#)",
            );
            if !crate::account::LOG_RETENTION_DAYS.contains(&logging.retention_days) {
                p.add(
                    "spec.logging.retentionDays",
                    format!(
                        "{} is not one of CloudWatch's periods: {}",
                        logging.retention_days,
                        crate::account::LOG_RETENTION_DAYS.map(|d| d.to_string()).join(", ")
                    ),
                );
            }
        }
    }

    fn validate_network(&self, p: &mut Problems) {
        match &self.network {
            None if !self.services.is_empty() => p.add(
                "spec.network",
                "required when spec.services is not empty: set spec.network.vpc (e.g. cidr: 10.20.0.0/16) or spec.network.subnetIds and securityGroupIds",
            ),
            None => {}
            Some(network) => {
                if let Some(name) = &network.dns_namespace {
                    network::validate_dns_namespace(name, p);
                }
                self.validate_network_form(network, p);
            }
        }
    }

    fn validate_network_form(&self, network: &crate::account::NetworkSpec, p: &mut Problems) {
        match &network.vpc {
            Some(vpc) => {
                if !network.subnet_ids.is_empty() || !network.security_group_ids.is_empty() {
                    p.add(
                            "spec.network.vpc",
                            "takes either vpc (the operator builds the network) or subnetIds with securityGroupIds (a network that exists), not both",
                        );
                }
                if network.assign_public_ip {
                    p.add(
                        "spec.network.assignPublicIp",
                        "does not apply to spec.network.vpc: tasks run in its private subnets",
                    );
                }
                network::validate_vpc(vpc, p);
            }
            None => network::validate_existing_network(network, p),
        }
    }

    fn validate_storage(&self, p: &mut Problems) {
        if let Some(key) = &self.storage.kms_key_arn {
            p.check_format(
                "spec.storage.kmsKeyArn",
                key,
                patterns::KMS_KEY_ARN,
                "a KMS key ARN (aliases are not accepted)",
            );
            let (key_region, key_account) = arn_region_account(key);
            if matches(patterns::KMS_KEY_ARN, key) && key_region != self.region {
                p.add(
                    "spec.storage.kmsKeyArn",
                    format!("the key is in {key_region} but the buckets are in spec.region {}; S3 needs a key in the bucket's region", self.region),
                );
            }
            if matches(patterns::KMS_KEY_ARN, key) && key_account != self.account_id {
                p.add(
                    "spec.storage.kmsKeyArn",
                    format!(
                        "the key is in account {key_account}, not in spec.accountId {}; name a key of the account whose buckets it encrypts",
                        self.account_id
                    ),
                );
            }
        }
        if self.storage.kms_key_arn.is_some() && self.storage.encryption.is_some() {
            p.add(
                "spec.storage.encryption",
                "set either kmsKeyArn (a key you made) or encryption (S3 or Managed), not both",
            );
        }
        if !(7..=30).contains(&self.storage.key_deletion_window_days) {
            p.add(
                "spec.storage.keyDeletionWindowDays",
                "must be 7 to 30 days (KMS's waiting period)",
            );
        }
        if let Some(logs) = &self.storage.access_logs
            && !(1..=3650).contains(&logs.retention_days)
        {
            p.add("spec.storage.accessLogs.retentionDays", "must be 1 to 3650 days");
        }
        if !(0..=3650).contains(&self.storage.workspace_expiration_days) {
            p.add("spec.storage.workspaceExpirationDays", "must be 0 (never) to 3650 days");
        }
    }

    fn validate_database(&self, p: &mut Problems) {
        let db = &self.database;
        p.check_format(
            "spec.database.engineVersion",
            &db.engine_version,
            patterns::ENGINE_VERSION,
            "an aurora-postgresql version such as 16.6",
        );
        let half_steps = |v: f64| (v * 2.0).fract() == 0.0;
        if !(0.0..=256.0).contains(&db.min_capacity) || !half_steps(db.min_capacity) {
            p.add("spec.database.minCapacity", "must be 0 to 256 ACUs in steps of 0.5");
        }
        if !(1.0..=256.0).contains(&db.max_capacity) || !half_steps(db.max_capacity) {
            p.add("spec.database.maxCapacity", "must be 1 to 256 ACUs in steps of 0.5");
        }
        if db.min_capacity > db.max_capacity {
            p.add(
                "spec.database.minCapacity",
                format!(
                    "{} must not exceed spec.database.maxCapacity {}",
                    db.min_capacity, db.max_capacity
                ),
            );
        }
        if !(1..=35).contains(&db.backup_retention_days) {
            p.add("spec.database.backupRetentionDays", "must be 1 to 35 days");
        }
    }

    fn validate_registry(&self, p: &mut Problems) {
        let Some(registry) = &self.registry else { return };
        if self.tier != Tier::Organisation {
            p.add(
                "spec.registry",
                "only allowed when spec.tier is Organisation: Child accounts pull from the organisation's repositories",
            );
        }
        for (i, repository) in registry.repositories.iter().enumerate() {
            p.check_format(
                format!("spec.registry.repositories[{i}]"),
                repository,
                patterns::ECR_REPOSITORY,
                "an ECR repository name (lowercase letters and digits separated by '.', '_', '-' or '/')",
            );
        }
        if let Some(organization) = &registry.organization_id {
            p.check_format(
                "spec.registry.organizationId",
                organization,
                patterns::ORGANIZATION_ID,
                "an AWS Organizations id such as o-a1b2c3d4e5",
            );
        }
    }
}

impl SharedBucketGrantSpec {
    /// Every problem in the grant. `namespace` is the grant's own; `grantor_account_id` is the
    /// referenced account's `spec.accountId` once it is known.
    pub fn validate(&self, namespace: &str, grantor_account_id: Option<&str>) -> Result<(), InvalidSpec> {
        let mut p = Problems::default();
        if self.account_ref.name.is_empty() {
            p.add(
                "spec.accountRef.name",
                "name the DataPlatformAccount whose shared bucket is granted",
            );
        }
        if let Some(ref_namespace) = self.account_ref.namespace.as_deref().filter(|ns| *ns != namespace) {
            p.add(
                "spec.accountRef.namespace",
                format!("{ref_namespace:?} is not this grant's namespace {namespace:?}; a grant can only share an account in its own namespace"),
            );
        }
        let grantee = &self.grantee.account_id;
        p.check_format(
            "spec.grantee.accountId",
            grantee,
            patterns::ACCOUNT_ID,
            "12 digits (quote it in YAML)",
        );
        if grantor_account_id == Some(grantee.as_str()) {
            p.add(
                "spec.grantee.accountId",
                "is the grantor's own account; a grant shares the bucket with another account",
            );
        }
        for (i, principal) in self.grantee.principals.iter().enumerate() {
            let field = format!("spec.grantee.principals[{i}]");
            if !matches(patterns::PRINCIPAL_ARN, principal) {
                p.add(
                    field,
                    format!("{principal:?} is not the ARN of a role, a user or the root of an account"),
                );
            } else if principal.split(':').nth(4) != Some(grantee.as_str()) {
                p.add(field, format!("{principal:?} is outside spec.grantee.accountId {grantee}; principals must belong to the grantee account"));
            }
        }
        for (i, prefix) in self.prefixes.iter().enumerate() {
            if prefix.is_empty() || prefix.starts_with('/') || prefix.contains(['*', '?']) || prefix.len() > 1024 {
                p.add(format!("spec.prefixes[{i}]"), format!("{prefix:?} must be a key prefix such as exports/, without a leading '/' and without wildcards (* or ?)"));
            }
        }
        p.finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_whose_record_would_not_fit_in_a_tag_are_refused() {
        let base = "accountId: '123456789012'\nregion: eu-west-2\nroleArn: arn:aws:iam::123456789012:role/dataplatform-operator\ndatabase: {enabled: false}\n";
        let spec = |tags: &str| -> crate::DataPlatformAccountSpec {
            serde_yaml_ng::from_str(&format!("{base}tags: {{{tags}}}")).expect("spec")
        };
        let fields = |tags: &str| -> Vec<String> {
            spec(tags)
                .validate()
                .err()
                .map_or(vec![], |e| e.problems.into_iter().map(|p| p.field).collect())
        };
        assert!(fields("team: data, cost-centre: cc-17").is_empty());
        assert_eq!(fields("'cost centre': cc-17"), ["spec.tags[cost centre]"]);
        assert_eq!(
            fields("dataplatform.io/managed-tags: x"),
            ["spec.tags[dataplatform.io/managed-tags]"]
        );
        let long: Vec<String> = (0..3).map(|i| format!("{}{i}: v", "k".repeat(100))).collect();
        assert_eq!(fields(&long.join(", ")), ["spec.tags"], "3 keys of 101 characters");
    }

    /// A NUL byte in a tag was written to EC2 and RDS, then refused by S3 ten times (issue 37):
    /// AWS's tag characters are checked first, in keys and values alike.
    #[test]
    fn tags_with_characters_aws_refuses_are_refused_and_any_script_is_accepted() {
        let base = "accountId: '123456789012'\nregion: eu-west-2\nroleArn: arn:aws:iam::123456789012:role/dataplatform-operator\ndatabase: {enabled: false}\n";
        let fields = |tags: &str| -> Vec<String> {
            let spec: crate::DataPlatformAccountSpec =
                serde_yaml_ng::from_str(&format!("{base}tags: {{{tags}}}")).expect("spec");
            spec.validate()
                .err()
                .map_or(vec![], |e| e.problems.into_iter().map(|p| p.field).collect())
        };
        assert_eq!(fields("owner: \"a\\0b\""), ["spec.tags[owner]"], "NUL in a value");
        assert_eq!(fields("\"own#er\": x"), ["spec.tags[own#er]"], "# in a key");
        assert_eq!(fields("site: \"a;b\""), ["spec.tags[site]"]);
        assert!(fields("site: Café Zürich, path: /a/b=c+d@e:f_g.h-i, n: '42'").is_empty());
    }

    use super::*;

    #[test]
    fn names_kubernetes_refuses_and_owner_tags_too_long_for_aws_are_refused() {
        assert!(validate_object_name("la-camden", "camden").is_ok());
        for (namespace, name, field) in [
            ("la-camden", "Camden West", "metadata.name"),
            ("la-camden", "café", "metadata.name"),
            ("La_Camden", "camden", "metadata.namespace"),
        ] {
            let problems = validate_object_name(namespace, name).expect_err("refused").problems;
            assert!(problems.iter().any(|p| p.field == field), "{name}: {problems:?}");
        }
        let namespace = "n".repeat(63);
        assert!(validate_owner_tag(&namespace, &"a".repeat(192)).is_ok());
        let problems = validate_owner_tag(&namespace, &"a".repeat(193))
            .expect_err("too long")
            .problems;
        assert!(
            problems[0].field == "metadata.name" && problems[0].message.contains("at most 192"),
            "{problems:?}"
        );
    }

    /// Admission checks the range's shape only (kube's offline CEL has no CIDR library); the
    /// address being the range's first is checked here, before any AWS call.
    #[test]
    fn a_vpc_range_must_start_at_its_first_address() {
        let spec = |cidr: &str| -> crate::DataPlatformAccountSpec {
            serde_json::from_value(serde_json::json!({
                "accountId": "111111111111", "region": "eu-west-2", "network": {"vpc": {"cidr": cidr}}
            }))
            .expect("spec")
        };
        assert!(spec("10.20.0.0/16").validate().is_ok());
        let problems = spec("10.20.1.0/16").validate().expect_err("refused").problems;
        assert!(
            problems
                .iter()
                .any(|p| p.field == "spec.network.vpc.cidr" && p.message.contains("write 10.20.0.0/16")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_bucket_key_of_another_account_or_region_is_refused() {
        for (key, says) in [
            (
                "arn:aws:kms:eu-west-2:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "account 222222222222",
            ),
            (
                "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "eu-west-1",
            ),
        ] {
            let spec: DataPlatformAccountSpec = serde_json::from_value(serde_json::json!({
                "accountId": "111111111111", "region": "eu-west-2", "storage": {"kmsKeyArn": key}
            }))
            .expect("spec");
            let problems = spec.validate().expect_err("refused").problems;
            assert!(
                problems
                    .iter()
                    .any(|p| p.field == "spec.storage.kmsKeyArn" && p.message.contains(says)),
                "{problems:?}"
            );
        }
        let own: DataPlatformAccountSpec = serde_json::from_value(serde_json::json!({
            "accountId": "111111111111", "region": "eu-west-2",
            "storage": {"kmsKeyArn": "arn:aws:kms:eu-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
        }))
        .expect("spec");
        assert!(own.validate().is_ok());
    }

    #[test]
    fn fargate_sizes_are_described_as_fargate_lists_them() {
        assert_eq!(
            describe_memory(&fargate_memory_for_cpu(256).expect("256")),
            "512, 1024, 2048"
        );
        assert_eq!(
            describe_memory(&fargate_memory_for_cpu(1024).expect("1024")),
            "2048 to 8192 in steps of 1024"
        );
        assert_eq!(fargate_memory_for_cpu(300), None);
    }

    #[test]
    fn a_message_names_the_first_problems_and_counts_the_rest() {
        let problems: Vec<SpecProblem> = (0..1000)
            .map(|i| SpecProblem {
                field: format!("spec.services[s{i}].image"),
                message: "must not be empty".into(),
            })
            .collect();
        let text = InvalidSpec { problems }.to_string();
        assert!(
            text.starts_with("spec.services[s0].image: must not be empty; "),
            "{text}"
        );
        assert!(text.contains("spec.services[s9].image") && !text.contains("spec.services[s10].image"));
        assert!(text.ends_with("; and 990 more"), "{text}");
        assert_eq!(first_few(["one".to_owned()]), "one");
    }
}
