//! The statements of the roles' inline policies: least privilege, each naming its source.

use dataplatform_api::names::BucketPurpose;
use dataplatform_api::{DataPlatformAccountSpec, Tier};
use serde_json::Value;

use crate::account::AccountContext;
use crate::policy::Statement;

/// Using the key that encrypts the buckets: the spec's, or the operator's once it exists.
pub(super) fn bucket_key_statement(key: &str) -> Value {
    Statement::allow("UseBucketKey")
        .actions(&["kms:Decrypt", "kms:GenerateDataKey"])
        .resource(key.to_owned())
        .build()
}

/// Reading the master password RDS keeps in Secrets Manager. The secret's name is chosen by RDS,
/// which tags it with the cluster's ARN, which we know.
fn database_secret_statement(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Option<Value> {
    spec.database.enabled.then(|| {
        Statement::allow("ReadDatabaseSecret")
            .actions(&["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"])
            .resource(account.arn("secretsmanager", "secret:rds!cluster-*"))
            .condition(
                "StringEquals",
                "aws:ResourceTag/aws:rds:primaryDBClusterArn",
                account.arn("rds", &format!("cluster:{}", account.names.db_cluster())),
            )
            .build()
    })
}

pub(super) fn execution_statements(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Vec<Value> {
    let mut statements = vec![
        Statement::allow("AuthenticateToRegistries")
            .action("ecr:GetAuthorizationToken")
            .resource("*")
            .build(),
        // Images come from the organisation account's registry, whose repository policy decides
        // which accounts may pull.
        Statement::allow("PullImages")
            .actions(&[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ])
            .resource(format!(
                "arn:{}:ecr:{}:*:repository/*",
                account.partition, account.region
            ))
            .build(),
    ];
    statements.extend(database_secret_statement(account, spec));
    statements.extend(service_secrets_statements(spec));
    if let Some(logging) = &spec.logging {
        let group = account.arn("logs", &format!("log-group:{}", logging.log_group));
        statements.push(
            Statement::allow("WriteContainerLogs")
                .actions(&["logs:CreateLogStream", "logs:PutLogEvents"])
                .resources([group.clone(), format!("{group}:*")])
                .build(),
        );
    }
    statements
}

/// Reading exactly the secrets and parameters `services[].secrets` name. A Secrets Manager ARN
/// given without AWS's six-character suffix also matches the secret's full ARN (`-??????`).
fn service_secrets_statements(spec: &DataPlatformAccountSpec) -> Vec<Value> {
    let references = || spec.services.iter().flat_map(|s| &s.secrets);
    let mut secrets: Vec<String> = references()
        .filter_map(|r| r.secret_arn.clone())
        .flat_map(|arn| {
            let named = arn.rsplit(':').next().unwrap_or_default();
            let suffixed = named.rsplit_once('-').is_some_and(|(_, suffix)| suffix.len() == 6);
            let partial = (!suffixed).then(|| format!("{arn}-??????"));
            std::iter::once(arn).chain(partial)
        })
        .collect();
    secrets.sort();
    secrets.dedup();
    let mut parameters: Vec<String> = references().filter_map(|r| r.parameter_arn.clone()).collect();
    parameters.sort();
    parameters.dedup();
    let mut statements = Vec::new();
    if !secrets.is_empty() {
        statements.push(
            Statement::allow("ReadServiceSecrets")
                .action("secretsmanager:GetSecretValue")
                .resources(secrets)
                .build(),
        );
    }
    if !parameters.is_empty() {
        statements.push(
            Statement::allow("ReadServiceParameters")
                .action("ssm:GetParameters")
                .resources(parameters)
                .build(),
        );
    }
    statements
}

pub(super) fn task_statements(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Vec<Value> {
    let buckets: Vec<String> = BucketPurpose::ALL
        .iter()
        .map(|p| account.bucket_arn(&account.names.bucket(*p)))
        .collect();
    let objects: Vec<String> = buckets.iter().map(|arn| format!("{arn}/*")).collect();
    let mut statements = vec![
        Statement::allow("ListAccountBuckets")
            .actions(&["s3:ListBucket", "s3:GetBucketLocation"])
            .resources(buckets)
            .build(),
        Statement::allow("UseAccountObjects")
            .actions(&[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ])
            .resources(objects)
            .build(),
    ];
    statements.extend(database_secret_statement(account, spec));
    if let Some(key) = &spec.storage.kms_key_arn {
        statements.push(bucket_key_statement(key));
    }
    if spec.tier == Tier::Organisation {
        statements.extend(granted_shared_bucket_statements(account));
    }
    statements
}

/// What an Organisation's tasks may do with other accounts' shared buckets, whoever granted it: the
/// identity half of every SharedBucketGrant to this account, in one fixed document. The grantor's
/// bucket policy limits it to the grant's prefixes and access level; cross-account access needs
/// both halves (IAM User Guide, "Cross-account policy evaluation logic"), so this grants nothing a
/// bucket policy does not. Shared buckets are named `<slug>-shared-<8 hex>` (`AccountNames::bucket`);
/// `s3:ResourceAccount` keeps the statement off the account's own buckets, which its own statements
/// cover. The key statement lets S3 use the grantors' bucket keys (their KMS grants name this
/// account), and only through S3.
pub fn granted_shared_bucket_statements(account: &AccountContext) -> Vec<Value> {
    let bucket = format!("arn:{}:s3:::*-shared-????????", account.partition);
    vec![
        Statement::allow("ListGrantedSharedBuckets")
            .action("s3:ListBucket")
            .resource(bucket.clone())
            .condition("StringNotEquals", "s3:ResourceAccount", account.account_id.clone())
            .build(),
        Statement::allow("UseGrantedSharedObjects")
            .actions(&[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ])
            .resource(format!("{bucket}/*"))
            .condition("StringNotEquals", "s3:ResourceAccount", account.account_id.clone())
            .build(),
        Statement::allow("UseGrantedSharedBucketKeys")
            .actions(&["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"])
            .resource(format!("arn:{}:kms:*:*:key/*", account.partition))
            .condition("StringLike", "kms:ViaService", "s3.*.amazonaws.com")
            .build(),
    ]
}

/// What launching Dagster runs as ECS tasks takes (dagster-aws's `EcsRunLauncher`: it registers a
/// run's task definition, runs it in the launcher's cluster, tags, describes, lists and stops it,
/// reads the network interfaces of its own task for the run's network, the secrets tagged
/// `dagster`, and the run's logs; Dagster's ECS deployment guide lists these actions). Each is
/// scoped to the account's cluster, its log group and its own roles where IAM allows a scope.
pub(super) fn run_launcher_statements(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Vec<Value> {
    let cluster = account.arn("ecs", &format!("cluster/{}", account.names.ecs_cluster()));
    let mut statements = vec![
        // RunTask's resource is the task definition; the cluster is a condition.
        Statement::allow("RunTasksInAccountCluster")
            .action("ecs:RunTask")
            .resource(account.arn("ecs", "task-definition/*"))
            .condition("ArnEquals", "ecs:cluster", cluster.clone())
            .build(),
        Statement::allow("ManageRunTasks")
            .actions(&["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"])
            .resource(account.arn("ecs", &format!("task/{}/*", account.names.ecs_cluster())))
            .build(),
        Statement::allow("ListRunTasks")
            .action("ecs:ListTasks")
            .resource("*")
            .condition("ArnEquals", "ecs:cluster", cluster)
            .build(),
        // Not scoped by IAM to a resource.
        Statement::allow("RegisterRunTaskDefinitions")
            .actions(&[
                "ecs:RegisterTaskDefinition",
                "ecs:DescribeTaskDefinition",
                "ecs:ListAccountSettings",
                "ec2:DescribeNetworkInterfaces",
                "secretsmanager:ListSecrets",
            ])
            .resource("*")
            .build(),
        Statement::allow("ReadRunSecrets")
            .actions(&["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"])
            .resource(account.arn("secretsmanager", "secret:*"))
            .condition("Null", "aws:ResourceTag/dagster", "false".to_owned())
            .build(),
        // Only to ECS tasks, and only the account's two task roles.
        Statement::allow("PassRunRoles")
            .action("iam:PassRole")
            .resources([
                account.role_arn(&account.names.task_role()),
                account.role_arn(&account.names.task_execution_role()),
            ])
            .condition(
                "StringEquals",
                "iam:PassedToService",
                "ecs-tasks.amazonaws.com".to_owned(),
            )
            .build(),
    ];
    if let Some(logging) = &spec.logging {
        let group = account.arn("logs", &format!("log-group:{}", logging.log_group));
        statements.push(
            Statement::allow("ReadRunLogs")
                .action("logs:GetLogEvents")
                .resource(format!("{group}:log-stream:*"))
                .build(),
        );
    }
    statements
}
