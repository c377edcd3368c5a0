//! What the database part wants and finds: plain values, no AWS call.

use dataplatform_aws::rds::{ClusterObservation, ClusterSettings, InstanceObservation};

use crate::vocabulary::DatabaseNetwork;

pub const CLUSTER: &str = "rds:cluster";
pub const INSTANCE: &str = "rds:instance";
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredDatabase {
    pub cluster: String,
    pub instance: String,
    /// `None` while `spec.database.enabled` is false.
    pub settings: Option<ClusterSettings>,
    /// Where the cluster lives, from the network part's facts (`complete`).
    pub network: DatabaseNetwork,
    /// The network's VPC (`complete`).
    pub vpc: Option<String>,
    /// Our DB subnet group's name.
    pub subnet_group: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedDatabase {
    pub cluster: Option<ClusterObservation>,
    pub instance: Option<InstanceObservation>,
    /// The VPC of a cluster outside our DB subnet group (of its subnet group, else of its first
    /// security group); `None` when it is in ours or the VPC cannot be told.
    pub foreign_vpc: Option<String>,
}
