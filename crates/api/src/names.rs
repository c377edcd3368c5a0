//! Deterministic AWS names. Every name is a pure function of the object's identity, so a restart,
//! a second replica or the `apply` command finds the same resources again instead of making new
//! ones. A readable part (the object's name, cut to [`SLUG_MAX`]) helps people in the AWS console;
//! a hash of the full identity keeps two objects apart even when their readable parts are equal
//! after cutting.

use sha2::{Digest, Sha256};

/// Longest readable part; with the hash and a suffix every name stays inside its service's limit.
pub const SLUG_MAX: usize = 32;
const HASH_LEN: usize = 8;

/// The three buckets of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketPurpose {
    /// Intermediate files; objects expire after `storage.workspaceExpirationDays`.
    Workspace,
    /// Where users' uploads land.
    Datastore,
    /// What the account shares with others through SharedBucketGrants.
    Shared,
}

impl BucketPurpose {
    pub const ALL: [BucketPurpose; 3] = [
        BucketPurpose::Workspace,
        BucketPurpose::Datastore,
        BucketPurpose::Shared,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BucketPurpose::Workspace => "workspace",
            BucketPurpose::Datastore => "datastore",
            BucketPurpose::Shared => "shared",
        }
    }
}

/// Names of everything one `DataPlatformAccount` makes in its AWS account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountNames {
    slug: String,
    hash: String,
}

impl AccountNames {
    /// `account_id` is part of the identity because bucket names are global: the same
    /// namespace/name in two clusters managing two accounts must not claim the same buckets.
    pub fn new(namespace: &str, name: &str, account_id: &str) -> Self {
        Self {
            slug: slug(name),
            hash: short_hash(&format!("{namespace}/{name}@{account_id}")),
        }
    }

    /// S3 bucket: 3-63 characters, lowercase letters, digits and '-'.
    pub fn bucket(&self, purpose: BucketPurpose) -> String {
        format!("{}-{}-{}", self.slug, purpose.as_str(), self.hash)
    }

    /// The bucket the three buckets' server access logs go to (`spec.storage.accessLogs`).
    pub fn access_log_bucket(&self) -> String {
        format!("{}-logs-{}", self.slug, self.hash)
    }

    /// The alias of the KMS key the operator makes for the buckets (`alias/` included).
    pub fn bucket_key_alias(&self) -> String {
        format!("alias/dataplatform/{}-{}", self.slug, self.hash)
    }

    /// IAM role ECS uses to pull images and read the secrets it injects.
    pub fn task_execution_role(&self) -> String {
        format!("{}-{}-task-execution", self.slug, self.hash)
    }

    /// IAM role the containers run as.
    pub fn task_role(&self) -> String {
        format!("{}-{}-task", self.slug, self.hash)
    }

    /// IAM role the services with `launchesRuns` run as: the task role's rights and launching runs.
    pub fn run_launcher_role(&self) -> String {
        format!("{}-{}-launcher", self.slug, self.hash)
    }

    /// Aurora cluster identifier: must start with a letter, so a slug that starts with a digit gets
    /// a `db-` prefix.
    pub fn db_cluster(&self) -> String {
        let prefix = if self.slug.starts_with(|c: char| c.is_ascii_digit()) {
            "db-"
        } else {
            ""
        };
        format!("{prefix}{}-{}-db", self.slug, self.hash)
    }

    /// The one `db.serverless` instance of the cluster.
    pub fn db_instance(&self) -> String {
        format!("{}-1", self.db_cluster())
    }

    /// What the network's resource names (`Name` tags, security-group names) start with.
    pub fn network(&self) -> String {
        format!("{}-{}", self.slug, self.hash)
    }

    /// The database's DB subnet group.
    pub fn db_subnet_group(&self) -> String {
        format!("{}-{}-db", self.slug, self.hash)
    }

    /// ECS cluster.
    pub fn ecs_cluster(&self) -> String {
        format!("{}-{}", self.slug, self.hash)
    }

    /// ECS service: scoped to our own cluster, so the spec's service name (a DNS-1123 label) is
    /// already unique and stays readable.
    pub fn ecs_service(&self, service: &str) -> String {
        service.to_owned()
    }

