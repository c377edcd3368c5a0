//! What the spec wants in AWS, as plain values: a pure function of the object's identity and spec.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::names::{
    AccountNames, BucketPurpose, DATABASE_HOST_ENV, DATABASE_NAME_ENV, DATABASE_PASSWORD_SECRET, DATABASE_PORT_ENV,
    DATABASE_USERNAME_ENV, DENY_INSECURE_TRANSPORT_SID,
};
use dataplatform_api::{Capacity, DataPlatformAccountSpec, OWNER_TAG, owner_tag_value};
use dataplatform_aws::ecs::{
    AwsLogs, ContainerContent, FARGATE, FARGATE_SPOT, ServiceNetwork, ServiceSettings, TaskDefinitionContent,
};
use dataplatform_aws::rds::{self, ClusterObservation, ClusterSettings};
use dataplatform_aws::s3::{Encryption, ExpirationRule};
use serde_json::{Value, json};

use crate::policy;
use crate::registry::DesiredRegistry;

/// The identity of one DataPlatformAccount object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAccount {
    pub account_id: String,
    pub region: String,
    pub partition: &'static str,
    pub owner: String,
    /// Owner tag plus `spec.tags`: what every resource carries.
    pub tags: BTreeMap<String, String>,
    pub buckets: Vec<DesiredBucket>,
    pub roles: Vec<DesiredRole>,
    pub database: Option<DesiredDatabase>,
    pub compute: DesiredCompute,
    /// Organisation accounts with `spec.registry`.
    pub registry: Option<DesiredRegistry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredBucket {
    pub purpose: BucketPurpose,
    pub name: String,
    pub encryption: Encryption,
    pub versioning: bool,
    /// Our TLS-only statement; other statements in the policy belong to others.
    pub tls_statement: Value,
    /// `None`: the bucket has no rule of ours (only the workspace expires objects).
    pub expiration: Option<ExpirationRule>,
}

impl DesiredBucket {
    pub fn arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}", self.name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleKind {
    TaskExecution,
    Task,
}

