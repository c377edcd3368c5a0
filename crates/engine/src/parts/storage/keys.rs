//! Which key the buckets encrypt with, as far as only AWS can tell: whether a named key can be
//! used, and whether the spec would switch the buckets between the operator's key and another.
//! Objects keep the key they were written with, so a switch would leave every object written so
//! far readable only with the old key, which the task roles and grants no longer name: it is
//! refused until a person has dealt with the objects and set the buckets' default encryption
//! themselves (docs/operations.md, "Changing the buckets' key").

use std::collections::BTreeMap;

use dataplatform_api::SpecProblem;
use dataplatform_api::names::BucketPurpose;
use dataplatform_aws::s3::{BucketObservation, Encryption};
use dataplatform_aws::{AccountSession, AwsError};

use crate::account::AccountContext;

use super::model::{DesiredBuckets, ObservedBuckets};

/// Why `spec.storage.kmsKeyArn` cannot encrypt the buckets; `None` when it can.
pub(super) async fn named_key_problem(
    session: &AccountSession,
    account: &AccountContext,
    key: &str,
) -> Result<Option<String>, AwsError> {
    Ok(match session.kms().key_state(key).await? {
        None => Some(format!(
            "key {key} does not exist in account {} region {}; name a key of that account (aws kms list-keys)",
            account.account_id, account.region
        )),
        Some(state) if state != "Enabled" => Some(format!(
            "key {key} is {state}; S3 cannot encrypt with it until it is Enabled"
        )),
        Some(_) => None,
    })
}

/// Without `encryption: Managed`: the operator's key, when a bucket still encrypts with it. Read
/// only when a bucket's key is not the spec's (a switch, or a change by hand).
pub(super) async fn managed_key_in_use(
    session: &AccountSession,
    account: &AccountContext,
    desired: &DesiredBuckets,
    buckets: &BTreeMap<BucketPurpose, BucketObservation>,
) -> Result<Option<String>, AwsError> {
    let foreign: Vec<&str> = buckets
        .values()
        .filter_map(|b| match &b.encryption {
            Some(Encryption::Kms { key_id }) if desired.named_key.as_deref() != Some(key_id.as_str()) => {
                Some(key_id.as_str())
            }
            _ => None,
        })
        .collect();
    if foreign.is_empty() {
        return Ok(None);
    }
    let Some(key) = session.kms().key_arn(&account.names.bucket_key_alias()).await? else {
        return Ok(None);
    };
    Ok(foreign.iter().any(|seen| same_key(&key, seen)).then_some(key))
}

/// A switch between the operator's key and another, refused (see the module's comment).
pub(super) fn switch_problems(desired: &DesiredBuckets, observed: &ObservedBuckets) -> Vec<SpecProblem> {
    if let Some(key) = &observed.managed_key_in_use {
        let to = match &desired.named_key {
            Some(named) => format!("key {named}"),
            None => "SSE-S3".to_owned(),
        };
        return vec![SpecProblem {
            field: "spec.storage.encryption".to_owned(),
            message: format!(
                "the buckets are encrypted with the key the operator made ({key}); switching them to {to} is refused: objects keep the key they were written with, and the task roles and grants would lose it. Set encryption: Managed back, or re-encrypt the objects and set the buckets' default encryption yourself first (docs/operations.md, \"Changing the buckets' key\")"
            ),
        }];
    }
    if !desired.managed_key {
        return vec![];
    }
    let managed = desired.buckets.values().find_map(|b| match &b.encryption {
        Some(Encryption::Kms { key_id }) => Some(key_id.as_str()),
        _ => None,
    });
    observed
        .buckets
        .values()
        .filter_map(|b| match &b.encryption {
            Some(Encryption::Kms { key_id }) if !managed.is_some_and(|m| same_key(m, key_id)) => {
                Some(SpecProblem {
                    field: "spec.storage.encryption".to_owned(),
                    message: format!(
                        "bucket {} is encrypted with key {key_id}, not one the operator made; switching it to a managed key is refused: objects keep the key they were written with, and the task roles and grants would lose it. Name it in kmsKeyArn instead, or re-encrypt the objects and set the bucket's default encryption to SSE-S3 yourself first (docs/operations.md, \"Changing the buckets' key\")",
                        b.name
                    ),
                })
            }
            _ => None,
        })
        .collect()
}

/// AWS may answer with the key id where the key's ARN was given.
pub(super) fn same_key(arn: &str, seen: &str) -> bool {
    arn == seen || arn.ends_with(&format!("/{seen}"))
}
