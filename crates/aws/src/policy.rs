//! IAM policy documents built from the permission catalogue: what each account's role must allow
//! (one statement per kind of resource), and the trust and permissions of the operator's own role.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::permissions::{ALL, Resource};

/// Which names the per-account role's permissions cover. `None` is any name of that kind (a policy
/// that fits every account); `Some` lists exactly the names one account uses, and an empty list
/// leaves that kind's statement out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyScope {
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub buckets: Option<Vec<String>>,
    /// Role names the operator creates or edits (inline grant policies included); ARNs are kept.
    pub roles: Option<Vec<String>>,
    /// Roles handed to ECS tasks: names or ARNs.
    pub passed_roles: Option<Vec<String>>,
    pub ecs_cluster: Option<Vec<String>>,
    pub db_cluster: Option<Vec<String>>,
    pub db_instance: Option<Vec<String>>,
    pub repositories: Option<Vec<String>>,
    /// KMS key ARNs.
    pub keys: Option<Vec<String>>,
    /// The managed key's alias (`alias/...`), when the account has one (`Some(empty)`: none).
    pub key_aliases: Option<Vec<String>>,
    /// The access-log bucket, when the account has one (`Some(empty)`: none).
    pub log_bucket: Option<Vec<String>>,
    /// The Secrets Manager ARNs of the account's sign-in client secrets.
    pub sign_in_secrets: Option<Vec<String>>,
    /// Whether the operator requests a certificate for the account (`Some(false)`: it does not).
    pub managed_certificates: Option<bool>,
    /// Whether the operator makes a user pool for the account (`Some(false)`: it does not).
    pub user_pools: Option<bool>,
    /// The hosted zone ids of `spec.dns` (`*` for a private zone the operator makes).
    pub dns_zones: Option<Vec<String>>,
    /// DB subnet group names.
    pub db_subnet_group: Option<Vec<String>>,
    /// Whether the account has a network the operator makes (`Some(false)`: none).
    pub network: Option<bool>,
    /// Load balancer names (their listeners and rules go with them).
    pub load_balancers: Option<Vec<String>>,
    /// What the names of the account's target groups start with.
    pub target_group_prefix: Option<String>,
    /// The log group's name.
    pub log_group: Option<Vec<String>>,
    /// Whether the account has Cloud Map names the operator makes (`Some(false)`: none).
    pub discovery: Option<bool>,
}

impl PolicyScope {
    fn account(&self) -> &str {
        self.account_id.as_deref().unwrap_or("*")
    }

    fn region(&self) -> &str {
        self.region.as_deref().unwrap_or("*")
    }

    fn named(&self, names: &Option<Vec<String>>, arn: impl Fn(&str) -> String) -> Vec<String> {
        match names {
            None => vec![arn("*")],
            Some(names) => names
                .iter()
                .map(|name| {
                    if name.starts_with("arn:") {
                        name.clone()
                    } else {
                        arn(name)
                    }
                })
                .collect(),
        }
    }

