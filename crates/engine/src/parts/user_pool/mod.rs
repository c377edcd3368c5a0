//! The account's Cognito user pool (`spec.userPool`): the pool, its sign-in domain, its SAML
//! identity provider and the app client the load balancers sign people in with. Before the load
//! balancers, whose rules name the pool, its client and its domain (`Facts::user_pool`), and wait
//! for them; deleted after them. Removing spec.userPool deletes the pool (admission refuses that
//! while a service still signs in through it).

mod model;
mod outcomes;
mod writes;

use std::collections::BTreeSet;

use dataplatform_api::account::DataPlatformAccountStatus;
use dataplatform_api::user_pool::UserPoolStatus;
use dataplatform_api::{DataPlatformAccountSpec, OWNER_TAG, SpecProblem};
use dataplatform_aws::cognito::{AppClientSettings, UserPoolObservation};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, Ec2Ref, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness};
use model::{DOMAIN, POOL};
pub use model::{DesiredUserPool, ObservedUserPool};
use outcomes::{client_outcomes, domain_outcomes, provider_outcomes};
use writes::UserPoolWrite;

pub struct UserPool;

impl AccountPart for UserPool {
    const PART: Part = Part::UserPool;
    type Desired = DesiredUserPool;
    type Observed = ObservedUserPool;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.user_pool.is_some()
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredUserPool {
        let pool = spec.user_pool.as_ref();
        let callback_urls: BTreeSet<String> = spec
            .services
            .iter()
            .filter_map(|s| s.expose.as_ref())
            .filter(|e| e.sign_in.as_ref().is_some_and(|s| s.user_pool))
            .flat_map(|e| e.hosts.iter().filter(|h| !h.starts_with('*')))
            .map(|host| format!("https://{}/oauth2/idpresponse", host.to_ascii_lowercase()))
            .collect();
        let provider = pool.map(|p| (p.saml.provider_name.clone(), p.saml.metadata_url.clone()));
        let scopes = crate::parts::load_balancer::USER_POOL_SCOPE
            .split(' ')
            .map(str::to_owned)
            .collect();
        DesiredUserPool {
            wanted: pool.is_some(),
            name: account.names.user_pool(),
            domain_prefix: pool.map(|p| p.domain_prefix.clone()).unwrap_or_default(),
            client: AppClientSettings {
                callback_urls,
                scopes,
                identity_providers: provider.iter().map(|(name, _)| name.clone()).collect(),
                code_grant: true,
            },
            provider: provider.unwrap_or_default(),
            tags: account.tags.clone(),
            owner: account.owner.clone(),
            region: account.region.clone(),
            remembered: None,
        }
    }

