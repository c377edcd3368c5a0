//! The Kubernetes side of the controller tests: kube's `Client` over a `tower-test` mock service,
//! answered by a small in-memory API server that keeps objects, serves list and watch (replaying
//! events after the watch's resourceVersion, as the real one does), applies the JSON patches the
//! finalizer helper sends and the server-side-apply status patches, turns DELETE into a
//! deletionTimestamp while finalizers remain, and records every request for assertions.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::channel::mpsc;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Bytes;
use hyper::body::Frame;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

/// One request the controller made.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    /// (plural, namespace, name) → object.
    objects: BTreeMap<(String, String, String), Value>,
    resource_version: u64,
    /// Every change: (resourceVersion, plural, watch event).
    log: Vec<(u64, String, Value)>,
    /// (plural, namespace or every namespace, the watch's stream).
    watches: Vec<(String, Option<String>, mpsc::UnboundedSender<Bytes>)>,
    requests: Vec<Recorded>,
}

#[derive(Clone, Default)]
pub struct ApiServer {
    state: Arc<Mutex<State>>,
}

pub const GROUP_PATH: &str = "/apis/dataplatform.io/v1alpha1";

impl ApiServer {
    /// A client whose every request this server answers.
    pub fn start() -> (Client, ApiServer) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<ResponseBody>>();
        let server = ApiServer::default();
        let answering = server.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let response = answering.answer(request).await;
                respond.send_response(response);
            }
        });
        (Client::new(service, "default"), server)
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
        object["metadata"]["uid"] = json!(format!("uid-{plural}-{name}"));
        object["metadata"]["generation"] = json!(1);
        object["metadata"]["creationTimestamp"] = json!(k8s_openapi::jiff::Timestamp::now().to_string());
        store(&mut state, plural, &namespace, &name, object, "ADDED");
    }

    /// An object stored as given (e.g. a Lease another replica holds).
    pub fn put(&self, plural: &str, object: Value) {
        let mut state = self.lock();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
        let name = object["metadata"]["name"].as_str().expect("name").to_owned();
        store(&mut state, plural, &namespace, &name, object, "ADDED");
    }

    /// A spec edit: the generation moves.
    pub fn update_spec(&self, plural: &str, namespace: &str, name: &str, spec: Value) {
        let mut state = self.lock();
        let mut object = state.objects[&key(plural, namespace, name)].clone();
        object["spec"] = spec;
        bump_generation(&mut object);
        store(&mut state, plural, namespace, name, object, "MODIFIED");
    }

    /// A change that moves no generation: `set` edits the object's status or metadata (as another
    /// writer, or our own status writes, would).
    pub fn touch(&self, plural: &str, namespace: &str, name: &str, set: impl FnOnce(&mut Value)) {
        let mut state = self.lock();
        let mut object = state.objects[&key(plural, namespace, name)].clone();
        set(&mut object);
        store(&mut state, plural, namespace, name, object, "MODIFIED");
    }

    /// `kubectl delete`: with finalizers the object stays, marked for deletion.
    pub fn delete(&self, plural: &str, namespace: &str, name: &str) {
        let mut state = self.lock();
        let Some(mut object) = state.objects.get(&key(plural, namespace, name)).cloned() else {
            return;
        };
        if finalizers(&object).is_empty() {
            remove(&mut state, plural, namespace, name);
            return;
        }
        object["metadata"]["deletionTimestamp"] = json!(k8s_openapi::jiff::Timestamp::now().to_string());
        bump_generation(&mut object);
        store(&mut state, plural, namespace, name, object, "MODIFIED");
    }

    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock().objects.get(&key(plural, namespace, name)).cloned()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
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
        self.lock().requests.clear();
    }

    async fn answer(&self, request: Request<Body>) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut state = self.lock();
        state.requests.push(Recorded {
            method: parts.method.clone(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        let route = Route::parse(&path);
        if let Some(lease) = route.as_ref().filter(|r| r.plural == "leases") {
            return answer_lease(&mut state, &parts.method, lease, body);
        }
        match (parts.method.clone(), route) {
            (
                Method::GET,
                Some(Route {
                    plural,
                    namespace,
                    name: None,
                    ..
                }),
            ) if query.contains("watch=true") => {
                let since = param(&query, "resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let (sender, receiver) = mpsc::unbounded();
                for (version, kind, event) in &state.log {
                    if *version > since && *kind == plural && in_namespace(event, namespace.as_deref()) {
                        let _ = sender.unbounded_send(line(event));
                    }
                }
                state.watches.push((plural, namespace, sender));
                let stream = receiver.map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
                Response::new(StreamBody::new(stream).boxed_unsync())
            }
            (
                Method::GET,
                Some(Route {
                    plural,
                    namespace,
                    name: None,
                    ..
                }),
            ) => {
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|((p, ns, _), _)| *p == plural && namespace.as_deref().is_none_or(|n| n == ns))
                    .map(|(_, object)| object.clone())
                    .collect();
                let list = json!({
                    "apiVersion": "dataplatform.io/v1alpha1",
                    "kind": format!("{}List", kind_of(&plural)),
                    "metadata": {"resourceVersion": state.resource_version.to_string()},
                    "items": items,
                });
                respond(StatusCode::OK, &list)
            }
            (
                Method::GET,
                Some(Route {
                    plural,
                    namespace: Some(ns),
                    name: Some(name),
                    ..
                }),
            ) => match state.objects.get(&key(&plural, &ns, &name)) {
                Some(object) => respond(StatusCode::OK, object),
                None => not_found(&name),
            },
            (
                Method::PATCH,
                Some(Route {
                    plural,
                    namespace: Some(ns),
                    name: Some(name),
                    status,
                }),
            ) => {
                let Some(mut object) = state.objects.get(&key(&plural, &ns, &name)).cloned() else {
                    return not_found(&name);
                };
                if plural == "events" {
                    return respond(StatusCode::OK, &body);
                }
                if status {
                    object["status"] = body["status"].clone();
                } else if content_type.contains("json-patch") {
                    let patch: json_patch::Patch = match serde_json::from_value(body.clone()) {
                        Ok(patch) => patch,
                        Err(e) => return failure(StatusCode::BAD_REQUEST, &e.to_string()),
                    };
                    // The API server's JSON patch treats a `test` of null on an absent field as a
                    // match (the finalizer helper's first patch relies on it); json-patch does not.
                    if object["metadata"].get("finalizers").is_none() {
                        object["metadata"]["finalizers"] = Value::Null;
                    }
                    if let Err(e) = json_patch::patch(&mut object, &patch) {
                        return failure(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
                    }
                } else {
                    return failure(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "the test API server takes json-patch",
                    );
                }
                if object["metadata"]["deletionTimestamp"].is_string() && finalizers(&object).is_empty() {
                    remove(&mut state, &plural, &ns, &name);
                    return respond(StatusCode::OK, &object);
                }
                let stored = store(&mut state, &plural, &ns, &name, object, "MODIFIED");
                respond(StatusCode::OK, &stored)
            }
            (Method::POST, Some(Route { plural, .. })) if plural == "events" => respond(StatusCode::CREATED, &body),
            _ => failure(
                StatusCode::NOT_FOUND,
                &format!("the test API server has no route for {path}"),
            ),
        }
    }
}

/// Leader election: get, create, and strategic-merge or apply patches of a Lease, merged like a
/// JSON merge patch (enough for one writer at a time; no field ownership).
fn answer_lease(state: &mut State, method: &Method, route: &Route, body: Value) -> Response<ResponseBody> {
    let namespace = route.namespace.clone().unwrap_or_default();
    match (method, &route.name) {
        (&Method::GET, Some(name)) => match state.objects.get(&key("leases", &namespace, name)) {
            Some(lease) => respond(StatusCode::OK, lease),
            None => not_found(name),
        },
        (&Method::POST, None) => {
            let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            if state.objects.contains_key(&key("leases", &namespace, &name)) {
                return failure(StatusCode::CONFLICT, &format!("lease {name} already exists"));
            }
            let stored = store(state, "leases", &namespace, &name, body, "ADDED");
            respond(StatusCode::CREATED, &stored)
        }
        (&Method::PATCH, Some(name)) => {
            let mut lease = state
                .objects
                .get(&key("leases", &namespace, name))
                .cloned()
                .unwrap_or_else(|| json!({"metadata": {"name": name, "namespace": namespace}}));
            merge(&mut lease, &body);
            let stored = store(state, "leases", &namespace, name, lease, "MODIFIED");
            respond(StatusCode::OK, &stored)
        }
        (&Method::DELETE, Some(name)) => {
            remove(state, "leases", &namespace, name);
            respond(StatusCode::OK, &json!({"kind": "Status", "status": "Success"}))
        }
        _ => failure(StatusCode::METHOD_NOT_ALLOWED, "not a Lease operation"),
    }
}

/// RFC 7386: objects merge key by key, null removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (field, value) in patch {
                if value.is_null() {
                    target.remove(field);
                } else {
                    merge(target.entry(field.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

struct Route {
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    status: bool,
}

impl Route {
    /// `/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/status]]`
    fn parse(path: &str) -> Option<Route> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let rest = match segments.as_slice() {
            ["apis", _group, _version, rest @ ..] => rest,
            _ => return None,
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
            _ => (None, rest),
        };
        match rest {
            [plural] => Some(Route {
                plural: plural.to_string(),
                namespace,
                name: None,
                status: false,
            }),
            [plural, name] => Some(Route {
                plural: plural.to_string(),
                namespace,
                name: Some(name.to_string()),
                status: false,
            }),
            [plural, name, "status"] => Some(Route {
                plural: plural.to_string(),
                namespace,
                name: Some(name.to_string()),
                status: true,
            }),
            _ => None,
        }
    }
}

fn key(plural: &str, namespace: &str, name: &str) -> (String, String, String) {
    (plural.to_owned(), namespace.to_owned(), name.to_owned())
}

fn kind_of(plural: &str) -> &'static str {
    match plural {
        "dataplatformaccounts" => "DataPlatformAccount",
        "sharedbucketgrants" => "SharedBucketGrant",
        _ => "Unknown",
    }
}

fn finalizers(object: &Value) -> Vec<Value> {
    object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default()
}

fn bump_generation(object: &mut Value) {
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
    object["metadata"]["generation"] = json!(generation + 1);
}

fn store(state: &mut State, plural: &str, namespace: &str, name: &str, mut object: Value, kind: &str) -> Value {
    state.resource_version += 1;
    object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
    state.objects.insert(key(plural, namespace, name), object.clone());
    notify(state, plural, json!({"type": kind, "object": object}));
    object
}

fn remove(state: &mut State, plural: &str, namespace: &str, name: &str) {
    if let Some(mut object) = state.objects.remove(&key(plural, namespace, name)) {
        state.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
        notify(state, plural, json!({"type": "DELETED", "object": object}));
    }
}

fn notify(state: &mut State, plural: &str, event: Value) {
    let version = state.resource_version;
    state.log.push((version, plural.to_owned(), event.clone()));
    state.watches.retain(|(watched, namespace, sender)| {
        *watched != plural || !in_namespace(&event, namespace.as_deref()) || sender.unbounded_send(line(&event)).is_ok()
    });
}

fn in_namespace(event: &Value, namespace: Option<&str>) -> bool {
    namespace.is_none_or(|ns| event["object"]["metadata"]["namespace"] == ns)
}

fn line(event: &Value) -> Bytes {
    let mut text = serde_json::to_vec(event).unwrap_or_default();
    text.push(b'\n');
    Bytes::from(text)
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn respond(status: StatusCode, body: &Value) -> Response<ResponseBody> {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    let mut response = Response::new(Full::new(bytes).boxed_unsync());
    *response.status_mut() = status;
    response
}

fn failure(status: StatusCode, message: &str) -> Response<ResponseBody> {
    respond(
        status,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": status.as_u16()}),
    )
}

fn not_found(name: &str) -> Response<ResponseBody> {
    respond(
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                "message": format!("{name} not found"), "code": 404}),
    )
}
