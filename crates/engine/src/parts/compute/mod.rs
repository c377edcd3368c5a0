//! Compute: an ECS cluster on Fargate (and Fargate Spot), one task definition per service (a new
//! revision only when its content changes) and one service per `spec.services` entry, running as the
//! identity part's roles and connecting to the database part's endpoint when `databaseAccess` asks.

mod attachments;
mod environment;
mod lifecycle;
pub mod model;
mod services;
pub mod writes;

use std::collections::BTreeMap;

use dataplatform_api::SpecProblem;
use dataplatform_api::{Capacity, DataPlatformAccountSpec, DataPlatformAccountStatus, OWNER_TAG};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::ecs::{
    self, AwsLogs, ContainerContent, FARGATE, FARGATE_SPOT, FamilyObservation, ServiceLoadBalancer, ServiceNetwork,
    ServiceSettings, TaskDefinitionContent,
};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::ECS_TASK_DEFINITION;
use dataplatform_aws::{AccountSession, AwsError};
use futures::future::try_join_all;

pub use lifecycle::tasks_settled;
pub use model::failed_rollout;
pub use model::{DesiredCompute, DesiredService, ObservedCompute, revision_text};
pub use services::KEEP_REVISIONS;

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness, tags_used};

pub struct Compute;

impl AccountPart for Compute {
    const PART: Part = Part::Compute;
    type Desired = DesiredCompute;
    type Observed = ObservedCompute;

