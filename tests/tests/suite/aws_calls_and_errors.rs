//! The call counter and the error classification against moto's real answers.

use dataplatform_aws::{AwsError, CallCounter, ErrorClass, Outcome};
use dataplatform_tests::{Moto, create_bucket, s3_config, try_create_bucket, unique_account_id, unique_name};

async fn counted_s3(counter: &CallCounter) -> aws_sdk_s3::Client {
    let config = Moto::shared().account_config(&unique_account_id()).await;
    aws_sdk_s3::Client::from_conf(s3_config(&config).interceptor(counter.clone()).build())
}

#[tokio::test]
async fn counts_every_call_by_operation_and_outcome() {
    let counter = CallCounter::new();
    let s3 = counted_s3(&counter).await;
    let bucket = unique_name("counted");
    create_bucket(&s3, &bucket).await;
    s3.get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("versioning");
    s3.head_bucket().bucket(&bucket).send().await.expect("head");
    let _ = s3.head_bucket().bucket(unique_name("missing")).send().await;

    let counts = counter.snapshot();
    assert_eq!(counts.of("CreateBucket"), 1);
    assert_eq!(counts.of("GetBucketVersioning"), 1);
    assert_eq!(counts.of("HeadBucket"), 2);
    assert_eq!(counts.writes(), 1, "{:?}", counts.write_operations());
    assert_eq!(counts.reads(), 3);
    assert!(
        counts
            .0
            .keys()
            .any(|k| k.operation == "HeadBucket" && k.outcome == Outcome::Failure { status: Some(404) }),
        "{counts:?}"
    );

    counter.reset();
    assert_eq!(counter.snapshot().total(), 0);
}

#[tokio::test]
async fn missing_resources_classify_as_not_found() {
    let s3 = counted_s3(&CallCounter::new()).await;
    let missing = s3
        .head_bucket()
        .bucket(unique_name("missing"))
        .send()
        .await
        .expect_err("no such bucket");
    assert_eq!(
        AwsError::from_sdk("s3", "HeadBucket", missing).class,
        ErrorClass::NotFound
    );

    let bucket = unique_name("no-policy");
    create_bucket(&s3, &bucket).await;
    let no_policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect_err("no policy yet");
    let error = AwsError::from_sdk("s3", "GetBucketPolicy", no_policy);
    assert_eq!(error.class, ErrorClass::NotFound);
    assert_eq!(error.code.as_deref(), Some("NoSuchBucketPolicy"));
}

#[tokio::test]
async fn a_bucket_name_taken_by_another_account_is_a_conflict() {
    let first = counted_s3(&CallCounter::new()).await;
    let second = counted_s3(&CallCounter::new()).await;
    let bucket = unique_name("taken");
    create_bucket(&first, &bucket).await;
    let taken = try_create_bucket(&second, &bucket)
        .await
        .expect_err("the name is taken");
    let error = AwsError::from_sdk("s3", "CreateBucket", taken);
    assert_eq!(error.class, ErrorClass::Conflict, "{error}");
    assert!(error.to_string().contains("s3:CreateBucket"), "{error}");
}
