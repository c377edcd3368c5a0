//! Network: where the tasks and the database run. The managed form (`spec.network.vpc`) builds a
//! tenant's VPC (subnets per zone and tier, internet gateway, route tables, NAT gateways, VPC
//! endpoints); both forms get the security groups the operator owns and the database's DB subnet
//! group. First in the list: later parts learn from its facts where tasks run and the database
//! lives, and wait while those are not made yet. Deleted last.

mod groups;
mod managed;
pub mod model;
mod problems;
mod report;
mod routes;
mod security;
mod teardown;
pub mod writes;

use std::collections::BTreeMap;

use dataplatform_api::SpecProblem;
use dataplatform_api::{DataPlatformAccountSpec, DataPlatformAccountStatus, Scheme};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::ecs::ServiceNetwork;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::SECURITY_GROUP_INBOUND_RULES;
use dataplatform_aws::rds::ClusterPlacement;
use dataplatform_aws::{AccountSession, AwsError};

pub use model::{DesiredNetwork, NetworkForm, ObservedNetwork};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, ActionKind, Ec2Ref, Part, Plan};
use crate::vocabulary::{DatabaseNetwork, Facts, LoadBalancerPlacement, Outcome, Owner, Readiness, ours, tags_used};
use managed::Planner;
use model::{GroupRole, Tier};

pub struct Network;

impl AccountPart for Network {
    const PART: Part = Part::Network;
    type Desired = DesiredNetwork;
    type Observed = ObservedNetwork;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.network.is_some()
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredNetwork {
        DesiredNetwork::new(account, spec)
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &DesiredNetwork,
    ) -> Result<ObservedNetwork, AwsError> {
        match &desired.form {
            NetworkForm::Absent => Ok(ObservedNetwork::default()),
            NetworkForm::Existing { subnets, groups, .. } => observe_existing(session, desired, subnets, groups).await,
            NetworkForm::Managed(_) => observe_managed(session, account, desired).await,
        }
    }

    fn facts(desired: &DesiredNetwork, observed: &ObservedNetwork, facts: &mut Facts) {
        if desired.form != NetworkForm::Absent {
            facts.network_vpc = observed.vpc_id().map(str::to_owned);
        }
        let database = match (
            desired.database,
            observed.group_named(&desired.names.group(GroupRole::Database)),
        ) {
            (true, Some(group)) if observed.subnet_group.is_some() => DatabaseNetwork::In(ClusterPlacement {
                subnet_group: desired.names.db_subnet_group.clone(),
                security_groups: vec![group.id.clone()],
            }),
            _ => DatabaseNetwork::Waiting,
        };
        match &desired.form {
            NetworkForm::Absent => {}
            NetworkForm::Existing {
                subnets,
                groups,
                assign_public_ip,
            } => {
                let mut groups = groups.clone();
                let ours = observed.group_named(&desired.names.group(GroupRole::Tasks));
                if desired.groups().contains(&GroupRole::Tasks) {
                    // Our group admits the load balancers; the tasks wait until it exists.
                    groups.extend(ours.map(|g| g.id.clone()));
                }
                facts.tasks_network = (!desired.groups().contains(&GroupRole::Tasks) || ours.is_some())
                    .then(|| ServiceNetwork::new(subnets.clone(), groups, *assign_public_ip));
                facts.database_network = database;
                facts.load_balancer_placement = placements(desired, observed, |scheme| match scheme {
                    Scheme::Internal => Some(subnets.clone()),
                    Scheme::InternetFacing => Some(desired.public_subnets.clone()),
                });
            }
            NetworkForm::Managed(vpc) => {
                let private: Option<Vec<String>> = observed
                    .zones
                    .iter()
                    .take(vpc.zones)
                    .map(|zone| {
                        observed
                            .subnet_named(&desired.names.subnet(Tier::Private, zone))
                            .map(|s| s.id.clone())
                    })
                    .collect();
                let tasks = observed.group_named(&desired.names.group(GroupRole::Tasks));
                facts.tasks_network = match (&private, tasks) {
                    (Some(private), Some(tasks)) if !private.is_empty() => {
                        Some(ServiceNetwork::new(private.clone(), vec![tasks.id.clone()], false))
                    }
                    _ => None,
                };
                facts.database_network = database;
                let zones: Vec<&String> = observed.zones.iter().take(vpc.zones).collect();
                facts.load_balancer_placement = placements(desired, observed, |scheme| match scheme {
                    Scheme::Internal => private.clone(),
                    Scheme::InternetFacing => zones
                        .iter()
                        .map(|zone| {
                            observed
                                .subnet_named(&desired.names.subnet(Tier::Public, zone))
                                .map(|s| s.id.clone())
                        })
                        .collect(),
                });
            }
        }
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredNetwork,
        observed: &ObservedNetwork,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut planner = Planner {
            desired,
            observed,
            owner,
            account,
            outcomes: vec![],
        };
        match &desired.form {
            NetworkForm::Absent => {}
            NetworkForm::Existing { subnets, .. } => {
                let vpc = observed.vpc_id().map(|id| Ec2Ref::Known(id.to_owned()));
                planner.groups(vpc.as_ref());
                let subnets: Vec<Ec2Ref> = subnets.iter().cloned().map(Ec2Ref::Known).collect();
                planner.subnet_group(&subnets);
            }
            NetworkForm::Managed(vpc) => planner.managed(vpc),
        }
        planner.unwanted_groups();
        let mut outcomes = planner.outcomes;
        if let Some(open) = desired.exposure.get(&Scheme::InternetFacing).filter(|e| e.default_cidr) {
            let ports: Vec<String> = open.listener_ports.iter().map(i32::to_string).collect();
            outcomes.push(Outcome {
                note: Some(format!(
                    "the internet-facing load balancer admits anyone (0.0.0.0/0) on port {}: a service exposed InternetFacing sets no allowedCidrs",
                    ports.join(" and ")
                )),
                ..Default::default()
            });
        }
        outcomes.extend(report::dns_note(observed).map(|note| Outcome {
            note: Some(note),
            ..Default::default()
        }));
        outcomes
    }

