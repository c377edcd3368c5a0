//! What a pass over either kind does around the engine: the finalizer, the first `Unknown` status,
//! writing the status when it changed, events, metrics, and the next requeue.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use dataplatform_api::CLEANUP_FINALIZER;
use dataplatform_engine::status::{ObjectStatus, spec_already_carried_out};
use dataplatform_engine::{Action as EngineAction, ReconcileError, Reconciled};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Context, Error, object_key};
use super::events::{self, PassSummary};
use super::status;

/// A kind the controller reconciles, with where its status lives.
pub trait Reconcilable:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Status: ObjectStatus + Serialize + Send + Sync;
    const KIND: &'static str;
    fn status(&self) -> Option<&Self::Status>;
    fn set_status(&mut self, status: Self::Status);
    /// The AWS account the object acts in, for logs.
    fn account_id(&self, ctx: &Context) -> String;
    /// What a pass of the object reads of other objects, hashed: a probe must not stand in for the
    /// pass a change of it asks for (an Organisation's Child accounts).
    fn others_read(&self, _ctx: &Context) -> u64 {
        0
    }
}

/// Runs `apply` or `cleanup` under the finalizer and records the pass in the metrics and the
/// failure counts. Every log line of the pass carries the kind, the object and the account.
pub async fn run<K, A, AF, C, CF>(object: Arc<K>, ctx: Arc<Context>, apply: A, cleanup: C) -> Result<Action, Error>
where
    K: Reconcilable,
    A: FnOnce(Arc<K>, Api<K>, Arc<Context>) -> AF,
    AF: Future<Output = Result<Action, Error>>,
    C: FnOnce(Arc<K>, Api<K>, Arc<Context>) -> CF,
    CF: Future<Output = Result<Action, Error>>,
{
    // Held for the whole pass; waiting for it is not the pass's time. Every object that is due
    // waits here, so the waiting future stays small: the pass itself is boxed.
    let held = ctx.clone();
    let Some(_slot) = held.slots.acquire::<K>().await else {
        return Ok(Action::await_change());
    };
    Box::pin(async move {
        let started = Instant::now();
        let key = object_key(object.as_ref());
        let span = tracing::info_span!("reconcile", kind = K::KIND,
            object = %format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any()),
            account = %object.account_id(&ctx));
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
        let result = {
            use tracing::Instrument;
            let (ctx, pass_api) = (ctx.clone(), api.clone());
            finalizer(&api, CLEANUP_FINALIZER, object, |event| async move {
                match event {
                    FinalizerEvent::Apply(object) => apply(object, pass_api, ctx).await,
                    FinalizerEvent::Cleanup(object) => cleanup(object, pass_api, ctx).await,
                }
            })
            .instrument(span.clone())
            .await
            .map_err(Error::from)
        };
        ctx.metrics.reconciled(
            K::KIND,
            result.as_ref().err().map(Error::metric_label),
            started.elapsed(),
        );
        match &result {
            Ok(_) => ctx.failures.reset(&key),
            Err(error) => tracing::info!(parent: &span, %error, "pass did not finish"),
        }
        result
    })
    .await
}

/// Before the first engine pass: report Ready and Synced as `Unknown`.
pub async fn report_first_seen<K: Reconcilable>(api: &Api<K>, object: Arc<K>) -> Result<Arc<K>, Error> {
    if !status::never_reported(object.status()) {
        return Ok(object);
    }
    let first = status::first_seen::<K::Status>(object.meta().generation);
    status::write(api, object.as_ref(), &first).await?;
    let mut object = (*object).clone();
    object.set_status(first);
    Ok(Arc::new(object))
}

