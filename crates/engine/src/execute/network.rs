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
    let outcome = match create(op, session, made).await {
        Ok(Some(id)) => {
            made.ids.insert(resource.to_owned(), id);
            Ok(true)
        }
        Ok(None) => run_changes(op, session, made).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(ran) => ran.then_some(Ok(())),
        Err(error) => Some(Err(error)),
    }
}

/// Runs `op` when it creates an EC2 resource: the id AWS gave it; `None` for any other op. An id
/// a create needs from earlier in the plan is resolved before the call.
async fn create(op: &Op, session: &AccountSession, made: &Made) -> Result<Option<String>, AwsError> {
    let network = session.network();
    let id = match op {
        Op::CreateVpc { cidr, tags } => network.create_vpc(cidr, tags).await?,
        Op::CreateSubnet { vpc, cidr, zone, tags } => network.create_subnet(&made.id(vpc)?, cidr, zone, tags).await?,
        Op::CreateInternetGateway { tags } => network.create_internet_gateway(tags).await?,
        Op::CreateRouteTable { vpc, tags } => network.create_route_table(&made.id(vpc)?, tags).await?,
        Op::AllocateAddress { tags } => network.allocate_address(tags).await?,
        Op::CreateNatGateway {
            subnet,
            allocation,
            tags,
        } => {
            network
                .create_nat_gateway(&made.id(subnet)?, &made.id(allocation)?, tags)
                .await?
        }
        Op::CreateSecurityGroup {
            vpc,
            name,
            description,
            tags,
        } => {
            network
                .create_security_group(&made.id(vpc)?, name, description, tags)
                .await?
        }
        Op::CreateVpcEndpoint {
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

/// The network ops that make nothing new; `false` for any other op.
async fn run_changes(op: &Op, session: &AccountSession, made: &Made) -> Result<bool, AwsError> {
    let (network, rds) = (session.network(), session.rds());
    match op {
        Op::EnableVpcDns { vpc } => network.enable_dns(&made.id(vpc)?).await?,
        Op::AttachInternetGateway { gateway, vpc } => {
            network
                .attach_internet_gateway(&made.id(gateway)?, &made.id(vpc)?)
                .await?
        }
        Op::PutRoute {
            table,
            destination,
            target,
            replace,
        } => {
            network
                .put_route(&made.id(table)?, destination, &made.id(target)?, *replace)
                .await?
        }
        Op::DeleteRoute { table, destination } => network.delete_route(table, destination).await?,
        Op::AssociateRouteTable {
            table,
            subnet,
            existing,
        } => {
            network
                .associate_route_table(&made.id(table)?, &made.id(subnet)?, existing.as_deref())
                .await?
        }
        Op::DisassociateRouteTable { association } => network.disassociate_route_table(association).await?,
        Op::ReleaseAddress { allocation } => network.release_address(allocation).await?,
        Op::DeleteNatGateway { nat } => network.delete_nat_gateway(nat).await?,
        Op::DeleteVpcEndpoint { endpoint } => network.delete_endpoint(endpoint).await?,
        Op::ChangeRules {
            group,
            direction,
            revoke,
            rules,
        } => {
            let group = made.id(group)?;
            let rules = rules.iter().map(|r| made.rule(r)).collect::<Result<Vec<Rule>, _>>()?;
            network.change_rules(&group, *direction, *revoke, &rules).await?
        }
        Op::DeleteSecurityGroup { group } => network.delete_security_group(group).await?,
        Op::DeleteSubnet { subnet } => network.delete_subnet(subnet).await?,
        Op::DeleteRouteTable { table } => network.delete_route_table(table).await?,
        Op::DetachInternetGateway { gateway, vpc } => network.detach_internet_gateway(gateway, vpc).await?,
        Op::DeleteInternetGateway { gateway } => network.delete_internet_gateway(gateway).await?,
        Op::DeleteVpc { vpc } => network.delete_vpc(vpc).await?,
        Op::TagEc2 { id, tags } => network.retag(id, tags).await?,
        Op::CreateDbSubnetGroup { name, subnets, tags } => {
            rds.create_subnet_group(name, &made.ids(subnets)?, tags).await?
        }
        Op::ModifyDbSubnetGroup { name, subnets } => rds.modify_subnet_group(name, subnets).await?,
        Op::DeleteDbSubnetGroup { name } => rds.delete_subnet_group(name).await?,
        _ => return Ok(false),
    }
    Ok(true)
}
