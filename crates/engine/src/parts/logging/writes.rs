//! The logging part's AWS writes and how they run.

use std::collections::BTreeMap;

use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use crate::plan::Made;
use crate::plan::{Lookup, Write};

/// The logging part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum LogWrite {
    CreateLogGroup {
        name: String,
        tags: BTreeMap<String, String>,
    },
    PutLogRetention {
        name: String,
        days: i32,
    },
    TagLogGroup {
        arn: String,
        tags: TagUpdate,
    },
    DeleteLogGroup {
        name: String,
    },
}

impl Write for LogWrite {
    async fn run(&self, session: &AccountSession, _resource: &str, _made: &mut Made) -> Result<(), AwsError> {
        let logs = session.logs();
        match self {
            Self::CreateLogGroup { name, tags } => logs.create_group(name, tags).await,
            Self::PutLogRetention { name, days } => logs.put_retention(name, *days).await,
            Self::TagLogGroup { arn, tags } => logs.retag(arn, tags).await,
            Self::DeleteLogGroup { name } => logs.delete_group(name).await,
        }
    }

    /// The group is found by name; ours when it carries the create's owner tag.
    async fn look_after_failure(&self, session: &AccountSession, _made: &Made) -> Result<Lookup, AwsError> {
        match self {
            Self::CreateLogGroup { name, tags } => {
                let found = session.logs().observe_group(name).await?;
                Ok(Lookup::by_owner(found.map(|g| (g.arn, g.tags)), tags))
            }
            _ => Ok(Lookup::CannotTell),
        }
    }
}
