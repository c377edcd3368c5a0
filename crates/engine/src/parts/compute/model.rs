//! What the compute part wants and finds: the ECS cluster, one service per `spec.services` entry with
//! its task-definition family, and what ECS holds under those names.

use std::collections::BTreeMap;

use dataplatform_api::names::{
    DATABASE_HOST_ENV, DATABASE_NAME_ENV, DATABASE_PASSWORD_SECRET, DATABASE_PORT_ENV, DATABASE_USERNAME_ENV,
};
use dataplatform_aws::ecs::{self, FamilyObservation, ServiceObservation, ServiceSettings, TaskDefinitionContent};
use dataplatform_aws::rds;

use crate::vocabulary::{DatabaseEndpoint, ours};

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
    /// The task definition as the spec gives it, before the database wiring.
    pub template: TaskDefinitionContent,
    pub database_access: bool,
    /// The full task definition: `None` while the database it connects to reports no endpoint.
    pub content: Option<TaskDefinitionContent>,
    /// A revision whose rollout failed, and ECS's reason, as an earlier pass reported it in status.
    pub failed_revision: Option<(String, String)>,
    /// The container port a load balancer forwards to, when the service is exposed.
    pub exposed_port: Option<i32>,
    /// The port the service declares: it is registered in Cloud Map and reached at `address`.
    pub port: Option<i32>,
    /// `host:port` in the account's private DNS namespace, for a service with a port.
    pub address: Option<String>,
    /// Where the exposed service is reached, once its load balancer exists.
    pub url: Option<String>,
    /// With sign-in: the callback URL to register at the identity provider.
    pub sign_in_callback: Option<String>,
    /// With `scaling`: the bounds Application Auto Scaling keeps the count in; the spec's
    /// `replicas` is then only the count at creation.
    pub scaling_bounds: Option<(i32, i32)>,
}

impl DesiredCompute {
    /// Remembers the failed rollouts an earlier pass reported (`status.services[]`), so a revision
    /// ECS rolled back is not pushed again after ECS has forgotten the deployment.
    pub(super) fn remember_failures(&mut self, status: Option<&dataplatform_api::DataPlatformAccountStatus>) {
        let Some(status) = status else {
            return;
        };
        for service in &mut self.services {
            service.failed_revision = status.services.iter().find(|s| s.name == service.name).and_then(|s| {
                Some((
                    s.failed_task_definition_arn.clone()?,
                    s.failed_reason.clone().unwrap_or_default(),
                ))
            });
        }
    }
}

impl DesiredService {
    /// The count the service should have when ECS reports `seen`: the spec's replicas, or with
    /// scaling whatever Application Auto Scaling chose, brought inside the bounds.
    pub fn wanted_count(&self, seen: i32) -> i32 {
        match self.scaling_bounds {
            Some((min, max)) => seen.clamp(min, max),
            None => self.settings.desired_count,
        }
    }

    /// Why `revision` failed to roll out: ECS's deployment says so, or an earlier pass did.
    pub fn rollout_failure<'a>(&'a self, seen: &'a ServiceObservation, revision: &str) -> Option<&'a str> {
        failed_rollout(seen, revision).or_else(|| {
            self.failed_revision
                .as_ref()
                .filter(|(arn, _)| arn == revision)
                .map(|(_, reason)| reason.as_str())
        })
    }

    /// `resource` in plans and drift: `ecs:daemon`.
    pub fn resource(&self) -> String {
        format!("ecs:{}", self.name)
    }

    /// The task definition with the database's host, port, name, user and password reference, for
    /// services with `databaseAccess`.
    pub fn connect(&mut self, database: Option<&DatabaseEndpoint>) {
        if !self.database_access {
            self.content = Some(self.template.clone());
            return;
        }
        self.content = database.map(|database| {
            let mut content = self.template.clone();
            let environment = &mut content.container.environment;
            environment.insert(DATABASE_HOST_ENV.to_owned(), database.host.clone());
            environment.insert(DATABASE_PORT_ENV.to_owned(), database.port.to_string());
            environment.insert(DATABASE_NAME_ENV.to_owned(), rds::DATABASE_NAME.to_owned());
            environment.insert(DATABASE_USERNAME_ENV.to_owned(), rds::MASTER_USERNAME.to_owned());
            // A reference into the secret's JSON, resolved by ECS at task start.
            content.container.secrets.insert(
                DATABASE_PASSWORD_SECRET.to_owned(),
                format!("{}:password::", database.secret_arn),
            );
            content
        });
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedCompute {
    pub cluster: Option<ecs::ClusterObservation>,
    /// Every ACTIVE or DRAINING service in the cluster, including ones no longer in the spec.
    pub services: Vec<ServiceObservation>,
    /// By family: the spec's families, and those of our services that left the spec.
    pub families: BTreeMap<String, FamilyObservation>,
}

impl ObservedCompute {
    pub fn service(&self, name: &str) -> Option<&ServiceObservation> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The family a revision ARN belongs to, when its newest revision carries our owner tag.
    pub fn our_family(&self, owner: &str, revision_arn: &str) -> Option<&FamilyObservation> {
        let (family, _) = ecs::parse_revision(revision_arn)?;
        self.families.get(&family).filter(|f| ours(&f.latest_tags, owner))
    }
}

/// `family:12` for an ARN.
pub fn revision_text(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

/// The deployment of `revision` that the circuit breaker failed, with ECS's reason.
pub fn failed_rollout<'a>(service: &'a ServiceObservation, revision: &str) -> Option<&'a str> {
    service
        .deployments
        .iter()
        .find(|d| d.task_definition == revision && d.rollout_state.as_deref() == Some("FAILED"))
        .map(|d| d.rollout_state_reason.as_deref().unwrap_or("no reason given"))
}
