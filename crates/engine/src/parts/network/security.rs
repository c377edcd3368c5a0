//! The security groups the network part owns: their roles, what each admits (the database from
//! the tasks, the tasks from the load balancers, the load balancers from the allowed ranges), and
//! how a rule AWS holds reads in the plan's terms.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::Scheme;
use dataplatform_aws::network::{Peer, Rule};

use super::model::{ANYWHERE, DesiredNetwork, GroupRole, HTTPS_PORT, NetworkForm, POSTGRES_PORT};
use crate::plan::{Ec2Ref, PlannedPeer, PlannedRule};

impl DesiredNetwork {
    /// The security groups this form makes, each after the groups its rules name.
    pub fn groups(&self) -> Vec<GroupRole> {
        let mut roles: Vec<GroupRole> = Vec::new();
        if self.form == NetworkForm::Absent {
            return roles;
        }
        roles.extend(self.exposure.keys().map(|scheme| GroupRole::LoadBalancer(*scheme)));
        // The existing form's tasks run in the spec's groups; ours joins them to admit the load
        // balancer and the services' ports from one another.
        if self.managed().is_some() || !self.exposure.is_empty() || !self.service_ports.is_empty() {
            roles.push(GroupRole::Tasks);
        }
        if self.database {
            roles.push(GroupRole::Database);
        }
        if self.endpoints().iter().any(|e| !e.gateway) {
            roles.push(GroupRole::Endpoints);
        }
        roles
    }

    /// A group's (ingress, egress) rules. `peers`: the groups made or known so far, who the database
    /// admits, and the VPC's range.
    pub fn rules(&self, role: GroupRole, peers: &RulePeers<'_>) -> (BTreeSet<PlannedRule>, BTreeSet<PlannedRule>) {
        let tcp = |port: i32, peer: PlannedPeer| PlannedRule {
            protocol: "tcp".to_owned(),
            ports: Some((port, port)),
            peer,
        };
        let tasks = peers.tasks;
        match role {
            GroupRole::LoadBalancer(scheme) => {
                let Some(exposure) = self.exposure.get(&scheme) else {
                    return Default::default();
                };
                let mut cidrs = exposure.cidrs.clone();
                if exposure.default_cidr {
                    match scheme {
                        Scheme::Internal => cidrs.extend(peers.vpc_cidr.map(str::to_owned)),
                        Scheme::InternetFacing => {
                            cidrs.insert(ANYWHERE.to_owned());
                        }
                    }
                }
                let ingress = exposure
                    .listener_ports
                    .iter()
                    .flat_map(|port| cidrs.iter().map(|cidr| tcp(*port, PlannedPeer::Cidr(cidr.clone()))))
                    .collect();
                (ingress, [all_traffic_anywhere()].into())
            }
            // Egress to anywhere: tasks reach endpoints, the database, and (through NAT) the internet;
            // ingress from the load balancers on the ports they forward to, and from the group
            // itself on each port a service declares (nothing else: a service without a port is
            // reached by no one).
            GroupRole::Tasks => {
                let from_tasks = self
                    .service_ports
                    .iter()
                    .map(|port| tcp(*port, PlannedPeer::Group(peers.own.clone())));
                let ingress = self
                    .exposure
                    .iter()
                    .filter_map(|(scheme, exposure)| {
                        let group = peers.made.get(&GroupRole::LoadBalancer(*scheme))?;
                        Some(
                            exposure
                                .service_ports
                                .iter()
                                .map(|port| tcp(*port, PlannedPeer::Group(group.clone()))),
                        )
                    })
                    .flatten()
                    .chain(from_tasks)
                    .collect();
                (ingress, [all_traffic_anywhere()].into())
            }
            GroupRole::Database => (
                tasks.iter().map(|peer| tcp(POSTGRES_PORT, peer.clone())).collect(),
                BTreeSet::new(),
            ),
            GroupRole::Endpoints => {
                let cidr = self.managed().map(|v| v.cidr.to_string()).unwrap_or_default();
                ([tcp(HTTPS_PORT, PlannedPeer::Cidr(cidr))].into(), BTreeSet::new())
            }
        }
    }
}

/// Who a group's rules may name.
pub struct RulePeers<'a> {
    /// The groups of ours made or known so far in this plan.
    pub made: &'a BTreeMap<GroupRole, Ec2Ref>,
    /// Who the database admits: our tasks' group, or the existing form's groups.
    pub tasks: &'a [PlannedPeer],
    pub vpc_cidr: Option<&'a str>,
    /// The group the rules are for, as the plan names it (a rule may name its own group).
    pub own: Ec2Ref,
}

/// The egress rule EC2 gives every new group.
pub fn all_traffic_anywhere() -> PlannedRule {
    PlannedRule {
        protocol: "-1".to_owned(),
        ports: None,
        peer: PlannedPeer::Cidr(ANYWHERE.to_owned()),
    }
}

/// A rule AWS holds, in the plan's terms.
pub fn planned(rule: &Rule) -> PlannedRule {
    PlannedRule {
        protocol: rule.protocol.clone(),
        ports: rule.ports,
        peer: match &rule.peer {
            Peer::Cidr(cidr) => PlannedPeer::Cidr(cidr.clone()),
            Peer::Group(group) => PlannedPeer::Group(Ec2Ref::Known(group.clone())),
        },
    }
}
