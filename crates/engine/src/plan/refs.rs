//! What an op names besides plain values: ids made earlier in the same plan, rules whose peer may
//! be such an id, task-definition revisions, and the shared policy documents and their owners.

use std::fmt;

use dataplatform_api::names::GrantNames;

/// An EC2 id or ELB ARN: one AWS already holds, or the one an earlier action of the same plan
/// makes, by that action's resource (e.g. `ec2:vpc`, `elb:load-balancer/internal`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ec2Ref {
    Known(String),
    Made(String),
}

impl fmt::Display for Ec2Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ec2Ref::Known(id) => f.write_str(id),
            Ec2Ref::Made(resource) => write!(f, "({resource}, known after apply)"),
        }
    }
}

/// A security-group rule whose peer may be a group made in the same plan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlannedRule {
    pub protocol: String,
    pub ports: Option<(i32, i32)>,
    pub peer: PlannedPeer,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlannedPeer {
    Cidr(String),
    Group(Ec2Ref),
}

/// Where a planned endpoint goes (ids possibly made in the same plan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedEndpoint {
    Gateway { route_tables: Vec<Ec2Ref> },
    Interface { subnets: Vec<Ec2Ref>, groups: Vec<Ec2Ref> },
}

/// Which task-definition revision a service is pointed at, always by its exact ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskRevision {
    /// The revision the `RegisterTaskDefinition` earlier in the same action returns.
    Registered,
    /// A revision AWS already holds.
    Existing(String),
}

/// A policy document several owners write statements into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SharedDocument {
    BucketPolicy { bucket: String },
    RepositoryPolicy { repository: String },
}

impl fmt::Display for SharedDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SharedDocument::BucketPolicy { bucket } => write!(f, "the bucket policy of {bucket}"),
            SharedDocument::RepositoryPolicy { repository } => write!(f, "the repository policy of {repository}"),
        }
    }
}

/// Which statements of a shared document one owner may replace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementOwner {
    /// Exactly one Sid (the account's TLS statement, the registry's pull statement).
    Sid(String),
    /// Exactly these Sids (the log bucket's TLS and delivery statements).
    Sids(Vec<String>),
    /// Every Sid a SharedBucketGrant derives from its namespace/name.
    Grant(GrantNames),
}

impl StatementOwner {
    pub fn owns(&self, sid: &str) -> bool {
        match self {
            StatementOwner::Sid(own) => own == sid,
            StatementOwner::Sids(own) => own.iter().any(|o| o == sid),
            StatementOwner::Grant(names) => names.owns_statement(sid),
        }
    }
}
