//! `spec.dns`: where the exposed services' host names are published. The operator writes an
//! alias record per exposed host, pointing at its load balancer, in one Route 53 hosted zone.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::patterns::{self, cel_matches};

/// One hosted zone for the exposed hosts: one the account has (`hostedZoneId`), or a private zone
/// the operator makes (`privateZone`). Per exposed host (services[].expose.hosts, which must be in
/// the zone) an alias A record to its service's load balancer, and beside it a TXT record
/// `_dataplatform-<hash>.<host>` (`_dataplatform-<hash>-wildcard.<domain>` for `*.<domain>`; the
/// hash is of this object's namespace/name) saying the operator owns it. Records without that owner
/// record are never touched; a host that leaves the spec loses both; a record changed by hand is
/// put back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.hostedZoneId) != has(self.privateZone)")
    .message("spec.dns takes hostedZoneId (a zone the account has) or privateZone (one the operator makes), not both"))]
#[serde(rename_all = "camelCase")]
pub struct DnsSpec {
    /// A Route 53 hosted zone of the account, public or private, e.g. Z0123456789ABCDEFGHIJ. The
    /// operator writes only its own records in it.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HOSTED_ZONE_ID))
        .message("spec.dns.hostedZoneId must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"))]
    #[schemars(length(max = 32))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,

    /// A domain, e.g. camden.example.org, for a private hosted zone the operator makes, associates
    /// with the account's VPC (spec.network) and, under deletionPolicy Delete, deletes.
    #[x_kube(validation = Rule::new(cel_matches(patterns::DNS_NAMESPACE))
        .message("spec.dns.privateZone must be a domain name such as camden.example.org"))]
    #[schemars(length(max = 253))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_zone: Option<String>,
}

/// The zone and what the operator wrote in it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsStatus {
    /// The hosted zone's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// Its domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
    /// The host names whose alias records are in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// The certificate the operator requested for the exposed hosts (spec.dns.hostedZoneId without
/// spec.loadBalancer.certificateArn).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    pub arn: String,
    /// PENDING_VALIDATION, ISSUED, FAILED, ... as ACM reports it.
    pub status: String,
    /// The host names it is for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl crate::DataPlatformAccountSpec {
    /// Whether the operator requests the load balancers' certificate: a zone the account has is
    /// named (ACM validates by DNS records the operator writes there), no certificate is, and a
    /// service is exposed with hosts.
    pub fn requests_certificate(&self) -> bool {
        let named = self.load_balancer.as_ref().is_some_and(|l| l.certificate_arn.is_some());
        let zone = self.dns.as_ref().is_some_and(|d| d.hosted_zone_id.is_some());
        let hosts = self
            .services
            .iter()
            .filter_map(|s| s.expose.as_ref())
            .any(|e| !e.hosts.is_empty());
        zone && !named && hosts
    }

    /// Whether the load balancers have a certificate, named or requested (HTTPS listeners).
    pub fn has_certificate(&self) -> bool {
        self.load_balancer.as_ref().is_some_and(|l| l.certificate_arn.is_some()) || self.requests_certificate()
    }
}
