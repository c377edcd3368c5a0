//! The words every part speaks, so that no part imports another or the account-wide code: what one
//! resource needs ([`Outcome`]), whose a resource is ([`Owner`]), tag changes, how values read in a
//! plan, where the parts stand ([`Readiness`]), and what one part tells the parts after it
//! ([`Facts`]). Imports no engine module but `plan`.

use std::collections::BTreeMap;
use std::future::Future;

use dataplatform_api::{MANAGED_TAGS_TAG, OWNER_TAG, Scheme, managed_tag_keys};
use dataplatform_aws::ecs::ServiceNetwork;
use dataplatform_aws::quotas::TAGS_PER_RESOURCE;
use dataplatform_aws::rds::ClusterPlacement;
use dataplatform_aws::{AwsError, QuotaExceeded, QuotaUse, TagUpdate};
use futures::future::try_join_all;

use crate::plan::{Action, ActionKind, FieldChange, Op, Part, Plan};

/// Observes every resource of a part kept by key (buckets by purpose, roles by kind) at once: the
/// ones that exist, by the same key.
pub async fn observe_each<'a, K: Ord + Copy, D, O, F, Fut>(
    desired: &'a BTreeMap<K, D>,
    observe: F,
) -> Result<BTreeMap<K, O>, AwsError>
where
    F: Fn(&'a D) -> Fut,
    Fut: Future<Output = Result<Option<O>, AwsError>>,
{
    let found = try_join_all(desired.iter().map(|(key, wanted)| {
        let seen = observe(wanted);
        async move { Ok::<_, AwsError>(seen.await?.map(|seen| (*key, seen))) }
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// How a value that is not there reads in a plan.
pub const NONE: &str = "(none)";

/// What one resource needs: an action, a conflict, a wait, or nothing.
#[derive(Debug, Default)]
pub struct Outcome {
    pub action: Option<Action>,
    pub conflict: Option<String>,
    pub waiting: Option<String>,
    /// What is deliberately left alone, for people to read (it keeps nothing from being Ready).
    pub note: Option<String>,
    /// A write that would pass one of AWS's quotas: nothing of the pass may be written.
    pub quota_exceeded: Option<String>,
}

impl Outcome {
    pub fn create(action: Action) -> Self {
        Self {
            action: Some(action),
            ..Default::default()
        }
    }

    pub fn conflict(message: String) -> Self {
        Self {
            conflict: Some(message),
            ..Default::default()
        }
    }

    /// The resource's writes would pass `refused`'s quota: none is planned.
    pub fn quota_exceeded(refused: QuotaExceeded) -> Self {
        Self {
            quota_exceeded: Some(refused.to_string()),
            ..Default::default()
        }
    }

    pub fn waiting(message: String) -> Self {
        Self {
            waiting: Some(message),
            ..Default::default()
        }
    }

    /// An update of `resource` when it has ops; nothing otherwise.
    pub fn update(
        part: Part,
        resource: String,
        name: &str,
        changes: Vec<FieldChange>,
        writes: impl IntoIterator<Item = impl Into<Op>>,
    ) -> Self {
        let ops = crate::plan::ops(writes);
        let action = (!ops.is_empty()).then(|| Action {
            part,
            resource,
            name: name.to_owned(),
            kind: ActionKind::Update,
            changes,
            ops,
        });
        Self {
            action,
            ..Default::default()
        }
    }
}

/// An account's diff: the plan, and what keeps parts of it from being made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    pub plan: Plan,
    /// Resources under our names that are not ours: nothing may be written while any exist.
    pub conflicts: Vec<String>,
    /// Resources that exist but are busy (e.g. a cluster still `creating`): their changes wait.
    pub waiting: Vec<String>,
    /// What is deliberately left alone (a database kept after `enabled: false`).
    pub notes: Vec<String>,
    /// Writes that would pass one of AWS's quotas: nothing may be written while any exist.
    pub quota_exceeded: Vec<String>,
}

impl Diff {
    pub fn add(&mut self, outcome: Outcome) {
        self.plan.actions.extend(outcome.action);
        self.conflicts.extend(outcome.conflict);
        self.waiting.extend(outcome.waiting);
        self.notes.extend(outcome.note);
        self.quota_exceeded.extend(outcome.quota_exceeded);
    }
}

/// Who may change a resource: the owner tag's value, and whether an untagged resource under our
/// name is adopted (the `dataplatform.io/adopt` annotation).
pub struct Owner<'a> {
    pub value: &'a str,
    pub adopt: bool,
}

impl Owner<'_> {
    /// `Err(conflict)` when the resource is not ours to change.
    pub fn check(&self, resource: &str, name: &str, tags: &BTreeMap<String, String>) -> Result<(), String> {
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

/// The tags on one resource, as AWS counts them against its 50 a resource (its own `aws:` tags do
/// not count).
pub fn tags_used(used: &mut QuotaUse, tags: &BTreeMap<String, String>, place: impl FnOnce() -> String) {
    let user_tags = tags.keys().filter(|k| !k.starts_with("aws:")).count();
    used.record(TAGS_PER_RESOURCE, user_tags, place);
}

/// Carries our owner tag: ours to change and to delete (adoption never counts for deletion).
pub fn ours(tags: &BTreeMap<String, String>, owner: &str) -> bool {
    tags.get(OWNER_TAG).is_some_and(|v| v == owner)
}

/// `tags.KEY old -> new` for every desired tag AWS does not hold with that value, and
/// `tags.KEY old -> (none)` for every managed key that left `spec.tags`: what [`tag_update`] does.
pub fn tag_changes(desired: &BTreeMap<String, String>, observed: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let update = tag_update(desired, observed);
    let before = |k: &String| observed.get(k).map_or(NONE, String::as_str).to_owned();
    let added = update
        .add
        .iter()
        .map(|(k, v)| FieldChange::new(format!("tags.{k}"), before(k), v));
    let removed = update
        .remove
        .iter()
        .map(|k| FieldChange::new(format!("tags.{k}"), before(k), NONE));
    added.chain(removed).collect()
}

/// What a tagging call changes: the desired tags AWS does not hold with that value, and the
/// managed keys that left `spec.tags`.
pub fn tag_update(desired: &BTreeMap<String, String>, observed: &BTreeMap<String, String>) -> TagUpdate {
    TagUpdate {
        add: desired
            .iter()
            .filter(|(k, v)| observed.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        remove: unwanted_tags(desired, observed),
    }
}

/// The keys the resource's managed-tags record lists that the desired tags no longer have and the
/// resource still holds. Without a record (a resource tagged before records existed) nothing is
/// removed: a key we stopped managing cannot be told from someone else's. `aws:` keys and our own
/// two are never removed.
fn unwanted_tags(desired: &BTreeMap<String, String>, observed: &BTreeMap<String, String>) -> Vec<String> {
    let Some(record) = observed.get(MANAGED_TAGS_TAG) else {
        return vec![];
    };
    managed_tag_keys(record)
        .filter(|key| !desired.contains_key(*key) && observed.contains_key(*key))
        .filter(|key| !key.starts_with("aws:") && *key != OWNER_TAG && *key != MANAGED_TAGS_TAG)
        .map(str::to_owned)
        .collect()
}

pub fn list_text(items: &[String]) -> String {
    if items.is_empty() {
        NONE.to_owned()
    } else {
        items.join(" ")
    }
}

pub fn option_text(value: Option<impl ToString>) -> String {
    value.map_or_else(|| NONE.to_owned(), |v| v.to_string())
}

/// Where the account's parts stand after a pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Readiness {
    /// Parts that are not there or not yet available, in words.
    pub pending: Vec<String>,
    /// Something was created this pass (Creating) rather than changed (Updating).
    pub creating: bool,
    /// Rollouts the ECS circuit breaker failed, with ECS's reason: Ready stays False until the
    /// spec changes.
    pub failed: Vec<String>,
    /// What kinds of AWS work the pending entries wait for (when to look again).
    pub waits: std::collections::BTreeSet<crate::wait::WaitKind>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.pending.is_empty() && self.failed.is_empty()
    }

    /// `what` is pending on AWS's work of `kind`.
    pub fn wait(&mut self, kind: crate::wait::WaitKind, what: String) {
        self.pending.push(what);
        self.waits.insert(kind);
    }

    /// The wait to schedule the next pass by: the soonest kind pending (a pass that looks at tasks
    /// looks at the database too), or the old fixed poll when nothing pending says.
    pub fn soonest_wait(&self) -> crate::wait::WaitKind {
        self.waits.first().copied().unwrap_or(crate::wait::WaitKind::Other)
    }
}

/// What parts found in AWS that later parts of the list build on, by name rather than by reaching
/// into each other: filled in list order after observation, before any diff.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// ARN of the KMS key the operator made for the buckets, once it exists.
    pub bucket_key: Option<String>,
    /// The account's database, once it reports an endpoint.
    pub database: Option<DatabaseEndpoint>,
    /// Where the tasks run: `None` while the network is not made yet (or there is none).
    pub tasks_network: Option<ServiceNetwork>,
    /// Where the database lives.
    pub database_network: DatabaseNetwork,
    /// The VPC of the network, once it exists.
    pub network_vpc: Option<String>,
    /// Where each exposed scheme's load balancer goes, once its subnets and group exist.
    pub load_balancer_placement: BTreeMap<Scheme, LoadBalancerPlacement>,
    /// Per exposed service, the target group its tasks register in, once a load balancer forwards
    /// to it (ECS refuses a target group no load balancer uses).
    pub target_groups: BTreeMap<String, String>,
    /// Per exposed service, where it is reached.
    pub service_urls: BTreeMap<String, String>,
    /// The certificate the operator requested for the load balancers, once issued.
    pub certificate: Option<String>,
    /// The CNAME records (name, value) ACM validates that certificate by, for the dns part to
    /// write in the zone.
    pub validation_records: Vec<(String, String)>,
    /// The account's user pool, once it has its domain and app client.
    pub user_pool: Option<UserPoolFact>,
    /// Per exposed scheme, its load balancer as an alias record's target, once it exists.
    pub balancer_aliases: BTreeMap<Scheme, dataplatform_aws::route53::Alias>,
    /// Per service with sign-in, the callback URL the identity provider must allow.
    pub sign_in_callbacks: BTreeMap<String, String>,
    /// Per service with a port, the Cloud Map service (ARN) its tasks register in, once it exists.
    pub service_registries: BTreeMap<String, String>,
    /// Per service with a port, `host:port` in the account's private DNS namespace.
    pub service_addresses: BTreeMap<String, String>,
    /// The ECS services of the spec that exist (ACTIVE).
    pub services: std::collections::BTreeSet<String>,
}

/// What a load balancer signs people in through: a user pool, its app client and domain prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPoolFact {
    pub arn: String,
    pub client_id: String,
    pub domain: String,
}

/// Subnets and security group of one scheme's load balancer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerPlacement {
    pub subnets: Vec<String>,
    pub security_group: String,
}

