//! `DataPlatformAccount`: one AWS account of the platform and everything the platform runs in it.

// `printcolumn(type_ = ...)` repeats inside the kube attribute by design; clippy reads it as a
// duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::account_status::{
    BucketStatus, BucketsStatus, ClusterStatus, DataPlatformAccountStatus, DatabaseStatus, NetworkStatus,
    RegistryStatus, RepositoryStatus, RolesStatus, ServiceStatus, StorageStatus, ZoneStatus,
};
use crate::exposure::LoadBalancerSpec;
use crate::patterns::{self, cel_all_match, cel_matches};
pub use crate::service::{Capacity, SecretRef, ServiceSpec};

/// CEL: the number `self` is a whole multiple of 0.5. Written as a rule because the API server's
/// OpenAPI `multipleOf` below 1 refuses every integral value (it checks those on an integer path
/// that truncates the factor to 0), including the CRD's own defaults. Kubernetes hands CEL a
/// `type: number` value as a double even when it was written as `4`.
const HALF_STEPS: &str = "double(int(self * 2.0)) == self * 2.0";

/// What the account should hold. The operator creates what is missing, corrects what drifted and
/// reports both in status; names of AWS resources derive from namespace/name and accountId.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dataplatform.io",
    version = "v1alpha1",
    kind = "DataPlatformAccount",
    namespaced,
    status = "DataPlatformAccountStatus",
    shortname = "dpa",
    category = "dataplatform",
    derive = "PartialEq",
    doc = "One AWS account of the data platform and everything the platform runs in it: S3 buckets, IAM roles, an Aurora Serverless v2 PostgreSQL cluster, ECS Fargate services and, for the organisation, ECR repositories.",
    printcolumn(
        name = "Account",
        type_ = "string",
        json_path = ".spec.accountId",
        description = "AWS account id"
    ),
    printcolumn(name = "Tier", type_ = "string", json_path = ".spec.tier"),
    printcolumn(name = "Region", type_ = "string", json_path = ".spec.region"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Services",
        type_ = "string",
        json_path = ".status.servicesRunning",
        description = "running/desired tasks over all services"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(
    validation = Rule::new("!has(self.registry) || (has(self.tier) && self.tier == 'Organisation')")
        .message("spec.registry is only allowed when spec.tier is Organisation: Child accounts pull from the organisation's repositories; remove spec.registry or set spec.tier: Organisation")
        .field_path(".registry"),
    validation = Rule::new("!has(oldSelf.network) || !has(oldSelf.network.vpc) || (has(self.network) && has(self.network.vpc))")
        .message("spec.network.vpc cannot be removed: the operator's VPC holds the database and the services; delete the DataPlatformAccount (deletionPolicy Delete removes the network last) instead")
        .field_path(".network"),
    validation = Rule::new("!has(self.services) || size(self.services) == 0 || has(self.network)")
        .message("spec.network is required when spec.services is not empty: Fargate tasks need a network; set spec.network.vpc (e.g. cidr: 10.20.0.0/16) or spec.network.subnetIds and securityGroupIds")
        .field_path(".network"),
    validation = Rule::new("!has(self.services) || self.services.all(s, !has(s.expose) || !has(s.expose.protocol) || s.expose.protocol != 'GRPC') || (has(self.loadBalancer) && has(self.loadBalancer.certificateArn)) || (has(self.dns) && has(self.dns.hostedZoneId))")
        .message("spec.loadBalancer.certificateArn (or spec.dns.hostedZoneId, for a certificate the operator requests) is required when a service is exposed with protocol GRPC: the load balancer speaks gRPC over HTTPS only")
        .field_path(".loadBalancer"),
    validation = Rule::new("!has(self.services) || self.services.all(s, !has(s.expose) || !has(s.expose.signIn)) || (has(self.loadBalancer) && has(self.loadBalancer.certificateArn)) || (has(self.dns) && has(self.dns.hostedZoneId))")
        .message("spec.loadBalancer.certificateArn (or spec.dns.hostedZoneId, for a certificate the operator requests) is required when a service is exposed with signIn: the load balancer signs people in on HTTPS listeners only")
        .field_path(".loadBalancer"),
    validation = Rule::new("has(self.userPool) || !has(self.services) || self.services.all(s, !has(s.expose) || !has(s.expose.signIn) || !has(s.expose.signIn.userPool) || !s.expose.signIn.userPool)")
        .message("spec.userPool is required when a service is exposed with signIn.userPool: it is the Cognito user pool people sign in through")
        .field_path(".userPool"),
    validation = Rule::new("!has(self.network) || has(self.network.vpc) || !has(self.services) || self.services.all(s, !has(s.expose) || !has(s.expose.scheme) || s.expose.scheme != 'InternetFacing') || (has(self.loadBalancer) && has(self.loadBalancer.publicSubnetIds))")
        .message("spec.loadBalancer.publicSubnetIds is required when a service is exposed InternetFacing in the spec.network.subnetIds form: name public subnets (routed to an internet gateway) in two availability zones")
        .field_path(".loadBalancer"),
    validation = Rule::new("!has(self.dns) || !has(self.dns.privateZone) || has(self.network)")
        .message("spec.network is required with spec.dns.privateZone: the private zone is associated with the account's VPC")
        .field_path(".dns.privateZone"),
    validation = Rule::new("!has(self.loadBalancer) || !has(self.loadBalancer.publicSubnetIds) || (has(self.network) && !has(self.network.vpc))")
        .message("spec.loadBalancer.publicSubnetIds applies to the spec.network.subnetIds form only: spec.network.vpc has its own public subnets; remove it")
        .field_path(".loadBalancer.publicSubnetIds")
)]
#[serde(rename_all = "camelCase")]
pub struct DataPlatformAccountSpec {
    /// The 12-digit AWS account id this object manages, as a quoted string (e.g. "111111111111").
    /// Immutable: one object manages one account for its whole life.
    #[x_kube(
        validation = Rule::new(cel_matches(patterns::ACCOUNT_ID)).message("spec.accountId must be exactly 12 digits, e.g. \"111111111111\" (quote it in YAML so it stays a string)"),
        validation = Rule::new("self == oldSelf").message("spec.accountId is immutable: create a new DataPlatformAccount to manage another account")
    )]
    #[schemars(length(max = 12))]
    pub account_id: String,

    /// AWS region of every regional resource, e.g. eu-west-2. Immutable.
    #[x_kube(
        validation = Rule::new(cel_matches(patterns::REGION)).message("spec.region must be an AWS region code such as eu-west-2 or us-east-1"),
        validation = Rule::new("self == oldSelf").message("spec.region is immutable: create a new DataPlatformAccount to use another region")
    )]
    #[schemars(length(max = 32))]
    pub region: String,

    /// Child (a tenant such as a local authority) or Organisation (the central account that hosts
    /// the ECR repositories and may be granted access to children's shared buckets).
    #[serde(default)]
    pub tier: Tier,

    /// IAM role the operator assumes in this account (sts:AssumeRole). It must be a role in
    /// spec.accountId. When absent the operator uses its own (ambient) credentials, which must
    /// belong to spec.accountId.
    #[x_kube(validation = Rule::new(cel_matches(patterns::ROLE_ARN))
        .message("spec.roleArn must be an IAM role ARN such as arn:aws:iam::111111111111:role/dataplatform-operator"))]
    #[schemars(length(max = 600))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,

    /// External id passed to sts:AssumeRole, when the role's trust policy requires one.
    #[x_kube(validation = Rule::new(cel_matches(patterns::EXTERNAL_ID))
        .message("spec.externalId may hold only letters, digits and +=,.@:/-_ (2 to 1224 characters)"))]
    #[schemars(length(min = 2, max = 1224))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,

    /// What happens in AWS when this object is deleted. Retain (default) leaves every AWS resource
    /// in place, still tagged. Delete removes services, task definitions, the ECS cluster, the
    /// database (only once deletionProtection is false), the roles, and the buckets that are
    /// empty; a non-empty bucket is reported and kept, never emptied.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Manage (default) creates and corrects resources. ObserveOnly reads and reports drift in
    /// status but changes nothing in AWS.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// Tags put on every AWS resource the operator creates, beside dataplatform.io/owner. The keys
    /// are recorded on each resource in the tag dataplatform.io/managed-tags (sorted, joined by
    /// spaces), so a key removed here is removed from the resources too; tags someone else set
    /// are never touched. Keys may not start with "aws:" nor be one of the operator's two tags.
    /// The operator also refuses, before any AWS call, keys with a space, the key "-" (the record
    /// of no keys), and keys that joined by spaces exceed 256 characters (the record must fit in
    /// one tag value).
    #[x_kube(validation = Rule::new("self.all(k, size(k) >= 1 && size(k) <= 128 && !k.startsWith('aws:') && k != 'dataplatform.io/owner' && k != 'dataplatform.io/managed-tags' && size(self[k]) <= 256)")
        .message("spec.tags keys must be 1-128 characters, must not start with aws: nor be dataplatform.io/owner or dataplatform.io/managed-tags, and values must be at most 256 characters"))]
    ///
    /// Keys and values may contain only letters, digits and spaces (of any script) and
    /// `_ . : / = + - @`, the characters every service we tag accepts. Admission checks the values
    /// (a pattern); the keys' characters are checked by the operator before any AWS call, not by a
    /// CEL rule, whose estimated cost over map keys of unbounded length would exceed the API server's
    /// budget.
    #[schemars(extend("maxProperties" = 40, "additionalProperties" = {"type": "string", "maxLength": 256, "pattern": patterns::TAG_TEXT}))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,

    /// The tenant's network: where the ECS tasks and the database run. Required when
    /// spec.services is not empty. Without it the database is made in the account's default VPC
    /// (its default DB subnet group and security group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,

    /// The workspace, datastore and shared S3 buckets.
    #[serde(default)]
    pub storage: StorageSpec,

    /// The Aurora Serverless v2 PostgreSQL cluster behind Dagster.
    #[serde(default)]
    pub database: DatabaseSpec,

    /// ECS services on Fargate, one per entry, keyed by name, all in one ECS cluster of the account
    /// (capacity providers FARGATE and FARGATE_SPOT). Each runs one container from its own
    /// task-definition family; a new revision is registered only when what the container runs
    /// changes, and the last 3 revisions stay registered for rollback. Deployments use the ECS
    /// circuit breaker with rollback.
    ///
    /// Without `scaling` the spec owns each service's desiredCount (replicas): a desiredCount changed
    /// outside the spec, by a person or by someone's auto scaling, is reported in status.drift and
    /// set back on the next reconcile (0 scales a service to zero and keeps it defined). With
    /// `scaling`, Application Auto Scaling owns it within the bounds.
    ///
    /// A service removed from this list is scaled to 0 and deleted, and its task definitions are
    /// deregistered.
    #[x_kube(
        validation = Rule::new("self.all(s, self.exists_one(o, o.name == s.name))")
            .message("spec.services[].name must be unique: two services share a name"),
        merge_strategy = kube::core::ListMerge::Map(vec!["name".into()])
    )]
    #[schemars(length(max = 20))]
    #[serde(default)]
    pub services: Vec<ServiceSpec>,

    /// What the account's load balancers share (certificate, idle timeout): used only when a
    /// service sets `expose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerSpec>,

    /// Where the exposed services' host names are published (Route 53): see its fields. Absent:
    /// no record is written, and pointing the hosts at the load balancers is yours to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<crate::dns::DnsSpec>,

    /// A Cognito user pool the operator makes for services that sign people in through it
    /// (services[].expose.signIn.userPool), federated with the organisation's SAML identity
    /// provider: see its fields. status.userPool says what to register at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool: Option<crate::user_pool::UserPoolSpec>,

    /// Organisation tier only: ECR repositories that every managed Child account may pull from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistrySpec>,

    /// Where container output goes. Absent (the default): nowhere, and the operator creates no
    /// CloudWatch Logs group, so an account costs nothing in CloudWatch. To keep the output, set
    /// logging.logGroup: the operator creates the group (retentionDays, default 30) and every
    /// service logs to it with the awslogs driver (stream prefix = service name). Under
    /// deletionPolicy Delete the group is deleted with the account; Retain keeps it. Removing
    /// spec.logging stops the logging and leaves the group (it holds the output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingSpec>,
}

