//! DataPlatformAccount: one engine pass per reconcile, with the account's registry children and,
//! on deletion, the grants that name it taken from the controller's caches.

use std::collections::BTreeSet;
use std::sync::Arc;

use dataplatform_api::{DataPlatformAccount, DataPlatformAccountStatus, Tier};
use dataplatform_engine::{AccountObject, ExecuteOptions};
use kube::runtime::controller::Action;
use kube::{Api, Resource};

use super::context::{Context, Error, object_key};
use super::pass::{self, DeletionPass, Reconcilable};
use super::requeue::wait_fingerprint;

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

    /// An Organisation's registry reads the Child accounts (from the cache, as its pass does).
    fn others_read(&self, ctx: &Context) -> u64 {
        children_read(self, || ctx.child_account_ids_cached())
    }
}

fn children_read(account: &DataPlatformAccount, children: impl FnOnce() -> BTreeSet<String>) -> u64 {
    match account.spec.tier {
        Tier::Organisation => super::watches::hash_of(&children()),
        _ => 0,
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
    if let Some(wait) = probe_instead_of_pass(&ctx, &account, &object).await {
        return Ok(wait);
    }
    let outcome = ctx.engine.reconcile(&object, ExecuteOptions::default()).await;
    pass::report(&ctx, &api, account.as_ref(), &outcome).await
}

/// An account waiting for something with a probe (its tasks starting), unchanged since its last
/// pass, whose next pass is not due: one read instead of a pass. Not over yet: look again soon, with
/// no status write. Over, no probe, or the probe failed: `None`, and the pass goes on.
async fn probe_instead_of_pass(ctx: &Context, account: &DataPlatformAccount, object: &AccountObject) -> Option<Action> {
    let key = object_key(account);
    let kind = ctx
        .waits
        .probe_instead(&key, wait_fingerprint(account.meta(), account.others_read(ctx)))?;
    match ctx.engine.probe(object, kind).await {
        Ok(Some(false)) => {
            let after = ctx.waits.after_probe(&key)?;
            tracing::debug!(
                waiting_on = kind.as_str(),
                next_pass_in_seconds = after.as_secs_f64(),
                "probed"
            );
            Some(Action::requeue(after))
        }
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(%error, "the probe failed: a pass looks instead");
            None
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn account(tier: &str) -> DataPlatformAccount {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "dataplatform.io/v1alpha1", "kind": "DataPlatformAccount",
            "metadata": {"name": "a", "namespace": "tenants"},
            "spec": {"accountId": "111111111111", "region": "eu-west-2", "tier": tier,
                     "roleArn": "arn:aws:iam::111111111111:role/dataplatform-operator"},
        }))
        .expect("account")
    }

    /// A waiting Organisation is probed instead of passed only while its Children are the same: a
    /// Child coming changes what its registry policy must say.
    #[test]
    fn an_organisations_probe_gives_way_when_a_child_comes_or_goes() {
        let ids = |list: &[&str]| -> BTreeSet<String> { list.iter().map(|s| (*s).to_owned()).collect() };
        let organisation = account("Organisation");
        let before = children_read(&organisation, || ids(&["222222222222"]));
        let after = children_read(&organisation, || ids(&["222222222222", "333333333333"]));
        assert_ne!(before, after);
        assert_eq!(
            children_read(&account("Child"), || ids(&["222222222222"])),
            0,
            "a Child reads no other"
        );
    }
}
