//! The account-wide diff over fields the spec owns only, and readiness, without AWS.

use std::collections::BTreeMap;

use crate::parts::identity::ObservedIdentity;
use dataplatform_api::OWNER_TAG;
use dataplatform_api::names::{BucketPurpose, DENY_INSECURE_TRANSPORT_SID};
use dataplatform_aws::iam::RoleObservation;
use dataplatform_aws::rds::{ClusterObservation, InstanceObservation};
use dataplatform_aws::s3::{BUCKET_OWNER_ENFORCED, BucketObservation, Lifecycle, PublicAccessBlock, Versioning};
use serde_json::json;

use super::database::ObservedDatabase;
use super::*;
use crate::plan::MergePolicyStatements;
use crate::policy;

fn desired() -> DesiredAccount {
    let spec = serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2"})).expect("spec");
    DesiredAccount::new(
        &ObjectId {
            namespace: "ns".into(),
            name: "camden".into(),
        },
        &spec,
        &Default::default(),
    )
}

/// What AWS would hold after our own creation, plus what AWS and people add on their own.
fn matching_with_extras(desired: &DesiredAccount, cluster_status: &str) -> ObservedAccount {
    let mut tags = desired.account.tags.clone();
    tags.insert("aws:cloudformation:stack-name".into(), "someone-elses".into());
    let by_hand = json!({"Sid": "HandWritten", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"});
    let database = &desired.database;
    ObservedAccount {
        bucket_key: Default::default(),
        network: Default::default(),
        load_balancer: Default::default(),
        certificate: Default::default(),
        user_pool: Default::default(),
        dns: Default::default(),
        discovery: Default::default(),
        logging: Default::default(),
        scaling: Default::default(),
        storage: super::storage::ObservedBuckets {
            buckets: desired
                .storage
                .buckets
                .iter()
                .map(|(purpose, b)| {
                    let seen = BucketObservation {
                        name: b.name.clone(),
                        tags: tags.clone(),
                        encryption: b.encryption.clone(),
                        versioning: Versioning::Enabled,
                        public_access_block: PublicAccessBlock::ALL_BLOCKED,
                        ownership: Some(BUCKET_OWNER_ENFORCED.into()),
                        policy: Some(policy::document(vec![by_hand.clone(), b.tls_statement.clone()]).to_string()),
                        lifecycle: Lifecycle::default().with_ours(b.expiration),
                        logging: None,
                    };
                    (*purpose, seen)
                })
                .collect(),
            unfinished: Default::default(),
            key_problem: None,
            ..Default::default()
        },
        identity: ObservedIdentity {
            roles: desired
                .identity
                .iter()
                .map(|(kind, r)| {
                    let seen = RoleObservation {
                        name: r.name.clone(),
                        arn: desired.account.role_arn(&r.name),
                        trust_policy: r.trust_policy.to_string(),
                        tags: tags.clone(),
                        inline_policy: Some(r.inline_policy.to_string()),
                        other_policies: Default::default(),
                    };
                    (*kind, seen)
                })
                .collect(),
            quotas: Default::default(),
        },
        database: ObservedDatabase {
            cluster: database.settings.as_ref().map(|settings| {
                let mut settings = settings.clone();
                settings.engine_version = "16.8".into();
                ClusterObservation {
                    identifier: database.cluster.clone(),
                    arn: format!("arn:aws:rds:eu-west-2:111111111111:cluster:{}", database.cluster),
                    status: cluster_status.into(),
                    settings,
                    endpoint: Some("db.example".into()),
                    port: Some(5432),
                    secret_arn: Some("arn:aws:secretsmanager:eu-west-2:111111111111:secret:rds!cluster-1".into()),
                    subnet_group: None,
                    security_groups: vec![],
                    tags: tags.clone(),
                }
            }),
            instance: database.settings.as_ref().map(|_| InstanceObservation {
                identifier: database.instance.clone(),
                arn: "arn:aws:rds:eu-west-2:111111111111:db:x".into(),
                status: "available".into(),
                tags: BTreeMap::from([(OWNER_TAG.to_owned(), desired.account.owner.clone())])
                    .into_iter()
                    .chain(tags.clone())
                    .collect(),
            }),
            foreign_vpc: None,
        },
        compute: Default::default(),
        registry: vec![],
    }
}

#[test]
fn extra_tags_statements_and_a_newer_minor_version_are_not_drift() {
    let desired = desired();
    let diff = diff(&desired, &matching_with_extras(&desired, "available"), false);
    assert!(diff.plan.is_empty(), "{}", diff.plan);
    assert!(diff.conflicts.is_empty() && diff.waiting.is_empty());
}

#[test]
fn a_missing_tls_statement_is_merged_in_as_ours_only() {
    let desired = desired();
    let mut observed = matching_with_extras(&desired, "available");
    let shared = observed
        .storage
        .buckets
        .get_mut(&BucketPurpose::Shared)
        .expect("shared");
    shared.policy = Some(
        policy::document(vec![
            json!({"Sid": "HandWritten", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "x"}),
        ])
        .to_string(),
    );
    let diff = diff(&desired, &observed, false);
    let [action] = diff.plan.actions.as_slice() else {
        panic!("one action expected: {}", diff.plan);
    };
    // The write re-reads the policy and replaces only our Sid (the hand-written statement stays:
    // tests/tests/suite/engine_grants.rs checks that against moto).
    let Some(MergePolicyStatements { owner, statements, .. }) =
        action.ops.first().and_then(|op| op.get::<MergePolicyStatements>())
    else {
        panic!("a policy merge expected: {:?}", action.ops);
    };
    assert!(owner.owns(DENY_INSECURE_TRANSPORT_SID) && !owner.owns("HandWritten"));
    assert_eq!(
        statements,
        &vec![desired.storage.buckets[&BucketPurpose::Shared].tls_statement.clone()]
    );
}

#[test]
fn ready_waits_for_the_cluster_to_be_available() {
    let desired = desired();
    let observed = matching_with_extras(&desired, "creating");
    let diff = diff(&desired, &observed, false);
    let state = readiness(&desired, &observed, &diff.plan, &diff.waiting);
    assert!(!state.is_ready());
    assert!(state.creating, "a cluster still creating reports Creating");
    assert!(
        state.pending.iter().any(|p| p.contains("rds:cluster is creating")),
        "{:?}",
        state.pending
    );
    assert_eq!(
        state.soonest_wait(),
        crate::wait::WaitKind::Database,
        "looked at on RDS's pace"
    );
    let available = matching_with_extras(&desired, "available");
    assert!(readiness(&desired, &available, &Plan::default(), &[]).is_ready());
}

/// Each step meets every part once, in the list's order, and deletion goes up the list.
#[test]
fn every_part_is_listed_once_and_deletion_goes_up_the_list() {
    let spec = serde_json::from_value(
        json!({"accountId": "111111111111", "region": "eu-west-2", "tier": "Organisation",
        "registry": {"repositories": ["dagster"]}}),
    )
    .expect("spec");
    assert_eq!(
        present(&spec),
        [
            Part::Storage,
            Part::Identity,
            Part::Database,
            Part::Compute,
            Part::Registry
        ]
    );
    let desired = desired();
    let mut observed = matching_with_extras(&desired, "available");
    observed.registry = vec![dataplatform_aws::ecr::RepositoryObservation {
        name: "dagster".into(),
        arn: "arn:aws:ecr:eu-west-2:111111111111:repository/dagster".into(),
        uri: "111111111111.dkr.ecr.eu-west-2.amazonaws.com/dagster".into(),
        scan_on_push: true,
        immutable_tags: false,
        policy: None,
        tags: desired.account.tags.clone(),
    }];
    let mut unprotected = desired.clone();
    if let Some(settings) = unprotected.database.settings.as_mut() {
        settings.deletion_protection = false;
    }
    if let Some(cluster) = observed.database.cluster.as_mut() {
        cluster.tags = desired.account.tags.clone();
        cluster.settings.deletion_protection = false;
    }
    for bucket in observed.storage.buckets.values_mut() {
        bucket.tags = desired.account.tags.clone();
    }
    for role in observed.identity.roles.values_mut() {
        role.tags = desired.account.tags.clone();
    }
    let mut waiting = vec![];
    let order: Vec<Part> = deletion(&unprotected, &observed, &mut waiting)
        .iter()
        .map(|a| a.part)
        .collect();
    let mut parts = order.clone();
    parts.dedup();
    assert_eq!(
        parts,
        [Part::Registry, Part::Database, Part::Identity, Part::Storage],
        "{order:?}"
    );
    // Deletion protection on: the database waits, and the parts before it in the list stay.
    let mut waiting = vec![];
    let order: Vec<Part> = deletion(&desired, &matching_with_extras(&desired, "available"), &mut waiting)
        .iter()
        .map(|a| a.part)
        .collect();
    assert!(!waiting.is_empty() && !order.iter().any(|p| matches!(p, Part::Identity | Part::Storage)));
}

/// A load balancer's group admits every range its services name, on each listener port: 16
/// services with four ranges each need 64 inbound rules, past EC2's 60, so nothing is planned.
#[test]
fn a_load_balancer_group_past_ec2s_rule_quota_is_refused_and_a_smaller_one_planned() {
    let spec_with = |services: usize| -> DataPlatformAccountSpec {
        let services: Vec<serde_json::Value> = (0..services)
            .map(|i| {
                let cidrs: Vec<String> = (0..4).map(|j| format!("10.{}.{j}.0/24", 100 + i)).collect();
                json!({"name": format!("web-{i}"), "image": "nginx:1.27", "port": 8080, "cpu": 256, "memory": 512,
                       "expose": {"allowedCidrs": cidrs}})
            })
            .collect();
        serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2",
            "network": {"vpc": {"cidr": "10.20.0.0/16"}}, "database": {"enabled": false}, "services": services}))
        .expect("spec")
    };
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    let mut observed = ObservedAccount::default();
    observed.network.zones = vec!["eu-west-2a".into(), "eu-west-2b".into()];
    let plan = |services: usize| {
        diff(
            &DesiredAccount::new(&id, &spec_with(services), &Default::default()),
            &observed,
            false,
        )
    };
    let refused = plan(16);
    let message = refused.quota_exceeded.join("; ");
    for part in ["64 items", "ec2.security-group-inbound-rules", "allowedCidrs"] {
        assert!(message.contains(part), "{message} names {part}");
    }
    let fits = plan(15);
    assert!(fits.quota_exceeded.is_empty(), "{:?}", fits.quota_exceeded);
    assert!(fits.plan.to_string().contains("security-group"), "{}", fits.plan);
}

#[test]
fn the_operators_policy_covers_cloud_map_wherever_a_namespace_may_be_left() {
    let id = ObjectId {
        namespace: "ns".into(),
        name: "camden".into(),
    };
    let scope_of = |spec: serde_json::Value| policy_scope(&id, &serde_json::from_value(spec).expect("spec")).discovery;
    let network = json!({"vpc": {"cidr": "10.20.0.0/16", "availabilityZones": 2}});
    assert_eq!(
        scope_of(json!({"accountId": "111111111111", "region": "eu-west-2", "network": network})),
        Some(true),
        "no service has a port, yet the part deletes a namespace left from one that had"
    );
    assert_eq!(
        scope_of(json!({"accountId": "111111111111", "region": "eu-west-2"})),
        Some(false),
        "no network: no namespace"
    );
}