/// Container logs in CloudWatch Logs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggingSpec {
    /// CloudWatch Logs group name, e.g. /dataplatform/tenant-a. The task-execution role may write
    /// to this group only.
    #[x_kube(validation = Rule::new(cel_matches(patterns::LOG_GROUP))
        .message("spec.logging.logGroup must be 1-512 characters of letters, digits and _-./#"))]
    #[schemars(length(min = 1, max = 512))]
    pub log_group: String,

    /// Days CloudWatch keeps the output: 1, 3, 5, 7, 14, 30 (default), 60, 90, 120, 150, 180, 365,
    /// 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653. The operator creates the group
    /// with this retention and the owner tag, and puts the retention back when it drifts. A group
    /// that exists without the owner tag is written to and left as it is (reported in plan).
    #[x_kube(validation = Rule::new(retention_rule())
        .message("spec.logging.retentionDays must be one of CloudWatch's periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"))]
    #[serde(default = "default_retention_days")]
    pub retention_days: i32,
}

/// The retention periods CloudWatch Logs accepts: admission's rule and `validate()` both use them.
pub const LOG_RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// CEL: `self` is one of [`LOG_RETENTION_DAYS`].
fn retention_rule() -> String {
    let days: Vec<String> = LOG_RETENTION_DAYS.iter().map(i32::to_string).collect();
    format!("self in [{}]", days.join(", "))
}

