//! The DNS part's AWS writes and how they run.

use dataplatform_aws::route53::RecordChange;
use dataplatform_aws::{AccountSession, AwsError};

use crate::plan::{Ec2Ref, Lookup, Made, Write};

#[derive(Clone, Debug, PartialEq)]
pub enum DnsWrite {
    /// A private zone for the VPC, made with the comment that says it is ours (Route 53 has no
    /// tags in its create, and the comment is found again by name).
    CreatePrivateZone {
        name: String,
        vpc: String,
        region: String,
        comment: String,
    },
    /// Record changes as one batch: a record and its owner record go together or not at all.
    ChangeRecords {
        zone: Ec2Ref,
        changes: Vec<RecordChange>,
    },
    DeleteZone {
        id: String,
    },
}

impl Write for DnsWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        let route53 = session.route53();
        match self {
            Self::CreatePrivateZone {
                name,
                vpc,
                region,
                comment,
            } => {
                // Route 53 refuses a caller reference it has seen, even of a zone since deleted.
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default();
                let reference = format!("dataplatform-operator-{millis}");
                let id = route53
                    .create_private_zone(name, vpc, region, comment, &reference)
                    .await?;
                made.ids.insert(resource.to_owned(), id);
                Ok(())
            }
            Self::ChangeRecords { zone, changes } => route53.change(&made.id(zone)?, changes).await,
            Self::DeleteZone { id } => route53.delete_zone(id).await,
        }
    }

    /// A CreateHostedZone whose answer was lost: the private zone of that name with our comment.
    async fn look_after_failure(&self, session: &AccountSession, _made: &Made) -> Result<Lookup, AwsError> {
        let Self::CreatePrivateZone { name, comment, .. } = self else {
            return Ok(Lookup::CannotTell);
        };
        let zones = session.route53().zones_named(name).await?;
        let ours = zones
            .into_iter()
            .filter(|z| z.private && z.comment.as_deref() == Some(comment.as_str()));
        Ok(Lookup::only(ours.map(|z| z.id)))
    }

    /// A zone that holds records besides its SOA and NS (someone else's, written in it since) is
    /// kept: Route 53 would refuse, and they are not ours to delete.
    async fn holds(&self, session: &AccountSession) -> Result<Option<&'static str>, AwsError> {
        let Self::DeleteZone { id } = self else {
            return Ok(None);
        };
        let left = session
            .route53()
            .records(id, |r| r.kind != "SOA" && r.kind != "NS")
            .await?;
        Ok((!left.is_empty()).then_some("records that are not the operator's"))
    }
}