    /// Application Load Balancer of one scheme: at most 32 characters of letters, digits and '-',
    /// not starting with `internal-` (ELB keeps that prefix for its DNS names).
    pub fn load_balancer(&self, scheme: crate::exposure::Scheme) -> String {
        let suffix = match scheme {
            crate::exposure::Scheme::Internal => "int",
            crate::exposure::Scheme::InternetFacing => "ext",
        };
        let slug = cut(&self.slug, 14);
        let prefix = if slug.starts_with("internal") { "dp-" } else { "" };
        format!("{prefix}{slug}-{}-{suffix}", self.hash)
    }

    /// What every target group of the account is named with first (how leftovers are found).
    pub fn target_group_prefix(&self) -> String {
        format!("dp{}-", self.hash)
    }

    /// Target group of one exposed service: at most 32 characters; the service's readable part is
    /// cut, and a hash of its full name and `variant` (what ELB cannot change in place: port and
    /// protocol) keeps two services, and two versions of one, apart.
    pub fn target_group(&self, service: &str, variant: &str) -> String {
        format!(
            "{}{}-{}",
            self.target_group_prefix(),
            cut(service, 14),
            &short_hash(&format!("{service}:{variant}"))[..6]
        )
    }

    /// The Cognito user pool of spec.userPool (names need not be unique: it is found by this and
    /// its owner tag).
    pub fn user_pool(&self) -> String {
        format!("{}-{}", self.slug, self.hash)
    }

    /// Task-definition family: families are account-wide, so it carries the account's identity.
    pub fn task_family(&self, service: &str) -> String {
        format!("{}-{}-{}", self.slug, self.hash, service)
    }
}

/// ECR repository names are chosen by the user (images are pulled by them) and used verbatim;
/// the schema checks them against ECR's rules.
pub fn ecr_repository(name: &str) -> String {
    name.to_owned()
}

/// Names of what one `SharedBucketGrant` owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantNames {
    hash: String,
}

impl GrantNames {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            hash: long_hash(&format!("{namespace}/{name}")),
        }
    }

    /// Sid of a bucket-policy statement the grant owns; `part` tells the grant's statements apart
    /// (for example "List" and "Objects"). Sids allow only letters and digits.
    pub fn statement_id(&self, part: &str) -> String {
        let part: String = part.chars().filter(char::is_ascii_alphanumeric).collect();
        format!("{}{}{}", GRANT_SID_PREFIX, self.hash, part)
    }

    /// Whether a Sid belongs to this grant.
    pub fn owns_statement(&self, sid: &str) -> bool {
        sid.strip_prefix(GRANT_SID_PREFIX)
            .is_some_and(|rest| rest.starts_with(&self.hash))
    }

    /// Name of the KMS grant on the grantor's key.
    pub fn kms_grant(&self) -> String {
        format!("dataplatform-{}", self.hash)
    }

    /// Name of the inline policy earlier versions wrote, one per grant, on a grantee Organisation's
    /// task role; the Organisation's pass removes any it finds.
    pub fn grantee_policy(&self) -> String {
        format!("{GRANTEE_POLICY_PREFIX}{}", self.hash)
    }
}

/// Every Sid a grant owns starts with this; statements without it are never touched.
/// Environment variables `databaseAccess: true` sets (Dagster's own names for its PostgreSQL
/// settings), and the one it injects as an ECS secret from the master secret's `password` key.
pub const DATABASE_HOST_ENV: &str = "DAGSTER_PG_HOST";
pub const DATABASE_PORT_ENV: &str = "DAGSTER_PG_PORT";
pub const DATABASE_NAME_ENV: &str = "DAGSTER_PG_DB";
pub const DATABASE_USERNAME_ENV: &str = "DAGSTER_PG_USERNAME";
pub const DATABASE_PASSWORD_SECRET: &str = "DAGSTER_PG_PASSWORD";
pub const DATABASE_VARIABLES: [&str; 5] = [
    DATABASE_HOST_ENV,
    DATABASE_PORT_ENV,
    DATABASE_NAME_ENV,
    DATABASE_USERNAME_ENV,
    DATABASE_PASSWORD_SECRET,
];

