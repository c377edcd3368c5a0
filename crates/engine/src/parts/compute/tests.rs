//! The compute diff and readiness, without AWS.

use std::collections::BTreeMap;

use dataplatform_aws::ecs::{Deployment, FamilyObservation, Revision, ServiceObservation};
use dataplatform_aws::rds::{ClusterObservation, ClusterSettings};
use serde_json::json;

use crate::account::ObjectId;
use crate::parts::database::ObservedDatabase;
use crate::parts::{DesiredAccount, ObservedAccount, complete, diff, readiness};
use crate::plan::{Action, ActionKind, Part};

fn desired() -> DesiredAccount {
    let spec = serde_json::from_value(json!({
        "accountId": "111111111111", "region": "eu-west-2",
        "network": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]},
        "services": [{"name": "daemon", "image": "dagster:1.9.1", "cpu": 256, "memory": 512, "databaseAccess": true}]
    }))
    .expect("spec");
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    DesiredAccount::new(&id, &spec, &Default::default())
}

fn arn(revision: i32) -> String {
    format!("arn:aws:ecs:eu-west-2:111111111111:task-definition/camden-x-daemon:{revision}")
}

/// The compute part as AWS would hold it after we made it, with `revisions` registered (newest
/// first) and the service on the newest.
fn observed(desired: &DesiredAccount, revisions: &[i32]) -> ObservedAccount {
    let database = ClusterObservation {
        identifier: "db".into(),
        arn: "arn:aws:rds:eu-west-2:111111111111:cluster:db".into(),
        status: "available".into(),
        settings: ClusterSettings {
            engine_version: "16.6".into(),
            min_capacity: 0.5,
            max_capacity: 4.0,
            backup_retention_days: 7,
            deletion_protection: true,
        },
        endpoint: Some("db.example".into()),
        port: Some(5432),
        secret_arn: Some("arn:aws:secretsmanager:eu-west-2:111111111111:secret:rds!cluster-1".into()),
        subnet_group: None,
        security_groups: vec![],
        tags: BTreeMap::new(),
    };
    let mut observed = ObservedAccount {
        database: ObservedDatabase {
            cluster: Some(database),
            instance: None,
            foreign_vpc: None,
        },
        ..Default::default()
    };
    // The database endpoint completes the service's task definition, as after observation.
    let mut completed = desired.clone();
    complete(&mut completed, &observed);
    let service = &completed.compute.services[0];
    let content = service.content.clone().expect("rendered");
    let newest = arn(revisions[0]);
    observed.compute = super::ObservedCompute {
        cluster: Some(dataplatform_aws::ecs::ClusterObservation {
            name: desired.compute.cluster.clone(),
            arn: "arn:aws:ecs:eu-west-2:111111111111:cluster/x".into(),
            capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
            tags: desired.account.tags.clone(),
        }),
        services: vec![ServiceObservation {
            name: service.name.clone(),
            arn: "arn:aws:ecs:eu-west-2:111111111111:service/x/daemon".into(),
            status: "ACTIVE".into(),
            desired_count: 1,
            running_count: 1,
            task_definition: newest.clone(),
            capacity_provider: Some("FARGATE_SPOT".into()),
            network: Some(service.settings.network.clone()),
            load_balancers: vec![],
            registries: vec![],
            health_check_grace_period: None,
            circuit_breaker_with_rollback: Some(true),
            deployments: vec![Deployment {
                status: "PRIMARY".into(),
                task_definition: newest,
                rollout_state: Some("COMPLETED".into()),
                rollout_state_reason: None,
            }],
            tags: desired.account.tags.clone(),
        }],
        families: BTreeMap::from([(
            service.family.clone(),
            FamilyObservation {
                revisions: revisions
                    .iter()
                    .map(|&number| Revision {
                        number,
                        arn: arn(number),
                    })
                    .collect(),
                latest: Some(content),
                latest_tags: desired.account.tags.clone(),
            },
        )]),
    };
    observed
}

fn compute_actions(desired: &DesiredAccount, observed: &ObservedAccount) -> Vec<Action> {
    let mut desired = desired.clone();
    complete(&mut desired, observed);
    let diff = diff(&desired, observed, false);
    diff.plan
        .actions
        .into_iter()
        .filter(|a| a.part == Part::Compute)
        .collect()
}

#[test]
fn what_aws_holds_already_needs_nothing_and_is_ready() {
    let desired = desired();
    let observed = observed(&desired, &[1]);
    assert!(compute_actions(&desired, &observed).is_empty());
    let mut desired = desired.clone();
    complete(&mut desired, &observed);
    let state = readiness(&desired, &observed, &Default::default(), &[]);
    assert!(
        state.pending.iter().all(|p| !p.starts_with("ecs:")),
        "{:?}",
        state.pending
    );
    assert!(state.failed.is_empty());
}

