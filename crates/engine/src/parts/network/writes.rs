//! The network's AWS writes and how they run. A create's id is kept under its action's resource,
//! for the writes after it that name it by [`Ec2Ref::Made`].

use std::collections::BTreeMap;

use dataplatform_aws::network::{Direction, EndpointPlacement, NAME_TAG, Peer, Rule};
use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::Made;
use crate::plan::{Ec2Ref, Lookup, PlannedEndpoint, PlannedPeer, PlannedRule, Write};

/// The network part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkWrite {
    /// Each EC2 create names what it makes by the resource of its action (`ec2:vpc`), so later ops
    /// of the same plan can refer to the id AWS gives it ([`Ec2Ref::Made`]).
    CreateVpc {
        cidr: String,
        tags: BTreeMap<String, String>,
    },
    EnableVpcDns {
        vpc: Ec2Ref,
    },
    CreateSubnet {
        vpc: Ec2Ref,
        cidr: String,
        zone: String,
        tags: BTreeMap<String, String>,
    },
    CreateInternetGateway {
        tags: BTreeMap<String, String>,
    },
    AttachInternetGateway {
        gateway: Ec2Ref,
        vpc: Ec2Ref,
    },
    CreateRouteTable {
        vpc: Ec2Ref,
        tags: BTreeMap<String, String>,
    },
    PutRoute {
        table: Ec2Ref,
        destination: String,
        target: Ec2Ref,
        replace: bool,
    },
    DeleteRoute {
        table: String,
        destination: String,
    },
    AssociateRouteTable {
        table: Ec2Ref,
        subnet: Ec2Ref,
        /// The subnet's association with another table, moved rather than added.
        existing: Option<String>,
    },
    DisassociateRouteTable {
        association: String,
    },
    AllocateAddress {
        tags: BTreeMap<String, String>,
    },
    ReleaseAddress {
        allocation: String,
    },
    CreateNatGateway {
        subnet: Ec2Ref,
        allocation: Ec2Ref,
        tags: BTreeMap<String, String>,
    },
    DeleteNatGateway {
        nat: String,
    },
    CreateVpcEndpoint {
        vpc: Ec2Ref,
        service: String,
        placement: PlannedEndpoint,
        tags: BTreeMap<String, String>,
    },
    DeleteVpcEndpoint {
        endpoint: String,
    },
    CreateSecurityGroup {
        vpc: Ec2Ref,
        name: String,
        description: String,
        tags: BTreeMap<String, String>,
    },
    /// Authorizes (`revoke: false`) or revokes rules of one direction.
    ChangeRules {
        group: Ec2Ref,
        direction: Direction,
        revoke: bool,
        rules: Vec<PlannedRule>,
    },
    DeleteSecurityGroup {
        group: String,
    },
    DeleteSubnet {
        subnet: String,
    },
    DeleteRouteTable {
        table: String,
    },
    DetachInternetGateway {
        gateway: String,
        vpc: String,
    },
    DeleteInternetGateway {
        gateway: String,
    },
    DeleteVpc {
        vpc: String,
    },
    TagEc2 {
        id: String,
        tags: TagUpdate,
    },
    CreateDbSubnetGroup {
        name: String,
        subnets: Vec<Ec2Ref>,
        tags: BTreeMap<String, String>,
    },
    ModifyDbSubnetGroup {
        name: String,
        subnets: Vec<String>,
    },
    DeleteDbSubnetGroup {
        name: String,
    },
    /// The tags of the database subnet group the network keeps.
    TagDbResource {
        arn: String,
        tags: TagUpdate,
    },
}

