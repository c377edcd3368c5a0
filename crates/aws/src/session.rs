//! Per-account sessions: credentials for one account (sts:AssumeRole with the spec's role and external
//! id, or the ambient credentials), its clients, its request budget, and the check that the identity
//! really is the account the spec names before anything is written.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use tokio::sync::{Mutex, OnceCell, Semaphore};

use crate::budget::{AccountBudget, BudgetConfig};
use crate::calls::CallCounter;
use crate::credentials::AssumedRole;
use crate::error::AwsError;
use crate::permissions::{self as op, Operation};
use crate::retry::{self, Repeat, RetryPolicy};

/// Session name the operator uses in CloudTrail, so its calls are easy to find.
pub const ROLE_SESSION_NAME: &str = "dataplatform-operator";

#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// Sends every client to this endpoint (moto, LocalStack). The SDK's own `AWS_ENDPOINT_URL`
    /// variable is honoured as well when this is not set.
    pub endpoint_url: Option<String>,
    pub budget: BudgetConfig,
    pub retry: RetryPolicy,
    /// Added to every client, e.g. the benchmark's request recorder.
    pub interceptors: Vec<SharedInterceptor>,
    /// How long one attempt of a call may take before it counts as a transient failure and is
    /// tried again; `None`: [`ATTEMPT_TIMEOUT`].
    pub attempt_timeout: Option<Duration>,
}

/// An answer that never comes (a connection the endpoint accepted and never served, a network
/// path that went away) must not hold its pass, and with it the object, forever: the SDK has no
/// timeout of its own for it. AWS answers in well under a second; the slowest calls we make (an
/// RDS or ECS create) in a few.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which account to reach and how.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountTarget {
    pub account_id: String,
    pub region: String,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    #[error(
        "the credentials for account {expected} belong to account {actual} ({arn}); check spec.roleArn and the operator's own credentials"
    )]
    AccountMismatch {
        expected: String,
        actual: String,
        arn: String,
    },
    #[error(transparent)]
    Call(#[from] AwsError),
}

/// Sessions for every account the process manages. The last [`SESSION_CACHE`] used are kept; an
/// older one is dropped and built again when its account is next reconciled. What must outlive a
/// session is kept per account apart from it, and costs little: the request budget, the lock on
/// shared policy documents, the identity check's answer and the assumed role's credentials.
pub struct Sessions {
    base: SdkConfig,
    settings: AwsSettings,
    counter: CallCounter,
    /// The one STS client that assumes every account's role, with the operator's own credentials.
    sts: aws_sdk_sts::Client,
    sessions: Mutex<SessionCache>,
    budgets: Mutex<HashMap<String, Arc<AccountBudget>>>,
    policy_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    targets: Mutex<HashMap<AccountTarget, Arc<TargetState>>>,
    in_flight: Arc<Semaphore>,
}

/// AWS calls out at once, across every account. Each holds an HTTP connection (its buffers and
/// TLS state) and the SDK's state of the call; without a bound, a pass calls every read of every
/// part at once and the passes in flight together held hundreds of connections (issue 20). The
/// request budgets bound the rate: at tens of milliseconds a call, 32 out at once is more than
/// the budgets of the passes in flight let through.
pub const CALLS_IN_FLIGHT: usize = 32;

/// Sessions kept at once. A session holds an SDK client per service its account used (tens of KiB
/// each); the controller works on a few accounts at a time (`--concurrency` of each kind, a grant
/// reaching two accounts), so 32 keeps every account of the passes in flight and bounds the
/// memory whatever the number of accounts.
pub const SESSION_CACHE: usize = 32;

/// The sessions kept, with when each was last asked for.
#[derive(Default)]
struct SessionCache {
    entries: HashMap<AccountTarget, (Arc<AccountSession>, u64)>,
    clock: u64,
}

impl SessionCache {
    fn get(&mut self, target: &AccountTarget) -> Option<Arc<AccountSession>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(target).map(|(session, used)| {
            *used = clock;
            session.clone()
        })
    }

    /// Keeps `session`, dropping the least recently used when full (a pass still using it keeps
    /// its own reference).
    fn insert(&mut self, target: AccountTarget, session: Arc<AccountSession>) {
        if self.entries.len() >= SESSION_CACHE
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(t, _)| t.clone())
        {
            self.entries.remove(&oldest);
        }
        self.clock += 1;
        self.entries.insert(target, (session, self.clock));
    }
}

/// What one target keeps across its sessions.
#[derive(Default)]
struct TargetState {
    /// The ARN sts:GetCallerIdentity answered, once it named the right account.
    verified_identity: OnceCell<String>,
    /// The assumed role's credentials (none: the operator's own).
    credentials: OnceLock<Option<SharedCredentialsProvider>>,
    /// The account's applied IAM quotas (GetAccountSummary), read once.
    account_quotas: OnceCell<crate::quotas::AccountQuotas>,
}