/// After the engine's pass: status, events, metrics, and when to look again.
pub async fn report<K: Reconcilable>(
    ctx: &Context,
    api: &Api<K>,
    object: &K,
    outcome: &Reconciled<K::Status>,
) -> Result<Action, Error> {
    let before = object.status();
    status::write_if_changed(api, object, before, &outcome.status).await?;

    // Changes made on a spec the previous pass already carried out are drift; after a failed or
    // first pass they are the spec's own.
    let spec_unchanged = spec_already_carried_out(before, object.meta().generation);
    let conditions_before = before.map_or(&[][..], |s| s.conditions());
    let conditions_after = outcome.status.conditions();
    let mut published = events::for_pass(&PassSummary {
        applied: &outcome.applied,
        spec_unchanged,
        error: outcome.error.as_ref(),
        conditions_before,
        conditions_after,
    });
    if let (_, Some(problem)) = ctx.requeue.resync_for(object.annotations())
        && ctx.first_time(&object_key(object), &problem)
    {
        published.push(events::invalid_annotation(problem));
    }
    ctx.publish(object, published).await;

    if spec_unchanged {
        let fields: usize = outcome.applied.iter().map(|a| a.changed_fields().count().max(1)).sum();
        ctx.metrics.drift_corrected(K::KIND, fields);
    }
    if events::turned_ready(conditions_before, conditions_after)
        && let Some(created) = object.meta().creation_timestamp.as_ref()
    {
        let age = k8s_openapi::jiff::Timestamp::now().duration_since(created.0);
        ctx.metrics
            .became_ready(K::KIND, std::time::Duration::try_from(age).unwrap_or_default());
    }
    let key = object_key(object);
    match &outcome.error {
        Some(error) => {
            ctx.waits.forget(&key);
            Err(Error::Reconcile(error.clone()))
        }
        None => {
            // On the schedule of what it waits for; a grant's expiry has no kind.
            let fingerprint = super::requeue::wait_fingerprint(object.meta(), object.others_read(ctx));
            let soon = match outcome.waiting_on {
                Some(kind) => ctx.waits.next(&key, Some(kind), fingerprint),
                None => ctx.waits.next(&key, None, fingerprint).or(outcome.requeue_after),
            };
            let after = ctx.requeue.after_success(object.annotations(), soon);
            tracing::debug!(
                waiting_on = outcome.waiting_on.map(|k| k.as_str()),
                next_pass_in_seconds = after.as_secs_f64(),
                "pass finished"
            );
            Ok(Action::requeue(after))
        }
    }
}

/// After a deletion pass: the `Deleting` status while it waits, events, and the outcome the
/// finalizer acts on (`Ok` removes it).
pub struct DeletionPass<'a> {
    pub finished: bool,
    pub removed: &'a [EngineAction],
    pub kept: &'a [String],
    pub error: Option<&'a ReconcileError>,
    pub message: String,
    pub retry: Option<std::time::Duration>,
}

pub async fn report_deletion<K: Reconcilable>(
    ctx: &Context,
    api: &Api<K>,
    object: &K,
    pass: DeletionPass<'_>,
) -> Result<Action, Error> {
    // Deleting is not waiting to be Ready: its passes come back on the deletion's own interval.
    ctx.waits.forget(&object_key(object));
    let before = object.status();
    let conditions_before = before.map_or(&[][..], |s| s.conditions()).to_vec();
    let mut conditions_after = conditions_before.clone();
    if !pass.finished {
        let builder = dataplatform_engine::status::StatusBuilder::new(before, object.meta().generation);
        let after = builder.deleting(pass.error, pass.message.clone());
        conditions_after = after.conditions().to_vec();
        status::write_if_changed(api, object, before, &after).await?;
    }
    let published = events::for_deletion(
        pass.removed,
        pass.finished,
        pass.kept,
        pass.error,
        &conditions_before,
        &conditions_after,
    );
    ctx.publish(object, published).await;
    match (pass.finished, pass.error) {
        (true, _) => Ok(Action::await_change()),
        (false, Some(error)) => Err(Error::Reconcile(error.clone())),
        (false, None) => Err(Error::DeletionWaiting {
            message: pass.message,
            retry: pass.retry.unwrap_or(dataplatform_engine::reconcile::PROGRESS_REQUEUE),
        }),
    }
}
