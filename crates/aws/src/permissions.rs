//! Every AWS operation the adapters call, with the IAM actions it needs and on what. An adapter
//! cannot make a call without naming its entry here (`AccountSession::call` takes an
//! [`Operation`]), and an entry no adapter calls is dead code the build rejects, so the policy
//! `dataplatform-operator iam-policy` prints from [`ALL`] follows the code paths the engine takes.
//!
//! The SDK operation and the IAM action differ in places (HeadBucket is `s3:ListBucket`,
//! GetBucketEncryption is `s3:GetEncryptionConfiguration`); some operations need actions besides
//! their own (tags on create, passing roles to ECS tasks, the secret RDS keeps for the master
//! password, service-linked roles the first cluster creates). Those mappings come from AWS's
//! Service Authorization Reference.

/// What an action is allowed on; [`crate::policy`] turns it into ARNs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Buckets,
    Roles,
    /// The roles handed to ECS tasks (iam:PassRole, only to ecs-tasks.amazonaws.com).
    PassedRoles,
    EcsCluster,
    EcsServices,
    TaskDefinitions,
    DbCluster,
    DbInstance,
    /// Default parameter, option and subnet groups a new cluster or instance is checked against.
    DbDefaults,
    /// The master-password secret RDS creates and deletes (`rds!` prefix).
    DbSecrets,
    Repositories,
    Keys,
    /// The key the operator makes for the buckets: the account's keys in the region (KMS picks the id).
    ManagedKeys,
    /// The managed key's alias.
    KeyAliases,
    /// The objects of the access-log bucket (only it is ever emptied).
    LogObjects,
    /// The client secrets of the account's sign-in rules, by ARN.
    SignInSecrets,
    /// The hosted zone of `spec.dns`: the one named, or (a private zone the operator makes, whose id
    /// Route 53 picks) the account's zones.
    DnsZones,
    /// The certificates the operator requests (ACM picks the id): the account's certificates.
    ManagedCertificates,
    /// The user pool the operator makes (Cognito picks the id): the account's user pools.
    UserPools,
    /// The service-linked roles AWS makes the first time ECS, RDS or ELB is used in an account (one
    /// statement for all three keeps the account role's policy short).
    ServiceLinkedRoles,
    /// The account's EC2 network resources in the region (VPCs, subnets, gateways, route tables,
    /// Elastic IPs, endpoints, security groups): EC2 ids are chosen by AWS, so not by name.
    Network,
    /// The DB subnet groups the operator makes.
    DbSubnetGroup,
    /// The account's Application Load Balancers, by name (and their listeners and rules).
    LoadBalancers,
    /// The account's target groups, by name prefix.
    TargetGroups,
    /// The account's log group (`spec.logging.logGroup`).
    LogGroup,
    /// The account's scalable targets (Application Auto Scaling ids its own).
    ScalableTargets,
    /// The CloudWatch alarms a target-tracking policy makes on the account's ECS services.
    ScalingAlarms,
    /// The account's Cloud Map namespaces and services (ids chosen by AWS, so not by name).
    Discovery,
    /// The Route 53 private zones Cloud Map makes for a namespace (ids chosen by AWS).
    HostedZones,
    /// Actions AWS does not scope to a resource.
    Any,
}

/// Actions on one kind of resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub resource: Resource,
    pub actions: &'static [&'static str],
}

/// One SDK operation: the names the call counter, metrics and errors use, and what IAM must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    pub service: &'static str,
    pub name: &'static str,
    pub needs: &'static [Permission],
}

macro_rules! operations {
    ($( $constant:ident = $service:literal $name:literal { $( $resource:ident: [$($action:literal),* $(,)?] ),* $(,)? } )*) => {
        $(
            pub(crate) const $constant: Operation = Operation {
                service: $service,
                name: $name,
                needs: &[$( Permission { resource: Resource::$resource, actions: &[$($action),*] } ),*],
            };
        )*

        /// Every operation, in catalogue order. Built from the entries themselves rather than the
        /// constants, so a constant no adapter uses still fails the build as dead code.
        pub const ALL: &[Operation] = &[
            $( Operation {
                service: $service,
                name: $name,
                needs: &[$( Permission { resource: Resource::$resource, actions: &[$($action),*] } ),*],
            } ),*
        ];
    };
}

