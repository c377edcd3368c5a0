//! AWS's size and count quotas on what the operator writes, each counted the way AWS counts it.
//! moto enforces none of them, so every document is measured here before it is sent, and a write
//! that would not fit is never made (issue 30). Where AWS lets an account raise a quota and reports
//! the applied value through an API (IAM's GetAccountSummary), that value is read once per account
//! ([`AccountQuotas`]) instead of the default assumed.

use std::fmt;

/// How AWS counts what a quota limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// IAM: "IAM doesn't count white space when calculating the size of a policy against these
    /// quotas" (IAM User Guide, IAM and AWS STS quotas).
    NonWhitespaceCharacters,
    /// Characters of the document as sent (ECR's repository policy).
    Characters,
    /// Bytes of the document as sent, UTF-8 (S3's bucket policy, ECS's task definition).
    Bytes,
    /// Items (rules, tags, target groups).
    Items,
}

impl Counting {
    pub fn unit(self) -> &'static str {
        match self {
            Counting::NonWhitespaceCharacters => "characters (white space not counted)",
            Counting::Characters => "characters",
            Counting::Bytes => "bytes",
            Counting::Items => "items",
        }
    }

    /// The size of `text` as AWS counts it; for [`Counting::Items`] count the items instead.
    pub fn measure(self, text: &str) -> usize {
        match self {
            Counting::NonWhitespaceCharacters => text.chars().filter(|c| !c.is_whitespace()).count(),
            Counting::Characters => text.chars().count(),
            Counting::Bytes | Counting::Items => text.len(),
        }
    }
}

/// One AWS quota: its default value, what it limits, how AWS counts, where AWS says so, and what a
/// person can do when it is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// A short name used in messages, status and the bench (`iam.role-inline-policies`).
    pub name: &'static str,
    /// What is limited, in words.
    pub limits: &'static str,
    pub default: usize,
    pub counting: Counting,
    /// Where AWS states the number.
    pub source: &'static str,
    /// Whether the account may ask AWS for more.
    pub adjustable: bool,
    /// What a person can do when a write would pass it.
    pub fix: &'static str,
}

pub const IAM_ROLE_INLINE_POLICIES: Quota = Quota {
    name: "iam.role-inline-policies",
    limits: "all inline policies of one IAM role together",
    default: 10_240,
    counting: Counting::NonWhitespaceCharacters,
    source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (role policy size; GetAccountSummary RolePolicySizeQuota)",
    adjustable: false,
    fix: "the operator's inline policy and any written by hand share this: remove inline policies written by hand from the role (attach managed policies instead), or name fewer secrets and parameters in spec.services[].secrets",
};

pub const IAM_ROLE_TRUST_POLICY: Quota = Quota {
    name: "iam.role-trust-policy",
    limits: "one IAM role's trust policy",
    default: 2_048,
    counting: Counting::NonWhitespaceCharacters,
    source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (role trust policy length; GetAccountSummary AssumeRolePolicySizeQuota)",
    adjustable: true,
    fix: "remove statements written by hand from the role's trust policy, or ask AWS (Service Quotas) to raise the role trust policy length",
};

pub const S3_BUCKET_POLICY: Quota = Quota {
    name: "s3.bucket-policy",
    limits: "one S3 bucket's policy",
    default: 20 * 1024,
    counting: Counting::Bytes,
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html (bucket policies are limited to 20 KB)",
    adjustable: false,
    fix: "every SharedBucketGrant on this bucket adds two statements to its policy: give fewer grantees access to this bucket, join grants to one grantee into one grant with several prefixes, or remove statements written by hand",
};

pub const ECR_REPOSITORY_POLICY: Quota = Quota {
    name: "ecr.repository-policy",
    limits: "one ECR repository's policy",
    default: 10_240,
    counting: Counting::Characters,
    source: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html (repository policy length)",
    adjustable: false,
    fix: "set spec.registry.organizationId so the pull statement names the AWS Organization instead of every Child account, or remove statements written by hand",
};

