//! Security groups and their rules, as a set of flat rules (one protocol, port range and peer
//! each), so that what AWS holds and what the spec wants compare by equality, and authorizing or
//! revoking exactly the difference is one call per direction.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};

use super::Network;
use super::writes::tagged;
use crate::error::{AwsError, optional};
use crate::permissions as op;

/// Which way a rule admits traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Who a rule admits (ingress) or lets the group reach (egress).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    Cidr(String),
    Group(String),
}

/// One flat rule. `protocol` "-1" means all traffic, and then there are no ports.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub protocol: String,
    pub ports: Option<(i32, i32)>,
    pub peer: Peer,
}

/// AWS groups rules by protocol and ports with lists of peers; one flat rule per peer here.
pub(crate) fn flatten(permissions: &[IpPermission]) -> BTreeSet<Rule> {
    let mut rules = BTreeSet::new();
    for permission in permissions {
        let protocol = permission.ip_protocol().unwrap_or("-1").to_owned();
        let ports = match (protocol.as_str(), permission.from_port(), permission.to_port()) {
            ("-1", _, _) => None,
            (_, Some(from), Some(to)) => Some((from, to)),
            _ => None,
        };
        let peers = permission
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(|c| Peer::Cidr(c.to_owned())))
            .chain(
                permission
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(|p| p.group_id().map(|g| Peer::Group(g.to_owned()))),
            );
        for peer in peers {
            rules.insert(Rule {
                protocol: protocol.clone(),
                ports,
                peer,
            });
        }
    }
    rules
}

/// An authorization refused as a duplicate is done: EC2 adds a call's rules all or none, so after
/// a lost answer (the retry meets `InvalidPermission.Duplicate`) ours are there. A rule someone
/// else added meanwhile leaves the call's others missing, and the next pass sees and adds them.
fn already_there(sent: Result<(), AwsError>) -> Result<(), AwsError> {
    match sent {
        Err(error) if error.code.as_deref() == Some("InvalidPermission.Duplicate") => Ok(()),
        other => other,
    }
}

pub(crate) fn permission(rule: &Rule) -> IpPermission {
    let mut permission = IpPermission::builder().ip_protocol(&rule.protocol);
    if let Some((from, to)) = rule.ports {
        permission = permission.from_port(from).to_port(to);
    }
    match &rule.peer {
        Peer::Cidr(cidr) => permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Peer::Group(group) => permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build()),
    }
    .build()
}

impl Network<'_> {
    pub async fn create_security_group(
        &self,
        vpc: &str,
        name: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_SECURITY_GROUP, || {
                ec2.create_security_group()
                    .vpc_id(vpc)
                    .group_name(name)
                    .description(description)
                    .tag_specifications(tagged(ResourceType::SecurityGroup, tags))
                    .send()
            })
            .await?;
        Ok(output.group_id().unwrap_or_default().to_owned())
    }

    /// Authorizes `rules` in one direction, or (`revoke`) revokes them; revoking a rule that is
    /// gone already is done.
    pub async fn change_rules(
        &self,
        group: &str,
        direction: Direction,
        revoke: bool,
        rules: &[Rule],
    ) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        let permissions: Vec<_> = rules.iter().map(permission).collect();
        // The four calls differ only in the builder; each names its own catalogue entry.
        macro_rules! send {
            ($operation:expr, $call:ident) => {
                self.session
                    .call(&$operation, || {
                        ec2.$call()
                            .group_id(group)
                            .set_ip_permissions(Some(permissions.clone()))
                            .send()
                    })
                    .await
                    .map(drop)
            };
        }
        match (direction, revoke) {
            (Direction::Ingress, false) => already_there(send!(
                op::EC2_AUTHORIZE_SECURITY_GROUP_INGRESS,
                authorize_security_group_ingress
            )),
            (Direction::Egress, false) => already_there(send!(
                op::EC2_AUTHORIZE_SECURITY_GROUP_EGRESS,
                authorize_security_group_egress
            )),
            (Direction::Ingress, true) => optional(send!(
                op::EC2_REVOKE_SECURITY_GROUP_INGRESS,
                revoke_security_group_ingress
            ))
            .map(drop),
            (Direction::Egress, true) => optional(send!(
                op::EC2_REVOKE_SECURITY_GROUP_EGRESS,
                revoke_security_group_egress
            ))
            .map(drop),
        }
    }

    pub async fn delete_security_group(&self, group: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_SECURITY_GROUP, || {
                ec2.delete_security_group().group_id(group).send()
            })
            .await
    }
}