fn default_retention_days() -> i32 {
    30
}

/// Child (a tenant account) or Organisation (the central account).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Tier {
    #[default]
    Child,
    Organisation,
}

/// Whether deleting the object deletes AWS resources.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    #[default]
    Retain,
    Delete,
}

/// Whether the operator writes to AWS or only observes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    #[default]
    Manage,
    ObserveOnly,
}

/// Where the tasks and the database run, in one of two forms: `vpc` (the operator builds and owns
/// the tenant's network) or `subnetIds` with `securityGroupIds` (a network that already exists).
/// The form cannot change later.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.vpc) != has(self.subnetIds)")
        .message("spec.network takes either vpc (the operator builds the network) or subnetIds with securityGroupIds (a network that exists), exactly one of them")
        .field_path(".vpc"),
    validation = Rule::new("has(self.subnetIds) == has(self.securityGroupIds)")
        .message("spec.network.subnetIds and spec.network.securityGroupIds go together: name both, or use spec.network.vpc instead")
        .field_path(".securityGroupIds"),
    validation = Rule::new("!has(self.vpc) || !has(self.assignPublicIp) || !self.assignPublicIp")
        .message("spec.network.assignPublicIp does not apply to spec.network.vpc: tasks run in its private subnets and reach AWS through its endpoints or NAT gateways")
        .field_path(".assignPublicIp"),
    validation = Rule::new("has(self.vpc) == has(oldSelf.vpc)")
        .message("spec.network cannot change between the vpc form and the subnetIds form: the database and the services would have to move; create a new DataPlatformAccount instead")
        .field_path(".vpc")
)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// The managed form: the operator creates the VPC, its subnets, gateways, route tables,
    /// endpoints and security groups, and deletes them last under deletionPolicy Delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<VpcSpec>,

    /// The existing form: subnet ids the tasks run in, e.g. subnet-0a1b2c3d. The database's DB
    /// subnet group is made on them too, so they must span at least two availability zones when
    /// spec.database.enabled.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::SUBNET_ID))
        .message("spec.network.subnetIds entries must be subnet ids such as subnet-0a1b2c3d"))]
    #[schemars(length(min = 1, max = 16), inner(length(max = 24)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<String>,

    /// The existing form: security group ids attached to the tasks, e.g. sg-0a1b2c3d. The
    /// operator's database security group admits PostgreSQL (5432) from these groups only.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::SECURITY_GROUP_ID))
        .message("spec.network.securityGroupIds entries must be security group ids such as sg-0a1b2c3d"))]
    #[schemars(length(min = 1, max = 5), inner(length(max = 24)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,

    /// The existing form: give each task a public IP (needed in public subnets without a NAT
    /// gateway to pull images).
    #[serde(default)]
    pub assign_public_ip: bool,

    /// The private DNS name services with a port are reached by, e.g. camden.dataplatform.internal:
    /// a Cloud Map namespace (and Route 53 private zone) in the VPC, where each such service is
    /// `<service>.<dnsNamespace>` (status.services[].address). Default: `<metadata.name>.dataplatform.internal`.
    /// Not under `.local`: Dagster's gRPC client has failed to resolve such names (dagster-io/dagster#19864).
    /// Immutable once made (the namespace is replaced, not renamed).
    #[x_kube(validation = Rule::new(cel_matches(patterns::DNS_NAMESPACE))
        .message("spec.network.dnsNamespace must be a DNS name of two labels or more, lowercase, e.g. camden.dataplatform.internal"))]
    #[x_kube(validation = Rule::new("!self.endsWith('.local')")
        .message("spec.network.dnsNamespace must not end in .local: Dagster's gRPC client fails to resolve such names; use e.g. .internal"))]
    #[schemars(length(min = 3, max = 200))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_namespace: Option<String>,
}

