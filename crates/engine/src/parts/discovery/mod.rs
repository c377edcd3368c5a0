//! Service discovery (accounts with `spec.network`): a Cloud Map private DNS namespace in the
//! account's VPC (`spec.network.dnsNamespace`, default `<name>.dataplatform.internal`), and in it a
//! Cloud Map service per ECS service with a port: ECS registers each task there as an A record
//! (multivalue, TTL 10 s), so one service reaches another at `<service>.<namespace>:<port>`
//! (Dagster's `workspace.yaml` names its code server so). After the network, before compute: the
//! services are created registered in theirs. Deleted after the services (ECS deregisters the tasks
//! as they stop), the namespace last.

pub mod writes;

use std::collections::BTreeMap;

use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, SpecProblem};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::servicediscovery::{DiscoveryServiceObservation, NamespaceObservation};
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, FieldChange, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness, option_text, ours, tag_changes, tag_update, tags_used};
use writes::DiscoveryWrite;

pub struct Discovery;

/// Seconds a resolver may keep a task's address: short, so a replaced task is found soon.
pub const RECORD_TTL: i64 = 10;

const NAMESPACE: &str = "discovery:namespace";

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredDiscovery {
    pub namespace: String,
    /// The VPC the namespace is made in, once the network has one (`complete`).
    pub vpc: Option<String>,
    /// Each service with a port, and the port: what gets a name. Empty: the namespace is not
    /// wanted (one of ours is deleted once it holds no service).
    pub services: BTreeMap<String, i32>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedDiscovery {
    /// The private namespaces under the name (one per VPC may carry it).
    pub namespaces: Vec<NamespaceObservation>,
    /// The services of the namespace the part works with ([`ObservedDiscovery::namespace`]).
    pub services: Vec<DiscoveryServiceObservation>,
}

impl ObservedDiscovery {
    /// Ours when one carries our owner tag, else the only one there is (reported as not ours).
    fn namespace(&self, owner: &str) -> Option<&NamespaceObservation> {
        let mut ours_first = self.namespaces.iter().filter(|n| ours(&n.tags, owner));
        ours_first.next().or_else(|| self.namespaces.first())
    }

    fn service(&self, name: &str) -> Option<&DiscoveryServiceObservation> {
        self.services.iter().find(|s| s.name == name)
    }
}

impl AccountPart for Discovery {
    const PART: Part = Part::Discovery;
    /// `None`: the account has no `spec.network`.
    type Desired = Option<DesiredDiscovery>;
    type Observed = ObservedDiscovery;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.network.is_some() && spec.services.iter().any(|s| s.port.is_some())
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Option<DesiredDiscovery> {
        Some(DesiredDiscovery {
            namespace: account.dns_namespace.clone()?,
            vpc: None,
            services: spec
                .services
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.port?)))
                .collect(),
        })
    }

    fn complete(desired: &mut Option<DesiredDiscovery>, facts: &Facts) {
        if let Some(desired) = desired {
            desired.vpc = facts.network_vpc.clone();
        }
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &Option<DesiredDiscovery>,
    ) -> Result<ObservedDiscovery, AwsError> {
        let Some(desired) = desired else {
            return Ok(ObservedDiscovery::default());
        };
        let discovery = session.discovery();
        let mut observed = ObservedDiscovery {
            namespaces: discovery.namespaces_named(&desired.namespace).await?,
            services: vec![],
        };
        if let Some(namespace) = observed
            .namespace(&account.owner)
            .filter(|n| ours(&n.tags, &account.owner))
        {
            observed.services = discovery.services_in(&namespace.id).await?;
        }
        Ok(observed)
    }

    fn facts(desired: &Option<DesiredDiscovery>, observed: &ObservedDiscovery, facts: &mut Facts) {
        let Some(desired) = desired else {
            return;
        };
        for (name, port) in &desired.services {
            if let Some(seen) = observed.service(name) {
                facts.service_registries.insert(name.clone(), seen.arn.clone());
                facts
                    .service_addresses
                    .insert(name.clone(), format!("{name}.{}:{port}", desired.namespace));
            }
        }
    }

    fn diff(
        account: &AccountContext,
        desired: &Option<DesiredDiscovery>,
        observed: &ObservedDiscovery,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let Some(desired) = desired else {
            return vec![];
        };
        let wanted = !desired.services.is_empty();
        let Some(namespace) = observed.namespace(owner.value) else {
            return match (&desired.vpc, wanted) {
                (_, false) => vec![],
                (None, true) => vec![Outcome::waiting(format!(
                    "{NAMESPACE} ({}) waits for the network: it is made in the VPC once the VPC exists",
                    desired.namespace
                ))],
                (Some(vpc), true) => vec![Outcome::create(Action::create(
                    Part::Discovery,
                    NAMESPACE,
                    &desired.namespace,
                    vec![DiscoveryWrite::CreateNamespace {
                        name: desired.namespace.clone(),
                        vpc: vpc.clone(),
                        tags: account.tags.clone(),
                    }],
                ))],
            };
        };
        if let Err(conflict) = owner.check(NAMESPACE, &namespace.name, &namespace.tags) {
            return vec![Outcome::conflict(conflict)];
        }
        let (changes, ops) = tag_writes(account, &namespace.arn, &namespace.tags);
        let mut outcomes = vec![Outcome::update(
            Part::Discovery,
            NAMESPACE.to_owned(),
            &namespace.name,
            changes,
            ops,
        )];
        for name in desired.services.keys() {
            outcomes.push(service_outcome(account, namespace, observed.service(name), name, owner));
        }
        outcomes.extend(unwanted(desired, observed, namespace, &account.owner));
        outcomes
    }

    /// Names exist once the namespace holds a service per service with a port; Cloud Map makes the
    /// namespace in the background, so a pass that asked for it comes back.
    fn readiness(
        desired: &Option<DesiredDiscovery>,
        observed: &ObservedDiscovery,
        _: &Plan,
        readiness: &mut Readiness,
    ) {
        let Some(desired) = desired else {
            return;
        };
        let missing: Vec<&String> = desired
            .services
            .keys()
            .filter(|name| observed.service(name).is_none())
            .collect();
        if !missing.is_empty() {
            readiness.wait(
                crate::wait::WaitKind::Names,
                format!(
                    "{NAMESPACE} ({}) has no name yet for {}",
                    desired.namespace,
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }

    /// The services go first (compute deleted the ECS services before this: deletion runs up the
    /// list), each once no task is registered in it; the namespace once it holds none.
    fn deletion(
        account: &AccountContext,
        _desired: &Option<DesiredDiscovery>,
        observed: &ObservedDiscovery,
        waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        let Some(namespace) = observed
            .namespace(&account.owner)
            .filter(|n| ours(&n.tags, &account.owner))
        else {
            return vec![];
        };
        let mut actions = Vec::new();
        for service in &observed.services {
            if service.instances > 0 {
                waiting.push(format!(
                    "discovery:service ({}) still holds {} task(s) ECS has not deregistered",
                    service.name, service.instances
                ));
            } else if ours(&service.tags, &account.owner) {
                actions.push(delete_service(service));
            }
        }
        if waiting.is_empty() {
            actions.push(delete_namespace(namespace));
        }
        actions
    }

    /// Each service's address is reported by compute (`status.services[].address`).
    fn report(
        _: &AccountContext,
        _: &Option<DesiredDiscovery>,
        _: &ObservedDiscovery,
        _: &mut DataPlatformAccountStatus,
    ) {
    }

    fn quota_use(account: &AccountContext, observed: &ObservedDiscovery, used: &mut QuotaUse) {
        for namespace in &observed.namespaces {
            tags_used(used, &namespace.tags, || {
                format!("Cloud Map namespace {} of {}", namespace.name, account.owner)
            });
        }
        for service in &observed.services {
            tags_used(used, &service.tags, || {
                format!("Cloud Map service {} of {}", service.name, account.owner)
            });
        }
    }

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        // Every account with a network, not only one with a port: the part looks for, and deletes,
        // a namespace left after the last port went.
        scope.discovery = Some(spec.network.is_some());
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(_: &DataPlatformAccountSpec, _: &Self::Desired, _: &Self::Observed) -> Vec<SpecProblem> {
        vec![]
    }
}

/// One service's name: made when missing, its TTL and tags put back when changed by hand.
fn service_outcome(
    account: &AccountContext,
    namespace: &NamespaceObservation,
    seen: Option<&DiscoveryServiceObservation>,
    name: &str,
    owner: &Owner<'_>,
) -> Outcome {
    let resource = format!("discovery:service/{name}");
    let Some(seen) = seen else {
        return Outcome::create(Action::create(
            Part::Discovery,
            resource,
            name,
            vec![DiscoveryWrite::CreateDiscoveryService {
                namespace: namespace.id.clone(),
                name: name.to_owned(),
                ttl: RECORD_TTL,
                tags: account.tags.clone(),
            }],
        ));
    };
    if let Err(conflict) = owner.check(&resource, name, &seen.tags) {
        return Outcome::conflict(conflict);
    }
    let (mut changes, mut ops) = tag_writes(account, &seen.arn, &seen.tags);
    if seen.ttl != Some(RECORD_TTL) {
        changes.push(FieldChange::new("ttl", option_text(seen.ttl), RECORD_TTL.to_string()));
        ops.push(DiscoveryWrite::SetRecordTtl {
            service: seen.id.clone(),
            ttl: RECORD_TTL,
        });
    }
    Outcome::update(Part::Discovery, resource, name, changes, ops)
}

/// The tag changes and the write that puts them right, when there are any.
fn tag_writes(
    account: &AccountContext,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> (Vec<FieldChange>, Vec<DiscoveryWrite>) {
    let changes = tag_changes(&account.tags, tags);
    let ops = if changes.is_empty() {
        vec![]
    } else {
        vec![DiscoveryWrite::TagDiscovery {
            arn: arn.to_owned(),
            tags: tag_update(&account.tags, tags),
        }]
    };
    (changes, ops)
}

/// Services of ours no service with a port needs any more: each deleted once ECS has deregistered
/// its tasks (the service went from the spec); the namespace once none is wanted and none is left.
fn unwanted(
    desired: &DesiredDiscovery,
    observed: &ObservedDiscovery,
    namespace: &NamespaceObservation,
    owner: &str,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let stale: Vec<&DiscoveryServiceObservation> = observed
        .services
        .iter()
        .filter(|s| !desired.services.contains_key(&s.name) && ours(&s.tags, owner))
        .collect();
    for service in &stale {
        if service.instances == 0 {
            outcomes.push(Outcome::create(delete_service(service)));
        } else {
            outcomes.push(Outcome::waiting(format!(
                "discovery:service ({}) is no longer needed and is deleted once ECS has deregistered its tasks",
                service.name
            )));
        }
    }
    let all_going = stale.len() == observed.services.len() && stale.iter().all(|s| s.instances == 0);
    if desired.services.is_empty() && all_going {
        outcomes.push(Outcome::create(delete_namespace(namespace)));
    }
    outcomes
}

fn delete_service(service: &DiscoveryServiceObservation) -> Action {
    Action::delete(
        Part::Discovery,
        format!("discovery:service/{}", service.name),
        &service.name,
        vec![DiscoveryWrite::DeleteDiscoveryService {
            service: service.id.clone(),
        }],
    )
}

fn delete_namespace(namespace: &NamespaceObservation) -> Action {
    Action::delete(
        Part::Discovery,
        NAMESPACE,
        &namespace.name,
        vec![DiscoveryWrite::DeleteNamespace {
            namespace: namespace.id.clone(),
        }],
    )
}
