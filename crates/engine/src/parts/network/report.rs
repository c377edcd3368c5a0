//! The network as status reports it: ids AWS gave what the operator made or found, and what keeps
//! something from working in a network the operator does not own.

use std::collections::BTreeMap;

use dataplatform_api::account::{NetworkStatus, ZoneStatus};

use super::model::{DesiredNetwork, ObservedNetwork, Tier};
use crate::account::AccountContext;
use crate::vocabulary::ours;

pub fn report(account: &AccountContext, desired: &DesiredNetwork, observed: &ObservedNetwork) -> NetworkStatus {
    let names = &desired.names;
    let zones = desired.managed().map_or(0, |v| v.zones);
    let id_of = |tier: Tier, zone: &str| observed.subnet_named(&names.subnet(tier, zone)).map(|s| s.id.clone());
    NetworkStatus {
        vpc_id: observed.vpc_id().map(str::to_owned),
        zones: observed
            .zones
            .iter()
            .take(zones)
            .map(|zone| ZoneStatus {
                zone: zone.clone(),
                private_subnet_id: id_of(Tier::Private, zone),
                public_subnet_id: id_of(Tier::Public, zone),
            })
            .collect(),
        security_groups: desired
            .groups()
            .into_iter()
            .filter_map(|role| {
                let group = observed.group_named(&names.group(role))?;
                Some((role.as_str().to_owned(), group.id.clone()))
            })
            .collect(),
        nat_gateways: observed
            .nat_gateways
            .iter()
            .filter(|n| ours(&n.tags, &account.owner))
            .map(|n| n.id.clone())
            .collect(),
        endpoints: desired
            .endpoints()
            .iter()
            .filter_map(|e| {
                Some((
                    e.key.clone(),
                    observed.endpoint_named(&names.endpoint(&e.key))?.id.clone(),
                ))
            })
            .collect::<BTreeMap<_, _>>(),
        db_subnet_group: observed.subnet_group.as_ref().map(|g| g.name.clone()),
        note: dns_note(observed),
    }
}

/// The existing form's VPC with DNS support or host names off: the private zone of the services'
/// names does not answer there (AWS: both must be on for a private hosted zone).
pub fn dns_note(observed: &ObservedNetwork) -> Option<String> {
    let (support, hostnames) = observed.existing_vpc_dns?;
    let off: Vec<&str> = [("enableDnsSupport", support), ("enableDnsHostnames", hostnames)]
        .into_iter()
        .filter_map(|(name, on)| (!on).then_some(name))
        .collect();
    (!off.is_empty()).then(|| {
        format!(
            "the VPC {} has {} off: the services' names (status.services[].address) do not resolve in it; ask its owner to turn {} on",
            observed.vpc_id().unwrap_or("of spec.network.subnetIds"),
            off.join(" and "),
            if off.len() == 1 { "it" } else { "both" }
        )
    })
}