/// A VPC the operator builds: per availability zone a private subnet (tasks, database) and a
/// public subnet (load balancers, NAT gateways), an internet gateway, route tables, the NAT
/// gateways and endpoints asked for, and security groups for the tasks, the database and the
/// endpoints. Subnet ranges are carved from `cidr`: zone i gets the i-th eighth of it as its
/// private subnet and the i-th sixty-fourth of the last eighth as its public one, so adding zones
/// never moves a subnet. Names (the `Name` tag) derive from the object's identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcSpec {
    /// The VPC's IPv4 range, /16 to /22, e.g. 10.20.0.0/16; the address must be the range's
    /// first (10.20.0.0/16, not 10.20.1.0/16). Immutable.
    #[x_kube(
        validation = Rule::new(cel_matches(patterns::IPV4_CIDR)).message("spec.network.vpc.cidr must be an IPv4 range from /16 to /22, e.g. 10.20.0.0/16"),
        validation = Rule::new("self == oldSelf").message("spec.network.vpc.cidr is immutable: a VPC's range cannot change")
    )]
    #[schemars(length(max = 18))]
    pub cidr: String,

    /// How many availability zones (2 to 6), taken in name order from the region's available
    /// zones. May grow, never shrink: a zone holds running tasks and the database.
    #[x_kube(validation = Rule::new("self >= oldSelf").message("spec.network.vpc.availabilityZones may grow but not shrink: a zone's subnets hold running tasks and the database"))]
    #[serde(default = "default_availability_zones")]
    #[schemars(range(min = 2, max = 6))]
    pub availability_zones: i32,

    /// Outbound internet access of the private subnets: None (default; tasks reach only AWS
    /// services through `endpoints`), Single (one NAT gateway, in the first zone) or PerZone (one
    /// per zone, so a zone's outage leaves the others connected). Each NAT gateway has its own
    /// Elastic IP and is billed by the hour.
    #[serde(default)]
    pub nat_gateway: NatGateway,

    /// VPC endpoints, so tasks in private subnets reach AWS services without a NAT gateway: s3 (a
    /// gateway endpoint, free), ecr (the ecr.api and ecr.dkr interface endpoints, to pull images),
    /// logs (CloudWatch Logs), secretsmanager (the secrets ECS injects). Interface endpoints have
    /// private DNS and are billed per zone and hour. Default: [s3].
    #[x_kube(validation = Rule::new("self.all(e, self.exists_one(o, o == e))").message("spec.network.vpc.endpoints lists a service twice"))]
    #[schemars(length(max = 4))]
    #[serde(default = "default_endpoints")]
    pub endpoints: Vec<EndpointService>,
}

