//! What the network part wants and finds: the form of `spec.network`, the names of everything the
//! managed form makes, how its subnets are carved from the VPC's range, and what EC2 and RDS hold.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::{DataPlatformAccountSpec, EndpointService, NatGateway, Scheme};
use dataplatform_aws::network::{
    AddressObservation, EndpointObservation, GatewayObservation, InterfaceObservation, NAME_TAG, NatObservation,
    RouteTableObservation, SecurityGroupObservation, SubnetObservation, VpcObservation,
};
use dataplatform_aws::rds::SubnetGroupObservation;
use ipnet::Ipv4Net;

use crate::account::AccountContext;
use crate::vocabulary::ours;

pub const POSTGRES_PORT: i32 = 5432;
pub const HTTPS_PORT: i32 = 443;
pub const HTTP_PORT: i32 = 80;
pub const ANYWHERE: &str = "0.0.0.0/0";

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredNetwork {
    pub form: NetworkForm,
    /// The database is enabled: its security group and DB subnet group are made.
    pub database: bool,
    pub names: NetworkNames,
    /// The account's tags; each resource adds its `Name`.
    pub tags: BTreeMap<String, String>,
    pub region: String,
    /// Per scheme services are exposed with: who may reach its load balancer, on which ports.
    pub exposure: BTreeMap<Scheme, Exposure>,
    /// Existing form: the subnets an InternetFacing load balancer goes in.
    pub public_subnets: Vec<String>,
    /// Every port a service declares: the tasks' group admits each from itself, so one service
    /// reaches another (Dagster's daemon and webserver its code server on 4000).
    pub service_ports: BTreeSet<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NetworkForm {
    /// No spec.network.
    Absent,
    /// spec.network.subnetIds and securityGroupIds: a network someone else owns.
    Existing {
        subnets: Vec<String>,
        groups: Vec<String>,
        assign_public_ip: bool,
    },
    /// spec.network.vpc.
    Managed(ManagedVpc),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ManagedVpc {
    pub cidr: Ipv4Net,
    pub zones: usize,
    pub nat: NatGateway,
    pub endpoints: Vec<EndpointService>,
}

/// Subnet tiers of the managed form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Tasks and the database; no route from the internet.
    Private,
    /// Load balancers and NAT gateways; routed to the internet gateway.
    Public,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Private => "private",
            Tier::Public => "public",
        }
    }
}

/// One endpoint the managed form makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredEndpoint {
    /// e.g. `ecr-dkr`: its part of names and of `status.network.endpoints`.
    pub key: String,
    pub service_name: String,
    pub gateway: bool,
}

/// The `Name` of every resource of the network: `<prefix>-<what>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkNames {
    pub prefix: String,
    pub db_subnet_group: String,
}

impl NetworkNames {
    pub fn vpc(&self) -> String {
        self.prefix.clone()
    }
    pub fn subnet(&self, tier: Tier, zone: &str) -> String {
        format!("{}-{}-{zone}", self.prefix, tier.as_str())
    }
    pub fn public_route_table(&self) -> String {
        format!("{}-public", self.prefix)
    }
    pub fn private_route_table(&self, zone: &str) -> String {
        format!("{}-private-{zone}", self.prefix)
    }
    pub fn nat(&self, zone: &str) -> String {
        format!("{}-nat-{zone}", self.prefix)
    }
    pub fn endpoint(&self, key: &str) -> String {
        format!("{}-{key}", self.prefix)
    }
    pub fn group(&self, role: GroupRole) -> String {
        format!("{}-{}", self.prefix, role.as_str())
    }
}

