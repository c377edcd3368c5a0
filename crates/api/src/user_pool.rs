//! `spec.userPool`: a Cognito user pool the operator makes for signing people in to the exposed
//! services (`services[].expose.signIn.userPool`), federated with the organisation's identity
//! provider by SAML (Microsoft Entra ID, for one).

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::patterns::{self, cel_matches};

/// The account's user pool, its sign-in domain, its SAML identity provider and one app client the
/// load balancers sign people in with (the code grant and a client secret, the callback
/// `https://<host>/oauth2/idpresponse` of every host of every service that signs in through it).
/// Under deletionPolicy Delete it goes with the account, its users with it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPoolSpec {
    /// The prefix of the pool's sign-in domain, `<domainPrefix>.auth.<region>.amazoncognito.com`:
    /// unique in the region across every AWS account, lowercase letters, digits and '-', without
    /// the words aws, amazon or cognito (Cognito keeps those).
    #[x_kube(
        validation = Rule::new(cel_matches(patterns::DNS_LABEL))
            .message("spec.userPool.domainPrefix must be lowercase letters, digits and '-', such as camden-dataplatform"),
        validation = Rule::new("!self.contains('aws') && !self.contains('amazon') && !self.contains('cognito')")
            .message("spec.userPool.domainPrefix must not contain aws, amazon or cognito: Cognito keeps those words")
    )]
    #[schemars(length(min = 1, max = 63))]
    pub domain_prefix: String,

    /// The organisation's SAML identity provider people sign in with.
    pub saml: SamlProvider,
}

/// A SAML 2.0 identity provider. For Microsoft Entra ID: an enterprise application whose
/// Identifier (Entity ID) is status.userPool.samlEntityId and whose Reply URL is
/// status.userPool.samlReplyUrl; its App Federation Metadata Url is `metadataUrl`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SamlProvider {
    /// The provider's name in the pool, shown on the sign-in page, e.g. EntraID (3 to 32 letters,
    /// digits and '.', '_' or '-'; not a name Cognito keeps for itself).
    #[x_kube(
        validation = Rule::new(cel_matches(patterns::IDENTITY_PROVIDER_NAME))
            .message("spec.userPool.saml.providerName must be 3 to 32 letters, digits and '.', '_' or '-', such as EntraID"),
        validation = Rule::new("!(self in ['COGNITO', 'Cognito', 'cognito', 'Facebook', 'Google', 'LoginWithAmazon', 'SignInWithApple'])")
            .message("spec.userPool.saml.providerName must not be a name Cognito keeps (Cognito, Facebook, Google, LoginWithAmazon, SignInWithApple)")
    )]
    #[schemars(length(min = 3, max = 32))]
    pub provider_name: String,

    /// Where Cognito reads the provider's SAML metadata, an https URL, e.g.
    /// https://login.microsoftonline.com/<tenant>/federationmetadata/2007-06/federationmetadata.xml?appid=<app>.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HTTPS_URL))
        .message("spec.userPool.saml.metadataUrl must be an https URL, such as Entra ID's App Federation Metadata Url"))]
    #[schemars(length(max = 2048))]
    pub metadata_url: String,
}

/// The user pool and what to register at the identity provider.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPoolStatus {
    pub id: String,
    pub arn: String,
    /// Where people sign in: `<domainPrefix>.auth.<region>.amazoncognito.com`, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The app client the load balancers sign people in with, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// To register at the SAML identity provider: the Identifier (Entity ID)...
    pub saml_entity_id: String,
    /// ... and the Reply URL (Assertion Consumer Service URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_reply_url: Option<String>,
}

impl crate::DataPlatformAccountSpec {
    /// Whether a service signs people in through `spec.userPool`.
    pub fn signs_in_with_user_pool(&self) -> bool {
        self.services
            .iter()
            .filter_map(|s| s.expose.as_ref()?.sign_in.as_ref())
            .any(|s| s.user_pool)
    }
}