impl Sessions {
    /// Credentials, region and endpoint from the standard AWS sources (environment, profile, IRSA,
    /// instance role), with `settings.endpoint_url` taking precedence over `AWS_ENDPOINT_URL`.
    pub async fn from_environment(settings: AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(shared_https_client());
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::new(loader.load().await, settings)
    }

    /// `base` without an HTTP client gets the shared one.
    pub fn new(base: SdkConfig, settings: AwsSettings) -> Self {
        let base = match base.http_client() {
            Some(_) => base,
            None => base.into_builder().http_client(shared_https_client()).build(),
        };
        // SDK retries are off (ours are in `retry`): each of our attempts is one SDK attempt.
        let timeouts = base
            .timeout_config()
            .map_or_else(aws_smithy_types::timeout::TimeoutConfig::builder, |t| t.to_builder())
            .operation_attempt_timeout(settings.attempt_timeout.unwrap_or(ATTEMPT_TIMEOUT))
            .build();
        let base = base.into_builder().timeout_config(timeouts).build();
        Self {
            sts: aws_sdk_sts::Client::new(&base),
            base,
            settings,
            counter: CallCounter::new(),
            sessions: Mutex::new(SessionCache::default()),
            budgets: Mutex::new(HashMap::new()),
            policy_locks: Mutex::new(HashMap::new()),
            targets: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)),
        }
    }

    pub fn counter(&self) -> &CallCounter {
        &self.counter
    }

    pub fn endpoint_url(&self) -> Option<&str> {
        self.base.endpoint_url()
    }

    pub async fn session(&self, target: &AccountTarget) -> Arc<AccountSession> {
        let mut sessions = self.sessions.lock().await;
        if let Some(session) = sessions.get(target) {
            return session;
        }
        let account = &target.account_id;
        let budget = per_key(&self.budgets, account, || AccountBudget::new(self.settings.budget)).await;
        let policy_edits = per_key(&self.policy_locks, account, || Mutex::new(())).await;
        let state = per_key(&self.targets, target, TargetState::default).await;
        let config = self.account_config(target, &state);
        let session = Arc::new(AccountSession::new(
            target.clone(),
            &config,
            AccountShared {
                budget,
                in_flight: self.in_flight.clone(),
                policy_edits,
                state,
            },
            self.settings.retry,
            self.counter.clone(),
            &self.settings.interceptors,
        ));
        sessions.insert(target.clone(), session.clone());
        session
    }

    fn account_config(&self, target: &AccountTarget, state: &TargetState) -> SdkConfig {
        let builder = self
            .base
            .clone()
            .into_builder()
            .region(Region::new(target.region.clone()));
        let credentials = state.credentials.get_or_init(|| {
            target
                .role_arn
                .as_ref()
                .map(|role_arn| SharedCredentialsProvider::new(AssumedRole::new(target, role_arn, self.sts.clone())))
        });
        match credentials {
            // The SDK's identity cache keeps the assumed credentials and asks again before they
            // expire; the provider keeps them too, for the sessions built after this one.
            Some(provider) => builder.credentials_provider(provider.clone()).build(),
            None => builder.build(),
        }
    }
}

/// The value kept under `key`, made by `make` the first time.
async fn per_key<K, V>(map: &Mutex<HashMap<K, Arc<V>>>, key: &K, make: impl FnOnce() -> V) -> Arc<V>
where
    K: Clone + Eq + std::hash::Hash,
{
    map.lock()
        .await
        .entry(key.clone())
        .or_insert_with(|| Arc::new(make()))
        .clone()
}

/// What a session shares with the other sessions of its account (see [`Sessions`]), and the
/// permits for calls out that every session shares.
struct AccountShared {
    budget: Arc<AccountBudget>,
    /// The process's permits for calls out at once, shared by every account.
    in_flight: Arc<Semaphore>,
    policy_edits: Arc<Mutex<()>>,
    state: Arc<TargetState>,
}

/// Idle connections kept to one host. hyper keeps every connection a burst of calls opened (no
/// limit by default) for 90 s, each with its buffers and TLS state; a pass's parts call at once,
/// so a few passes opened hundreds. A pass's parts reach a host a few at a time.
const IDLE_CONNECTIONS_PER_HOST: usize = 8;
/// How long an idle connection is kept: long enough for the next calls of the passes in flight,
/// not for the next resync minutes later.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(20);