impl DesiredNetwork {
    pub fn new(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Self {
        let form = match &spec.network {
            None => NetworkForm::Absent,
            Some(network) => match &network.vpc {
                // The spec was validated: the range parses. The fallback only keeps this pure.
                Some(vpc) => NetworkForm::Managed(ManagedVpc {
                    cidr: vpc.cidr.parse().unwrap_or_default(),
                    zones: usize::try_from(vpc.availability_zones).unwrap_or(2),
                    nat: vpc.nat_gateway,
                    endpoints: vpc.endpoints.clone(),
                }),
                None => NetworkForm::Existing {
                    subnets: network.subnet_ids.clone(),
                    groups: network.security_group_ids.clone(),
                    assign_public_ip: network.assign_public_ip,
                },
            },
        };
        Self {
            form,
            database: spec.database.enabled,
            names: NetworkNames {
                prefix: account.names.network(),
                db_subnet_group: account.names.db_subnet_group(),
            },
            tags: account.tags.clone(),
            region: account.region.clone(),
            exposure: exposure(spec),
            service_ports: spec.services.iter().filter_map(|s| s.port).collect(),
            public_subnets: spec
                .load_balancer
                .as_ref()
                .map(|lb| lb.public_subnet_ids.clone())
                .unwrap_or_default(),
        }
    }

    pub fn managed(&self) -> Option<&ManagedVpc> {
        match &self.form {
            NetworkForm::Managed(vpc) => Some(vpc),
            _ => None,
        }
    }

    /// The account's tags and `Name`.
    pub fn tags_named(&self, name: &str) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.insert(NAME_TAG.to_owned(), name.to_owned());
        tags
    }

    /// Endpoints the managed form makes, in a fixed order.
    pub fn endpoints(&self) -> Vec<DesiredEndpoint> {
        let Some(vpc) = self.managed() else {
            return vec![];
        };
        let region = &self.region;
        let mut endpoints: Vec<DesiredEndpoint> = vpc
            .endpoints
            .iter()
            .flat_map(|service| match service {
                EndpointService::S3 => vec![("s3", "s3", true)],
                EndpointService::Ecr => vec![("ecr-api", "ecr.api", false), ("ecr-dkr", "ecr.dkr", false)],
                EndpointService::Logs => vec![("logs", "logs", false)],
                EndpointService::Secretsmanager => vec![("secretsmanager", "secretsmanager", false)],
            })
            .map(|(key, service, gateway)| DesiredEndpoint {
                key: key.to_owned(),
                service_name: format!("com.amazonaws.{region}.{service}"),
                gateway,
            })
            .collect();
        endpoints.sort_by(|a, b| a.key.cmp(&b.key));
        endpoints
    }
}

/// What the security groups of one scheme's load balancer and of the tasks behind it admit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposure {
    /// 80, and 443 with a certificate.
    pub listener_ports: Vec<i32>,
    /// The union of the services' allowedCidrs.
    pub cidrs: BTreeSet<String>,
    /// Some service of the scheme gives no allowedCidrs: the VPC's range (Internal) or anywhere.
    pub default_cidr: bool,
    /// The container ports the load balancer forwards to.
    pub service_ports: BTreeSet<i32>,
}

/// The security groups the operator owns, by what they protect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupRole {
    /// A load balancer of one scheme: its listener ports from the allowed ranges.
    LoadBalancer(Scheme),
    Tasks,
    Database,
    Endpoints,
}

impl GroupRole {
    /// Every role, in the order groups are deleted (a group before the groups its rules name).
    pub const TEARDOWN: [GroupRole; 5] = [
        GroupRole::Database,
        GroupRole::Endpoints,
        GroupRole::Tasks,
        GroupRole::LoadBalancer(Scheme::Internal),
        GroupRole::LoadBalancer(Scheme::InternetFacing),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::LoadBalancer(Scheme::Internal) => "lb-internal",
            GroupRole::LoadBalancer(Scheme::InternetFacing) => "lb-internet-facing",
            GroupRole::Tasks => "tasks",
            GroupRole::Database => "database",
            GroupRole::Endpoints => "endpoints",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            GroupRole::LoadBalancer(Scheme::Internal) => {
                "Internal load balancer of the data platform: listener ports from the allowed ranges (dataplatform-operator)"
            }
            GroupRole::LoadBalancer(Scheme::InternetFacing) => {
                "Internet-facing load balancer of the data platform: listener ports from the allowed ranges (dataplatform-operator)"
            }
            GroupRole::Tasks => "ECS tasks of the data platform (dataplatform-operator)",
            GroupRole::Database => {
                "Aurora PostgreSQL of the data platform: 5432 from its tasks (dataplatform-operator)"
            }
            GroupRole::Endpoints => "VPC interface endpoints: 443 from the VPC (dataplatform-operator)",
        }
    }
}

