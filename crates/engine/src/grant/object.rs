//! The grant object as the engine reads it, and the managed accounts it involves.

use std::collections::BTreeMap;

use dataplatform_api::{
    PAUSED_ANNOTATION, SharedBucketGrant, SharedBucketGrantSpec, SharedBucketGrantStatus, Tier, annotation_is_true,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::account::{AccountObject, ObjectId};

/// The parts of a SharedBucketGrant the engine reads.
#[derive(Clone, Debug)]
pub struct GrantObject {
    pub id: ObjectId,
    pub generation: Option<i64>,
    pub annotations: BTreeMap<String, String>,
    pub spec: SharedBucketGrantSpec,
    pub status: Option<SharedBucketGrantStatus>,
}

impl GrantObject {
    pub fn from_resource(grant: &SharedBucketGrant) -> Self {
        Self {
            id: ObjectId {
                namespace: grant.metadata.namespace.clone().unwrap_or_else(|| "default".to_owned()),
                name: grant.metadata.name.clone().unwrap_or_default(),
            },
            generation: grant.metadata.generation,
            annotations: grant.metadata.annotations.clone().unwrap_or_default(),
            spec: grant.spec.clone(),
            status: grant.status.clone(),
        }
    }

    pub fn paused(&self) -> bool {
        annotation_is_true(Some(&self.annotations), PAUSED_ANNOTATION)
    }

    /// Refuses annotations under `dataplatform.io/` the operator does not read (a misspelt
    /// `paused` must not let writes through), before any AWS call.
    pub fn check_annotations(&self) -> Result<(), dataplatform_api::InvalidSpec> {
        dataplatform_api::check_annotations(&self.annotations)
    }

    /// Whether `account` is the grantor this grant names (its `accountRef`, in the grant's namespace).
    pub fn names_grantor(&self, account: &ObjectId) -> bool {
        self.names_grantor_at(&account.namespace, &account.name)
    }

    /// [`names_grantor`](Self::names_grantor) of the account `namespace/name`.
    pub fn names_grantor_at(&self, namespace: &str, name: &str) -> bool {
        namespace == self.id.namespace && name == self.spec.account_ref.name
    }

    /// `expiresAt` has passed.
    pub fn expired(&self, now: &Time) -> bool {
        self.spec.expires_at.as_ref().is_some_and(|at| at.0 <= now.0)
    }

    /// How long until `expiresAt`, when it is still ahead.
    pub fn time_to_expiry(&self, now: &Time) -> Option<std::time::Duration> {
        let at = self.spec.expires_at.as_ref()?;
        let seconds = at.0.as_second() - now.0.as_second();
        (seconds > 0).then(|| std::time::Duration::from_secs(seconds as u64))
    }
}

/// The managed accounts a grant involves, found among every account the caller knows (the
/// controller's store, or the CLI's manifests).
#[derive(Clone, Debug, Default)]
pub struct GrantAccounts<'a> {
    pub grantor: Option<&'a AccountObject>,
    /// Every managed Organisation account (any namespace): the grantee's role gets the identity
    /// policy, the others lose any the grant left there before its grantee changed.
    pub organisations: Vec<&'a AccountObject>,
}

impl<'a> GrantAccounts<'a> {
    pub fn find(grant: &GrantObject, accounts: &'a [AccountObject]) -> Self {
        Self {
            grantor: accounts.iter().find(|a| grant.names_grantor(&a.id)),
            organisations: organisations(accounts),
        }
    }
}

fn organisations(accounts: &[AccountObject]) -> Vec<&AccountObject> {
    accounts.iter().filter(|a| a.spec.tier == Tier::Organisation).collect()
}
