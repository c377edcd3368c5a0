//! DNS: the exposed hosts published in Route 53 (`spec.dns`), in a zone the account has or a
//! private zone the operator makes for the VPC. After the load balancers (the records point at
//! them); deleted before them.

mod model;
mod records;
mod writes;

use dataplatform_api::account::DataPlatformAccountStatus;
use dataplatform_api::dns::DnsStatus;
use dataplatform_api::{DataPlatformAccountSpec, SpecProblem};
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};

pub use model::{DesiredDns, ObservedDns, ZoneChoice};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness};

pub struct Dns;

impl AccountPart for Dns {
    const PART: Part = Part::Dns;
    type Desired = DesiredDns;
    type Observed = ObservedDns;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.dns.is_some()
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredDns {
        DesiredDns::new(account, spec)
    }

    /// After spec.dns goes, the zone the last status named is still read, so the records the
    /// operator wrote there are removed.
    fn remember(desired: &mut DesiredDns, status: Option<&DataPlatformAccountStatus>) {
        if desired.zone == ZoneChoice::None
            && let Some(id) = status.and_then(|s| s.dns.as_ref()).and_then(|d| d.zone_id.clone())
        {
            desired.zone = ZoneChoice::Existing(id);
        }
    }

    fn complete(desired: &mut DesiredDns, facts: &Facts) {
        desired.targets = facts.balancer_aliases.clone();
        desired.vpc = facts.network_vpc.clone();
        desired.validation = facts.validation_records.clone();
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &DesiredDns,
    ) -> Result<ObservedDns, AwsError> {
        let route53 = session.route53();
        let (zone, others) = match &desired.zone {
            ZoneChoice::None => return Ok(ObservedDns::default()),
            ZoneChoice::Existing(id) => (route53.zone(id).await?, vec![]),
            ZoneChoice::Private { name, comment } => {
                let (ours, others): (Vec<_>, Vec<_>) = route53
                    .zones_named(name)
                    .await?
                    .into_iter()
                    .filter(|z| z.private)
                    .partition(|z| z.comment.as_deref() == Some(comment.as_str()));
                (ours.into_iter().next(), others)
            }
        };
        let records = match &zone {
            Some(zone) => route53.records(&zone.id, |r| r.kind != "SOA" && r.kind != "NS").await?,
            None => vec![],
        };
        Ok(ObservedDns { zone, others, records })
    }

    /// A zone that is not there, hosts outside the zone the account has, or a private zone where
    /// the operator would request a certificate (ACM validates public names only).
    fn spec_problems(spec: &DataPlatformAccountSpec, desired: &DesiredDns, observed: &ObservedDns) -> Vec<SpecProblem> {
        let Some(id) = spec.dns.as_ref().and_then(|d| d.hosted_zone_id.as_ref()) else {
            return vec![];
        };
        let Some(zone) = &observed.zone else {
            return vec![SpecProblem {
                field: "spec.dns.hostedZoneId".to_owned(),
                message: format!("no hosted zone {id} in the account: name one of its zones, or use privateZone"),
            }];
        };
        if zone.private && spec.requests_certificate() {
            return vec![SpecProblem {
                field: "spec.loadBalancer.certificateArn".to_owned(),
                message: format!(
                    "is required: spec.dns.hostedZoneId {id} is a private zone, where ACM cannot validate a certificate; name a certificate (a private CA's, or one validated elsewhere)"
                ),
            }];
        }
        let outside = desired
            .hosts
            .keys()
            .filter(|h| !dataplatform_api::validation::in_zone(h, &zone.name));
        outside
            .map(|host| SpecProblem {
                field: "spec.services[].expose.hosts".to_owned(),
                message: format!(
                    "{host} is not in hosted zone {id} ({}): its record could not be written there",
                    zone.name
                ),
            })
            .collect()
    }

    fn diff(
        _account: &AccountContext,
        desired: &DesiredDns,
        observed: &ObservedDns,
        _owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let Some(zone) = records::zone_outcome(desired, observed, &mut outcomes) else {
            return outcomes;
        };
        if let Some(zone) = &observed.zone {
            let gone = records::unwanted_records(desired, observed, &zone.id, false);
            outcomes.extend(gone.into_iter().map(Outcome::create));
            outcomes.extend(records::validation_outcome(desired, observed, &zone.id));
        }
        for (host, scheme) in &desired.hosts {
            match desired.targets.get(scheme) {
                Some(target) => outcomes.push(records::host_outcome(desired, host, target, &zone, observed)),
                None => outcomes.push(Outcome::waiting(format!(
                    "{} waits for its load balancer",
                    records::record_resource(host)
                ))),
            }
        }
        outcomes
    }

    fn readiness(desired: &DesiredDns, _observed: &ObservedDns, _applied: &Plan, readiness: &mut Readiness) {
        for (host, scheme) in &desired.hosts {
            if !desired.targets.contains_key(scheme) {
                readiness.wait(
                    crate::wait::WaitKind::LoadBalancer,
                    format!("the record of {host} waits for its load balancer"),
                );
            }
        }
    }

    /// Our records, then a private zone the operator made (kept while it holds others' records).
    fn deletion(
        _account: &AccountContext,
        desired: &DesiredDns,
        observed: &ObservedDns,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        let Some(zone) = &observed.zone else {
            return vec![];
        };
        let mut actions = records::unwanted_records(desired, observed, &zone.id, true);
        if matches!(desired.zone, ZoneChoice::Private { .. }) {
            actions.push(Action::delete(
                Part::Dns,
                records::ZONE_RESOURCE,
                &zone.name,
                vec![writes::DnsWrite::DeleteZone { id: zone.id.clone() }],
            ));
        }
        actions
    }

    fn report(
        _account: &AccountContext,
        desired: &DesiredDns,
        observed: &ObservedDns,
        status: &mut DataPlatformAccountStatus,
    ) {
        let published = records::published(desired, observed);
        let leftover = matches!(desired.zone, ZoneChoice::Existing(_)) && desired.hosts.is_empty();
        let ours_left = observed.records.iter().any(|r| desired.our_host(r).is_some());
        // A zone the spec no longer names stays in status until our records there are gone.
        status.dns = observed
            .zone
            .as_ref()
            .filter(|_| !leftover || ours_left)
            .map(|zone| DnsStatus {
                zone_id: Some(zone.id.clone()),
                zone_name: Some(zone.name.clone()),
                records: published,
            });
    }

    fn quota_use(_account: &AccountContext, _observed: &ObservedDns, _used: &mut QuotaUse) {}

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        let dns = spec.dns.as_ref();
        scope.dns_zones = Some(
            match (
                dns.and_then(|d| d.hosted_zone_id.clone()),
                dns.and_then(|d| d.private_zone.as_ref()),
            ) {
                (Some(id), _) => vec![id],
                // Route 53 picks a new zone's id.
                (None, Some(_)) => vec!["*".to_owned()],
                (None, None) => vec![],
            },
        );
    }
}
