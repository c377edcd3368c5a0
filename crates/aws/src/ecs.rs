//! ECS on Fargate: the account's cluster, one task-definition family and one service per spec entry.
//! A task definition is read back into the same [`TaskDefinitionContent`] the engine renders, so
//! "does AWS already hold this revision?" is an equality test, across restarts too.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, Compatibility, ContainerDefinition,
    DeploymentCircuitBreaker, DeploymentConfiguration, KeyValuePair, LogConfiguration, LogDriver, NetworkConfiguration,
    NetworkMode, PortMapping, PropagateTags, Secret, Tag, TaskDefinitionStatus,
};
use aws_sdk_ecs::types::{ClusterField, ServiceField, TaskDefinitionField};

use crate::error::{AwsError, ErrorClass, optional};
use crate::permissions as op;
use crate::quotas::{ECS_TASK_DEFINITION, QuotaExceeded};
use crate::session::AccountSession;
use crate::tags::TagUpdate;

const SERVICE: &str = "ecs";
/// DescribeServices takes at most this many services per call.
const DESCRIBE_SERVICES_BATCH: usize = 10;
pub const FARGATE: &str = "FARGATE";
pub const FARGATE_SPOT: &str = "FARGATE_SPOT";
pub const CLUSTER_CAPACITY_PROVIDERS: [&str; 2] = [FARGATE, FARGATE_SPOT];

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterObservation {
    pub name: String,
    pub arn: String,
    pub capacity_providers: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// Everything a revision says about what runs, in a form that compares equal to what we render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDefinitionContent {
    pub family: String,
    /// Task size, e.g. "512" CPU units and "1024" MiB, as ECS stores them.
    pub cpu: String,
    pub memory: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    /// awsvpc networking and Fargate compatibility: always true for what we register.
    pub fargate: bool,
    pub container: ContainerContent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerContent {
    pub name: String,
    pub image: String,
    /// Empty: the image's own command.
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// Variable name → Secrets Manager reference (`valueFrom`), never a value.
    pub secrets: BTreeMap<String, String>,
    pub port: Option<i32>,
    pub log: Option<AwsLogs>,
}

impl TaskDefinitionContent {
    /// The revision as RegisterTaskDefinition's JSON carries it, which ECS's 64 KiB quota on a task
    /// definition's size measures (the same fields we send, compact).
    pub fn request_json(&self) -> String {
        let container = &self.container;
        let pairs = |map: &BTreeMap<String, String>, value: &str| -> Vec<serde_json::Value> {
            map.iter()
                .map(|(k, v)| serde_json::json!({"name": k, value: v}))
                .collect()
        };
        serde_json::json!({
            "family": self.family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": self.cpu, "memory": self.memory,
            "executionRoleArn": self.execution_role_arn, "taskRoleArn": self.task_role_arn,
            "containerDefinitions": [{
                "name": container.name, "image": container.image, "command": container.command,
                "environment": pairs(&container.environment, "value"),
                "secrets": pairs(&container.secrets, "valueFrom"),
                "portMappings": container.port.map(|p| vec![serde_json::json!({"containerPort": p})]),
                "logConfiguration": container.log.as_ref().map(|log| serde_json::json!({"logDriver": "awslogs", "options": {
                    "awslogs-group": log.group, "awslogs-region": log.region,
                    "awslogs-stream-prefix": log.stream_prefix}})),
            }],
        })
        .to_string()
    }

    /// `Err` when the revision would pass ECS's task definition size quota.
    pub fn fits(&self) -> Result<(), QuotaExceeded> {
        ECS_TASK_DEFINITION.check_document(&self.request_json(), &format!("the task definition {}", self.family))
    }

    /// Every field as a plan names it (`image`, `env.KEY`, ...) with its value; `None` when unset.
    /// Destructured without `..`: a field added to the content does not compile until it is
    /// described here, so a plan names every change that equality sees.
    pub fn described_fields(&self) -> Vec<(String, Option<String>)> {
        let Self {
            // The family is the service's own name: it never changes under one service.
            family: _,
            cpu,
            memory,
            execution_role_arn,
            task_role_arn,
            fargate,
            container,
        } = self;
        let ContainerContent {
            name,
            image,
            command,
            environment,
            secrets,
            port,
            log,
        } = container;
        let some = |value: &dyn ToString| Some(value.to_string());
        let mut fields = vec![
            ("image".to_owned(), some(image)),
            ("cpu".to_owned(), some(cpu)),
            ("memory".to_owned(), some(memory)),
            ("command".to_owned(), (!command.is_empty()).then(|| command.join(" "))),
            ("port".to_owned(), port.map(|p| p.to_string())),
            // The group is what people choose; region and prefix follow from the account and name.
            ("logging".to_owned(), log.as_ref().map(AwsLogs::described)),
            ("executionRoleArn".to_owned(), some(execution_role_arn)),
            ("taskRoleArn".to_owned(), some(task_role_arn)),
            ("fargate".to_owned(), some(fargate)),
            ("container".to_owned(), some(name)),
        ];
        fields.extend(environment.iter().map(|(k, v)| (format!("env.{k}"), Some(v.clone()))));
        fields.extend(secrets.iter().map(|(k, v)| (format!("secrets.{k}"), Some(v.clone()))));
        fields
    }
}

/// awslogs driver settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    pub region: String,
    pub stream_prefix: String,
    /// `awslogs-create-group`: ECS makes the group on first use. The operator renders `false` (it
    /// makes the group, and the execution role may not); revisions from before say `true`, so they
    /// differ and are replaced once.
    pub ecs_creates_group: bool,
}