/// Where the database's cluster is made.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum DatabaseNetwork {
    /// No spec.network: the account's default DB subnet group and security group.
    #[default]
    AccountDefault,
    /// The subnet group or security group is not made yet: the cluster waits for them.
    Waiting,
    In(ClusterPlacement),
}

/// Where services with `databaseAccess` connect, and the secret holding the master password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseEndpoint {
    pub host: String,
    pub port: i32,
    pub secret_arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn only_recorded_keys_that_left_the_spec_are_removed() {
        let desired = tags(&[("team", "data"), (MANAGED_TAGS_TAG, "team")]);
        let observed = tags(&[
            ("team", "data"),
            ("cost", "17"),
            ("someone", "else"),
            ("aws:cloudformation:stack-name", "x"),
            (MANAGED_TAGS_TAG, "aws:cloudformation:stack-name cost gone team"),
        ]);
        let update = tag_update(&desired, &observed);
        assert_eq!(
            update.remove,
            ["cost"],
            "not someone's, not aws:, not one the resource lacks"
        );
        assert_eq!(update.add, tags(&[(MANAGED_TAGS_TAG, "team")]));
        let fields: Vec<String> = tag_changes(&desired, &observed)
            .iter()
            .map(|c| format!("{} -> {}", c.field, c.to))
            .collect();
        assert_eq!(
            fields,
            [
                format!("tags.{MANAGED_TAGS_TAG} -> team"),
                "tags.cost -> (none)".to_owned()
            ]
        );

        // Tagged before records existed: nothing of theirs can be told from ours, so nothing goes.
        let unrecorded = tags(&[("team", "data"), ("cost", "17")]);
        assert!(tag_update(&desired, &unrecorded).remove.is_empty());
    }
}
