//! Deleting the network under `deletionPolicy: Delete`: last of all parts, only what carries our
//! owner tag, and only once nothing else is in the VPC. NAT gateways and endpoints go first and
//! are waited for (EC2 deletes them in the background); then addresses, route tables, security
//! groups, subnets, the internet gateway and the VPC, in one pass.

use super::model::{DesiredNetwork, GroupRole, ObservedNetwork};
use super::writes::NetworkWrite;
use crate::account::AccountContext;
use crate::plan::{Action, Part};
use crate::vocabulary::ours;

pub fn deletion(
    account: &AccountContext,
    desired: &DesiredNetwork,
    observed: &ObservedNetwork,
    waiting: &mut Vec<String>,
) -> Vec<Action> {
    let owner = &account.owner;
    let mut actions = Vec::new();
    if let Some(group) = observed.subnet_group.as_ref().filter(|g| ours(&g.tags, owner)) {
        actions.push(Action::delete(
            Part::Network,
            "rds:subnet-group",
            &group.name,
            vec![NetworkWrite::DeleteDbSubnetGroup {
                name: group.name.clone(),
            }],
        ));
    }
    let Some(vpc) = observed.vpc().filter(|v| ours(&v.tags, owner)) else {
        // The existing form (or a VPC already gone): only our security groups.
        actions.extend(groups(desired, observed, owner));
        return actions;
    };
    if let Some(wait) = foreign_interfaces_wait(observed, &vpc.id, owner) {
        waiting.push(wait);
        return vec![];
    }
    let busy = background_deletions(observed, owner, &mut actions);
    if !busy.is_empty() {
        waiting.push(format!("{} being deleted", busy.join(", ")));
        return actions;
    }
    actions.extend(vpc_contents(desired, observed, owner));
    actions.push(Action::delete(
        Part::Network,
        "ec2:vpc",
        &vpc.id,
        vec![NetworkWrite::DeleteVpc { vpc: vpc.id.clone() }],
    ));
    actions
}

/// What the VPC holds of ours, in the order EC2 lets it go: addresses, route tables (disassociated
/// first), security groups, subnets, the internet gateway (detached first).
fn vpc_contents(desired: &DesiredNetwork, observed: &ObservedNetwork, owner: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    for address in observed.addresses.iter().filter(|a| ours(&a.tags, owner)) {
        actions.push(Action::delete(
            Part::Network,
            "ec2:elastic-ip",
            &address.allocation_id,
            vec![NetworkWrite::ReleaseAddress {
                allocation: address.allocation_id.clone(),
            }],
        ));
    }
    for table in observed.route_tables.iter().filter(|t| ours(&t.tags, owner) && !t.main) {
        let mut ops: Vec<NetworkWrite> = table
            .associations
            .iter()
            .map(|(association, _)| NetworkWrite::DisassociateRouteTable {
                association: association.clone(),
            })
            .collect();
        ops.push(NetworkWrite::DeleteRouteTable {
            table: table.id.clone(),
        });
        actions.push(Action::delete(Part::Network, "ec2:route-table", &table.id, ops));
    }
    actions.extend(groups(desired, observed, owner));
    for subnet in observed.subnets.iter().filter(|s| ours(&s.tags, owner)) {
        actions.push(Action::delete(
            Part::Network,
            "ec2:subnet",
            &subnet.id,
            vec![NetworkWrite::DeleteSubnet {
                subnet: subnet.id.clone(),
            }],
        ));
    }
    for gateway in observed.gateways.iter().filter(|g| ours(&g.tags, owner)) {
        let mut ops: Vec<NetworkWrite> = gateway
            .attached_to
            .iter()
            .map(|vpc| NetworkWrite::DetachInternetGateway {
                gateway: gateway.id.clone(),
                vpc: vpc.clone(),
            })
            .collect();
        ops.push(NetworkWrite::DeleteInternetGateway {
            gateway: gateway.id.clone(),
        });
        actions.push(Action::delete(Part::Network, "ec2:internet-gateway", &gateway.id, ops));
    }
    actions
}

/// Why the VPC cannot go yet: network interfaces in it that none of our NAT gateways or endpoints
/// made (a task, a load balancer, or someone else's). `None`: nothing else is in it.
fn foreign_interfaces_wait(observed: &ObservedNetwork, vpc: &str, owner: &str) -> Option<String> {
    let foreign = observed.foreign_interfaces(owner);
    if foreign.is_empty() {
        return None;
    }
    let list: Vec<String> = foreign
        .iter()
        .take(5)
        .map(|i| {
            let what = if i.description.is_empty() {
                &i.kind
            } else {
                &i.description
            };
            format!("{} ({what})", i.id)
        })
        .collect();
    Some(format!(
        "ec2:vpc ({vpc}) still holds {} network interface(s) the network part did not make: {}; the VPC is deleted once whatever made them is gone",
        foreign.len(),
        list.join(", ")
    ))
}

/// Deletes our endpoints and NAT gateways; what of them still exists, which the rest waits for.
fn background_deletions(observed: &ObservedNetwork, owner: &str, actions: &mut Vec<Action>) -> Vec<String> {
    let mut busy = Vec::new();
    for endpoint in observed.endpoints.iter().filter(|e| ours(&e.tags, owner)) {
        if endpoint.state != "deleting" {
            actions.push(Action::delete(
                Part::Network,
                "ec2:endpoint",
                &endpoint.id,
                vec![NetworkWrite::DeleteVpcEndpoint {
                    endpoint: endpoint.id.clone(),
                }],
            ));
        }
        busy.push(format!("ec2:endpoint ({})", endpoint.id));
    }
    for nat in observed.nat_gateways.iter().filter(|n| ours(&n.tags, owner)) {
        if nat.state != "deleting" {
            actions.push(Action::delete(
                Part::Network,
                "ec2:nat-gateway",
                &nat.id,
                vec![NetworkWrite::DeleteNatGateway { nat: nat.id.clone() }],
            ));
        }
        busy.push(format!("ec2:nat-gateway ({})", nat.id));
    }
    busy
}

/// Our security groups, the database's first (its rule names the tasks' group).
fn groups(desired: &DesiredNetwork, observed: &ObservedNetwork, owner: &str) -> Vec<Action> {
    GroupRole::TEARDOWN
        .into_iter()
        .filter_map(|role| observed.group_named(&desired.names.group(role)))
        .filter(|g| ours(&g.tags, owner))
        .map(|group| {
            Action::delete(
                Part::Network,
                "ec2:security-group",
                &group.id,
                vec![NetworkWrite::DeleteSecurityGroup {
                    group: group.id.clone(),
                }],
            )
        })
        .collect()
}