operations! {
    STS_GET_CALLER_IDENTITY = "sts" "GetCallerIdentity" {}

    S3_HEAD_BUCKET = "s3" "HeadBucket" { Buckets: ["s3:ListBucket"] }
    S3_CREATE_BUCKET = "s3" "CreateBucket" { Buckets: ["s3:CreateBucket"] }
    S3_DELETE_BUCKET = "s3" "DeleteBucket" { Buckets: ["s3:DeleteBucket"] }
    S3_LIST_OBJECT_VERSIONS = "s3" "ListObjectVersions" { Buckets: ["s3:ListBucketVersions"] }
    S3_GET_BUCKET_TAGGING = "s3" "GetBucketTagging" { Buckets: ["s3:GetBucketTagging"] }
    S3_PUT_BUCKET_TAGGING = "s3" "PutBucketTagging" { Buckets: ["s3:PutBucketTagging"] }
    S3_GET_BUCKET_ENCRYPTION = "s3" "GetBucketEncryption" { Buckets: ["s3:GetEncryptionConfiguration"] }
    S3_PUT_BUCKET_ENCRYPTION = "s3" "PutBucketEncryption" { Buckets: ["s3:PutEncryptionConfiguration"] }
    S3_GET_BUCKET_VERSIONING = "s3" "GetBucketVersioning" { Buckets: ["s3:GetBucketVersioning"] }
    S3_PUT_BUCKET_VERSIONING = "s3" "PutBucketVersioning" { Buckets: ["s3:PutBucketVersioning"] }
    S3_GET_PUBLIC_ACCESS_BLOCK = "s3" "GetPublicAccessBlock" { Buckets: ["s3:GetBucketPublicAccessBlock"] }
    S3_PUT_PUBLIC_ACCESS_BLOCK = "s3" "PutPublicAccessBlock" { Buckets: ["s3:PutBucketPublicAccessBlock"] }
    S3_GET_BUCKET_OWNERSHIP_CONTROLS = "s3" "GetBucketOwnershipControls" { Buckets: ["s3:GetBucketOwnershipControls"] }
    S3_PUT_BUCKET_OWNERSHIP_CONTROLS = "s3" "PutBucketOwnershipControls" { Buckets: ["s3:PutBucketOwnershipControls"] }
    S3_GET_BUCKET_POLICY = "s3" "GetBucketPolicy" { Buckets: ["s3:GetBucketPolicy"] }
    S3_PUT_BUCKET_POLICY = "s3" "PutBucketPolicy" { Buckets: ["s3:PutBucketPolicy"] }
    S3_DELETE_BUCKET_POLICY = "s3" "DeleteBucketPolicy" { Buckets: ["s3:DeleteBucketPolicy"] }
    S3_GET_BUCKET_LIFECYCLE_CONFIGURATION = "s3" "GetBucketLifecycleConfiguration" { Buckets: ["s3:GetLifecycleConfiguration"] }
    S3_PUT_BUCKET_LIFECYCLE_CONFIGURATION = "s3" "PutBucketLifecycleConfiguration" { Buckets: ["s3:PutLifecycleConfiguration"] }
    S3_DELETE_BUCKET_LIFECYCLE = "s3" "DeleteBucketLifecycle" { Buckets: ["s3:PutLifecycleConfiguration"] }

    IAM_GET_ROLE = "iam" "GetRole" { Roles: ["iam:GetRole"] }
    IAM_CREATE_ROLE = "iam" "CreateRole" { Roles: ["iam:CreateRole", "iam:TagRole"] }
    IAM_DELETE_ROLE = "iam" "DeleteRole" { Roles: ["iam:DeleteRole"] }
    IAM_TAG_ROLE = "iam" "TagRole" { Roles: ["iam:TagRole"] }
    IAM_UNTAG_ROLE = "iam" "UntagRole" { Roles: ["iam:UntagRole"] }
    IAM_UPDATE_ASSUME_ROLE_POLICY = "iam" "UpdateAssumeRolePolicy" { Roles: ["iam:UpdateAssumeRolePolicy"] }
    IAM_LIST_ROLE_POLICIES = "iam" "ListRolePolicies" { Roles: ["iam:ListRolePolicies"] }
    // The account's applied IAM quotas (role policy size), read once per account.
    IAM_GET_ACCOUNT_SUMMARY = "iam" "GetAccountSummary" { Any: ["iam:GetAccountSummary"] }
    IAM_GET_ROLE_POLICY = "iam" "GetRolePolicy" { Roles: ["iam:GetRolePolicy"] }
    IAM_PUT_ROLE_POLICY = "iam" "PutRolePolicy" { Roles: ["iam:PutRolePolicy"] }
    IAM_DELETE_ROLE_POLICY = "iam" "DeleteRolePolicy" { Roles: ["iam:DeleteRolePolicy"] }

    RDS_DESCRIBE_DB_CLUSTERS = "rds" "DescribeDBClusters" { DbCluster: ["rds:DescribeDBClusters"] }
    RDS_DESCRIBE_DB_INSTANCES = "rds" "DescribeDBInstances" { DbInstance: ["rds:DescribeDBInstances"] }
    RDS_CREATE_DB_CLUSTER = "rds" "CreateDBCluster" {
        DbCluster: ["rds:CreateDBCluster", "rds:AddTagsToResource"],
        DbDefaults: ["rds:CreateDBCluster"],
        DbSecrets: ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
        ServiceLinkedRoles: ["iam:CreateServiceLinkedRole"],
    }
    RDS_MODIFY_DB_CLUSTER = "rds" "ModifyDBCluster" { DbCluster: ["rds:ModifyDBCluster"] }
    RDS_DELETE_DB_CLUSTER = "rds" "DeleteDBCluster" {
        DbCluster: ["rds:DeleteDBCluster"],
        DbSecrets: ["secretsmanager:DeleteSecret"],
    }
    RDS_CREATE_DB_INSTANCE = "rds" "CreateDBInstance" {
        DbInstance: ["rds:CreateDBInstance", "rds:AddTagsToResource"],
        DbCluster: ["rds:CreateDBInstance"],
        DbDefaults: ["rds:CreateDBInstance"],
    }
    RDS_DELETE_DB_INSTANCE = "rds" "DeleteDBInstance" { DbInstance: ["rds:DeleteDBInstance"] }
    RDS_ADD_TAGS_TO_RESOURCE = "rds" "AddTagsToResource" {
        DbCluster: ["rds:AddTagsToResource"],
        DbInstance: ["rds:AddTagsToResource"],
        DbSubnetGroup: ["rds:AddTagsToResource"],
    }
    RDS_REMOVE_TAGS_FROM_RESOURCE = "rds" "RemoveTagsFromResource" {
        DbCluster: ["rds:RemoveTagsFromResource"],
        DbInstance: ["rds:RemoveTagsFromResource"],
        DbSubnetGroup: ["rds:RemoveTagsFromResource"],
    }

    RDS_DESCRIBE_DB_SUBNET_GROUPS = "rds" "DescribeDBSubnetGroups" { DbSubnetGroup: ["rds:DescribeDBSubnetGroups"] }
    RDS_LIST_TAGS_FOR_RESOURCE = "rds" "ListTagsForResource" { DbSubnetGroup: ["rds:ListTagsForResource"] }
    RDS_CREATE_DB_SUBNET_GROUP = "rds" "CreateDBSubnetGroup" { DbSubnetGroup: ["rds:CreateDBSubnetGroup", "rds:AddTagsToResource"] }
    RDS_MODIFY_DB_SUBNET_GROUP = "rds" "ModifyDBSubnetGroup" { DbSubnetGroup: ["rds:ModifyDBSubnetGroup"] }
    RDS_DELETE_DB_SUBNET_GROUP = "rds" "DeleteDBSubnetGroup" { DbSubnetGroup: ["rds:DeleteDBSubnetGroup"] }

    AAS_DESCRIBE_SCALABLE_TARGETS = "application-autoscaling" "DescribeScalableTargets" { Any: ["application-autoscaling:DescribeScalableTargets"] }
    AAS_DESCRIBE_SCHEDULED_ACTIONS = "application-autoscaling" "DescribeScheduledActions" { Any: ["application-autoscaling:DescribeScheduledActions"] }
    AAS_DESCRIBE_SCALING_POLICIES = "application-autoscaling" "DescribeScalingPolicies" { Any: ["application-autoscaling:DescribeScalingPolicies"] }
    AAS_REGISTER_SCALABLE_TARGET = "application-autoscaling" "RegisterScalableTarget" {
        ScalableTargets: ["application-autoscaling:RegisterScalableTarget"],
        EcsServices: ["ecs:DescribeServices", "ecs:UpdateService"],
        ServiceLinkedRoles: ["iam:CreateServiceLinkedRole"],
    }
    AAS_DEREGISTER_SCALABLE_TARGET = "application-autoscaling" "DeregisterScalableTarget" { ScalableTargets: ["application-autoscaling:DeregisterScalableTarget"] }
    AAS_PUT_SCHEDULED_ACTION = "application-autoscaling" "PutScheduledAction" { ScalableTargets: ["application-autoscaling:PutScheduledAction"] }
    AAS_DELETE_SCHEDULED_ACTION = "application-autoscaling" "DeleteScheduledAction" { ScalableTargets: ["application-autoscaling:DeleteScheduledAction"] }
    AAS_PUT_SCALING_POLICY = "application-autoscaling" "PutScalingPolicy" {
        ScalableTargets: ["application-autoscaling:PutScalingPolicy"],
        ScalingAlarms: ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
    }
    AAS_DELETE_SCALING_POLICY = "application-autoscaling" "DeleteScalingPolicy" {
        ScalableTargets: ["application-autoscaling:DeleteScalingPolicy"],
        ScalingAlarms: ["cloudwatch:DeleteAlarms"],
    }
    LOGS_DESCRIBE_LOG_GROUPS = "logs" "DescribeLogGroups" { Any: ["logs:DescribeLogGroups"] }
    LOGS_LIST_TAGS_FOR_RESOURCE = "logs" "ListTagsForResource" { LogGroup: ["logs:ListTagsForResource"] }
    LOGS_CREATE_LOG_GROUP = "logs" "CreateLogGroup" { LogGroup: ["logs:CreateLogGroup", "logs:TagResource"] }
    LOGS_PUT_RETENTION_POLICY = "logs" "PutRetentionPolicy" { LogGroup: ["logs:PutRetentionPolicy"] }
    LOGS_TAG_RESOURCE = "logs" "TagResource" { LogGroup: ["logs:TagResource"] }
    LOGS_UNTAG_RESOURCE = "logs" "UntagResource" { LogGroup: ["logs:UntagResource"] }
    LOGS_DELETE_LOG_GROUP = "logs" "DeleteLogGroup" { LogGroup: ["logs:DeleteLogGroup"] }
    ELB_DESCRIBE_LOAD_BALANCERS = "elasticloadbalancing" "DescribeLoadBalancers" { Any: ["elasticloadbalancing:DescribeLoadBalancers"] }
    ELB_DESCRIBE_LOAD_BALANCER_ATTRIBUTES = "elasticloadbalancing" "DescribeLoadBalancerAttributes" { Any: ["elasticloadbalancing:DescribeLoadBalancerAttributes"] }
    ELB_DESCRIBE_TARGET_GROUPS = "elasticloadbalancing" "DescribeTargetGroups" { Any: ["elasticloadbalancing:DescribeTargetGroups"] }
    ELB_DESCRIBE_LISTENERS = "elasticloadbalancing" "DescribeListeners" { Any: ["elasticloadbalancing:DescribeListeners"] }
    ELB_DESCRIBE_RULES = "elasticloadbalancing" "DescribeRules" { Any: ["elasticloadbalancing:DescribeRules"] }
    ELB_DESCRIBE_TAGS = "elasticloadbalancing" "DescribeTags" { Any: ["elasticloadbalancing:DescribeTags"] }
    ELB_CREATE_LOAD_BALANCER = "elasticloadbalancing" "CreateLoadBalancer" {
        LoadBalancers: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:AddTags"],
        ServiceLinkedRoles: ["iam:CreateServiceLinkedRole"],
    }
    ELB_SET_SUBNETS = "elasticloadbalancing" "SetSubnets" { LoadBalancers: ["elasticloadbalancing:SetSubnets"] }
    ELB_SET_SECURITY_GROUPS = "elasticloadbalancing" "SetSecurityGroups" { LoadBalancers: ["elasticloadbalancing:SetSecurityGroups"] }
    ELB_MODIFY_LOAD_BALANCER_ATTRIBUTES = "elasticloadbalancing" "ModifyLoadBalancerAttributes" { LoadBalancers: ["elasticloadbalancing:ModifyLoadBalancerAttributes"] }
    ELB_DELETE_LOAD_BALANCER = "elasticloadbalancing" "DeleteLoadBalancer" { LoadBalancers: ["elasticloadbalancing:DeleteLoadBalancer"] }
    ELB_CREATE_TARGET_GROUP = "elasticloadbalancing" "CreateTargetGroup" { TargetGroups: ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags"] }
    ELB_MODIFY_TARGET_GROUP = "elasticloadbalancing" "ModifyTargetGroup" { TargetGroups: ["elasticloadbalancing:ModifyTargetGroup"] }
    ELB_DELETE_TARGET_GROUP = "elasticloadbalancing" "DeleteTargetGroup" { TargetGroups: ["elasticloadbalancing:DeleteTargetGroup"] }
    ELB_CREATE_LISTENER = "elasticloadbalancing" "CreateListener" { LoadBalancers: ["elasticloadbalancing:CreateListener", "elasticloadbalancing:AddTags"] }
    ELB_MODIFY_LISTENER = "elasticloadbalancing" "ModifyListener" { LoadBalancers: ["elasticloadbalancing:ModifyListener"] }
    ELB_DELETE_LISTENER = "elasticloadbalancing" "DeleteListener" { LoadBalancers: ["elasticloadbalancing:DeleteListener"] }
    ELB_CREATE_RULE = "elasticloadbalancing" "CreateRule" { LoadBalancers: ["elasticloadbalancing:CreateRule", "elasticloadbalancing:AddTags"] }
    ELB_MODIFY_RULE = "elasticloadbalancing" "ModifyRule" { LoadBalancers: ["elasticloadbalancing:ModifyRule"] }
    ELB_SET_RULE_PRIORITIES = "elasticloadbalancing" "SetRulePriorities" { LoadBalancers: ["elasticloadbalancing:SetRulePriorities"] }
    ELB_DELETE_RULE = "elasticloadbalancing" "DeleteRule" { LoadBalancers: ["elasticloadbalancing:DeleteRule"] }
    ELB_ADD_TAGS = "elasticloadbalancing" "AddTags" {
        LoadBalancers: ["elasticloadbalancing:AddTags"],
        TargetGroups: ["elasticloadbalancing:AddTags"],
    }
    ELB_REMOVE_TAGS = "elasticloadbalancing" "RemoveTags" {
        LoadBalancers: ["elasticloadbalancing:RemoveTags"],
        TargetGroups: ["elasticloadbalancing:RemoveTags"],
    }

    // EC2 describes are not scoped to resources; writes are scoped to the account and region.
    EC2_DESCRIBE_AVAILABILITY_ZONES = "ec2" "DescribeAvailabilityZones" { Any: ["ec2:DescribeAvailabilityZones"] }
    EC2_DESCRIBE_VPCS = "ec2" "DescribeVpcs" { Any: ["ec2:DescribeVpcs"] }
    EC2_DESCRIBE_VPC_ATTRIBUTE = "ec2" "DescribeVpcAttribute" { Network: ["ec2:DescribeVpcAttribute"] }
    EC2_DESCRIBE_SUBNETS = "ec2" "DescribeSubnets" { Any: ["ec2:DescribeSubnets"] }
    EC2_DESCRIBE_SECURITY_GROUPS = "ec2" "DescribeSecurityGroups" { Any: ["ec2:DescribeSecurityGroups"] }
    EC2_DESCRIBE_INTERNET_GATEWAYS = "ec2" "DescribeInternetGateways" { Any: ["ec2:DescribeInternetGateways"] }
    EC2_DESCRIBE_ROUTE_TABLES = "ec2" "DescribeRouteTables" { Any: ["ec2:DescribeRouteTables"] }
    EC2_DESCRIBE_NAT_GATEWAYS = "ec2" "DescribeNatGateways" { Any: ["ec2:DescribeNatGateways"] }
    EC2_DESCRIBE_ADDRESSES = "ec2" "DescribeAddresses" { Any: ["ec2:DescribeAddresses"] }
    EC2_DESCRIBE_VPC_ENDPOINTS = "ec2" "DescribeVpcEndpoints" { Any: ["ec2:DescribeVpcEndpoints"] }
    EC2_DESCRIBE_NETWORK_INTERFACES = "ec2" "DescribeNetworkInterfaces" { Any: ["ec2:DescribeNetworkInterfaces"] }
    EC2_CREATE_VPC = "ec2" "CreateVpc" { Network: ["ec2:CreateVpc", "ec2:CreateTags"] }
    EC2_MODIFY_VPC_ATTRIBUTE = "ec2" "ModifyVpcAttribute" { Network: ["ec2:ModifyVpcAttribute"] }
    EC2_DELETE_VPC = "ec2" "DeleteVpc" { Network: ["ec2:DeleteVpc"] }
    EC2_CREATE_SUBNET = "ec2" "CreateSubnet" { Network: ["ec2:CreateSubnet", "ec2:CreateTags"] }
    EC2_DELETE_SUBNET = "ec2" "DeleteSubnet" { Network: ["ec2:DeleteSubnet"] }
    EC2_CREATE_INTERNET_GATEWAY = "ec2" "CreateInternetGateway" { Network: ["ec2:CreateInternetGateway", "ec2:CreateTags"] }
    EC2_ATTACH_INTERNET_GATEWAY = "ec2" "AttachInternetGateway" { Network: ["ec2:AttachInternetGateway"] }
    EC2_DETACH_INTERNET_GATEWAY = "ec2" "DetachInternetGateway" { Network: ["ec2:DetachInternetGateway"] }
    EC2_DELETE_INTERNET_GATEWAY = "ec2" "DeleteInternetGateway" { Network: ["ec2:DeleteInternetGateway"] }
    EC2_CREATE_ROUTE_TABLE = "ec2" "CreateRouteTable" { Network: ["ec2:CreateRouteTable", "ec2:CreateTags"] }
    EC2_DELETE_ROUTE_TABLE = "ec2" "DeleteRouteTable" { Network: ["ec2:DeleteRouteTable"] }
    EC2_CREATE_ROUTE = "ec2" "CreateRoute" { Network: ["ec2:CreateRoute"] }
    EC2_REPLACE_ROUTE = "ec2" "ReplaceRoute" { Network: ["ec2:ReplaceRoute"] }
    EC2_DELETE_ROUTE = "ec2" "DeleteRoute" { Network: ["ec2:DeleteRoute"] }
    EC2_ASSOCIATE_ROUTE_TABLE = "ec2" "AssociateRouteTable" { Network: ["ec2:AssociateRouteTable"] }
    EC2_REPLACE_ROUTE_TABLE_ASSOCIATION = "ec2" "ReplaceRouteTableAssociation" { Network: ["ec2:ReplaceRouteTableAssociation"] }
    EC2_DISASSOCIATE_ROUTE_TABLE = "ec2" "DisassociateRouteTable" { Network: ["ec2:DisassociateRouteTable"] }
    EC2_ALLOCATE_ADDRESS = "ec2" "AllocateAddress" { Network: ["ec2:AllocateAddress", "ec2:CreateTags"] }
    EC2_RELEASE_ADDRESS = "ec2" "ReleaseAddress" { Network: ["ec2:ReleaseAddress"] }
    EC2_CREATE_NAT_GATEWAY = "ec2" "CreateNatGateway" { Network: ["ec2:CreateNatGateway", "ec2:CreateTags"] }
    EC2_DELETE_NAT_GATEWAY = "ec2" "DeleteNatGateway" { Network: ["ec2:DeleteNatGateway"] }
    // Private DNS of an interface endpoint associates the VPC with AWS's hosted zone for the service.
    EC2_CREATE_VPC_ENDPOINT = "ec2" "CreateVpcEndpoint" {
        Network: ["ec2:CreateVpcEndpoint", "ec2:CreateTags"],
        Any: ["route53:AssociateVPCWithHostedZone"],
    }
    EC2_DELETE_VPC_ENDPOINTS = "ec2" "DeleteVpcEndpoints" { Network: ["ec2:DeleteVpcEndpoints"] }
    EC2_CREATE_SECURITY_GROUP = "ec2" "CreateSecurityGroup" { Network: ["ec2:CreateSecurityGroup", "ec2:CreateTags"] }
    EC2_DELETE_SECURITY_GROUP = "ec2" "DeleteSecurityGroup" { Network: ["ec2:DeleteSecurityGroup"] }
    EC2_AUTHORIZE_SECURITY_GROUP_INGRESS = "ec2" "AuthorizeSecurityGroupIngress" { Network: ["ec2:AuthorizeSecurityGroupIngress"] }
    EC2_AUTHORIZE_SECURITY_GROUP_EGRESS = "ec2" "AuthorizeSecurityGroupEgress" { Network: ["ec2:AuthorizeSecurityGroupEgress"] }
    EC2_REVOKE_SECURITY_GROUP_INGRESS = "ec2" "RevokeSecurityGroupIngress" { Network: ["ec2:RevokeSecurityGroupIngress"] }
    EC2_REVOKE_SECURITY_GROUP_EGRESS = "ec2" "RevokeSecurityGroupEgress" { Network: ["ec2:RevokeSecurityGroupEgress"] }
    EC2_CREATE_TAGS = "ec2" "CreateTags" { Network: ["ec2:CreateTags"] }
    EC2_DELETE_TAGS = "ec2" "DeleteTags" { Network: ["ec2:DeleteTags"] }

    ECS_DESCRIBE_CLUSTERS = "ecs" "DescribeClusters" { EcsCluster: ["ecs:DescribeClusters"] }
    ECS_CREATE_CLUSTER = "ecs" "CreateCluster" {
        EcsCluster: ["ecs:CreateCluster", "ecs:TagResource"],
        ServiceLinkedRoles: ["iam:CreateServiceLinkedRole"],
    }
    ECS_PUT_CLUSTER_CAPACITY_PROVIDERS = "ecs" "PutClusterCapacityProviders" { EcsCluster: ["ecs:PutClusterCapacityProviders"] }
    ECS_DELETE_CLUSTER = "ecs" "DeleteCluster" { EcsCluster: ["ecs:DeleteCluster"] }
    ECS_TAG_RESOURCE = "ecs" "TagResource" { EcsCluster: ["ecs:TagResource"], EcsServices: ["ecs:TagResource"] }
    ECS_UNTAG_RESOURCE = "ecs" "UntagResource" { EcsCluster: ["ecs:UntagResource"], EcsServices: ["ecs:UntagResource"] }
    ECS_LIST_SERVICES = "ecs" "ListServices" { Any: ["ecs:ListServices"] }
    ECS_DESCRIBE_SERVICES = "ecs" "DescribeServices" { EcsServices: ["ecs:DescribeServices"] }
    ECS_CREATE_SERVICE = "ecs" "CreateService" { EcsServices: ["ecs:CreateService", "ecs:TagResource"] }
    ECS_UPDATE_SERVICE = "ecs" "UpdateService" { EcsServices: ["ecs:UpdateService"] }
    ECS_DELETE_SERVICE = "ecs" "DeleteService" { EcsServices: ["ecs:DeleteService"] }
    ECS_LIST_TASK_DEFINITIONS = "ecs" "ListTaskDefinitions" { Any: ["ecs:ListTaskDefinitions"] }
    ECS_DESCRIBE_TASK_DEFINITION = "ecs" "DescribeTaskDefinition" { Any: ["ecs:DescribeTaskDefinition"] }
    ECS_REGISTER_TASK_DEFINITION = "ecs" "RegisterTaskDefinition" {
        Any: ["ecs:RegisterTaskDefinition"],
        TaskDefinitions: ["ecs:TagResource"],
        PassedRoles: ["iam:PassRole"],
    }
    ECS_DEREGISTER_TASK_DEFINITION = "ecs" "DeregisterTaskDefinition" { Any: ["ecs:DeregisterTaskDefinition"] }

    // Listed without names (by name fails as a whole when one is missing): not scoped to ours.
    ECR_DESCRIBE_REPOSITORIES = "ecr" "DescribeRepositories" { Any: ["ecr:DescribeRepositories"] }
    ECR_CREATE_REPOSITORY = "ecr" "CreateRepository" { Repositories: ["ecr:CreateRepository", "ecr:TagResource"] }
    ECR_DELETE_REPOSITORY = "ecr" "DeleteRepository" { Repositories: ["ecr:DeleteRepository"] }
    ECR_LIST_IMAGES = "ecr" "ListImages" { Repositories: ["ecr:ListImages"] }
    ECR_LIST_TAGS_FOR_RESOURCE = "ecr" "ListTagsForResource" { Repositories: ["ecr:ListTagsForResource"] }
    ECR_TAG_RESOURCE = "ecr" "TagResource" { Repositories: ["ecr:TagResource"] }
    ECR_UNTAG_RESOURCE = "ecr" "UntagResource" { Repositories: ["ecr:UntagResource"] }
    ECR_PUT_IMAGE_SCANNING_CONFIGURATION = "ecr" "PutImageScanningConfiguration" { Repositories: ["ecr:PutImageScanningConfiguration"] }
    ECR_PUT_IMAGE_TAG_MUTABILITY = "ecr" "PutImageTagMutability" { Repositories: ["ecr:PutImageTagMutability"] }
    ECR_GET_REPOSITORY_POLICY = "ecr" "GetRepositoryPolicy" { Repositories: ["ecr:GetRepositoryPolicy"] }
    ECR_SET_REPOSITORY_POLICY = "ecr" "SetRepositoryPolicy" { Repositories: ["ecr:SetRepositoryPolicy"] }
    ECR_DELETE_REPOSITORY_POLICY = "ecr" "DeleteRepositoryPolicy" { Repositories: ["ecr:DeleteRepositoryPolicy"] }

    // Cloud Map: the namespace's create makes a Route 53 private zone for the VPC, with the
    // actions AWS's Cloud Map API permissions reference lists for CreatePrivateDnsNamespace.
    SD_LIST_NAMESPACES = "servicediscovery" "ListNamespaces" { Any: ["servicediscovery:ListNamespaces"] }
    SD_LIST_SERVICES = "servicediscovery" "ListServices" { Any: ["servicediscovery:ListServices"] }
    // The creates and the tagging calls are not scoped to a resource (the IAM linter's data).
    SD_LIST_TAGS_FOR_RESOURCE = "servicediscovery" "ListTagsForResource" { Any: ["servicediscovery:ListTagsForResource"] }
    SD_CREATE_PRIVATE_DNS_NAMESPACE = "servicediscovery" "CreatePrivateDnsNamespace" {
        Any: [
            "servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:TagResource",
            "route53:CreateHostedZone", "route53:ListHostedZonesByName", "ec2:DescribeVpcs", "ec2:DescribeRegions",
        ],
        HostedZones: ["route53:GetHostedZone"],
    }
    SD_CREATE_SERVICE = "servicediscovery" "CreateService" {
        Discovery: ["servicediscovery:CreateService"],
        Any: ["servicediscovery:TagResource"],
    }
    SD_UPDATE_SERVICE = "servicediscovery" "UpdateService" { Discovery: ["servicediscovery:UpdateService"] }
    SD_DELETE_SERVICE = "servicediscovery" "DeleteService" { Discovery: ["servicediscovery:DeleteService"] }
    SD_DELETE_NAMESPACE = "servicediscovery" "DeleteNamespace" { Discovery: ["servicediscovery:DeleteNamespace"] }
    SD_TAG_RESOURCE = "servicediscovery" "TagResource" { Any: ["servicediscovery:TagResource"] }
    SD_UNTAG_RESOURCE = "servicediscovery" "UntagResource" { Any: ["servicediscovery:UntagResource"] }

    // A sign-in rule's client secret: which version is current every pass, its value only when
    // the rule is written. (A secret under a customer-managed key also needs kms:Decrypt on it,
    // which the key's policy grants.)
    SECRETS_DESCRIBE_SECRET = "secretsmanager" "DescribeSecret" { SignInSecrets: ["secretsmanager:DescribeSecret"] }
    SECRETS_GET_SECRET_VALUE = "secretsmanager" "GetSecretValue" { SignInSecrets: ["secretsmanager:GetSecretValue"] }

    // spec.dns: the records of exposed hosts in a zone the account has, or in a private zone the
    // operator makes for the VPC (whose create needs the VPC actions Route 53's reference lists).
    R53_GET_HOSTED_ZONE = "route53" "GetHostedZone" { DnsZones: ["route53:GetHostedZone"] }
    R53_LIST_HOSTED_ZONES_BY_NAME = "route53" "ListHostedZonesByName" { Any: ["route53:ListHostedZonesByName"] }
    R53_LIST_RESOURCE_RECORD_SETS = "route53" "ListResourceRecordSets" { DnsZones: ["route53:ListResourceRecordSets"] }
    R53_CHANGE_RESOURCE_RECORD_SETS = "route53" "ChangeResourceRecordSets" { DnsZones: ["route53:ChangeResourceRecordSets"] }
    R53_CREATE_HOSTED_ZONE = "route53" "CreateHostedZone" {
        Any: ["route53:CreateHostedZone", "ec2:DescribeVpcs"],
        DnsZones: ["route53:AssociateVPCWithHostedZone"],
    }
    R53_DELETE_HOSTED_ZONE = "route53" "DeleteHostedZone" { DnsZones: ["route53:DeleteHostedZone"] }

    // A certificate the operator requests for the exposed hosts (spec.dns.hostedZoneId without
    // spec.loadBalancer.certificateArn), validated by DNS records in that zone.
    ACM_LIST_CERTIFICATES = "acm" "ListCertificates" { Any: ["acm:ListCertificates"] }
    ACM_DESCRIBE_CERTIFICATE = "acm" "DescribeCertificate" { ManagedCertificates: ["acm:DescribeCertificate"] }
    ACM_LIST_TAGS_FOR_CERTIFICATE = "acm" "ListTagsForCertificate" { ManagedCertificates: ["acm:ListTagsForCertificate"] }
    ACM_REQUEST_CERTIFICATE = "acm" "RequestCertificate" {
        Any: ["acm:RequestCertificate"],
        ManagedCertificates: ["acm:AddTagsToCertificate"],
    }
    ACM_DELETE_CERTIFICATE = "acm" "DeleteCertificate" { ManagedCertificates: ["acm:DeleteCertificate"] }

    // spec.userPool: the Cognito user pool, its domain, SAML provider and app client. The pool's
    // create, list and the domain lookup take no resource; the rest are on the account's pools.
    COGNITO_LIST_USER_POOLS = "cognito-idp" "ListUserPools" { Any: ["cognito-idp:ListUserPools"] }
    COGNITO_DESCRIBE_USER_POOL = "cognito-idp" "DescribeUserPool" { UserPools: ["cognito-idp:DescribeUserPool"] }
    COGNITO_DESCRIBE_USER_POOL_DOMAIN = "cognito-idp" "DescribeUserPoolDomain" { Any: ["cognito-idp:DescribeUserPoolDomain"] }
    COGNITO_LIST_USER_POOL_CLIENTS = "cognito-idp" "ListUserPoolClients" { UserPools: ["cognito-idp:ListUserPoolClients"] }
    COGNITO_DESCRIBE_USER_POOL_CLIENT = "cognito-idp" "DescribeUserPoolClient" { UserPools: ["cognito-idp:DescribeUserPoolClient"] }
    COGNITO_LIST_IDENTITY_PROVIDERS = "cognito-idp" "ListIdentityProviders" { UserPools: ["cognito-idp:ListIdentityProviders"] }
    COGNITO_DESCRIBE_IDENTITY_PROVIDER = "cognito-idp" "DescribeIdentityProvider" { UserPools: ["cognito-idp:DescribeIdentityProvider"] }
    COGNITO_CREATE_USER_POOL = "cognito-idp" "CreateUserPool" { Any: ["cognito-idp:CreateUserPool"] }
    COGNITO_CREATE_USER_POOL_DOMAIN = "cognito-idp" "CreateUserPoolDomain" { UserPools: ["cognito-idp:CreateUserPoolDomain"] }
    COGNITO_DELETE_USER_POOL_DOMAIN = "cognito-idp" "DeleteUserPoolDomain" { UserPools: ["cognito-idp:DeleteUserPoolDomain"] }
    COGNITO_CREATE_IDENTITY_PROVIDER = "cognito-idp" "CreateIdentityProvider" { UserPools: ["cognito-idp:CreateIdentityProvider"] }
    COGNITO_UPDATE_IDENTITY_PROVIDER = "cognito-idp" "UpdateIdentityProvider" { UserPools: ["cognito-idp:UpdateIdentityProvider"] }
    COGNITO_DELETE_IDENTITY_PROVIDER = "cognito-idp" "DeleteIdentityProvider" { UserPools: ["cognito-idp:DeleteIdentityProvider"] }
    COGNITO_CREATE_USER_POOL_CLIENT = "cognito-idp" "CreateUserPoolClient" { UserPools: ["cognito-idp:CreateUserPoolClient"] }
    COGNITO_UPDATE_USER_POOL_CLIENT = "cognito-idp" "UpdateUserPoolClient" { UserPools: ["cognito-idp:UpdateUserPoolClient"] }
    COGNITO_DELETE_USER_POOL_CLIENT = "cognito-idp" "DeleteUserPoolClient" { UserPools: ["cognito-idp:DeleteUserPoolClient"] }
    COGNITO_DELETE_USER_POOL = "cognito-idp" "DeleteUserPool" { UserPools: ["cognito-idp:DeleteUserPool"] }

    KMS_DESCRIBE_KEY = "kms" "DescribeKey" { Keys: ["kms:DescribeKey"] }
    KMS_LIST_GRANTS = "kms" "ListGrants" { Keys: ["kms:ListGrants"] }
    KMS_CREATE_GRANT = "kms" "CreateGrant" { Keys: ["kms:CreateGrant"] }
    KMS_RETIRE_GRANT = "kms" "RetireGrant" { Keys: ["kms:RetireGrant"] }
    // The key the operator makes for an account's buckets (`storage.encryption: Managed`): its id
    // is KMS's choice, so its operations are on the account's keys; its alias is ours.
    KMS_LIST_KEYS = "kms" "ListKeys" { Any: ["kms:ListKeys"] }
    KMS_CREATE_KEY = "kms" "CreateKey" { Any: ["kms:CreateKey"], ManagedKeys: ["kms:TagResource"] }
    KMS_LIST_RESOURCE_TAGS = "kms" "ListResourceTags" { ManagedKeys: ["kms:ListResourceTags"] }
    KMS_GET_KEY_POLICY = "kms" "GetKeyPolicy" { ManagedKeys: ["kms:GetKeyPolicy"] }
    KMS_PUT_KEY_POLICY = "kms" "PutKeyPolicy" { ManagedKeys: ["kms:PutKeyPolicy"] }
    KMS_GET_KEY_ROTATION_STATUS = "kms" "GetKeyRotationStatus" { ManagedKeys: ["kms:GetKeyRotationStatus"] }
    KMS_ENABLE_KEY_ROTATION = "kms" "EnableKeyRotation" { ManagedKeys: ["kms:EnableKeyRotation"] }
    KMS_ENABLE_KEY = "kms" "EnableKey" { ManagedKeys: ["kms:EnableKey"] }
    KMS_CANCEL_KEY_DELETION = "kms" "CancelKeyDeletion" { ManagedKeys: ["kms:CancelKeyDeletion"] }
    KMS_SCHEDULE_KEY_DELETION = "kms" "ScheduleKeyDeletion" { ManagedKeys: ["kms:ScheduleKeyDeletion"] }
    KMS_TAG_RESOURCE = "kms" "TagResource" { ManagedKeys: ["kms:TagResource"] }
    KMS_UNTAG_RESOURCE = "kms" "UntagResource" { ManagedKeys: ["kms:UntagResource"] }
    KMS_CREATE_ALIAS = "kms" "CreateAlias" { ManagedKeys: ["kms:CreateAlias"], KeyAliases: ["kms:CreateAlias"] }
    KMS_DELETE_ALIAS = "kms" "DeleteAlias" { ManagedKeys: ["kms:DeleteAlias"], KeyAliases: ["kms:DeleteAlias"] }

    S3_GET_BUCKET_LOGGING = "s3" "GetBucketLogging" { Buckets: ["s3:GetBucketLogging"] }
    S3_PUT_BUCKET_LOGGING = "s3" "PutBucketLogging" { Buckets: ["s3:PutBucketLogging"] }
    // Only the log bucket's objects, emptied as it goes under `Delete`.
    S3_DELETE_OBJECTS = "s3" "DeleteObjects" { LogObjects: ["s3:DeleteObject", "s3:DeleteObjectVersion"] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_is_listed_once_and_names_its_own_service() {
        let mut seen = std::collections::BTreeSet::new();
        for operation in ALL {
            assert!(
                seen.insert((operation.service, operation.name)),
                "{} {} twice",
                operation.service,
                operation.name
            );
            let own_action = operation
                .needs
                .iter()
                .flat_map(|p| p.actions)
                .any(|action| action.starts_with(&format!("{}:", operation.service)));
            assert!(
                own_action || operation.needs.is_empty(),
                "{} {} needs no action of its own service",
                operation.service,
                operation.name
            );
        }
    }
}
