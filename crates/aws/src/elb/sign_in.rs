//! Sign-in on a listener rule: the authenticate-oidc action ELB runs before it forwards, written
//! with a client secret (new, or the one the rule holds) and read back without it; or the
//! authenticate-cognito action, whose client secret ELB reads from the user pool itself.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, AuthenticateCognitoActionConditionalBehaviorEnum, AuthenticateCognitoActionConfig,
    AuthenticateOidcActionConditionalBehaviorEnum, AuthenticateOidcActionConfig,
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

/// An authenticate-cognito action: the user pool, its app client and its domain prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CognitoSettings {
    pub user_pool_arn: String,
    pub client_id: String,
    pub domain: String,
    pub scope: String,
    pub session_timeout: i64,
}

/// How a rule signs people in, as written.
pub enum RuleSignIn<'a> {
    Oidc(&'a OidcSettings, ClientSecret<'a>),
    Cognito(&'a CognitoSettings),
}

/// How a rule signs people in, as read back (never an OIDC client secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInObservation {
    Oidc(OidcSettings),
    Cognito(CognitoSettings),
}

/// The client secret a sign-in rule is written with.
pub enum ClientSecret<'a> {
    /// Its value, read from Secrets Manager for this write.
    New(&'a SecretValue),
    /// The one the rule holds (`UseExistingClientSecret`): only a rule that has one.
    Existing,
}

/// The rule's actions: sign in first when asked (ELB takes the actions by `Order`), then forward.
pub(super) fn rule_actions(target_group: &str, sign_in: Option<RuleSignIn<'_>>) -> Vec<Action> {
    let forward = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group);
    let authenticate = match sign_in {
        None => return vec![forward.build()],
        Some(RuleSignIn::Oidc(settings, secret)) => oidc_action(settings, secret),
        Some(RuleSignIn::Cognito(settings)) => cognito_action(settings),
    };
    vec![authenticate, forward.order(2).build()]
}

fn oidc_action(settings: &OidcSettings, secret: ClientSecret<'_>) -> Action {
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
    Action::builder()
        .r#type(ActionTypeEnum::AuthenticateOidc)
        .order(1)
        .authenticate_oidc_config(config.build())
        .build()
}

fn cognito_action(settings: &CognitoSettings) -> Action {
    let config = AuthenticateCognitoActionConfig::builder()
        .user_pool_arn(&settings.user_pool_arn)
        .user_pool_client_id(&settings.client_id)
        .user_pool_domain(&settings.domain)
        .scope(&settings.scope)
        .session_timeout(settings.session_timeout)
        .on_unauthenticated_request(AuthenticateCognitoActionConditionalBehaviorEnum::Authenticate)
        .build();
    Action::builder()
        .r#type(ActionTypeEnum::AuthenticateCognito)
        .order(1)
        .authenticate_cognito_config(config)
        .build()
}

/// The rule's sign-in; an OIDC `ClientSecret` is left where it is.
pub(super) fn sign_in_of(actions: &[Action]) -> Option<SignInObservation> {
    oidc_of(actions)
        .map(SignInObservation::Oidc)
        .or_else(|| cognito_of(actions).map(SignInObservation::Cognito))
}

fn oidc_of(actions: &[Action]) -> Option<OidcSettings> {
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

fn cognito_of(actions: &[Action]) -> Option<CognitoSettings> {
    let config = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::AuthenticateCognito))?
        .authenticate_cognito_config()?;
    Some(CognitoSettings {
        user_pool_arn: config.user_pool_arn().unwrap_or_default().to_owned(),
        client_id: config.user_pool_client_id().unwrap_or_default().to_owned(),
        domain: config.user_pool_domain().unwrap_or_default().to_owned(),
        scope: config.scope().unwrap_or("openid").to_owned(),
        session_timeout: config.session_timeout().unwrap_or(604_800),
    })
}