impl Write for NetworkWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        match self.create(session, made).await? {
            Some(id) => {
                made.ids.insert(resource.to_owned(), id);
                Ok(())
            }
            None => self.change(session, made).await,
        }
    }

    async fn look_after_failure(&self, session: &AccountSession, made: &Made) -> Result<Lookup, AwsError> {
        match self {
            // Named and tagged in the create itself: one read tells.
            Self::CreateSecurityGroup { vpc, name, tags, .. } => {
                let groups = session.network().security_groups_in(&made.id(vpc)?).await?;
                let named = groups.into_iter().filter(|g| &g.name == name);
                Ok(Lookup::by_owner(named.map(|g| (g.id, g.tags)), tags))
            }
            Self::CreateRouteTable { vpc, tags } => {
                let tables = session.network().route_tables_in(&made.id(vpc)?).await?;
                let named = tables
                    .into_iter()
                    .filter(|t| t.tags.get(NAME_TAG) == tags.get(NAME_TAG));
                Ok(Lookup::by_owner(named.map(|t| (t.id, t.tags)), tags))
            }
            Self::CreateVpcEndpoint { vpc, tags, .. } => {
                let endpoints = session.network().endpoints_in(&made.id(vpc)?).await?;
                let named = endpoints
                    .into_iter()
                    .filter(|e| e.tags.get(NAME_TAG) == tags.get(NAME_TAG));
                Ok(Lookup::by_owner(named.map(|e| (e.id, e.tags)), tags))
            }
            Self::CreateSubnet { vpc, cidr, tags, .. } => {
                let subnets = session.network().subnets_in(&made.id(vpc)?).await?;
                let same = subnets.into_iter().filter(|s| &s.cidr == cidr);
                Ok(Lookup::by_owner(same.map(|s| (s.id, s.tags)), tags))
            }
            // One NAT gateway of ours per subnet; a deleted or failed one is not what was made.
            Self::CreateNatGateway { subnet, tags, .. } => {
                let gateways = session.network().nat_gateways_in_subnet(&made.id(subnet)?).await?;
                let live = gateways
                    .into_iter()
                    .filter(|n| matches!(n.state.as_str(), "pending" | "available"));
                Ok(Lookup::by_owner(live.map(|n| (n.id, n.tags)), tags))
            }
            Self::CreateVpc { tags, .. } => {
                let found = session.network().vpcs_named(name_tag(tags)).await?;
                Ok(Lookup::by_owner(found.into_iter().map(|v| (v.id, v.tags)), tags))
            }
            Self::CreateInternetGateway { tags } => {
                let found = session.network().internet_gateways_named(name_tag(tags)).await?;
                Ok(Lookup::by_owner(found.into_iter().map(|g| (g.id, g.tags)), tags))
            }
            Self::AllocateAddress { tags } => {
                let found = session.network().addresses_named(&[name_tag(tags).to_owned()]).await?;
                Ok(Lookup::by_owner(
                    found.into_iter().map(|a| (a.allocation_id, a.tags)),
                    tags,
                ))
            }
            _ => Ok(Lookup::CannotTell),
        }
    }
}

impl NetworkWrite {
    /// The id AWS gave what the write created; `None` for a write that makes nothing new. An id a
    /// create needs from earlier in the plan is resolved before the call.
    async fn create(&self, session: &AccountSession, made: &Made) -> Result<Option<String>, AwsError> {
        let network = session.network();
        let id = match self {
            Self::CreateVpc { cidr, tags } => network.create_vpc(cidr, tags).await?,
            Self::CreateSubnet { vpc, cidr, zone, tags } => {
                network.create_subnet(&made.id(vpc)?, cidr, zone, tags).await?
            }
            Self::CreateInternetGateway { tags } => network.create_internet_gateway(tags).await?,
            Self::CreateRouteTable { vpc, tags } => network.create_route_table(&made.id(vpc)?, tags).await?,
            Self::AllocateAddress { tags } => network.allocate_address(tags).await?,
            Self::CreateNatGateway {
                subnet,
                allocation,
                tags,
            } => {
                network
                    .create_nat_gateway(&made.id(subnet)?, &made.id(allocation)?, tags)
                    .await?
            }
            Self::CreateSecurityGroup {
                vpc,
                name,
                description,
                tags,
            } => {
                network
                    .create_security_group(&made.id(vpc)?, name, description, tags)
                    .await?
            }
            Self::CreateVpcEndpoint {
                vpc,
                service,
                placement,
                tags,
            } => {
                let placement = endpoint_placement(made, placement)?;
                network
                    .create_endpoint(&made.id(vpc)?, service, &placement, tags)
                    .await?
            }
            _ => return Ok(None),
        };
        Ok(Some(id))
    }

