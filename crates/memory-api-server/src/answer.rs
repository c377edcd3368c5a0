//! The routes of the in-memory API server: list, watch, get, the patches, Events and Leases.

use std::convert::Infallible;

use futures::StreamExt;
use futures::channel::mpsc;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use serde_json::{Value, json};

use super::{ApiServer, EVENTS_KEPT, Recorded, State};

pub(super) type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

impl ApiServer {
    pub(super) async fn answer<B: hyper::body::Body>(&self, request: Request<B>) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path();
        let query = parts.uri.query().unwrap_or_default();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut state = self.lock();
        let route = Route::parse(path);
        count(&mut state, &parts.method, route.as_ref(), query);
        if parts.method != Method::GET {
            state.recent_writes.push_back(format!("{} {path}", parts.method));
            if state.recent_writes.len() > super::WRITES_KEPT {
                state.recent_writes.pop_front();
            }
        }
        if let Some(requests) = state.requests.as_mut() {
            requests.push(Recorded {
                method: parts.method.clone(),
                path: path.to_owned(),
                query: query.to_owned(),
                content_type: content_type.to_owned(),
                body: body.clone(),
            });
        }
        let Some(route) = route else {
            return failure(
                StatusCode::NOT_FOUND,
                &format!("the test API server has no route for {path}"),
            );
        };
        if route.plural == "leases" {
            return answer_lease(&mut state, &parts.method, &route, body);
        }
        match (&parts.method, route.name.as_deref()) {
            (&Method::GET, None) if query.contains("watch=true") => watch(&mut state, route, query),
            (&Method::GET, None) => list(&state, &route),
            (&Method::GET, Some(name)) => {
                match state.objects.get(&key(
                    &route.plural,
                    route.namespace.as_deref().unwrap_or_default(),
                    name,
                )) {
                    Some(object) => respond(StatusCode::OK, object),
                    None => not_found(name),
                }
            }
            (&Method::PATCH, Some(_)) => patch(&mut state, &route, content_type, body),
            (&Method::POST, None) if route.plural == "events" => respond(StatusCode::CREATED, &body),
            _ => failure(
                StatusCode::NOT_FOUND,
                &format!("the test API server has no route for {path}"),
            ),
        }
    }
}

fn count(state: &mut State, method: &Method, route: Option<&Route>, query: &str) {
    let counts = &mut state.counts;
    let named = route.is_some_and(|r| r.name.is_some());
    match *method {
        Method::GET if named => counts.gets += 1,
        Method::GET if query.contains("watch=true") => counts.watches += 1,
        Method::GET => counts.lists += 1,
        _ => counts.writes += 1,
    }
}

/// The events after the watch's resourceVersion, then every new one; 410 Gone when some of those
/// events are no longer kept (the watcher relists, as after the real server's watch cache moved on).
fn watch(state: &mut State, route: Route, query: &str) -> Response<ResponseBody> {
    let since: u64 = param(query, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (sender, receiver) = mpsc::unbounded();
    let oldest_kept = state
        .log
        .front()
        .map_or(state.resource_version + 1, |(version, ..)| *version);
    if since > 0 && since + 1 < oldest_kept {
        let gone = json!({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410,
            "message": format!("too old resource version: {since} ({})", oldest_kept - 1),
        }});
        let _ = sender.unbounded_send(line(&gone));
        drop(sender);
    } else {
        for (version, kind, event) in &state.log {
            if *version > since && *kind == route.plural && in_namespace(event, route.namespace.as_deref()) {
                let _ = sender.unbounded_send(line(event));
            }
        }
        state.watches.push((route.plural, route.namespace, sender));
    }
    let stream = receiver.map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
    Response::new(StreamBody::new(stream).boxed_unsync())
}

fn list(state: &State, route: &Route) -> Response<ResponseBody> {
    let items: Vec<&Value> = state
        .objects
        .iter()
        .filter(|((p, ns, _), _)| *p == route.plural && route.namespace.as_deref().is_none_or(|n| n == ns))
        .map(|(_, object)| object)
        .collect();
    let list = json!({
        "apiVersion": "dataplatform.io/v1alpha1",
        "kind": format!("{}List", kind_of(&route.plural)),
        "metadata": {"resourceVersion": state.resource_version.to_string()},
        "items": items,
    });
    respond(StatusCode::OK, &list)
}

/// A status patch replaces the status; a JSON patch (the finalizer helper's) applies as the API
/// server applies it. The last finalizer gone from an object being deleted removes it.
fn patch(state: &mut State, route: &Route, content_type: &str, body: Value) -> Response<ResponseBody> {
    let (namespace, name) = (
        route.namespace.as_deref().unwrap_or_default(),
        route.name.as_deref().unwrap_or_default(),
    );
    let Some(mut object) = state.objects.get(&key(&route.plural, namespace, name)).cloned() else {
        return not_found(name);
    };
    if route.plural == "events" {
        return respond(StatusCode::OK, &body);
    }
    if route.status {
        object["status"] = body["status"].clone();
    } else if content_type.contains("json-patch") {
        let patch: json_patch::Patch = match serde_json::from_value(body) {
            Ok(patch) => patch,
            Err(e) => return failure(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        // The API server's JSON patch treats a `test` of null on an absent field as a match (the
        // finalizer helper's first patch relies on it); json-patch does not.
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
        remove(state, &route.plural, namespace, name);
        return respond(StatusCode::OK, &object);
    }
    let stored = store(state, &route.plural, namespace, name, object, "MODIFIED");
    respond(StatusCode::OK, &stored)
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

pub(super) fn key(plural: &str, namespace: &str, name: &str) -> (String, String, String) {
    (plural.to_owned(), namespace.to_owned(), name.to_owned())
}

fn kind_of(plural: &str) -> &'static str {
    match plural {
        "dataplatformaccounts" => "DataPlatformAccount",
        "sharedbucketgrants" => "SharedBucketGrant",
        _ => "Unknown",
    }
}

pub(super) fn finalizers(object: &Value) -> Vec<Value> {
    object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default()
}

pub(super) fn bump_generation(object: &mut Value) {
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
    object["metadata"]["generation"] = json!(generation + 1);
}

pub(super) fn store(
    state: &mut State,
    plural: &str,
    namespace: &str,
    name: &str,
    mut object: Value,
    kind: &str,
) -> Value {
    state.resource_version += 1;
    object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
    state.objects.insert(key(plural, namespace, name), object.clone());
    notify(state, plural, json!({"type": kind, "object": object}));
    object
}

pub(super) fn remove(state: &mut State, plural: &str, namespace: &str, name: &str) {
    if let Some(mut object) = state.objects.remove(&key(plural, namespace, name)) {
        state.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
        notify(state, plural, json!({"type": "DELETED", "object": object}));
    }
}

fn notify(state: &mut State, plural: &str, event: Value) {
    let version = state.resource_version;
    state.log.push_back((version, plural.to_owned(), event.clone()));
    if state.log.len() > EVENTS_KEPT {
        state.log.pop_front();
    }
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