    /// The ARNs a kind of resource means here; empty when this account has none of it.
    pub fn arns(&self, resource: Resource) -> Vec<String> {
        let (account, region) = (self.account(), self.region());
        let role = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
        match resource {
            Resource::Buckets => self.named(&self.buckets, |b| format!("arn:aws:s3:::{b}")),
            Resource::Roles => self.named(&self.roles, role),
            Resource::PassedRoles => self.named(&self.passed_roles, role),
            Resource::EcsCluster => self.named(&self.ecs_cluster, |c| {
                format!("arn:aws:ecs:{region}:{account}:cluster/{c}")
            }),
            Resource::EcsServices => self.named(&self.ecs_cluster, |c| {
                format!("arn:aws:ecs:{region}:{account}:service/{c}/*")
            }),
            // Task families are the cluster's name and the service's: `<cluster>-<service>`.
            Resource::TaskDefinitions => self.named(&self.ecs_cluster, |c| {
                let family = if c == "*" { "*".to_owned() } else { format!("{c}-*") };
                format!("arn:aws:ecs:{region}:{account}:task-definition/{family}:*")
            }),
            Resource::DbCluster => self.named(&self.db_cluster, |c| {
                format!("arn:aws:rds:{region}:{account}:cluster:{c}")
            }),
            Resource::DbInstance => self.named(&self.db_instance, |i| format!("arn:aws:rds:{region}:{account}:db:{i}")),
            // What exists only beside a database or an ECS cluster goes with it.
            Resource::DbDefaults | Resource::DbSecrets if none(&self.db_cluster) => {
                vec![]
            }
            Resource::DbDefaults => ["subgrp:*", "cluster-pg:*", "pg:*", "og:*"]
                .iter()
                .map(|kind| format!("arn:aws:rds:{region}:{account}:{kind}"))
                .collect(),
            Resource::DbSecrets => vec![format!("arn:aws:secretsmanager:{region}:{account}:secret:rds!*")],
            Resource::Repositories => self.named(&self.repositories, |r| {
                format!("arn:aws:ecr:{region}:{account}:repository/{r}")
            }),
            Resource::Keys => self.named(&self.keys, |k| format!("arn:aws:kms:{region}:{account}:key/{k}")),
            // The ARN as the spec names it, with `*` for the six characters Secrets Manager appends
            // to a secret's name, which a partial ARN leaves out.
            Resource::SignInSecrets => match &self.sign_in_secrets {
                None => vec![format!("arn:aws:secretsmanager:{region}:{account}:secret:*")],
                Some(arns) => arns.iter().map(|arn| format!("{arn}*")).collect(),
            },
            Resource::ManagedCertificates if self.managed_certificates == Some(false) => vec![],
            Resource::ManagedCertificates => vec![format!("arn:aws:acm:{region}:{account}:certificate/*")],
            Resource::UserPools if self.user_pools == Some(false) => vec![],
            Resource::UserPools => vec![format!("arn:aws:cognito-idp:{region}:{account}:userpool/*")],
            Resource::DnsZones => self.named(&self.dns_zones, |id| format!("arn:aws:route53:::hostedzone/{id}")),
            Resource::LogObjects => self.named(&self.log_bucket, |b| format!("arn:aws:s3:::{b}/*")),
            Resource::ManagedKeys if none(&self.key_aliases) => vec![],
            Resource::ManagedKeys => vec![format!("arn:aws:kms:{region}:{account}:key/*")],
            Resource::KeyAliases => self.named(&self.key_aliases, |a| {
                let alias = a.strip_prefix("alias/").unwrap_or(a);
                format!("arn:aws:kms:{region}:{account}:alias/{alias}")
            }),
            // Each goes with the service that makes it.
            Resource::ServiceLinkedRoles => [
                (!none(&self.ecs_cluster)).then(|| role("aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")),
                (!none(&self.db_cluster)).then(|| role("aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS")),
                (!none(&self.ecs_cluster)).then(|| {
                    role("aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService")
                }),
                (!none(&self.load_balancers)).then(|| {
                    role("aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing")
                }),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Resource::Network if self.network == Some(false) => vec![],
            Resource::Network => vec![format!("arn:aws:ec2:{region}:{account}:*")],
            Resource::DbSubnetGroup => self.named(&self.db_subnet_group, |g| {
                format!("arn:aws:rds:{region}:{account}:subgrp:{g}")
            }),
            Resource::LoadBalancers if none(&self.load_balancers) => vec![],
            // One pattern per name covers the balancer, its listeners and their rules
            // (`loadbalancer/app/<name>/..`, `listener/app/<name>/..`, `listener-rule/app/<name>/..`).
            Resource::LoadBalancers => self.named(&self.load_balancers, |n| {
                format!("arn:aws:elasticloadbalancing:{region}:{account}:*/app/{n}/*")
            }),
            Resource::TargetGroups => {
                let prefix = self.target_group_prefix.as_deref().unwrap_or("");
                vec![format!(
                    "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{prefix}*"
                )]
            }
            Resource::ScalableTargets if none(&self.ecs_cluster) => vec![],
            Resource::ScalableTargets => vec![format!("arn:aws:application-autoscaling:{region}:{account}:scalable-target/*")],
            // Target tracking names its alarms `TargetTracking-service/<cluster>/<service>-...`.
            Resource::ScalingAlarms => self.named(&self.ecs_cluster, |c| {
                format!("arn:aws:cloudwatch:{region}:{account}:alarm:TargetTracking-service/{c}/*")
            }),
            Resource::LogGroup => self.named(&self.log_group, |g| {
                format!("arn:aws:logs:{region}:{account}:log-group:{g}")
            }),
            Resource::Discovery if self.discovery == Some(false) => vec![],
            Resource::Discovery => vec![format!("arn:aws:servicediscovery:{region}:{account}:*")],
            Resource::HostedZones if self.discovery == Some(false) => vec![],
            Resource::HostedZones => vec!["arn:aws:route53:::hostedzone/*".to_owned()],
            Resource::Any => vec!["*".to_owned()],
        }
    }
}

/// A scope that lists no name of a kind (as opposed to any name).
fn none(names: &Option<Vec<String>>) -> bool {
    names.as_ref().is_some_and(Vec::is_empty)
}

/// Statement ids say what a statement covers, e.g. `EcsServices`.
fn sid(resource: Resource) -> String {
    format!("{resource:?}")
}

/// The per-account role's permissions: every action of every catalogued operation, one statement
/// per kind of resource.
pub fn account_role_policy(scope: &PolicyScope) -> Value {
    let mut actions: BTreeMap<Resource, BTreeSet<&str>> = BTreeMap::new();
    for permission in ALL.iter().flat_map(|op| op.needs) {
        actions
            .entry(permission.resource)
            .or_default()
            .extend(permission.actions);
    }
    let statements: Vec<Value> = actions
        .into_iter()
        .filter_map(|(resource, actions)| {
            let arns = scope.arns(resource);
            if arns.is_empty() {
                return None;
            }
            let mut statement = json!({
                "Sid": sid(resource),
                "Effect": "Allow",
                "Action": actions,
                "Resource": arns,
            });
            if resource == Resource::PassedRoles {
                statement["Condition"] = json!({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}});
            }
            Some(statement)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Trust policy of an account's role: the operator's role may assume it, with the spec's external
/// id when it has one.
pub fn account_role_trust(operator_role_arn: &str, external_id: Option<&str>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": {"AWS": operator_role_arn},
        "Action": "sts:AssumeRole",
    });
    if let Some(external_id) = external_id {
        statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": external_id}});
    }
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

/// How the operator's pod gets its own role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodCredentials {
    /// IAM Roles for Service Accounts: the cluster's OIDC provider (host and path, no scheme).
    Irsa { oidc_provider: String, account_id: String },
    /// EKS Pod Identity.
    PodIdentity,
}

/// Trust policy of the operator's own role, for the ServiceAccount `namespace/service_account`.
pub fn operator_role_trust(credentials: &PodCredentials, namespace: &str, service_account: &str) -> Value {
    let statement = match credentials {
        PodCredentials::Irsa {
            oidc_provider,
            account_id,
        } => json!({
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{account_id}:oidc-provider/{oidc_provider}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{oidc_provider}:sub"): format!("system:serviceaccount:{namespace}:{service_account}"),
                format!("{oidc_provider}:aud"): "sts.amazonaws.com",
            }},
        }),
        PodCredentials::PodIdentity => json!({
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }},
        }),
    };
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

