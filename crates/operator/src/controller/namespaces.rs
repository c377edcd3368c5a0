//! One list-watch over several namespaces, as one cache sees it. A reflector's store takes each
//! list (`Init` … `InitDone`) as the whole truth: two namespace watchers writing into one store
//! would each wipe the other's objects on every relist (kube-state-metrics hit the same with
//! client-go). `Merged` turns the watchers' events into those of one watcher over the union: the
//! first list ends only when every namespace has listed, and a later relist of one namespace
//! touches only that namespace's objects.

use std::collections::{HashMap, HashSet};

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::{self, Event};

type Item<K> = Result<Event<K>, watcher::Error>;

/// The events of `watchers` (one per namespace) as one watcher's. `store` is the store the result
/// is reflected into: a relist reads from it the objects that left the namespace, to delete them.
pub fn merged<K>(watchers: Vec<BoxStream<'static, Item<K>>>, store: Store<K>) -> impl Stream<Item = Item<K>> + Send
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let mut merger = Merged::new(watchers.len(), store);
    let tagged = watchers
        .into_iter()
        .enumerate()
        .map(|(index, events)| events.map(move |item| (index, item)).boxed());
    stream::select_all(tagged).flat_map(move |(index, item)| stream::iter(merger.on(index, item)))
}

pub struct Merged<K: Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    namespaces: Vec<Namespace<K>>,
    /// The union's first list was given out: from now on each event is passed on at once.
    listed: bool,
}

struct Namespace<K: Resource<DynamicType = ()> + 'static> {
    /// Before the union's first list: this namespace's objects, held as a store's buffer would.
    pending: HashMap<ObjectRef<K>, K>,
    /// Before the union's first list: this namespace finished a list and has not begun another.
    synced: bool,
    /// After it: the objects of this namespace in the store.
    known: HashSet<ObjectRef<K>>,
    /// After it, during a relist of this namespace: the objects listed so far.
    relisting: Option<HashSet<ObjectRef<K>>>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Merged<K> {
    pub fn new(namespaces: usize, store: Store<K>) -> Self {
        Self {
            store,
            namespaces: (0..namespaces)
                .map(|_| Namespace {
                    pending: HashMap::new(),
                    synced: false,
                    known: HashSet::new(),
                    relisting: None,
                })
                .collect(),
            listed: false,
        }
    }

    /// The events of the union that one event of namespace `index` makes.
    pub fn on(&mut self, index: usize, item: Item<K>) -> Vec<Item<K>> {
        match item {
            Err(error) => vec![Err(error)],
            Ok(event) if self.listed => self.after_first_list(index, event),
            Ok(event) => self.before_first_list(index, event),
        }
    }

    fn before_first_list(&mut self, index: usize, event: Event<K>) -> Vec<Item<K>> {
        let namespace = &mut self.namespaces[index];
        match event {
            Event::Init => {
                namespace.pending.clear();
                namespace.synced = false;
            }
            Event::InitApply(object) | Event::Apply(object) => {
                namespace.pending.insert(ObjectRef::from_obj(&object), object);
            }
            Event::Delete(object) => {
                namespace.pending.remove(&ObjectRef::from_obj(&object));
            }
            Event::InitDone => namespace.synced = true,
        }
        if !self.namespaces.iter().all(|n| n.synced) {
            return vec![];
        }
        self.listed = true;
        let mut events = vec![Ok(Event::Init)];
        for namespace in &mut self.namespaces {
            for (key, object) in namespace.pending.drain() {
                namespace.known.insert(key);
                events.push(Ok(Event::InitApply(object)));
            }
        }
        events.push(Ok(Event::InitDone));
        events
    }

    fn after_first_list(&mut self, index: usize, event: Event<K>) -> Vec<Item<K>> {
        let namespace = &mut self.namespaces[index];
        match event {
            Event::Init => {
                namespace.relisting = Some(HashSet::new());
                vec![]
            }
            Event::InitApply(object) | Event::Apply(object) => {
                let key = ObjectRef::from_obj(&object);
                if let Some(listed) = namespace.relisting.as_mut() {
                    listed.insert(key.clone());
                }
                namespace.known.insert(key);
                vec![Ok(Event::Apply(object))]
            }
            Event::Delete(object) => {
                namespace.known.remove(&ObjectRef::from_obj(&object));
                vec![Ok(Event::Delete(object))]
            }
            Event::InitDone => {
                let listed = namespace.relisting.take().unwrap_or_default();
                let gone = std::mem::replace(&mut namespace.known, listed);
                gone.iter()
                    .filter(|key| !namespace.known.contains(key))
                    .filter_map(|key| self.store.get(key))
                    .map(|object| Ok(Event::Delete((*object).clone())))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;
    use kube::runtime::reflector::{self, store::Writer};

    fn object(namespace: &str, name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                namespace: Some(namespace.into()),
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn names(store: &Store<ConfigMap>) -> Vec<String> {
        let mut names: Vec<String> = store
            .state()
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o.metadata.namespace.as_deref().unwrap_or(""),
                    o.metadata.name.as_deref().unwrap_or("")
                )
            })
            .collect();
        names.sort();
        names
    }

    fn feed(merger: &mut Merged<ConfigMap>, writer: &mut Writer<ConfigMap>, index: usize, event: Event<ConfigMap>) {
        for item in merger.on(index, Ok(event)) {
            writer.apply_watcher_event(&item.expect("no error"));
        }
    }

    #[test]
    fn the_first_list_waits_for_every_namespace_and_holds_their_changes() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let mut merger = Merged::new(2, store.clone());
        feed(&mut merger, &mut writer, 0, Event::Init);
        feed(&mut merger, &mut writer, 0, Event::InitApply(object("a", "one")));
        feed(&mut merger, &mut writer, 0, Event::InitApply(object("a", "gone")));
        feed(&mut merger, &mut writer, 0, Event::InitDone);
        // Namespace a changes while b is still listing.
        feed(&mut merger, &mut writer, 0, Event::Delete(object("a", "gone")));
        feed(&mut merger, &mut writer, 0, Event::Apply(object("a", "two")));
        feed(&mut merger, &mut writer, 1, Event::Init);
        feed(&mut merger, &mut writer, 1, Event::InitApply(object("b", "three")));
        assert!(names(&store).is_empty(), "nothing before every namespace listed");
        feed(&mut merger, &mut writer, 1, Event::InitDone);
        assert_eq!(names(&store), ["a/one", "a/two", "b/three"]);
    }

    #[test]
    fn a_relist_of_one_namespace_touches_only_its_objects() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let mut merger = Merged::new(2, store.clone());
        for (index, namespace) in [(0, "a"), (1, "b")] {
            feed(&mut merger, &mut writer, index, Event::Init);
            feed(
                &mut merger,
                &mut writer,
                index,
                Event::InitApply(object(namespace, "kept")),
            );
            feed(
                &mut merger,
                &mut writer,
                index,
                Event::InitApply(object(namespace, "left")),
            );
            feed(&mut merger, &mut writer, index, Event::InitDone);
        }
        feed(&mut merger, &mut writer, 0, Event::Init);
        feed(&mut merger, &mut writer, 0, Event::InitApply(object("a", "kept")));
        feed(&mut merger, &mut writer, 0, Event::InitApply(object("a", "new")));
        feed(&mut merger, &mut writer, 0, Event::InitDone);
        assert_eq!(names(&store), ["a/kept", "a/new", "b/kept", "b/left"]);
        feed(&mut merger, &mut writer, 1, Event::Delete(object("b", "left")));
        assert_eq!(names(&store), ["a/kept", "a/new", "b/kept"]);
    }
}
