//! What every service's container is told about the platform it runs on, as environment variables
//! under `DATAPLATFORM_` (docs/dagster.md): what a Dagster instance reads to launch each run as an
//! ECS task in the same cluster, subnets and security groups with the same roles, to write compute
//! logs to the workspace bucket, and to find its code server. Values are names and ids, never
//! secrets.

use std::collections::BTreeMap;

use dataplatform_api::DataPlatformAccountSpec;
use dataplatform_api::names::{BucketPurpose, platform_env};
use dataplatform_aws::ecs::ServiceNetwork;

use crate::account::AccountContext;

/// The variables the spec alone decides.
pub fn platform_environment(account: &AccountContext, spec: &DataPlatformAccountSpec) -> BTreeMap<String, String> {
    let names = &account.names;
    let mut environment = BTreeMap::from([
        (platform_env("REGION"), account.region.clone()),
        (platform_env("ECS_CLUSTER"), names.ecs_cluster()),
        // The role a launched run gets: the task role, never the launcher's.
        (platform_env("RUN_TASK_ROLE_ARN"), account.role_arn(&names.task_role())),
        (
            platform_env("EXECUTION_ROLE_ARN"),
            account.role_arn(&names.task_execution_role()),
        ),
    ]);
    for purpose in BucketPurpose::ALL {
        let key = format!("{}_BUCKET", purpose.as_str());
        environment.insert(platform_env(&key), names.bucket(purpose));
    }
    if let Some(logging) = &spec.logging {
        environment.insert(platform_env("LOG_GROUP"), logging.log_group.clone());
    }
    if let Some(namespace) = &account.dns_namespace {
        environment.insert(platform_env("DNS_NAMESPACE"), namespace.clone());
        for service in &spec.services {
            let Some(port) = service.port else {
                continue;
            };
            let host = format!("{}.{namespace}", service.name);
            environment.insert(platform_env(&format!("{}_HOST", service.name)), host);
            environment.insert(platform_env(&format!("{}_PORT", service.name)), port.to_string());
        }
    }
    environment
}

/// The role the service itself runs as (`launchesRuns`: the run-launcher role).
pub fn own_role(account: &AccountContext, launches_runs: bool) -> (String, String) {
    let role = if launches_runs {
        account.names.run_launcher_role()
    } else {
        account.names.task_role()
    };
    (platform_env("TASK_ROLE_ARN"), account.role_arn(&role))
}

/// The variables of where the tasks run, once the network part has made it: comma-separated, as
/// `EcsRunLauncher`'s `run_task_kwargs` take them after a split.
pub fn network_environment(network: &ServiceNetwork) -> [(String, String); 2] {
    [
        (platform_env("SUBNETS"), network.subnets.join(",")),
        (platform_env("SECURITY_GROUPS"), network.security_groups.join(",")),
    ]
}