/// NAT gateways of a managed VPC.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum NatGateway {
    #[default]
    None,
    Single,
    PerZone,
}

/// An AWS service a managed VPC reaches through an endpoint.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointService {
    S3,
    Ecr,
    Logs,
    Secretsmanager,
}

impl EndpointService {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointService::S3 => "s3",
            EndpointService::Ecr => "ecr",
            EndpointService::Logs => "logs",
            EndpointService::Secretsmanager => "secretsmanager",
        }
    }
}

/// Settings shared by the three buckets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("!has(self.kmsKeyArn) || !has(self.encryption)")
    .message("spec.storage: set either kmsKeyArn (a key you made) or encryption (S3 or Managed), not both")
    .field_path(".encryption"))]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// How the buckets are encrypted when `kmsKeyArn` does not name a key: `S3` (SSE-S3, the
    /// default) or `Managed` (SSE-KMS with a key the operator makes, rotates and, under `Delete`,
    /// schedules for deletion after the buckets are gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BucketEncryption>,

    /// With `encryption: Managed`: the days KMS waits before it deletes the key once the account is
    /// deleted under `deletionPolicy: Delete` (KMS allows 7 to 30).
    #[serde(default = "default_key_deletion_window_days")]
    #[schemars(range(min = 7, max = 30))]
    pub key_deletion_window_days: i32,

    /// Server access logging of the three buckets into a log bucket the operator makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<AccessLogsSpec>,

    /// KMS key for SSE-KMS default encryption of all three buckets (a key you made and manage).
    #[x_kube(validation = Rule::new(cel_matches(patterns::KMS_KEY_ARN))
        .message("spec.storage.kmsKeyArn must be a KMS key ARN such as arn:aws:kms:eu-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab (aliases are not accepted)"))]
    #[schemars(length(max = 256))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,

    /// Keep object versions in all three buckets.
    #[serde(default = "default_true")]
    pub versioning: bool,

    /// Objects in the workspace bucket expire after this many days; 0 keeps them forever.
    #[serde(default = "default_workspace_expiration_days")]
    #[schemars(range(min = 0, max = 3650))]
    pub workspace_expiration_days: i32,
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self {
            encryption: None,
            key_deletion_window_days: default_key_deletion_window_days(),
            access_logs: None,
            kms_key_arn: None,
            versioning: true,
            workspace_expiration_days: default_workspace_expiration_days(),
        }
    }
}

