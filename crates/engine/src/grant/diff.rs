//! The grant's diff: a pure function from what it wants and what AWS holds to the actions on the
//! grantor's account. The bucket policy as it would be written is measured against S3's 20 KB
//! before anything is planned.

use std::collections::BTreeMap;
use std::fmt;

use dataplatform_api::OWNER_TAG;

use dataplatform_aws::kms::KeyGrant;
use dataplatform_aws::quotas::S3_BUCKET_POLICY;
use serde_json::Value;

use super::writes::KeyGrantWrite;
use crate::grant::desired::DesiredGrant;
use crate::plan::MergePolicyStatements;
use crate::plan::{Action, ActionKind, FieldChange, Op, Part, SharedDocument, StatementOwner};
use crate::policy::{self, Merged};

/// What AWS holds for one grant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedGrant {
    /// The grantor's shared bucket's tags; `None` when it does not exist (only looked at while the
    /// grant is active: revocation needs no bucket).
    pub bucket_tags: Option<BTreeMap<String, String>>,
    pub bucket_policy: Option<String>,
    /// Our KMS grants on the grantor's key; `None`: no key, or the key cannot be found.
    pub key_grants: Option<Vec<KeyGrant>>,
}

/// The actions of one grant, all on the grantor's account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GrantPlan {
    pub grantor: Vec<Action>,
    /// Documents we must not overwrite (not valid JSON): nothing is changed.
    pub conflicts: Vec<String>,
    /// The bucket policy would pass S3's quota with this grant's statements: nothing is changed.
    pub quota_exceeded: Vec<String>,
    /// Why nothing may be written yet: the grantor's shared bucket is missing or not yet ours.
    pub grantor_not_ready: Option<String>,
}

impl GrantPlan {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.grantor.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.actions().next().is_none()
    }
}

impl fmt::Display for GrantPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for action in self.actions() {
            writeln!(f, "{action}")?;
        }
        Ok(())
    }
}

pub const BUCKET_POLICY: &str = "bucket-policy";
pub const ABSENT: &str = "absent";

pub fn diff(desired: &DesiredGrant, observed: &ObservedGrant) -> GrantPlan {
    let mut plan = GrantPlan::default();
    check_grantor_bucket(desired, observed, &mut plan);
    match bucket_policy_action(desired, observed.bucket_policy.as_deref()) {
        Ok(PolicyAction::Write(action)) => plan.grantor.extend(action),
        Ok(PolicyAction::TooLarge(refused)) => plan.quota_exceeded.push(refused),
        Err(conflict) => plan.conflicts.push(conflict),
    }
    if let (Some(key), Some(existing)) = (&desired.key, &observed.key_grants) {
        for (principal, operations) in &key.grants {
            let present = existing
                .iter()
                .any(|g| g.grantee_principal == *principal && g.operations == *operations);
            if !present {
                plan.grantor.push(Action::create(
                    Part::Grant,
                    format!("kms-grant:{principal}"),
                    key.name.clone(),
                    vec![KeyGrantWrite::CreateKeyGrant {
                        key: key.key.clone(),
                        name: key.name.clone(),
                        grantee_principal: principal.clone(),
                        operations: operations.clone(),
                    }],
                ));
            }
        }
        // A grant for a principal with other operations is replaced: KMS grants cannot be changed.
        for stale in existing
            .iter()
            .filter(|g| key.grants.get(&g.grantee_principal) != Some(&g.operations))
        {
            plan.grantor.push(Action::delete(
                Part::Grant,
                format!("kms-grant:{}", stale.grantee_principal),
                stale.grant_id.clone(),
                vec![KeyGrantWrite::RetireKeyGrant {
                    key: key.key.clone(),
                    grant_id: stale.grant_id.clone(),
                }],
            ));
        }
    }
    plan
}

/// A grant needs only the grantor's shared bucket, existing and carrying the grantor's owner tag, not
/// the whole account Ready: a service rollout in the tenant's account never holds back its sharing.
fn check_grantor_bucket(desired: &DesiredGrant, observed: &ObservedGrant, plan: &mut GrantPlan) {
    let (Some(bucket), Some(owner), true) = (&desired.bucket, &desired.grantor_owner, desired.active) else {
        return;
    };
    match observed.bucket_tags.as_ref().map(|tags| tags.get(OWNER_TAG)) {
        None => {
            plan.grantor_not_ready = Some(format!(
                "the shared bucket {bucket} does not exist yet (DataPlatformAccount {owner} creates it)"
            ));
        }
        Some(None) => {
            plan.grantor_not_ready = Some(format!(
                "the shared bucket {bucket} does not carry the {OWNER_TAG} tag of DataPlatformAccount {owner} yet"
            ));
        }
        Some(Some(other)) if other != owner => plan.conflicts.push(format!(
            "the shared bucket {bucket} belongs to {other} (tag {OWNER_TAG}), not to DataPlatformAccount {owner}; the grant changes nothing there"
        )),
        Some(Some(_)) => {}
    }
}

enum PolicyAction {
    Write(Option<Action>),
    /// The merged policy would pass S3's quota: the message.
    TooLarge(String),
}

