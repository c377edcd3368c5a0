//! The network a service names: which of its subnets and security groups exist in the account.
//! Checked before any write, so a typo in `spec.network` is an `InvalidSpec`, not a half-made service.

use aws_sdk_ec2::types::Filter;

use crate::error::AwsError;
use crate::permissions as op;
use crate::session::AccountSession;

/// The ids asked about that the account does not have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MissingNetwork {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

impl MissingNetwork {
    pub fn is_empty(&self) -> bool {
        self.subnets.is_empty() && self.security_groups.is_empty()
    }
}

pub struct Ec2<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn ec2(&self) -> Ec2<'_> {
        Ec2 { session: self }
    }
}

impl Ec2<'_> {
    /// Filters rather than ids: asking by id fails on the first unknown one, a filter answers with
    /// those that exist, so one call per kind names every missing id.
    pub async fn missing_network(
        &self,
        subnets: &[String],
        security_groups: &[String],
    ) -> Result<MissingNetwork, AwsError> {
        let ec2 = &self.session.ec2;
        let filter =
            |name: &str, values: &[String]| Filter::builder().name(name).set_values(Some(values.to_vec())).build();
        let (found_subnets, found_groups) = tokio::try_join!(
            self.session.call(&op::EC2_DESCRIBE_SUBNETS, || {
                ec2.describe_subnets().filters(filter("subnet-id", subnets)).send()
            }),
            self.session.call(&op::EC2_DESCRIBE_SECURITY_GROUPS, || {
                ec2.describe_security_groups()
                    .filters(filter("group-id", security_groups))
                    .send()
            }),
        )?;
        let found_subnets: Vec<&str> = found_subnets.subnets().iter().filter_map(|s| s.subnet_id()).collect();
        let found_groups: Vec<&str> = found_groups
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        Ok(MissingNetwork {
            subnets: subnets
                .iter()
                .filter(|s| !found_subnets.contains(&s.as_str()))
                .cloned()
                .collect(),
            security_groups: security_groups
                .iter()
                .filter(|g| !found_groups.contains(&g.as_str()))
                .cloned()
                .collect(),
        })
    }
}