/// Every variable the operator sets in each service's container (besides `DAGSTER_PG_*`) starts
/// with this, and `env` and `secrets` may not use it: what a Dagster instance reads to launch runs
/// and find its code server (docs/dagster.md lists them).
pub const PLATFORM_ENV_PREFIX: &str = "DATAPLATFORM_";

/// The name of the variable holding `what` (`ECS_CLUSTER`, or a service's `CODE_SERVER_HOST`).
pub fn platform_env(what: &str) -> String {
    format!("{PLATFORM_ENV_PREFIX}{}", what.replace('-', "_").to_uppercase())
}

/// Inline policies a grant puts on a grantee's task role start with this.
pub const GRANTEE_POLICY_PREFIX: &str = "dataplatform-grant-";
pub const GRANT_SID_PREFIX: &str = "DataPlatformGrant";
/// Sid of the repository-policy statement that lets the managed Child accounts pull.
pub const REGISTRY_PULL_SID: &str = "DataPlatformChildAccountsPull";
/// Sid of the statement that denies non-TLS access to every bucket.
pub const DENY_INSECURE_TRANSPORT_SID: &str = "DataPlatformDenyInsecureTransport";

/// At most `max` characters, without a trailing '-'.
fn cut(name: &str, max: usize) -> String {
    let mut out: String = name.chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn slug(name: &str) -> String {
    let mut out = String::with_capacity(SLUG_MAX);
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(SLUG_MAX);
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "dp".to_owned()
    } else {
        out.to_owned()
    }
}

