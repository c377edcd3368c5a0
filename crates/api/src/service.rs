//! `spec.services[]`: one ECS service on Fargate each, the task definition it runs, the secrets it
//! reads and how it is reached.

use std::collections::BTreeMap;

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exposure::ExposeSpec;
use crate::patterns::{self, cel_all_match, cel_matches};

/// One ECS service on Fargate and the task definition it runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("!has(self.scaling) || !has(self.replicas) || (self.replicas >= self.scaling.minReplicas && self.replicas <= self.scaling.maxReplicas)")
        .message("spec.services[].replicas (the count at creation) must lie within scaling's [minReplicas, maxReplicas]")
        .field_path(".replicas"),
    validation = Rule::new("!has(self.expose) || has(self.port)")
        .message("spec.services[].port is required when the service sets expose: the load balancer forwards to that container port")
        .field_path(".port"),
    validation = Rule::new("!has(self.secrets) || !has(self.env) || self.secrets.all(s, !(s.name in self.env))")
        .message("spec.services[].secrets[].name is also set in env: a variable comes from one place; remove it from env")
        .field_path(".secrets"),
    validation = Rule::new("!has(self.secrets) || !has(self.databaseAccess) || !self.databaseAccess || self.secrets.all(s, !(s.name in ['DAGSTER_PG_HOST', 'DAGSTER_PG_PORT', 'DAGSTER_PG_DB', 'DAGSTER_PG_USERNAME', 'DAGSTER_PG_PASSWORD']))")
        .message("spec.services[].secrets[].name is a DAGSTER_PG_* variable databaseAccess: true sets; choose another name")
        .field_path(".secrets")
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Service name: a DNS-1123 label (lowercase letters, digits and '-'), unique in the list.
    #[x_kube(validation = Rule::new(cel_matches(patterns::DNS_LABEL))
        .message("spec.services[].name must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"))]
    #[schemars(length(min = 1, max = 63))]
    pub name: String,

    /// Container image, e.g. 999999999999.dkr.ecr.eu-west-2.amazonaws.com/dagster:1.9.0, as ECS
    /// takes it: up to 255 letters, digits and - _ : . / # (repository and tag), optionally
    /// followed by @sha256: and the 64 hex digits of a digest.
    /// Changing it rolls the service to a new task-definition revision.
    #[x_kube(validation = Rule::new(cel_matches(patterns::CONTAINER_IMAGE))
        .message("spec.services[].image must be a repository (and tag) of up to 255 letters, digits and -_:./#, optionally followed by @sha256: and 64 hex digits"))]
    #[schemars(length(min = 1, max = 327))]
    pub image: String,

    /// Task CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384. Must form a valid Fargate pair with memory.
    #[schemars(range(min = 256, max = 16384))]
    pub cpu: i32,

    /// Task memory in MiB; must form a valid Fargate pair with cpu (e.g. cpu 256: 512, 1024 or 2048).
    #[schemars(range(min = 512, max = 122880))]
    pub memory: i32,

    /// ECS desiredCount. 0 scales the service to zero; it stays defined and can be scaled up again.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,

    /// Container port, when the service listens on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,

    /// Command that overrides the image's default command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 4096)))]
    pub command: Option<Vec<String>>,

    /// Environment variables of the container. Names under DATAPLATFORM_ are the operator's (what
    /// it tells every service about the platform: docs/dagster.md).
    #[x_kube(validation = Rule::new(cel_all_match(patterns::ENV_NAME))
        .message("spec.services[].env names must be letters, digits and '_', not starting with a digit"))]
    #[x_kube(validation = Rule::new("self.all(x, !x.startsWith('DATAPLATFORM_'))")
        .message("spec.services[].env names under DATAPLATFORM_ are the operator's: choose another name"))]
    #[schemars(extend("maxProperties" = 100))]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,

    /// Spot (FARGATE_SPOT, default, cheaper, may be interrupted) or OnDemand (FARGATE).
    #[serde(default)]
    pub capacity: Capacity,

    /// Connect the container to the account's database: the operator sets DAGSTER_PG_HOST,
    /// DAGSTER_PG_PORT, DAGSTER_PG_DB and DAGSTER_PG_USERNAME, and DAGSTER_PG_PASSWORD as an ECS
    /// secret read from the Secrets Manager master secret at task start (its value never appears
    /// in the task definition). These names may not also be set in env. The service is created
    /// once the database reports its endpoint.
    #[serde(default)]
    pub database_access: bool,

    /// Secrets the container gets as environment variables, read by ECS from Secrets Manager or SSM
    /// Parameter Store at task start: their values never appear in the task definition, in this
    /// object or in the operator. The task-execution role may read exactly these ARNs. Names may not
    /// repeat, nor be set in env, nor be the DAGSTER_PG_* names databaseAccess sets.
    #[x_kube(validation = Rule::new("self.all(s, self.exists_one(o, o.name == s.name))")
        .message("spec.services[].secrets[].name must be unique: two secrets set one variable"))]
    #[schemars(length(max = 20))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRef>,

    /// The service launches Dagster runs as ECS tasks (the daemon; the webserver, which stops them):
    /// it runs as the account's run-launcher role, which has the task role's rights and may also
    /// run and stop tasks in the account's cluster, register their task definitions, pass the task
    /// and task-execution roles to them and read their logs. Other services cannot.
    #[serde(default)]
    pub launches_runs: bool,

    /// Scale between bounds on schedules and CPU with Application Auto Scaling (see its fields);
    /// `replicas` is then the count at creation and must lie within the bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<crate::scaling::ScalingSpec>,

    /// Reach the service through a load balancer (see its fields). Absent (default): the port is
    /// open inside the VPC only to what the security groups let in, and no load balancer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<ExposeSpec>,
}