impl StorageSpec {
    /// Whether the operator makes and manages the buckets' KMS key.
    pub fn managed_key(&self) -> bool {
        self.encryption == Some(BucketEncryption::Managed)
    }
}

/// How the buckets are encrypted when no key is named.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum BucketEncryption {
    /// SSE-S3 (AES256): S3's own keys.
    S3,
    /// SSE-KMS with bucket keys, under a key the operator makes for the account.
    Managed,
}

fn default_key_deletion_window_days() -> i32 {
    30
}

/// The log bucket the three buckets' server access logs go to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogsSpec {
    /// Log objects expire after this many days.
    #[serde(default = "default_access_log_retention_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: i32,
}

fn default_access_log_retention_days() -> i32 {
    365
}

/// The Aurora PostgreSQL Serverless v2 cluster (one db.serverless instance).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("!has(self.minCapacity) || !has(self.maxCapacity) || self.minCapacity <= self.maxCapacity")
    .message("spec.database.minCapacity must not exceed spec.database.maxCapacity")
    .field_path(".minCapacity"))]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// Create the database. false means no database in this account.
    #[serde(default = "default_true")]
    pub enabled: bool,

    /// aurora-postgresql engine version, e.g. "16.6".
    #[x_kube(validation = Rule::new(cel_matches(patterns::ENGINE_VERSION))
        .message("spec.database.engineVersion must be an aurora-postgresql version such as \"16.6\""))]
    #[schemars(length(max = 16))]
    #[serde(default = "default_engine_version")]
    pub engine_version: String,

    /// Minimum Aurora Serverless v2 capacity in ACUs, 0 to 256 in steps of 0.5; 0 lets the cluster
    /// pause when idle.
    #[serde(default = "default_min_capacity")]
    #[x_kube(validation = Rule::new(HALF_STEPS).message("spec.database.minCapacity must be in steps of 0.5 ACU, e.g. 0, 0.5, 2 or 4.5"))]
    #[schemars(range(min = 0.0, max = 256.0))]
    pub min_capacity: f64,

    /// Maximum capacity in ACUs, 1 to 256 in steps of 0.5, and at least minCapacity.
    #[serde(default = "default_max_capacity")]
    #[x_kube(validation = Rule::new(HALF_STEPS).message("spec.database.maxCapacity must be in steps of 0.5 ACU, e.g. 1, 2, 4 or 4.5"))]
    #[schemars(range(min = 1.0, max = 256.0))]
    pub max_capacity: f64,

    /// Refuse to delete the cluster. While true, deletionPolicy Delete waits (reason Deleting).
    #[serde(default = "default_true")]
    pub deletion_protection: bool,

    /// Days of automated backups, 1 to 35.
    #[serde(default = "default_backup_retention_days")]
    #[schemars(range(min = 1, max = 35))]
    pub backup_retention_days: i32,
}