fn hex_digest(input: &str) -> String {
    Sha256::digest(input.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn short_hash(input: &str) -> String {
    hex_digest(input)[..HASH_LEN].to_owned()
}

fn long_hash(input: &str) -> String {
    hex_digest(input)[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = "a-very-long-account-name-that-goes-on-and-on-well-past-thirty-two-characters";

    fn samples() -> Vec<AccountNames> {
        vec![
            AccountNames::new("la-camden", "camden", "111111111111"),
            AccountNames::new("ns", LONG, "222222222222"),
            AccountNames::new("ns", "9lives", "333333333333"),
            AccountNames::new("ns", "x", "444444444444"),
            AccountNames::new("ns", "a.b--c", "555555555555"),
            AccountNames::new(&"n".repeat(63), &"m".repeat(253), "666666666666"),
        ]
    }

    fn is_bucket_name(n: &str) -> bool {
        (3..=63).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && n.starts_with(|c: char| c.is_ascii_alphanumeric())
            && n.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !n.starts_with("xn--")
            && !n.starts_with("sthree-")
            && !n.ends_with("-s3alias")
            && !n.ends_with("--ol-s3")
    }

    fn is_iam_role_name(n: &str) -> bool {
        (1..=64).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    }

    fn is_rds_identifier(n: &str) -> bool {
        (1..=63).contains(&n.len())
            && n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !n.ends_with('-')
            && !n.contains("--")
    }

    fn is_ecs_name(n: &str) -> bool {
        (1..=255).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    #[test]
    fn every_name_follows_its_service_rules() {
        for names in samples() {
            for purpose in BucketPurpose::ALL {
                let bucket = names.bucket(purpose);
                assert!(is_bucket_name(&bucket), "bucket {bucket}");
            }
            for role in [names.task_execution_role(), names.task_role()] {
                assert!(is_iam_role_name(&role), "role {role}");
            }
            for id in [names.db_cluster(), names.db_instance()] {
                assert!(is_rds_identifier(&id), "rds {id}");
            }
            assert!(is_ecs_name(&names.ecs_cluster()));
            let longest_service = "s".repeat(63);
            assert!(is_ecs_name(&names.task_family(&longest_service)));
            assert!(is_ecs_name(&names.ecs_service(&longest_service)));
            // ELB: 1-32 letters, digits and '-', not starting or ending with '-', nor `internal-`.
            let is_elb_name = |n: &str| {
                (1..=32).contains(&n.len())
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !n.starts_with('-')
                    && !n.ends_with('-')
                    && !n.starts_with("internal-")
            };
            for scheme in crate::exposure::Scheme::ALL {
                let lb = names.load_balancer(scheme);
                assert!(is_elb_name(&lb), "load balancer {lb}");
            }
            for service in [longest_service.as_str(), "a", "frontend-with-a-long-name-"] {
                let group = names.target_group(service, "8080:http");
                assert!(is_elb_name(&group), "target group {group}");
                assert!(group.starts_with(&names.target_group_prefix()));
            }
            assert_ne!(
                names.target_group("frontend-with-a-long-name-1", "80:http"),
                names.target_group("frontend-with-a-long-name-2", "80:http")
            );
            assert_ne!(names.target_group("a", "80:http"), names.target_group("a", "81:http"));
        }
        let internal = AccountNames::new("ns", "internal-tools", "111111111111");
        assert!(
            internal
                .load_balancer(crate::exposure::Scheme::Internal)
                .starts_with("dp-internal")
        );
    }

    #[test]
    fn names_are_stable_for_the_same_object() {
        let a = AccountNames::new("la-camden", "camden", "111111111111");
        let b = AccountNames::new("la-camden", "camden", "111111111111");
        assert_eq!(a, b);
        // Pinned: a change here renames every resource of every existing account.
        assert_eq!(
            a.bucket(BucketPurpose::Shared),
            format!("camden-shared-{}", short_hash("la-camden/camden@111111111111"))
        );
        assert_eq!(&short_hash("la-camden/camden@111111111111"), "dd14cfb6");
    }

    #[test]
    fn distinct_objects_get_distinct_names() {
        let a = AccountNames::new("ns-a", "camden", "111111111111");
        let b = AccountNames::new("ns-b", "camden", "111111111111");
        let c = AccountNames::new("ns-a", "camden", "222222222222");
        for (x, y) in [(&a, &b), (&a, &c), (&b, &c)] {
            assert_ne!(x.bucket(BucketPurpose::Workspace), y.bucket(BucketPurpose::Workspace));
            assert_ne!(x.task_role(), y.task_role());
            assert_ne!(x.db_cluster(), y.db_cluster());
            assert_ne!(x.ecs_cluster(), y.ecs_cluster());
            assert_ne!(x.task_family("daemon"), y.task_family("daemon"));
        }
    }

    #[test]
    fn names_differing_only_after_truncation_stay_distinct() {
        let a = AccountNames::new("ns", &format!("{LONG}-one"), "111111111111");
        let b = AccountNames::new("ns", &format!("{LONG}-two"), "111111111111");
        assert_eq!(a.slug, b.slug, "the readable parts are cut to the same text");
        assert_ne!(a.bucket(BucketPurpose::Datastore), b.bucket(BucketPurpose::Datastore));
        assert_ne!(a.task_execution_role(), b.task_execution_role());
        assert_ne!(a.db_instance(), b.db_instance());
    }

    #[test]
    fn bucket_purposes_get_distinct_buckets() {
        let names = AccountNames::new("ns", "camden", "111111111111");
        let mut buckets: Vec<_> = BucketPurpose::ALL.iter().map(|p| names.bucket(*p)).collect();
        buckets.dedup();
        assert_eq!(buckets.len(), 3);
    }

    #[test]
    fn slug_keeps_only_safe_characters() {
        assert_eq!(slug("Camden_Council..2"), "camden-council-2");
        assert_eq!(slug("--x--"), "x");
        assert_eq!(slug("---"), "dp");
        assert_eq!(slug(LONG).len(), SLUG_MAX, "a long name is cut to exactly SLUG_MAX");
        assert!(!slug(&format!("{}-b", "a".repeat(SLUG_MAX - 1))).ends_with('-'));
    }

    #[test]
    fn grant_sids_are_alphanumeric_and_owned_per_grant() {
        let g = GrantNames::new("la-camden", "camden-to-region");
        let other = GrantNames::new("la-camden", "camden-to-other");
        let sid = g.statement_id("Objects-Read");
        assert!(sid.chars().all(|c| c.is_ascii_alphanumeric()), "{sid}");
        assert!(g.owns_statement(&sid));
        assert!(!other.owns_statement(&sid));
        assert!(!g.owns_statement("AllowHandWritten"));
        assert!(!g.owns_statement(DENY_INSECURE_TRANSPORT_SID));
        assert_ne!(g.kms_grant(), other.kms_grant());
        assert_ne!(g.grantee_policy(), other.grantee_policy());
        assert!(g.grantee_policy().len() <= 128);
    }
}