/// One environment variable read from a secret: a Secrets Manager secret (optionally one key of its
/// JSON) or an SSM parameter, in the account and region this object manages.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("has(self.secretArn) != has(self.parameterArn)")
        .message("spec.services[].secrets[]: set exactly one of secretArn and parameterArn")
        .field_path(".secretArn"),
    validation = Rule::new("!has(self.jsonKey) || has(self.secretArn)")
        .message("spec.services[].secrets[].jsonKey picks a key of a Secrets Manager secret's JSON; it needs secretArn")
        .field_path(".jsonKey")
)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// The environment variable, e.g. DAGSTER_API_KEY.
    #[x_kube(validation = Rule::new(cel_matches(patterns::ENV_NAME))
        .message("spec.services[].secrets[].name must be letters, digits and '_', not starting with a digit"))]
    #[x_kube(validation = Rule::new("!self.startsWith('DATAPLATFORM_')")
        .message("spec.services[].secrets[].name under DATAPLATFORM_ is the operator's: choose another name"))]
    #[schemars(length(min = 1, max = 255))]
    pub name: String,

    /// A Secrets Manager secret's ARN, e.g.
    /// arn:aws:secretsmanager:eu-west-2:111111111111:secret:camden/frontend-AbCdEf.
    #[x_kube(validation = Rule::new(cel_matches(patterns::SECRET_ARN))
        .message("spec.services[].secrets[].secretArn must be a Secrets Manager secret ARN"))]
    #[schemars(length(max = 2048))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,

    /// With secretArn: the key of the secret's JSON to read (default: the whole secret string).
    #[x_kube(validation = Rule::new(cel_matches(patterns::JSON_KEY))
        .message("spec.services[].secrets[].jsonKey must be letters, digits and '_', '.' or '-'"))]
    #[schemars(length(min = 1, max = 255))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_key: Option<String>,

    /// An SSM parameter's ARN, e.g. arn:aws:ssm:eu-west-2:111111111111:parameter/camden/registry-token.
    #[x_kube(validation = Rule::new(cel_matches(patterns::PARAMETER_ARN))
        .message("spec.services[].secrets[].parameterArn must be an SSM parameter ARN"))]
    #[schemars(length(max = 2048))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_arn: Option<String>,
}

impl SecretRef {
    /// The ARN ECS reads, and what the container definition's `valueFrom` says.
    pub fn arn(&self) -> &str {
        self.secret_arn
            .as_deref()
            .or(self.parameter_arn.as_deref())
            .unwrap_or_default()
    }

    pub fn value_from(&self) -> String {
        match (&self.secret_arn, &self.json_key) {
            (Some(arn), Some(key)) => format!("{arn}:{key}::"),
            _ => self.arn().to_owned(),
        }
    }
}

/// Fargate capacity provider of a service.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Capacity {
    #[default]
    Spot,
    OnDemand,
}

fn default_replicas() -> i32 {
    1
}