impl AwsLogs {
    fn options(&self) -> BTreeMap<String, String> {
        let mut options = BTreeMap::from([
            ("awslogs-group".to_owned(), self.group.clone()),
            ("awslogs-region".to_owned(), self.region.clone()),
            ("awslogs-stream-prefix".to_owned(), self.stream_prefix.clone()),
        ]);
        if self.ecs_creates_group {
            options.insert("awslogs-create-group".to_owned(), "true".to_owned());
        }
        options
    }

    /// How a plan names the logging: the group, and who makes it when ECS does.
    fn described(&self) -> String {
        if self.ecs_creates_group {
            format!("{} (created by ECS)", self.group)
        } else {
            self.group.clone()
        }
    }
}

/// One ACTIVE revision of a family.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Revision {
    pub number: i32,
    pub arn: String,
}

/// A family's ACTIVE revisions (newest first) and the content and tags of the newest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FamilyObservation {
    pub revisions: Vec<Revision>,
    /// `None` when the newest revision is not one container on Fargate (someone else's shape).
    pub latest: Option<TaskDefinitionContent>,
    pub latest_tags: BTreeMap<String, String>,
}

impl FamilyObservation {
    pub fn latest_arn(&self) -> Option<&str> {
        self.revisions.first().map(|r| r.arn.as_str())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub status: String,
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED; absent where AWS does not report it.
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceObservation {
    pub name: String,
    pub arn: String,
    /// ACTIVE or DRAINING (INACTIVE services are reported as absent).
    pub status: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub task_definition: String,
    /// `None` when AWS does not report a strategy.
    pub capacity_provider: Option<String>,
    pub network: Option<ServiceNetwork>,
    /// The target groups it registers its tasks in.
    pub load_balancers: Vec<ServiceLoadBalancer>,
    /// The Cloud Map services (registry ARNs) it registers its tasks in.
    pub registries: Vec<String>,
    /// `None` when AWS does not report one.
    pub health_check_grace_period: Option<i32>,
    /// `None` when AWS does not report a deployment configuration.
    pub circuit_breaker_with_rollback: Option<bool>,
    pub deployments: Vec<Deployment>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNetwork {
    /// Sorted, so the order people list them in does not matter.
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

impl ServiceNetwork {
    pub fn new(mut subnets: Vec<String>, mut security_groups: Vec<String>, assign_public_ip: bool) -> Self {
        subnets.sort();
        subnets.dedup();
        security_groups.sort();
        security_groups.dedup();
        Self {
            subnets,
            security_groups,
            assign_public_ip,
        }
    }

    fn to_sdk(&self) -> Result<NetworkConfiguration, AwsError> {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(self.subnets.clone()))
            .set_security_groups(Some(self.security_groups.clone()))
            .assign_public_ip(if self.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| AwsError::request(SERVICE, "CreateService", e))?;
        Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    }
}

/// How a service should run, beside its task definition.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSettings {
    pub desired_count: i32,
    /// FARGATE or FARGATE_SPOT.
    pub capacity_provider: String,
    pub network: ServiceNetwork,
    /// The target group the service's tasks are registered in, when it is exposed.
    pub load_balancer: Option<ServiceLoadBalancer>,
    /// Seconds ECS ignores failing load-balancer health checks of a starting task.
    pub health_check_grace_period: Option<i32>,
    /// The Cloud Map service (its ARN) the tasks are registered in, as A records.
    pub registry: Option<String>,
}

/// One target group a service registers its tasks' container port in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceLoadBalancer {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
}

impl ServiceLoadBalancer {
    fn to_sdk(&self) -> aws_sdk_ecs::types::LoadBalancer {
        aws_sdk_ecs::types::LoadBalancer::builder()
            .target_group_arn(&self.target_group_arn)
            .container_name(&self.container_name)
            .container_port(self.container_port)
            .build()
    }
}

/// A Cloud Map service as ECS names it: with awsvpc tasks and A records, the ARN is all it takes.
fn registry(arn: &str) -> aws_sdk_ecs::types::ServiceRegistry {
    aws_sdk_ecs::types::ServiceRegistry::builder().registry_arn(arn).build()
}

/// What to change on an existing service; `None` leaves it alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceChanges {
    pub desired_count: Option<i32>,
    pub capacity_provider: Option<String>,
    pub network: Option<ServiceNetwork>,
    pub circuit_breaker: bool,
    /// The target groups to register in (`Some(vec![])` detaches the service from all).
    pub load_balancers: Option<Vec<ServiceLoadBalancer>>,
    pub health_check_grace_period: Option<i32>,
    /// The Cloud Map services to register in (`Some(vec![])` removes the service from all).
    pub registries: Option<Vec<String>>,
}

