//! Test harness: one moto server (AWS protocols over HTTP on 127.0.0.1) per test process, and
//! helpers that give each test its own AWS account and names, so tests run in parallel without
//! sharing state or resetting the server.
//!
//! Moto comes from the virtualenv the README's test command creates (`.venv`, pinned in
//! `tests/requirements.txt`); `DATAPLATFORM_TEST_PYTHON` points at another interpreter.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use dataplatform_api::names::{AccountNames, BucketPurpose};

/// Region every test account uses unless it asks for another.
pub const TEST_REGION: &str = "eu-west-2";

/// A running moto server. It stops when the test process exits: it serves until its stdin, a pipe
/// held here, closes.
pub struct Moto {
    endpoint: String,
    // Never read: kept so the pipe (and so the server) lives as long as the process.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl Moto {
    /// The process's moto server, started on first use.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts a server of its own: for tests that must not share one with the rest of the process.
    pub fn start() -> Result<Moto, String> {
        Self::spawn("moto_server.py", &[])
    }

    /// `tests/support/fault_proxy.py` in front of this server: the first `count` answers to
    /// `operation` are lost after moto has carried the request out. Its `endpoint()` is the proxy's.
    pub fn losing_answers(&self, operation: &str, count: u32) -> Result<Moto, String> {
        Self::spawn(
            "fault_proxy.py",
            &[&self.endpoint, "--lose", &format!("{operation}:{count}")],
        )
    }

    /// The fault proxy answering the first `count` requests of `operation` with a 500 before moto
    /// sees them: the call failed and nothing was made.
    pub fn failing(&self, operation: &str, count: u32) -> Result<Moto, String> {
        Self::spawn(
            "fault_proxy.py",
            &[&self.endpoint, "--fail", &format!("{operation}:{count}")],
        )
    }

    /// A proxy that holds each answer back up to `max_ms` milliseconds (seeded).
    pub fn slow(&self, max_ms: u32, seed: u64) -> Result<Moto, String> {
        let (latency, seed) = (max_ms.to_string(), seed.to_string());
        Self::spawn(
            "fault_proxy.py",
            &[&self.endpoint, "--latency", &latency, "--seed", &seed],
        )
    }

    /// The fault proxy refusing a `throttle` share of the requests with each protocol's own
    /// throttling error and a `server_errors` share with a 500, drawn from `seed`.
    pub fn under_load(&self, throttle: f64, server_errors: f64, seed: u64) -> Result<Moto, String> {
        let (throttle, server_errors, seed) = (throttle.to_string(), server_errors.to_string(), seed.to_string());
        let args = [
            self.endpoint.as_str(),
            "--throttle",
            &throttle,
            "--server-errors",
            &server_errors,
            "--seed",
            &seed,
        ];
        Self::spawn("fault_proxy.py", &args)
    }

    /// The fault proxy losing a `resets` share of the answers (drawn from `seed`) after moto
    /// carried the request out: the connection is closed before the client hears back.
    pub fn resetting(&self, resets: f64, seed: u64) -> Result<Moto, String> {
        let (resets, seed) = (resets.to_string(), seed.to_string());
        Self::spawn(
            "fault_proxy.py",
            &[&self.endpoint, "--resets", &resets, "--seed", &seed],
        )
    }

    /// A helper script of `tests/support` that prints its port first and serves until stdin closes.
    fn spawn(script: &str, args: &[&str]) -> Result<Moto, String> {
        let python = python();
        let script = workspace_root().join("tests/support").join(script);
        let mut child = Command::new(&python)
            .arg(&script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "could not start moto with {}: {e}. Run the README's test command (scripts/test), which installs moto into .venv, or set DATAPLATFORM_TEST_PYTHON",
                    python.display()
                )
            })?;
        let stdout = child.stdout.take().ok_or("moto's stdout was not captured")?;
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .map_err(|e| format!("reading moto's port: {e}"))?;
        let port: u16 = first_line.trim().parse().map_err(|_| {
            format!(
                "moto did not print its port (got {first_line:?}); is moto[server] installed for {}?",
                python.display()
            )
        })?;
        let stdin = child.stdin.take().ok_or("moto's stdin was not captured")?;
        Ok(Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        })
    }

    /// An engine whose every call goes to this server (or proxy), as `--aws-endpoint-url` sends it.
    pub async fn engine(&self) -> dataplatform_engine::Engine {
        let settings = dataplatform_aws::AwsSettings {
            endpoint_url: Some(self.endpoint.clone()),
            ..Default::default()
        };
        let sessions = dataplatform_aws::Sessions::new(self.base_config().await, settings);
        dataplatform_engine::Engine::new(std::sync::Arc::new(sessions))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK configuration with moto's default account (123456789012) and dummy credentials.
    pub async fn base_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(TEST_REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto-harness"))
            .load()
            .await
    }

    /// SDK configuration whose calls act in `account_id`: moto scopes everything made with
    /// credentials from sts:AssumeRole to the role's account, as AWS does.
    pub async fn account_config(&self, account_id: &str) -> SdkConfig {
        let base = self.base_config().await;
        let assumed = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account_id}:role/dataplatform-test"))
            .role_session_name("dataplatform-test")
            .send()
            .await
            .unwrap_or_else(|e| panic!("sts:AssumeRole into {account_id} on moto: {e:?}"));
        let creds = assumed
            .credentials()
            .unwrap_or_else(|| panic!("AssumeRole into {account_id} returned no credentials"));
        base.into_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_owned()),
                None,
                "moto-assumed-role",
            )))
            .build()
    }
}