pub const TAGS_PER_RESOURCE: Quota = Quota {
    name: "tags-per-resource",
    limits: "user tags on one resource (EC2, S3, IAM, RDS, ECS, ECR, ELB, CloudWatch Logs alike)",
    default: 50,
    counting: Counting::Items,
    source: "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (maximum 50 user-created tags per resource)",
    adjustable: false,
    fix: "use fewer spec.tags (the operator adds two of its own)",
};

pub const SECURITY_GROUP_INBOUND_RULES: Quota = Quota {
    name: "ec2.security-group-inbound-rules",
    limits: "inbound rules of one security group",
    default: 60,
    counting: Counting::Items,
    source: "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html (inbound or outbound rules per security group)",
    adjustable: true,
    fix: "a load balancer's group admits every range of spec.services[].expose.allowedCidrs of its scheme on each listener port: name fewer distinct ranges (a VPN's one range, not each office's), or ask AWS (Service Quotas) to raise inbound rules per security group (the operator checks the default)",
};

pub const ALB_LISTENER_RULES: Quota = Quota {
    name: "elb.rules-per-load-balancer",
    limits: "listener rules of one Application Load Balancer, default rules not counted",
    default: 100,
    counting: Counting::Items,
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html (rules per Application Load Balancer)",
    adjustable: true,
    fix: "expose fewer hosts and paths on one balancer, or ask AWS (Service Quotas) to raise rules per Application Load Balancer",
};

pub const ALB_TARGET_GROUPS: Quota = Quota {
    name: "elb.target-groups-per-load-balancer",
    limits: "target groups one Application Load Balancer's actions use",
    default: 100,
    counting: Counting::Items,
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html (target groups per action per Application Load Balancer)",
    adjustable: false,
    fix: "expose fewer services on one balancer",
};

pub const ECS_TASK_DEFINITION: Quota = Quota {
    name: "ecs.task-definition-size",
    limits: "one ECS task definition revision's JSON",
    default: 64 * 1024,
    counting: Counting::Bytes,
    source: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html (task definition size)",
    adjustable: false,
    fix: "set fewer environment variables and secrets on the service",
};

pub const KMS_KEY_POLICY: Quota = Quota {
    name: "kms.key-policy",
    limits: "one KMS key's policy",
    default: 32 * 1024,
    counting: Counting::Bytes,
    source: "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html (a key policy document is at most 32 KB, 32,768 bytes)",
    adjustable: false,
    fix: "the operator's key policy names each task role of the account once; remove statements written by hand",
};

pub const ACM_NAMES_PER_CERTIFICATE: Quota = Quota {
    name: "acm.names-per-certificate",
    limits: "the host names of one ACM certificate",
    default: 10,
    counting: Counting::Items,
    source: "https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html (domain names per ACM certificate: 10 by default, up to 100 on request)",
    adjustable: true,
    fix: "expose fewer distinct hosts (a wildcard such as *.camden.example.org covers many), name a certificate in spec.loadBalancer.certificateArn, or raise the quota",
};

/// Every quota the operator's writes can reach, for the bench and the docs.
pub const ALL: [Quota; 11] = [
    IAM_ROLE_INLINE_POLICIES,
    IAM_ROLE_TRUST_POLICY,
    S3_BUCKET_POLICY,
    ECR_REPOSITORY_POLICY,
    TAGS_PER_RESOURCE,
    SECURITY_GROUP_INBOUND_RULES,
    ALB_LISTENER_RULES,
    ALB_TARGET_GROUPS,
    ECS_TASK_DEFINITION,
    KMS_KEY_POLICY,
    ACM_NAMES_PER_CERTIFICATE,
];

impl Quota {
    /// The size of `text` as AWS counts it for this quota.
    pub fn measure(&self, text: &str) -> usize {
        self.counting.measure(text)
    }

