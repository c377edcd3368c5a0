//! The zone and the records: per exposed host an alias A record to its load balancer and the owner
//! record beside it, made, put back, or removed when the host leaves; records without our owner
//! record are someone else's and never touched.

use dataplatform_aws::route53::{Alias, RecordChange};

use super::model::{DesiredDns, ObservedDns, ZoneChoice, owner_and_host};
use super::writes::DnsWrite;
use crate::plan::{Action, Ec2Ref, FieldChange, Part};
use crate::vocabulary::Outcome;

pub const ZONE_RESOURCE: &str = "route53:private-zone";
/// The CNAME records that validate the certificate the operator requested.
pub const VALIDATION_RESOURCE: &str = "route53:certificate-validation";

pub fn record_resource(host: &str) -> String {
    format!("route53:record/{host}")
}

/// The zone the records go in: known, or made by this plan (`None`: the records wait).
pub fn zone_outcome(desired: &DesiredDns, observed: &ObservedDns, outcomes: &mut Vec<Outcome>) -> Option<Ec2Ref> {
    if let Some(zone) = &observed.zone {
        return Some(Ec2Ref::Known(zone.id.clone()));
    }
    let ZoneChoice::Private { name, comment } = &desired.zone else {
        // A zone the account has and does not: spec_problems says so.
        return None;
    };
    if let Some(other) = observed.others.first() {
        outcomes.push(Outcome::conflict(format!(
            "{ZONE_RESOURCE} ({name}): private zone {} of that name exists and was not made by the operator; name it with spec.dns.hostedZoneId instead",
            other.id
        )));
        return None;
    }
    let Some(vpc) = &desired.vpc else {
        outcomes.push(Outcome::waiting(format!(
            "{ZONE_RESOURCE} ({name}) waits for the network's VPC"
        )));
        return None;
    };
    outcomes.push(Outcome::create(Action::create(
        Part::Dns,
        ZONE_RESOURCE,
        name,
        vec![DnsWrite::CreatePrivateZone {
            name: name.clone(),
            vpc: vpc.clone(),
            region: desired.region.clone(),
            comment: comment.clone(),
        }],
    )));
    Some(Ec2Ref::Made(ZONE_RESOURCE.to_owned()))
}

/// One host's record: made with its owner record, or put back where it points elsewhere.
pub fn host_outcome(
    desired: &DesiredDns,
    host: &str,
    target: &Alias,
    zone: &Ec2Ref,
    observed: &ObservedDns,
) -> Outcome {
    let resource = record_resource(host);
    let owner = observed.record(&desired.owner_record(host), &["TXT"]);
    let another = observed.records.iter().find(|r| {
        r.kind == "TXT" && owner_and_host(&r.name).is_some_and(|(label, h)| h == host && label != desired.owner_label)
    });
    let address = observed.address(host);
    match (owner, address) {
        (None, _) if another.is_some() => Outcome::conflict(format!(
            "{resource}: {host} is published by another DataPlatformAccount (its owner record {}); the record is left alone",
            another.map(|r| r.name.as_str()).unwrap_or_default()
        )),
        (None, Some(address)) => Outcome::conflict(format!(
            "{resource}: a {} record of {host} exists and is not the operator's (no owner record {}); delete it, or expose another host",
            address.kind,
            desired.owner_record(host)
        )),
        (_, None) => {
            let changes = vec![
                RecordChange::UpsertText {
                    name: desired.owner_record(host),
                    value: desired.owner_value.clone(),
                },
                RecordChange::UpsertAlias {
                    name: host.to_owned(),
                    target: target.clone(),
                },
            ];
            Outcome::create(Action::create(Part::Dns, &resource, host, vec![records(zone, changes)]))
        }
        (Some(_), Some(address)) => {
            let points_at = address.alias.as_ref().filter(|_| address.kind == "A");
            if points_at == Some(target) {
                return Outcome::update(Part::Dns, resource, host, vec![], Vec::<DnsWrite>::new());
            }
            let mut changes = Vec::new();
            if address.kind != "A" {
                // A CNAME cannot stand beside an A record: replaced in the same batch.
                changes.push(RecordChange::Delete(address.clone()));
            }
            changes.push(RecordChange::UpsertAlias {
                name: host.to_owned(),
                target: target.clone(),
            });
            let was = match points_at {
                Some(alias) => alias.dns_name.clone(),
                None => format!("{} {}", address.kind, address.values.join(" ")),
            };
            Outcome::update(
                Part::Dns,
                resource,
                host,
                vec![FieldChange::new("alias", was, target.dns_name.clone())],
                vec![records(zone, changes)],
            )
        }
    }
}

/// Our records whose host the spec no longer publishes (or all of ours, `every`): each with its
/// owner record, in one batch.
pub fn unwanted_records(desired: &DesiredDns, observed: &ObservedDns, zone: &str, every: bool) -> Vec<Action> {
    let our_hosts = observed.records.iter().filter_map(|r| desired.our_host(r));
    our_hosts
        .filter(|host| every || !desired.hosts.contains_key(host))
        .map(|host| {
            let mut changes: Vec<RecordChange> = observed
                .address(&host)
                .filter(|a| a.kind == "A" && a.alias.is_some())
                .map(|a| RecordChange::Delete(a.clone()))
                .into_iter()
                .collect();
            changes.push(RecordChange::Delete(desired.owner_record_set(&host)));
            Action::delete(
                Part::Dns,
                record_resource(&host),
                &host,
                vec![records(&Ec2Ref::Known(zone.to_owned()), changes)],
            )
        })
        .collect()
}

/// The requested certificate's validation records that are not in the zone. Never removed: ACM
/// renews by them, and a new certificate for the same names is validated by the very same records.
pub fn validation_outcome(desired: &DesiredDns, observed: &ObservedDns, zone: &str) -> Option<Outcome> {
    let missing: Vec<RecordChange> = desired
        .validation
        .iter()
        .filter(|(name, _)| observed.record(name, &["CNAME"]).is_none())
        .map(|(name, value)| RecordChange::UpsertCname {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    let first = missing.iter().find_map(|c| match c {
        RecordChange::UpsertCname { name, .. } => Some(name.clone()),
        _ => None,
    })?;
    Some(Outcome::create(Action::create(
        Part::Dns,
        VALIDATION_RESOURCE,
        &first,
        vec![records(&Ec2Ref::Known(zone.to_owned()), missing)],
    )))
}

/// The hosts whose records are in place: our owner record, and an alias to `target`.
pub fn published(desired: &DesiredDns, observed: &ObservedDns) -> Vec<String> {
    let in_place = |host: &String| {
        observed.record(&desired.owner_record(host), &["TXT"]).is_some()
            && observed.record(host, &["A"]).is_some_and(|a| {
                let target = desired.hosts.get(host).and_then(|s| desired.targets.get(s));
                a.alias.is_some() && a.alias.as_ref() == target
            })
    };
    desired.hosts.keys().filter(|h| in_place(h)).cloned().collect()
}

fn records(zone: &Ec2Ref, changes: Vec<RecordChange>) -> DnsWrite {
    DnsWrite::ChangeRecords {
        zone: zone.clone(),
        changes,
    }
}
