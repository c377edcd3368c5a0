//! The database part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_api::OWNER_TAG;
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
        let found = match self {
            Self::CreateDbCluster { cluster, tags, .. } => rds
                .observe_cluster(cluster)
                .await?
                .map(|c| (c.arn, c.tags.get(OWNER_TAG) == tags.get(OWNER_TAG))),
            Self::CreateDbInstance { instance, tags, .. } => rds
                .observe_instance(instance)
                .await?
                .map(|i| (i.arn, i.tags.get(OWNER_TAG) == tags.get(OWNER_TAG))),
            _ => return Ok(Lookup::CannotTell),
        };
        Ok(match found {
            Some((arn, true)) => Lookup::Made(arn),
            // Someone else's under our identifier: sending it again meets it and the pass reports it.
            Some((_, false)) => Lookup::CannotTell,
            None => Lookup::NotMade,
        })
    }
}