    /// `Err` when `used` passes `limit` (the account's applied value, or [`Quota::default`]).
    pub fn check(&self, limit: usize, used: usize, subject: &str) -> Result<(), QuotaExceeded> {
        if used <= limit {
            return Ok(());
        }
        Err(QuotaExceeded {
            quota: *self,
            limit,
            used,
            subject: subject.to_owned(),
        })
    }

    /// [`check`](Self::check) of a count against the default value.
    pub fn check_count(&self, count: usize, subject: &str) -> Result<(), QuotaExceeded> {
        self.check(self.default, count, subject)
    }

    /// [`check`](Self::check) of a document against the default value.
    pub fn check_document(&self, document: &str, subject: &str) -> Result<(), QuotaExceeded> {
        self.check(self.default, self.measure(document), subject)
    }
}

/// A write that would pass a quota: never sent. The message names the quota, the count and the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct QuotaExceeded {
    pub quota: Quota,
    pub limit: usize,
    pub used: usize,
    /// What would pass it (`the policy of bucket x`).
    pub subject: String,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} would be {} {} against AWS's quota of {} for {} ({}); nothing was written. {}",
            self.subject,
            self.used,
            self.quota.counting.unit(),
            self.limit,
            self.quota.limits,
            self.quota.name,
            self.quota.fix
        )
    }
}

/// The applied values of the quotas AWS reports per account (IAM's GetAccountSummary), with the
/// defaults where it did not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountQuotas {
    pub role_policy_size: usize,
    pub trust_policy_size: usize,
}

impl Default for AccountQuotas {
    fn default() -> Self {
        Self {
            role_policy_size: IAM_ROLE_INLINE_POLICIES.default,
            trust_policy_size: IAM_ROLE_TRUST_POLICY.default,
        }
    }
}

/// The largest value measured of each quota, and where (the bench's report): what AWS would count
/// of what the operator left in AWS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaUse {
    largest: std::collections::BTreeMap<&'static str, (Quota, usize, String)>,
}

impl QuotaUse {
    /// `used` of `quota` at `place` (`iam:task-role of bench/tenant-3`).
    pub fn record(&mut self, quota: Quota, used: usize, place: impl FnOnce() -> String) {
        let entry = self.largest.entry(quota.name).or_insert((quota, 0, String::new()));
        if used > entry.1 || entry.2.is_empty() {
            *entry = (quota, used, place());
        }
    }

    /// A document of `quota`, measured as AWS counts it.
    pub fn document(&mut self, quota: Quota, text: &str, place: impl FnOnce() -> String) {
        self.record(quota, quota.measure(text), place);
    }

    pub fn merge(&mut self, other: QuotaUse) {
        for (quota, used, place) in other.largest.into_values() {
            self.record(quota, used, || place);
        }
    }

