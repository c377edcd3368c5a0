//! Who an account is: the object the engine is handed ([`AccountObject`]) and what every part of it
//! builds from ([`AccountContext`]: its names, owner tag and tags). Imports no other engine module.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::names::AccountNames;
use dataplatform_api::{
    ADOPT_ANNOTATION, DataPlatformAccount, DataPlatformAccountSpec, DataPlatformAccountStatus, MANAGED_TAGS_TAG,
    OWNER_TAG, PAUSED_ANNOTATION, Tier, annotation_is_true, managed_tags_value, owner_tag_value,
};
use dataplatform_aws::AccountTarget;

/// The identity of one object (account or grant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The parts of a DataPlatformAccount the engine reads.
#[derive(Clone, Debug)]
pub struct AccountObject {
    pub id: ObjectId,
    pub generation: Option<i64>,
    pub annotations: BTreeMap<String, String>,
    pub spec: DataPlatformAccountSpec,
    pub status: Option<DataPlatformAccountStatus>,
    /// Ids of the managed Child accounts (any namespace): an Organisation's registry lets them
    /// pull. Only Organisation accounts use it; the caller fills it from the accounts it knows
    /// (see `with_child_accounts`).
    pub child_accounts: BTreeSet<String>,
}

impl AccountObject {
    pub fn from_resource(account: &DataPlatformAccount) -> Self {
        Self {
            id: ObjectId {
                namespace: account
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".to_owned()),
                name: account.metadata.name.clone().unwrap_or_default(),
            },
            generation: account.metadata.generation,
            annotations: account.metadata.annotations.clone().unwrap_or_default(),
            spec: account.spec.clone(),
            status: account.status.clone(),
            child_accounts: BTreeSet::new(),
        }
    }

    /// The registry of an Organisation account lets the Child accounts among `accounts` pull.
    /// The key that encrypts the shared bucket: the spec's, or the operator's (by its ARN once the
    /// status records it, by its alias before).
    pub fn bucket_key(&self) -> Option<String> {
        if let Some(key) = &self.spec.storage.kms_key_arn {
            return Some(key.clone());
        }
        self.spec.storage.managed_key().then(|| {
            let recorded = self
                .status
                .as_ref()
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.kms_key_arn.clone());
            recorded.unwrap_or_else(|| {
                dataplatform_api::names::AccountNames::new(&self.id.namespace, &self.id.name, &self.spec.account_id)
                    .bucket_key_alias()
            })
        })
    }

    pub fn with_child_accounts(mut self, accounts: &[AccountObject]) -> Self {
        self.child_accounts = child_account_ids(accounts.iter().map(|a| &a.spec));
        self
    }

    pub fn paused(&self) -> bool {
        annotation_is_true(Some(&self.annotations), PAUSED_ANNOTATION)
    }

    /// Refuses annotations under `dataplatform.io/` the operator does not read (a misspelt
    /// `paused` must not let writes through), before any AWS call.
    pub fn check_annotations(&self) -> Result<(), dataplatform_api::InvalidSpec> {
        dataplatform_api::check_annotations(&self.annotations)
    }

    pub fn adopt(&self) -> bool {
        annotation_is_true(Some(&self.annotations), ADOPT_ANNOTATION)
    }

    pub fn target(&self) -> AccountTarget {
        AccountTarget {
            account_id: self.spec.account_id.clone(),
            region: self.spec.region.clone(),
            role_arn: self.spec.role_arn.clone(),
            external_id: self.spec.external_id.clone(),
        }
    }
}

/// Account ids of the managed Child accounts: who may pull from the organisation's registry.
pub fn child_account_ids<'a>(accounts: impl IntoIterator<Item = &'a DataPlatformAccountSpec>) -> BTreeSet<String> {
    accounts
        .into_iter()
        .filter(|spec| spec.tier == Tier::Child)
        .map(|spec| spec.account_id.clone())
        .collect()
}

/// What every part of one account builds from: where it is, the deterministic names, and the tags
/// each resource carries.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountContext {
    pub id: ObjectId,
    pub account_id: String,
    pub region: String,
    pub partition: &'static str,
    pub names: AccountNames,
    /// The owner tag's value: `namespace/name`.
    pub owner: String,
    /// Owner tag, `spec.tags` and the record of its keys: what every resource carries.
    pub tags: BTreeMap<String, String>,
    /// Ids of the managed Child accounts (see [`AccountObject::child_accounts`]).
    pub child_accounts: BTreeSet<String>,
    /// The private DNS name services with a port are reached by (`spec.network.dnsNamespace`, or
    /// `<name>.dataplatform.internal`); `None` without `spec.network`.
    pub dns_namespace: Option<String>,
}

impl AccountContext {
    pub fn new(id: &ObjectId, spec: &DataPlatformAccountSpec, child_accounts: &BTreeSet<String>) -> Self {
        let owner = owner_tag_value(&id.namespace, &id.name);
        let mut tags = spec.tags.clone();
        tags.insert(OWNER_TAG.to_owned(), owner.clone());
        tags.insert(MANAGED_TAGS_TAG.to_owned(), managed_tags_value(spec.tags.keys()));
        Self {
            id: id.clone(),
            account_id: spec.account_id.clone(),
            region: spec.region.clone(),
            partition: partition(&spec.region),
            names: AccountNames::new(&id.namespace, &id.name, &spec.account_id),
            owner,
            tags,
            child_accounts: child_accounts.clone(),
            dns_namespace: spec.network.as_ref().map(|network| {
                network
                    .dns_namespace
                    .clone()
                    .unwrap_or_else(|| format!("{}.dataplatform.internal", id.name))
            }),
        }
    }

    /// The ARN of a role of this account.
    pub fn role_arn(&self, role: &str) -> String {
        format!("arn:{}:iam::{}:role/{role}", self.partition, self.account_id)
    }

    /// The ARN of a bucket (bucket ARNs name neither region nor account).
    pub fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }

    /// The ARN of a resource of `service` in this account and region, e.g. `rds`, `cluster:x`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }
}

pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