pub struct Ecs<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn ecs(&self) -> Ecs<'_> {
        Ecs { session: self }
    }
}

impl Ecs<'_> {
    /// `None` when the cluster does not exist or is INACTIVE (deleted clusters stay visible a while).
    pub async fn observe_cluster(&self, name: &str) -> Result<Option<ClusterObservation>, AwsError> {
        let ecs = self.session.ecs_client();
        let output = self
            .session
            .call(&op::ECS_DESCRIBE_CLUSTERS, || {
                ecs.describe_clusters()
                    .clusters(name)
                    .include(ClusterField::Tags)
                    .send()
            })
            .await?;
        Ok(output
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(name) && c.status() == Some("ACTIVE"))
            .map(|c| ClusterObservation {
                name: name.to_owned(),
                arn: c.cluster_arn().unwrap_or_default().to_owned(),
                capacity_providers: c.capacity_providers().to_vec(),
                tags: from_tags(c.tags()),
            }))
    }

    pub async fn create_cluster(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        let tags = to_tags(tags);
        self.session
            .call(&op::ECS_CREATE_CLUSTER, || {
                ecs.create_cluster()
                    .cluster_name(name)
                    .set_capacity_providers(Some(CLUSTER_CAPACITY_PROVIDERS.map(str::to_owned).to_vec()))
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_cluster_capacity_providers(&self, name: &str) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        self.session
            .call(&op::ECS_PUT_CLUSTER_CAPACITY_PROVIDERS, || {
                ecs.put_cluster_capacity_providers()
                    .cluster(name)
                    .set_capacity_providers(Some(CLUSTER_CAPACITY_PROVIDERS.map(str::to_owned).to_vec()))
                    // Every service names its own strategy; the cluster needs no default.
                    .set_default_capacity_provider_strategy(Some(vec![]))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn retag(&self, arn: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, ecs) = (self.session, &self.session.ecs_client());
        update
            .apply(
                |add| {
                    session.write(&op::ECS_TAG_RESOURCE, move || {
                        ecs.tag_resource()
                            .resource_arn(arn)
                            .set_tags(Some(to_tags(&add)))
                            .send()
                    })
                },
                |remove| {
                    session.write(&op::ECS_UNTAG_RESOURCE, move || {
                        ecs.untag_resource()
                            .resource_arn(arn)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }

    /// Succeeds when the cluster is already gone.
    pub async fn delete_cluster(&self, name: &str) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        self.session
            .delete_if_exists(&op::ECS_DELETE_CLUSTER, || ecs.delete_cluster().cluster(name).send())
            .await
    }

    /// The family's ACTIVE revisions, newest first, and what the newest holds.
    pub async fn observe_family(&self, family: &str) -> Result<FamilyObservation, AwsError> {
        let revisions = self.active_revisions(family).await?;
        let Some(newest) = revisions.first() else {
            return Ok(FamilyObservation::default());
        };
        let ecs = self.session.ecs_client();
        let output = self
            .session
            .call(&op::ECS_DESCRIBE_TASK_DEFINITION, || {
                ecs.describe_task_definition()
                    .task_definition(&newest.arn)
                    .include(TaskDefinitionField::Tags)
                    .send()
            })
            .await?;
        let latest = output.task_definition().and_then(content_of);
        Ok(FamilyObservation {
            latest,
            latest_tags: from_tags(output.tags()),
            revisions,
        })
    }

    async fn active_revisions(&self, family: &str) -> Result<Vec<Revision>, AwsError> {
        let ecs = self.session.ecs_client();
        let mut revisions = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let token = next_token.clone();
            let page = self
                .session
                .call(&op::ECS_LIST_TASK_DEFINITIONS, || {
                    ecs.list_task_definitions()
                        .family_prefix(family)
                        .status(TaskDefinitionStatus::Active)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            // familyPrefix matches by prefix: "x-daemon" would also list "x-daemon-2".
            revisions.extend(page.task_definition_arns().iter().filter_map(|arn| {
                let (arn_family, number) = parse_revision(arn)?;
                (arn_family == family).then(|| Revision {
                    number,
                    arn: arn.clone(),
                })
            }));
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        revisions.sort_by_key(|r| std::cmp::Reverse(r.number));
        Ok(revisions)
    }

    /// Registers `content` as a new revision and returns its ARN. A second RegisterTaskDefinition
    /// would add a second revision, so an answer lost to a transient fault is never simply sent
    /// again: the family's newest revision is read first, and when it is `content` (the lost call
    /// was carried out) its ARN is the answer.
    pub async fn register_task_definition(
        &self,
        content: &TaskDefinitionContent,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let policy = self.session.retry_policy();
        let mut attempt = 1;
        loop {
            match self.register_once(content, tags).await {
                Err(lost) if lost.class == ErrorClass::Retryable && attempt < policy.max_attempts => {
                    tokio::time::sleep(policy.backoff(attempt)).await;
                    let family = self.observe_family(&content.family).await?;
                    if family.latest.as_ref() == Some(content)
                        && let Some(arn) = family.latest_arn()
                    {
                        return Ok(arn.to_owned());
                    }
                    tracing::debug!(family = %content.family, error = %lost, "registering again: the lost call did not land");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn register_once(
        &self,
        content: &TaskDefinitionContent,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        content
            .fits()
            .map_err(|refused| refused.refused("ecs", "RegisterTaskDefinition"))?;
        let ecs = self.session.ecs_client();
        let container = container_definition(&content.container)?;
        let tags = to_tags(tags);
        let output = self
            .session
            .call_not_repeated(&op::ECS_REGISTER_TASK_DEFINITION, || {
                ecs.register_task_definition()
                    .family(&content.family)
                    .network_mode(NetworkMode::Awsvpc)
                    .requires_compatibilities(Compatibility::Fargate)
                    .cpu(&content.cpu)
                    .memory(&content.memory)
                    .execution_role_arn(&content.execution_role_arn)
                    .task_role_arn(&content.task_role_arn)
                    .container_definitions(container.clone())
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        Ok(output
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .unwrap_or_default()
            .to_owned())
    }

    /// Succeeds when the revision is already INACTIVE or gone.
    pub async fn deregister_task_definition(&self, arn: &str) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        self.session
            .delete_if_exists(&op::ECS_DEREGISTER_TASK_DEFINITION, || {
                ecs.deregister_task_definition().task_definition(arn).send()
            })
            .await
    }

    /// Every ACTIVE or DRAINING service in the cluster, ours or not.
    pub async fn observe_services(&self, cluster: &str) -> Result<Vec<ServiceObservation>, AwsError> {
        let ecs = self.session.ecs_client();
        let mut arns = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let token = next_token.clone();
            let page = self
                .session
                .call(&op::ECS_LIST_SERVICES, || {
                    ecs.list_services()
                        .cluster(cluster)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            arns.extend(page.service_arns().iter().cloned());
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        self.services_named(cluster, &arns).await
    }

    /// The services of `cluster` named `names` (names or ARNs), with no ListServices first (a
    /// waiting pass's probe: one read per ten services). Those ECS does not know are left out.
    pub async fn services_named(&self, cluster: &str, names: &[String]) -> Result<Vec<ServiceObservation>, AwsError> {
        let ecs = self.session.ecs_client();
        let mut services = Vec::new();
        for batch in names.chunks(DESCRIBE_SERVICES_BATCH) {
            let output = self
                .session
                .call(&op::ECS_DESCRIBE_SERVICES, || {
                    ecs.describe_services()
                        .cluster(cluster)
                        .set_services(Some(batch.to_vec()))
                        .include(ServiceField::Tags)
                        .send()
                })
                .await?;
            services.extend(
                output
                    .services()
                    .iter()
                    .filter(|s| s.status() != Some("INACTIVE"))
                    .map(service_observation),
            );
        }
        Ok(services)
    }

    /// `task_definition`: the exact revision ARN, so status and drift checks compare like with like.
    pub async fn create_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition: &str,
        settings: &ServiceSettings,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        let network = settings.network.to_sdk()?;
        let strategy = strategy(&settings.capacity_provider)?;
        let breaker = circuit_breaker();
        let tags = to_tags(tags);
        self.session
            .call(&op::ECS_CREATE_SERVICE, || {
                ecs.create_service()
                    .cluster(cluster)
                    .service_name(name)
                    .task_definition(task_definition)
                    .desired_count(settings.desired_count)
                    .capacity_provider_strategy(strategy.clone())
                    .network_configuration(network.clone())
                    .deployment_configuration(breaker.clone())
                    .set_load_balancers(settings.load_balancer.as_ref().map(|lb| vec![lb.to_sdk()]))
                    .set_health_check_grace_period_seconds(
                        settings.load_balancer.as_ref().and(settings.health_check_grace_period),
                    )
                    .set_service_registries(settings.registry.as_deref().map(|arn| vec![registry(arn)]))
                    // Tasks carry the service's tags, so cost reports split by owner.
                    .propagate_tags(PropagateTags::Service)
                    .enable_ecs_managed_tags(true)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    /// `task_definition`: the exact revision ARN to roll to, so status and drift checks compare like
    /// with like; `None` keeps the service's revision.
    pub async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition: Option<&str>,
        changes: &ServiceChanges,
    ) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        let task_definition = task_definition.map(str::to_owned);
        let network = changes.network.as_ref().map(ServiceNetwork::to_sdk).transpose()?;
        let strategy = changes.capacity_provider.as_deref().map(strategy).transpose()?;
        let breaker = changes.circuit_breaker.then(circuit_breaker);
        let load_balancers = changes
            .load_balancers
            .as_ref()
            .map(|all| all.iter().map(ServiceLoadBalancer::to_sdk).collect::<Vec<_>>());
        let registries = changes
            .registries
            .as_ref()
            .map(|all| all.iter().map(|arn| registry(arn)).collect::<Vec<_>>());
        self.session
            .call(&op::ECS_UPDATE_SERVICE, || {
                ecs.update_service()
                    .cluster(cluster)
                    .service(name)
                    .set_task_definition(task_definition.clone())
                    .set_service_registries(registries.clone())
                    .set_desired_count(changes.desired_count)
                    .set_network_configuration(network.clone())
                    .set_capacity_provider_strategy(strategy.clone().map(|s| vec![s]))
                    .set_deployment_configuration(breaker.clone())
                    .set_load_balancers(load_balancers.clone())
                    .set_health_check_grace_period_seconds(changes.health_check_grace_period)
                    // ECS applies a new capacity provider strategy only with a new deployment.
                    .set_force_new_deployment(strategy.is_some().then_some(true))
                    .send()
            })
            .await
            .map(drop)
    }

    /// Scaled to zero first, so ECS stops the tasks in order, then deleted. Succeeds when the
    /// service is already gone.
    pub async fn delete_service(&self, cluster: &str, name: &str) -> Result<(), AwsError> {
        let ecs = self.session.ecs_client();
        let scaled = optional(
            self.session
                .call(&op::ECS_UPDATE_SERVICE, || {
                    ecs.update_service()
                        .cluster(cluster)
                        .service(name)
                        .desired_count(0)
                        .send()
                })
                .await,
        )?;
        if scaled.is_none() {
            return Ok(());
        }
        self.session
            .delete_if_exists(&op::ECS_DELETE_SERVICE, || {
                ecs.delete_service().cluster(cluster).service(name).force(true).send()
            })
            .await
    }
}

/// `family` and revision number of a task-definition ARN (`...:task-definition/family:12`).
pub fn parse_revision(arn: &str) -> Option<(String, i32)> {
    let (family, number) = arn.rsplit('/').next()?.rsplit_once(':')?;
    Some((family.to_owned(), number.parse().ok()?))
}

fn strategy(capacity_provider: &str) -> Result<CapacityProviderStrategyItem, AwsError> {
    CapacityProviderStrategyItem::builder()
        .capacity_provider(capacity_provider)
        .weight(1)
        .build()
        .map_err(|e| AwsError::request(SERVICE, "CreateService", e))
}

fn circuit_breaker() -> DeploymentConfiguration {
    let breaker = DeploymentCircuitBreaker::builder().enable(true).rollback(true).build();
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(breaker)
        .build()
}

fn container_definition(container: &ContainerContent) -> Result<ContainerDefinition, AwsError> {
    let request_error = |e| AwsError::request(SERVICE, "RegisterTaskDefinition", e);
    let secrets = container
        .secrets
        .iter()
        .map(|(name, value_from)| Secret::builder().name(name).value_from(value_from).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(request_error)?;
    let log = match &container.log {
        Some(log) => Some(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .set_options(Some(log.options().into_iter().collect()))
                .build()
                .map_err(request_error)?,
        ),
        None => None,
    };
    Ok(ContainerDefinition::builder()
        .name(&container.name)
        .image(&container.image)
        .essential(true)
        .set_command((!container.command.is_empty()).then(|| container.command.clone()))
        .set_environment(Some(
            container
                .environment
                .iter()
                .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
                .collect(),
        ))
        .set_secrets(Some(secrets))
        .set_port_mappings(
            container
                .port
                .map(|port| vec![PortMapping::builder().container_port(port).build()]),
        )
        .set_log_configuration(log)
        .build())
}

fn content_of(definition: &aws_sdk_ecs::types::TaskDefinition) -> Option<TaskDefinitionContent> {
    let [container] = definition.container_definitions() else {
        return None;
    };
    let log = container.log_configuration().and_then(|log| {
        let options = log.options()?;
        Some(AwsLogs {
            group: options.get("awslogs-group")?.clone(),
            region: options.get("awslogs-region").cloned().unwrap_or_default(),
            stream_prefix: options.get("awslogs-stream-prefix").cloned().unwrap_or_default(),
            ecs_creates_group: options.get("awslogs-create-group").is_some_and(|v| v == "true"),
        })
    });
    Some(TaskDefinitionContent {
        family: definition.family().unwrap_or_default().to_owned(),
        cpu: definition.cpu().unwrap_or_default().to_owned(),
        memory: definition.memory().unwrap_or_default().to_owned(),
        execution_role_arn: definition.execution_role_arn().unwrap_or_default().to_owned(),
        task_role_arn: definition.task_role_arn().unwrap_or_default().to_owned(),
        fargate: definition.network_mode() == Some(&NetworkMode::Awsvpc)
            && definition.requires_compatibilities().contains(&Compatibility::Fargate),
        container: ContainerContent {
            name: container.name().unwrap_or_default().to_owned(),
            image: container.image().unwrap_or_default().to_owned(),
            command: container.command().to_vec(),
            environment: container
                .environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?.to_owned(), kv.value().unwrap_or_default().to_owned())))
                .collect(),
            secrets: container
                .secrets()
                .iter()
                .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
                .collect(),
            port: container.port_mappings().first().and_then(|p| p.container_port()),
            log,
        },
    })
}

fn service_observation(service: &aws_sdk_ecs::types::Service) -> ServiceObservation {
    let network = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|vpc| {
            ServiceNetwork::new(
                vpc.subnets().to_vec(),
                vpc.security_groups().to_vec(),
                vpc.assign_public_ip() == Some(&AssignPublicIp::Enabled),
            )
        });
    let strategy = service.capacity_provider_strategy();
    ServiceObservation {
        name: service.service_name().unwrap_or_default().to_owned(),
        arn: service.service_arn().unwrap_or_default().to_owned(),
        status: service.status().unwrap_or_default().to_owned(),
        desired_count: service.desired_count(),
        running_count: service.running_count(),
        task_definition: service.task_definition().unwrap_or_default().to_owned(),
        capacity_provider: match strategy {
            [] => None,
            [only] => Some(only.capacity_provider().to_owned()),
            // A mixed strategy is not one we set: reported as such so it is put back.
            several => Some(
                several
                    .iter()
                    .map(|s| s.capacity_provider())
                    .collect::<Vec<_>>()
                    .join("+"),
            ),
        },
        network,
        load_balancers: {
            let mut found: Vec<ServiceLoadBalancer> = service
                .load_balancers()
                .iter()
                .map(|lb| ServiceLoadBalancer {
                    target_group_arn: lb.target_group_arn().unwrap_or_default().to_owned(),
                    container_name: lb.container_name().unwrap_or_default().to_owned(),
                    container_port: lb.container_port().unwrap_or_default(),
                })
                .collect();
            found.sort();
            found
        },
        registries: service
            .service_registries()
            .iter()
            .filter_map(|r| r.registry_arn().map(str::to_owned))
            .collect(),
        health_check_grace_period: service.health_check_grace_period_seconds(),
        circuit_breaker_with_rollback: service.deployment_configuration().map(|c| {
            c.deployment_circuit_breaker()
                .is_some_and(|b| b.enable() && b.rollback())
        }),
        deployments: service
            .deployments()
            .iter()
            .map(|d| Deployment {
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
            })
            .collect(),
        tags: from_tags(service.tags()),
    }
}

fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn from_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_read_from_their_arn() {
        assert_eq!(
            parse_revision("arn:aws:ecs:eu-west-2:111111111111:task-definition/acct-1a2b-daemon:12"),
            Some(("acct-1a2b-daemon".to_owned(), 12))
        );
        assert_eq!(parse_revision("acct-1a2b-daemon"), None);
    }

    /// A revision from before the operator made log groups (ECS made them) reads back as such, so
    /// it differs from what the spec renders now and is replaced, and the plan says why.
    #[test]
    fn a_revision_whose_log_group_ecs_creates_differs_from_ours() {
        let content = |ecs_creates_group: bool| ContainerContent {
            name: "daemon".into(),
            image: "dagster:1.9.0".into(),
            command: vec![],
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            port: None,
            log: Some(AwsLogs {
                group: "/dataplatform/camden".into(),
                region: "eu-west-2".into(),
                stream_prefix: "daemon".into(),
                ecs_creates_group,
            }),
        };
        let read_back = |container: &ContainerContent| {
            let definition = aws_sdk_ecs::types::TaskDefinition::builder()
                .container_definitions(container_definition(container).expect("container"))
                .build();
            content_of(&definition).expect("content").container
        };
        let (old, ours) = (read_back(&content(true)), read_back(&content(false)));
        assert_eq!(
            (old.clone(), ours.clone()),
            (content(true), content(false)),
            "both read back as written"
        );
        assert_ne!(old, ours);
        assert_eq!(
            old.log.as_ref().map(AwsLogs::described).as_deref(),
            Some("/dataplatform/camden (created by ECS)")
        );
    }
}
