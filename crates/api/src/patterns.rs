//! The formats fields must have. Each pattern is used twice from this one place: inside the CRD's
//! CEL rules (so the API server refuses bad input at admission) and by [`crate::validation`] (so
//! `plan` and `apply`, which never pass through an API server, refuse the same input). Patterns
//! avoid backslashes and quotes so they embed in CEL string literals unchanged.

pub const ACCOUNT_ID: &str = "^[0-9]{12}$";
/// An AWS Organizations id (Organizations API reference, Organization.Id).
pub const ORGANIZATION_ID: &str = "^o-[a-z0-9]{10,32}$";
pub const REGION: &str = "^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$";
pub const ROLE_ARN: &str = "^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$";
/// The characters only: its length (2 to 1224) is `minLength`/`maxLength`, since RE2, the API
/// server's regex engine, refuses counted repetition above 1000.
pub const EXTERNAL_ID: &str = "^[A-Za-z0-9+=,.@:/_-]+$";
pub const KMS_KEY_ARN: &str = "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$";
pub const SUBNET_ID: &str = "^subnet-[0-9a-f]{8,17}$";
pub const SECURITY_GROUP_ID: &str = "^sg-[0-9a-f]{8,17}$";
/// An IPv4 range of /16 to /22 (whether the address is the range's first is checked apart).
pub const IPV4_CIDR: &str = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(1[6-9]|2[0-2])$";
/// Any IPv4 range, /0 to /32 (whether the address is the range's first is checked apart).
pub const ANY_IPV4_CIDR: &str = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$";
/// A host name a listener rule matches: dot-separated DNS labels, optionally starting with `*.`.
pub const HOST_NAME: &str = "^([*][.])?[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)+$";
/// A listener rule's path pattern (case-sensitive; `*` and `?` are wildcards).
pub const PATH_PATTERN: &str = "^/[A-Za-z0-9_.~/*?&:+@$-]*$";
/// A health-check path: no wildcards.
pub const HEALTH_CHECK_PATH: &str = "^/[A-Za-z0-9_.~/&:+@$=-]*$";
pub const CERTIFICATE_ARN: &str = "^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]{1,128}$";
pub const SECRET_ARN: &str = "^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$";
/// A Route 53 hosted zone id.
pub const HOSTED_ZONE_ID: &str = "^[A-Z0-9]{1,32}$";
/// An https URL: host, optional port, optional path and query (no quotes or spaces).
pub const HTTPS_URL: &str = "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#@!$&()*+,;=%-]*)?$";
/// An OIDC client id: printable ASCII, no spaces.
pub const OIDC_CLIENT_ID: &str = "^[!-~]{1,255}$";
/// A Cognito identity provider's name (an ASCII subset of what Cognito takes).
pub const IDENTITY_PROVIDER_NAME: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{1,30}[A-Za-z0-9]$";
/// OIDC scopes separated by single spaces.
pub const OIDC_SCOPE: &str = "^[!-~]+( [!-~]+)*$";
pub const PARAMETER_ARN: &str = "^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+$";
/// A key of a secret's JSON.
/// What AWS accepts in a tag key or value across the services we tag (IAM's and S3's rule, the
/// strictest): letters, digits and spaces of any script, and `_ . : / = + - @`.
pub const TAG_TEXT: &str = "^[\\p{L}\\p{Z}\\p{N}_.:/=+@-]*$";

/// A container image as ECS takes it (ContainerDefinition.image): up to 255 letters, digits and
/// `- _ : . / #` (repository and tag), optionally followed by `@sha256:` and 64 hex digits.
pub const CONTAINER_IMAGE: &str = "^[A-Za-z0-9_.:/#-]{1,255}(@sha256:[A-Fa-f0-9]{64})?$";

pub const JSON_KEY: &str = "^[A-Za-z0-9_.-]+$";
/// A five-field cron schedule (minute hour day-of-month month day-of-week): numbers, ranges, lists
/// and steps; weekdays by name (SUN-SAT), so no one wonders whether 0 or 1 is Sunday.
pub const CRON_SCHEDULE: &str = "^([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?(,([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?)* ([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?(,([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?)* ([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?(,([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?)* ([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?(,([*]|[0-9]{1,2}(-[0-9]{1,2})?)(/[0-9]{1,2})?)* ([*]|(SUN|MON|TUE|WED|THU|FRI|SAT)(-(SUN|MON|TUE|WED|THU|FRI|SAT))?(,(SUN|MON|TUE|WED|THU|FRI|SAT)(-(SUN|MON|TUE|WED|THU|FRI|SAT))?)*)$";
/// An IANA time zone name such as Europe/London (whether it exists is checked apart).
pub const TIME_ZONE: &str = "^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$";
/// A schedule's name.
pub const SCHEDULE_NAME: &str = "^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$";
pub const ENGINE_VERSION: &str = "^[0-9]+[.][0-9]+$";
/// A private DNS name of two labels or more (Cloud Map's namespace, Route 53's private zone).
pub const DNS_NAMESPACE: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$";
pub const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// A Kubernetes object name: dot-separated DNS labels (at most 253 characters in all, checked apart).
pub const DNS_SUBDOMAIN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
pub const ENV_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]{0,254}$";
pub const LOG_GROUP: &str = "^[A-Za-z0-9_./#-]{1,512}$";
pub const ECR_REPOSITORY: &str = "^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$";
pub const PRINCIPAL_ARN: &str =
    "^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_/-]+|user/[A-Za-z0-9+=,.@_/-]+)$";

