//! Aurora PostgreSQL Serverless v2: the cluster, its one `db.serverless` instance, and the settings
//! the spec owns (engine version, ACU range, backups, deletion protection, tags), and the DB subnet
//! group and security groups that put it in the tenant's network.

use std::collections::BTreeMap;

use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::session::AccountSession;
use crate::tags::TagUpdate;

pub const ENGINE: &str = "aurora-postgresql";
pub const INSTANCE_CLASS: &str = "db.serverless";
pub const MASTER_USERNAME: &str = "dataplatform";
pub const DATABASE_NAME: &str = "dagster";

/// What the spec owns on the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSettings {
    pub engine_version: String,
    pub min_capacity: f64,
    pub max_capacity: f64,
    pub backup_retention_days: i32,
    pub deletion_protection: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterObservation {
    pub identifier: String,
    pub arn: String,
    pub status: String,
    pub settings: ClusterSettings,
    pub endpoint: Option<String>,
    pub port: Option<i32>,
    pub secret_arn: Option<String>,
    /// The DB subnet group it lives in (`default` when made without one).
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// Where a cluster lives: its DB subnet group and the security groups attached to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterPlacement {
    pub subnet_group: String,
    pub security_groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetGroupObservation {
    pub name: String,
    pub arn: String,
    pub vpc_id: String,
    pub subnets: std::collections::BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceObservation {
    pub identifier: String,
    pub arn: String,
    pub status: String,
    pub tags: BTreeMap<String, String>,
}

pub struct Rds<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn rds(&self) -> Rds<'_> {
        Rds { session: self }
    }
}

