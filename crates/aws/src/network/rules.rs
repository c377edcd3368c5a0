//! Security-group rules as a set of flat rules (one protocol, port range and peer each), so that
//! what AWS holds and what the spec wants compare by equality, and authorizing or revoking exactly
//! the difference is one call per direction.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};

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

impl Rule {
    pub fn tcp(port: i32, peer: Peer) -> Self {
        Self {
            protocol: "tcp".to_owned(),
            ports: Some((port, port)),
            peer,
        }
    }

    pub fn all_traffic(peer: Peer) -> Self {
        Self {
            protocol: "-1".to_owned(),
            ports: None,
            peer,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match (self.protocol.as_str(), self.ports) {
            ("-1", _) => "all".to_owned(),
            (protocol, Some((from, to))) if from == to => format!("{protocol}/{from}"),
            (protocol, Some((from, to))) => format!("{protocol}/{from}-{to}"),
            (protocol, None) => protocol.to_owned(),
        };
        match &self.peer {
            Peer::Cidr(cidr) => write!(f, "{what} {cidr}"),
            Peer::Group(group) => write!(f, "{what} {group}"),
        }
    }
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
