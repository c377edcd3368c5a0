//! Cognito user pools: the one the operator makes for an account's sign-in (`spec.userPool`), its
//! sign-in domain, its SAML identity provider and the app client the load balancers use. A pool is
//! found by its name and owner tag (Cognito names need not be unique; `UserPoolTags` come back in
//! DescribeUserPool). The app client's secret, which DescribeUserPoolClient returns, is never kept:
//! ELB reads it from Cognito itself. Creates are not repeated on a transient fault (a second pool
//! or client would be made): the engine looks first.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cognitoidentityprovider::types::{IdentityProviderTypeType, OAuthFlowType};

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::session::AccountSession;

/// Cognito's key for a SAML provider's metadata URL in `ProviderDetails`.
const METADATA_URL: &str = "MetadataURL";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPoolObservation {
    pub id: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    /// The prefix of its Cognito domain, when it has one.
    pub domain: Option<String>,
}

/// An app client's settings that the operator owns (never its secret).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppClientSettings {
    pub callback_urls: BTreeSet<String>,
    pub scopes: BTreeSet<String>,
    pub identity_providers: BTreeSet<String>,
    /// The authorization code grant only, for the pool's own OAuth endpoints.
    pub code_grant: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppClientObservation {
    pub id: String,
    pub name: String,
    pub settings: AppClientSettings,
    pub has_secret: bool,
}

/// A pool's identity provider: its name, and for SAML its metadata URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityProviderObservation {
    pub name: String,
    pub saml_metadata_url: Option<String>,
}

pub struct Cognito<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn cognito(&self) -> Cognito<'_> {
        Cognito { session: self }
    }
}

