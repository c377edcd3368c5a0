//! Route 53: the hosted zone of `spec.dns` (one the account has, by id, or a private zone the
//! operator makes, found by its name and the comment it was made with) and the records the
//! operator writes in it. Route 53 has no tags on records, so what the operator owns is said by a
//! TXT record beside each; changes go in one ChangeResourceRecordSets batch, which Route 53 applies
//! whole or not at all.

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HostedZone, HostedZoneConfig, ResourceRecord, ResourceRecordSet,
    RrType, Vpc, VpcRegion,
};

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::session::AccountSession;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneObservation {
    /// Without the `/hostedzone/` prefix.
    pub id: String,
    /// Without the trailing dot, lower case.
    pub name: String,
    pub private: bool,
    pub comment: Option<String>,
}

/// One record set: an alias (target DNS name and zone) or values (TXT values keep their quotes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordObservation {
    /// Lower case, without the trailing dot, `*` for a wildcard (Route 53 answers `\052`).
    pub name: String,
    /// A, TXT, CNAME, ...
    pub kind: String,
    pub alias: Option<Alias>,
    pub values: Vec<String>,
    pub ttl: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    /// Lower case, without the trailing dot.
    pub dns_name: String,
    pub zone_id: String,
}

/// One change of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordChange {
    /// An alias A record (made or replaced).
    UpsertAlias { name: String, target: Alias },
    /// A TXT record (made or replaced), its one value unquoted.
    UpsertText { name: String, value: String },
    /// A CNAME record (made or replaced): a certificate's validation record.
    UpsertCname { name: String, value: String },
    /// A record set as observed (Route 53 deletes only an exact match).
    Delete(RecordObservation),
}

/// The TTL of the owner records the operator writes.
pub const OWNER_RECORD_TTL: i64 = 300;

pub struct Route53<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn route53(&self) -> Route53<'_> {
        Route53 { session: self }
    }
}

/// Route 53's way of writing a name, back to ours.
pub fn normalized(name: &str) -> String {
    name.trim_end_matches('.').replace("\\052", "*").to_ascii_lowercase()
}

fn zone_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_owned()
}

fn zone_of(zone: &HostedZone) -> ZoneObservation {
    let config = zone.config();
    ZoneObservation {
        id: zone_id(zone.id()),
        name: normalized(zone.name()),
        private: config.is_some_and(|c| c.private_zone()),
        comment: config.and_then(|c| c.comment()).map(str::to_owned),
    }
}

fn alias_target(alias: &Alias) -> AliasTarget {
    AliasTarget::builder()
        .dns_name(&alias.dns_name)
        .hosted_zone_id(&alias.zone_id)
        .evaluate_target_health(false)
        .build()
        .expect("alias target: every field set")
}

