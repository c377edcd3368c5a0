//! Desired vs observed, field by field, over the fields the spec owns only: anything AWS adds on its
//! own (default settings, newer minor versions, other people's tags, policy statements or lifecycle
//! rules) is never drift. Pure: tested without AWS, shown by `plan`, run by the executor.

use std::collections::BTreeMap;

use dataplatform_api::OWNER_TAG;
use dataplatform_api::names::DENY_INSECURE_TRANSPORT_SID;
use dataplatform_aws::iam::{INLINE_POLICY_NAME, RoleObservation};
use dataplatform_aws::rds::{ClusterChanges, ClusterObservation, InstanceObservation};
use dataplatform_aws::s3::{BucketObservation, Encryption, ExpirationRule, Lifecycle, PublicAccessBlock, Versioning};

use crate::desired::{DesiredAccount, DesiredBucket, DesiredDatabase, DesiredRole};
use crate::observe::ObservedAccount;
use crate::plan::{Action, ActionKind, FieldChange, Op, Part, Plan, SharedDocument, StatementOwner};
use crate::policy::{self, Merged};

pub const BUCKET_OWNER_ENFORCED: &str = "BucketOwnerEnforced";
pub(crate) const NONE: &str = "(none)";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    pub plan: Plan,
    /// Resources under our names that are not ours: nothing may be written while any exist.
    pub conflicts: Vec<String>,
    /// Resources that exist but are busy (e.g. a cluster still `creating`): their changes wait.
    pub waiting: Vec<String>,
}

pub fn diff(desired: &DesiredAccount, observed: &ObservedAccount, adopt: bool) -> Diff {
    let mut diff = Diff::default();
    let owner = Owner {
        value: &desired.owner,
        adopt,
    };
    for (bucket, seen) in desired.buckets.iter().zip(&observed.buckets) {
        diff.add(bucket_actions(desired, bucket, seen.as_ref(), &owner));
    }
    for (role, seen) in desired.roles.iter().zip(&observed.roles) {
        diff.add(role_actions(desired, role, seen.as_ref(), &owner));
    }
    if let Some(database) = &desired.database {
        diff.add(cluster_actions(desired, database, observed.cluster.as_ref(), &owner));
        diff.add(instance_actions(desired, database, observed.instance.as_ref(), &owner));
    }
    for outcome in crate::compute::compute_outcomes(desired, observed, &owner) {
        diff.add(outcome);
    }
    for outcome in crate::registry::registry_outcomes(desired, &observed.repositories, &owner) {
        diff.add(outcome);
    }
    diff
}

/// What one resource needs: an action, a conflict, a wait, or nothing.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) action: Option<Action>,
    pub(crate) conflict: Option<String>,
    pub(crate) waiting: Option<String>,
}

impl Outcome {
    pub(crate) fn create(action: Action) -> Self {
        Self {
            action: Some(action),
            ..Default::default()
        }
    }

    pub(crate) fn conflict(message: String) -> Self {
        Self {
            conflict: Some(message),
            ..Default::default()
        }
    }
}

impl Diff {
    fn add(&mut self, outcome: Outcome) {
        self.plan.actions.extend(outcome.action);
        self.conflicts.extend(outcome.conflict);
        self.waiting.extend(outcome.waiting);
    }
}

pub(crate) struct Owner<'a> {
    pub(crate) value: &'a str,
    adopt: bool,
}

/// Carries our owner tag: ours to change and to delete (adoption never counts for deletion).
pub(crate) fn ours(tags: &BTreeMap<String, String>, owner: &str) -> bool {
    tags.get(OWNER_TAG).is_some_and(|v| v == owner)
}