    /// The writes that make nothing new.
    async fn change(&self, session: &AccountSession, made: &Made) -> Result<(), AwsError> {
        let (network, rds) = (session.network(), session.rds());
        match self {
            Self::CreateVpc { .. }
            | Self::CreateSubnet { .. }
            | Self::CreateInternetGateway { .. }
            | Self::CreateRouteTable { .. }
            | Self::AllocateAddress { .. }
            | Self::CreateNatGateway { .. }
            | Self::CreateSecurityGroup { .. }
            | Self::CreateVpcEndpoint { .. } => Ok(()),
            Self::EnableVpcDns { vpc } => network.enable_dns(&made.id(vpc)?).await,
            Self::AttachInternetGateway { gateway, vpc } => {
                network
                    .attach_internet_gateway(&made.id(gateway)?, &made.id(vpc)?)
                    .await
            }
            Self::PutRoute {
                table,
                destination,
                target,
                replace,
            } => {
                network
                    .put_route(&made.id(table)?, destination, &made.id(target)?, *replace)
                    .await
            }
            Self::DeleteRoute { table, destination } => network.delete_route(table, destination).await,
            Self::AssociateRouteTable {
                table,
                subnet,
                existing,
            } => {
                network
                    .associate_route_table(&made.id(table)?, &made.id(subnet)?, existing.as_deref())
                    .await
            }
            Self::DisassociateRouteTable { association } => network.disassociate_route_table(association).await,
            Self::ReleaseAddress { allocation } => network.release_address(allocation).await,
            Self::DeleteNatGateway { nat } => network.delete_nat_gateway(nat).await,
            Self::DeleteVpcEndpoint { endpoint } => network.delete_endpoint(endpoint).await,
            Self::ChangeRules {
                group,
                direction,
                revoke,
                rules,
            } => {
                let group = made.id(group)?;
                let rules = rules.iter().map(|r| rule(made, r)).collect::<Result<Vec<Rule>, _>>()?;
                network.change_rules(&group, *direction, *revoke, &rules).await
            }
            Self::DeleteSecurityGroup { group } => network.delete_security_group(group).await,
            Self::DeleteSubnet { subnet } => network.delete_subnet(subnet).await,
            Self::DeleteRouteTable { table } => network.delete_route_table(table).await,
            Self::DetachInternetGateway { gateway, vpc } => network.detach_internet_gateway(gateway, vpc).await,
            Self::DeleteInternetGateway { gateway } => network.delete_internet_gateway(gateway).await,
            Self::DeleteVpc { vpc } => network.delete_vpc(vpc).await,
            Self::TagEc2 { id, tags } => network.retag(id, tags).await,
            Self::CreateDbSubnetGroup { name, subnets, tags } => {
                rds.create_subnet_group(name, &made.ids(subnets)?, tags).await
            }
            Self::ModifyDbSubnetGroup { name, subnets } => rds.modify_subnet_group(name, subnets).await,
            Self::DeleteDbSubnetGroup { name } => rds.delete_subnet_group(name).await,
            Self::TagDbResource { arn, tags } => rds.retag(arn, tags).await,
        }
    }
}

fn rule(made: &Made, rule: &PlannedRule) -> Result<Rule, AwsError> {
    Ok(Rule {
        protocol: rule.protocol.clone(),
        ports: rule.ports,
        peer: match &rule.peer {
            PlannedPeer::Cidr(cidr) => Peer::Cidr(cidr.clone()),
            PlannedPeer::Group(group) => Peer::Group(made.id(group)?),
        },
    })
}

fn endpoint_placement(made: &Made, placement: &PlannedEndpoint) -> Result<EndpointPlacement, AwsError> {
    Ok(match placement {
        PlannedEndpoint::Gateway { route_tables } => EndpointPlacement::Gateway {
            route_tables: made.ids(route_tables)?,
        },
        PlannedEndpoint::Interface { subnets, groups } => EndpointPlacement::Interface {
            subnets: made.ids(subnets)?,
            groups: made.ids(groups)?,
        },
    })
}

/// The `Name` tag a create writes (every network resource is named by it).
fn name_tag(tags: &BTreeMap<String, String>) -> &str {
    tags.get(NAME_TAG).map_or("", String::as_str)
}
