//! Reads what exists in AWS under the account's deterministic names. Only reads: this is all a
//! steady-state reconcile costs.

use std::collections::BTreeMap;

use dataplatform_api::names::AccountNames;
use dataplatform_aws::ec2::MissingNetwork;
use dataplatform_aws::ecr::RepositoryObservation;
use dataplatform_aws::ecs::{self, FamilyObservation, ServiceObservation};
use dataplatform_aws::iam::RoleObservation;
use dataplatform_aws::rds::{ClusterObservation, InstanceObservation};
use dataplatform_aws::s3::BucketObservation;
use dataplatform_aws::{AccountSession, AwsError};
use futures::future::try_join_all;

use crate::desired::{DesiredAccount, ObjectId};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedAccount {
    /// In the order of `DesiredAccount::buckets`.
    pub buckets: Vec<Option<BucketObservation>>,
    /// In the order of `DesiredAccount::roles`.
    pub roles: Vec<Option<RoleObservation>>,
    pub cluster: Option<ClusterObservation>,
    pub instance: Option<InstanceObservation>,
    pub compute: ObservedCompute,
    /// The registry's repositories that exist.
    pub repositories: Vec<RepositoryObservation>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedCompute {
    pub cluster: Option<ecs::ClusterObservation>,
    /// Every ACTIVE or DRAINING service in the cluster, including ones no longer in the spec.
    pub services: Vec<ServiceObservation>,
    /// By family: the spec's families, and those of our services that left the spec.
    pub families: BTreeMap<String, FamilyObservation>,
    /// Subnets and security groups of spec.network the account does not have.
    pub missing_network: MissingNetwork,
}

impl ObservedCompute {
    pub fn service(&self, name: &str) -> Option<&ServiceObservation> {
        self.services.iter().find(|s| s.name == name)
    }
}

pub async fn observe(
    session: &AccountSession,
    id: &ObjectId,
    desired: &DesiredAccount,
) -> Result<ObservedAccount, AwsError> {
    // The database is looked up by name even when the spec disables it, so deletion still finds one
    // made earlier.
    let names = AccountNames::new(&id.namespace, &id.name, &desired.account_id);
    let (cluster_name, instance_name) = (names.db_cluster(), names.db_instance());
    let buckets = try_join_all(
        desired
            .buckets
            .iter()
            .map(|b| async move { session.s3().observe_bucket(&b.name).await }),
    );
    let roles = try_join_all(
        desired
            .roles
            .iter()
            .map(|r| async move { session.iam().observe_role(&r.name).await }),
    );
    let rds = session.rds();
    let repository_names = desired.registry.as_ref().map(|r| r.names()).unwrap_or_default();
    let ecr = session.ecr();
    let (buckets, roles, cluster, instance, compute, repositories) = tokio::try_join!(
        buckets,
        roles,
        rds.observe_cluster(&cluster_name),
        rds.observe_instance(&instance_name),
        Box::pin(observe_compute(session, desired)),
        ecr.observe_repositories(&repository_names),
    )?;
    Ok(ObservedAccount {
        buckets,
        roles,
        cluster,
        instance,
        compute,
        repositories,
    })
}

async fn observe_compute(session: &AccountSession, desired: &DesiredAccount) -> Result<ObservedCompute, AwsError> {
    let ecs = session.ecs();
    let compute = &desired.compute;
    let network = async {
        match compute.services.first() {
            Some(service) => {
                let network = &service.settings.network;
                session
                    .ec2()
                    .missing_network(&network.subnets, &network.security_groups)
                    .await
            }
            None => Ok(MissingNetwork::default()),
        }
    };
    let families = try_join_all(
        compute
            .services
            .iter()
            .map(|s| async { Ok::<_, AwsError>((s.family.clone(), ecs.observe_family(&s.family).await?)) }),
    );
    let cluster_and_services = async {
        let Some(cluster) = ecs.observe_cluster(&compute.cluster).await? else {
            return Ok::<_, AwsError>((None, vec![]));
        };
        let services = ecs.observe_services(&cluster.name).await?;
        Ok((Some(cluster), services))
    };
    let (missing_network, families, (cluster, services)) = tokio::try_join!(network, families, cluster_and_services)?;
    let mut families: BTreeMap<String, FamilyObservation> = families.into_iter().collect();
    // Families of our services that left the spec: their revisions go with them.
    let owner = &desired.owner;
    let leftover: Vec<String> = services
        .iter()
        .filter(|s| s.tags.get(dataplatform_api::OWNER_TAG) == Some(owner))
        .filter_map(|s| ecs::parse_revision(&s.task_definition).map(|(family, _)| family))
        .filter(|family| !families.contains_key(family))
        .collect();
    for family in leftover {
        let observed = ecs.observe_family(&family).await?;
        families.insert(family, observed);
    }
    Ok(ObservedCompute {
        cluster,
        services,
        families,
        missing_network,
    })
}