    fn readiness(desired: &DesiredNetwork, observed: &ObservedNetwork, applied: &Plan, readiness: &mut Readiness) {
        if desired.form == NetworkForm::Absent {
            return;
        }
        let made: Vec<&str> = applied
            .actions
            .iter()
            .filter(|a| a.part == Part::Network && a.kind == ActionKind::Create)
            .map(|a| a.resource.as_str())
            .collect();
        if !made.is_empty() {
            readiness.wait(
                crate::wait::WaitKind::Network,
                format!("network: {} is being created", made.join(", ")),
            );
            return;
        }
        let mut facts = Facts::default();
        Self::facts(desired, observed, &mut facts);
        if facts.tasks_network.is_none() && desired.groups().contains(&GroupRole::Tasks) {
            readiness.wait(
                crate::wait::WaitKind::Network,
                "network: the VPC's subnets and security groups are not all there".into(),
            );
        }
        if desired.database && facts.database_network == DatabaseNetwork::Waiting {
            readiness.wait(
                crate::wait::WaitKind::Network,
                "network: the database's security group and DB subnet group are not both there".into(),
            );
        }
        for nat in observed.nat_gateways.iter().filter(|n| n.state != "available") {
            readiness.wait(
                crate::wait::WaitKind::Network,
                format!("ec2:nat-gateway ({}) is {}", nat.id, nat.state),
            );
        }
        for endpoint in observed.endpoints.iter().filter(|e| e.state != "available") {
            readiness.wait(
                crate::wait::WaitKind::Network,
                format!("ec2:endpoint ({}) is {}", endpoint.id, endpoint.state),
            );
        }
    }

    fn deletion(
        account: &AccountContext,
        desired: &DesiredNetwork,
        observed: &ObservedNetwork,
        waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        teardown::deletion(account, desired, observed, waiting)
    }

    fn report(
        account: &AccountContext,
        desired: &DesiredNetwork,
        observed: &ObservedNetwork,
        status: &mut DataPlatformAccountStatus,
    ) {
        status.network = (desired.form != NetworkForm::Absent).then(|| report::report(account, desired, observed));
    }

    fn quota_use(account: &AccountContext, observed: &ObservedNetwork, used: &mut QuotaUse) {
        for group in observed.groups.iter().filter(|g| ours(&g.tags, &account.owner)) {
            // One rule per peer, as AWS counts them (a rule with two ranges is two).
            let place = || format!("security group {} of {}", group.name, account.owner);
            used.record(SECURITY_GROUP_INBOUND_RULES, group.ingress.len(), place);
            tags_used(used, &group.tags, place);
        }
        for vpc in observed.vpcs.iter().filter(|v| ours(&v.tags, &account.owner)) {
            tags_used(used, &vpc.tags, || format!("VPC {} of {}", vpc.id, account.owner));
        }
    }

    fn policy_scope(account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.network = Some(spec.network.is_some());
        scope.db_subnet_group = Some(vec![account.names.db_subnet_group()]);
    }

    fn remember(_desired: &mut Self::Desired, _status: Option<&DataPlatformAccountStatus>) {}

    fn spec_problems(
        spec: &DataPlatformAccountSpec,
        desired: &Self::Desired,
        observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        problems::spec_problems(spec, desired, observed)
    }
}

