//! A grant's status: Ready when its statements (and KMS grants) are in place, the statements it owns,
//! whether the grantee Organisation's task role may use it, and when it was revoked by expiry.

use dataplatform_api::SharedBucketGrantStatus;
use dataplatform_api::conditions::{self, Reason};

use crate::grant::desired::DesiredGrant;
use crate::status::{StatusBuilder, replace};

impl StatusBuilder<SharedBucketGrantStatus> {
    /// After a successful pass. `waiting`: what keeps the grant from being complete.
    pub fn grant_synced(
        mut self,
        desired: &DesiredGrant,
        waiting: &[String],
        synced_reason: Reason,
        message: String,
    ) -> SharedBucketGrantStatus {
        self.set(conditions::SYNCED, true, synced_reason, message);
        let revoked_at = if desired.active {
            None
        } else {
            Some(self.status.revoked_at.clone().unwrap_or_else(|| self.now.clone()))
        };
        if !desired.active {
            let at = revoked_at.as_ref().map(|t| t.0.to_string()).unwrap_or_default();
            self.set(
                conditions::READY,
                false,
                Reason::Expired,
                format!("spec.expiresAt has passed: access was revoked at {at}; set a later spec.expiresAt (or remove it) to grant again"),
            );
        } else if waiting.is_empty() {
            self.set(conditions::READY, true, Reason::Available, "");
        } else {
            self.set(conditions::READY, false, Reason::DependencyNotReady, waiting.join("; "));
        }
        self.set_observed_generation();
        // The grantee Organisation's task role reaches the bucket through its fixed shared-bucket
        // statement once the bucket policy trusts it.
        let grantee_role_updated = desired.grantee_role.as_ref().map(|role| desired.active && role.trusted);
        let status = &mut self.status;
        self.changed |= replace(&mut status.bucket, desired.bucket.clone());
        self.changed |= replace(&mut status.statement_ids, desired.statement_ids());
        self.changed |= replace(&mut status.grantee_role_updated, grantee_role_updated);
        self.changed |= replace(&mut status.revoked_at, revoked_at);
        self.finish()
    }
}