/// The HTTPS client every SDK client of every account uses: one connection pool and one TLS root
/// store for the process. Without it each SDK client builds its own (the SDK's default: rustls
/// with aws-lc, the system's roots, `HTTPS_PROXY`/`NO_PROXY` from the environment), which costs
/// about 1 MiB per account and reuses no connection across accounts.
fn shared_https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            aws_smithy_http_client::ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.set_pool_max_idle_per_host(Some(IDLE_CONNECTIONS_PER_HOST));
        connector.set_pool_idle_timeout(Some(Some(IDLE_CONNECTION_TIMEOUT)));
        connector.build()
    })
}

/// A getter per client that builds it on first use from the session's configuration, without SDK
/// retries (ours are in `retry`) and with the session's interceptors (the call counter among them).
macro_rules! lazy_clients {
    ($($getter:ident: $field:ident = $sdk:ident),* $(,)?) => {
        $(
            pub(crate) fn $getter(&self) -> &$sdk::Client {
                self.$field.get_or_init(|| {
                    let mut builder = $sdk::config::Builder::from(&self.config).retry_config(RetryConfig::disabled());
                    for interceptor in &self.interceptors {
                        builder.push_interceptor(interceptor.clone());
                    }
                    $sdk::Client::from_conf(builder.build())
                })
            }
        )*
    };
}

/// One account: its clients (all counted, all without SDK retries), budget and retry policy.
pub struct AccountSession {
    pub target: AccountTarget,
    // Every client is built the first time the account needs its service: most accounts use a
    // few, and a client costs memory per account (issue 20).
    s3: OnceLock<aws_sdk_s3::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    rds: OnceLock<aws_sdk_rds::Client>,
    ecs: OnceLock<aws_sdk_ecs::Client>,
    ec2: OnceLock<aws_sdk_ec2::Client>,
    ecr: OnceLock<aws_sdk_ecr::Client>,
    kms: OnceLock<aws_sdk_kms::Client>,
    sts: OnceLock<aws_sdk_sts::Client>,
    elbv2: OnceLock<aws_sdk_elasticloadbalancingv2::Client>,
    cloudwatch_logs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
    application_autoscaling: OnceLock<aws_sdk_applicationautoscaling::Client>,
    servicediscovery: OnceLock<aws_sdk_servicediscovery::Client>,
    secretsmanager: OnceLock<aws_sdk_secretsmanager::Client>,
    route53: OnceLock<aws_sdk_route53::Client>,
    acm: OnceLock<aws_sdk_acm::Client>,
    cognito: OnceLock<aws_sdk_cognitoidentityprovider::Client>,
    config: SdkConfig,
    interceptors: Vec<SharedInterceptor>,
    shared: AccountShared,
    retry: RetryPolicy,
}

impl AccountSession {
    fn new(
        target: AccountTarget,
        config: &SdkConfig,
        shared: AccountShared,
        retry: RetryPolicy,
        counter: CallCounter,
        interceptors: &[SharedInterceptor],
    ) -> Self {
        let mut interceptors = interceptors.to_vec();
        interceptors.push(SharedInterceptor::new(counter));
        Self {
            target,
            s3: OnceLock::new(),
            iam: OnceLock::new(),
            rds: OnceLock::new(),
            ecs: OnceLock::new(),
            ec2: OnceLock::new(),
            ecr: OnceLock::new(),
            kms: OnceLock::new(),
            sts: OnceLock::new(),
            elbv2: OnceLock::new(),
            cloudwatch_logs: OnceLock::new(),
            application_autoscaling: OnceLock::new(),
            servicediscovery: OnceLock::new(),
            secretsmanager: OnceLock::new(),
            route53: OnceLock::new(),
            acm: OnceLock::new(),
            cognito: OnceLock::new(),
            config: config.clone(),
            interceptors,
            shared,
            retry,
        }
    }

