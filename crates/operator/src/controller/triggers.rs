//! Which objects a change to another object must re-check. Pure functions over the controller's
//! stores, so the relations are tested without a watch.

use dataplatform_api::{DataPlatformAccount, SharedBucketGrant, Tier};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::watches::hash_of;

/// A grant depends on the account its `accountRef` names (the grantor, same namespace) and on every
/// Organisation account (a grantee Organisation's task role must exist before the grant is Ready,
/// and its status says whether that role may use the grant).
pub fn grants_affected_by_account(
    account: &DataPlatformAccount,
    grants: &[std::sync::Arc<SharedBucketGrant>],
) -> Vec<ObjectRef<SharedBucketGrant>> {
    let namespace = account.namespace();
    let name = account.name_any();
    let organisation = account.spec.tier == Tier::Organisation;
    grants
        .iter()
        .filter(|grant| organisation || (grant.namespace() == namespace && grant.spec.account_ref.name == name))
        .map(|grant| ObjectRef::from_obj(grant.as_ref()))
        .collect()
}

/// An Organisation's registry lets every managed Child account pull: a Child coming or going
/// changes every Organisation's repository policies.
pub fn organisations_affected_by_account(
    account: &DataPlatformAccount,
    accounts: &[std::sync::Arc<DataPlatformAccount>],
) -> Vec<ObjectRef<DataPlatformAccount>> {
    if account.spec.tier != Tier::Child {
        return vec![];
    }
    accounts
        .iter()
        .filter(|other| other.spec.tier == Tier::Organisation && other.spec.registry.is_some())
        .map(|other| ObjectRef::from_obj(other.as_ref()))
        .collect()
}

/// What a grant reads of an account: where to act (account, region, role), what it names (the
/// shared bucket, the KMS key, the task role), whether it may write, and whether the account is
/// going. A status write that changes none of these (services, conditions, sync time) re-checks no
/// grant.
pub fn grant_inputs(account: &DataPlatformAccount) -> Option<u64> {
    let spec = &account.spec;
    let status = account.status.as_ref();
    let inputs = serde_json::json!([
        spec.account_id,
        spec.tier,
        spec.region,
        spec.role_arn,
        spec.external_id,
        spec.storage.kms_key_arn,
        spec.management_policy,
        account.metadata.deletion_timestamp.is_some(),
        status.and_then(|s| s.buckets.as_ref()).and_then(|b| b.shared.as_ref()),
        status
            .and_then(|s| s.storage.as_ref())
            .and_then(|s| s.kms_key_arn.as_ref()),
        status
            .and_then(|s| s.roles.as_ref())
            .and_then(|r| r.task_role_arn.as_ref()),
    ]);
    Some(hash_of(&inputs.to_string()))
}

/// What an Organisation's registry reads of a Child: that it exists, and its account id (the
/// repository policies let every Child account pull).
pub fn registry_inputs(account: &DataPlatformAccount) -> Option<u64> {
    (account.spec.tier == Tier::Child).then(|| hash_of(&account.spec.account_id))
}
