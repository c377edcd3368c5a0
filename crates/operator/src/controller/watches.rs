//! The controllers' watch streams over the watched namespaces. A kind's own stream fills its cache
//! and starts a pass only when someone else changed the object: its spec (the generation, which a
//! deletion moves too), labels, annotations or finalizers; our own status writes come back as
//! watch events and start nothing. A stream of another kind starts a pass of the objects that
//! depend on it only when the inputs they read changed, or the object went.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{Predicate, WatchStreamExt, predicates};
use kube::{Api, Client, Resource, ResourceExt};

use super::namespaces;
use super::pass::Reconcilable;

/// Where the controller looks: every namespace, or those listed.
#[derive(Clone, Debug)]
pub struct Scope {
    pub namespaces: Vec<String>,
    pub config: watcher::Config,
}

type Watched<K> = BoxStream<'static, Result<Event<K>, watcher::Error>>;

impl Scope {
    fn apis<K: Reconcilable>(&self, client: &Client) -> Vec<Api<K>> {
        match self.namespaces.as_slice() {
            [] => vec![Api::all(client.clone())],
            namespaces => namespaces
                .iter()
                .map(|namespace| Api::namespaced(client.clone(), namespace))
                .collect(),
        }
    }

    fn watchers<K: Reconcilable>(&self, client: &Client) -> Vec<Watched<K>> {
        self.apis(client)
            .into_iter()
            .map(|api| watcher::watcher(api, self.config.clone()).default_backoff().boxed())
            .collect()
    }
}

/// A kind's cache and the objects whose passes its changes start.
pub fn own<K>(
    client: &Client,
    scope: &Scope,
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>> + Send + use<K>)
where
    K: Reconcilable,
{
    let (store, writer) = reflector::store();
    let mut watchers = scope.watchers::<K>(client);
    let events = match watchers.len() {
        1 => watchers.remove(0),
        _ => namespaces::merged(watchers, store.clone()).boxed(),
    };
    let changed_by_others = (predicates::generation::<K>)
        .combine(predicates::labels)
        .combine(predicates::annotations)
        .combine(predicates::finalizers);
    let triggers = events
        .modify(leave_out_of_cache)
        .reflect(writer)
        .touched_objects()
        .predicate_filter(changed_by_others, Default::default());
    (store, triggers)
}

/// `kubectl apply`'s copy of the object and the server's field ownership records: read by no pass,
/// and together often larger than the spec, in every cached object (issue 20).
pub const LEFT_OUT_OF_CACHE: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn leave_out_of_cache<K: Resource>(object: &mut K) {
    object.annotations_mut().remove(LEFT_OUT_OF_CACHE);
    object.managed_fields_mut().clear();
}

/// The objects of kind `K` whose `inputs` changed (a new object counts), or that went.
/// `inputs` gives `None` for an object nothing depends on.
pub fn changes<K>(
    client: &Client,
    scope: &Scope,
    inputs: fn(&K) -> Option<u64>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + use<K>
where
    K: Reconcilable,
{
    let mut seen = InputsSeen::new(inputs);
    futures::stream::select_all(scope.watchers::<K>(client)).filter_map(move |item| {
        let changed = match item {
            Ok(event) => seen.changed(event).map(Ok),
            Err(error) => Some(Err(error)),
        };
        std::future::ready(changed)
    })
}

/// The last inputs seen of each object.
pub struct InputsSeen<K: Resource<DynamicType = ()> + 'static> {
    inputs: fn(&K) -> Option<u64>,
    seen: HashMap<ObjectRef<K>, u64>,
}

impl<K: Resource<DynamicType = ()> + 'static> InputsSeen<K> {
    pub fn new(inputs: fn(&K) -> Option<u64>) -> Self {
        Self {
            inputs,
            seen: HashMap::new(),
        }
    }

    /// The object, when this event changed what depends on it.
    pub fn changed(&mut self, event: Event<K>) -> Option<K> {
        match event {
            Event::Init | Event::InitDone => None,
            Event::InitApply(object) | Event::Apply(object) => {
                let key = ObjectRef::from_obj(&object);
                let changed = match (self.inputs)(&object) {
                    Some(inputs) => self.seen.insert(key, inputs) != Some(inputs),
                    // It no longer matters to anyone: a change for those it mattered to.
                    None => self.seen.remove(&key).is_some(),
                };
                changed.then_some(object)
            }
            Event::Delete(object) => self.seen.remove(&ObjectRef::from_obj(&object)).map(|_| object),
        }
    }
}

/// A stable hash of `value`, for inputs compared with the last seen in one process.
pub fn hash_of(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn config_map(name: &str, value: Option<&str>) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                namespace: Some("tenant".into()),
                name: Some(name.into()),
                ..Default::default()
            },
            data: value.map(|v| [("input".to_owned(), v.to_owned())].into()),
            ..Default::default()
        }
    }

    fn input(object: &ConfigMap) -> Option<u64> {
        object.data.as_ref().map(|d| hash_of(&d.get("input")))
    }

    #[test]
    fn only_a_change_of_inputs_or_a_deletion_passes() {
        let mut seen = InputsSeen::new(input);
        let mut changed = |event| seen.changed(event).is_some();
        assert!(changed(Event::InitApply(config_map("a", Some("1")))), "new");
        assert!(!changed(Event::Apply(config_map("a", Some("1")))), "same inputs");
        assert!(changed(Event::Apply(config_map("a", Some("2")))), "new inputs");
        assert!(changed(Event::Delete(config_map("a", Some("2")))), "gone");
        assert!(!changed(Event::Apply(config_map("b", None))), "nothing depends on it");
        assert!(!changed(Event::Delete(config_map("b", None))));
        assert!(changed(Event::Apply(config_map("c", Some("1")))));
        assert!(changed(Event::Apply(config_map("c", None))), "stopped mattering");
        assert!(!changed(Event::Apply(config_map("c", None))));
    }

    #[tokio::test]
    async fn the_cache_keeps_no_copy_of_the_applied_object_and_no_field_ownership() {
        let (client, server) = dataplatform_memory_api_server::ApiServer::start();
        server.create(
            "dataplatformaccounts",
            serde_json::json!({
                "apiVersion": "dataplatform.io/v1alpha1", "kind": "DataPlatformAccount",
                "metadata": {"name": "camden", "namespace": "tenants",
                    "annotations": {LEFT_OUT_OF_CACHE: "{\"spec\": {}}", "team": "data"},
                    "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
                                       "fieldsV1": {"f:spec": {}}}]},
                "spec": {"accountId": "123456789012", "region": "eu-west-2",
                         "roleArn": "arn:aws:iam::123456789012:role/dataplatform-operator"},
            }),
        );
        let scope = Scope {
            namespaces: vec![],
            config: watcher::Config::default(),
        };
        let (store, triggers) = own::<dataplatform_api::DataPlatformAccount>(&client, &scope);
        let watching = tokio::spawn(triggers.for_each(|_| async {}));
        store.wait_until_ready().await.expect("the first list");
        watching.abort();
        let cached = store.state().pop().expect("cached");
        let annotations = cached.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations.keys().collect::<Vec<_>>(), ["team"], "{annotations:?}");
        assert!(cached.metadata.managed_fields.as_ref().is_none_or(Vec::is_empty));
    }
}
