//! Per-account sessions: credentials for one account (sts:AssumeRole with the spec's role and external
//! id, or the ambient credentials), its clients, its request budget, and the check that the identity
//! really is the account the spec names before anything is written.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use tokio::sync::{Mutex, OnceCell};

use crate::budget::{AccountBudget, BudgetConfig};
use crate::calls::CallCounter;
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
}

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

/// Sessions for every account the process manages, made once and reused.
pub struct Sessions {
    base: SdkConfig,
    settings: AwsSettings,
    counter: CallCounter,
    sessions: Mutex<HashMap<AccountTarget, Arc<AccountSession>>>,
    budgets: Mutex<HashMap<String, Arc<AccountBudget>>>,
}

impl Sessions {
    /// Credentials, region and endpoint from the standard AWS sources (environment, profile, IRSA,
    /// instance role), with `settings.endpoint_url` taking precedence over `AWS_ENDPOINT_URL`.
    pub async fn from_environment(settings: AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::new(loader.load().await, settings)
    }

    pub fn new(base: SdkConfig, settings: AwsSettings) -> Self {
        Self {
            base,
            settings,
            counter: CallCounter::new(),
            sessions: Mutex::new(HashMap::new()),
            budgets: Mutex::new(HashMap::new()),
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
            return session.clone();
        }
        let budget = self
            .budgets
            .lock()
            .await
            .entry(target.account_id.clone())
            .or_insert_with(|| Arc::new(AccountBudget::new(self.settings.budget)))
            .clone();
        let config = self.account_config(target).await;
        let session = Arc::new(AccountSession::new(
            target.clone(),
            &config,
            budget,
            self.settings.retry,
            self.counter.clone(),
            &self.settings.interceptors,
        ));
        sessions.insert(target.clone(), session.clone());
        session
    }

    async fn account_config(&self, target: &AccountTarget) -> SdkConfig {
        let region = Region::new(target.region.clone());
        let builder = self.base.clone().into_builder().region(region.clone());
        match &target.role_arn {
            None => builder.build(),
            Some(role_arn) => {
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                    .session_name(ROLE_SESSION_NAME)
                    .region(region)
                    .configure(&self.base);
                if let Some(external_id) = &target.external_id {
                    provider = provider.external_id(external_id);
                }
                // The SDK's identity cache keeps the assumed credentials and refreshes them before
                // they expire.
                builder
                    .credentials_provider(SharedCredentialsProvider::new(provider.build().await))
                    .build()
            }
        }
    }
}

/// One account: its clients (all counted, all without SDK retries), budget and retry policy.
pub struct AccountSession {
    pub target: AccountTarget,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) ecs: aws_sdk_ecs::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    sts: aws_sdk_sts::Client,
    /// Built on first use: most accounts expose no service, and a client costs memory per account.
    elbv2: std::sync::OnceLock<aws_sdk_elasticloadbalancingv2::Client>,
    cloudwatch_logs: std::sync::OnceLock<aws_sdk_cloudwatchlogs::Client>,
    application_autoscaling: std::sync::OnceLock<aws_sdk_applicationautoscaling::Client>,
    config: SdkConfig,
    interceptors: Vec<SharedInterceptor>,
    budget: Arc<AccountBudget>,
    retry: RetryPolicy,
    verified_identity: OnceCell<String>,
    policy_edits: Mutex<()>,
}