/// Per scheme, what the services exposed with it need of the security groups.
fn exposure(spec: &DataPlatformAccountSpec) -> BTreeMap<Scheme, Exposure> {
    let certificate = spec
        .load_balancer
        .as_ref()
        .is_some_and(|lb| lb.certificate_arn.is_some());
    let mut exposure: BTreeMap<Scheme, Exposure> = BTreeMap::new();
    for service in &spec.services {
        let (Some(expose), Some(port)) = (&service.expose, service.port) else {
            continue;
        };
        let entry = exposure.entry(expose.scheme).or_default();
        entry.listener_ports = if certificate {
            vec![HTTP_PORT, HTTPS_PORT]
        } else {
            vec![HTTP_PORT]
        };
        entry.cidrs.extend(expose.allowed_cidrs.iter().cloned());
        entry.default_cidr |= expose.allowed_cidrs.is_empty();
        entry.service_ports.insert(port);
    }
    exposure
}

/// Zone `i` (in name order) gets the i-th eighth of the VPC as its private subnet, and the i-th
/// sixty-fourth of the last eighth as its public one: a zone added later takes the next block,
/// and no existing subnet moves. Six zones at most leave the seventh eighth free.
pub fn carve(vpc: Ipv4Net, zone: usize) -> (Ipv4Net, Ipv4Net) {
    let eighths: Vec<Ipv4Net> = vpc
        .subnets(vpc.prefix_len() + 3)
        .map(Iterator::collect)
        .unwrap_or_default();
    let private = eighths.get(zone).copied().unwrap_or(vpc);
    let public = eighths
        .last()
        .and_then(|last| last.subnets(vpc.prefix_len() + 6).ok())
        .and_then(|mut blocks| blocks.nth(zone))
        .unwrap_or(vpc);
    (private, public)
}

/// What EC2 and RDS hold under the network's names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedNetwork {
    /// The region's availability zones, in name order (managed form).
    pub zones: Vec<String>,
    /// VPCs named ours; the one carrying our owner tag first.
    pub vpcs: Vec<VpcObservation>,
    /// The managed VPC's subnets, or the existing form's named subnets.
    pub subnets: Vec<SubnetObservation>,
    /// Existing form: `spec.loadBalancer.publicSubnetIds` as found.
    pub public_subnets: Vec<SubnetObservation>,
    pub gateways: Vec<GatewayObservation>,
    pub route_tables: Vec<RouteTableObservation>,
    /// NAT gateways that are not deleted.
    pub nat_gateways: Vec<NatObservation>,
    /// Network interfaces of our deleted NAT gateways: moto keeps them after the gateway is gone
    /// (AWS removes them), so they never count as something else in the VPC.
    pub deleted_nat_interfaces: Vec<String>,
    pub addresses: Vec<AddressObservation>,
    pub endpoints: Vec<EndpointObservation>,
    /// Security groups of the VPC.
    pub groups: Vec<SecurityGroupObservation>,
    /// Existing form: the spec's security group ids that do not exist.
    pub missing_groups: Vec<String>,
    /// The VPC's range (managed form: the spec's; existing form: read when a default needs it).
    pub vpc_cidr: Option<String>,
    /// Network interfaces still using a load balancer group of ours no scheme needs any more.
    pub leftover_group_interfaces: Vec<String>,
    /// Existing form: the VPC's (DNS support, DNS host names), read when a service has a port.
    pub existing_vpc_dns: Option<(bool, bool)>,
    pub subnet_group: Option<SubnetGroupObservation>,
    pub interfaces: Vec<InterfaceObservation>,
}