impl Rds<'_> {
    pub async fn observe_cluster(&self, identifier: &str) -> Result<Option<ClusterObservation>, AwsError> {
        let rds = self.session.rds_client();
        let output = optional(
            self.session
                .call(&op::RDS_DESCRIBE_DB_CLUSTERS, || {
                    rds.describe_db_clusters().db_cluster_identifier(identifier).send()
                })
                .await,
        )?;
        let Some(cluster) = output.as_ref().and_then(|o| o.db_clusters().first()) else {
            return Ok(None);
        };
        let scaling = cluster.serverless_v2_scaling_configuration();
        Ok(Some(ClusterObservation {
            identifier: cluster.db_cluster_identifier().unwrap_or(identifier).to_owned(),
            arn: cluster.db_cluster_arn().unwrap_or_default().to_owned(),
            status: cluster.status().unwrap_or_default().to_owned(),
            settings: ClusterSettings {
                engine_version: cluster.engine_version().unwrap_or_default().to_owned(),
                min_capacity: scaling.and_then(|s| s.min_capacity()).unwrap_or_default(),
                max_capacity: scaling.and_then(|s| s.max_capacity()).unwrap_or_default(),
                backup_retention_days: cluster.backup_retention_period().unwrap_or_default(),
                deletion_protection: cluster.deletion_protection().unwrap_or(false),
            },
            endpoint: cluster.endpoint().map(str::to_owned),
            port: cluster.port(),
            secret_arn: cluster
                .master_user_secret()
                .and_then(|s| s.secret_arn())
                .map(str::to_owned),
            subnet_group: cluster.db_subnet_group().map(str::to_owned),
            security_groups: cluster
                .vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
                .collect(),
            tags: from_tags(cluster.tag_list()),
        }))
    }

    /// A DB subnet group and its tags (DescribeDBSubnetGroups does not return them).
    pub async fn observe_subnet_group(&self, name: &str) -> Result<Option<SubnetGroupObservation>, AwsError> {
        let rds = self.session.rds_client();
        let output = optional(
            self.session
                .call(&op::RDS_DESCRIBE_DB_SUBNET_GROUPS, || {
                    rds.describe_db_subnet_groups().db_subnet_group_name(name).send()
                })
                .await,
        )?;
        let Some(group) = output.as_ref().and_then(|o| o.db_subnet_groups().first()) else {
            return Ok(None);
        };
        let arn = group.db_subnet_group_arn().unwrap_or_default().to_owned();
        let tags = self
            .session
            .call(&op::RDS_LIST_TAGS_FOR_RESOURCE, || {
                rds.list_tags_for_resource().resource_name(&arn).send()
            })
            .await?;
        Ok(Some(SubnetGroupObservation {
            name: group.db_subnet_group_name().unwrap_or(name).to_owned(),
            vpc_id: group.vpc_id().unwrap_or_default().to_owned(),
            subnets: group
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                .collect(),
            tags: from_tags(tags.tag_list()),
            arn,
        }))
    }

    pub async fn create_subnet_group(
        &self,
        name: &str,
        subnets: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        let tags = to_tags(tags);
        self.session
            .call(&op::RDS_CREATE_DB_SUBNET_GROUP, || {
                rds.create_db_subnet_group()
                    .db_subnet_group_name(name)
                    .db_subnet_group_description("Subnets of the data platform's database (dataplatform-operator)")
                    .set_subnet_ids(Some(subnets.to_vec()))
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn modify_subnet_group(&self, name: &str, subnets: &[String]) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        self.session
            .call(&op::RDS_MODIFY_DB_SUBNET_GROUP, || {
                rds.modify_db_subnet_group()
                    .db_subnet_group_name(name)
                    .set_subnet_ids(Some(subnets.to_vec()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_subnet_group(&self, name: &str) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        self.session
            .delete_if_exists(&op::RDS_DELETE_DB_SUBNET_GROUP, || {
                rds.delete_db_subnet_group().db_subnet_group_name(name).send()
            })
            .await
    }

    pub async fn observe_instance(&self, identifier: &str) -> Result<Option<InstanceObservation>, AwsError> {
        let rds = self.session.rds_client();
        let output = optional(
            self.session
                .call(&op::RDS_DESCRIBE_DB_INSTANCES, || {
                    rds.describe_db_instances().db_instance_identifier(identifier).send()
                })
                .await,
        )?;
        let Some(instance) = output.as_ref().and_then(|o| o.db_instances().first()) else {
            return Ok(None);
        };
        Ok(Some(InstanceObservation {
            identifier: instance.db_instance_identifier().unwrap_or(identifier).to_owned(),
            arn: instance.db_instance_arn().unwrap_or_default().to_owned(),
            status: instance.db_instance_status().unwrap_or_default().to_owned(),
            tags: from_tags(instance.tag_list()),
        }))
    }

    /// Storage encrypted, master password generated and kept by Secrets Manager (the operator never
    /// sees it), tags set in the same request.
    pub async fn create_cluster(
        &self,
        identifier: &str,
        settings: &ClusterSettings,
        placement: Option<&ClusterPlacement>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        let tags = to_tags(tags);
        // Not repeated after a transient fault: the first attempt may have made the cluster (and
        // its RDS-managed master secret); the caller looks by identifier before sending it again.
        self.session
            .call_not_repeated(&op::RDS_CREATE_DB_CLUSTER, || {
                rds.create_db_cluster()
                    .db_cluster_identifier(identifier)
                    .engine(ENGINE)
                    .engine_version(&settings.engine_version)
                    .database_name(DATABASE_NAME)
                    .master_username(MASTER_USERNAME)
                    .manage_master_user_password(true)
                    .storage_encrypted(true)
                    .copy_tags_to_snapshot(true)
                    .serverless_v2_scaling_configuration(scaling(settings))
                    .backup_retention_period(settings.backup_retention_days)
                    .deletion_protection(settings.deletion_protection)
                    .set_db_subnet_group_name(placement.map(|p| p.subnet_group.clone()))
                    .set_vpc_security_group_ids(placement.map(|p| p.security_groups.clone()))
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    /// Applies only the settings that differ (`None` = leave as is), immediately rather than in the
    /// next maintenance window, because the spec is the source of truth now.
    pub async fn modify_cluster(&self, identifier: &str, changes: &ClusterChanges) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        self.session
            .call(&op::RDS_MODIFY_DB_CLUSTER, || {
                let mut request = rds
                    .modify_db_cluster()
                    .db_cluster_identifier(identifier)
                    .apply_immediately(true)
                    .set_backup_retention_period(changes.backup_retention_days)
                    .set_deletion_protection(changes.deletion_protection)
                    .set_vpc_security_group_ids(changes.security_groups.clone());
                if let Some(version) = &changes.engine_version {
                    request = request.engine_version(version).allow_major_version_upgrade(true);
                }
                if let Some((min, max)) = changes.capacity {
                    request = request.serverless_v2_scaling_configuration(
                        ServerlessV2ScalingConfiguration::builder()
                            .min_capacity(min)
                            .max_capacity(max)
                            .build(),
                    );
                }
                request.send()
            })
            .await
            .map(drop)
    }

    pub async fn retag(&self, arn: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, rds) = (self.session, &self.session.rds_client());
        update
            .apply(
                |add| {
                    session.write(&op::RDS_ADD_TAGS_TO_RESOURCE, move || {
                        rds.add_tags_to_resource()
                            .resource_name(arn)
                            .set_tags(Some(to_tags(&add)))
                            .send()
                    })
                },
                |remove| {
                    session.write(&op::RDS_REMOVE_TAGS_FROM_RESOURCE, move || {
                        rds.remove_tags_from_resource()
                            .resource_name(arn)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }

    pub async fn create_instance(
        &self,
        identifier: &str,
        cluster: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        let tags = to_tags(tags);
        // Not repeated after a transient fault: the caller looks by identifier first.
        self.session
            .call_not_repeated(&op::RDS_CREATE_DB_INSTANCE, || {
                rds.create_db_instance()
                    .db_instance_identifier(identifier)
                    .db_cluster_identifier(cluster)
                    .engine(ENGINE)
                    .db_instance_class(INSTANCE_CLASS)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_instance(&self, identifier: &str) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        self.session
            .delete_if_exists(&op::RDS_DELETE_DB_INSTANCE, || {
                rds.delete_db_instance().db_instance_identifier(identifier).send()
            })
            .await
    }

    /// Deletes without a final snapshot: the engine calls this only when the spec turned deletion
    /// protection off, which is the user saying the data may go.
    pub async fn delete_cluster(&self, identifier: &str) -> Result<(), AwsError> {
        let rds = self.session.rds_client();
        self.session
            .delete_if_exists(&op::RDS_DELETE_DB_CLUSTER, || {
                rds.delete_db_cluster()
                    .db_cluster_identifier(identifier)
                    .skip_final_snapshot(true)
                    .send()
            })
            .await
    }
}

/// Settings to change on an existing cluster; `None` leaves a setting alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterChanges {
    pub engine_version: Option<String>,
    pub capacity: Option<(f64, f64)>,
    pub backup_retention_days: Option<i32>,
    pub deletion_protection: Option<bool>,
    /// The cluster's security groups, corrected in place (the subnet group never is).
    pub security_groups: Option<Vec<String>>,
}

fn scaling(settings: &ClusterSettings) -> ServerlessV2ScalingConfiguration {
    ServerlessV2ScalingConfiguration::builder()
        .min_capacity(settings.min_capacity)
        .max_capacity(settings.max_capacity)
        .build()
}

fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn from_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}