/// S3 client configuration for moto: path-style addressing, since `<bucket>.127.0.0.1` does not
/// resolve. Tests add what they need (an interceptor, say) before building.
pub fn s3_config(config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(config).force_path_style(true)
}

/// An S3 client for moto.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(config).build())
}

/// Creates `bucket` in the test region; panics when AWS refuses.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    try_create_bucket(s3, bucket)
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

/// Creates `bucket` in the test region, returning AWS's answer.
pub async fn try_create_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<
    aws_sdk_s3::operation::create_bucket::CreateBucketOutput,
    aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::create_bucket::CreateBucketError>,
> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(TEST_REGION))
                .build(),
        )
        .send()
        .await
}

/// A 12-digit account id no other test in this process uses.
pub fn unique_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:012}",
        100_000_000_000 + u64::from(std::process::id() % 10_000) * 10_000 + n
    )
}

/// A name (lowercase, bucket-safe) no other test in this process uses; `prefix` says which test.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The interpreter of the test virtualenv (moto, helm-python-sdk).
pub fn python() -> PathBuf {
    match std::env::var_os("DATAPLATFORM_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join(".venv/bin/python"),
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// An engine whose sessions start from moto's endpoint and test credentials, like the CLI with
/// `--aws-endpoint-url`. Each engine has its own call counter.
pub async fn engine() -> dataplatform_engine::Engine {
    engine_with(dataplatform_aws::AwsSettings::default()).await
}

pub async fn engine_with(settings: dataplatform_aws::AwsSettings) -> dataplatform_engine::Engine {
    let sessions = dataplatform_aws::Sessions::new(Moto::shared().base_config().await, settings);
    dataplatform_engine::Engine::new(std::sync::Arc::new(sessions))
}

/// A DataPlatformAccount object for `account_id`, reached through a role in that account (moto's
/// AssumeRole gives credentials scoped to it), with `extra_spec` YAML merged into the spec.
pub fn account_object(account_id: &str, extra_spec: &str) -> dataplatform_engine::AccountObject {
    let mut spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&format!(
        "accountId: \"{account_id}\"\nregion: {TEST_REGION}\nroleArn: arn:aws:iam::{account_id}:role/dataplatform-operator\n"
    ))
    .expect("base spec");
    if !extra_spec.trim().is_empty() {
        let extra: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(extra_spec).expect("extra spec is YAML");
        if let serde_yaml_ng::Value::Mapping(map) = &mut spec {
            map.extend(extra);
        }
    }
    dataplatform_engine::AccountObject {
        id: dataplatform_engine::ObjectId {
            namespace: "tenant".to_owned(),
            name: unique_name("acct"),
        },
        generation: Some(1),
        annotations: Default::default(),
        spec: serde_yaml_ng::from_value(spec).expect("spec deserializes"),
        status: None,
        child_accounts: Default::default(),
    }
}

/// Runs passes until one makes no change, feeding each status into the next as the controller would.
pub async fn converge(
    engine: &dataplatform_engine::Engine,
    object: &mut dataplatform_engine::AccountObject,
) -> dataplatform_engine::Reconciled {
    for _ in 0..5 {
        let pass = engine.reconcile(object, Default::default()).await;
        object.status = Some(pass.status.clone());
        if let Some(error) = &pass.error {
            panic!("reconcile of {} failed: {error}", object.id);
        }
        if pass.applied.is_empty() && pass.ready {
            return pass;
        }
    }
    panic!("{} did not converge in 5 passes", object.id);
}

/// Two default subnets (of two zones, as a DB subnet group needs) and the default security group of
/// `account_id` in moto (every moto account has a default VPC with its own random ids), as YAML for
/// the existing form of `spec.network`.
pub async fn default_network_yaml(account_id: &str) -> String {
    let config = Moto::shared().account_config(account_id).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("moto DescribeSubnets");
    let mut two: Vec<&aws_sdk_ec2::types::Subnet> = Vec::new();
    for subnet in subnets.subnets() {
        if !two.iter().any(|s| s.availability_zone() == subnet.availability_zone()) && two.len() < 2 {
            two.push(subnet);
        }
    }
    assert_eq!(two.len(), 2, "moto's default VPC has a subnet per zone");
    let subnet = two[0];
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(subnet.vpc_id().unwrap_or_default())
                .build(),
        )
        .send()
        .await
        .expect("moto DescribeSecurityGroups");
    let group = groups
        .security_groups()
        .first()
        .expect("the default VPC has a security group");
    format!(
        "network:\n  subnetIds: [{}, {}]\n  securityGroupIds: [{}]\n",
        subnet.subnet_id().unwrap_or_default(),
        two[1].subnet_id().unwrap_or_default(),
        group.group_id().unwrap_or_default()
    )
}

