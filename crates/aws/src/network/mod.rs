//! EC2 networking: what a tenant's VPC holds (VPC, subnets, internet gateway, route tables, NAT
//! gateways and their Elastic IPs, VPC endpoints, security groups and their rules, the network
//! interfaces in it), read by the `Name` tag or the VPC id, and the writes that make and remove it
//! (`writes`). Every create carries its tags in the same request (`TagSpecifications`), so a crash
//! between two calls never leaves a resource that a later pass cannot tell as ours.

mod rules;
mod writes;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, Tag};

pub use rules::{Direction, Peer, Rule};
pub use writes::EndpointPlacement;

use crate::error::AwsError;
use crate::permissions as op;
use crate::session::AccountSession;

/// The tag EC2 shows as a resource's name in the console; ours are deterministic.
pub const NAME_TAG: &str = "Name";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcObservation {
    pub id: String,
    pub cidr: String,
    pub tags: BTreeMap<String, String>,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetObservation {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub zone: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayObservation {
    pub id: String,
    /// VPC ids it is attached to.
    pub attached_to: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// Where a route sends traffic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteTarget {
    /// An internet gateway (`igw-`), or `local` for the VPC's own range.
    Gateway(String),
    NatGateway(String),
    /// Anything else (an instance, a peering, a transit gateway): shown, never ours.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTableObservation {
    pub id: String,
    pub tags: BTreeMap<String, String>,
    /// Routes by IPv4 destination; routes to prefix lists (a gateway endpoint's) are left out.
    pub routes: BTreeMap<String, RouteTarget>,
    /// (association id, subnet id) of each subnet association.
    pub associations: Vec<(String, String)>,
    pub main: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatObservation {
    pub id: String,
    pub subnet_id: String,
    /// pending, available, deleting, failed, deleted.
    pub state: String,
    pub allocation_id: Option<String>,
    pub interface_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressObservation {
    pub allocation_id: String,
    pub association_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointObservation {
    pub id: String,
    pub service: String,
    pub gateway: bool,
    pub state: String,
    pub subnets: BTreeSet<String>,
    pub route_tables: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub private_dns: bool,
    pub interfaces: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityGroupObservation {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    pub tags: BTreeMap<String, String>,
    pub ingress: BTreeSet<Rule>,
    pub egress: BTreeSet<Rule>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceObservation {
    pub id: String,
    pub description: String,
    /// What made it, e.g. `interface` (an ECS task's, a load balancer's), `nat_gateway`.
    pub kind: String,
}

pub struct Network<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn network(&self) -> Network<'_> {
        Network { session: self }
    }
}

pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

pub(crate) fn from_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

fn strings(values: &[String]) -> BTreeSet<String> {
    values.iter().cloned().collect()
}

impl Network<'_> {
    /// The region's availability zones that are available (not Local or Wavelength zones), by name.
    pub async fn availability_zones(&self) -> Result<Vec<String>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_AVAILABILITY_ZONES, || {
                ec2.describe_availability_zones()
                    .filters(filter("state", ["available"]))
                    .send()
            })
            .await?;
        let mut zones: Vec<String> = output
            .availability_zones()
            .iter()
            .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
            .filter_map(|z| z.zone_name().map(str::to_owned))
            .collect();
        zones.sort();
        Ok(zones)
    }

    /// VPCs carrying `Name` = `name`, oldest id first; with their DNS attributes.
    pub async fn vpcs_named(&self, name: &str) -> Result<Vec<VpcObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_VPCS, || {
                ec2.describe_vpcs().filters(filter("tag:Name", [name])).send()
            })
            .await?;
        let mut found = Vec::new();
        for vpc in output.vpcs() {
            let id = vpc.vpc_id().unwrap_or_default().to_owned();
            let (dns_support, dns_hostnames) = self.vpc_dns(&id).await?;
            found.push(VpcObservation {
                cidr: vpc.cidr_block().unwrap_or_default().to_owned(),
                tags: from_tags(vpc.tags()),
                id,
                dns_support,
                dns_hostnames,
            });
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// The VPC's (DNS support, DNS host names): a private hosted zone answers only with both on.
    pub async fn vpc_dns(&self, vpc: &str) -> Result<(bool, bool), AwsError> {
        use aws_sdk_ec2::types::VpcAttributeName;
        let ec2 = self.session.ec2_client();
        let ask = |attribute: VpcAttributeName| {
            self.session.call(&op::EC2_DESCRIBE_VPC_ATTRIBUTE, move || {
                ec2.describe_vpc_attribute()
                    .vpc_id(vpc)
                    .attribute(attribute.clone())
                    .send()
            })
        };
        let (support, hostnames) = tokio::try_join!(
            ask(VpcAttributeName::EnableDnsSupport),
            ask(VpcAttributeName::EnableDnsHostnames)
        )?;
        Ok((
            support.enable_dns_support().and_then(|v| v.value()).unwrap_or(false),
            hostnames
                .enable_dns_hostnames()
                .and_then(|v| v.value())
                .unwrap_or(false),
        ))
    }

    /// Subnets matching one filter (`vpc-id`, or `subnet-id` for the ids a spec names).
    pub async fn subnets(&self, by: Filter) -> Result<Vec<SubnetObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_SUBNETS, || {
                ec2.describe_subnets().filters(by.clone()).send()
            })
            .await?;
        Ok(output
            .subnets()
            .iter()
            .map(|s| SubnetObservation {
                id: s.subnet_id().unwrap_or_default().to_owned(),
                vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
                cidr: s.cidr_block().unwrap_or_default().to_owned(),
                zone: s.availability_zone().unwrap_or_default().to_owned(),
                tags: from_tags(s.tags()),
            })
            .collect())
    }

    pub async fn subnets_in(&self, vpc: &str) -> Result<Vec<SubnetObservation>, AwsError> {
        self.subnets(filter("vpc-id", [vpc])).await
    }

    pub async fn subnets_by_id(&self, ids: &[String]) -> Result<Vec<SubnetObservation>, AwsError> {
        self.subnets(filter("subnet-id", ids.iter().cloned())).await
    }

    /// Internet gateways carrying `Name` = `name` (attached or not).
    pub async fn internet_gateways_named(&self, name: &str) -> Result<Vec<GatewayObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_INTERNET_GATEWAYS, || {
                ec2.describe_internet_gateways()
                    .filters(filter("tag:Name", [name]))
                    .send()
            })
            .await?;
        Ok(output
            .internet_gateways()
            .iter()
            .map(|g| GatewayObservation {
                id: g.internet_gateway_id().unwrap_or_default().to_owned(),
                attached_to: g
                    .attachments()
                    .iter()
                    .filter_map(|a| a.vpc_id().map(str::to_owned))
                    .collect(),
                tags: from_tags(g.tags()),
            })
            .collect())
    }

    pub async fn route_tables_in(&self, vpc: &str) -> Result<Vec<RouteTableObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_ROUTE_TABLES, || {
                ec2.describe_route_tables().filters(filter("vpc-id", [vpc])).send()
            })
            .await?;
        Ok(output
            .route_tables()
            .iter()
            .map(|t| RouteTableObservation {
                id: t.route_table_id().unwrap_or_default().to_owned(),
                tags: from_tags(t.tags()),
                routes: t
                    .routes()
                    .iter()
                    .filter_map(|r| {
                        let target = match (r.nat_gateway_id(), r.gateway_id()) {
                            (Some(nat), _) => RouteTarget::NatGateway(nat.to_owned()),
                            (None, Some(gateway)) => RouteTarget::Gateway(gateway.to_owned()),
                            _ => RouteTarget::Other(
                                r.transit_gateway_id()
                                    .or(r.vpc_peering_connection_id())
                                    .or(r.network_interface_id())
                                    .unwrap_or("unknown")
                                    .to_owned(),
                            ),
                        };
                        Some((r.destination_cidr_block()?.to_owned(), target))
                    })
                    .collect(),
                associations: t
                    .associations()
                    .iter()
                    .filter_map(|a| Some((a.route_table_association_id()?.to_owned(), a.subnet_id()?.to_owned())))
                    .collect(),
                main: t.associations().iter().any(|a| a.main().unwrap_or(false)),
            })
            .collect())
    }

    /// NAT gateways in the VPC, deleted ones included (EC2 lists them for a while).
    pub async fn nat_gateways_in(&self, vpc: &str) -> Result<Vec<NatObservation>, AwsError> {
        self.nat_gateways(filter("vpc-id", [vpc])).await
    }

    /// NAT gateways placed in the subnet, deleted ones included.
    pub async fn nat_gateways_in_subnet(&self, subnet: &str) -> Result<Vec<NatObservation>, AwsError> {
        self.nat_gateways(filter("subnet-id", [subnet])).await
    }

    async fn nat_gateways(&self, by: Filter) -> Result<Vec<NatObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_NAT_GATEWAYS, || {
                ec2.describe_nat_gateways().filter(by.clone()).send()
            })
            .await?;
        Ok(output
            .nat_gateways()
            .iter()
            .map(|n| {
                let address = n.nat_gateway_addresses().first();
                NatObservation {
                    id: n.nat_gateway_id().unwrap_or_default().to_owned(),
                    subnet_id: n.subnet_id().unwrap_or_default().to_owned(),
                    state: n.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    allocation_id: address.and_then(|a| a.allocation_id()).map(str::to_owned),
                    interface_id: address.and_then(|a| a.network_interface_id()).map(str::to_owned),
                    tags: from_tags(n.tags()),
                }
            })
            .collect())
    }

    /// Elastic IPs whose `Name` tag is one of `names`.
    pub async fn addresses_named(&self, names: &[String]) -> Result<Vec<AddressObservation>, AwsError> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_ADDRESSES, || {
                ec2.describe_addresses()
                    .filters(filter("tag:Name", names.iter().cloned()))
                    .send()
            })
            .await?;
        Ok(output
            .addresses()
            .iter()
            .map(|a| AddressObservation {
                allocation_id: a.allocation_id().unwrap_or_default().to_owned(),
                association_id: a.association_id().filter(|id| !id.is_empty()).map(str::to_owned),
                tags: from_tags(a.tags()),
            })
            .collect())
    }

    /// VPC endpoints in the VPC that are not deleted.
    pub async fn endpoints_in(&self, vpc: &str) -> Result<Vec<EndpointObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_VPC_ENDPOINTS, || {
                ec2.describe_vpc_endpoints().filters(filter("vpc-id", [vpc])).send()
            })
            .await?;
        Ok(output
            .vpc_endpoints()
            .iter()
            .map(|e| EndpointObservation {
                id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
                service: e.service_name().unwrap_or_default().to_owned(),
                gateway: e.vpc_endpoint_type().is_some_and(|t| t.as_str() == "Gateway"),
                state: e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_default(),
                subnets: strings(e.subnet_ids()),
                route_tables: strings(e.route_table_ids()),
                groups: e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                private_dns: e.private_dns_enabled().unwrap_or(false),
                interfaces: e.network_interface_ids().to_vec(),
                tags: from_tags(e.tags()),
            })
            .filter(|e| e.state != "deleted")
            .collect())
    }

    /// Security groups matching one filter (`vpc-id`, or `group-id` for the ids a spec names).
    pub async fn security_groups(&self, by: Filter) -> Result<Vec<SecurityGroupObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_SECURITY_GROUPS, || {
                ec2.describe_security_groups().filters(by.clone()).send()
            })
            .await?;
        Ok(output
            .security_groups()
            .iter()
            .map(|g| SecurityGroupObservation {
                id: g.group_id().unwrap_or_default().to_owned(),
                name: g.group_name().unwrap_or_default().to_owned(),
                vpc_id: g.vpc_id().unwrap_or_default().to_owned(),
                tags: from_tags(g.tags()),
                ingress: rules::flatten(g.ip_permissions()),
                egress: rules::flatten(g.ip_permissions_egress()),
            })
            .collect())
    }

    /// The IPv4 range of a VPC, by id.
    pub async fn vpc_cidr(&self, vpc: &str) -> Result<Option<String>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_VPCS, || ec2.describe_vpcs().vpc_ids(vpc).send())
            .await?;
        Ok(output.vpcs().first().and_then(|v| v.cidr_block()).map(str::to_owned))
    }

    pub async fn security_groups_in(&self, vpc: &str) -> Result<Vec<SecurityGroupObservation>, AwsError> {
        self.security_groups(filter("vpc-id", [vpc])).await
    }

    pub async fn security_groups_by_id(&self, ids: &[String]) -> Result<Vec<SecurityGroupObservation>, AwsError> {
        self.security_groups(filter("group-id", ids.iter().cloned())).await
    }

    /// Every network interface in the VPC: what still uses it.
    pub async fn interfaces_in(&self, vpc: &str) -> Result<Vec<InterfaceObservation>, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_NETWORK_INTERFACES, || {
                ec2.describe_network_interfaces()
                    .filters(filter("vpc-id", [vpc]))
                    .send()
            })
            .await?;
        Ok(output
            .network_interfaces()
            .iter()
            .map(|i| InterfaceObservation {
                id: i.network_interface_id().unwrap_or_default().to_owned(),
                description: i.description().unwrap_or_default().to_owned(),
                kind: i.interface_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            })
            .collect())
    }

    /// Ids of the network interfaces that use any of `groups` (a load balancer's linger for
    /// minutes after it is deleted, and keep its group from being deleted).
    pub async fn interfaces_using(&self, groups: &[String]) -> Result<Vec<String>, AwsError> {
        if groups.is_empty() {
            return Ok(vec![]);
        }
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call(&op::EC2_DESCRIBE_NETWORK_INTERFACES, || {
                ec2.describe_network_interfaces()
                    .filters(filter("group-id", groups.iter().cloned()))
                    .send()
            })
            .await?;
        Ok(output
            .network_interfaces()
            .iter()
            .filter_map(|i| i.network_interface_id().map(str::to_owned))
            .collect())
    }
}
