//! The load balancers' certificate when the operator requests it (`spec.dns.hostedZoneId` without
//! `spec.loadBalancer.certificateArn`): an ACM certificate for the exposed hosts, validated by the
//! CNAME records ACM names, which the dns part writes in the zone it reads anyway
//! (`Facts::validation_records`). Before the load balancers, whose HTTPS listeners wait for it to
//! be issued; deleted after them.

mod writes;

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::account::DataPlatformAccountStatus;
use dataplatform_api::dns::CertificateStatus;
use dataplatform_api::{DataPlatformAccountSpec, OWNER_TAG, SpecProblem};
use dataplatform_aws::acm::CertificateObservation;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::ACM_NAMES_PER_CERTIFICATE;
use dataplatform_aws::{AccountSession, AwsError, QuotaUse};
use sha2::Digest;

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness};
use writes::CertificateWrite;

const RESOURCE: &str = "acm:certificate";

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredCertificate {
    pub wanted: bool,
    /// The exposed hosts, sorted: the first is the domain name, the others alternative names.
    pub names: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub owner: String,
    /// The certificate the last status named (found by it after the hosts changed).
    pub remembered: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedCertificate {
    /// Ours (owner tag), by the domain name wanted or the one the status remembered.
    pub certificates: Vec<CertificateObservation>,
}

impl DesiredCertificate {
    /// Its idempotency token (ACM: 32 word characters at most): one per owner and set of names.
    fn token(&self) -> String {
        let digest = sha2::Sha256::digest(format!("{}\n{}", self.owner, self.names.join(",")).as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn current<'a>(&self, observed: &'a ObservedCertificate) -> Option<&'a CertificateObservation> {
        let names: BTreeSet<String> = self.names.iter().cloned().collect();
        observed
            .certificates
            .iter()
            .filter(|c| c.names == names && matches!(c.status.as_str(), "PENDING_VALIDATION" | "ISSUED"))
            .max_by_key(|c| c.status == "ISSUED")
    }
}

pub struct Certificate;

impl AccountPart for Certificate {
    const PART: Part = Part::Certificate;
    type Desired = DesiredCertificate;
    type Observed = ObservedCertificate;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.requests_certificate()
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredCertificate {
        let mut names: Vec<String> = spec
            .services
            .iter()
            .filter_map(|s| s.expose.as_ref())
            .flat_map(|e| e.hosts.iter().map(|h| h.to_ascii_lowercase()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // A wildcard covers its names: the domain is the first plain name, else the first one.
        names.sort_by_key(|n| n.starts_with('*'));
        DesiredCertificate {
            wanted: spec.requests_certificate(),
            names,
            tags: account.tags.clone(),
            owner: account.owner.clone(),
            remembered: None,
        }
    }

    fn remember(desired: &mut DesiredCertificate, status: Option<&DataPlatformAccountStatus>) {
        desired.remembered = status.and_then(|s| s.certificate.as_ref()).map(|c| c.arn.clone());
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &DesiredCertificate,
    ) -> Result<ObservedCertificate, AwsError> {
        if !desired.wanted && desired.remembered.is_none() {
            return Ok(ObservedCertificate::default());
        }
        let mut certificates = match desired.names.first() {
            Some(domain) => session.acm().certificates_for(domain).await?,
            None => vec![],
        };
        if let Some(arn) = desired
            .remembered
            .as_ref()
            .filter(|a| !certificates.iter().any(|c| &c.arn == *a))
        {
            certificates.extend(session.acm().certificate(arn).await?);
        }
        certificates.retain(|c| c.tags.get(OWNER_TAG) == Some(&desired.owner));
        Ok(ObservedCertificate { certificates })
    }

    /// A private zone, where ACM cannot validate, is the dns part's to say: it reads the zone.
    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &DesiredCertificate,
        _observed: &ObservedCertificate,
    ) -> Vec<SpecProblem> {
        vec![]
    }

    fn facts(desired: &DesiredCertificate, observed: &ObservedCertificate, facts: &mut Facts) {
        if !desired.wanted {
            return;
        }
        // The one for today's hosts once issued; meanwhile an issued one of ours for earlier hosts.
        let issued = desired
            .current(observed)
            .filter(|c| c.status == "ISSUED")
            .or_else(|| observed.certificates.iter().find(|c| c.status == "ISSUED"));
        facts.certificate = issued.map(|c| c.arn.clone());
        // Kept after issue too: ACM renews by the same records.
        facts.validation_records = desired
            .current(observed)
            .map(|c| c.validation.iter().cloned().collect())
            .unwrap_or_default();
    }

    fn diff(
        _account: &AccountContext,
        desired: &DesiredCertificate,
        observed: &ObservedCertificate,
        _owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = Vec::new();
        let current = desired.current(observed).filter(|_| desired.wanted);
        for old in observed
            .certificates
            .iter()
            .filter(|c| Some(c.arn.as_str()) != current.map(|c| c.arn.as_str()))
        {
            if old.in_use {
                outcomes.push(Outcome::waiting(format!(
                    "{RESOURCE} {} is deleted once no listener uses it",
                    old.arn
                )));
            } else {
                outcomes.push(Outcome::create(delete(old)));
            }
        }
        let Some(domain) = desired.names.first().filter(|_| desired.wanted) else {
            return outcomes;
        };
        if current.is_none() {
            // Said at plan time too; the adapter refuses the request before it is sent.
            if let Err(exceeded) =
                ACM_NAMES_PER_CERTIFICATE.check_count(desired.names.len(), &format!("the certificate for {domain}"))
            {
                outcomes.push(Outcome::quota_exceeded(exceeded));
                return outcomes;
            }
            outcomes.push(Outcome::create(Action::create(
                Part::Certificate,
                RESOURCE,
                domain,
                vec![CertificateWrite::Request {
                    domain: domain.clone(),
                    alternatives: desired.names[1..].to_vec(),
                    token: desired.token(),
                    tags: desired.tags.clone(),
                }],
            )));
        }
        outcomes
    }

    fn readiness(
        desired: &DesiredCertificate,
        observed: &ObservedCertificate,
        _applied: &Plan,
        readiness: &mut Readiness,
    ) {
        if !desired.wanted {
            return;
        }
        let status = desired
            .current(observed)
            .map(|c| c.status.as_str())
            .unwrap_or("being requested");
        if status != "ISSUED" {
            readiness.wait(
                crate::wait::WaitKind::LoadBalancer,
                format!(
                    "the certificate for {} is {status}: ACM issues it once it reads the validation records in the zone",
                    desired.names.join(", ")
                ),
            );
        }
    }

    /// After the load balancers (deletion goes up the list). `in_use` is not asked: moto never
    /// clears it when a load balancer goes, and AWS refuses (ResourceInUseException) while ELB still
    /// lets go, which ends the pass and the next one deletes it.
    fn deletion(
        _account: &AccountContext,
        _desired: &DesiredCertificate,
        observed: &ObservedCertificate,
        _waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        observed.certificates.iter().map(delete).collect()
    }

    fn report(
        _account: &AccountContext,
        desired: &DesiredCertificate,
        observed: &ObservedCertificate,
        status: &mut DataPlatformAccountStatus,
    ) {
        let shown = desired
            .current(observed)
            .filter(|_| desired.wanted)
            .or(observed.certificates.first());
        status.certificate = shown.map(|c| CertificateStatus {
            arn: c.arn.clone(),
            status: c.status.clone(),
            names: c.names.iter().cloned().collect(),
        });
    }

    fn quota_use(account: &AccountContext, observed: &ObservedCertificate, used: &mut QuotaUse) {
        for certificate in &observed.certificates {
            used.record(ACM_NAMES_PER_CERTIFICATE, certificate.names.len(), || {
                format!("certificate {} of {}", certificate.arn, account.owner)
            });
        }
    }

    fn policy_scope(_account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        scope.managed_certificates = Some(spec.requests_certificate());
    }
}

/// A certificate of ours: its validation records stay (another certificate for the same names
/// would be validated by the very same records).
fn delete(certificate: &CertificateObservation) -> Action {
    Action::delete(
        Part::Certificate,
        RESOURCE,
        &certificate.arn,
        vec![CertificateWrite::Delete {
            arn: certificate.arn.clone(),
        }],
    )
}