#[test]
fn a_rollout_the_circuit_breaker_failed_is_reported_and_not_pushed_again() {
    let desired = desired();
    let mut observed = observed(&desired, &[2, 1]);
    // ECS rolled back to revision 1 after revision 2 failed to start.
    let service = &mut observed.compute.services[0];
    service.task_definition = arn(1);
    service.deployments = vec![
        Deployment {
            status: "PRIMARY".into(),
            task_definition: arn(1),
            rollout_state: Some("COMPLETED".into()),
            rollout_state_reason: None,
        },
        Deployment {
            status: "ACTIVE".into(),
            task_definition: arn(2),
            rollout_state: Some("FAILED".into()),
            rollout_state_reason: Some("tasks failed to start".into()),
        },
    ];
    assert!(
        compute_actions(&desired, &observed).is_empty(),
        "pushing the failed revision again would fail again"
    );
    let mut desired = desired.clone();
    complete(&mut desired, &observed);
    let state = readiness(&desired, &observed, &Default::default(), &[]);
    assert!(!state.is_ready());
    assert!(
        state
            .failed
            .iter()
            .any(|f| f.contains("camden-x-daemon:2 failed") && f.contains("tasks failed to start")),
        "{:?}",
        state.failed
    );
    let status = crate::status::StatusBuilder::new(None, Some(1)).synced(
        &desired,
        &observed,
        &state,
        dataplatform_api::conditions::Reason::ReconcileSuccess,
        String::new(),
        vec![],
    );
    let ready =
        dataplatform_api::conditions::find(&status.conditions, dataplatform_api::conditions::READY).expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "DeploymentFailed")
    );
    assert!(ready.message.contains("tasks failed to start"), "{}", ready.message);
}

/// ECS forgets a failed deployment after a while; the failure an earlier pass put in status still
/// keeps the revision from being pushed again.
#[test]
fn a_failed_rollout_remembered_in_status_is_not_pushed_again_after_ecs_forgets_it() {
    let desired = desired();
    let mut observed = observed(&desired, &[2, 1]);
    let service = &mut observed.compute.services[0];
    service.task_definition = arn(1);
    service.deployments[0].task_definition = arn(1);
    let pushed = compute_actions(&desired, &observed);
    assert!(
        pushed
            .iter()
            .any(|a| a.changes.iter().any(|c| c.field == "taskDefinition")),
        "without the memory the newest revision is pushed: {pushed:?}"
    );
    let status = dataplatform_api::DataPlatformAccountStatus {
        services: vec![dataplatform_api::account::ServiceStatus {
            name: "daemon".into(),
            failed_task_definition_arn: Some(arn(2)),
            failed_reason: Some("tasks failed to start".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut remembering = desired.clone();
    remembering.compute.remember_failures(Some(&status));
    assert!(compute_actions(&remembering, &observed).is_empty());
    complete(&mut remembering, &observed);
    let state = readiness(&remembering, &observed, &Default::default(), &[]);
    assert!(
        state.failed.iter().any(|f| f.contains("tasks failed to start")),
        "{state:?}"
    );
}

#[test]
fn settings_aws_does_not_report_are_not_drift_but_reported_differences_are() {
    let desired = desired();
    let mut observed = observed(&desired, &[1]);
    let service = &mut observed.compute.services[0];
    service.capacity_provider = None;
    service.circuit_breaker_with_rollback = None;
    assert!(compute_actions(&desired, &observed).is_empty());

    let service = &mut observed.compute.services[0];
    service.capacity_provider = Some("FARGATE".into());
    service.circuit_breaker_with_rollback = Some(false);
    let [action] = compute_actions(&desired, &observed).try_into().expect("one action");
    assert_eq!(action.kind, ActionKind::Update);
    let fields: Vec<String> = action.changed_fields().collect();
    assert_eq!(
        fields,
        ["ecs:daemon.capacityProvider", "ecs:daemon.deploymentCircuitBreaker"]
    );
}

#[test]
fn revisions_past_the_last_three_go_unless_a_deployment_still_uses_them() {
    let desired = desired();
    let mut observed = observed(&desired, &[5, 4, 3, 2, 1]);
    observed.compute.services[0].deployments.push(Deployment {
        status: "ACTIVE".into(),
        task_definition: arn(2),
        rollout_state: None,
        rollout_state_reason: None,
    });
    let [action] = compute_actions(&desired, &observed).try_into().expect("one action");
    assert_eq!(action.to_string(), "- delete ecs:daemon/revisions (camden-x-daemon:1)");
}