/// Permissions of the operator's own role: assuming the accounts' roles and nothing else (every
/// other call is made as an account's role).
pub fn operator_role_policy(account_role_arns: &[String]) -> Value {
    let resources: Vec<String> = if account_role_arns.is_empty() {
        vec!["arn:aws:iam::*:role/*".to_owned()]
    } else {
        account_role_arns.to_vec()
    };
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "AssumeAccountRoles",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": resources,
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement<'a>(policy: &'a Value, sid: &str) -> Option<&'a Value> {
        policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid)
    }

    fn actions(policy: &Value) -> BTreeSet<String> {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap())
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_policy_allows_every_catalogued_action_and_nothing_else() {
        let policy = account_role_policy(&PolicyScope::default());
        let catalogued: BTreeSet<String> = ALL
            .iter()
            .flat_map(|op| op.needs)
            .flat_map(|p| p.actions)
            .map(|a| (*a).to_owned())
            .collect();
        assert_eq!(actions(&policy), catalogued);
        assert!(!actions(&policy).iter().any(|a| a.contains('*')), "no wildcard actions");
        assert_eq!(
            statement(&policy, "Buckets").unwrap()["Resource"],
            json!(["arn:aws:s3:::*"])
        );
        assert!(
            actions(&policy).contains("s3:ListBucket"),
            "HeadBucket is s3:ListBucket"
        );
    }

    #[test]
    fn pass_role_is_only_for_ecs_tasks() {
        let policy = account_role_policy(&PolicyScope::default());
        let pass = statement(&policy, "PassedRoles").unwrap();
        assert_eq!(pass["Action"], json!(["iam:PassRole"]));
        assert_eq!(
            pass["Condition"]["StringEquals"]["iam:PassedToService"],
            "ecs-tasks.amazonaws.com"
        );
        let roles = statement(&policy, "Roles").unwrap();
        assert!(!roles["Action"].as_array().unwrap().contains(&json!("iam:PassRole")));
    }

    #[test]
    fn a_scope_names_one_accounts_resources_and_drops_what_it_lacks() {
        let scope = PolicyScope {
            account_id: Some("111111111111".into()),
            region: Some("eu-west-2".into()),
            buckets: Some(vec!["camden-shared-1a2b3c4d".into()]),
            roles: Some(vec!["camden-1a2b3c4d-task".into()]),
            passed_roles: Some(vec!["arn:aws:iam::111111111111:role/byo".into()]),
            ecs_cluster: Some(vec!["camden-1a2b3c4d".into()]),
            db_cluster: Some(vec!["camden-1a2b3c4d-db".into()]),
            db_instance: Some(vec!["camden-1a2b3c4d-db-1".into()]),
            repositories: Some(vec![]),
            keys: Some(vec![]),
            key_aliases: Some(vec![]),
            log_bucket: Some(vec![]),
            dns_zones: Some(vec![]),
            managed_certificates: Some(false),
            user_pools: Some(false),
            sign_in_secrets: Some(vec![
                "arn:aws:secretsmanager:eu-west-2:111111111111:secret:camden/dagster-sign-in-AbCdEf".into(),
            ]),
            db_subnet_group: Some(vec!["camden-1a2b3c4d-db".into()]),
            network: Some(false),
            load_balancers: Some(vec!["camden-1a2b3c4d-int".into()]),
            target_group_prefix: Some("dp1a2b3c4d-".into()),
            log_group: Some(vec![]),
            discovery: Some(false),
        };
        let policy = account_role_policy(&scope);
        assert_eq!(
            statement(&policy, "LoadBalancers").unwrap()["Resource"],
            json!(["arn:aws:elasticloadbalancing:eu-west-2:111111111111:*/app/camden-1a2b3c4d-int/*"])
        );
        assert_eq!(
            statement(&policy, "TargetGroups").unwrap()["Resource"],
            json!(["arn:aws:elasticloadbalancing:eu-west-2:111111111111:targetgroup/dp1a2b3c4d-*"])
        );
        assert!(statement(&policy, "Repositories").is_none());
        assert!(
            statement(&policy, "Network").is_none(),
            "no spec.network: no EC2 writes"
        );
        assert_eq!(
            statement(&policy, "DbSubnetGroup").unwrap()["Resource"],
            json!(["arn:aws:rds:eu-west-2:111111111111:subgrp:camden-1a2b3c4d-db"])
        );
        assert!(statement(&policy, "Keys").is_none());
        assert!(statement(&policy, "ManagedKeys").is_none() && statement(&policy, "KeyAliases").is_none());
        assert!(
            statement(&policy, "UserPools").is_none(),
            "no spec.userPool: no user pool actions"
        );
        let secrets = statement(&policy, "SignInSecrets").unwrap();
        assert_eq!(
            secrets["Resource"],
            json!(["arn:aws:secretsmanager:eu-west-2:111111111111:secret:camden/dagster-sign-in-AbCdEf*"])
        );
        assert_eq!(
            secrets["Action"],
            json!(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"])
        );
        assert_eq!(
            statement(&policy, "Buckets").unwrap()["Resource"],
            json!(["arn:aws:s3:::camden-shared-1a2b3c4d"])
        );
        assert_eq!(
            statement(&policy, "PassedRoles").unwrap()["Resource"],
            json!(["arn:aws:iam::111111111111:role/byo"])
        );
        assert_eq!(
            statement(&policy, "EcsServices").unwrap()["Resource"],
            json!(["arn:aws:ecs:eu-west-2:111111111111:service/camden-1a2b3c4d/*"])
        );
        assert_eq!(
            statement(&policy, "TaskDefinitions").unwrap()["Resource"],
            json!(["arn:aws:ecs:eu-west-2:111111111111:task-definition/camden-1a2b3c4d-*:*"])
        );
    }

    #[test]
    fn no_database_and_no_cluster_take_their_dependants_along() {
        let scope = PolicyScope {
            db_cluster: Some(vec![]),
            db_instance: Some(vec![]),
            ecs_cluster: Some(vec![]),
            ..PolicyScope::default()
        };
        let policy = account_role_policy(&scope);
        for sid in [
            "DbCluster",
            "DbInstance",
            "DbDefaults",
            "DbSecrets",
            "EcsCluster",
            "EcsServices",
            "TaskDefinitions",
        ] {
            assert!(statement(&policy, sid).is_none(), "{sid} without a database or cluster");
        }
        assert!(statement(&policy, "Buckets").is_some());
        assert!(
            statement(&policy, "ServiceLinkedRoles")
                .is_some_and(|s| !s["Resource"].to_string().contains("ecs.amazonaws")),
            "no ECS service-linked role without a cluster"
        );
    }

    #[test]
    fn trust_policies_name_the_operator_and_its_service_account() {
        let trust = account_role_trust("arn:aws:iam::222222222222:role/dataplatform-operator", Some("x-1"));
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            "x-1"
        );
        let irsa = operator_role_trust(
            &PodCredentials::Irsa {
                oidc_provider: "oidc.eks.eu-west-2.amazonaws.com/id/ABC".into(),
                account_id: "222222222222".into(),
            },
            "dataplatform-system",
            "dataplatform-operator",
        );
        assert_eq!(
            irsa["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.eu-west-2.amazonaws.com/id/ABC:sub"],
            "system:serviceaccount:dataplatform-system:dataplatform-operator"
        );
        let pod_identity = operator_role_trust(&PodCredentials::PodIdentity, "ns", "sa");
        assert_eq!(
            pod_identity["Statement"][0]["Principal"]["Service"],
            "pods.eks.amazonaws.com"
        );
        assert_eq!(operator_role_policy(&[])["Statement"][0]["Action"], "sts:AssumeRole");
    }
}
