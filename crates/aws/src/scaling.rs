//! Application Auto Scaling on ECS services' desired count: the scalable targets, their scheduled
//! actions and scaling policies, read by the services' resource ids (`service/<cluster>/<name>`).

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTargetAction, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use crate::error::AwsError;
use crate::permissions as op;
use crate::session::AccountSession;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalableTargetObservation {
    pub resource_id: String,
    pub min: i32,
    pub max: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledActionObservation {
    pub name: String,
    /// `cron(...)`, `rate(...)` or `at(...)`.
    pub schedule: String,
    pub time_zone: Option<String>,
    pub min: Option<i32>,
    pub max: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyObservation {
    pub name: String,
    /// The CPU target of a target-tracking policy on ECS's average CPU; `None` for any other policy.
    pub cpu_target: Option<f64>,
}

/// A target with what is attached to it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingObservation {
    pub target: ScalableTargetObservation,
    pub actions: Vec<ScheduledActionObservation>,
    pub policies: Vec<PolicyObservation>,
}

pub struct Scaling<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn scaling(&self) -> Scaling<'_> {
        Scaling { session: self }
    }
}

const DIMENSION: ScalableDimension = ScalableDimension::EcsServiceDesiredCount;

impl Scaling<'_> {
    /// The targets among `resource_ids` (50 to a request), each with its actions and policies.
    pub async fn observe(&self, resource_ids: &[String]) -> Result<Vec<ScalingObservation>, AwsError> {
        let client = self.session.application_autoscaling();
        let mut found = Vec::new();
        for chunk in resource_ids.chunks(50) {
            let output = self
                .session
                .call(&op::AAS_DESCRIBE_SCALABLE_TARGETS, || {
                    client
                        .describe_scalable_targets()
                        .service_namespace(ServiceNamespace::Ecs)
                        .scalable_dimension(DIMENSION)
                        .set_resource_ids(Some(chunk.to_vec()))
                        .send()
                })
                .await?;
            for target in output.scalable_targets() {
                let target = ScalableTargetObservation {
                    resource_id: target.resource_id().to_owned(),
                    min: target.min_capacity(),
                    max: target.max_capacity(),
                };
                let (actions, policies) =
                    tokio::try_join!(self.actions(&target.resource_id), self.policies(&target.resource_id))?;
                found.push(ScalingObservation {
                    target,
                    actions,
                    policies,
                });
            }
        }
        Ok(found)
    }

    async fn actions(&self, resource_id: &str) -> Result<Vec<ScheduledActionObservation>, AwsError> {
        let client = self.session.application_autoscaling();
        let output = self
            .session
            .call(&op::AAS_DESCRIBE_SCHEDULED_ACTIONS, || {
                client
                    .describe_scheduled_actions()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .send()
            })
            .await?;
        Ok(output
            .scheduled_actions()
            .iter()
            .map(|a| ScheduledActionObservation {
                name: a.scheduled_action_name().to_owned(),
                schedule: a.schedule().to_owned(),
                time_zone: a.timezone().map(str::to_owned),
                min: a.scalable_target_action().and_then(|t| t.min_capacity()),
                max: a.scalable_target_action().and_then(|t| t.max_capacity()),
            })
            .collect())
    }

    async fn policies(&self, resource_id: &str) -> Result<Vec<PolicyObservation>, AwsError> {
        let client = self.session.application_autoscaling();
        let output = self
            .session
            .call(&op::AAS_DESCRIBE_SCALING_POLICIES, || {
                client
                    .describe_scaling_policies()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .send()
            })
            .await?;
        Ok(output
            .scaling_policies()
            .iter()
            .map(|p| PolicyObservation {
                name: p.policy_name().to_owned(),
                cpu_target: p
                    .target_tracking_scaling_policy_configuration()
                    .filter(|c| {
                        c.predefined_metric_specification()
                            .is_some_and(|m| m.predefined_metric_type() == &MetricType::EcsServiceAverageCpuUtilization)
                    })
                    .map(|c| c.target_value()),
            })
            .collect())
    }

    /// Registers, or changes the bounds of, the target (the call is an upsert).
    pub async fn register(&self, resource_id: &str, min: i32, max: i32) -> Result<(), AwsError> {
        let client = self.session.application_autoscaling();
        self.session
            .call(&op::AAS_REGISTER_SCALABLE_TARGET, || {
                client
                    .register_scalable_target()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .min_capacity(min)
                    .max_capacity(max)
                    .send()
            })
            .await
            .map(drop)
    }

    /// Deregistering removes the target's scheduled actions and policies too. Succeeds when gone.
    pub async fn deregister(&self, resource_id: &str) -> Result<(), AwsError> {
        let client = self.session.application_autoscaling();
        self.session
            .delete_if_exists(&op::AAS_DEREGISTER_SCALABLE_TARGET, || {
                client
                    .deregister_scalable_target()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .send()
            })
            .await
    }

    /// Creates or replaces the action `name` (an upsert by name).
    pub async fn put_action(
        &self,
        resource_id: &str,
        name: &str,
        schedule: &str,
        time_zone: &str,
        min: i32,
        max: i32,
    ) -> Result<(), AwsError> {
        let client = self.session.application_autoscaling();
        let bounds = ScalableTargetAction::builder()
            .min_capacity(min)
            .max_capacity(max)
            .build();
        self.session
            .call(&op::AAS_PUT_SCHEDULED_ACTION, || {
                client
                    .put_scheduled_action()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .scheduled_action_name(name)
                    .schedule(schedule)
                    .timezone(time_zone)
                    .scalable_target_action(bounds.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_action(&self, resource_id: &str, name: &str) -> Result<(), AwsError> {
        let client = self.session.application_autoscaling();
        self.session
            .delete_if_exists(&op::AAS_DELETE_SCHEDULED_ACTION, || {
                client
                    .delete_scheduled_action()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .scheduled_action_name(name)
                    .send()
            })
            .await
    }

    /// A target-tracking policy on the service's average CPU (an upsert by name).
    pub async fn put_cpu_policy(&self, resource_id: &str, name: &str, target: f64) -> Result<(), AwsError> {
        let client = self.session.application_autoscaling();
        let metric = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
            .build()
            .map_err(|e| AwsError::request("application-autoscaling", "PutScalingPolicy", e))?;
        let configuration = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(target)
            .predefined_metric_specification(metric)
            .build()
            .map_err(|e| AwsError::request("application-autoscaling", "PutScalingPolicy", e))?;
        self.session
            .call(&op::AAS_PUT_SCALING_POLICY, || {
                client
                    .put_scaling_policy()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .policy_name(name)
                    .policy_type(PolicyType::TargetTrackingScaling)
                    .target_tracking_scaling_policy_configuration(configuration.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_policy(&self, resource_id: &str, name: &str) -> Result<(), AwsError> {
        let client = self.session.application_autoscaling();
        self.session
            .delete_if_exists(&op::AAS_DELETE_SCALING_POLICY, || {
                client
                    .delete_scaling_policy()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(DIMENSION)
                    .resource_id(resource_id)
                    .policy_name(name)
                    .send()
            })
            .await
    }
}
