//! What the user pool part plans for the pool it keeps: its domain, its SAML provider and the
//! load balancers' app client (and what of ours they no longer need).

use std::collections::BTreeSet;

use dataplatform_aws::cognito::{AppClientSettings, UserPoolObservation};

use super::model::{CLIENT, CLIENT_NAME, DOMAIN, DesiredUserPool, ObservedUserPool, PROVIDER};
use super::writes::UserPoolWrite;
use crate::plan::{Action, Ec2Ref, FieldChange, Part};
use crate::vocabulary::Outcome;

/// The pool's domain: made, or moved to a new prefix (a pool has one Cognito domain).
pub(super) fn domain_outcomes(
    desired: &DesiredUserPool,
    kept: Option<&UserPoolObservation>,
    pool: &Ec2Ref,
) -> Vec<Outcome> {
    let current = kept.and_then(|p| p.domain.as_ref());
    if current == Some(&desired.domain_prefix) {
        return vec![];
    }
    let mut writes = Vec::new();
    if let (Some(old), Some(kept)) = (current, kept) {
        writes.push(UserPoolWrite::DeleteDomain {
            pool: kept.id.clone(),
            prefix: old.clone(),
        });
    }
    writes.push(UserPoolWrite::CreateDomain {
        pool: pool.clone(),
        prefix: desired.domain_prefix.clone(),
    });
    let action = match current {
        None => Action::create(Part::UserPool, DOMAIN, &desired.domain_prefix, writes),
        Some(old) => {
            let change = FieldChange::new("domainPrefix", old.clone(), desired.domain_prefix.clone());
            return vec![Outcome::update(
                Part::UserPool,
                DOMAIN.to_owned(),
                &desired.domain_prefix,
                vec![change],
                writes,
            )];
        }
    };
    vec![Outcome::create(action)]
}

/// The SAML provider: made, or its metadata URL put back; providers of ours no longer named go
/// (after the client, which stops naming them first).
pub(super) fn provider_outcomes(
    desired: &DesiredUserPool,
    observed: &ObservedUserPool,
    exists: bool,
    pool: &Ec2Ref,
) -> Vec<Outcome> {
    let (name, url) = &desired.provider;
    let seen = observed.providers.iter().find(|p| &p.name == name).filter(|_| exists);
    let put = UserPoolWrite::PutSamlProvider {
        pool: pool.clone(),
        name: name.clone(),
        metadata_url: url.clone(),
        exists: seen.is_some(),
    };
    match seen {
        None => vec![Outcome::create(Action::create(
            Part::UserPool,
            PROVIDER,
            name,
            vec![put],
        ))],
        Some(seen) if seen.saml_metadata_url.as_ref() != Some(url) => {
            let from = seen.saml_metadata_url.clone().unwrap_or_else(|| "not SAML".to_owned());
            vec![Outcome::update(
                Part::UserPool,
                PROVIDER.to_owned(),
                name,
                vec![FieldChange::new("saml.metadataUrl", from, url.clone())],
                vec![put],
            )]
        }
        Some(_) => vec![],
    }
}

/// The load balancers' app client: made, or its settings put back; providers the spec no longer
/// names, and extra clients of that name, then go.
pub(super) fn client_outcomes(desired: &DesiredUserPool, observed: &ObservedUserPool, pool: &Ec2Ref) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let client = desired.client(observed).filter(|_| matches!(pool, Ec2Ref::Known(_)));
    match (client, pool) {
        (None, _) => outcomes.push(Outcome::create(Action::create(
            Part::UserPool,
            CLIENT,
            CLIENT_NAME,
            vec![UserPoolWrite::CreateClient {
                pool: pool.clone(),
                name: CLIENT_NAME.to_owned(),
                settings: desired.client.clone(),
            }],
        ))),
        (Some(client), Ec2Ref::Known(pool)) if client.settings != desired.client => {
            outcomes.push(Outcome::update(
                Part::UserPool,
                CLIENT.to_owned(),
                CLIENT_NAME,
                client_changes(&client.settings, &desired.client),
                vec![UserPoolWrite::UpdateClient {
                    pool: pool.clone(),
                    id: client.id.clone(),
                    name: CLIENT_NAME.to_owned(),
                    settings: desired.client.clone(),
                }],
            ));
        }
        _ => {}
    }
    let Ec2Ref::Known(pool) = pool else { return outcomes };
    // Only clients of our name (a create repeated after a lost answer, one without a secret) and
    // providers our client named: a client or provider added to the pool by hand is left alone.
    let kept = client.map(|c| c.id.as_str());
    let extras = observed
        .clients
        .iter()
        .filter(|c| c.name == CLIENT_NAME && Some(c.id.as_str()) != kept);
    for extra in extras {
        outcomes.push(Outcome::create(Action::delete(
            Part::UserPool,
            CLIENT,
            &extra.name,
            vec![UserPoolWrite::DeleteClient {
                pool: pool.clone(),
                id: extra.id.clone(),
            }],
        )));
    }
    let named_by_ours = |name: &str| {
        observed
            .clients
            .iter()
            .any(|c| c.name == CLIENT_NAME && c.settings.identity_providers.contains(name))
    };
    let unwanted = observed
        .providers
        .iter()
        .filter(|p| p.name != desired.provider.0 && named_by_ours(&p.name));
    for old in unwanted {
        outcomes.push(Outcome::create(Action::delete(
            Part::UserPool,
            PROVIDER,
            &old.name,
            vec![UserPoolWrite::DeleteProvider {
                pool: pool.clone(),
                name: old.name.clone(),
            }],
        )));
    }
    outcomes
}

fn client_changes(seen: &AppClientSettings, want: &AppClientSettings) -> Vec<FieldChange> {
    let text = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(" ");
    let mut changes: Vec<FieldChange> = [
        ("callbackUrls", &seen.callback_urls, &want.callback_urls),
        ("scopes", &seen.scopes, &want.scopes),
        ("identityProviders", &seen.identity_providers, &want.identity_providers),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(field, a, b)| FieldChange::new(field, text(a), text(b)))
    .collect();
    if seen.code_grant != want.code_grant {
        changes.push(FieldChange::new(
            "codeGrant",
            seen.code_grant.to_string(),
            want.code_grant.to_string(),
        ));
    }
    changes
}