    pub(crate) fn s3_client(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let mut builder = aws_sdk_s3::config::Builder::from(&self.config)
                // Custom endpoints (moto, LocalStack) serve buckets by path, not by virtual host.
                .force_path_style(self.config.endpoint_url().is_some())
                .retry_config(RetryConfig::disabled());
            for interceptor in &self.interceptors {
                builder.push_interceptor(interceptor.clone());
            }
            aws_sdk_s3::Client::from_conf(builder.build())
        })
    }

    lazy_clients! {
        iam_client: iam = aws_sdk_iam,
        rds_client: rds = aws_sdk_rds,
        ecs_client: ecs = aws_sdk_ecs,
        ec2_client: ec2 = aws_sdk_ec2,
        ecr_client: ecr = aws_sdk_ecr,
        kms_client: kms = aws_sdk_kms,
        sts_client: sts = aws_sdk_sts,
        elbv2: elbv2 = aws_sdk_elasticloadbalancingv2,
        cloudwatch_logs: cloudwatch_logs = aws_sdk_cloudwatchlogs,
        application_autoscaling: application_autoscaling = aws_sdk_applicationautoscaling,
        servicediscovery: servicediscovery = aws_sdk_servicediscovery,
        secretsmanager: secretsmanager = aws_sdk_secretsmanager,
        route53_client: route53 = aws_sdk_route53,
        acm_client: acm = aws_sdk_acm,
        cognito_client: cognito = aws_sdk_cognitoidentityprovider,
    }

    /// Held while a policy document several owners share (a bucket or repository policy) is read,
    /// merged and written, so an account's own reconcile and its grants never overwrite each
    /// other's statements from one operator process.
    pub async fn lock_policy_edits(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.shared.policy_edits.lock().await
    }

    pub fn account_id(&self) -> &str {
        &self.target.account_id
    }

    pub fn region(&self) -> &str {
        &self.target.region
    }

    /// sts:GetCallerIdentity must name the spec's account. Checked once per session (the role and
    /// credentials source never change within one); a failed check is asked again next time.
    pub async fn verify_identity(&self) -> Result<&str, IdentityError> {
        self.shared
            .state
            .verified_identity
            .get_or_try_init(|| async {
                let identity = self
                    .call(&op::STS_GET_CALLER_IDENTITY, || {
                        self.sts_client().get_caller_identity().send()
                    })
                    .await?;
                let actual = identity.account().unwrap_or_default();
                let arn = identity.arn().unwrap_or_default().to_owned();
                if actual != self.target.account_id {
                    return Err(IdentityError::AccountMismatch {
                        expected: self.target.account_id.clone(),
                        actual: actual.to_owned(),
                        arn,
                    });
                }
                Ok(arn)
            })
            .await
            .map(String::as_str)
    }

    /// Where the account's applied IAM quotas are kept once read (they outlive the session).
    pub(crate) fn account_quotas_cell(&self) -> &OnceCell<crate::quotas::AccountQuotas> {
        &self.shared.state.account_quotas
    }

    /// Every AWS call of the adapters goes through here: budget, retry, classification.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &'static Operation, send: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        retry::call(
            &self.retry,
            &self.shared.budget,
            &self.shared.in_flight,
            operation.service,
            operation.name,
            Repeat::Safe,
            send,
        )
        .await
    }

    /// [`Self::call`] for a call that must not run twice: a transient fault comes back at once
    /// (it may have been carried out), for the caller to look before it sends again.
    pub(crate) async fn call_not_repeated<T, E, F, Fut>(
        &self,
        operation: &'static Operation,
        send: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let repeat = Repeat::OnlyWhenRefused;
        retry::call(
            &self.retry,
            &self.shared.budget,
            &self.shared.in_flight,
            operation.service,
            operation.name,
            repeat,
            send,
        )
        .await
    }

    /// [`Self::call`] for a write whose answer is not needed.
    pub(crate) async fn write<T, E, F, Fut>(&self, operation: &'static Operation, send: F) -> Result<(), AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call(operation, send).await.map(drop)
    }

    /// [`Self::call`] for a deletion: what is already gone counts as deleted, so a deletion that is
    /// repeated (a lost answer, a resumed pass) or races another is done, not an error.
    pub(crate) async fn delete_if_exists<T, E, F, Fut>(
        &self,
        operation: &'static Operation,
        send: F,
    ) -> Result<(), AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        crate::error::optional(self.call(operation, send).await).map(drop)
    }

    /// How often and how patiently calls are tried again (for a caller retrying by hand).
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(i: usize) -> AccountTarget {
        let account_id = format!("{:012}", 100_000_000_000u64 + i as u64);
        AccountTarget {
            role_arn: Some(format!("arn:aws:iam::{account_id}:role/dataplatform-operator")),
            account_id,
            region: "eu-west-2".into(),
            external_id: None,
        }
    }

    #[tokio::test]
    async fn the_cache_is_bounded_and_what_outlives_a_session_is_kept() {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("eu-west-2"))
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .load()
            .await;
        let sessions = Sessions::new(base, AwsSettings::default());
        let first = sessions.session(&target(0)).await;
        assert!(
            Arc::ptr_eq(&first, &sessions.session(&target(0)).await),
            "kept while recent"
        );
        for i in 1..=SESSION_CACHE {
            sessions.session(&target(i)).await;
        }
        assert_eq!(sessions.sessions.lock().await.entries.len(), SESSION_CACHE);
        let again = sessions.session(&target(0)).await;
        assert!(
            !Arc::ptr_eq(&first, &again),
            "the least recently used was dropped and built again"
        );
        assert!(Arc::ptr_eq(&first.shared.budget, &again.shared.budget));
        assert!(Arc::ptr_eq(&first.shared.policy_edits, &again.shared.policy_edits));
        assert!(Arc::ptr_eq(&first.shared.state, &again.shared.state));
    }
}
