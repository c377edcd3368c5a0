//! The bucket key (accounts with `spec.storage.encryption: Managed`): a symmetric KMS key the
//! operator makes for the three buckets, found by its alias, with automatic rotation, the owner tag
//! and a key policy of least privilege. Its policy, rotation, state and tags are put back when
//! changed by hand. Before storage (the buckets encrypt with it) and identity (the task roles use
//! it); under `Delete` its alias goes and its deletion is scheduled once the buckets are gone.

mod policy;
pub mod writes;

use dataplatform_api::account::StorageStatus;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, OWNER_TAG, SpecProblem};
use dataplatform_aws::kms::KeyObservation;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::KMS_KEY_POLICY;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};
use serde_json::Value;

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, Ec2Ref, FieldChange, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness, ours, tag_changes, tag_update, tags_used};
use writes::KeyWrite;

pub struct BucketKey;

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredKey {
    /// `alias/dataplatform/<slug>-<hash>`.
    pub alias: String,
    pub description: String,
    pub policy: Value,
    /// Days KMS waits before deleting the key (`spec.storage.keyDeletionWindowDays`).
    pub deletion_window_days: i32,
    /// The buckets it encrypts: it is not deleted while one is left.
    pub buckets: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedKey {
    /// The key the alias names.
    pub key: Option<KeyObservation>,
    /// Without the alias: keys carrying our owner tag that are not pending deletion (what a
    /// CreateKey whose alias was never made left).
    pub unnamed: Vec<String>,
}

const RESOURCE: &str = "kms:bucket-key";

impl AccountPart for BucketKey {
    const PART: Part = Part::BucketKey;
    /// `None`: the buckets use SSE-S3 or a key the spec names.
    type Desired = Option<DesiredKey>;
    type Observed = ObservedKey;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.storage.managed_key()
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Option<DesiredKey> {
        spec.storage.managed_key().then(|| DesiredKey {
            alias: account.names.bucket_key_alias(),
            description: format!("Encrypts the buckets of {} (dataplatform-operator)", account.owner),
            policy: policy::key_policy(account),
            deletion_window_days: spec.storage.key_deletion_window_days,
            buckets: dataplatform_api::names::BucketPurpose::ALL
                .iter()
                .map(|p| account.names.bucket(*p))
                .collect(),
        })
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &Option<DesiredKey>,
    ) -> Result<ObservedKey, AwsError> {
        let Some(desired) = desired else {
            return Ok(ObservedKey::default());
        };
        let kms = session.kms();
        let key = kms.observe_key(&desired.alias).await?;
        // Only a missing alias costs this search: a steady state never makes it.
        let unnamed = match key {
            Some(_) => vec![],
            None => kms.keys_tagged(OWNER_TAG, &account.owner).await?,
        };
        Ok(ObservedKey { key, unnamed })
    }

    fn facts(_desired: &Option<DesiredKey>, observed: &ObservedKey, facts: &mut Facts) {
        // A key disabled or scheduled for deletion by hand is still the buckets' key: this pass
        // puts its state back before storage's writes.
        facts.bucket_key = observed.key.as_ref().map(|key| key.arn.clone());
    }

    fn diff(
        account: &AccountContext,
        desired: &Option<DesiredKey>,
        observed: &ObservedKey,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let Some(desired) = desired else {
            return vec![];
        };
        let policy = desired.policy.to_string();
        if let Err(refused) = KMS_KEY_POLICY.check_document(&policy, &format!("the key policy of {}", desired.alias)) {
            return vec![Outcome::quota_exceeded(refused)];
        }
        let Some(key) = &observed.key else {
            return vec![creation(account, desired, &observed.unnamed, policy)];
        };
        if let Err(conflict) = owner.check(RESOURCE, &desired.alias, &key.tags) {
            return vec![Outcome::conflict(conflict)];
        }
        vec![key_update(account, desired, key, policy)]
    }

    /// A key is usable as soon as it is created.
    fn readiness(_: &Option<DesiredKey>, _: &ObservedKey, _: &Plan, _: &mut Readiness) {}

    fn deletion(
        account: &AccountContext,
        desired: &Option<DesiredKey>,
        observed: &ObservedKey,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        let Some(desired) = desired else {
            return vec![];
        };
        let schedule = |key: &str| KeyWrite::ScheduleKeyDeletion {
            key: key.to_owned(),
            days: desired.deletion_window_days,
            buckets: desired.buckets.clone(),
        };
        match &observed.key {
            Some(key) if ours(&key.tags, &account.owner) && !key.pending_deletion() => {
                vec![Action::delete(
                    Part::BucketKey,
                    RESOURCE,
                    &desired.alias,
                    // The schedule first: its `holds` keeps the key (and alias) while buckets remain.
                    vec![
                        schedule(&key.key_id),
                        KeyWrite::DeleteAlias {
                            alias: desired.alias.clone(),
                        },
                    ],
                )]
            }
            Some(_) => vec![],
            None => observed
                .unnamed
                .iter()
                .map(|key| Action::delete(Part::BucketKey, RESOURCE, key, vec![schedule(key_id(key))]))
                .collect(),
        }
    }

    fn report(
        _account: &AccountContext,
        _desired: &Option<DesiredKey>,
        observed: &ObservedKey,
        status: &mut DataPlatformAccountStatus,
    ) {
        if let Some(key) = &observed.key {
            status.storage.get_or_insert_with(StorageStatus::default).kms_key_arn = Some(key.arn.clone());
        }
    }

    fn quota_use(account: &AccountContext, observed: &ObservedKey, used: &mut QuotaUse) {
        if let Some(key) = &observed.key {
            let place = || format!("bucket key {} of {}", key.arn, account.owner);
            if let Some(policy) = &key.policy {
                used.document(KMS_KEY_POLICY, policy, place);
            }
            tags_used(used, &key.tags, place);
        }
    }

    fn policy_scope(account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.key_aliases = Some(
            spec.storage
                .managed_key()
                .then(|| account.names.bucket_key_alias())
                .into_iter()
                .collect(),
        );
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(_: &DataPlatformAccountSpec, _: &Self::Desired, _: &Self::Observed) -> Vec<SpecProblem> {
        vec![]
    }
}

/// A new key, rotating, then its alias; or the alias for the one key a lost answer left unnamed.
fn creation(account: &AccountContext, desired: &DesiredKey, unnamed: &[String], policy: String) -> Outcome {
    match unnamed {
        [] => Outcome::create(Action::create(
            Part::BucketKey,
            RESOURCE,
            &desired.alias,
            vec![
                KeyWrite::CreateKey {
                    description: desired.description.clone(),
                    policy,
                    tags: account.tags.clone(),
                },
                KeyWrite::EnableKeyRotation {
                    key: Ec2Ref::Made(RESOURCE.to_owned()),
                },
                KeyWrite::CreateAlias {
                    alias: desired.alias.clone(),
                    key: Ec2Ref::Made(RESOURCE.to_owned()),
                },
            ],
        )),
        [key] => Outcome::update(
            Part::BucketKey,
            RESOURCE.to_owned(),
            &desired.alias,
            vec![FieldChange::new("alias", crate::vocabulary::NONE, key.as_str())],
            vec![KeyWrite::CreateAlias {
                alias: desired.alias.clone(),
                key: Ec2Ref::Known(key.clone()),
            }],
        ),
        keys => Outcome::conflict(format!(
            "{RESOURCE} ({}): no key has the alias but {} keys carry this object's owner tag ({}); keep one, schedule the others' deletion, and the operator names the one left",
            desired.alias,
            keys.len(),
            keys.join(", ")
        )),
    }
}

/// The id in a key's ARN. Writes name a key by id: moto finds keys by id only (its
/// ScheduleKeyDeletion, EnableKey and CancelKeyDeletion fail with a 500 on an ARN); AWS takes both.
fn key_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// What was changed by hand is put back: state, rotation, policy, tags.
fn key_update(account: &AccountContext, desired: &DesiredKey, key: &KeyObservation, policy: String) -> Outcome {
    let arn = &key.key_id;
    let mut changes = tag_changes(&account.tags, &key.tags);
    let mut ops = Vec::new();
    if !changes.is_empty() {
        ops.push(KeyWrite::TagKey {
            key: arn.clone(),
            tags: tag_update(&account.tags, &key.tags),
        });
    }
    if key.state != "Enabled" {
        changes.push(FieldChange::new("state", key.state.as_str(), "Enabled"));
        if key.pending_deletion() {
            ops.push(KeyWrite::CancelKeyDeletion { key: arn.clone() });
        }
        ops.push(KeyWrite::EnableKey { key: arn.clone() });
    }
    // KMS answers neither read of a key pending deletion: look again once it is cancelled.
    if !key.pending_deletion() {
        if !key.rotation {
            changes.push(FieldChange::new("rotation", "off", "on"));
            ops.push(KeyWrite::EnableKeyRotation {
                key: Ec2Ref::Known(arn.clone()),
            });
        }
        let same = key
            .policy
            .as_deref()
            .and_then(crate::policy::parse)
            .is_some_and(|seen| crate::policy::same_document(&seen, &desired.policy));
        if !same {
            changes.push(FieldChange::new(
                "policy",
                "changed by hand",
                "the operator's key policy",
            ));
            ops.push(KeyWrite::PutKeyPolicy {
                key: arn.clone(),
                policy,
            });
        }
    }
    Outcome::update(Part::BucketKey, RESOURCE.to_owned(), &desired.alias, changes, ops)
}
