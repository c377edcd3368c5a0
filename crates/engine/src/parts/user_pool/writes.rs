//! The user pool part's AWS writes.

use std::collections::BTreeMap;

use dataplatform_aws::cognito::AppClientSettings;
use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::{Ec2Ref, Lookup, Made, Write};

#[derive(Clone, Debug, PartialEq)]
pub enum UserPoolWrite {
    /// A pool named for the account, with its owner tag (found again by both).
    CreatePool {
        name: String,
        tags: BTreeMap<String, String>,
    },
    CreateDomain {
        pool: Ec2Ref,
        prefix: String,
    },
    DeleteDomain {
        pool: String,
        prefix: String,
    },
    /// The SAML provider, made (`exists: false`) or set to the metadata URL.
    PutSamlProvider {
        pool: Ec2Ref,
        name: String,
        metadata_url: String,
        exists: bool,
    },
    DeleteProvider {
        pool: String,
        name: String,
    },
    /// The app client the load balancers use, with a secret.
    CreateClient {
        pool: Ec2Ref,
        name: String,
        settings: AppClientSettings,
    },
    UpdateClient {
        pool: String,
        id: String,
        name: String,
        settings: AppClientSettings,
    },
    DeleteClient {
        pool: String,
        id: String,
    },
    /// The pool, its clients, providers and users (its domain goes first).
    DeletePool {
        id: String,
    },
}

impl Write for UserPoolWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        let cognito = session.cognito();
        match self {
            Self::CreatePool { name, tags } => {
                let (id, _arn) = cognito.create_pool(name, tags).await?;
                made.ids.insert(resource.to_owned(), id);
                Ok(())
            }
            Self::CreateDomain { pool, prefix } => cognito.create_domain(&made.id(pool)?, prefix).await,
            Self::DeleteDomain { pool, prefix } => cognito.delete_domain(pool, prefix).await,
            Self::PutSamlProvider {
                pool,
                name,
                metadata_url,
                exists,
            } => {
                cognito
                    .put_saml_provider(&made.id(pool)?, name, metadata_url, *exists)
                    .await
            }
            Self::DeleteProvider { pool, name } => cognito.delete_identity_provider(pool, name).await,
            Self::CreateClient { pool, name, settings } => {
                let id = cognito.create_client(&made.id(pool)?, name, settings).await?;
                made.ids.insert(resource.to_owned(), id);
                Ok(())
            }
            Self::UpdateClient {
                pool,
                id,
                name,
                settings,
            } => cognito.update_client(pool, id, name, settings).await,
            Self::DeleteClient { pool, id } => cognito.delete_client(pool, id).await,
            Self::DeletePool { id } => cognito.delete_pool(id).await,
        }
    }

    /// A create whose answer was lost (none is repeated: a second pool or client would be made, a
    /// second domain or provider refused): what it would have made, looked for by its name.
    async fn look_after_failure(&self, session: &AccountSession, made: &Made) -> Result<Lookup, AwsError> {
        let cognito = session.cognito();
        match self {
            Self::CreatePool { name, tags } => {
                let pools = cognito.pools_named(name).await?;
                Ok(Lookup::by_owner(pools.into_iter().map(|p| (p.id, p.tags)), tags))
            }
            Self::CreateDomain { pool, prefix } => {
                let owner = cognito.domain_owner(prefix).await?;
                Ok(match owner {
                    Some(owner) if owner == made.id(pool)? => Lookup::Made(prefix.clone()),
                    Some(_) => Lookup::CannotTell,
                    None => Lookup::NotMade,
                })
            }
            Self::PutSamlProvider {
                pool,
                name,
                exists: false,
                ..
            } => {
                let providers = cognito.identity_providers(&made.id(pool)?).await?;
                Ok(Lookup::only(
                    providers.into_iter().map(|p| p.name).filter(|n| n == name),
                ))
            }
            Self::CreateClient { pool, name, .. } => {
                let clients = cognito.clients(&made.id(pool)?).await?;
                Ok(Lookup::only(
                    clients.into_iter().filter(|c| &c.name == name).map(|c| c.id),
                ))
            }
            _ => Ok(Lookup::CannotTell),
        }
    }
}
