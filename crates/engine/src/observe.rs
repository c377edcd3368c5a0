//! Reads what exists in AWS under the account's deterministic names. Only reads: this is all a
//! steady-state reconcile costs.

use dataplatform_api::names::AccountNames;
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
    let (buckets, roles, cluster, instance) = tokio::try_join!(
        buckets,
        roles,
        rds.observe_cluster(&cluster_name),
        rds.observe_instance(&instance_name),
    )?;
    Ok(ObservedAccount {
        buckets,
        roles,
        cluster,
        instance,
    })
}
