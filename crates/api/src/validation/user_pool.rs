//! `spec.userPool` and the services that sign in through it, as admission checks them.

use super::Problems;
use crate::account::DataPlatformAccountSpec;
use crate::patterns::{self, matches};

/// Words Cognito refuses in a domain prefix, and names it keeps for its own providers.
const RESERVED_DOMAIN_WORDS: [&str; 3] = ["aws", "amazon", "cognito"];
const RESERVED_PROVIDER_NAMES: [&str; 7] = [
    "COGNITO",
    "Cognito",
    "cognito",
    "Facebook",
    "Google",
    "LoginWithAmazon",
    "SignInWithApple",
];

pub(super) fn validate_user_pool(spec: &DataPlatformAccountSpec, p: &mut Problems) {
    let Some(pool) = &spec.user_pool else { return };
    let prefix = &pool.domain_prefix;
    if prefix.len() > 63 || !matches(patterns::DNS_LABEL, prefix) {
        p.add(
            "spec.userPool.domainPrefix",
            format!("{prefix:?} is not lowercase letters, digits and '-' (1 to 63, starting and ending with a letter or digit), such as camden-dataplatform"),
        );
    } else if let Some(word) = RESERVED_DOMAIN_WORDS.iter().find(|w| prefix.contains(*w)) {
        p.add(
            "spec.userPool.domainPrefix",
            format!("{prefix:?} contains {word:?}, which Cognito keeps for itself: choose a prefix without aws, amazon or cognito"),
        );
    }
    let name = &pool.saml.provider_name;
    if !matches(patterns::IDENTITY_PROVIDER_NAME, name) {
        p.add(
            "spec.userPool.saml.providerName",
            format!("{name:?} is not 3 to 32 letters, digits and '.', '_' or '-', such as EntraID"),
        );
    } else if RESERVED_PROVIDER_NAMES.contains(&name.as_str()) {
        p.add(
            "spec.userPool.saml.providerName",
            format!("{name:?} is a name Cognito keeps for its own providers: choose another, such as EntraID"),
        );
    }
    let url = &pool.saml.metadata_url;
    if url.len() > 2048 || !matches(patterns::HTTPS_URL, url) {
        p.add(
            "spec.userPool.saml.metadataUrl",
            format!("{url:?} is not an https URL, such as Entra ID's App Federation Metadata Url"),
        );
    }
}

/// A service signing in through the pool: the pool is there, and a host to call back to.
pub(super) fn validate_user_pool_sign_in(spec: &DataPlatformAccountSpec, hosts: &[String], at: &str, p: &mut Problems) {
    if spec.user_pool.is_none() {
        p.add(
            "spec.userPool",
            format!("is required by {at}.userPool: it is the Cognito user pool people sign in through; add spec.userPool (domainPrefix and saml)"),
        );
    }
    if !hosts.iter().any(|h| !h.starts_with('*')) {
        let hosts_at = at.strip_suffix(".signIn").unwrap_or(at);
        p.add(
            format!("{hosts_at}.hosts"),
            "needs a host that is not a wildcard with signIn.userPool: the user pool's app client allows https://<host>/oauth2/idpresponse, and Cognito takes no wildcards there",
        );
    }
}
