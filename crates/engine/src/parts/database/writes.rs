//! The database part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::rds::{ClusterChanges, ClusterPlacement, ClusterSettings};
use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::Made;
use crate::plan::{Lookup, Write};

/// The database part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum DatabaseWrite {
    CreateDbCluster {
        cluster: String,
        settings: ClusterSettings,
        /// `None`: the account's default subnet group and security group (no spec.network).
        placement: Option<ClusterPlacement>,
        tags: BTreeMap<String, String>,
    },
    ModifyDbCluster {
        cluster: String,
        changes: ClusterChanges,
    },
    TagDbResource {
        arn: String,
        tags: TagUpdate,
    },
    CreateDbInstance {
        instance: String,
        cluster: String,
        tags: BTreeMap<String, String>,
    },
    DeleteDbInstance {
        instance: String,
    },
    DeleteDbCluster {
        cluster: String,
    },
}

impl Write for DatabaseWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let rds = session.rds();
        match self {
            Self::CreateDbCluster {
                cluster,
                settings,
                placement,
                tags,
            } => rds.create_cluster(cluster, settings, placement.as_ref(), tags).await,
            Self::ModifyDbCluster { cluster, changes } => rds.modify_cluster(cluster, changes).await,
            Self::TagDbResource { arn, tags } => rds.retag(arn, tags).await,
            Self::CreateDbInstance {
                instance,
                cluster,
                tags,
            } => rds.create_instance(instance, cluster, tags).await,
            Self::DeleteDbInstance { instance } => rds.delete_instance(instance).await,
            Self::DeleteDbCluster { cluster } => rds.delete_cluster(cluster).await,
        }
    }

    /// The cluster and the instance are found by identifier; ours when they carry the create's
    /// owner tag.
    async fn look_after_failure(&self, session: &AccountSession, _made: &Made) -> Result<Lookup, AwsError> {
        let rds = session.rds();
        match self {
            Self::CreateDbCluster { cluster, tags, .. } => {
                let found = rds.observe_cluster(cluster).await?;
                Ok(Lookup::by_owner(found.map(|c| (c.arn, c.tags)), tags))
            }
            Self::CreateDbInstance { instance, tags, .. } => {
                let found = rds.observe_instance(instance).await?;
                Ok(Lookup::by_owner(found.map(|i| (i.arn, i.tags)), tags))
            }
            _ => Ok(Lookup::CannotTell),
        }
    }
}
