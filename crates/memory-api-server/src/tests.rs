use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::*;

const PLURAL: &str = "dataplatformaccounts";

fn account(name: &str) -> Value {
    json!({"apiVersion": "dataplatform.io/v1alpha1", "kind": "DataPlatformAccount",
           "metadata": {"name": name, "namespace": "tenants"}, "spec": {}})
}

async fn get(server: &ApiServer, uri: &str) -> (http::StatusCode, answer::ResponseBody) {
    let request = http::Request::get(uri).body(String::new()).expect("request");
    let response = server.answer(request).await;
    let status = response.status();
    (status, response.into_body())
}

/// The first line a watch from `since` sends.
async fn first_watch_event(server: &ApiServer, since: u64) -> Value {
    let uri = format!("{GROUP_PATH}/{PLURAL}?watch=true&resourceVersion={since}");
    let (_, body) = get(server, &uri).await;
    let mut frames = body.into_data_stream();
    let bytes = frames.next().await.expect("an event").expect("bytes");
    serde_json::from_slice(&bytes).expect("one JSON event per line")
}

#[tokio::test]
async fn a_watch_from_before_the_events_kept_is_gone_and_one_after_replays_them() {
    let server = ApiServer::new(false);
    server.create(PLURAL, account("camden"));
    // The create and EVENTS_KEPT + 1 edits: the event right after version 1 is gone.
    for n in 0..=EVENTS_KEPT {
        server.touch(PLURAL, "tenants", "camden", |o| o["status"] = json!({"n": n}));
    }
    let gone = first_watch_event(&server, 1).await;
    assert_eq!(gone["type"], "ERROR");
    assert_eq!(gone["object"]["code"], 410);

    let latest = EVENTS_KEPT as u64 + 2;
    let replayed = first_watch_event(&server, latest - 1).await;
    assert_eq!(replayed["type"], "MODIFIED");
    assert_eq!(replayed["object"]["metadata"]["resourceVersion"], latest.to_string());
    assert_eq!(server.lock().log.len(), EVENTS_KEPT);
}

#[tokio::test]
async fn requests_are_counted_and_recorded_only_when_asked() {
    let quiet = ApiServer::new(false);
    quiet.create(PLURAL, account("camden"));
    let (status, _) = get(&quiet, &format!("{GROUP_PATH}/{PLURAL}")).await;
    assert_eq!(status, http::StatusCode::OK);
    let (status, _) = get(&quiet, &format!("{GROUP_PATH}/namespaces/tenants/{PLURAL}/camden")).await;
    assert_eq!(status, http::StatusCode::OK);
    let status_patch = http::Request::patch(format!("{GROUP_PATH}/namespaces/tenants/{PLURAL}/camden/status"))
        .body(json!({"status": {"phase": "Ready"}}).to_string())
        .expect("request");
    quiet.answer(status_patch).await;
    assert_eq!(
        quiet.counts(),
        RequestCounts {
            lists: 1,
            watches: 0,
            gets: 1,
            writes: 1
        }
    );
    assert!(quiet.requests().is_empty());
    assert_eq!(
        quiet.get(PLURAL, "tenants", "camden").expect("kept")["status"]["phase"],
        "Ready"
    );

    let recording = ApiServer::default();
    get(&recording, &format!("{GROUP_PATH}/{PLURAL}")).await;
    assert_eq!(recording.requests().len(), 1);
}
