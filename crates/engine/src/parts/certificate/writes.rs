//! The certificate part's AWS writes.

use std::collections::BTreeMap;

use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::{Made, Write};

#[derive(Clone, Debug, PartialEq)]
pub enum CertificateWrite {
    /// A DNS-validated certificate; the idempotency token makes a repeat after a lost answer
    /// return the same one.
    Request {
        domain: String,
        alternatives: Vec<String>,
        token: String,
        tags: BTreeMap<String, String>,
    },
    Delete {
        arn: String,
    },
}

impl Write for CertificateWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        match self {
            Self::Request {
                domain,
                alternatives,
                token,
                tags,
            } => {
                let arn = session.acm().request(domain, alternatives, token, tags).await?;
                made.ids.insert(resource.to_owned(), arn);
                Ok(())
            }
            Self::Delete { arn } => session.acm().delete(arn).await,
        }
    }
}
