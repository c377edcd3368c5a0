//! `spec.network`'s two forms, as admission checks them (and what admission cannot: a VPC range
//! that does not start at its first address).

use super::Problems;
use crate::patterns;

pub(super) fn validate_vpc(vpc: &crate::VpcSpec, p: &mut Problems) {
    p.check_format(
        "spec.network.vpc.cidr",
        &vpc.cidr,
        patterns::IPV4_CIDR,
        "an IPv4 range from /16 to /22, e.g. 10.20.0.0/16",
    );
    if let Ok(range) = vpc.cidr.parse::<ipnet::Ipv4Net>()
        && range.trunc() != range
    {
        p.add(
            "spec.network.vpc.cidr",
            format!(
                "{} is not the first address of its range; write {}",
                vpc.cidr,
                range.trunc()
            ),
        );
    }
    if !(2..=6).contains(&vpc.availability_zones) {
        p.add("spec.network.vpc.availabilityZones", "must be 2 to 6");
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, endpoint) in vpc.endpoints.iter().enumerate() {
        if !seen.insert(endpoint) {
            p.add(format!("spec.network.vpc.endpoints[{i}]"), "lists a service twice");
        }
    }
}

pub(super) fn validate_existing_network(network: &crate::NetworkSpec, p: &mut Problems) {
    if network.subnet_ids.is_empty() && network.security_group_ids.is_empty() {
        p.add(
            "spec.network.vpc",
            "spec.network takes either vpc (the operator builds the network, e.g. vpc: {cidr: 10.20.0.0/16}) or subnetIds with securityGroupIds (a network that exists)",
        );
        return;
    }
    if network.subnet_ids.is_empty() {
        p.add(
            "spec.network.subnetIds",
            "name at least one subnet, e.g. subnet-0a1b2c3d, or use spec.network.vpc instead",
        );
    }
    if network.subnet_ids.len() > 16 {
        p.add("spec.network.subnetIds", "at most 16 subnets");
    }
    for (i, subnet) in network.subnet_ids.iter().enumerate() {
        p.check_format(
            format!("spec.network.subnetIds[{i}]"),
            subnet,
            patterns::SUBNET_ID,
            "a subnet id such as subnet-0a1b2c3d",
        );
    }
    if network.security_group_ids.is_empty() {
        p.add(
            "spec.network.securityGroupIds",
            "name at least one security group, e.g. sg-0a1b2c3d, or use spec.network.vpc instead",
        );
    }
    if network.security_group_ids.len() > 5 {
        p.add("spec.network.securityGroupIds", "at most 5 security groups");
    }
    for (i, group) in network.security_group_ids.iter().enumerate() {
        p.check_format(
            format!("spec.network.securityGroupIds[{i}]"),
            group,
            patterns::SECURITY_GROUP_ID,
            "a security group id such as sg-0a1b2c3d",
        );
    }
}

/// The Cloud Map namespace's name: a private DNS name, not under `.local` (Dagster's gRPC client
/// has failed to resolve such names that `dig` resolved: dagster-io/dagster#19864).
pub(super) fn validate_dns_namespace(name: &str, p: &mut Problems) {
    const FIELD: &str = "spec.network.dnsNamespace";
    if name.len() > 200 {
        p.add(FIELD, format!("is {} characters; at most 200", name.len()));
    }
    p.check_format(
        FIELD,
        name,
        patterns::DNS_NAMESPACE,
        "a DNS name of two labels or more, lowercase (e.g. camden.dataplatform.internal)",
    );
    if name.ends_with(".local") {
        p.add(
            FIELD,
            format!("{name:?} ends in .local, which Dagster's gRPC client fails to resolve; use e.g. .internal"),
        );
    }
}
