//! The managed form's diff: the VPC and everything in it, in the order they build on each other
//! (VPC, internet gateway, subnets, security groups, Elastic IPs, NAT gateways, route tables,
//! endpoints). What one action makes, the ones after it name by [`Ec2Ref::Made`], so a whole
//! network is one plan.

use std::collections::BTreeMap;

use dataplatform_api::NatGateway;

use super::model::{DesiredNetwork, GroupRole, ManagedVpc, ObservedNetwork, Tier, carve, name_tag};
use super::writes::NetworkWrite;
use crate::account::AccountContext;
use crate::plan::{Action, Ec2Ref, FieldChange, Part, PlannedEndpoint};
use crate::vocabulary::{Outcome, Owner, tag_changes, tag_update};

/// Builds the outcomes of one network, resource by resource.
pub(super) struct Planner<'a> {
    pub desired: &'a DesiredNetwork,
    pub observed: &'a ObservedNetwork,
    pub owner: &'a Owner<'a>,
    pub account: &'a AccountContext,
    pub outcomes: Vec<Outcome>,
}

impl Planner<'_> {
    /// One tagged resource: created with `create` when absent, its tags and `update` put right
    /// when ours. Returns how later ops name it; `None` when it is not ours (a conflict).
    pub fn resource(
        &mut self,
        resource: String,
        name: &str,
        seen: Option<(&str, &BTreeMap<String, String>)>,
        create: impl FnOnce(BTreeMap<String, String>) -> Vec<NetworkWrite>,
        update: impl FnOnce(&str) -> (Vec<FieldChange>, Vec<NetworkWrite>),
    ) -> Option<Ec2Ref> {
        let tags = self.desired.tags_named(name);
        let Some((id, seen_tags)) = seen else {
            let ops = create(tags);
            self.outcomes.push(Outcome::create(Action::create(
                Part::Network,
                resource.clone(),
                name,
                ops,
            )));
            return Some(Ec2Ref::Made(resource));
        };
        if let Err(conflict) = self.owner.check(&resource, name, seen_tags) {
            self.outcomes.push(Outcome::conflict(conflict));
            return None;
        }
        let mut changes = tag_changes(&tags, seen_tags);
        let mut ops = Vec::new();
        if !changes.is_empty() {
            ops.push(NetworkWrite::TagEc2 {
                id: id.to_owned(),
                tags: tag_update(&tags, seen_tags),
            });
        }
        let (more_changes, more_ops) = update(id);
        changes.extend(more_changes);
        ops.extend(more_ops);
        self.outcomes
            .push(Outcome::update(Part::Network, resource, name, changes, ops));
        Some(Ec2Ref::Known(id.to_owned()))
    }

    pub fn managed(&mut self, vpc_spec: &ManagedVpc) {
        let (desired, observed) = (self.desired, self.observed);
        let names = &desired.names;
        let zones: Vec<String> = observed.zones.iter().take(vpc_spec.zones).cloned().collect();
        let seen_vpc = observed.vpc();
        if let Some(seen) = seen_vpc.filter(|v| v.cidr != vpc_spec.cidr.to_string()) {
            self.outcomes.push(Outcome::conflict(format!(
                "ec2:vpc ({}) is {} with range {}, but spec.network.vpc.cidr is {}; a VPC's range cannot change",
                names.vpc(),
                seen.id,
                seen.cidr,
                vpc_spec.cidr
            )));
            return;
        }
        let cidr = vpc_spec.cidr.to_string();
        let Some(vpc) = self.resource(
            "ec2:vpc".to_owned(),
            &names.vpc(),
            seen_vpc.map(|v| (v.id.as_str(), &v.tags)),
            |tags| {
                vec![
                    NetworkWrite::CreateVpc { cidr, tags },
                    NetworkWrite::EnableVpcDns {
                        vpc: Ec2Ref::Made("ec2:vpc".to_owned()),
                    },
                ]
            },
            |id| match seen_vpc {
                Some(v) if !(v.dns_support && v.dns_hostnames) => (
                    vec![FieldChange::new("dns", "off", "on")],
                    vec![NetworkWrite::EnableVpcDns {
                        vpc: Ec2Ref::Known(id.to_owned()),
                    }],
                ),
                _ => (vec![], vec![]),
            },
        ) else {
            return;
        };
        let Some(gateway) = self.internet_gateway(&vpc) else {
            return;
        };
        let mut private = Vec::new();
        let mut public = Vec::new();
        for (index, zone) in zones.iter().enumerate() {
            let (private_cidr, public_cidr) = carve(vpc_spec.cidr, index);
            private.push(self.subnet(&vpc, Tier::Private, zone, private_cidr.to_string()));
            public.push(self.subnet(&vpc, Tier::Public, zone, public_cidr.to_string()));
        }
        let (Some(private), Some(public)) = (
            private.into_iter().collect::<Option<Vec<_>>>(),
            public.into_iter().collect::<Option<Vec<_>>>(),
        ) else {
            return;
        };
        let groups = self.groups(Some(&vpc));
        let nats = self.nat_gateways(vpc_spec.nat, &zones, &public);
        self.public_route_table(&vpc, &gateway, &public);
        let mut private_tables = Vec::new();
        for (index, zone) in zones.iter().enumerate() {
            let nat = match vpc_spec.nat {
                NatGateway::None => None,
                NatGateway::Single => nats.first().cloned().flatten(),
                NatGateway::PerZone => nats.get(index).cloned().flatten(),
            };
            private_tables.extend(self.private_route_table(&vpc, zone, &private[index], nat));
        }
        self.endpoints(&vpc, &private, &private_tables, groups.get(&GroupRole::Endpoints));
        self.subnet_group(&private);
    }

    fn internet_gateway(&mut self, vpc: &Ec2Ref) -> Option<Ec2Ref> {
        let name = self.desired.names.vpc();
        let seen = self.observed.gateways.first();
        let attached = seen.is_some_and(|g| match vpc {
            Ec2Ref::Known(id) => g.attached_to.contains(id),
            Ec2Ref::Made(_) => false,
        });
        let key = "ec2:internet-gateway".to_owned();
        let made = Ec2Ref::Made(key.clone());
        self.resource(
            key,
            &name,
            seen.map(|g| (g.id.as_str(), &g.tags)),
            |tags| {
                vec![
                    NetworkWrite::CreateInternetGateway { tags },
                    NetworkWrite::AttachInternetGateway {
                        gateway: made,
                        vpc: vpc.clone(),
                    },
                ]
            },
            |id| {
                if attached {
                    return (vec![], vec![]);
                }
                (
                    vec![FieldChange::new("attachedTo", "(none)", vpc.to_string())],
                    vec![NetworkWrite::AttachInternetGateway {
                        gateway: Ec2Ref::Known(id.to_owned()),
                        vpc: vpc.clone(),
                    }],
                )
            },
        )
    }

    fn subnet(&mut self, vpc: &Ec2Ref, tier: Tier, zone: &str, cidr: String) -> Option<Ec2Ref> {
        let name = self.desired.names.subnet(tier, zone);
        // Also by range: a subnet someone made on our range is a conflict, not a create EC2 refuses.
        let seen = self
            .observed
            .subnet_named(&name)
            .or_else(|| self.observed.subnets.iter().find(|s| s.cidr == cidr));
        let resource = format!("ec2:subnet/{}/{zone}", tier.as_str());
        self.resource(
            resource,
            &name,
            seen.map(|s| (s.id.as_str(), &s.tags)),
            |tags| {
                vec![NetworkWrite::CreateSubnet {
                    vpc: vpc.clone(),
                    cidr,
                    zone: zone.to_owned(),
                    tags,
                }]
            },
            |_| (vec![], vec![]),
        )
    }

    /// Per zone asked for: an Elastic IP and a NAT gateway in the zone's public subnet. NAT
    /// gateways of ours no longer asked for are deleted, their addresses released once free.
    fn nat_gateways(&mut self, nat: NatGateway, zones: &[String], public: &[Ec2Ref]) -> Vec<Option<Ec2Ref>> {
        let count = match nat {
            NatGateway::None => 0,
            NatGateway::Single => 1,
            NatGateway::PerZone => zones.len(),
        };
        let names = &self.desired.names;
        let mut made = Vec::new();
        for (zone, subnet) in zones.iter().zip(public).take(count) {
            let name = names.nat(zone);
            let seen_address = self.observed.address_named(&name);
            let address = self.resource(
                format!("ec2:elastic-ip/{zone}"),
                &name,
                seen_address.map(|a| (a.allocation_id.as_str(), &a.tags)),
                |tags| vec![NetworkWrite::AllocateAddress { tags }],
                |_| (vec![], vec![]),
            );
            let Some(address) = address else {
                made.push(None);
                continue;
            };
            let seen = self.observed.nat_named(&name).filter(|n| n.state != "failed");
            made.push(self.resource(
                format!("ec2:nat-gateway/{zone}"),
                &name,
                seen.map(|n| (n.id.as_str(), &n.tags)),
                |tags| {
                    vec![NetworkWrite::CreateNatGateway {
                        subnet: subnet.clone(),
                        allocation: address,
                        tags,
                    }]
                },
                |_| (vec![], vec![]),
            ));
        }
        let wanted: Vec<String> = zones.iter().take(count).map(|z| names.nat(z)).collect();
        self.unwanted_nat_gateways(&wanted);
        made
    }

    fn unwanted_nat_gateways(&mut self, wanted: &[String]) {
        let owner = &self.account.owner;
        for nat in &self.observed.nat_gateways {
            let name = name_tag(&nat.tags).to_owned();
            // A failed NAT gateway is replaced: deleted here, made again by the lines above.
            let unwanted = !wanted.contains(&name) || nat.state == "failed";
            if crate::vocabulary::ours(&nat.tags, owner) && unwanted && nat.state != "deleting" {
                self.outcomes.push(Outcome::create(Action::delete(
                    Part::Network,
                    "ec2:nat-gateway",
                    &nat.id,
                    vec![NetworkWrite::DeleteNatGateway { nat: nat.id.clone() }],
                )));
            }
        }
        for address in &self.observed.addresses {
            let name = name_tag(&address.tags).to_owned();
            if crate::vocabulary::ours(&address.tags, owner)
                && !wanted.contains(&name)
                && address.association_id.is_none()
            {
                self.outcomes.push(Outcome::create(Action::delete(
                    Part::Network,
                    "ec2:elastic-ip",
                    &address.allocation_id,
                    vec![NetworkWrite::ReleaseAddress {
                        allocation: address.allocation_id.clone(),
                    }],
                )));
            }
        }
    }

    fn endpoints(
        &mut self,
        vpc: &Ec2Ref,
        private: &[Ec2Ref],
        private_tables: &[Ec2Ref],
        endpoint_group: Option<&Ec2Ref>,
    ) {
        let wanted = self.desired.endpoints();
        for endpoint in &wanted {
            let name = self.desired.names.endpoint(&endpoint.key);
            let seen = self.observed.endpoint_named(&name);
            let placement = if endpoint.gateway {
                PlannedEndpoint::Gateway {
                    route_tables: private_tables.to_vec(),
                }
            } else {
                PlannedEndpoint::Interface {
                    subnets: private.to_vec(),
                    groups: endpoint_group.into_iter().cloned().collect(),
                }
            };
            self.resource(
                format!("ec2:endpoint/{}", endpoint.key),
                &name,
                seen.map(|e| (e.id.as_str(), &e.tags)),
                |tags| {
                    vec![NetworkWrite::CreateVpcEndpoint {
                        vpc: vpc.clone(),
                        service: endpoint.service_name.clone(),
                        placement,
                        tags,
                    }]
                },
                |_| (vec![], vec![]),
            );
        }
        let wanted_names: Vec<String> = wanted.iter().map(|e| self.desired.names.endpoint(&e.key)).collect();
        for seen in &self.observed.endpoints {
            let name = name_tag(&seen.tags).to_owned();
            if crate::vocabulary::ours(&seen.tags, &self.account.owner)
                && !wanted_names.contains(&name)
                && seen.state != "deleting"
            {
                self.outcomes.push(Outcome::create(Action::delete(
                    Part::Network,
                    "ec2:endpoint",
                    &seen.id,
                    vec![NetworkWrite::DeleteVpcEndpoint {
                        endpoint: seen.id.clone(),
                    }],
                )));
            }
        }
    }
}
