//! OpenAI Realtime: `POST /v1/realtime/calls`, its errors, and a call's
//! `oai-events` channel over a real connection.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::session::test_client::TestClient;

const CALLS: &str = "/v1/realtime/calls";

fn post_call(a: &Arc<App>, url: &str, key: Option<&str>, offer: &str) -> Resp {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/sdp")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    route(a, &req("POST", url, &headers, offer))
}

/// The call id of a `201`'s `Location`.
fn call_id(r: &Resp) -> String {
    let location = header(r, "Location").expect("Location");
    let id = location
        .strip_prefix("/v1/realtime/calls/")
        .expect("under /v1/realtime/calls/");
    assert!(id.starts_with("rtc_") && id.len() == 4 + 32, "{id}");
    assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    id.to_string()
}

#[test]
fn api_keys() {
    let offer = crate::session::tests::client_offer();
    let a = app(None);
    // No key, or an empty one: 401, OpenAI's error shape.
    for key in [None, Some("")] {
        let r = post_call(&a, CALLS, key, &offer);
        assert_eq!(r.status, 401, "{key:?}");
        assert_eq!(header(&r, "WWW-Authenticate"), Some("Bearer"));
        assert_eq!(header(&r, "Content-Type"), Some("application/json"));
        let e = &json(&r)["error"];
        assert_eq!(
            (e["type"].clone(), e["code"].clone()),
            ("invalid_request_error".into(), "invalid_api_key".into())
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Any key without --token.
    let r = post_call(&a, CALLS, Some("sk-anything"), &offer);
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(header(&r, "Content-Type"), Some("application/sdp"));
    assert!(text(&r).starts_with("v=0"));
    assert!(header(&r, "ETag").is_none() && header(&r, "Link").is_none());
    let id = call_id(&r);
    let (s, v) = session_state(&a, &id);
    assert_eq!(s["protocol"], "openai");
    assert_eq!(v["sessionsCreated"], 1);

    // With --token: that key only.
    let a = app(Some("sk-test-0123456789"));
    let r = post_call(&a, CALLS, Some("sk-wrong-0123456789"), &offer);
    assert_eq!(r.status, 401);
    let message = json(&r)["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        message.starts_with("Incorrect API key provided"),
        "{message}"
    );
    assert!(!message.contains("wrong"), "the key is redacted: {message}");
    let r = post_call(
        &a,
        &format!("{CALLS}?model=gpt-realtime"),
        Some("sk-test-0123456789"),
        &offer,
    );
    assert_eq!(r.status, 201);

    // unauthorized=1 wins over a good key.
    route(&a, &req("POST", "/_dev/faults?unauthorized=1", &[], ""));
    let r = post_call(&a, CALLS, Some("sk-test-0123456789"), &offer);
    assert_eq!(
        (r.status, header(&r, "WWW-Authenticate")),
        (401, Some("Bearer"))
    );
    assert_eq!(json(&r)["error"]["code"], "invalid_api_key");
    assert_eq!(a.registry.report().sessions_created, 1);
}

#[test]
fn errors_and_methods() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let auth = [("Authorization", "Bearer k")];
    let r = route(&a, &req("POST", CALLS, &auth, &offer));
    assert_eq!(r.status, 415);
    assert!(json(&r)["error"]["message"].is_string());
    let r = post_call(&a, CALLS, Some("k"), "hello");
    assert_eq!(
        (r.status, json(&r)["error"]["type"].clone()),
        (400, "invalid_request_error".into())
    );
    let r = post_call(&a, &format!("{CALLS}?fault=500"), Some("k"), &offer);
    assert_eq!(
        (r.status, json(&r)["error"]["type"].clone()),
        (500, "server_error".into())
    );
    let r = post_call(&a, &format!("{CALLS}?fault=html"), Some("k"), &offer);
    assert_eq!(header(&r, "Content-Type"), Some("text/html; charset=utf-8"));
    route(&a, &req("POST", "/_dev/faults?fail_post=503", &[], ""));
    let r = post_call(&a, CALLS, Some("k"), &offer);
    assert_eq!((r.status, header(&r, "Retry-After")), (503, Some("1")));
    route(&a, &req("POST", "/_dev/faults?fail_post=0", &[], ""));

    let r = post_call(
        &a,
        &format!("{CALLS}?fault=nofingerprint&delay_out_ms=20"),
        Some("k"),
        &offer,
    );
    assert_eq!(r.status, 201);
    assert!(!text(&r).contains("a=fingerprint"));
    let id = call_id(&r);
    assert_eq!(session_state(&a, &id).0["delayMs"], 20);

    // No DELETE, no PATCH, no GET: 405 in OpenAI's shape; the call goes on.
    let url = format!("{CALLS}/{id}");
    for method in ["DELETE", "PATCH", "GET", "POST"] {
        let r = route(&a, &req(method, &url, &auth, ""));
        assert_eq!(r.status, 405, "{method}");
        assert!(json(&r)["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(method)));
    }
    let r = route(&a, &req("GET", CALLS, &auth, ""));
    assert_eq!((r.status, header(&r, "Allow")), (405, Some("POST")));
    assert_ne!(session_state(&a, &id).0["state"], "ended");
    assert_eq!(route(&a, &req("OPTIONS", &url, &[], "")).status, 204);
}

/// A call over a real connection: `session.created` when the `oai-events`
/// channel opens, every event echoed.
#[test]
fn events_channel() {
    let a = app(None);
    let (mut client, offer) = TestClient::new("oai-events");
    let r = post_call(&a, CALLS, Some("k"), &offer);
    assert_eq!(r.status, 201);
    let id = call_id(&r);
    client.connect(&text(&r));
    assert!(client.run_until(Duration::from_secs(3), |c| !c.received.is_empty()));
    assert_eq!(
        client.received[0],
        format!(r#"{{"type":"session.created","session":{{"id":"{id}"}}}}"#)
    );
    client.send(r#"{"type":"session.update","session":{"instructions":"hi"}}"#);
    client.send(r#"{"type":"response.create"}"#);
    assert!(client.run_until(Duration::from_secs(3), |c| c.received.len() >= 3));
    assert_eq!(
        client.received[1..],
        [
            r#"{"type":"echo","event":{"type":"session.update","session":{"instructions":"hi"}}}"#,
            r#"{"type":"echo","event":{"type":"response.create"}}"#,
        ]
    );
    let (s, _) = session_state(&a, &id);
    assert_eq!(s["state"], "connected");
    assert_eq!(s["channelLabel"], "oai-events");
    assert_eq!(s["channelOpen"], true);
    assert_eq!(s["messages"].as_array().map(Vec::len), Some(2));
    // The server's end still works: session.ended, then closed.
    let end = format!("/_dev/sessions/{id}/end");
    assert_eq!(route(&a, &req("POST", &end, &[], "")).status, 200);
    assert!(client.run_until(Duration::from_secs(3), |c| c.received.len() >= 4));
    assert_eq!(
        client.received[3],
        r#"{"type":"session.ended","reason":"server"}"#
    );
}

/// A channel with another label: recorded, never answered.
#[test]
fn other_label_stays_silent() {
    let a = app(None);
    let (mut client, offer) = TestClient::new("events");
    let r = post_call(&a, CALLS, Some("k"), &offer);
    let id = call_id(&r);
    client.connect(&text(&r));
    client.send(r#"{"type":"response.create"}"#);
    let recorded = || {
        session_state(&a, &id).0["messages"]
            .as_array()
            .map(Vec::len)
            == Some(1)
    };
    assert!(client.run_until(Duration::from_secs(3), |_| recorded()));
    client.run_until(Duration::from_millis(300), |_| false);
    assert!(client.received.is_empty(), "{:?}", client.received);
    let (s, _) = session_state(&a, &id);
    assert_eq!(
        (s["channelLabel"].clone(), s["channelOpen"].clone()),
        (Value::from("events"), json!(false))
    );
}
