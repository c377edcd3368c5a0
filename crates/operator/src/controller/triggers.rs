//! Which objects a change to another object must re-check. Pure functions over the controller's
//! stores, so the relations are tested without a watch.

use dataplatform_api::{DataPlatformAccount, SharedBucketGrant, Tier};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

/// A grant depends on the account its `accountRef` names (the grantor, same namespace) and on every
/// Organisation account (the grantee half lands on one of them).
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

/// An Organisation account whose id is a grant's grantee holds the grant's identity policy.
pub fn organisations_affected_by_grant(
    grant: &SharedBucketGrant,
    accounts: &[std::sync::Arc<DataPlatformAccount>],
) -> Vec<ObjectRef<DataPlatformAccount>> {
    accounts
        .iter()
        .filter(|account| {
            account.spec.tier == Tier::Organisation && account.spec.account_id == grant.spec.grantee.account_id
        })
        .map(|account| ObjectRef::from_obj(account.as_ref()))
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
