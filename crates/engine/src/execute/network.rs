//! The network's writes. A create's id is kept under its action's resource, for the ops after it
//! that name it by [`Ec2Ref::Made`].

use std::collections::BTreeMap;

use dataplatform_aws::network::{EndpointPlacement, Peer, Rule};
use dataplatform_aws::{AccountSession, AwsError, ErrorClass};

use crate::plan::{Ec2Ref, Op, PlannedEndpoint, PlannedPeer, PlannedRule};

/// What the actions of one run have made so far.
#[derive(Debug, Default)]
pub struct Made {
    /// EC2 ids by the resource of the action that made them.
    pub ids: BTreeMap<String, String>,
    /// The revision the current action's `RegisterTaskDefinition` returned.
    pub task_revision: Option<String>,
}

impl Made {
    pub fn id(&self, reference: &Ec2Ref) -> Result<String, AwsError> {
        match reference {
            Ec2Ref::Known(id) => Ok(id.clone()),
            Ec2Ref::Made(resource) => self.ids.get(resource).cloned().ok_or_else(|| AwsError {
                service: "ec2",
                operation: "plan",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{resource} was to be made earlier in this plan and was not"),
            }),
        }
    }

    fn ids(&self, references: &[Ec2Ref]) -> Result<Vec<String>, AwsError> {
        references.iter().map(|r| self.id(r)).collect()
    }

    fn rule(&self, rule: &PlannedRule) -> Result<Rule, AwsError> {
        Ok(Rule {
            protocol: rule.protocol.clone(),
            ports: rule.ports,
            peer: match &rule.peer {
                PlannedPeer::Cidr(cidr) => Peer::Cidr(cidr.clone()),
                PlannedPeer::Group(group) => Peer::Group(self.id(group)?),
            },
        })
    }
}

/// Runs `op` when it is a network op; `None` for any other op.
pub async fn run(op: &Op, session: &AccountSession, resource: &str, made: &mut Made) -> Option<Result<(), AwsError>> {
    let created = match create(op, session, made).await {
        Some(created) => created,
        None => return run_changes(op, session, made).await,
    };
    Some(created.map(|id| {
        made.ids.insert(resource.to_owned(), id);
    }))
}

/// Runs `op` when it creates an EC2 resource: the id AWS gave it.
async fn create(op: &Op, session: &AccountSession, made: &Made) -> Option<Result<String, AwsError>> {
    let network = session.network();
    Some(match op {
        Op::CreateVpc { cidr, tags } => network.create_vpc(cidr, tags).await,
        Op::CreateSubnet { vpc, cidr, zone, tags } => match made.id(vpc) {
            Ok(vpc) => network.create_subnet(&vpc, cidr, zone, tags).await,
            Err(e) => Err(e),
        },
        Op::CreateInternetGateway { tags } => network.create_internet_gateway(tags).await,
        Op::CreateRouteTable { vpc, tags } => match made.id(vpc) {
            Ok(vpc) => network.create_route_table(&vpc, tags).await,
            Err(e) => Err(e),
        },
        Op::AllocateAddress { tags } => network.allocate_address(tags).await,
        Op::CreateNatGateway {
            subnet,
            allocation,
            tags,
        } => match (made.id(subnet), made.id(allocation)) {
            (Ok(subnet), Ok(allocation)) => network.create_nat_gateway(&subnet, &allocation, tags).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        Op::CreateSecurityGroup {
            vpc,
            name,
            description,
            tags,
        } => match made.id(vpc) {
            Ok(vpc) => network.create_security_group(&vpc, name, description, tags).await,
            Err(e) => Err(e),
        },
        Op::CreateVpcEndpoint {
            vpc,
            service,
            placement,
            tags,
        } => match endpoint_placement(made, placement).and_then(|p| Ok((made.id(vpc)?, p))) {
            Ok((vpc, placement)) => network.create_endpoint(&vpc, service, &placement, tags).await,
            Err(e) => Err(e),
        },
        _ => return None,
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

/// The network ops that make nothing new.
async fn run_changes(op: &Op, session: &AccountSession, made: &Made) -> Option<Result<(), AwsError>> {
    let (network, rds) = (session.network(), session.rds());
    Some(match op {
        Op::EnableVpcDns { vpc } => match made.id(vpc) {
            Ok(vpc) => network.enable_dns(&vpc).await,
            Err(e) => Err(e),
        },
        Op::AttachInternetGateway { gateway, vpc } => match (made.id(gateway), made.id(vpc)) {
            (Ok(gateway), Ok(vpc)) => network.attach_internet_gateway(&gateway, &vpc).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        Op::PutRoute {
            table,
            destination,
            target,
            replace,
        } => match (made.id(table), made.id(target)) {
            (Ok(table), Ok(target)) => network.put_route(&table, destination, &target, *replace).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        Op::DeleteRoute { table, destination } => network.delete_route(table, destination).await,
        Op::AssociateRouteTable {
            table,
            subnet,
            existing,
        } => match (made.id(table), made.id(subnet)) {
            (Ok(table), Ok(subnet)) => {
                network
                    .associate_route_table(&table, &subnet, existing.as_deref())
                    .await
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        Op::DisassociateRouteTable { association } => network.disassociate_route_table(association).await,
        Op::ReleaseAddress { allocation } => network.release_address(allocation).await,
        Op::DeleteNatGateway { nat } => network.delete_nat_gateway(nat).await,
        Op::DeleteVpcEndpoint { endpoint } => network.delete_endpoint(endpoint).await,
        Op::ChangeRules {
            group,
            direction,
            revoke,
            rules,
        } => {
            let resolved: Result<Vec<Rule>, AwsError> = rules.iter().map(|r| made.rule(r)).collect();
            match (made.id(group), resolved) {
                (Ok(group), Ok(rules)) => network.change_rules(&group, *direction, *revoke, &rules).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        Op::DeleteSecurityGroup { group } => network.delete_security_group(group).await,
        Op::DeleteSubnet { subnet } => network.delete_subnet(subnet).await,
        Op::DeleteRouteTable { table } => network.delete_route_table(table).await,
        Op::DetachInternetGateway { gateway, vpc } => network.detach_internet_gateway(gateway, vpc).await,
        Op::DeleteInternetGateway { gateway } => network.delete_internet_gateway(gateway).await,
        Op::DeleteVpc { vpc } => network.delete_vpc(vpc).await,
        Op::TagEc2 { id, tags } => network.tag(std::slice::from_ref(id), tags).await,
        Op::CreateDbSubnetGroup { name, subnets, tags } => match made.ids(subnets) {
            Ok(subnets) => rds.create_subnet_group(name, &subnets, tags).await,
            Err(e) => Err(e),
        },
        Op::ModifyDbSubnetGroup { name, subnets } => rds.modify_subnet_group(name, subnets).await,
        Op::DeleteDbSubnetGroup { name } => rds.delete_subnet_group(name).await,
        _ => return None,
    })
}