/// An ECS client acting in `account_id`, for tests that look at or change ECS behind the operator.
pub async fn ecs_client(account_id: &str) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&Moto::shared().account_config(account_id).await)
}

/// Plays ECS's scheduler, which moto does not run: moto reports no running task for a new service
/// until an UpdateService sets a desired count, and then reports exactly that many. Setting every
/// service's desired count to itself is what "the tasks have started" looks like there.
pub async fn start_tasks(account_id: &str, cluster: &str) {
    Moto::shared().start_tasks(account_id, cluster).await;
}

impl Moto {
    /// [`start_tasks`] on this server.
    pub async fn start_tasks(&self, account_id: &str, cluster: &str) {
        start_tasks_with(
            aws_sdk_ecs::Client::new(&self.account_config(account_id).await),
            cluster,
        )
        .await;
    }
}

async fn start_tasks_with(ecs: aws_sdk_ecs::Client, cluster: &str) {
    let arns = ecs
        .list_services()
        .cluster(cluster)
        .send()
        .await
        .expect("moto ListServices");
    for arn in arns.service_arns() {
        let described = ecs
            .describe_services()
            .cluster(cluster)
            .services(arn)
            .send()
            .await
            .expect("moto DescribeServices");
        for service in described.services().iter().filter(|s| s.status() == Some("ACTIVE")) {
            ecs.update_service()
                .cluster(cluster)
                .service(arn)
                .desired_count(service.desired_count())
                .send()
                .await
                .expect("moto UpdateService");
        }
    }
}

/// [`converge`] for an account with services: after every pass the test plays ECS's scheduler
/// ([`start_tasks`]), since Ready waits for the tasks to run.
pub async fn converge_running(
    engine: &dataplatform_engine::Engine,
    object: &mut dataplatform_engine::AccountObject,
) -> dataplatform_engine::Reconciled {
    let cluster =
        dataplatform_api::names::AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id)
            .ecs_cluster();
    let mut last = String::new();
    for _ in 0..6 {
        let pass = engine.reconcile(object, Default::default()).await;
        object.status = Some(pass.status.clone());
        if let Some(error) = &pass.error {
            panic!("reconcile of {} failed: {error}", object.id);
        }
        if pass.applied.is_empty() && pass.ready {
            return pass;
        }
        let applied: Vec<String> = pass.applied.iter().map(|a| a.summary()).collect();
        let ready = pass.status.conditions.iter().find(|c| c.type_ == "Ready");
        last = format!("applied {applied:?}; Ready: {:?}", ready.map(|c| &c.message));
        // Boxed, so this loop's future stays small on the test thread's stack.
        Box::pin(start_tasks(&object.spec.account_id, &cluster)).await;
    }
    panic!("{} did not converge in 6 passes; the last: {last}", object.id);
}