/// A resource's `Name` tag (empty when it has none): how the network's resources are found.
pub fn name_tag(tags: &BTreeMap<String, String>) -> &str {
    tags.get(NAME_TAG).map_or("", String::as_str)
}

impl ObservedNetwork {
    pub fn vpc(&self) -> Option<&VpcObservation> {
        self.vpcs.first()
    }

    pub fn subnet_named(&self, name: &str) -> Option<&SubnetObservation> {
        self.subnets.iter().find(|s| name_tag(&s.tags) == name)
    }

    pub fn route_table_named(&self, name: &str) -> Option<&RouteTableObservation> {
        self.route_tables.iter().find(|t| name_tag(&t.tags) == name)
    }

    pub fn nat_named(&self, name: &str) -> Option<&NatObservation> {
        self.nat_gateways.iter().find(|n| name_tag(&n.tags) == name)
    }

    pub fn address_named(&self, name: &str) -> Option<&AddressObservation> {
        self.addresses.iter().find(|a| name_tag(&a.tags) == name)
    }

    pub fn endpoint_named(&self, name: &str) -> Option<&EndpointObservation> {
        self.endpoints.iter().find(|e| name_tag(&e.tags) == name)
    }

    pub fn group_named(&self, name: &str) -> Option<&SecurityGroupObservation> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The VPC the network lives in: the managed one, or the existing form's subnets'.
    pub fn vpc_id(&self) -> Option<&str> {
        self.vpc()
            .map(|v| v.id.as_str())
            .or_else(|| self.subnets.first().map(|s| s.vpc_id.as_str()))
    }

    /// Network interfaces in the VPC that none of our NAT gateways or endpoints made.
    pub fn foreign_interfaces(&self, owner: &str) -> Vec<&InterfaceObservation> {
        let own: BTreeSet<&str> = self
            .nat_gateways
            .iter()
            .filter(|n| ours(&n.tags, owner))
            .filter_map(|n| n.interface_id.as_deref())
            .chain(self.deleted_nat_interfaces.iter().map(String::as_str))
            .chain(
                self.endpoints
                    .iter()
                    .filter(|e| ours(&e.tags, owner))
                    .flat_map(|e| e.interfaces.iter().map(String::as_str)),
            )
            .collect();
        self.interfaces
            .iter()
            .filter(|i| !own.contains(i.id.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_carved_from_the_range_and_do_not_move_when_zones_are_added() {
        let vpc: Ipv4Net = "10.20.0.0/16".parse().unwrap();
        let carved: Vec<(String, String)> = (0..6)
            .map(|zone| {
                let (private, public) = carve(vpc, zone);
                (private.to_string(), public.to_string())
            })
            .collect();
        assert_eq!(carved[0], ("10.20.0.0/19".to_owned(), "10.20.224.0/22".to_owned()));
        assert_eq!(carved[1], ("10.20.32.0/19".to_owned(), "10.20.228.0/22".to_owned()));
        assert_eq!(carved[5], ("10.20.160.0/19".to_owned(), "10.20.244.0/22".to_owned()));
        // A zone's subnets depend on its index only, never on how many zones there are.
        assert_eq!(carve(vpc, 1), carve(vpc, 1));
        let all: BTreeSet<String> = carved.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
        assert_eq!(all.len(), 12, "no two subnets share a range");
        let small: Ipv4Net = "192.168.4.0/22".parse().unwrap();
        assert_eq!(carve(small, 0).0.to_string(), "192.168.4.0/25");
        assert_eq!(carve(small, 0).1.to_string(), "192.168.7.128/28");
    }
}
