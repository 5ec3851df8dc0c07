//! Pipecat SmallWebRTC: `POST /api/offer` (new sessions, `restart_pc`,
//! renegotiation, forgotten `pc_id`s) and `PATCH /api/offer` (trickle).

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::session::test_client::TestClient;

const OFFER: &str = "/api/offer";

fn post(a: &Arc<App>, body: &Value) -> Resp {
    route(
        a,
        &req(
            "POST",
            OFFER,
            &[("Content-Type", "application/json")],
            &body.to_string(),
        ),
    )
}

/// A `200` answer's `pc_id`, checked for shape.
fn answered(r: &Resp) -> (String, String) {
    assert_eq!(r.status, 200, "{}", text(r));
    assert_eq!(header(r, "Content-Type"), Some("application/json"));
    let v = json(r);
    assert_eq!(v["type"], "answer");
    let sdp = v["sdp"].as_str().expect("sdp").to_string();
    assert!(sdp.starts_with("v=0"), "{sdp}");
    (v["pc_id"].as_str().expect("pc_id").to_string(), sdp)
}

#[test]
fn new_sessions_and_errors() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let r = post(
        &a,
        &json!({"sdp": offer, "type": "offer", "pc_id": null, "restart_pc": false,
                "request_data": {"bot": "echo", "n": [1, 2]}}),
    );
    let (pc, _) = answered(&r);
    let (s, v) = session_state(&a, &pc);
    assert_eq!(s["protocol"], "pipecat");
    assert_eq!(s["pipecatSession"], pc.as_str());
    assert_eq!(s["requestData"], json!({"bot": "echo", "n": [1, 2]}));
    assert_eq!(s["trickledCandidates"], 0);
    assert_eq!(v["pipecatSessionsStarted"], 1);
    // camelCase requestData too; absent: null.
    let (pc2, _) = answered(&post(
        &a,
        &json!({"sdp": offer, "type": "offer", "requestData": "x"}),
    ));
    assert_eq!(session_state(&a, &pc2).0["requestData"], "x");
    let (pc3, _) = answered(&post(&a, &json!({"sdp": offer, "type": "offer"})));
    let (s, v) = session_state(&a, &pc3);
    assert_eq!(s["requestData"], Value::Null);
    assert_eq!(v["pipecatSessionsStarted"], 3);

    // Errors: FastAPI's shape.
    for (body, status) in [
        ("not json", 422),
        (r#"{"type":"offer"}"#, 422),
        (r#"{"sdp":1,"type":"offer"}"#, 422),
    ] {
        let r = route(&a, &req("POST", OFFER, &[], body));
        assert_eq!(r.status, status, "{body}");
        assert!(json(&r)["detail"].is_string(), "{body}");
    }
    let r = post(&a, &json!({"sdp": offer, "type": "answer"}));
    assert_eq!(r.status, 400);
    let r = post(&a, &json!({"sdp": "hello", "type": "offer"}));
    assert_eq!((r.status, json(&r)["detail"].is_string()), (400, true));
    let r = route(
        &a,
        &req(
            "POST",
            "/api/offer?fault=500",
            &[],
            &json!({"sdp": offer, "type": "offer"}).to_string(),
        ),
    );
    assert_eq!(
        (r.status, json(&r)),
        (500, json!({"detail": "injected fault"}))
    );
    assert_eq!(a.registry.report().sessions_created, 3);
    assert_eq!(route(&a, &req("DELETE", OFFER, &[], "")).status, 404);
}

#[test]
fn tokens_and_switches() {
    let a = app(Some("s3cret"));
    let offer = crate::session::tests::client_offer();
    let body = json!({"sdp": offer, "type": "offer"}).to_string();
    let r = route(&a, &req("POST", OFFER, &[], &body));
    assert_eq!(
        (r.status, header(&r, "WWW-Authenticate")),
        (401, Some("Bearer"))
    );
    assert!(json(&r)["detail"].is_string());
    let auth = [("Authorization", "Bearer s3cret")];
    answered(&route(&a, &req("POST", OFFER, &auth, &body)));
    route(&a, &req("POST", "/_dev/faults?unauthorized=1", &[], ""));
    let r = route(&a, &req("POST", OFFER, &auth, &body));
    assert_eq!(
        (r.status, header(&r, "WWW-Authenticate")),
        (401, Some("Bearer"))
    );
    route(
        &a,
        &req("POST", "/_dev/faults?unauthorized=0&refuse_new=1", &[], ""),
    );
    let r = route(&a, &req("POST", OFFER, &auth, &body));
    assert_eq!((r.status, header(&r, "Retry-After")), (503, Some("1")));
    assert_eq!(a.registry.report().sessions_created, 1);
}

#[test]
fn trickle() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let (pc, _) = answered(&post(&a, &json!({"sdp": offer, "type": "offer"})));
    let patch = |body: &Value| {
        route(
            &a,
            &req(
                "PATCH",
                OFFER,
                &[("Content-Type", "application/json")],
                &body.to_string(),
            ),
        )
    };
    let r = patch(&json!({"pc_id": pc, "candidates": [
        {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host", "sdp_mid": "0", "sdp_mline_index": 0},
        {"candidate": "candidate:2 1 udp 2122260222 127.0.0.1 40001 typ host generation 0", "sdp_mid": "0", "sdp_mline_index": 0},
        {"candidate": "", "sdp_mid": "0", "sdp_mline_index": 0}
    ]}));
    assert_eq!((r.status, json(&r)), (200, json!({"status": "success"})));
    assert_eq!(session_state(&a, &pc).0["trickledCandidates"], 3);
    let r = patch(&json!({"pc_id": "nope", "candidates": []}));
    assert_eq!(
        (r.status, json(&r)),
        (404, json!({"detail": "Peer connection not found"}))
    );
    assert_eq!(patch(&json!({"candidates": []})).status, 422);
    // An ended peer connection is forgotten.
    route(
        &a,
        &req("POST", &format!("/_dev/sessions/{pc}/end"), &[], ""),
    );
    assert_eq!(patch(&json!({"pc_id": pc, "candidates": []})).status, 404);
}

/// `restart_pc`: a new peer connection for the same server session; the old
/// one is closed once the new one connects.
#[test]
fn restart_pc() {
    let a = app(None);
    let (mut first, offer) = TestClient::new("chat");
    let r = post(
        &a,
        &json!({"sdp": offer, "type": "offer", "request_data": {"k": 1}}),
    );
    let (pc1, answer) = answered(&r);
    first.connect(&answer);
    first.send("ping-1");
    assert!(first.run_until(Duration::from_secs(3), |c| !c.received.is_empty()));
    assert_eq!(first.received[0], r#"{"data":"ping-1","type":"echo"}"#);
    assert!(eventually(2000, || session_state(&a, &pc1).0["state"] == "connected"));

    let (mut second, offer) = TestClient::new("chat");
    let r = post(
        &a,
        &json!({"sdp": offer, "type": "offer", "pc_id": pc1, "restart_pc": true}),
    );
    let (pc2, answer) = answered(&r);
    assert_ne!(pc2, pc1);
    let (s2, v) = session_state(&a, &pc2);
    assert_eq!(s2["pipecatSession"], pc1.as_str());
    assert_eq!(v["pipecatSessionsStarted"], 1);
    // Not before the new one connects.
    assert_ne!(session_state(&a, &pc1).0["state"], "ended");
    second.connect(&answer);
    assert!(eventually(3000, || session_state(&a, &pc1).0["state"] == "ended"));
    let (s1, _) = session_state(&a, &pc1);
    assert_eq!(s1["endedBy"], "replaced");
    assert_eq!(session_state(&a, &pc2).0["state"], "connected");
    second.send("ping-2");
    assert!(second.run_until(Duration::from_secs(3), |c| !c.received.is_empty()));

    // The old pc_id is forgotten now: a restart naming it starts a new
    // server session (as when the client closed it before offering).
    let (_, offer) = TestClient::new("chat");
    let r = post(
        &a,
        &json!({"sdp": offer, "type": "offer", "pc_id": pc1, "restart_pc": true}),
    );
    let (pc3, _) = answered(&r);
    let (s3, v) = session_state(&a, &pc3);
    assert_eq!(s3["pipecatSession"], pc3.as_str());
    assert_eq!(v["pipecatSessionsStarted"], 2);
}

/// A known `pc_id` without `restart_pc`: the same peer connection renegotiated.
#[test]
fn renegotiation() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let (pc, _) = answered(&post(&a, &json!({"sdp": offer, "type": "offer"})));
    let r = post(
        &a,
        &json!({"sdp": offer, "type": "offer", "pc_id": pc, "request_data": 7}),
    );
    let (again, sdp) = answered(&r);
    assert_eq!(again, pc);
    assert!(sdp.contains("a=ice-ufrag:"));
    let (s, v) = session_state(&a, &pc);
    assert_eq!(
        (s["requestData"].clone(), s["iceRestarts"].clone()),
        (json!(7), json!(0))
    );
    assert_eq!(
        (
            v["sessionsCreated"].clone(),
            v["pipecatSessionsStarted"].clone()
        ),
        (json!(1), json!(1))
    );
    let r = post(
        &a,
        &json!({"sdp": "nonsense", "type": "offer", "pc_id": pc}),
    );
    assert_eq!(r.status, 400);
}
