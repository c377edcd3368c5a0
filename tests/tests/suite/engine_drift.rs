//! Changes made behind the operator's back are put right, reported in status.drift, and then cost
//! nothing more.

use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use dataplatform_api::names::{AccountNames, BucketPurpose};
use dataplatform_tests::{Moto, account_object, converge, engine, s3_client, unique_account_id};

#[tokio::test]
async fn out_of_band_changes_are_corrected_and_listed_as_drift() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "tags: {cost-centre: \"42\"}");
    converge(&engine, &mut object).await;

    let names = AccountNames::new(&object.id.namespace, &object.id.name, &account);
    let config = Moto::shared().account_config(&account).await;
    let s3 = s3_client(&config);
    s3.put_bucket_versioning()
        .bucket(names.bucket(BucketPurpose::Datastore))
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    let kms = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id("arn:aws:kms:eu-west-2:000000000000:key/someone-elses")
        .build()
        .expect("sse");
    s3.put_bucket_encryption()
        .bucket(names.bucket(BucketPurpose::Workspace))
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(kms)
                        .build(),
                )
                .build()
                .expect("sse config"),
        )
        .send()
        .await
        .expect("change encryption");
    s3.put_public_access_block()
        .bucket(names.bucket(BucketPurpose::Shared))
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(false)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .expect("open public access");
    aws_sdk_rds::Client::new(&config)
        .modify_db_cluster()
        .db_cluster_identifier(names.db_cluster())
        .serverless_v2_scaling_configuration(
            aws_sdk_rds::types::ServerlessV2ScalingConfiguration::builder()
                .min_capacity(2.0)
                .max_capacity(64.0)
                .build(),
        )
        .apply_immediately(true)
        .send()
        .await
        .expect("change ACUs");
    aws_sdk_iam::Client::new(&config)
        .untag_role()
        .role_name(names.task_role())
        .tag_keys("cost-centre")
        .send()
        .await
        .expect("remove a tag");

    let corrected = engine.reconcile(&object, Default::default()).await;
    assert!(corrected.error.is_none(), "{:?}", corrected.error);
    let mut drift = corrected.status.drift.clone();
    drift.sort();
    assert_eq!(
        drift,
        [
            "iam:task-role.tags.cost-centre",
            "rds:cluster.capacity",
            "s3:datastore.versioning",
            "s3:shared.publicAccessBlock",
            "s3:workspace.encryption",
        ]
    );
    object.status = Some(corrected.status);

    engine.sessions().counter().reset();
    let after = engine.reconcile(&object, Default::default()).await;
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(
        calls.writes(),
        0,
        "corrected drift came back: {:?}",
        calls.write_operations()
    );
    assert!(
        after.status.drift.is_empty(),
        "drift lists what the last pass corrected"
    );
}

#[tokio::test]
async fn a_changed_spec_changes_only_what_changed_and_is_not_drift() {
    let engine = engine().await;
    let account = unique_account_id();
    let mut object = account_object(&account, "");
    converge(&engine, &mut object).await;

    object.spec.storage.versioning = false;
    object.spec.database.max_capacity = 8.0;
    object.generation = Some(2);
    engine.sessions().counter().reset();
    let updated = engine.reconcile(&object, Default::default()).await;
    assert!(updated.error.is_none(), "{:?}", updated.error);
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(
        calls.write_operations(),
        ["rds:ModifyDBCluster", "s3:PutBucketVersioning"],
        "only the changed settings are written"
    );
    assert_eq!(calls.of("PutBucketVersioning"), 3);
    assert!(updated.status.drift.is_empty(), "a spec change is not drift");
    assert_eq!(updated.status.observed_generation, Some(2));
}
