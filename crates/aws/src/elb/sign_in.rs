//! Sign-in on a listener rule: the authenticate-oidc action ELB runs before it forwards, written
//! with a client secret (new, or the one the rule holds) and read back without it.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, AuthenticateOidcActionConditionalBehaviorEnum, AuthenticateOidcActionConfig,
};

use crate::secrets::SecretValue;

/// An authenticate-oidc action but its client secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSettings {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub user_info_endpoint: String,
    pub client_id: String,
    pub scope: String,
    pub session_timeout: i64,
}

/// The client secret a sign-in rule is written with.
pub enum ClientSecret<'a> {
    /// Its value, read from Secrets Manager for this write.
    New(&'a SecretValue),
    /// The one the rule holds (`UseExistingClientSecret`): only a rule that has one.
    Existing,
}

/// The rule's actions: sign in first when asked (ELB takes the actions by `Order`), then forward.
pub(super) fn rule_actions(target_group: &str, sign_in: Option<(&OidcSettings, ClientSecret<'_>)>) -> Vec<Action> {
    let forward = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group);
    let Some((settings, secret)) = sign_in else {
        return vec![forward.build()];
    };
    let config = AuthenticateOidcActionConfig::builder()
        .issuer(&settings.issuer)
        .authorization_endpoint(&settings.authorization_endpoint)
        .token_endpoint(&settings.token_endpoint)
        .user_info_endpoint(&settings.user_info_endpoint)
        .client_id(&settings.client_id)
        .scope(&settings.scope)
        .session_timeout(settings.session_timeout)
        .on_unauthenticated_request(AuthenticateOidcActionConditionalBehaviorEnum::Authenticate);
    let config = match secret {
        ClientSecret::New(value) => config.client_secret(value.expose()),
        ClientSecret::Existing => config.use_existing_client_secret(true),
    };
    let config = config.build();
    vec![
        Action::builder()
            .r#type(ActionTypeEnum::AuthenticateOidc)
            .order(1)
            .authenticate_oidc_config(config)
            .build(),
        forward.order(2).build(),
    ]
}

/// The rule's authenticate-oidc settings; its `ClientSecret` is left where it is.
pub(super) fn oidc_of(actions: &[Action]) -> Option<OidcSettings> {
    let config = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::AuthenticateOidc))?
        .authenticate_oidc_config()?;
    Some(OidcSettings {
        issuer: config.issuer().unwrap_or_default().to_owned(),
        authorization_endpoint: config.authorization_endpoint().unwrap_or_default().to_owned(),
        token_endpoint: config.token_endpoint().unwrap_or_default().to_owned(),
        user_info_endpoint: config.user_info_endpoint().unwrap_or_default().to_owned(),
        client_id: config.client_id().unwrap_or_default().to_owned(),
        scope: config.scope().unwrap_or("openid").to_owned(),
        session_timeout: config.session_timeout().unwrap_or(604_800),
    })
}
