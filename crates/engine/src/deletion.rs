//! Deleting an account object. First the grants that name it are revoked (whatever the policy);
//! then `Retain` leaves AWS as it is, and `Delete` removes what the engine owns, part by part up the
//! list (repositories; services, task definitions and the ECS cluster; the database; roles;
//! buckets, the access-log bucket with its logs; the bucket key, scheduled for deletion), waits
//! while deletion protection is on or RDS is still deleting, and never empties a bucket or a
//! repository: one that still holds objects or images is reported and kept, and so is the key of
//! a bucket kept.

use dataplatform_api::conditions::Reason;
use dataplatform_api::{DeletionPolicy, ManagementPolicy};

use crate::account::AccountObject;
use crate::error::ReconcileError;
use crate::execute::{ExecuteOptions, execute};
use crate::grant::{GrantAccounts, GrantObject, Revoked};
use crate::parts;
use crate::plan::Action;
use crate::reconcile::{Engine, PROGRESS_REQUEUE};

#[derive(Debug, Default)]
pub struct Deleted {
    /// Cleanup is complete: the finalizer may go.
    pub finished: bool,
    pub deleted: Vec<Action>,
    /// Resources deliberately left in place, with why (non-empty buckets).
    pub kept: Vec<String>,
    /// Why deletion cannot finish yet (reported with reason `Deleting`).
    pub waiting: Vec<String>,
    pub error: Option<ReconcileError>,
}

impl Deleted {
    pub fn reason(&self) -> Reason {
        self.error.as_ref().map_or(Reason::Deleting, ReconcileError::reason)
    }

    pub fn message(&self) -> String {
        match &self.error {
            Some(error) => error.to_string(),
            None => self.waiting.join("; "),
        }
    }

    pub fn requeue_after(&self) -> Option<std::time::Duration> {
        (!self.finished).then_some(PROGRESS_REQUEUE)
    }
}

impl Engine {
    /// `grants`: every SharedBucketGrant the caller knows; those that name this account are revoked
    /// first, whatever the deletion policy.
    pub async fn delete(&self, object: &AccountObject, grants: &[GrantObject]) -> Deleted {
        // ObserveOnly never writes, so it deletes (and revokes) nothing either.
        if object.spec.management_policy == ManagementPolicy::ObserveOnly {
            return Deleted {
                finished: true,
                ..Default::default()
            };
        }
        if object.paused() {
            return Deleted {
                waiting: vec![
                    "annotation dataplatform.io/paused is \"true\": deletion waits until it is removed".into(),
                ],
                ..Default::default()
            };
        }
        // A misspelt `paused` must not let the revocations and deletions below through.
        if let Err(invalid) = object.check_annotations() {
            return Deleted {
                error: Some(invalid.into()),
                ..Default::default()
            };
        }
        let revoked = self.revoke_grants_naming(object, grants).await;
        if !revoked.finished || object.spec.deletion_policy == DeletionPolicy::Retain {
            return Deleted {
                finished: revoked.finished,
                deleted: revoked.revoked,
                waiting: revoked.waiting,
                error: revoked.error,
                ..Default::default()
            };
        }
        let plan = match self.observe(object, true).await {
            Ok(plan) => plan,
            Err(error) => {
                return Deleted {
                    error: Some(error),
                    ..Default::default()
                };
            }
        };
        let mut deleted = Deleted {
            deleted: revoked.revoked,
            ..Default::default()
        };
        let actions = parts::deletion(&plan.desired, &plan.observed, &mut deleted.waiting);
        for action in actions {
            // What a deletion finds still held (objects, images, buckets a key encrypts) keeps its
            // resource; read just before it runs, after the deletions before it (a key's buckets).
            let held = match action.ops.first() {
                Some(op) => op.holds(&plan.session).await,
                None => Ok(None),
            };
            match held {
                Ok(None) => {}
                Ok(Some(contents)) => {
                    deleted.kept.push(format!(
                        "{} ({}) still holds {contents} and was kept; the operator never deletes {contents}",
                        action.resource, action.name
                    ));
                    continue;
                }
                Err(error) => {
                    deleted.error = Some(error.into());
                    return deleted;
                }
            }
            let executed = execute(&plan.session, vec![action], ExecuteOptions::default(), |_| {}).await;
            deleted.deleted.extend(executed.done);
            if let Some((action, error)) = executed.failed {
                if error.class == dataplatform_aws::ErrorClass::Conflict {
                    // e.g. the cluster still has an instance being deleted: try again shortly.
                    deleted.waiting.push(format!(
                        "{} ({}) cannot be deleted yet: {}",
                        action.resource, action.name, error
                    ));
                } else {
                    deleted.error = Some(error.into());
                }
                break;
            }
        }
        deleted.finished = deleted.waiting.is_empty() && deleted.error.is_none();
        for kept in &deleted.kept {
            tracing::warn!(object = %object.id, account = %object.spec.account_id, "{kept}");
        }
        deleted
    }
}

impl Engine {
    /// Grants whose grantor is `object` lose their statements and KMS grants. A grantee Organisation
    /// holds nothing per grant (its task role's shared-bucket statement is its own), so grants to
    /// `object` have nothing to revoke. Stops at the first grant that cannot finish.
    async fn revoke_grants_naming(&self, object: &AccountObject, grants: &[GrantObject]) -> Revoked {
        let mut all = Revoked {
            finished: true,
            ..Default::default()
        };
        for grant in grants.iter().filter(|g| g.names_grantor(&object.id)) {
            let involved = GrantAccounts {
                grantor: Some(object),
                organisations: vec![],
            };
            let revoked = self.revoke_grant(grant, &involved).await;
            all.revoked.extend(revoked.revoked);
            if !revoked.finished {
                all.finished = false;
                all.waiting = revoked.waiting;
                all.error = revoked.error;
                return all;
            }
        }
        all
    }
}