impl AccountSession {
    fn new(
        target: AccountTarget,
        config: &SdkConfig,
        budget: Arc<AccountBudget>,
        retry: RetryPolicy,
        counter: CallCounter,
        interceptors: &[SharedInterceptor],
    ) -> Self {
        let mut interceptors = interceptors.to_vec();
        interceptors.push(SharedInterceptor::new(counter));
        let custom_endpoint = config.endpoint_url().is_some();
        let mut s3 = aws_sdk_s3::config::Builder::from(config)
            // Custom endpoints (moto, LocalStack) serve buckets by path, not by virtual host.
            .force_path_style(custom_endpoint)
            .retry_config(RetryConfig::disabled());
        let mut iam = aws_sdk_iam::config::Builder::from(config).retry_config(RetryConfig::disabled());
        let mut rds = aws_sdk_rds::config::Builder::from(config).retry_config(RetryConfig::disabled());
        let mut sts = aws_sdk_sts::config::Builder::from(config).retry_config(RetryConfig::disabled());
        let mut ecs = aws_sdk_ecs::config::Builder::from(config).retry_config(RetryConfig::disabled());
        let mut ec2 = aws_sdk_ec2::config::Builder::from(config).retry_config(RetryConfig::disabled());
        let mut ecr = aws_sdk_ecr::config::Builder::from(config).retry_config(RetryConfig::disabled());
        let mut kms = aws_sdk_kms::config::Builder::from(config).retry_config(RetryConfig::disabled());
        for interceptor in interceptors.iter().cloned() {
            s3.push_interceptor(interceptor.clone());
            iam.push_interceptor(interceptor.clone());
            rds.push_interceptor(interceptor.clone());
            ecs.push_interceptor(interceptor.clone());
            ec2.push_interceptor(interceptor.clone());
            ecr.push_interceptor(interceptor.clone());
            kms.push_interceptor(interceptor.clone());
            sts.push_interceptor(interceptor);
        }
        let (s3, iam, rds, sts) = (s3.build(), iam.build(), rds.build(), sts.build());
        Self {
            target,
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::from_conf(iam),
            rds: aws_sdk_rds::Client::from_conf(rds),
            ecs: aws_sdk_ecs::Client::from_conf(ecs.build()),
            ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
            ecr: aws_sdk_ecr::Client::from_conf(ecr.build()),
            kms: aws_sdk_kms::Client::from_conf(kms.build()),
            sts: aws_sdk_sts::Client::from_conf(sts),
            elbv2: std::sync::OnceLock::new(),
            cloudwatch_logs: std::sync::OnceLock::new(),
            application_autoscaling: std::sync::OnceLock::new(),
            config: config.clone(),
            interceptors,
            budget,
            retry,
            verified_identity: OnceCell::new(),
            policy_edits: Mutex::new(()),
        }
    }

    pub(crate) fn elbv2(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        self.elbv2.get_or_init(|| {
            let mut builder = aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.config)
                .retry_config(RetryConfig::disabled());
            for interceptor in &self.interceptors {
                builder.push_interceptor(interceptor.clone());
            }
            aws_sdk_elasticloadbalancingv2::Client::from_conf(builder.build())
        })
    }

    pub(crate) fn cloudwatch_logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.cloudwatch_logs.get_or_init(|| {
            let mut builder =
                aws_sdk_cloudwatchlogs::config::Builder::from(&self.config).retry_config(RetryConfig::disabled());
            for interceptor in &self.interceptors {
                builder.push_interceptor(interceptor.clone());
            }
            aws_sdk_cloudwatchlogs::Client::from_conf(builder.build())
        })
    }

    pub(crate) fn application_autoscaling(&self) -> &aws_sdk_applicationautoscaling::Client {
        self.application_autoscaling.get_or_init(|| {
            let mut builder = aws_sdk_applicationautoscaling::config::Builder::from(&self.config)
                .retry_config(RetryConfig::disabled());
            for interceptor in &self.interceptors {
                builder.push_interceptor(interceptor.clone());
            }
            aws_sdk_applicationautoscaling::Client::from_conf(builder.build())
        })
    }

    /// Held while a policy document several owners share (a bucket or repository policy) is read,
    /// merged and written, so an account's own reconcile and its grants never overwrite each
    /// other's statements from one operator process.
    pub async fn lock_policy_edits(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.policy_edits.lock().await
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
        self.verified_identity
            .get_or_try_init(|| async {
                let identity = self
                    .call(&op::STS_GET_CALLER_IDENTITY, || self.sts.get_caller_identity().send())
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

    /// Every AWS call of the adapters goes through here: budget, retry, classification.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &'static Operation, send: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, Response>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        retry::call(
            &self.retry,
            &self.budget,
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
            &self.budget,
            operation.service,
            operation.name,
            repeat,
            send,
        )
        .await
    }

    /// How often and how patiently calls are tried again (for a caller retrying by hand).
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
