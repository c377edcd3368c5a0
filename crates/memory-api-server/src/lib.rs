//! An in-memory Kubernetes API server for the controller tests and `bench --controller`. It keeps
//! objects, serves list and watch (replaying events after the watch's resourceVersion, as the real
//! one does, and answering 410 Gone once those events are no longer kept), applies the JSON patches
//! the finalizer helper sends and the status patches, turns DELETE into a deletionTimestamp while
//! finalizers remain, counts requests, and can record them for assertions.
//!
//! It is reached in process ([`ApiServer::start`], a kube `Client` over a tower service) or over
//! HTTP on a local port ([`ApiServer::serve`], for a `run` in its own process). It models no
//! admission, no field ownership, and only the routes the controller uses.

mod answer;

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use http::Method;
use hyper::body::Bytes;
use kube::Client;
use serde_json::{Value, json};

/// Watch events kept for watches that start from an older resourceVersion; a watch from before
/// the oldest one kept gets 410 Gone and relists, as from the real server's watch cache.
pub const EVENTS_KEPT: usize = 4096;

/// The path of our API group's objects.
pub const GROUP_PATH: &str = "/apis/dataplatform.io/v1alpha1";

/// One request the controller made.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

/// Requests answered, by what they do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub lists: u64,
    pub watches: u64,
    pub gets: u64,
    /// PATCH, POST, PUT and DELETE: status and finalizer patches, Events, Leases.
    pub writes: u64,
}

#[derive(Default)]
struct State {
    /// (plural, namespace, name) → object.
    objects: BTreeMap<(String, String, String), Value>,
    resource_version: u64,
    /// The last [`EVENTS_KEPT`] changes: (resourceVersion, plural, watch event).
    log: VecDeque<(u64, String, Value)>,
    /// (plural, namespace or every namespace, the watch's stream).
    watches: Vec<(String, Option<String>, mpsc::UnboundedSender<Bytes>)>,
    /// Every request, when recording.
    requests: Option<Vec<Recorded>>,
    counts: RequestCounts,
    /// The last [`WRITES_KEPT`] writes as "METHOD path", recording or not (the bench names them).
    recent_writes: VecDeque<String>,
}

const WRITES_KEPT: usize = 32;

#[derive(Clone)]
pub struct ApiServer {
    state: Arc<Mutex<State>>,
}

impl Default for ApiServer {
    /// A server that records every request (the tests assert on them).
    fn default() -> Self {
        ApiServer::new(true)
    }
}

impl ApiServer {
    /// `record`: keep every request for [`requests`](Self::requests) (a bench keeps counts only).
    pub fn new(record: bool) -> ApiServer {
        let state = State {
            requests: record.then(Vec::new),
            ..State::default()
        };
        ApiServer {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// A recording server, and a client whose every request it answers in process.
    pub fn start() -> (Client, ApiServer) {
        let server = ApiServer::default();
        (server.client(), server)
    }

    /// A client whose every request this server answers in process.
    pub fn client(&self) -> Client {
        let server = self.clone();
        let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
            let server = server.clone();
            async move { Ok::<_, Infallible>(server.answer(request).await) }
        });
        Client::new(service, "default")
    }

    /// Answers HTTP/1 on `listener` (plain HTTP, no authentication) until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let server = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.answer(request).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `kubectl apply` of a new object: uid, generation 1, creationTimestamp, an ADDED event.
    pub fn create(&self, plural: &str, mut object: Value) {
        let mut state = self.lock();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
        let name = object["metadata"]["name"].as_str().expect("name").to_owned();
        object["metadata"]["namespace"] = json!(namespace);
        object["metadata"]["uid"] = json!(format!("uid-{plural}-{namespace}-{name}"));
        object["metadata"]["generation"] = json!(1);
        object["metadata"]["creationTimestamp"] = json!(k8s_openapi::jiff::Timestamp::now().to_string());
        answer::store(&mut state, plural, &namespace, &name, object, "ADDED");
    }

    /// An object stored as given (e.g. a Lease another replica holds).
    pub fn put(&self, plural: &str, object: Value) {
        let mut state = self.lock();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
        let name = object["metadata"]["name"].as_str().expect("name").to_owned();
        answer::store(&mut state, plural, &namespace, &name, object, "ADDED");
    }

    /// A spec edit: the generation moves.
    pub fn update_spec(&self, plural: &str, namespace: &str, name: &str, spec: Value) {
        let mut state = self.lock();
        let mut object = state.objects[&answer::key(plural, namespace, name)].clone();
        object["spec"] = spec;
        answer::bump_generation(&mut object);
        answer::store(&mut state, plural, namespace, name, object, "MODIFIED");
    }

    /// A change that moves no generation: `set` edits the object's status or metadata (as another
    /// writer, or our own status writes, would).
    pub fn touch(&self, plural: &str, namespace: &str, name: &str, set: impl FnOnce(&mut Value)) {
        let mut state = self.lock();
        let mut object = state.objects[&answer::key(plural, namespace, name)].clone();
        set(&mut object);
        answer::store(&mut state, plural, namespace, name, object, "MODIFIED");
    }

    /// `kubectl delete`: with finalizers the object stays, marked for deletion.
    pub fn delete(&self, plural: &str, namespace: &str, name: &str) {
        let mut state = self.lock();
        let Some(mut object) = state.objects.get(&answer::key(plural, namespace, name)).cloned() else {
            return;
        };
        if answer::finalizers(&object).is_empty() {
            answer::remove(&mut state, plural, namespace, name);
            return;
        }
        object["metadata"]["deletionTimestamp"] = json!(k8s_openapi::jiff::Timestamp::now().to_string());
        answer::bump_generation(&mut object);
        answer::store(&mut state, plural, namespace, name, object, "MODIFIED");
    }

    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock().objects.get(&answer::key(plural, namespace, name)).cloned()
    }

    /// Every object of `plural`, in every namespace.
    pub fn list(&self, plural: &str) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((p, _, _), _)| p == plural)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// What each object of `plural` reads as, without cloning them all.
    pub fn tally<T>(&self, plural: &str, mut read: impl FnMut(&Value) -> T) -> Vec<T> {
        self.lock()
            .objects
            .iter()
            .filter(|((p, _, _), _)| p == plural)
            .map(|(_, object)| read(object))
            .collect()
    }

    /// Every request since the last [`clear_requests`](Self::clear_requests) (empty when the
    /// server does not record).
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone().unwrap_or_default()
    }

    /// Requests that changed something (not list/watch/get).
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != Method::GET)
            .collect()
    }

    pub fn events(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == Method::POST && r.path.ends_with("/events"))
            .map(|r| r.body)
            .collect()
    }

    pub fn clear_requests(&self) {
        if let Some(requests) = self.lock().requests.as_mut() {
            requests.clear();
        }
    }

    /// Requests answered since the server started.
    pub fn counts(&self) -> RequestCounts {
        self.lock().counts
    }

    /// The last writes, oldest first, as "METHOD path".
    pub fn recent_writes(&self) -> Vec<String> {
        self.lock().recent_writes.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests;
