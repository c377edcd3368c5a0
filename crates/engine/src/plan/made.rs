//! What the writes of one run have made so far, for the writes after them that name it.

use std::collections::BTreeMap;

use dataplatform_aws::{AwsError, ErrorClass};

use super::refs::Ec2Ref;

#[derive(Debug, Default)]
pub struct Made {
    /// EC2 ids and ELB ARNs by the resource of the action that made them.
    pub ids: BTreeMap<String, String>,
    /// The revision the current action's task-definition registration returned.
    pub task_revision: Option<String>,
}

impl Made {
    pub fn id(&self, reference: &Ec2Ref) -> Result<String, AwsError> {
        match reference {
            Ec2Ref::Known(id) => Ok(id.clone()),
            Ec2Ref::Made(resource) => self.ids.get(resource).cloned().ok_or_else(|| AwsError {
                service: "ec2",
                operation: "plan",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{resource} was to be made earlier in this plan and was not"),
            }),
        }
    }

    pub fn ids(&self, references: &[Ec2Ref]) -> Result<Vec<String>, AwsError> {
        references.iter().map(|r| self.id(r)).collect()
    }
}
