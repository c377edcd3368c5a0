//! The AWS writes a plan's actions carry out, one variant per write.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_aws::TagUpdate;
use dataplatform_aws::ecs::{ServiceChanges, ServiceSettings, TaskDefinitionContent};
use dataplatform_aws::elb::{ListenerSettings, RuleConditions, TargetGroupSettings};
use dataplatform_aws::network::Direction;
use dataplatform_aws::rds::{ClusterChanges, ClusterPlacement, ClusterSettings};
use dataplatform_aws::s3::{Encryption, Lifecycle};
use serde_json::Value;

use super::refs::{Ec2Ref, PlannedEndpoint, PlannedRule, SharedDocument, StatementOwner, TaskRevision};

/// One AWS write.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Each EC2 create names what it makes by the resource of its action (`ec2:vpc`), so later ops
    /// of the same plan can refer to the id AWS gives it ([`Ec2Ref::Made`]).
    CreateVpc {
        cidr: String,
        tags: BTreeMap<String, String>,
    },
    EnableVpcDns {
        vpc: Ec2Ref,
    },
    CreateSubnet {
        vpc: Ec2Ref,
        cidr: String,
        zone: String,
        tags: BTreeMap<String, String>,
    },
    CreateInternetGateway {
        tags: BTreeMap<String, String>,
    },
    AttachInternetGateway {
        gateway: Ec2Ref,
        vpc: Ec2Ref,
    },
    CreateRouteTable {
        vpc: Ec2Ref,
        tags: BTreeMap<String, String>,
    },
    PutRoute {
        table: Ec2Ref,
        destination: String,
        target: Ec2Ref,
        replace: bool,
    },
    DeleteRoute {
        table: String,
        destination: String,
    },
    AssociateRouteTable {
        table: Ec2Ref,
        subnet: Ec2Ref,
        /// The subnet's association with another table, moved rather than added.
        existing: Option<String>,
    },
    DisassociateRouteTable {
        association: String,
    },
    AllocateAddress {
        tags: BTreeMap<String, String>,
    },
    ReleaseAddress {
        allocation: String,
    },
    CreateNatGateway {
        subnet: Ec2Ref,
        allocation: Ec2Ref,
        tags: BTreeMap<String, String>,
    },
    DeleteNatGateway {
        nat: String,
    },
    CreateVpcEndpoint {
        vpc: Ec2Ref,
        service: String,
        placement: PlannedEndpoint,
        tags: BTreeMap<String, String>,
    },
    DeleteVpcEndpoint {
        endpoint: String,
    },
    CreateSecurityGroup {
        vpc: Ec2Ref,
        name: String,
        description: String,
        tags: BTreeMap<String, String>,
    },
    /// Authorizes (`revoke: false`) or revokes rules of one direction.
    ChangeRules {
        group: Ec2Ref,
        direction: Direction,
        revoke: bool,
        rules: Vec<PlannedRule>,
    },
    DeleteSecurityGroup {
        group: String,
    },
    DeleteSubnet {
        subnet: String,
    },
    DeleteRouteTable {
        table: String,
    },
    DetachInternetGateway {
        gateway: String,
        vpc: String,
    },
    DeleteInternetGateway {
        gateway: String,
    },
    DeleteVpc {
        vpc: String,
    },
    TagEc2 {
        id: String,
        tags: TagUpdate,
    },
    CreateDbSubnetGroup {
        name: String,
        subnets: Vec<Ec2Ref>,
        tags: BTreeMap<String, String>,
    },
    ModifyDbSubnetGroup {
        name: String,
        subnets: Vec<String>,
    },
    DeleteDbSubnetGroup {
        name: String,
    },
    /// ELB creates, like EC2's, keep the ARN they make under their action's resource.
    CreateLoadBalancer {
        name: String,
        internal: bool,
        subnets: Vec<String>,
        groups: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    SetLoadBalancerSubnets {
        arn: String,
        subnets: Vec<String>,
    },
    SetLoadBalancerGroups {
        arn: String,
        groups: Vec<String>,
    },
    SetIdleTimeout {
        load_balancer: Ec2Ref,
        seconds: i32,
    },
    DeleteLoadBalancer {
        arn: String,
    },
    CreateTargetGroup {
        name: String,
        vpc: String,
        settings: TargetGroupSettings,
        tags: BTreeMap<String, String>,
    },
    ModifyHealthCheck {
        arn: String,
        settings: TargetGroupSettings,
    },
    DeleteTargetGroup {
        arn: String,
    },
    CreateListener {
        load_balancer: Ec2Ref,
        settings: ListenerSettings,
        tags: BTreeMap<String, String>,
    },
    ModifyListener {
        arn: String,
        settings: ListenerSettings,
    },
    DeleteListener {
        arn: String,
    },
    CreateRule {
        listener: Ec2Ref,
        priority: i32,
        conditions: RuleConditions,
        target_group: Ec2Ref,
        tags: BTreeMap<String, String>,
    },
    ModifyRule {
        arn: String,
        conditions: RuleConditions,
        target_group: String,
    },
    SetRulePriority {
        arn: String,
        priority: i32,
    },
    DeleteRule {
        arn: String,
    },
    TagElb {
        arn: String,
        tags: TagUpdate,
    },
    /// Registers the target, or changes its bounds.
    RegisterScalableTarget {
        resource_id: String,
        min: i32,
        max: i32,
    },
    DeregisterScalableTarget {
        resource_id: String,
    },
    PutScheduledAction {
        resource_id: String,
        name: String,
        schedule: String,
        time_zone: String,
        min: i32,
        max: i32,
    },
    DeleteScheduledAction {
        resource_id: String,
        name: String,
    },
    PutCpuPolicy {
        resource_id: String,
        name: String,
        target: f64,
    },
    DeleteScalingPolicy {
        resource_id: String,
        name: String,
    },
    CreateLogGroup {
        name: String,
        tags: BTreeMap<String, String>,
    },
    PutLogRetention {
        name: String,
        days: i32,
    },
    TagLogGroup {
        arn: String,
        tags: TagUpdate,
    },
    DeleteLogGroup {
        name: String,
    },
    CreateBucket {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    PutBucketTags {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    PutBucketEncryption {
        bucket: String,
        encryption: Encryption,
    },
    PutBucketVersioning {
        bucket: String,
        enabled: bool,
    },
    BlockPublicAccess {
        bucket: String,
    },
    EnforceBucketOwner {
        bucket: String,
    },
    PutBucketPolicy {
        bucket: String,
        document: String,
    },
    DeleteBucketPolicy {
        bucket: String,
    },
    PutBucketLifecycle {
        bucket: String,
        lifecycle: Lifecycle,
    },
    DeleteBucket {
        bucket: String,
    },
    CreateRole {
        role: String,
        description: String,
        trust_policy: String,
        tags: BTreeMap<String, String>,
    },
    UpdateTrustPolicy {
        role: String,
        trust_policy: String,
    },
    PutRolePolicy {
        role: String,
        /// The role's own policy is `iam::INLINE_POLICY_NAME`; grants name theirs.
        name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    TagRole {
        role: String,
        tags: TagUpdate,
    },
    DeleteRole {
        role: String,
    },
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
    CreateEcsCluster {
        cluster: String,
        tags: BTreeMap<String, String>,
    },
    PutClusterCapacityProviders {
        cluster: String,
    },
    TagEcsResource {
        arn: String,
        tags: TagUpdate,
    },
    DeleteEcsCluster {
        cluster: String,
    },
    RegisterTaskDefinition {
        content: Box<TaskDefinitionContent>,
        tags: BTreeMap<String, String>,
    },
    DeregisterTaskDefinition {
        arn: String,
    },
    CreateService {
        cluster: String,
        service: String,
        revision: TaskRevision,
        settings: ServiceSettings,
        tags: BTreeMap<String, String>,
    },
    UpdateService {
        cluster: String,
        service: String,
        /// The revision to roll to; `None` leaves the service on the one it runs.
        revision: Option<TaskRevision>,
        changes: ServiceChanges,
    },
    DeleteService {
        cluster: String,
        service: String,
    },
    /// Re-reads the policy of `document` when it runs and replaces only the statements `owner`
    /// owns, so statements written since the plan was made (by people, or by another owner) stay.
    MergePolicyStatements {
        document: SharedDocument,
        owner: StatementOwner,
        statements: Vec<Value>,
    },
    CreateKeyGrant {
        key: String,
        name: String,
        grantee_principal: String,
        operations: BTreeSet<String>,
    },
    RetireKeyGrant {
        key: String,
        grant_id: String,
    },
    CreateRepository {
        repository: String,
        scan_on_push: bool,
        immutable_tags: bool,
        tags: BTreeMap<String, String>,
    },
    PutScanOnPush {
        repository: String,
        scan_on_push: bool,
    },
    PutTagMutability {
        repository: String,
        immutable_tags: bool,
    },
    TagRepository {
        arn: String,
        tags: TagUpdate,
    },
    DeleteRepository {
        repository: String,
    },
}
