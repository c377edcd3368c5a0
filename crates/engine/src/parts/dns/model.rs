//! What the DNS part wants and finds: the zone of `spec.dns`, per exposed host an alias A record to
//! its load balancer with an owner TXT record beside it, and what the zone holds.

use std::collections::BTreeMap;

use dataplatform_api::{DataPlatformAccountSpec, Scheme};
use dataplatform_aws::route53::{Alias, RecordObservation, ZoneObservation};
use sha2::Digest;

use crate::account::AccountContext;

/// Which zone the records go in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneChoice {
    /// No spec.dns, and no zone in the last status: nothing to read.
    None,
    /// A zone the account has (or the last status named, after spec.dns went: our records in it
    /// are removed).
    Existing(String),
    /// A private zone the operator makes, found by its name and the comment it was made with.
    Private { name: String, comment: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredDns {
    pub zone: ZoneChoice,
    /// Each exposed host and the scheme of the load balancer it points at.
    pub hosts: BTreeMap<String, Scheme>,
    /// The owner TXT record's value, for people.
    pub owner_value: String,
    /// `_dataplatform-<hash of the owner>`: the first label of the owner records.
    pub owner_label: String,
    pub region: String,
    /// From the load balancer part's facts.
    pub targets: BTreeMap<Scheme, Alias>,
    /// From the network part's facts: the VPC a private zone is made for.
    pub vpc: Option<String>,
    /// From the certificate part's facts: the validation records of the certificate the operator
    /// requested (name, value).
    pub validation: Vec<(String, String)>,
}

/// What the zone holds (record sets but its SOA and NS).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedDns {
    pub zone: Option<ZoneObservation>,
    /// Private zones of the private zone's name that the operator did not make.
    pub others: Vec<ZoneObservation>,
    pub records: Vec<RecordObservation>,
}

/// The owner record of `host` for the owner labelled `label` (`_dataplatform-<hash>`):
/// `<label>.<host>`, or `<label>-wildcard.<domain>` for `*.<domain>` (a label cannot hold `*` after
/// another). The name alone says who owns the host: no record value need be read (moto's values
/// come back in CDATA, which the SDK reads as empty).
pub fn owner_record(label: &str, host: &str) -> String {
    match host.strip_prefix("*.") {
        Some(domain) => format!("{label}-wildcard.{domain}"),
        None => format!("{label}.{host}"),
    }
}

/// The owner label and host of an owner record; `None` for any other name.
pub fn owner_and_host(name: &str) -> Option<(&str, String)> {
    if !name.starts_with("_dataplatform-") {
        return None;
    }
    let (label, rest) = name.split_once('.')?;
    match label.strip_suffix("-wildcard") {
        Some(label) => Some((label, format!("*.{rest}"))),
        None => Some((label, rest.to_owned())),
    }
}

impl DesiredDns {
    pub fn new(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Self {
        let owner_value = format!("dataplatform-operator owner={}", account.owner);
        let digest = sha2::Sha256::digest(account.owner.as_bytes());
        let owner_label = format!(
            "_dataplatform-{}",
            digest[..4].iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let zone = match &spec.dns {
            None => ZoneChoice::None,
            Some(dns) => match (&dns.hosted_zone_id, &dns.private_zone) {
                (Some(id), _) => ZoneChoice::Existing(id.clone()),
                (None, Some(name)) => ZoneChoice::Private {
                    name: name.to_ascii_lowercase(),
                    comment: owner_value.clone(),
                },
                (None, None) => ZoneChoice::None,
            },
        };
        let mut hosts = BTreeMap::new();
        if zone != ZoneChoice::None {
            for expose in spec.services.iter().filter_map(|s| s.expose.as_ref()) {
                for host in &expose.hosts {
                    hosts.insert(host.to_ascii_lowercase(), expose.scheme);
                }
            }
        }
        Self {
            zone,
            hosts,
            owner_value,
            owner_label,
            region: spec.region.clone(),
            targets: BTreeMap::new(),
            vpc: None,
            validation: vec![],
        }
    }

    /// Our owner record of `host`.
    pub fn owner_record(&self, host: &str) -> String {
        owner_record(&self.owner_label, host)
    }

    /// The host of one of our owner records.
    pub fn our_host(&self, record: &RecordObservation) -> Option<String> {
        let (label, host) = owner_and_host(&record.name).filter(|_| record.kind == "TXT")?;
        (label == self.owner_label).then_some(host)
    }

    /// Our owner record of `host` as Route 53 deletes it: exactly as written.
    pub fn owner_record_set(&self, host: &str) -> RecordObservation {
        RecordObservation {
            name: self.owner_record(host),
            kind: "TXT".to_owned(),
            alias: None,
            values: vec![format!("\"{}\"", self.owner_value)],
            ttl: Some(dataplatform_aws::route53::OWNER_RECORD_TTL),
        }
    }
}

impl ObservedDns {
    pub fn record(&self, name: &str, kinds: &[&str]) -> Option<&RecordObservation> {
        self.records
            .iter()
            .find(|r| r.name == name && kinds.contains(&r.kind.as_str()))
    }

    /// What answers for `host` itself: an A, AAAA or CNAME record set.
    pub fn address(&self, host: &str) -> Option<&RecordObservation> {
        self.record(host, &["A", "AAAA", "CNAME"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_records_stand_beside_their_hosts_and_lead_back_to_them() {
        for host in ["files.camden.example.org", "*.camden.example.org"] {
            let name = owner_record("_dataplatform-1a2b3c4d", host);
            assert_eq!(owner_and_host(&name), Some(("_dataplatform-1a2b3c4d", host.to_owned())));
        }
        assert_eq!(
            owner_record("_dataplatform-1a2b3c4d", "*.camden.example.org"),
            "_dataplatform-1a2b3c4d-wildcard.camden.example.org"
        );
        assert_eq!(owner_and_host("files.camden.example.org"), None);
    }
}
