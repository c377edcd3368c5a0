//! The scaling part's AWS writes and how they run.

use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::Made;
use crate::plan::Write;

/// The scaling part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalingWrite {
    /// Registers the target, or changes its bounds.
    RegisterScalableTarget {
        resource_id: String,
        min: i32,
        max: i32,
    },
    DeregisterScalableTarget {
        resource_id: String,
    },
    PutScheduledAction {
        resource_id: String,
        name: String,
        schedule: String,
        time_zone: String,
        min: i32,
        max: i32,
    },
    DeleteScheduledAction {
        resource_id: String,
        name: String,
    },
    PutCpuPolicy {
        resource_id: String,
        name: String,
        target: f64,
    },
    DeleteScalingPolicy {
        resource_id: String,
        name: String,
    },
}

impl Write for ScalingWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let scaling = session.scaling();
        match self {
            Self::RegisterScalableTarget { resource_id, min, max } => scaling.register(resource_id, *min, *max).await,
            Self::DeregisterScalableTarget { resource_id } => scaling.deregister(resource_id).await,
            Self::PutScheduledAction {
                resource_id,
                name,
                schedule,
                time_zone,
                min,
                max,
            } => {
                scaling
                    .put_action(resource_id, name, schedule, time_zone, *min, *max)
                    .await
            }
            Self::DeleteScheduledAction { resource_id, name } => scaling.delete_action(resource_id, name).await,
            Self::PutCpuPolicy {
                resource_id,
                name,
                target,
            } => scaling.put_cpu_policy(resource_id, name, *target).await,
            Self::DeleteScalingPolicy { resource_id, name } => scaling.delete_policy(resource_id, name).await,
        }
    }
}