impl RoleKind {
    pub fn label(self) -> &'static str {
        match self {
            RoleKind::TaskExecution => "task-execution-role",
            RoleKind::Task => "task-role",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            RoleKind::TaskExecution => {
                "dataplatform-operator: lets ECS pull images and read the database secret for the account's tasks"
            }
            RoleKind::Task => {
                "dataplatform-operator: what the account's tasks may do: its three buckets and the database secret"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredRole {
    pub kind: RoleKind,
    pub name: String,
    pub trust_policy: Value,
    pub inline_policy: Value,
}

impl DesiredRole {
    pub fn arn(&self, partition: &str, account_id: &str) -> String {
        format!("arn:{partition}:iam::{account_id}:role/{}", self.name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredDatabase {
    pub cluster: String,
    pub instance: String,
    pub settings: ClusterSettings,
}

/// The ECS cluster and its services. The cluster is made only once there is a service to run; its
/// name is known either way, so services removed from the spec are still found and deleted.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredCompute {
    pub cluster: String,
    pub services: Vec<DesiredService>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredService {
    /// The name in spec.services, and of the ECS service.
    pub name: String,
    pub family: String,
    pub settings: ServiceSettings,
    /// The task definition before the database wiring, which needs the cluster's endpoint.
    pub content: TaskDefinitionContent,
    pub database_access: bool,
}

impl DesiredService {
    /// `resource` in plans and drift: `ecs:daemon`.
    pub fn resource(&self) -> String {
        format!("ecs:{}", self.name)
    }

    /// The full task definition, or `None` while the database it connects to has no endpoint yet.
    pub fn render(&self, database: Option<&ClusterObservation>) -> Option<TaskDefinitionContent> {
        let mut content = self.content.clone();
        if self.database_access {
            let database = database?;
            let (endpoint, port, secret) = (
                database.endpoint.as_ref()?,
                database.port?,
                database.secret_arn.as_ref()?,
            );
            let environment = &mut content.container.environment;
            environment.insert(DATABASE_HOST_ENV.to_owned(), endpoint.clone());
            environment.insert(DATABASE_PORT_ENV.to_owned(), port.to_string());
            environment.insert(DATABASE_NAME_ENV.to_owned(), rds::DATABASE_NAME.to_owned());
            environment.insert(DATABASE_USERNAME_ENV.to_owned(), rds::MASTER_USERNAME.to_owned());
            // A reference into the secret's JSON, resolved by ECS at task start.
            content
                .container
                .secrets
                .insert(DATABASE_PASSWORD_SECRET.to_owned(), format!("{secret}:password::"));
        }
        Some(content)
    }
}

pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl DesiredAccount {
    /// `child_accounts`: ids of the managed Child accounts, whom an Organisation's registry lets pull.
    pub fn new(id: &ObjectId, spec: &DataPlatformAccountSpec, child_accounts: &BTreeSet<String>) -> Self {
        let names = AccountNames::new(&id.namespace, &id.name, &spec.account_id);
        let owner = owner_tag_value(&id.namespace, &id.name);
        let mut tags = spec.tags.clone();
        tags.insert(OWNER_TAG.to_owned(), owner.clone());
        let partition = partition(&spec.region);

        let buckets: Vec<DesiredBucket> = BucketPurpose::ALL
            .into_iter()
            .map(|purpose| {
                let name = names.bucket(purpose);
                let arn = format!("arn:{partition}:s3:::{name}");
                DesiredBucket {
                    purpose,
                    encryption: match &spec.storage.kms_key_arn {
                        Some(key) => Encryption::Kms { key_id: key.clone() },
                        None => Encryption::Aes256,
                    },
                    versioning: spec.storage.versioning,
                    tls_statement: json!({
                        "Sid": DENY_INSECURE_TRANSPORT_SID,
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn.clone(), format!("{arn}/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                    }),
                    expiration: (purpose == BucketPurpose::Workspace && spec.storage.workspace_expiration_days > 0)
                        .then_some(ExpirationRule {
                            days: spec.storage.workspace_expiration_days,
                        }),
                    name,
                }
            })
            .collect();

        let database = spec.database.enabled.then(|| DesiredDatabase {
            cluster: names.db_cluster(),
            instance: names.db_instance(),
            settings: ClusterSettings {
                engine_version: spec.database.engine_version.clone(),
                min_capacity: spec.database.min_capacity,
                max_capacity: spec.database.max_capacity,
                backup_retention_days: spec.database.backup_retention_days,
                deletion_protection: spec.database.deletion_protection,
            },
        });

        let secret_statement = database.as_ref().map(|db| {
            // The secret's name is chosen by RDS; RDS tags it with the cluster's ARN, which we know.
            json!({
                "Sid": "ReadDatabaseSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": format!("arn:{partition}:secretsmanager:{}:{}:secret:rds!cluster-*", spec.region, spec.account_id),
                "Condition": {"StringEquals": {"aws:ResourceTag/aws:rds:primaryDBClusterArn":
                    format!("arn:{partition}:rds:{}:{}:cluster:{}", spec.region, spec.account_id, db.cluster)}}
            })
        });
        let trust_policy = policy::document(vec![json!({
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            // Only ECS acting for this account may use the role (confused-deputy protection).
            "Condition": {"StringEquals": {"aws:SourceAccount": spec.account_id}}
        })]);

        let mut execution_statements = vec![
            json!({"Sid": "AuthenticateToRegistries", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}),
            json!({
                "Sid": "PullImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                // Images come from the organisation account's registry, whose repository policy
                // decides which accounts may pull.
                "Resource": format!("arn:{partition}:ecr:{}:*:repository/*", spec.region)
            }),
        ];
        execution_statements.extend(secret_statement.clone());
        if let Some(logging) = &spec.logging {
            let group = format!(
                "arn:{partition}:logs:{}:{}:log-group:{}",
                spec.region, spec.account_id, logging.log_group
            );
            execution_statements.push(json!({
                "Sid": "WriteContainerLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [group.clone(), format!("{group}:*")]
            }));
        }

        let bucket_arns: Vec<String> = buckets.iter().map(|b| b.arn(partition)).collect();
        let object_arns: Vec<String> = bucket_arns.iter().map(|arn| format!("{arn}/*")).collect();
        let mut task_statements = vec![
            json!({"Sid": "ListAccountBuckets", "Effect": "Allow",
                   "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arns}),
            json!({"Sid": "UseAccountObjects", "Effect": "Allow",
                   "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                   "Resource": object_arns}),
        ];
        task_statements.extend(secret_statement);
        if let Some(key) = &spec.storage.kms_key_arn {
            task_statements.push(json!({"Sid": "UseBucketKey", "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key}));
        }

        let roles = vec![
            DesiredRole {
                kind: RoleKind::TaskExecution,
                name: names.task_execution_role(),
                trust_policy: trust_policy.clone(),
                inline_policy: policy::document(execution_statements),
            },
            DesiredRole {
                kind: RoleKind::Task,
                name: names.task_role(),
                trust_policy,
                inline_policy: policy::document(task_statements),
            },
        ];

        let compute = desired_compute(spec, &names, &roles, partition);

        Self {
            account_id: spec.account_id.clone(),
            region: spec.region.clone(),
            partition,
            owner,
            tags,
            buckets,
            roles,
            database,
            compute,
            registry: DesiredRegistry::new(spec, child_accounts, partition),
        }
    }
}

fn desired_compute(
    spec: &DataPlatformAccountSpec,
    names: &AccountNames,
    roles: &[DesiredRole],
    partition: &str,
) -> DesiredCompute {
    let role_arn = |kind: RoleKind| {
        roles
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.arn(partition, &spec.account_id))
            .unwrap_or_default()
    };
    let network = spec.network.as_ref().map_or_else(
        || ServiceNetwork::new(vec![], vec![], false),
        |n| ServiceNetwork::new(n.subnet_ids.clone(), n.security_group_ids.clone(), n.assign_public_ip),
    );
    let services = spec
        .services
        .iter()
        .map(|service| {
            let family = names.task_family(&service.name);
            DesiredService {
                name: names.ecs_service(&service.name),
                settings: ServiceSettings {
                    desired_count: service.replicas,
                    capacity_provider: match service.capacity {
                        Capacity::Spot => FARGATE_SPOT,
                        Capacity::OnDemand => FARGATE,
                    }
                    .to_owned(),
                    network: network.clone(),
                },
                content: TaskDefinitionContent {
                    family: family.clone(),
                    cpu: service.cpu.to_string(),
                    memory: service.memory.to_string(),
                    execution_role_arn: role_arn(RoleKind::TaskExecution),
                    task_role_arn: role_arn(RoleKind::Task),
                    fargate: true,
                    container: ContainerContent {
                        name: service.name.clone(),
                        image: service.image.clone(),
                        command: service.command.clone().unwrap_or_default(),
                        environment: service.env.clone(),
                        secrets: BTreeMap::new(),
                        port: service.port,
                        log: spec.logging.as_ref().map(|logging| AwsLogs {
                            group: logging.log_group.clone(),
                            region: spec.region.clone(),
                            stream_prefix: service.name.clone(),
                        }),
                    },
                },
                family,
                database_access: service.database_access,
            }
        })
        .collect();
    DesiredCompute {
        cluster: names.ecs_cluster(),
        services,
    }
}
