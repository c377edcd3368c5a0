//! The service-discovery part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::{Lookup, Made, Write};

/// The service-discovery part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum DiscoveryWrite {
    /// Cloud Map makes it in the background: the next pass finds it and makes its services.
    CreateNamespace {
        name: String,
        vpc: String,
        tags: BTreeMap<String, String>,
    },
    CreateDiscoveryService {
        namespace: String,
        name: String,
        ttl: i64,
        tags: BTreeMap<String, String>,
    },
    SetRecordTtl {
        service: String,
        ttl: i64,
    },
    TagDiscovery {
        arn: String,
        tags: TagUpdate,
    },
    DeleteDiscoveryService {
        service: String,
    },
    DeleteNamespace {
        namespace: String,
    },
}

impl Write for DiscoveryWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        let discovery = session.discovery();
        match self {
            Self::CreateNamespace { name, vpc, tags } => discovery.create_namespace(name, vpc, tags).await,
            Self::CreateDiscoveryService {
                namespace,
                name,
                ttl,
                tags,
            } => {
                let arn = discovery.create_service(namespace, name, *ttl, tags).await?;
                made.ids.insert(resource.to_owned(), arn);
                Ok(())
            }
            Self::SetRecordTtl { service, ttl } => discovery.set_ttl(service, *ttl).await,
            Self::TagDiscovery { arn, tags } => discovery.retag(arn, tags).await,
            Self::DeleteDiscoveryService { service } => discovery.delete_service(service).await,
            Self::DeleteNamespace { namespace } => discovery.delete_namespace(namespace).await,
        }
    }

    /// A Cloud Map service is found by name in its namespace, ours by the create's owner tag.
    async fn look_after_failure(&self, session: &AccountSession, _made: &Made) -> Result<Lookup, AwsError> {
        match self {
            Self::CreateDiscoveryService {
                namespace, name, tags, ..
            } => {
                let services = session.discovery().services_in(namespace).await?;
                let named = services.into_iter().filter(|s| &s.name == name);
                Ok(Lookup::by_owner(named.map(|s| (s.arn, s.tags)), tags))
            }
            _ => Ok(Lookup::CannotTell),
        }
    }
}