/// examples/ copied to a fresh directory with the placeholder subnet and security group replaced by
/// real ones of `endpoint`'s accounts (tests/support/localize_examples.py, which the demo runs too).
pub fn localized_examples(endpoint: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name("examples"));
    let status = Command::new(python())
        .arg(workspace_root().join("tests/support/localize_examples.py"))
        .args([endpoint, &dir.to_string_lossy()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .status()
        .expect("run localize_examples.py");
    assert!(status.success(), "localize_examples.py failed");
    dir
}

/// One pass over a converged account that must find nothing to do; the calls it made.
pub async fn steady_pass(
    engine: &dataplatform_engine::Engine,
    object: &dataplatform_engine::AccountObject,
) -> dataplatform_aws::CallCounts {
    engine.sessions().counter().reset();
    let pass = engine.reconcile(object, Default::default()).await;
    assert!(
        pass.error.is_none() && pass.applied.is_empty(),
        "{:?} {:?}",
        pass.error,
        pass.applied
    );
    let calls = engine.sessions().counter().snapshot();
    assert_eq!(calls.writes(), 0, "{:?}", calls.write_operations());
    calls
}

/// Deletion passes, as the controller runs them, until one finishes; the last one, which must have
/// finished.
pub async fn delete_until_finished(
    engine: &dataplatform_engine::Engine,
    object: &dataplatform_engine::AccountObject,
) -> dataplatform_engine::deletion::Deleted {
    let mut deleted = engine.delete(object, &[]).await;
    for _ in 0..8 {
        if deleted.finished {
            break;
        }
        deleted = engine.delete(object, &[]).await;
    }
    assert!(deleted.finished, "{:?} {:?}", deleted.waiting, deleted.error);
    deleted
}

/// Every call the engine made is in the permission catalogue under the SDK's own service and
/// operation names, so `iam-policy` (built from the catalogue) names what the calls really are.
pub fn assert_every_call_is_catalogued(engine: &dataplatform_engine::Engine) {
    let counts = engine.sessions().counter().snapshot();
    assert!(counts.total() > 0, "the test made no AWS call to check");
    for key in counts.0.keys() {
        assert!(
            dataplatform_aws::permissions::ALL
                .iter()
                .any(|op| op.service == key.service && op.name == key.operation),
            "{}:{} is not in crates/aws/src/permissions.rs under the SDK's name",
            key.service,
            key.operation
        );
    }
}

/// Changes made behind the operator's back in the examples' accounts (after an `apply`), one per
/// part, each with a value the plan prints the same way every time: what the golden plan of a
/// drifted account shows.
pub async fn drift_the_examples(moto: &Moto) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let camden = AccountNames::new("la-camden", "camden", "111111111111");
    let config = moto.account_config("111111111111").await;
    s3_client(&config)
        .put_bucket_versioning()
        .bucket(camden.bucket(BucketPurpose::Datastore))
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    aws_sdk_iam::Client::new(&config)
        .untag_role()
        .role_name(camden.task_role())
        .tag_keys("cost-centre")
        .send()
        .await
        .expect("untag the task role");
    aws_sdk_rds::Client::new(&config)
        .modify_db_cluster()
        .db_cluster_identifier(camden.db_cluster())
        .backup_retention_period(14)
        .apply_immediately(true)
        .send()
        .await
        .expect("change backup retention");
    aws_sdk_ecs::Client::new(&config)
        .update_service()
        .cluster(camden.ecs_cluster())
        .service(camden.ecs_service("daemon"))
        .desired_count(3)
        .send()
        .await
        .expect("scale the daemon");
    let organisation = moto.account_config("999999999999").await;
    aws_sdk_ecr::Client::new(&organisation)
        .put_image_tag_mutability()
        .repository_name("dagster")
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .expect("make tags immutable");
}

/// Runs `statement` (Python, with `client(service)` giving a boto3 client acting in `account_id`)
/// against the shared moto and returns what it prints: for the few services whose SDK the tests do
/// not link (ACM, Secrets Manager, SSM), through boto3, moto's own dependency.
pub fn boto3(account_id: &str, statement: &str) -> String {
    let script = format!(
        "import boto3\n\
         kw = dict(endpoint_url='{endpoint}', region_name='{TEST_REGION}', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         c = boto3.client('sts', **kw).assume_role(RoleArn='arn:aws:iam::{account_id}:role/dataplatform-test', RoleSessionName='boto3')['Credentials']\n\
         kw.update(aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])\n\
         client = lambda service: boto3.client(service, **kw)\n\
         {statement}\n",
        endpoint = Moto::shared().endpoint(),
    );
    let output = Command::new(python())
        .args(["-c", &script])
        .output()
        .expect("run python for boto3");
    assert!(
        output.status.success(),
        "boto3 on moto failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// An ACM certificate for `domain` in `account_id` on moto, which checks an HTTPS listener's
/// certificate exists.
pub fn request_certificate(account_id: &str, domain: &str) -> String {
    boto3(
        account_id,
        &format!("print(client('acm').request_certificate(DomainName='{domain}')['CertificateArn'])"),
    )
}

/// IAM returns policy documents percent-encoded.
pub fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 policy")
}
