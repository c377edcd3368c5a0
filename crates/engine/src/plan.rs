//! A plan: the actions that bring AWS to the spec, each with the fields it changes (for people) and
//! the AWS writes that carry it out (for the executor).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use dataplatform_api::names::GrantNames;
use serde_json::Value;

use dataplatform_aws::ecs::{ServiceChanges, ServiceSettings, TaskDefinitionContent};
use dataplatform_aws::elb::{ListenerSettings, RuleConditions, TargetGroupSettings};
use dataplatform_aws::network::Direction;
use dataplatform_aws::rds::{ClusterChanges, ClusterPlacement, ClusterSettings};
use dataplatform_aws::s3::{Encryption, Lifecycle};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Network,
    Storage,
    Identity,
    Database,
    LoadBalancer,
    Compute,
    Registry,
    /// A SharedBucketGrant's statements, KMS grants and grantee policy.
    Grant,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Network => "network",
            Part::Storage => "storage",
            Part::Identity => "identity",
            Part::Database => "database",
            Part::LoadBalancer => "load-balancer",
            Part::Compute => "compute",
            Part::Registry => "registry",
            Part::Grant => "grant",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Update,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl FieldChange {
    pub fn new(field: impl Into<String>, from: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub part: Part,
    /// Service and role of the resource, e.g. `s3:datastore`, `rds:cluster`.
    pub resource: String,
    /// Its AWS name.
    pub name: String,
    pub kind: ActionKind,
    pub changes: Vec<FieldChange>,
    pub ops: Vec<Op>,
}

impl Action {
    /// `s3:datastore.versioning` for each field an update puts right.
    pub fn changed_fields(&self) -> impl Iterator<Item = String> + '_ {
        self.changes
            .iter()
            .filter(move |_| self.kind == ActionKind::Update)
            .map(|c| format!("{}.{}", self.resource, c.field))
    }
}

impl Action {
    pub fn create(part: Part, resource: impl Into<String>, name: impl Into<String>, ops: Vec<Op>) -> Self {
        Self::without_field_changes(part, resource, name, ActionKind::Create, ops)
    }

    pub fn delete(part: Part, resource: impl Into<String>, name: impl Into<String>, ops: Vec<Op>) -> Self {
        Self::without_field_changes(part, resource, name, ActionKind::Delete, ops)
    }

    fn without_field_changes(
        part: Part,
        resource: impl Into<String>,
        name: impl Into<String>,
        kind: ActionKind,
        ops: Vec<Op>,
    ) -> Self {
        Self {
            part,
            resource: resource.into(),
            name: name.into(),
            kind,
            changes: vec![],
            ops,
        }
    }

    /// One line: what happens to which resource (the fields, for an update).
    pub fn summary(&self) -> String {
        match self.kind {
            ActionKind::Update => {
                let fields: Vec<&str> = self.changes.iter().map(|c| c.field.as_str()).collect();
                format!("~ update {} ({}): {}", self.label(), self.name, fields.join(", "))
            }
            _ => self.to_string(),
        }
    }

    /// How people read the resource: `service daemon` for an ECS service (`ecs:daemon`), the
    /// resource id otherwise.
    pub fn label(&self) -> String {
        match self.resource.strip_prefix("ecs:") {
            Some(service) if self.part == Part::Compute && !service.contains(['/', ':']) && service != "cluster" => {
                format!("service {service}")
            }
            _ => self.resource.clone(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ActionKind::Create => write!(f, "+ create {} ({})", self.label(), self.name),
            ActionKind::Delete => write!(f, "- delete {} ({})", self.label(), self.name),
            ActionKind::Update => {
                let label = self.label();
                for (i, change) in self.changes.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "~ update {label}: {} {} -> {}", change.field, change.from, change.to)?;
                }
                Ok(())
            }
        }
    }
}

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
        tags: BTreeMap<String, String>,
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
        tags: BTreeMap<String, String>,
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
        tags: BTreeMap<String, String>,
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
        tags: BTreeMap<String, String>,
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
        tags: BTreeMap<String, String>,
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
        tags: BTreeMap<String, String>,
    },
    DeleteRepository {
        repository: String,
    },
}

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
    /// Every Sid a SharedBucketGrant derives from its namespace/name.
    Grant(GrantNames),
}

impl StatementOwner {
    pub fn owns(&self, sid: &str) -> bool {
        match self {
            StatementOwner::Sid(own) => own == sid,
            StatementOwner::Grant(names) => names.owns_statement(sid),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn writes(&self) -> usize {
        self.actions.iter().map(|a| a.ops.len()).sum()
    }
}

impl Plan {
    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.kind == kind).count()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for action in &self.actions {
            writeln!(f, "{action}")?;
        }
        Ok(())
    }
}
