//! AWS Cloud Map (service discovery): the account's private DNS namespace in its VPC, and in it a
//! Cloud Map service per ECS service with a port, in which ECS registers each task as an A record
//! (`serviceRegistries`). Found by name; made with their tags in the same request.
//!
//! moto quirks: ListNamespaces and ListServices ignore their filters (namespaces are filtered here
//! too; a service summary does not say its namespace, so the tests keep one namespace per account),
//! a service summary carries no InstanceCount (read as none), and a second CreateService of the same
//! name makes a second service where AWS answers ServiceAlreadyExists: a create is therefore never
//! repeated blind (the engine looks by name first).

use std::collections::BTreeMap;

use aws_sdk_servicediscovery::types::{
    DnsConfig, DnsConfigChange, DnsRecord, FilterCondition, HealthCheckCustomConfig, NamespaceFilter,
    NamespaceFilterName, NamespaceType, RecordType, RoutingPolicy, ServiceChange, ServiceFilter, ServiceFilterName,
    Tag,
};

use crate::error::AwsError;
use crate::permissions as op;
use crate::session::AccountSession;
use crate::tags::TagUpdate;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceObservation {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryServiceObservation {
    pub id: String,
    pub arn: String,
    pub name: String,
    /// The TTL of its A record, when it has one.
    pub ttl: Option<i64>,
    /// Tasks registered in it (ECS deregisters a task as it stops).
    pub instances: i32,
    pub tags: BTreeMap<String, String>,
}

pub struct Discovery<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn discovery(&self) -> Discovery<'_> {
        Discovery { session: self }
    }
}