impl Default for DatabaseSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            engine_version: default_engine_version(),
            min_capacity: default_min_capacity(),
            max_capacity: default_max_capacity(),
            deletion_protection: true,
            backup_retention_days: default_backup_retention_days(),
        }
    }
}

/// ECR repositories hosted by the organisation account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySpec {
    /// Repository names, e.g. dagster. Every managed Child account may pull from them.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::ECR_REPOSITORY))
        .message("spec.registry.repositories entries must be ECR repository names: lowercase letters and digits, separated by '.', '_', '-' or '/'"))]
    #[schemars(length(min = 1, max = 50), inner(length(min = 2, max = 256)))]
    pub repositories: Vec<String>,

    /// Make image tags immutable (a pushed tag can never point at another image), so what a
    /// tenant's task definition names is what it runs. Default false: tags such as `latest` may be
    /// pushed again. Every image is scanned on push either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable_tags: bool,

    /// The AWS Organization whose accounts may pull (e.g. o-a1b2c3d4e5), by the condition
    /// aws:PrincipalOrgID: the repository policy's pull statement is then the same size however many
    /// Child accounts there are. Without it the statement names every managed Child account, and
    /// ECR's 10,240-character repository policy holds about 290 of them; past that the registry is
    /// refused with QuotaExceeded.
    #[x_kube(validation = Rule::new(cel_matches(patterns::ORGANIZATION_ID)).message("spec.registry.organizationId must be an AWS Organizations id such as o-a1b2c3d4e5"))]
    #[schemars(length(max = 34))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

fn default_true() -> bool {
    true
}
fn default_workspace_expiration_days() -> i32 {
    30
}
fn default_engine_version() -> String {
    "16.6".to_owned()
}
fn default_min_capacity() -> f64 {
    0.5
}
fn default_max_capacity() -> f64 {
    4.0
}
fn default_backup_retention_days() -> i32 {
    7
}
fn default_availability_zones() -> i32 {
    2
}
fn default_endpoints() -> Vec<EndpointService> {
    vec![EndpointService::S3]
}
