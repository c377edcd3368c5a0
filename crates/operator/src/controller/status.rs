//! Writing status: only to the status subresource, only when it changed, by server-side apply under
//! our field manager (so fields we stop reporting are removed and `spec` is never touched).

use std::fmt::Debug;

use dataplatform_api::conditions::{READY, SYNCED};
use dataplatform_engine::status::ObjectStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::FIELD_MANAGER;

/// Whether `after` differs from what the object reports now.
pub fn changed<S: Serialize>(before: Option<&S>, after: &S) -> bool {
    serde_json::to_value(before).ok() != serde_json::to_value(Some(after)).ok()
}

/// Writes `status` when it differs from `before`; returns whether it wrote.
pub async fn write_if_changed<K, S>(
    api: &Api<K>,
    object: &K,
    before: Option<&S>,
    status: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    if !changed(before, status) {
        return Ok(false);
    }
    write(api, object, status).await?;
    Ok(true)
}

pub async fn write<K, S>(api: &Api<K>, object: &K, status: &S) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&object.name_any(), &params, &Patch::Apply(body)).await
}

/// The status of an object the controller has not reconciled yet: Ready and Synced `Unknown`, so
/// `kubectl wait --for=condition=Ready` has a condition to watch from the start.
pub fn first_seen<S: ObjectStatus>(generation: Option<i64>) -> S {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let unknown = |type_: &str, message: &str| Condition {
        type_: type_.to_owned(),
        status: "Unknown".to_owned(),
        reason: dataplatform_api::conditions::Reason::Creating.as_str().to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time: now.clone(),
    };
    let mut status = S::default();
    *status.conditions_mut() = vec![
        unknown(READY, "the first reconcile is in progress"),
        unknown(SYNCED, "the first reconcile is in progress"),
    ];
    status
}

/// Whether the object has never been reported on (no Ready condition).
pub fn never_reported<S: ObjectStatus>(status: Option<&S>) -> bool {
    status.is_none_or(|s| dataplatform_api::conditions::find(s.conditions(), READY).is_none())
}