impl Owner<'_> {
    /// `Err(conflict)` when the resource is not ours to change.
    pub(crate) fn check(&self, resource: &str, name: &str, tags: &BTreeMap<String, String>) -> Result<(), String> {
        match tags.get(OWNER_TAG) {
            Some(owner) if owner == self.value => Ok(()),
            Some(other) => Err(format!(
                "{resource} ({name}) belongs to {other} (tag {OWNER_TAG}); two objects cannot manage one account's resources"
            )),
            None if self.adopt => Ok(()),
            None => Err(format!(
                "{resource} ({name}) already exists without the {OWNER_TAG} tag; to manage it, annotate the object with dataplatform.io/adopt: \"true\""
            )),
        }
    }
}

pub(crate) fn tag_changes(desired: &BTreeMap<String, String>, observed: &BTreeMap<String, String>) -> Vec<FieldChange> {
    desired
        .iter()
        .filter(|(k, v)| observed.get(*k) != Some(*v))
        .map(|(k, v)| FieldChange::new(format!("tags.{k}"), observed.get(k).map_or(NONE, String::as_str), v))
        .collect()
}

pub(crate) fn missing_tags(
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    desired
        .iter()
        .filter(|(k, v)| observed.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn update(
    part: Part,
    resource: String,
    name: &str,
    changes: Vec<FieldChange>,
    ops: Vec<Op>,
) -> Option<Action> {
    (!ops.is_empty()).then(|| Action {
        part,
        resource,
        name: name.to_owned(),
        kind: ActionKind::Update,
        changes,
        ops,
    })
}

fn encryption_text(encryption: Option<&Encryption>) -> String {
    match encryption {
        None => NONE.to_owned(),
        Some(Encryption::Aes256) => "AES256".to_owned(),
        Some(Encryption::Kms { key_id }) => format!("aws:kms {key_id}"),
    }
}

fn encryption_matches(desired: &Encryption, observed: Option<&Encryption>) -> bool {
    match (desired, observed) {
        (Encryption::Aes256, Some(Encryption::Aes256)) => true,
        // AWS may answer with the key id where we gave the key ARN.
        (Encryption::Kms { key_id: wanted }, Some(Encryption::Kms { key_id: seen })) => {
            wanted == seen || wanted.ends_with(&format!("/{seen}"))
        }
        _ => false,
    }
}

fn expiration_text(rule: Option<ExpirationRule>) -> String {
    rule.map_or(NONE.to_owned(), |r| format!("expire after {} days", r.days))
}

fn bucket_actions(
    desired: &DesiredAccount,
    bucket: &DesiredBucket,
    observed: Option<&BucketObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = format!("s3:{}", bucket.purpose.as_str());
    let name = bucket.name.clone();
    let Some(observed) = observed else {
        let mut ops = vec![
            Op::CreateBucket {
                bucket: name.clone(),
                tags: desired.tags.clone(),
            },
            Op::PutBucketTags {
                bucket: name.clone(),
                tags: desired.tags.clone(),
            },
            Op::BlockPublicAccess { bucket: name.clone() },
            Op::EnforceBucketOwner { bucket: name.clone() },
            Op::PutBucketEncryption {
                bucket: name.clone(),
                encryption: bucket.encryption.clone(),
            },
            Op::PutBucketPolicy {
                bucket: name.clone(),
                document: policy::document(vec![bucket.tls_statement.clone()]).to_string(),
            },
        ];
        if bucket.versioning {
            ops.push(Op::PutBucketVersioning {
                bucket: name.clone(),
                enabled: true,
            });
        }
        if bucket.expiration.is_some() {
            ops.push(Op::PutBucketLifecycle {
                bucket: name.clone(),
                lifecycle: Lifecycle::default().with_ours(bucket.expiration),
            });
        }
        return Outcome::create(Action::create(Part::Storage, resource, name, ops));
    };
    if let Err(conflict) = owner.check(&resource, &name, &observed.tags) {
        return Outcome::conflict(conflict);
    }

    let mut changes = tag_changes(&desired.tags, &observed.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        let mut tags = observed.tags.clone();
        tags.extend(desired.tags.clone());
        ops.push(Op::PutBucketTags {
            bucket: name.clone(),
            tags,
        });
    }
    if !encryption_matches(&bucket.encryption, observed.encryption.as_ref()) {
        changes.push(FieldChange::new(
            "encryption",
            encryption_text(observed.encryption.as_ref()),
            encryption_text(Some(&bucket.encryption)),
        ));
        ops.push(Op::PutBucketEncryption {
            bucket: name.clone(),
            encryption: bucket.encryption.clone(),
        });
    }
    let versioning_ok = match observed.versioning {
        Versioning::Enabled => bucket.versioning,
        Versioning::Suspended | Versioning::Unversioned => !bucket.versioning,
    };
    if !versioning_ok {
        changes.push(FieldChange::new(
            "versioning",
            format!("{:?}", observed.versioning),
            if bucket.versioning { "Enabled" } else { "Suspended" },
        ));
        ops.push(Op::PutBucketVersioning {
            bucket: name.clone(),
            enabled: bucket.versioning,
        });
    }
    if observed.public_access_block != PublicAccessBlock::ALL_BLOCKED {
        changes.push(FieldChange::new(
            "publicAccessBlock",
            public_access_text(observed.public_access_block),
            "all four blocked",
        ));
        ops.push(Op::BlockPublicAccess { bucket: name.clone() });
    }
    if observed.ownership.as_deref() != Some(BUCKET_OWNER_ENFORCED) {
        changes.push(FieldChange::new(
            "ownership",
            observed.ownership.as_deref().unwrap_or(NONE),
            BUCKET_OWNER_ENFORCED,
        ));
        ops.push(Op::EnforceBucketOwner { bucket: name.clone() });
    }
    let existing_policy = observed.policy.as_deref().map(policy::parse);
    match existing_policy {
        Some(None) => {
            return Outcome {
                conflict: Some(format!(
                    "{resource} ({name}) has a bucket policy that is not valid JSON; fix or remove it by hand"
                )),
                ..Default::default()
            };
        }
        existing => {
            let existing = existing.flatten();
            match policy::merge_owned(
                existing.as_ref(),
                |sid| sid == DENY_INSECURE_TRANSPORT_SID,
                std::slice::from_ref(&bucket.tls_statement),
            ) {
                Merged::Unchanged | Merged::Delete => {}
                Merged::Put(_) => {
                    changes.push(FieldChange::new(
                        "policy",
                        format!("statement {DENY_INSECURE_TRANSPORT_SID} missing or changed"),
                        "deny non-TLS access",
                    ));
                    ops.push(Op::MergePolicyStatements {
                        document: SharedDocument::BucketPolicy { bucket: name.clone() },
                        owner: StatementOwner::Sid(DENY_INSECURE_TRANSPORT_SID.to_owned()),
                        statements: vec![bucket.tls_statement.clone()],
                    });
                }
            }
        }
    }
    if observed.lifecycle.ours != bucket.expiration {
        changes.push(FieldChange::new(
            "lifecycle",
            expiration_text(observed.lifecycle.ours),
            expiration_text(bucket.expiration),
        ));
        ops.push(Op::PutBucketLifecycle {
            bucket: name.clone(),
            lifecycle: observed.lifecycle.with_ours(bucket.expiration),
        });
    }
    Outcome {
        action: update(Part::Storage, resource, &name, changes, ops),
        ..Default::default()
    }
}

fn public_access_text(block: PublicAccessBlock) -> String {
    let off: Vec<&str> = [
        ("blockPublicAcls", block.block_public_acls),
        ("ignorePublicAcls", block.ignore_public_acls),
        ("blockPublicPolicy", block.block_public_policy),
        ("restrictPublicBuckets", block.restrict_public_buckets),
    ]
    .into_iter()
    .filter(|(_, on)| !on)
    .map(|(name, _)| name)
    .collect();
    format!("off: {}", off.join(", "))
}

fn role_actions(
    desired: &DesiredAccount,
    role: &DesiredRole,
    observed: Option<&RoleObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = format!("iam:{}", role.kind.label());
    let Some(observed) = observed else {
        return Outcome::create(Action::create(
            Part::Identity,
            resource,
            role.name.clone(),
            vec![
                Op::CreateRole {
                    role: role.name.clone(),
                    description: role.kind.description().to_owned(),
                    trust_policy: role.trust_policy.to_string(),
                    tags: desired.tags.clone(),
                },
                Op::PutRolePolicy {
                    role: role.name.clone(),
                    name: INLINE_POLICY_NAME.to_owned(),
                    document: role.inline_policy.to_string(),
                },
            ],
        ));
    };
    if let Err(conflict) = owner.check(&resource, &role.name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&desired.tags, &observed.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(Op::TagRole {
            role: role.name.clone(),
            tags: missing_tags(&desired.tags, &observed.tags),
        });
    }
    let same_trust =
        policy::parse(&observed.trust_policy).is_some_and(|p| policy::same_document(&p, &role.trust_policy));
    if !same_trust {
        changes.push(FieldChange::new("trustPolicy", "changed", "ecs-tasks for this account"));
        ops.push(Op::UpdateTrustPolicy {
            role: role.name.clone(),
            trust_policy: role.trust_policy.to_string(),
        });
    }
    let same_policy = observed
        .inline_policy
        .as_deref()
        .and_then(policy::parse)
        .is_some_and(|p| policy::same_document(&p, &role.inline_policy));
    if !same_policy {
        let from = if observed.inline_policy.is_some() {
            "changed"
        } else {
            NONE
        };
        changes.push(FieldChange::new("inlinePolicy", from, "least privilege"));
        ops.push(Op::PutRolePolicy {
            role: role.name.clone(),
            name: INLINE_POLICY_NAME.to_owned(),
            document: role.inline_policy.to_string(),
        });
    }
    Outcome {
        action: update(Part::Identity, resource, &role.name, changes, ops),
        ..Default::default()
    }
}

/// Numeric comparison of dotted versions: "16.10" is newer than "16.9".
fn version_newer(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) > parse(b)
}

fn capacity_text(min: f64, max: f64) -> String {
    format!("{min}-{max} ACU")
}

fn cluster_actions(
    desired: &DesiredAccount,
    database: &DesiredDatabase,
    observed: Option<&ClusterObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = "rds:cluster".to_owned();
    let name = database.cluster.clone();
    let Some(observed) = observed else {
        return Outcome::create(Action::create(
            Part::Database,
            resource,
            name.clone(),
            vec![Op::CreateDbCluster {
                cluster: name,
                settings: database.settings.clone(),
                tags: desired.tags.clone(),
            }],
        ));
    };
    if let Err(conflict) = owner.check(&resource, &name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let mut changes = tag_changes(&desired.tags, &observed.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(Op::TagDbResource {
            arn: observed.arn.clone(),
            tags: missing_tags(&desired.tags, &observed.tags),
        });
    }
    let (want, seen) = (&database.settings, &observed.settings);
    let mut modify = ClusterChanges::default();
    // AWS upgrades minor versions by itself; only a newer version in the spec is a change.
    if version_newer(&want.engine_version, &seen.engine_version) {
        changes.push(FieldChange::new(
            "engineVersion",
            &seen.engine_version,
            &want.engine_version,
        ));
        modify.engine_version = Some(want.engine_version.clone());
    }
    let same = |a: f64, b: f64| (a - b).abs() < 1e-9;
    if !same(want.min_capacity, seen.min_capacity) || !same(want.max_capacity, seen.max_capacity) {
        changes.push(FieldChange::new(
            "capacity",
            capacity_text(seen.min_capacity, seen.max_capacity),
            capacity_text(want.min_capacity, want.max_capacity),
        ));
        modify.capacity = Some((want.min_capacity, want.max_capacity));
    }
    if want.backup_retention_days != seen.backup_retention_days {
        changes.push(FieldChange::new(
            "backupRetentionDays",
            seen.backup_retention_days.to_string(),
            want.backup_retention_days.to_string(),
        ));
        modify.backup_retention_days = Some(want.backup_retention_days);
    }
    if want.deletion_protection != seen.deletion_protection {
        changes.push(FieldChange::new(
            "deletionProtection",
            seen.deletion_protection.to_string(),
            want.deletion_protection.to_string(),
        ));
        modify.deletion_protection = Some(want.deletion_protection);
    }
    let mut waiting = None;
    if modify != ClusterChanges::default() {
        if observed.status == "available" {
            ops.push(Op::ModifyDbCluster {
                cluster: name.clone(),
                changes: modify,
            });
        } else {
            // RDS refuses changes while the cluster is busy; they are made on a later pass.
            changes.retain(|c| c.field.starts_with("tags."));
            waiting = Some(format!(
                "{resource} ({name}) is {}; its settings are changed once it is available",
                observed.status
            ));
        }
    }
    Outcome {
        action: update(Part::Database, resource, &name, changes, ops),
        conflict: None,
        waiting,
    }
}

fn instance_actions(
    desired: &DesiredAccount,
    database: &DesiredDatabase,
    observed: Option<&InstanceObservation>,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = "rds:instance".to_owned();
    let name = database.instance.clone();
    let Some(observed) = observed else {
        return Outcome::create(Action::create(
            Part::Database,
            resource,
            name.clone(),
            vec![Op::CreateDbInstance {
                instance: name,
                cluster: database.cluster.clone(),
                tags: desired.tags.clone(),
            }],
        ));
    };
    if let Err(conflict) = owner.check(&resource, &name, &observed.tags) {
        return Outcome::conflict(conflict);
    }
    let changes = tag_changes(&desired.tags, &observed.tags);
    let ops = if changes.is_empty() {
        vec![]
    } else {
        vec![Op::TagDbResource {
            arn: observed.arn.clone(),
            tags: missing_tags(&desired.tags, &observed.tags),
        }]
    };
    Outcome {
        action: update(Part::Database, resource, &name, changes, ops),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_newer_engine_version_in_the_spec_is_a_change() {
        assert!(version_newer("16.10", "16.9"));
        assert!(!version_newer("16.6", "16.6"));
        assert!(!version_newer("16.6", "16.8"), "AWS's own minor upgrade is not drift");
    }
}

#[cfg(test)]
mod owned_fields_only {
    use std::collections::BTreeMap;

    use dataplatform_aws::iam::RoleObservation;
    use dataplatform_aws::rds::{ClusterObservation, InstanceObservation};
    use dataplatform_aws::s3::{BucketObservation, Lifecycle, PublicAccessBlock, Versioning};
    use serde_json::json;

    use super::*;
    use crate::desired::ObjectId;
    use crate::status::readiness;

    fn desired() -> DesiredAccount {
        let spec = serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2"})).expect("spec");
        DesiredAccount::new(
            &ObjectId {
                namespace: "ns".into(),
                name: "camden".into(),
            },
            &spec,
            &Default::default(),
        )
    }

    /// What AWS would hold after our own creation, plus what AWS and people add on their own.
    fn matching_with_extras(desired: &DesiredAccount, cluster_status: &str) -> ObservedAccount {
        let mut tags = desired.tags.clone();
        tags.insert("aws:cloudformation:stack-name".into(), "someone-elses".into());
        let by_hand = json!({"Sid": "HandWritten", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"});
        ObservedAccount {
            buckets: desired
                .buckets
                .iter()
                .map(|b| {
                    Some(BucketObservation {
                        name: b.name.clone(),
                        tags: tags.clone(),
                        encryption: Some(b.encryption.clone()),
                        versioning: Versioning::Enabled,
                        public_access_block: PublicAccessBlock::ALL_BLOCKED,
                        ownership: Some(BUCKET_OWNER_ENFORCED.into()),
                        policy: Some(policy::document(vec![by_hand.clone(), b.tls_statement.clone()]).to_string()),
                        lifecycle: Lifecycle::default().with_ours(b.expiration),
                    })
                })
                .collect(),
            roles: desired
                .roles
                .iter()
                .map(|r| {
                    Some(RoleObservation {
                        name: r.name.clone(),
                        arn: r.arn("aws", "111111111111"),
                        trust_policy: r.trust_policy.to_string(),
                        tags: tags.clone(),
                        inline_policy: Some(r.inline_policy.to_string()),
                    })
                })
                .collect(),
            cluster: desired.database.as_ref().map(|db| {
                let mut settings = db.settings.clone();
                settings.engine_version = "16.8".into();
                ClusterObservation {
                    identifier: db.cluster.clone(),
                    arn: format!("arn:aws:rds:eu-west-2:111111111111:cluster:{}", db.cluster),
                    status: cluster_status.into(),
                    settings,
                    endpoint: Some("db.example".into()),
                    port: Some(5432),
                    secret_arn: Some("arn:aws:secretsmanager:eu-west-2:111111111111:secret:rds!cluster-1".into()),
                    tags: tags.clone(),
                }
            }),
            instance: desired.database.as_ref().map(|db| InstanceObservation {
                identifier: db.instance.clone(),
                arn: "arn:aws:rds:eu-west-2:111111111111:db:x".into(),
                status: "available".into(),
                tags: BTreeMap::from([(OWNER_TAG.to_owned(), desired.owner.clone())])
                    .into_iter()
                    .chain(tags.clone())
                    .collect(),
            }),
            compute: Default::default(),
            repositories: vec![],
        }
    }

    #[test]
    fn extra_tags_statements_and_a_newer_minor_version_are_not_drift() {
        let desired = desired();
        let diff = diff(&desired, &matching_with_extras(&desired, "available"), false);
        assert!(diff.plan.is_empty(), "{}", diff.plan);
        assert!(diff.conflicts.is_empty() && diff.waiting.is_empty());
    }

    #[test]
    fn a_missing_tls_statement_is_merged_in_as_ours_only() {
        let desired = desired();
        let mut observed = matching_with_extras(&desired, "available");
        let shared = observed.buckets[2].as_mut().expect("shared");
        shared.policy = Some(
            policy::document(vec![
                json!({"Sid": "HandWritten", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "x"}),
            ])
            .to_string(),
        );
        let diff = diff(&desired, &observed, false);
        let [action] = diff.plan.actions.as_slice() else {
            panic!("one action expected: {}", diff.plan);
        };
        // The write re-reads the policy and replaces only our Sid (the hand-written statement stays:
        // tests/tests/suite/engine_grants.rs checks that against moto).
        let Some(Op::MergePolicyStatements { owner, statements, .. }) = action.ops.first() else {
            panic!("a policy merge expected: {:?}", action.ops);
        };
        assert!(owner.owns(DENY_INSECURE_TRANSPORT_SID) && !owner.owns("HandWritten"));
        assert_eq!(statements, &vec![desired.buckets[2].tls_statement.clone()]);
    }

    #[test]
    fn ready_waits_for_the_cluster_to_be_available() {
        let desired = desired();
        let observed = matching_with_extras(&desired, "creating");
        let diff = diff(&desired, &observed, false);
        let state = readiness(&desired, &observed, &diff.plan, &diff.waiting);
        assert!(!state.is_ready());
        assert!(state.creating, "a cluster still creating reports Creating");
        assert!(
            state.pending.iter().any(|p| p.contains("rds:cluster is creating")),
            "{:?}",
            state.pending
        );
        let available = matching_with_extras(&desired, "available");
        assert!(readiness(&desired, &available, &Plan::default(), &[]).is_ready());
    }
}