impl Discovery<'_> {
    /// The account's private DNS namespaces named `name` (one per VPC may carry it), with tags.
    pub async fn namespaces_named(&self, name: &str) -> Result<Vec<NamespaceObservation>, AwsError> {
        let client = self.session.servicediscovery();
        let private = NamespaceFilter::builder()
            .name(NamespaceFilterName::Type)
            .values(NamespaceType::DnsPrivate.as_str())
            .condition(FilterCondition::Eq)
            .build()
            .map_err(|e| AwsError::request("servicediscovery", "ListNamespaces", e))?;
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::SD_LIST_NAMESPACES, || {
                    client
                        .list_namespaces()
                        .filters(private.clone())
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            for namespace in page.namespaces() {
                let private = namespace.r#type() == Some(&NamespaceType::DnsPrivate);
                if private && namespace.name() == Some(name) {
                    let arn = namespace.arn().unwrap_or_default().to_owned();
                    found.push(NamespaceObservation {
                        id: namespace.id().unwrap_or_default().to_owned(),
                        tags: self.tags(&arn).await?,
                        arn,
                        name: name.to_owned(),
                    });
                }
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(found);
            }
        }
    }

    /// The services in the namespace, with their A record's TTL, instance count and tags.
    pub async fn services_in(&self, namespace: &str) -> Result<Vec<DiscoveryServiceObservation>, AwsError> {
        let client = self.session.servicediscovery();
        let in_namespace = ServiceFilter::builder()
            .name(ServiceFilterName::NamespaceId)
            .values(namespace)
            .condition(FilterCondition::Eq)
            .build()
            .map_err(|e| AwsError::request("servicediscovery", "ListServices", e))?;
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::SD_LIST_SERVICES, || {
                    client
                        .list_services()
                        .filters(in_namespace.clone())
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            for service in page.services() {
                let config = service.dns_config();
                let arn = service.arn().unwrap_or_default().to_owned();
                let ttl = config
                    .into_iter()
                    .flat_map(|c| c.dns_records())
                    .find(|r| r.r#type() == &RecordType::A)
                    .map(|r| r.ttl());
                found.push(DiscoveryServiceObservation {
                    id: service.id().unwrap_or_default().to_owned(),
                    name: service.name().unwrap_or_default().to_owned(),
                    ttl,
                    instances: service.instance_count().unwrap_or(0),
                    tags: self.tags(&arn).await?,
                    arn,
                });
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(found);
            }
        }
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let client = self.session.servicediscovery();
        let output = self
            .session
            .call(&op::SD_LIST_TAGS_FOR_RESOURCE, || {
                client.list_tags_for_resource().resource_arn(arn).send()
            })
            .await?;
        Ok(output
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// Cloud Map makes the namespace (and its Route 53 private zone) in the background; the next
    /// pass finds it by name. Repeating a create whose answer was lost is refused by AWS as
    /// NamespaceAlreadyExists (or ConflictingDomainExists), which the pass reads as made.
    pub async fn create_namespace(
        &self,
        name: &str,
        vpc: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let client = self.session.servicediscovery();
        let tags = to_tags(tags)?;
        self.session
            .write(&op::SD_CREATE_PRIVATE_DNS_NAMESPACE, || {
                client
                    .create_private_dns_namespace()
                    .name(name)
                    .vpc(vpc)
                    .description("Services of the data platform (dataplatform-operator)")
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
    }

    /// A service whose tasks ECS registers as A records (multivalue: every healthy task answers),
    /// healthy as ECS reports them. Returns its ARN. Not repeated blind: see the module's note.
    pub async fn create_service(
        &self,
        namespace: &str,
        name: &str,
        ttl: i64,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let client = self.session.servicediscovery();
        let tags = to_tags(tags)?;
        let record = DnsRecord::builder()
            .r#type(RecordType::A)
            .ttl(ttl)
            .build()
            .map_err(|e| AwsError::request("servicediscovery", "CreateService", e))?;
        let dns = DnsConfig::builder()
            .routing_policy(RoutingPolicy::Multivalue)
            .dns_records(record)
            .build()
            .map_err(|e| AwsError::request("servicediscovery", "CreateService", e))?;
        let output = self
            .session
            .call_not_repeated(&op::SD_CREATE_SERVICE, || {
                client
                    .create_service()
                    .name(name)
                    .namespace_id(namespace)
                    .dns_config(dns.clone())
                    // ECS reports each task's health to Cloud Map (AWS's advice for ECS services).
                    .health_check_custom_config(HealthCheckCustomConfig::builder().build())
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        Ok(output.service().and_then(|s| s.arn()).unwrap_or_default().to_owned())
    }

    /// Sets the TTL of the service's A record (the record's type and routing policy are fixed).
    pub async fn set_ttl(&self, service: &str, ttl: i64) -> Result<(), AwsError> {
        let client = self.session.servicediscovery();
        let record = DnsRecord::builder()
            .r#type(RecordType::A)
            .ttl(ttl)
            .build()
            .map_err(|e| AwsError::request("servicediscovery", "UpdateService", e))?;
        let change = ServiceChange::builder()
            .dns_config(
                DnsConfigChange::builder()
                    .dns_records(record)
                    .build()
                    .map_err(|e| AwsError::request("servicediscovery", "UpdateService", e))?,
            )
            .build();
        self.session
            .write(&op::SD_UPDATE_SERVICE, || {
                client.update_service().id(service).service(change.clone()).send()
            })
            .await
    }

    pub async fn delete_service(&self, service: &str) -> Result<(), AwsError> {
        let client = self.session.servicediscovery();
        self.session
            .delete_if_exists(&op::SD_DELETE_SERVICE, || client.delete_service().id(service).send())
            .await
    }

    /// Cloud Map deletes the namespace and its zone in the background.
    pub async fn delete_namespace(&self, namespace: &str) -> Result<(), AwsError> {
        let client = self.session.servicediscovery();
        self.session
            .delete_if_exists(&op::SD_DELETE_NAMESPACE, || {
                client.delete_namespace().id(namespace).send()
            })
            .await
    }

    pub async fn retag(&self, arn: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, client) = (self.session, &self.session.servicediscovery());
        update
            .apply(
                |add| async move {
                    let tags = to_tags(&add)?;
                    session
                        .write(&op::SD_TAG_RESOURCE, move || {
                            client
                                .tag_resource()
                                .resource_arn(arn)
                                .set_tags(Some(tags.clone()))
                                .send()
                        })
                        .await
                },
                |remove| {
                    session.write(&op::SD_UNTAG_RESOURCE, move || {
                        client
                            .untag_resource()
                            .resource_arn(arn)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }
}

fn to_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| AwsError::request("servicediscovery", "TagResource", e))
        })
        .collect()
}
