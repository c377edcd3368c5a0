//! `DataPlatformAccount.status`: what the operator last saw of the account in AWS, part by part.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exposure::LoadBalancerStatus;

/// What the operator last saw of the account in AWS.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataPlatformAccountStatus {
    /// The metadata.generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready: every part exists and AWS reports it available. Synced: the last reconcile finished
    /// without error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The network the tasks and the database run in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkStatus>,

    /// The load balancers serving the exposed services, with their DNS names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancerStatus>,
    /// The hosted zone of spec.dns and the hosts published in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<crate::dns::DnsStatus>,
    /// The certificate the operator requested for the load balancers, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::dns::CertificateStatus>,
    /// The Cognito user pool of spec.userPool, and what to register at its identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool: Option<crate::user_pool::UserPoolStatus>,
    /// The three buckets' names and ARNs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<BucketsStatus>,
    /// The buckets' managed KMS key and access-log bucket, when the spec asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageStatus>,
    /// The Aurora cluster, when spec.database.enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseStatus>,
    /// The ECS cluster, when spec.services is not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterStatus>,
    /// One entry per ECS service: desired and running tasks and the task definition in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceStatus>,
    /// Running over desired tasks, summed over all services, e.g. "2/3".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services_running: Option<String>,
    /// The organisation's ECR repositories, when it has a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryStatus>,
    /// The ARNs of the task-execution, task and run-launcher roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesStatus>,
    /// When the last reconcile that reached AWS finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// What the last reconcile found changed outside the spec and corrected, e.g.
    /// "s3:datastore.versioning".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
}

/// The network as found in AWS (ids are AWS's).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStatus {
    /// The VPC (the managed form's, or the one spec.network.subnetIds are in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// The managed form's subnets, per availability zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneStatus>,
    /// Security groups the operator owns: tasks, database, endpoints.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_groups: BTreeMap<String, String>,
    /// NAT gateway ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nat_gateways: Vec<String>,
    /// VPC endpoints by service, e.g. s3: vpce-0a1b2c3d.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, String>,
    /// The database's DB subnet group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_subnet_group: Option<String>,
    /// What the operator found in a network it does not own that keeps something from working,
    /// e.g. the VPC's DNS host names off (the services' names do not resolve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One availability zone of a managed VPC.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZoneStatus {
    pub zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_subnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_subnet_id: Option<String>,
}

/// The three buckets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct BucketsStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<BucketStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore: Option<BucketStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<BucketStatus>,
}

/// What the operator made for the buckets besides them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageStatus {
    /// ARN of the KMS key the operator made (`spec.storage.encryption: Managed`), once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// The bucket the server access logs go to (`spec.storage.accessLogs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_bucket: Option<BucketStatus>,
}

/// One bucket.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct BucketStatus {
    /// Bucket name.
    pub name: String,
    /// Bucket ARN, for IAM and bucket policies.
    pub arn: String,
}

/// The Aurora cluster. The master password lives in Secrets Manager; only its ARN is shown.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    /// RDS DB cluster identifier.
    pub cluster_identifier: String,
    /// Writer endpoint host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// PostgreSQL port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// RDS status, e.g. creating, available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// ARN of the Secrets Manager secret holding the master credentials (never its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    /// The DB subnet group the cluster lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<String>,
    /// What the operator leaves alone on this cluster, and why: a cluster outside the network's
    /// DB subnet group (never moved or replaced, it holds data), or one kept, not managed, while
    /// spec.database.enabled is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The registry: what to `docker push` to, and what is no longer managed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryStatus {
    /// The repositories of spec.registry that exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<RepositoryStatus>,
    /// Repositories of ours that left spec.registry: kept (they may hold images), no longer
    /// managed; delete them by hand when they are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_longer_managed: Vec<String>,
}

/// One ECR repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct RepositoryStatus {
    pub name: String,
    pub arn: String,
    /// e.g. 999999999999.dkr.ecr.eu-west-2.amazonaws.com/dagster
    pub uri: String,
}

/// The ECS cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ClusterStatus {
    /// ECS cluster name.
    pub name: String,
    /// ECS cluster ARN.
    pub arn: String,
}

/// One ECS service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// The service's name in spec.services.
    pub name: String,
    /// ECS desiredCount.
    pub desired: i32,
    /// ECS runningCount.
    pub running: i32,
    /// Task-definition revision the service runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// A revision whose rollout the ECS circuit breaker rolled back, remembered so it is not pushed
    /// again (even after ECS forgets the deployment) until the spec changes what the service runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_task_definition_arn: Option<String>,
    /// ECS's reason for that failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_reason: Option<String>,
    /// Where an exposed service is reached, e.g. https://files.camden.example.org/ or
    /// http://internal-....elb.amazonaws.com/api/ (the first host, else the load balancer's DNS
    /// name, and the path up to its first wildcard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For a service with expose.signIn, the redirect URL to register at the identity provider,
    /// e.g. https://dagster.camden.example.org/oauth2/idpresponse (its first host that is not a
    /// wildcard, else the load balancer's DNS name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_callback_url: Option<String>,
    /// For a service with a port, where the other services reach it in the VPC: `host:port`, e.g.
    /// code-server.camden.dataplatform.internal:4000 (a Cloud Map A record per running task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// With `scaling`: its bounds and the next scheduled change (the count itself is `desired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<crate::scaling::ScalingStatus>,
}

/// The IAM roles of the ECS tasks.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolesStatus {
    /// Role ECS uses to pull images and inject secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_execution_role_arn: Option<String>,
    /// Role the containers run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// The role services with launchesRuns run as, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_launcher_role_arn: Option<String>,
}
