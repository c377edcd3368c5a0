//! CloudWatch Logs: the account's log group, found by name, with its retention and tags; made with
//! its tags in the same request.

use std::collections::BTreeMap;

use crate::error::AwsError;
use crate::permissions as op;
use crate::session::AccountSession;
use crate::tags::TagUpdate;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroupObservation {
    pub name: String,
    /// Without the `:*` DescribeLogGroups appends.
    pub arn: String,
    /// `None`: kept forever.
    pub retention_days: Option<i32>,
    pub tags: BTreeMap<String, String>,
}

pub struct Logs<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn logs(&self) -> Logs<'_> {
        Logs { session: self }
    }
}

impl Logs<'_> {
    pub async fn observe_group(&self, name: &str) -> Result<Option<LogGroupObservation>, AwsError> {
        let client = self.session.cloudwatch_logs();
        let output = self
            .session
            .call(&op::LOGS_DESCRIBE_LOG_GROUPS, || {
                client.describe_log_groups().log_group_name_prefix(name).send()
            })
            .await?;
        let Some(group) = output.log_groups().iter().find(|g| g.log_group_name() == Some(name)) else {
            return Ok(None);
        };
        let arn = group
            .log_group_arn()
            .map(str::to_owned)
            .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            .unwrap_or_default();
        let tags = self
            .session
            .call(&op::LOGS_LIST_TAGS_FOR_RESOURCE, || {
                client.list_tags_for_resource().resource_arn(&arn).send()
            })
            .await?
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(Some(LogGroupObservation {
            name: name.to_owned(),
            arn,
            retention_days: group.retention_in_days(),
            tags,
        }))
    }

    /// Not repeated after a lost answer: the next pass finds the group by name.
    pub async fn create_group(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let client = self.session.cloudwatch_logs();
        let tags = tag_map(tags);
        self.session
            .call_not_repeated(&op::LOGS_CREATE_LOG_GROUP, || {
                client
                    .create_log_group()
                    .log_group_name(name)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn put_retention(&self, name: &str, days: i32) -> Result<(), AwsError> {
        let client = self.session.cloudwatch_logs();
        self.session
            .call(&op::LOGS_PUT_RETENTION_POLICY, || {
                client
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days)
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn retag(&self, arn: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, client) = (self.session, &self.session.cloudwatch_logs());
        update
            .apply(
                |add| {
                    session.write(&op::LOGS_TAG_RESOURCE, move || {
                        client
                            .tag_resource()
                            .resource_arn(arn)
                            .set_tags(Some(tag_map(&add)))
                            .send()
                    })
                },
                |remove| {
                    session.write(&op::LOGS_UNTAG_RESOURCE, move || {
                        client
                            .untag_resource()
                            .resource_arn(arn)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }

    /// Succeeds when the group is already gone.
    pub async fn delete_group(&self, name: &str) -> Result<(), AwsError> {
        let client = self.session.cloudwatch_logs();
        self.session
            .delete_if_exists(&op::LOGS_DELETE_LOG_GROUP, || {
                client.delete_log_group().log_group_name(name).send()
            })
            .await
    }
}

/// CloudWatch Logs takes tags as a map.
fn tag_map(tags: &BTreeMap<String, String>) -> std::collections::HashMap<String, String> {
    tags.clone().into_iter().collect()
}