impl Cognito<'_> {
    /// The pools named `name`, described (tags, domain).
    pub async fn pools_named(&self, name: &str) -> Result<Vec<UserPoolObservation>, AwsError> {
        let client = self.session.cognito_client();
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::COGNITO_LIST_USER_POOLS, || {
                    client
                        .list_user_pools()
                        .max_results(60)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            for pool in page.user_pools() {
                if pool.name() == Some(name) {
                    ids.extend(pool.id().map(str::to_owned));
                }
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let mut found = Vec::new();
        for id in ids {
            found.extend(self.pool(&id).await?);
        }
        Ok(found)
    }

    /// One pool by id; `None` when it is gone.
    pub async fn pool(&self, id: &str) -> Result<Option<UserPoolObservation>, AwsError> {
        let client = self.session.cognito_client();
        let described = optional(
            self.session
                .call(&op::COGNITO_DESCRIBE_USER_POOL, || {
                    client.describe_user_pool().user_pool_id(id).send()
                })
                .await,
        )?;
        Ok(described.and_then(|d| d.user_pool).map(|pool| UserPoolObservation {
            id: pool.id().unwrap_or(id).to_owned(),
            arn: pool.arn().unwrap_or_default().to_owned(),
            tags: pool
                .user_pool_tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            domain: pool.domain().map(str::to_owned),
        }))
    }

    /// The pool a domain prefix belongs to, in any account (AWS answers an empty description for
    /// a free prefix).
    pub async fn domain_owner(&self, prefix: &str) -> Result<Option<String>, AwsError> {
        let client = self.session.cognito_client();
        let described = self
            .session
            .call(&op::COGNITO_DESCRIBE_USER_POOL_DOMAIN, || {
                client.describe_user_pool_domain().domain(prefix).send()
            })
            .await?;
        Ok(described
            .domain_description()
            .and_then(|d| d.user_pool_id())
            .filter(|id| !id.is_empty())
            .map(str::to_owned))
    }

    /// The pool's app clients, described, without their secrets.
    pub async fn clients(&self, pool: &str) -> Result<Vec<AppClientObservation>, AwsError> {
        let client = self.session.cognito_client();
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::COGNITO_LIST_USER_POOL_CLIENTS, || {
                    client
                        .list_user_pool_clients()
                        .user_pool_id(pool)
                        .max_results(60)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            ids.extend(
                page.user_pool_clients()
                    .iter()
                    .filter_map(|c| c.client_id().map(str::to_owned)),
            );
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let mut found = Vec::new();
        for id in ids {
            let described = optional(
                self.session
                    .call(&op::COGNITO_DESCRIBE_USER_POOL_CLIENT, || {
                        client
                            .describe_user_pool_client()
                            .user_pool_id(pool)
                            .client_id(&id)
                            .send()
                    })
                    .await,
            )?;
            let Some(c) = described.and_then(|d| d.user_pool_client) else {
                continue;
            };
            let set = |values: &[String]| values.iter().cloned().collect::<BTreeSet<_>>();
            found.push(AppClientObservation {
                id: id.clone(),
                name: c.client_name().unwrap_or_default().to_owned(),
                settings: AppClientSettings {
                    callback_urls: set(c.callback_urls()),
                    scopes: set(c.allowed_o_auth_scopes()),
                    identity_providers: set(c.supported_identity_providers()),
                    code_grant: c.allowed_o_auth_flows_user_pool_client() == Some(true)
                        && c.allowed_o_auth_flows() == [OAuthFlowType::Code],
                },
                has_secret: c.client_secret().is_some_and(|s| !s.is_empty()),
            });
        }
        Ok(found)
    }

    /// The pool's identity providers; the SAML ones with their metadata URL.
    pub async fn identity_providers(&self, pool: &str) -> Result<Vec<IdentityProviderObservation>, AwsError> {
        let client = self.session.cognito_client();
        let listed = self
            .session
            .call(&op::COGNITO_LIST_IDENTITY_PROVIDERS, || {
                client
                    .list_identity_providers()
                    .user_pool_id(pool)
                    .max_results(60)
                    .send()
            })
            .await?;
        let mut found = Vec::new();
        for provider in listed.providers() {
            let Some(name) = provider.provider_name() else { continue };
            let saml_metadata_url = if provider.provider_type() == Some(&IdentityProviderTypeType::Saml) {
                let described = optional(
                    self.session
                        .call(&op::COGNITO_DESCRIBE_IDENTITY_PROVIDER, || {
                            client
                                .describe_identity_provider()
                                .user_pool_id(pool)
                                .provider_name(name)
                                .send()
                        })
                        .await,
                )?;
                described
                    .and_then(|d| d.identity_provider)
                    .and_then(|p| p.provider_details?.get(METADATA_URL).cloned())
            } else {
                None
            };
            found.push(IdentityProviderObservation {
                name: name.to_owned(),
                saml_metadata_url,
            });
        }
        Ok(found)
    }

    /// A pool with its owner tags; its id and ARN. Users sign in by email through the identity
    /// provider: the pool makes no one sign up.
    pub async fn create_pool(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<(String, String), AwsError> {
        let client = self.session.cognito_client();
        let tags: std::collections::HashMap<String, String> = tags.clone().into_iter().collect();
        let created = self
            .session
            .call_not_repeated(&op::COGNITO_CREATE_USER_POOL, || {
                client
                    .create_user_pool()
                    .pool_name(name)
                    .admin_create_user_config(
                        aws_sdk_cognitoidentityprovider::types::AdminCreateUserConfigType::builder()
                            .allow_admin_create_user_only(true)
                            .build(),
                    )
                    .set_user_pool_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        let pool = created.user_pool();
        Ok((
            pool.and_then(|p| p.id()).unwrap_or_default().to_owned(),
            pool.and_then(|p| p.arn()).unwrap_or_default().to_owned(),
        ))
    }

    pub async fn create_domain(&self, pool: &str, prefix: &str) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        self.session
            .call_not_repeated(&op::COGNITO_CREATE_USER_POOL_DOMAIN, || {
                client
                    .create_user_pool_domain()
                    .user_pool_id(pool)
                    .domain(prefix)
                    .send()
            })
            .await
            .map(|_| ())
    }

    pub async fn delete_domain(&self, pool: &str, prefix: &str) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        self.session
            .delete_if_exists(&op::COGNITO_DELETE_USER_POOL_DOMAIN, || {
                client
                    .delete_user_pool_domain()
                    .user_pool_id(pool)
                    .domain(prefix)
                    .send()
            })
            .await
    }

    /// A SAML provider, made or updated to `metadata_url`; people are known by their email.
    pub async fn put_saml_provider(
        &self,
        pool: &str,
        name: &str,
        metadata_url: &str,
        exists: bool,
    ) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        let details = std::collections::HashMap::from([(METADATA_URL.to_owned(), metadata_url.to_owned())]);
        let mapping = std::collections::HashMap::from([(
            "email".to_owned(),
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".to_owned(),
        )]);
        if exists {
            return self
                .session
                .call(&op::COGNITO_UPDATE_IDENTITY_PROVIDER, || {
                    client
                        .update_identity_provider()
                        .user_pool_id(pool)
                        .provider_name(name)
                        .set_provider_details(Some(details.clone()))
                        .send()
                })
                .await
                .map(|_| ());
        }
        self.session
            .call_not_repeated(&op::COGNITO_CREATE_IDENTITY_PROVIDER, || {
                client
                    .create_identity_provider()
                    .user_pool_id(pool)
                    .provider_name(name)
                    .provider_type(IdentityProviderTypeType::Saml)
                    .set_provider_details(Some(details.clone()))
                    .set_attribute_mapping(Some(mapping.clone()))
                    .send()
            })
            .await
            .map(|_| ())
    }

    pub async fn delete_identity_provider(&self, pool: &str, name: &str) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        self.session
            .delete_if_exists(&op::COGNITO_DELETE_IDENTITY_PROVIDER, || {
                client
                    .delete_identity_provider()
                    .user_pool_id(pool)
                    .provider_name(name)
                    .send()
            })
            .await
    }

    /// An app client with a secret and `settings`; its id.
    pub async fn create_client(
        &self,
        pool: &str,
        name: &str,
        settings: &AppClientSettings,
    ) -> Result<String, AwsError> {
        let client = self.session.cognito_client();
        let created = self
            .session
            .call_not_repeated(&op::COGNITO_CREATE_USER_POOL_CLIENT, || {
                client
                    .create_user_pool_client()
                    .user_pool_id(pool)
                    .client_name(name)
                    .generate_secret(true)
                    .allowed_o_auth_flows_user_pool_client(settings.code_grant)
                    .set_allowed_o_auth_flows(settings.code_grant.then(|| vec![OAuthFlowType::Code]))
                    .set_allowed_o_auth_scopes(Some(settings.scopes.iter().cloned().collect()))
                    .set_callback_urls(Some(settings.callback_urls.iter().cloned().collect()))
                    .set_supported_identity_providers(Some(settings.identity_providers.iter().cloned().collect()))
                    .send()
            })
            .await?;
        Ok(created
            .user_pool_client()
            .and_then(|c| c.client_id())
            .unwrap_or_default()
            .to_owned())
    }

    /// Sets every field the operator owns (UpdateUserPoolClient resets what it is not given).
    pub async fn update_client(
        &self,
        pool: &str,
        id: &str,
        name: &str,
        settings: &AppClientSettings,
    ) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        self.session
            .call(&op::COGNITO_UPDATE_USER_POOL_CLIENT, || {
                client
                    .update_user_pool_client()
                    .user_pool_id(pool)
                    .client_id(id)
                    .client_name(name)
                    .allowed_o_auth_flows_user_pool_client(settings.code_grant)
                    .set_allowed_o_auth_flows(settings.code_grant.then(|| vec![OAuthFlowType::Code]))
                    .set_allowed_o_auth_scopes(Some(settings.scopes.iter().cloned().collect()))
                    .set_callback_urls(Some(settings.callback_urls.iter().cloned().collect()))
                    .set_supported_identity_providers(Some(settings.identity_providers.iter().cloned().collect()))
                    .send()
            })
            .await
            .map(|_| ())
    }

    pub async fn delete_client(&self, pool: &str, id: &str) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        self.session
            .delete_if_exists(&op::COGNITO_DELETE_USER_POOL_CLIENT, || {
                client.delete_user_pool_client().user_pool_id(pool).client_id(id).send()
            })
            .await
    }

    /// The pool and its clients and providers (Cognito refuses while it has a domain).
    pub async fn delete_pool(&self, id: &str) -> Result<(), AwsError> {
        let client = self.session.cognito_client();
        self.session
            .delete_if_exists(&op::COGNITO_DELETE_USER_POOL, || {
                client.delete_user_pool().user_pool_id(id).send()
            })
            .await
    }
}
