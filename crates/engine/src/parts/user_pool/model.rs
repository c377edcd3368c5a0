//! What the user pool part wants and finds.

use std::collections::BTreeMap;

use dataplatform_aws::cognito::{
    AppClientObservation, AppClientSettings, IdentityProviderObservation, UserPoolObservation,
};

use crate::vocabulary::UserPoolFact;

pub(super) const POOL: &str = "cognito:user-pool";
pub(super) const DOMAIN: &str = "cognito:user-pool/domain";
pub(super) const PROVIDER: &str = "cognito:user-pool/identity-provider";
pub(super) const CLIENT: &str = "cognito:user-pool/client";
/// The app client's name: one per pool, the load balancers'.
pub(super) const CLIENT_NAME: &str = "load-balancers";

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredUserPool {
    pub wanted: bool,
    pub name: String,
    pub domain_prefix: String,
    /// The SAML provider's name and metadata URL.
    pub provider: (String, String),
    /// The app client's settings: the callback of every host that is not a wildcard of every
    /// service signing in through the pool (at most 20 services of 4 hosts: 80, under Cognito's
    /// 100 callback URLs per client).
    pub client: AppClientSettings,
    pub tags: BTreeMap<String, String>,
    pub owner: String,
    pub region: String,
    /// The pool the last status named.
    pub remembered: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedUserPool {
    /// Ours (name and owner tag, or the one the status remembered), by id.
    pub pools: Vec<UserPoolObservation>,
    /// The pool the domain prefix belongs to, in any account.
    pub domain_owner: Option<String>,
    /// The kept pool's providers and clients (clients by id).
    pub providers: Vec<IdentityProviderObservation>,
    pub clients: Vec<AppClientObservation>,
}

impl DesiredUserPool {
    /// The pool kept: the one holding the domain, else the one the status named, else the first.
    pub(super) fn kept<'a>(&self, observed: &'a ObservedUserPool) -> Option<&'a UserPoolObservation> {
        let by = |id: Option<&String>| observed.pools.iter().find(|p| Some(&p.id) == id);
        by(observed.domain_owner.as_ref())
            .or_else(|| by(self.remembered.as_ref()))
            .or(observed.pools.first())
            .filter(|_| self.wanted)
    }

    /// What the load balancers sign in through: the kept pool, once it has its domain and the
    /// load balancers' client.
    pub(super) fn fact(&self, observed: &ObservedUserPool) -> Option<UserPoolFact> {
        let pool = self.kept(observed)?;
        let domain = pool.domain.as_ref().filter(|d| **d == self.domain_prefix)?;
        let client = self.client(observed)?;
        Some(UserPoolFact {
            arn: pool.arn.clone(),
            client_id: client.id.clone(),
            domain: domain.clone(),
        })
    }

    pub(super) fn client<'a>(&self, observed: &'a ObservedUserPool) -> Option<&'a AppClientObservation> {
        observed.clients.iter().find(|c| c.name == CLIENT_NAME && c.has_secret)
    }
}
