//! Credentials for one account through sts:AssumeRole, made with the process's one STS client. An
//! account's provider lives as long as the process and keeps the role's credentials until shortly
//! before they expire, so a session dropped from the cache and built again later assumes nothing
//! again, and no account carries an STS client of its own (issue 20).

use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use tokio::sync::Mutex;

use crate::session::{AccountTarget, ROLE_SESSION_NAME};

/// Credentials are renewed this long before they expire.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
pub struct AssumedRole {
    role_arn: String,
    external_id: Option<String>,
    region: String,
    sts: aws_sdk_sts::Client,
    cached: Mutex<Option<Credentials>>,
}

impl AssumedRole {
    /// `sts` acts with the operator's own credentials.
    pub fn new(target: &AccountTarget, role_arn: &str, sts: aws_sdk_sts::Client) -> Self {
        Self {
            role_arn: role_arn.to_owned(),
            external_id: target.external_id.clone(),
            region: target.region.clone(),
            sts,
            cached: Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + RENEW_BEFORE_EXPIRY)
        };
        if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        // The regional STS endpoint of the account's region, as the SDK's own provider uses.
        let regional = aws_sdk_sts::config::Builder::default().region(Region::new(self.region.clone()));
        let assumed = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(ROLE_SESSION_NAME)
            .set_external_id(self.external_id.clone())
            .customize()
            .config_override(regional)
            .send()
            .await
            .map_err(CredentialsError::provider_error)?;
        let given = assumed
            .credentials()
            .ok_or_else(|| CredentialsError::unhandled("sts:AssumeRole answered without credentials"))?;
        let credentials = Credentials::new(
            given.access_key_id(),
            given.secret_access_key(),
            Some(given.session_token().to_owned()),
            SystemTime::try_from(*given.expiration()).ok(),
            "dataplatform-assume-role",
        );
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