fn bucket_policy_action(desired: &DesiredGrant, existing: Option<&str>) -> Result<PolicyAction, String> {
    let Some(bucket) = &desired.bucket else {
        return Ok(PolicyAction::Write(None));
    };
    let existing = match existing.map(policy::parse) {
        Some(None) => {
            return Err(format!(
                "the bucket policy of {bucket} is not valid JSON; fix or remove it by hand"
            ));
        }
        parsed => parsed.flatten(),
    };
    let owner = StatementOwner::Grant(desired.names.clone());
    match policy::merge_owned(existing.as_ref(), |sid| owner.owns(sid), &desired.statements) {
        Merged::Unchanged => return Ok(PolicyAction::Write(None)),
        Merged::Put(merged) => {
            let count = policy::statements(Some(&merged)).len();
            let subject = format!("the policy of bucket {bucket} ({count} statements with this grant's)");
            if let Err(refused) = S3_BUCKET_POLICY.check_document(&merged.to_string(), &subject) {
                return Ok(PolicyAction::TooLarge(refused.to_string()));
            }
        }
        Merged::Delete => {}
    }
    let ours: Vec<Value> = policy::statements(existing.as_ref())
        .into_iter()
        .filter(|s| policy::sid(s).is_some_and(|sid| owner.owns(sid)))
        .collect();
    let by_sid = |statements: &[Value], sid: &str| statements.iter().find(|s| policy::sid(s) == Some(sid)).cloned();
    let mut changes = Vec::new();
    for wanted in &desired.statements {
        let sid = policy::sid(wanted).unwrap_or_default();
        match by_sid(&ours, sid) {
            None => changes.push(FieldChange::new(
                format!("statement {sid}"),
                ABSENT,
                policy::describe_statement(wanted),
            )),
            Some(old) if !policy::same_statement(&old, wanted) => changes.push(FieldChange::new(
                format!("statement {sid}"),
                policy::describe_statement(&old),
                policy::describe_statement(wanted),
            )),
            Some(_) => {}
        }
    }
    for old in &ours {
        let sid = policy::sid(old).unwrap_or_default();
        if by_sid(&desired.statements, sid).is_none() {
            changes.push(FieldChange::new(
                format!("statement {sid}"),
                policy::describe_statement(old),
                ABSENT,
            ));
        }
    }
    Ok(PolicyAction::Write(Some(Action {
        part: Part::Grant,
        resource: BUCKET_POLICY.to_owned(),
        name: bucket.clone(),
        kind: ActionKind::Update,
        changes,
        ops: vec![Op::from(MergePolicyStatements {
            document: SharedDocument::BucketPolicy { bucket: bucket.clone() },
            owner,
            statements: desired.statements.clone(),
        })],
    })))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use dataplatform_api::names::GrantNames;
    use dataplatform_aws::kms::KeyGrant;

    use super::*;
    use crate::grant::desired::DesiredKeyGrants;

    fn operations(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn desired_with_key(grants: BTreeMap<String, BTreeSet<String>>) -> DesiredGrant {
        DesiredGrant {
            names: GrantNames::new("ns", "g"),
            bucket: None,
            grantor_owner: None,
            active: true,
            statements: vec![],
            key: Some(DesiredKeyGrants {
                key: "key".into(),
                name: "dataplatform-x".into(),
                grants,
            }),
            grantee_role: None,
        }
    }

    #[test]
    fn a_kms_grant_with_other_operations_is_replaced_and_a_matching_one_kept() {
        let principal = "arn:aws:iam::9:root".to_owned();
        let read = operations(&["Decrypt", "DescribeKey"]);
        let write = operations(&["Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey"]);
        let existing = |ops: &BTreeSet<String>| ObservedGrant {
            key_grants: Some(vec![KeyGrant {
                grant_id: "g-1".into(),
                grantee_principal: principal.clone(),
                operations: ops.clone(),
            }]),
            ..Default::default()
        };
        let desired = desired_with_key([(principal.clone(), write.clone())].into());
        assert!(diff(&desired, &existing(&write)).is_empty());
        let plan = diff(&desired, &existing(&read));
        let kinds: Vec<ActionKind> = plan.grantor.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [ActionKind::Create, ActionKind::Delete], "{plan}");
        assert!(
            matches!(plan.grantor[1].ops[0].get(), Some(KeyGrantWrite::RetireKeyGrant { grant_id, .. }) if grant_id == "g-1")
        );
    }

    #[test]
    fn nothing_is_written_until_the_grantors_shared_bucket_exists_and_is_ours() {
        let desired = DesiredGrant {
            bucket: Some("camden-shared-x".into()),
            grantor_owner: Some("la-camden/camden".into()),
            key: None,
            ..desired_with_key(BTreeMap::new())
        };
        let tagged = |owner: Option<&str>| ObservedGrant {
            bucket_tags: Some(
                owner
                    .map(|o| (OWNER_TAG.to_owned(), o.to_owned()))
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        let absent = diff(&desired, &ObservedGrant::default());
        assert!(
            absent
                .grantor_not_ready
                .as_deref()
                .is_some_and(|w| w.contains("does not exist yet"))
        );
        let untagged = diff(&desired, &tagged(None));
        assert!(
            untagged
                .grantor_not_ready
                .as_deref()
                .is_some_and(|w| w.contains("does not carry"))
        );
        let foreign = diff(&desired, &tagged(Some("other/account")));
        assert!(foreign.grantor_not_ready.is_none());
        assert!(
            foreign.conflicts.iter().any(|c| c.contains("belongs to other/account")),
            "{foreign:?}"
        );
        let ours = diff(&desired, &tagged(Some("la-camden/camden")));
        assert!(
            ours.grantor_not_ready.is_none() && ours.conflicts.is_empty(),
            "{ours:?}"
        );
        // Revocation needs no bucket: a missing one holds nothing back.
        let revoking = DesiredGrant {
            active: false,
            ..desired.clone()
        };
        assert!(diff(&revoking, &ObservedGrant::default()).grantor_not_ready.is_none());
    }
}