/// CEL: the string `self` matches `pattern`.
pub fn cel_matches(pattern: &str) -> String {
    format!("self.matches('{pattern}')")
}

/// CEL: every element of the list `self` (every key, for a map) matches `pattern`.
pub fn cel_all_match(pattern: &str) -> String {
    format!("self.all(x, x.matches('{pattern}'))")
}

/// Whether `value` matches `pattern` (one of the constants above).
pub fn matches(pattern: &str, value: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static COMPILED: LazyLock<Mutex<HashMap<String, regex::Regex>>> = LazyLock::new(Default::default);
    let mut compiled = COMPILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let regex = compiled.entry(pattern.to_owned()).or_insert_with(|| {
        regex::Regex::new(pattern).unwrap_or_else(|e| panic!("pattern {pattern} does not compile: {e}"))
    });
    regex.is_match(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_accept_and_refuse() {
        let cases: &[(&str, &str, bool)] = &[
            (ACCOUNT_ID, "111111111111", true),
            (ACCOUNT_ID, "11111111111", false),
            (ACCOUNT_ID, "11111111111a", false),
            (REGION, "eu-west-2", true),
            (REGION, "us-gov-west-1", true),
            (REGION, "ap-southeast-12", true),
            (REGION, "EU-WEST-2", false),
            (REGION, "europe", false),
            (ROLE_ARN, "arn:aws:iam::111111111111:role/dataplatform-operator", true),
            (ROLE_ARN, "arn:aws:iam::111111111111:user/bob", false),
            (
                KMS_KEY_ARN,
                "arn:aws:kms:eu-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                true,
            ),
            (KMS_KEY_ARN, "arn:aws:kms:eu-west-2:111111111111:alias/mine", false),
            (SUBNET_ID, "subnet-0a1b2c3d", true),
            (SUBNET_ID, "subnet-xyz", false),
            (SECURITY_GROUP_ID, "sg-0a1b2c3d", true),
            (SECURITY_GROUP_ID, "sg-1", false),
            (IPV4_CIDR, "10.20.0.0/16", true),
            (IPV4_CIDR, "192.168.4.0/22", true),
            (IPV4_CIDR, "10.20.0.0/24", false),
            (IPV4_CIDR, "10.20.0.0/15", false),
            (IPV4_CIDR, "10.256.0.0/16", false),
            (ENGINE_VERSION, "16.6", true),
            (ENGINE_VERSION, "16", false),
            (ENGINE_VERSION, "16x6", false),
            (DNS_LABEL, "daemon", true),
            (DNS_LABEL, "code-server", true),
            (DNS_LABEL, "Daemon", false),
            (DNS_LABEL, "-daemon", false),
            (DNS_SUBDOMAIN, "camden.prod-1", true),
            (DNS_SUBDOMAIN, "Camden", false),
            (DNS_SUBDOMAIN, "camden west", false),
            (DNS_SUBDOMAIN, "camden.", false),
            (ENV_NAME, "DAGSTER_HOME", true),
            (ENV_NAME, "1X", false),
            (ECR_REPOSITORY, "dagster", true),
            (ECR_REPOSITORY, "team/code-server", true),
            (ECR_REPOSITORY, "Dagster", false),
            (ECR_REPOSITORY, "a//b", false),
            (PRINCIPAL_ARN, "arn:aws:iam::999999999999:root", true),
            (PRINCIPAL_ARN, "arn:aws:iam::999999999999:role/org-daemon", true),
            (PRINCIPAL_ARN, "arn:aws:s3:::bucket", false),
            (EXTERNAL_ID, "camden-7f3a", true),
            (ORGANIZATION_ID, "o-a1b2c3d4e5", true),
            (ORGANIZATION_ID, "o-a1b2c3d4", false),
            (ORGANIZATION_ID, "r-a1b2c3d4e5", false),
            (EXTERNAL_ID, "camden 7f3a", false),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(matches(pattern, value), *expected, "{value} against {pattern}");
        }
    }

    #[test]
    fn patterns_embed_in_cel_string_literals() {
        for p in [
            ACCOUNT_ID,
            ORGANIZATION_ID,
            REGION,
            ROLE_ARN,
            EXTERNAL_ID,
            KMS_KEY_ARN,
            SUBNET_ID,
            SECURITY_GROUP_ID,
            ENGINE_VERSION,
            DNS_LABEL,
            ENV_NAME,
            ECR_REPOSITORY,
            PRINCIPAL_ARN,
        ] {
            assert!(
                !p.contains('\'') && !p.contains('\\'),
                "{p} would need escaping inside CEL"
            );
        }
    }
}
