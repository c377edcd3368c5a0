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

/// An endpoint that accepts connections and never answers (an overloaded server's backlog, a
/// network path that went away): each attempt times out and is tried again, and the call fails as
/// a transient error instead of holding its pass, and with it the object, forever.
#[tokio::test]
async fn an_answer_that_never_comes_is_a_transient_error_after_the_attempt_timeout() {
    use std::time::Duration;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().flatten() {
            counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(connection);
        }
    });
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-2"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("k", "s", None, None, "test"))
        .load()
        .await;
    let settings = dataplatform_aws::AwsSettings {
        endpoint_url: Some(endpoint),
        attempt_timeout: Some(Duration::from_millis(300)),
        retry: dataplatform_aws::RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        },
        ..Default::default()
    };
    let sessions = dataplatform_aws::Sessions::new(base, settings);
    let session = sessions
        .session(&dataplatform_aws::AccountTarget {
            account_id: "123456789012".into(),
            region: "eu-west-2".into(),
            role_arn: None,
            external_id: None,
        })
        .await;
    let answer = tokio::time::timeout(Duration::from_secs(20), session.verify_identity())
        .await
        .expect("the call gives up, it does not wait forever");
    match answer {
        Err(dataplatform_aws::IdentityError::Call(error)) => {
            assert_eq!(error.class, ErrorClass::Retryable, "{error}")
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "each attempt waited, then the next was made"
    );
}