async fn observe_existing(
    session: &AccountSession,
    desired: &DesiredNetwork,
    subnets: &[String],
    groups: &[String],
) -> Result<ObservedNetwork, AwsError> {
    let network = session.network();
    let rds = session.rds();
    let (found_subnets, found_groups, subnet_group, public_subnets) = tokio::try_join!(
        network.subnets_by_id(subnets),
        network.security_groups_by_id(groups),
        rds.observe_subnet_group(&desired.names.db_subnet_group),
        async {
            if desired.public_subnets.is_empty() {
                Ok(vec![])
            } else {
                network.subnets_by_id(&desired.public_subnets).await
            }
        },
    )?;
    let missing_groups = groups
        .iter()
        .filter(|g| !found_groups.iter().any(|f| &f.id == *g))
        .cloned()
        .collect();
    let mut observed = ObservedNetwork {
        subnets: found_subnets,
        public_subnets,
        missing_groups,
        subnet_group,
        ..Default::default()
    };
    if let Some(vpc) = observed.vpc_id().map(str::to_owned)
        && !desired.groups().is_empty()
    {
        observed.groups = network.security_groups_in(&vpc).await?;
        if desired.exposure.get(&Scheme::Internal).is_some_and(|e| e.default_cidr) {
            observed.vpc_cidr = network.vpc_cidr(&vpc).await?;
        }
        observed.leftover_group_interfaces = leftover_interfaces(session, desired, &observed).await?;
        if !desired.service_ports.is_empty() {
            observed.existing_vpc_dns = Some(network.vpc_dns(&vpc).await?);
        }
    }
    Ok(observed)
}

async fn observe_managed(
    session: &AccountSession,
    account: &AccountContext,
    desired: &DesiredNetwork,
) -> Result<ObservedNetwork, AwsError> {
    let network = session.network();
    let names = &desired.names;
    // EC2 filters take `*` wildcards: every Elastic IP of ours, whichever zones it was for.
    let addresses = [format!("{}-nat-*", names.prefix)];
    let (vpc_name, rds) = (names.vpc(), session.rds());
    let (zones, mut vpcs, gateways, addresses, subnet_group) = tokio::try_join!(
        network.availability_zones(),
        network.vpcs_named(&vpc_name),
        network.internet_gateways_named(&vpc_name),
        network.addresses_named(&addresses),
        rds.observe_subnet_group(&names.db_subnet_group),
    )?;
    vpcs.sort_by_key(|v| !ours(&v.tags, &account.owner));
    let mut observed = ObservedNetwork {
        zones,
        vpcs,
        gateways,
        addresses,
        subnet_group,
        ..Default::default()
    };
    let Some(vpc) = observed.vpc().map(|v| v.id.clone()) else {
        return Ok(observed);
    };
    let (subnets, route_tables, nat_gateways, endpoints, groups, interfaces) = tokio::try_join!(
        network.subnets_in(&vpc),
        network.route_tables_in(&vpc),
        network.nat_gateways_in(&vpc),
        network.endpoints_in(&vpc),
        network.security_groups_in(&vpc),
        network.interfaces_in(&vpc),
    )?;
    observed.subnets = subnets;
    observed.route_tables = route_tables;
    let (deleted, live): (Vec<_>, Vec<_>) = nat_gateways.into_iter().partition(|n| n.state == "deleted");
    observed.deleted_nat_interfaces = deleted
        .into_iter()
        .filter(|n| ours(&n.tags, &account.owner))
        .filter_map(|n| n.interface_id)
        .collect();
    observed.nat_gateways = live;
    observed.endpoints = endpoints;
    observed.groups = groups;
    observed.interfaces = interfaces;
    observed.leftover_group_interfaces = leftover_interfaces(session, desired, &observed).await?;
    Ok(observed)
}

/// Interfaces using a load-balancer group of ours that no scheme needs (read only while one exists).
async fn leftover_interfaces(
    session: &AccountSession,
    desired: &DesiredNetwork,
    observed: &ObservedNetwork,
) -> Result<Vec<String>, AwsError> {
    let wanted = desired.groups();
    let leftovers: Vec<String> = Scheme::ALL
        .into_iter()
        .map(GroupRole::LoadBalancer)
        .filter(|role| !wanted.contains(role))
        .filter_map(|role| observed.group_named(&desired.names.group(role)))
        .map(|g| g.id.clone())
        .collect();
    session.network().interfaces_using(&leftovers).await
}

/// Where each exposed scheme's load balancer goes: its subnets and our group for it, once both exist.
fn placements(
    desired: &DesiredNetwork,
    observed: &ObservedNetwork,
    subnets: impl Fn(Scheme) -> Option<Vec<String>>,
) -> BTreeMap<Scheme, LoadBalancerPlacement> {
    desired
        .exposure
        .keys()
        .filter_map(|scheme| {
            let group = observed.group_named(&desired.names.group(GroupRole::LoadBalancer(*scheme)))?;
            let subnets = subnets(*scheme).filter(|s| !s.is_empty())?;
            Some((
                *scheme,
                LoadBalancerPlacement {
                    subnets,
                    security_group: group.id.clone(),
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests;