impl Route53<'_> {
    /// The zone of that id; `None` when there is none.
    pub async fn zone(&self, id: &str) -> Result<Option<ZoneObservation>, AwsError> {
        let client = self.session.route53_client();
        let found = optional(
            self.session
                .call(&op::R53_GET_HOSTED_ZONE, || client.get_hosted_zone().id(id).send())
                .await,
        )?;
        Ok(found.and_then(|f| f.hosted_zone().map(zone_of)))
    }

    /// The zones named `name` (Route 53 lists them in name order from it).
    pub async fn zones_named(&self, name: &str) -> Result<Vec<ZoneObservation>, AwsError> {
        let client = self.session.route53_client();
        let listed = self
            .session
            .call(&op::R53_LIST_HOSTED_ZONES_BY_NAME, || {
                client.list_hosted_zones_by_name().dns_name(name).max_items(100).send()
            })
            .await?;
        Ok(listed
            .hosted_zones()
            .iter()
            .filter(|z| normalized(z.name()) == normalized(name))
            .map(zone_of)
            .collect())
    }

    /// The zone's record sets that `keep` accepts, all pages.
    pub async fn records(
        &self,
        zone: &str,
        keep: impl Fn(&RecordObservation) -> bool,
    ) -> Result<Vec<RecordObservation>, AwsError> {
        let client = self.session.route53_client();
        let mut found = Vec::new();
        let mut next: Option<(String, RrType)> = None;
        loop {
            let page = self
                .session
                .call(&op::R53_LIST_RESOURCE_RECORD_SETS, || {
                    client
                        .list_resource_record_sets()
                        .hosted_zone_id(zone)
                        .set_start_record_name(next.as_ref().map(|(n, _)| n.clone()))
                        .set_start_record_type(next.as_ref().map(|(_, t)| t.clone()))
                        .max_items(300)
                        .send()
                })
                .await?;
            for set in page.resource_record_sets() {
                let record = RecordObservation {
                    name: normalized(set.name()),
                    kind: set.r#type().as_str().to_owned(),
                    alias: set.alias_target().map(|a| Alias {
                        dns_name: normalized(a.dns_name()),
                        zone_id: a.hosted_zone_id().to_owned(),
                    }),
                    values: set.resource_records().iter().map(|r| r.value().to_owned()).collect(),
                    ttl: set.ttl(),
                };
                if keep(&record) {
                    found.push(record);
                }
            }
            match (page.is_truncated(), page.next_record_name(), page.next_record_type()) {
                (true, Some(name), Some(kind)) => next = Some((name.to_owned(), kind.clone())),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Applies the changes as one batch: all of them or none.
    pub async fn change(&self, zone: &str, changes: &[RecordChange]) -> Result<(), AwsError> {
        let client = self.session.route53_client();
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes.iter().map(change).collect()))
            .build()
            .map_err(|e| invalid("ChangeResourceRecordSets", &e.to_string()))?;
        self.session
            .write(&op::R53_CHANGE_RESOURCE_RECORD_SETS, || {
                client
                    .change_resource_record_sets()
                    .hosted_zone_id(zone)
                    .change_batch(batch.clone())
                    .send()
            })
            .await
    }

    /// A private zone for `vpc`, made with `comment` (how the operator finds it again); its id.
    pub async fn create_private_zone(
        &self,
        name: &str,
        vpc: &str,
        region: &str,
        comment: &str,
        caller_reference: &str,
    ) -> Result<String, AwsError> {
        let client = self.session.route53_client();
        let config = HostedZoneConfig::builder().comment(comment).private_zone(true).build();
        let vpc = Vpc::builder().vpc_id(vpc).vpc_region(VpcRegion::from(region)).build();
        let made = self
            .session
            .call_not_repeated(&op::R53_CREATE_HOSTED_ZONE, || {
                client
                    .create_hosted_zone()
                    .name(name)
                    .caller_reference(caller_reference)
                    .hosted_zone_config(config.clone())
                    .vpc(vpc.clone())
                    .send()
            })
            .await?;
        Ok(made.hosted_zone().map(|z| zone_id(z.id())).unwrap_or_default())
    }

    pub async fn delete_zone(&self, id: &str) -> Result<(), AwsError> {
        let client = self.session.route53_client();
        self.session
            .delete_if_exists(&op::R53_DELETE_HOSTED_ZONE, || {
                client.delete_hosted_zone().id(id).send()
            })
            .await
    }
}

fn invalid(operation: &'static str, message: &str) -> AwsError {
    AwsError {
        service: "route53",
        operation,
        class: crate::error::ErrorClass::Invalid,
        code: None,
        message: message.to_owned(),
    }
}

fn change(change: &RecordChange) -> Change {
    let (action, set) = match change {
        RecordChange::UpsertAlias { name, target } => (
            ChangeAction::Upsert,
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::A)
                .alias_target(alias_target(target)),
        ),
        RecordChange::UpsertText { name, value } => (
            ChangeAction::Upsert,
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::Txt)
                .ttl(OWNER_RECORD_TTL)
                .resource_records(
                    ResourceRecord::builder()
                        .value(format!("\"{value}\""))
                        .build()
                        .expect("value set"),
                ),
        ),
        RecordChange::UpsertCname { name, value } => (
            ChangeAction::Upsert,
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::Cname)
                .ttl(OWNER_RECORD_TTL)
                .resource_records(ResourceRecord::builder().value(value).build().expect("value set")),
        ),
        RecordChange::Delete(seen) => {
            let mut set = ResourceRecordSet::builder()
                .name(&seen.name)
                .r#type(RrType::from(seen.kind.as_str()))
                .set_ttl(seen.ttl);
            if let Some(alias) = &seen.alias {
                set = set.alias_target(alias_target(alias));
            }
            for value in &seen.values {
                set = set.resource_records(ResourceRecord::builder().value(value).build().expect("value set"));
            }
            (ChangeAction::Delete, set)
        }
    };
    Change::builder()
        .action(action)
        .resource_record_set(set.build().expect("name and type set"))
        .build()
        .expect("action and record set")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_read_back_as_written() {
        assert_eq!(super::normalized("\\052.Camden.Example.org."), "*.camden.example.org");
        assert_eq!(
            super::normalized("files.camden.example.org"),
            "files.camden.example.org"
        );
    }
}