    fn remember(desired: &mut DesiredUserPool, status: Option<&DataPlatformAccountStatus>) {
        desired.remembered = status.and_then(|s| s.user_pool.as_ref()).map(|p| p.id.clone());
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &DesiredUserPool,
    ) -> Result<ObservedUserPool, AwsError> {
        if !desired.wanted && desired.remembered.is_none() {
            return Ok(ObservedUserPool::default());
        }
        let cognito = session.cognito();
        let mut pools = cognito.pools_named(&desired.name).await?;
        if let Some(id) = desired
            .remembered
            .as_ref()
            .filter(|id| !pools.iter().any(|p| &p.id == *id))
        {
            pools.extend(cognito.pool(id).await?);
        }
        pools.retain(|p| p.tags.get(OWNER_TAG) == Some(&desired.owner));
        pools.sort_by(|a, b| a.id.cmp(&b.id));
        let domain_owner = match desired.wanted {
            true => cognito.domain_owner(&desired.domain_prefix).await?,
            false => None,
        };
        let mut observed = ObservedUserPool {
            pools,
            domain_owner,
            ..Default::default()
        };
        if let Some(kept) = desired.kept(&observed).map(|p| p.id.clone()) {
            let (providers, mut clients) = tokio::try_join!(cognito.identity_providers(&kept), cognito.clients(&kept))?;
            clients.sort_by(|a, b| a.id.cmp(&b.id));
            observed.providers = providers;
            observed.clients = clients;
        }
        Ok(observed)
    }

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &DesiredUserPool,
        _observed: &ObservedUserPool,
    ) -> Vec<SpecProblem> {
        vec![]
    }

    /// The pool, once it has its domain and the load balancers' client.
    fn facts(desired: &DesiredUserPool, observed: &ObservedUserPool, facts: &mut Facts) {
        facts.user_pool = desired.fact(observed);
    }

    fn diff(
        _account: &AccountContext,
        desired: &DesiredUserPool,
        observed: &ObservedUserPool,
        _owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let kept = desired.kept(observed);
        // Pools of ours besides the kept one: a create repeated after a lost answer, or the pool of
        // a spec.userPool since removed.
        let mut outcomes: Vec<Outcome> = observed
            .pools
            .iter()
            .filter(|p| Some(&p.id) != kept.map(|k| &k.id))
            .map(|p| Outcome::create(delete(p)))
            .collect();
        if !desired.wanted {
            return outcomes;
        }
        if let Some(owner) = observed
            .domain_owner
            .as_ref()
            .filter(|id| !observed.pools.iter().any(|p| &p.id == *id))
        {
            outcomes.push(Outcome::conflict(format!(
                "{DOMAIN} {}: the prefix belongs to user pool {owner}, which is not this account's (prefixes are unique in the region across every AWS account); choose another spec.userPool.domainPrefix",
                desired.domain_prefix
            )));
            return outcomes;
        }
        let pool = match kept {
            Some(pool) => Ec2Ref::Known(pool.id.clone()),
            None => {
                outcomes.push(Outcome::create(Action::create(
                    Part::UserPool,
                    POOL,
                    &desired.name,
                    vec![UserPoolWrite::CreatePool {
                        name: desired.name.clone(),
                        tags: desired.tags.clone(),
                    }],
                )));
                Ec2Ref::Made(POOL.to_owned())
            }
        };
        outcomes.extend(domain_outcomes(desired, kept, &pool));
        outcomes.extend(provider_outcomes(desired, observed, kept.is_some(), &pool));
        outcomes.extend(client_outcomes(desired, observed, &pool));
        outcomes
    }

    fn readiness(desired: &DesiredUserPool, observed: &ObservedUserPool, applied: &Plan, readiness: &mut Readiness) {
        if desired.wanted && desired.fact(observed).is_none() {
            // Made this pass: the load balancers can use it on the next. Otherwise (a conflict on
            // the prefix) the usual poll, not a loop.
            let made = applied.actions.iter().any(|a| a.part == Part::UserPool);
            readiness.wait(
                match made {
                    true => crate::wait::WaitKind::NextStep,
                    false => crate::wait::WaitKind::Other,
                },
                format!(
                    "the user pool {} is being made (its domain {} and the load balancers' app client)",
                    desired.name, desired.domain_prefix
                ),
            );
        }
    }

    fn deletion(
        _account: &AccountContext,
        _desired: &DesiredUserPool,
        observed: &ObservedUserPool,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        observed.pools.iter().map(delete).collect()
    }

    fn report(
        _account: &AccountContext,
        desired: &DesiredUserPool,
        observed: &ObservedUserPool,
        status: &mut DataPlatformAccountStatus,
    ) {
        let shown = desired.kept(observed).or(observed.pools.first());
        status.user_pool = shown.map(|pool| {
            let domain = pool
                .domain
                .as_ref()
                .map(|d| format!("{d}.auth.{}.amazoncognito.com", desired.region));
            UserPoolStatus {
                id: pool.id.clone(),
                arn: pool.arn.clone(),
                client_id: desired.client(observed).map(|c| c.id.clone()),
                saml_entity_id: format!("urn:amazon:cognito:sp:{}", pool.id),
                saml_reply_url: domain.as_ref().map(|d| format!("https://{d}/saml2/idpresponse")),
                domain,
            }
        });
    }

    fn quota_use(_account: &AccountContext, _observed: &ObservedUserPool, _used: &mut QuotaUse) {}

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.user_pools = Some(spec.user_pool.is_some());
    }
}

/// A pool of ours, its domain first (Cognito refuses to delete a pool that has one).
fn delete(pool: &UserPoolObservation) -> Action {
    let mut writes: Vec<UserPoolWrite> = pool
        .domain
        .iter()
        .map(|prefix| UserPoolWrite::DeleteDomain {
            pool: pool.id.clone(),
            prefix: prefix.clone(),
        })
        .collect();
    writes.push(UserPoolWrite::DeletePool { id: pool.id.clone() });
    Action::delete(Part::UserPool, POOL, &pool.id, writes)
}