    fn present(_spec: &DataPlatformAccountSpec) -> bool {
        true
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredCompute {
        let names = &account.names;
        // Where the tasks run comes from the network part's facts (`complete`).
        let network = ServiceNetwork::new(vec![], vec![], false);
        let platform = environment::platform_environment(account, spec);
        let services = spec
            .services
            .iter()
            .map(|service| {
                let family = names.task_family(&service.name);
                let (own_role_env, own_role) = environment::own_role(account, service.launches_runs);
                let template = TaskDefinitionContent {
                    family: family.clone(),
                    cpu: service.cpu.to_string(),
                    memory: service.memory.to_string(),
                    execution_role_arn: account.role_arn(&names.task_execution_role()),
                    task_role_arn: own_role.clone(),
                    fargate: true,
                    container: ContainerContent {
                        name: service.name.clone(),
                        image: service.image.clone(),
                        command: service.command.clone().unwrap_or_default(),
                        environment: service
                            .env
                            .clone()
                            .into_iter()
                            .chain(platform.clone())
                            .chain([(own_role_env, own_role)])
                            .collect(),
                        // References only: ECS reads the values at task start.
                        secrets: service
                            .secrets
                            .iter()
                            .map(|secret| (secret.name.clone(), secret.value_from()))
                            .collect(),
                        port: service.port,
                        log: spec.logging.as_ref().map(|logging| AwsLogs {
                            group: logging.log_group.clone(),
                            region: spec.region.clone(),
                            stream_prefix: service.name.clone(),
                            ecs_creates_group: false,
                        }),
                    },
                };
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
                        // The target group comes from the load-balancer part's facts (`complete`).
                        load_balancer: None,
                        health_check_grace_period: service.expose.as_ref().map(|e| e.health_check_grace_period_seconds),
                        // The Cloud Map service comes from the discovery part's facts (`complete`).
                        registry: None,
                    },
                    exposed_port: service.expose.as_ref().and(service.port),
                    port: service.port,
                    address: None,
                    scaling_bounds: service.scaling.as_ref().map(|s| (s.min_replicas, s.max_replicas)),
                    url: None,
                    sign_in_callback: None,
                    content: (!service.database_access).then(|| template.clone()),
                    failed_revision: None,
                    template,
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

    fn complete(desired: &mut DesiredCompute, facts: &Facts) {
        for service in &mut desired.services {
            if let Some(network) = &facts.tasks_network {
                service.settings.network = network.clone();
                let environment = &mut service.template.container.environment;
                environment.extend(environment::network_environment(network));
            }
            service.connect(facts.database.as_ref());
            if let Some(port) = service.exposed_port {
                service.settings.load_balancer =
                    facts.target_groups.get(&service.name).map(|arn| ServiceLoadBalancer {
                        target_group_arn: arn.clone(),
                        container_name: service.template.container.name.clone(),
                        container_port: port,
                    });
                service.url = facts.service_urls.get(&service.name).cloned();
                service.sign_in_callback = facts.sign_in_callbacks.get(&service.name).cloned();
            }
            if service.port.is_some() {
                service.settings.registry = facts.service_registries.get(&service.name).cloned();
                service.address = facts.service_addresses.get(&service.name).cloned();
            }
        }
    }

    fn facts(desired: &DesiredCompute, observed: &ObservedCompute, facts: &mut Facts) {
        facts.services = desired
            .services
            .iter()
            .filter(|s| observed.service(&s.name).is_some_and(|seen| seen.status == "ACTIVE"))
            .map(|s| s.name.clone())
            .collect();
    }

    async fn observe(
        session: &AccountSession,
        account: &AccountContext,
        desired: &DesiredCompute,
    ) -> Result<ObservedCompute, AwsError> {
        let ecs = session.ecs();
        let families = try_join_all(
            desired
                .services
                .iter()
                .map(|s| async { Ok::<_, AwsError>((s.family.clone(), ecs.observe_family(&s.family).await?)) }),
        );
        let cluster_and_services = async {
            let Some(cluster) = ecs.observe_cluster(&desired.cluster).await? else {
                return Ok::<_, AwsError>((None, vec![]));
            };
            let services = ecs.observe_services(&cluster.name).await?;
            Ok((Some(cluster), services))
        };
        let (families, (cluster, services)) = tokio::try_join!(families, cluster_and_services)?;
        let mut families: BTreeMap<String, FamilyObservation> = families.into_iter().collect();
        // Families of our services that left the spec: their revisions go with them.
        let leftover: Vec<String> = services
            .iter()
            .filter(|s| s.tags.get(OWNER_TAG) == Some(&account.owner))
            .filter_map(|s| ecs::parse_revision(&s.task_definition).map(|(family, _)| family))
            .filter(|family| !families.contains_key(family))
            .collect();
        for family in leftover {
            let observed = ecs.observe_family(&family).await?;
            families.insert(family, observed);
        }
        Ok(ObservedCompute {
            cluster,
            services,
            families,
        })
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredCompute,
        observed: &ObservedCompute,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        services::outcomes(account, desired, observed, owner)
    }

    fn readiness(desired: &DesiredCompute, observed: &ObservedCompute, applied: &Plan, readiness: &mut Readiness) {
        lifecycle::readiness(desired, observed, applied, readiness);
    }

    fn deletion(
        account: &AccountContext,
        desired: &DesiredCompute,
        observed: &ObservedCompute,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        lifecycle::deletion(account, desired, observed)
    }

    fn report(
        _account: &AccountContext,
        desired: &DesiredCompute,
        observed: &ObservedCompute,
        status: &mut DataPlatformAccountStatus,
    ) {
        lifecycle::report(desired, observed, status);
    }

    fn quota_use(account: &AccountContext, observed: &ObservedCompute, used: &mut QuotaUse) {
        for (family, seen) in &observed.families {
            let place = || format!("task definition {family} of {}", account.owner);
            if let Some(latest) = &seen.latest {
                used.document(ECS_TASK_DEFINITION, &latest.request_json(), place);
            }
            tags_used(used, &seen.latest_tags, place);
        }
        for service in &observed.services {
            tags_used(used, &service.tags, || {
                format!("service {} of {}", service.name, account.owner)
            });
        }
    }

    fn policy_scope(account: &AccountContext, _spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        // Observed (and removed) even without services.
        scope.ecs_cluster = Some(vec![account.names.ecs_cluster()]);
    }

    fn remember(desired: &mut Self::Desired, status: Option<&DataPlatformAccountStatus>) {
        desired.remember_failures(status);
    }

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &Self::Desired,
        _observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        vec![]
    }
}

#[cfg(test)]
mod tests;
