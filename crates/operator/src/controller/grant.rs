//! SharedBucketGrant: the engine reconciles it against the accounts in the controller's cache;
//! deleting it revokes both halves before the finalizer goes.

use std::sync::Arc;

use dataplatform_api::{SharedBucketGrant, SharedBucketGrantStatus};
use dataplatform_engine::{ExecuteOptions, GrantAccounts, GrantObject};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use super::context::{Context, Error};
use super::pass::{self, DeletionPass, Reconcilable};

impl Reconcilable for SharedBucketGrant {
    type Status = SharedBucketGrantStatus;
    const KIND: &'static str = "SharedBucketGrant";

    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn set_status(&mut self, status: Self::Status) {
        self.status = Some(status);
    }

    /// The grantor's account, when the cache knows it.
    fn account_id(&self, ctx: &Context) -> String {
        let namespace = self.namespace().unwrap_or_default();
        ctx.accounts
            .state()
            .iter()
            .find(|a| {
                a.namespace().as_deref() == Some(namespace.as_str()) && a.name_any() == self.spec.account_ref.name
            })
            .map(|a| a.spec.account_id.clone())
            .unwrap_or_default()
    }
}

pub async fn reconcile(grant: Arc<SharedBucketGrant>, ctx: Arc<Context>) -> Result<Action, Error> {
    pass::run(grant, ctx, apply, cleanup).await
}

async fn apply(grant: Arc<SharedBucketGrant>, api: Api<SharedBucketGrant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let grant = pass::report_first_seen(&api, grant).await?;
    let object = GrantObject::from_resource(&grant);
    let accounts = ctx.accounts_of_grant(&object).await?;
    let involved = GrantAccounts::find(&object, &accounts);
    let outcome = ctx
        .engine
        .reconcile_grant(&object, &involved, ExecuteOptions::default())
        .await;
    pass::report(&ctx, &api, grant.as_ref(), &outcome).await
}

async fn cleanup(
    grant: Arc<SharedBucketGrant>,
    api: Api<SharedBucketGrant>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let object = GrantObject::from_resource(&grant);
    let accounts = ctx.accounts_of_grant(&object).await?;
    let involved = GrantAccounts::find(&object, &accounts);
    let revoked = ctx.engine.revoke_deleted_grant(&object, &involved).await;
    let deletion = DeletionPass {
        finished: revoked.finished,
        removed: &revoked.revoked,
        kept: &revoked.kept,
        error: revoked.error.as_ref(),
        message: revoked.waiting.join("; "),
        retry: None,
    };
    pass::report_deletion(&ctx, &api, grant.as_ref(), deletion).await
}
