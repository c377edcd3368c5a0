//! DataPlatformAccount: one engine pass per reconcile, with the account's registry children and,
//! on deletion, the grants that name it taken from the controller's caches.

use std::sync::Arc;

use dataplatform_api::{DataPlatformAccount, DataPlatformAccountStatus, Tier};
use dataplatform_engine::{AccountObject, ExecuteOptions};
use kube::Api;
use kube::runtime::controller::Action;

use super::context::{Context, Error};
use super::pass::{self, DeletionPass, Reconcilable};

impl Reconcilable for DataPlatformAccount {
    type Status = DataPlatformAccountStatus;
    const KIND: &'static str = "DataPlatformAccount";

    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn set_status(&mut self, status: Self::Status) {
        self.status = Some(status);
    }

    fn account_id(&self, _ctx: &Context) -> String {
        self.spec.account_id.clone()
    }
}

pub async fn reconcile(account: Arc<DataPlatformAccount>, ctx: Arc<Context>) -> Result<Action, Error> {
    pass::run(account, ctx, apply, cleanup).await
}

async fn apply(
    account: Arc<DataPlatformAccount>,
    api: Api<DataPlatformAccount>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let account = pass::report_first_seen(&api, account).await?;
    let mut object = AccountObject::from_resource(&account);
    if object.spec.tier == Tier::Organisation {
        object.child_accounts = ctx.child_account_ids().await?;
    }
    let outcome = ctx.engine.reconcile(&object, ExecuteOptions::default()).await;
    pass::report(&ctx, &api, account.as_ref(), &outcome).await
}

async fn cleanup(
    account: Arc<DataPlatformAccount>,
    api: Api<DataPlatformAccount>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let grants = ctx.grant_objects().await?;
    let object = AccountObject::from_resource(&account);
    let deleted = ctx.engine.delete(&object, &grants).await;
    let deletion = DeletionPass {
        finished: deleted.finished,
        removed: &deleted.deleted,
        kept: &deleted.kept,
        error: deleted.error.as_ref(),
        message: deleted.message(),
        retry: deleted.requeue_after(),
    };
    pass::report_deletion(&ctx, &api, account.as_ref(), deletion).await
}
