//! ACM: the certificate the operator requests for the exposed hosts, validated by DNS, found by its
//! domain name and owner tag. A request carries an idempotency token, so one repeated after a lost
//! answer (within the hour ACM keeps the token) returns the same certificate.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_acm::types::{CertificateStatus, DomainValidation, Tag, ValidationMethod};

use crate::error::AwsError;
use crate::permissions as op;
use crate::quotas::ACM_NAMES_PER_CERTIFICATE;
use crate::session::AccountSession;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateObservation {
    pub arn: String,
    /// Its domain name and alternative names.
    pub names: BTreeSet<String>,
    /// PENDING_VALIDATION, ISSUED, FAILED, VALIDATION_TIMED_OUT, ...
    pub status: String,
    /// The CNAME records ACM checks: (name without the trailing dot, value).
    pub validation: BTreeSet<(String, String)>,
    /// Whether a load balancer uses it.
    pub in_use: bool,
    pub tags: BTreeMap<String, String>,
}

pub struct Acm<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn acm(&self) -> Acm<'_> {
        Acm { session: self }
    }
}

impl Acm<'_> {
    /// The certificates whose domain name is `domain`, described and with their tags.
    pub async fn certificates_for(&self, domain: &str) -> Result<Vec<CertificateObservation>, AwsError> {
        let client = self.session.acm_client();
        let statuses = [
            CertificateStatus::PendingValidation,
            CertificateStatus::Issued,
            CertificateStatus::Failed,
            CertificateStatus::ValidationTimedOut,
            CertificateStatus::Inactive,
            CertificateStatus::Expired,
            CertificateStatus::Revoked,
        ];
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::ACM_LIST_CERTIFICATES, || {
                    client
                        .list_certificates()
                        .set_certificate_statuses(Some(statuses.to_vec()))
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            for summary in page.certificate_summary_list() {
                if summary.domain_name() == Some(domain) {
                    arns.extend(summary.certificate_arn().map(str::to_owned));
                }
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let mut found = Vec::new();
        for arn in arns {
            found.push(self.describe(&arn).await?);
        }
        Ok(found)
    }

    /// One certificate by ARN; `None` when it is gone.
    pub async fn certificate(&self, arn: &str) -> Result<Option<CertificateObservation>, AwsError> {
        crate::error::optional(self.describe(arn).await)
    }

    async fn describe(&self, arn: &str) -> Result<CertificateObservation, AwsError> {
        let client = self.session.acm_client();
        let (described, tags) = tokio::try_join!(
            self.session.call(&op::ACM_DESCRIBE_CERTIFICATE, || {
                client.describe_certificate().certificate_arn(arn).send()
            }),
            self.session.call(&op::ACM_LIST_TAGS_FOR_CERTIFICATE, || {
                client.list_tags_for_certificate().certificate_arn(arn).send()
            }),
        )?;
        let detail = described.certificate();
        let names = detail
            .map(|d| {
                d.subject_alternative_names()
                    .iter()
                    .cloned()
                    .chain(d.domain_name().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let validation = detail
            .map(|d| {
                d.domain_validation_options()
                    .iter()
                    .filter_map(validation_record)
                    .collect()
            })
            .unwrap_or_default();
        Ok(CertificateObservation {
            arn: arn.to_owned(),
            names,
            status: detail
                .and_then(|d| d.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            validation,
            in_use: detail.is_some_and(|d| !d.in_use_by().is_empty()),
            tags: tags
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
                .collect(),
        })
    }

    /// A DNS-validated certificate for `domain` and `alternatives`; its ARN.
    pub async fn request(
        &self,
        domain: &str,
        alternatives: &[String],
        idempotency_token: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let names = 1 + alternatives.len();
        ACM_NAMES_PER_CERTIFICATE
            .check_count(names, &format!("the certificate for {domain}"))
            .map_err(|e| e.refused("acm", "RequestCertificate"))?;
        let client = self.session.acm_client();
        let tags: Vec<Tag> = tags
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let requested = self
            .session
            .call(&op::ACM_REQUEST_CERTIFICATE, || {
                client
                    .request_certificate()
                    .domain_name(domain)
                    .set_subject_alternative_names((!alternatives.is_empty()).then(|| alternatives.to_vec()))
                    .validation_method(ValidationMethod::Dns)
                    .idempotency_token(idempotency_token)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        Ok(requested.certificate_arn().unwrap_or_default().to_owned())
    }

    pub async fn delete(&self, arn: &str) -> Result<(), AwsError> {
        let client = self.session.acm_client();
        self.session
            .delete_if_exists(&op::ACM_DELETE_CERTIFICATE, || {
                client.delete_certificate().certificate_arn(arn).send()
            })
            .await
    }
}

fn validation_record(option: &DomainValidation) -> Option<(String, String)> {
    let record = option.resource_record()?;
    Some((crate::route53::normalized(record.name()), record.value().to_owned()))
}