    /// Each quota measured: the quota, the largest value, where.
    pub fn iter(&self) -> impl Iterator<Item = &(Quota, usize, String)> {
        self.largest.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON string value of exactly `n` characters as `counting` counts them, padded with `pad`.
    fn document_of(counting: Counting, n: usize, pad: &str) -> String {
        let frame = |body: &str| format!("{{\"Statement\": [{{\"Sid\": \"{body}\"}}]}}");
        let overhead = counting.measure(&frame(""));
        let body = pad.repeat((n - overhead) / counting.measure(pad));
        let text = frame(&body);
        assert_eq!(counting.measure(&text), n, "the padding divides evenly");
        text
    }

    fn fits(quota: &Quota, text: &str) -> bool {
        quota.check_document(text, "x").is_ok()
    }

    #[test]
    fn iam_counts_characters_other_than_white_space_at_the_boundary() {
        let quota = IAM_ROLE_INLINE_POLICIES;
        let last = document_of(quota.counting, 10_240, "a");
        let spaced = last.replace(", ", ",\n      ");
        assert!(fits(&quota, &last) && fits(&quota, &spaced), "white space is free");
        assert!(!fits(&quota, &document_of(quota.counting, 10_241, "a")));
        assert!(fits(
            &IAM_ROLE_TRUST_POLICY,
            &document_of(Counting::NonWhitespaceCharacters, 2_048, "a")
        ));
        assert!(!fits(
            &IAM_ROLE_TRUST_POLICY,
            &document_of(Counting::NonWhitespaceCharacters, 2_049, "a")
        ));
    }

    #[test]
    fn s3_counts_bytes_so_a_multibyte_character_costs_more() {
        let quota = S3_BUCKET_POLICY;
        assert!(fits(&quota, &document_of(Counting::Bytes, 20_480, "a")));
        assert!(!fits(&quota, &document_of(Counting::Bytes, 20_481, "a")));
        // 20,480 bytes of two-byte characters are 10,240-odd characters: still exactly at the quota.
        let wide = document_of(Counting::Bytes, 20_480, "é");
        assert!(fits(&quota, &wide) && wide.chars().count() < 20_480);
        assert!(!fits(&quota, &format!("{wide} ")), "white space counts in S3");
    }

    #[test]
    fn ecr_counts_characters_including_white_space() {
        let quota = ECR_REPOSITORY_POLICY;
        let last = document_of(Counting::Characters, 10_240, "é");
        assert!(fits(&quota, &last) && last.len() > 10_240, "characters, not bytes");
        assert!(!fits(&quota, &document_of(Counting::Characters, 10_241, "a")));
        assert!(!fits(&quota, &format!("{last} ")));
    }

    #[test]
    fn counts_pass_at_the_limit_and_fail_one_past_it_with_a_message_naming_quota_count_and_fix() {
        for quota in [
            TAGS_PER_RESOURCE,
            SECURITY_GROUP_INBOUND_RULES,
            ALB_LISTENER_RULES,
            ALB_TARGET_GROUPS,
        ] {
            assert!(quota.check(quota.default, quota.default, "x").is_ok(), "{}", quota.name);
            assert!(
                quota.check(quota.default, quota.default + 1, "x").is_err(),
                "{}",
                quota.name
            );
        }
        assert!(ECS_TASK_DEFINITION.check_document(&"a".repeat(65_536), "x").is_ok());
        let refused = ECS_TASK_DEFINITION
            .check_document(&"a".repeat(65_537), "task definition web")
            .expect_err("one byte past");
        let message = refused.to_string();
        for part in [
            "task definition web",
            "65537 bytes",
            "65536",
            "ecs.task-definition-size",
            "fewer environment variables",
        ] {
            assert!(message.contains(part), "{message} names {part}");
        }
    }

    #[test]
    fn quota_use_keeps_the_largest_value_and_where_it_was() {
        let mut used = QuotaUse::default();
        used.record(TAGS_PER_RESOURCE, 3, || "bucket a".into());
        used.record(TAGS_PER_RESOURCE, 7, || "bucket b".into());
        let mut other = QuotaUse::default();
        other.record(TAGS_PER_RESOURCE, 5, || "role c".into());
        other.document(ECR_REPOSITORY_POLICY, "{ }", || "repository d".into());
        used.merge(other);
        let seen: Vec<(&str, usize, &str)> = used.iter().map(|(q, n, at)| (q.name, *n, at.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("ecr.repository-policy", 3, "repository d"),
                ("tags-per-resource", 7, "bucket b")
            ]
        );
    }

    #[test]
    fn an_applied_value_read_from_the_account_replaces_the_default() {
        let raised = AccountQuotas {
            role_policy_size: 20_000,
            ..AccountQuotas::default()
        };
        let text = document_of(Counting::NonWhitespaceCharacters, 15_000, "a");
        let used = IAM_ROLE_INLINE_POLICIES.measure(&text);
        assert!(
            IAM_ROLE_INLINE_POLICIES
                .check(raised.role_policy_size, used, "x")
                .is_ok()
        );
        assert!(
            IAM_ROLE_INLINE_POLICIES
                .check(AccountQuotas::default().role_policy_size, used, "x")
                .is_err()
        );
    }
}
