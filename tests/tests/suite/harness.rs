//! Proves the harness: moto starts, speaks S3 to aws-sdk-s3, and keeps accounts apart.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use dataplatform_tests::{Moto, create_bucket, s3_client, unique_account_id, unique_name};

#[tokio::test]
async fn creates_a_bucket_and_reads_back_its_versioning() {
    let moto = Moto::shared();
    let config = moto.account_config(&unique_account_id()).await;
    let s3 = s3_client(&config);
    let bucket = unique_name("harness");

    create_bucket(&s3, &bucket).await;
    let before = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("get versioning");
    assert_eq!(before.status(), None, "a new bucket has never had versioning");

    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
    let after = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("get versioning");
    assert_eq!(after.status(), Some(&BucketVersioningStatus::Enabled));

    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket exists");
}

#[tokio::test]
async fn each_account_sees_only_its_own_buckets() {
    let moto = Moto::shared();
    let owner = s3_client(&moto.account_config(&unique_account_id()).await);
    let other = s3_client(&moto.account_config(&unique_account_id()).await);
    let bucket = unique_name("scoped");
    create_bucket(&owner, &bucket).await;

    let listed = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| {
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(listed(owner.list_buckets().send().await.expect("list")).contains(&bucket));
    assert!(!listed(other.list_buckets().send().await.expect("list")).contains(&bucket));
}

#[tokio::test]
async fn assumed_credentials_act_in_the_requested_account() {
    let moto = Moto::shared();
    let account = unique_account_id();
    let config = moto.account_config(&account).await;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("get caller identity");
    assert_eq!(identity.account(), Some(account.as_str()));
}
