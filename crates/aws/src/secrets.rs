//! Secrets Manager: the client secrets a sign-in rule needs (`expose.signIn.oidc.clientSecret`).
//! Which version is current is read every pass (metadata only); the value only by the write that
//! hands it to ELB, into a [`SecretValue`] that never prints, serializes or clones.

use crate::error::{AwsError, ErrorClass, optional};
use crate::permissions as op;
use crate::session::AccountSession;

/// A secret's value on its way to the one request that needs it. `Debug` shows nothing of it.
pub struct SecretValue(String);

impl SecretValue {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

pub struct Secrets<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn secrets(&self) -> Secrets<'_> {
        Secrets { session: self }
    }
}

impl Secrets<'_> {
    /// The version id labelled AWSCURRENT (DescribeSecret: no value is read); `None` when the
    /// secret does not exist.
    pub async fn current_version(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let client = self.session.secretsmanager();
        let described = optional(
            self.session
                .call(&op::SECRETS_DESCRIBE_SECRET, || {
                    client.describe_secret().secret_id(arn).send()
                })
                .await,
        )?;
        Ok(described.map(|d| {
            d.version_ids_to_stages()
                .into_iter()
                .flatten()
                .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
                .map(|(version, _)| version.clone())
                .unwrap_or_default()
        }))
    }

    /// The current value: the secret string, or its JSON's `json_key`. What is wrong with the
    /// value is said without it.
    pub async fn value(&self, arn: &str, json_key: Option<&str>) -> Result<SecretValue, AwsError> {
        let client = self.session.secretsmanager();
        let output = self
            .session
            .call(&op::SECRETS_GET_SECRET_VALUE, || {
                client.get_secret_value().secret_id(arn).send()
            })
            .await?;
        let refused = |message: String| AwsError {
            service: "secretsmanager",
            operation: "GetSecretValue",
            class: ErrorClass::Invalid,
            code: Some("UnusableSecretValue".to_owned()),
            message,
        };
        let text = output
            .secret_string()
            .ok_or_else(|| refused(format!("secret {arn} holds binary data, not a string")))?;
        let Some(key) = json_key else {
            return Ok(SecretValue(text.to_owned()));
        };
        let parsed: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| refused(format!("secret {arn} is not JSON, so it has no key {key:?}")))?;
        match parsed.get(key).and_then(|v| v.as_str()) {
            Some(value) => Ok(SecretValue(value.to_owned())),
            None => Err(refused(format!("secret {arn} has no string at JSON key {key:?}"))),
        }
    }
}
