//! Trickle ICE: `OPTIONS /whip` (ICE servers, `Accept-Post`,
//! `Accept-Patch`), the `trickle` switch on WHIP and Pipecat `PATCH`es,
//! `If-Match` on trickle `PATCH`es, and the per-session trickle report.

use serde_json::{json, Value};

use super::*;
use crate::sdpfrag::{sdp_attr, SDPFRAG_TYPE};

fn set_trickle(a: &Arc<App>, value: &str) {
    let r = route(
        a,
        &req("POST", &format!("/_dev/faults?trickle={value}"), &[], ""),
    );
    assert_eq!((r.status, json(&r)["trickle"].clone()), (200, value.into()));
}

#[test]
fn options_whip() {
    let servers = vec![
        IceServer {
            url: "stun:127.0.0.1:3478".into(),
            username: None,
            credential: None,
        },
        IceServer {
            url: "turn:127.0.0.1:3478".into(),
            username: Some("u".into()),
            credential: Some("c".into()),
        },
    ];
    let (a, _) = app_with(None, servers);
    let r = route(&a, &req("OPTIONS", "/whip", &[], ""));
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(header(&r, "Accept-Post"), Some("application/sdp"));
    assert_eq!(
        header(&r, "Accept-Patch"),
        Some("application/trickle-ice-sdpfrag, application/sdp")
    );
    assert_eq!(
        headers(&r, "Link"),
        [
            r#"<stun:127.0.0.1:3478>; rel="ice-server""#,
            r#"<turn:127.0.0.1:3478>; rel="ice-server"; username="u"; credential="c"; credential-type="password""#,
        ]
    );
    // Still a CORS preflight answer.
    assert_eq!(header(&r, "Access-Control-Max-Age"), Some("600"));
    assert_eq!(header(&r, "Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(header(&r, "Allow"), None);
    assert_eq!(
        json(&route(&a, &req("GET", "/_dev/state", &[], "")))["optionsRequests"],
        1
    );
    // A CORS preflight gets the same answer and is not counted.
    let preflight = [("Access-Control-Request-Method", "POST")];
    let r = route(&a, &req("OPTIONS", "/whip", &preflight, ""));
    assert_eq!((r.status, headers(&r, "Link").len()), (204, 2));
    assert!(header(&r, "Accept-Patch").is_some());
    // Other paths: the plain preflight.
    let r = route(&a, &req("OPTIONS", "/whip/sessions/x", &[], ""));
    assert_eq!(
        (header(&r, "Accept-Post"), headers(&r, "Link").len()),
        (None, 0)
    );
    let v = json(&route(&a, &req("GET", "/_dev/state", &[], "")));
    assert_eq!(v["optionsRequests"], 1);

    // The 201 of POST /whip advertises PATCH too; `unadvertised` drops both.
    let (r, _) = post_offer(&a, "/whip");
    assert_eq!(
        header(&r, "Accept-Patch"),
        Some("application/trickle-ice-sdpfrag, application/sdp")
    );
    set_trickle(&a, "unadvertised");
    let (r, _) = post_offer(&a, "/whip");
    assert_eq!(
        (header(&r, "Accept-Patch"), headers(&r, "Link").len()),
        (None, 2)
    );
    let r = route(&a, &req("OPTIONS", "/whip", &[], ""));
    assert_eq!(
        (header(&r, "Accept-Patch"), headers(&r, "Link").len()),
        (None, 2)
    );
    // A refusal still advertises PATCH (ICE restarts are taken).
    set_trickle(&a, "422");
    let r = route(&a, &req("OPTIONS", "/whip", &[], ""));
    assert!(header(&r, "Accept-Patch").is_some());
    let v = json(&route(&a, &req("GET", "/_dev/state", &[], "")));
    assert_eq!(v["optionsRequests"], 3);
}

#[test]
fn whip_trickle() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let sdp = [("Content-Type", "application/sdp")];
    let r = route(&a, &req("POST", "/whip", &sdp, &offer));
    assert_eq!(r.status, 201);
    let id = header(&r, "X-Session-ID").expect("id").to_string();
    let etag = header(&r, "ETag").expect("ETag").to_string();
    let url = format!("/whip/sessions/{id}");
    let (ufrag, pwd) = (
        sdp_attr(&offer, "ice-ufrag").expect("ufrag"),
        sdp_attr(&offer, "ice-pwd").expect("pwd"),
    );
    let trickle = |port: u16, end: bool| {
        format!(
            "a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
             a=candidate:1 1 udp 2122260223 127.0.0.1 {port} typ host\r\n\
             a=candidate:2 1 udp 2122260222 127.0.0.1 {} typ host\r\n{}",
            port + 1,
            if end { "a=end-of-candidates\r\n" } else { "" }
        )
    };
    let with_etag = [("Content-Type", SDPFRAG_TYPE), ("If-Match", etag.as_str())];
    let stale = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "\"stale\"")];
    let star = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "*")];
    let report = |a: &Arc<App>| {
        let s = session_state(a, &id).0;
        (
            s["trickledCandidates"].as_u64().expect("count"),
            s["trickleRefused"].as_u64().expect("count"),
            s["trickleBadEtag"].as_u64().expect("count"),
            s["endOfCandidates"].as_bool().expect("bool"),
        )
    };
    assert_eq!(report(&a), (0, 0, 0, false));

    let r = route(&a, &req("PATCH", &url, &with_etag, &trickle(40000, false)));
    assert_eq!((r.status, header(&r, "ETag")), (204, Some(etag.as_str())));
    assert_eq!(report(&a), (2, 0, 0, false));
    // A stale ETag: 412, counted for a trickle only (not for an ICE restart).
    let r = route(&a, &req("PATCH", &url, &stale, &trickle(40010, true)));
    assert_eq!((r.status, header(&r, "ETag")), (412, Some(etag.as_str())));
    assert_eq!(route(&a, &req("PATCH", &url, &stale, FRAG)).status, 412);
    assert_eq!(report(&a), (2, 0, 1, false));
    let r = route(&a, &req("PATCH", &url, &star, &trickle(40020, true)));
    assert_eq!(r.status, 204);
    assert_eq!(report(&a), (4, 0, 1, true));

    // `unadvertised`: still taken.
    set_trickle(&a, "unadvertised");
    let r = route(&a, &req("PATCH", &url, &with_etag, &trickle(40030, false)));
    assert_eq!(r.status, 204);
    assert_eq!(report(&a), (6, 0, 1, true));

    // Refusals: the status, nothing added; the 412 check comes first.
    for status in [422, 405, 501] {
        set_trickle(&a, &status.to_string());
        let r = route(&a, &req("PATCH", &url, &with_etag, &trickle(40040, true)));
        assert_eq!(r.status, status);
        assert!(
            text(&r).contains(&format!("trickle={status}")),
            "{}",
            text(&r)
        );
        assert_eq!(
            header(&r, "Allow"),
            (status == 405).then_some("POST, DELETE, OPTIONS")
        );
    }
    assert_eq!(
        route(&a, &req("PATCH", &url, &stale, &trickle(1, true))).status,
        412
    );
    assert_eq!(report(&a), (6, 3, 2, true));
    let v = json(&route(&a, &req("GET", "/_dev/state", &[], "")));
    assert_eq!(v["restartsRefused"], 0);

    // An ICE restart is not affected, and starts a new generation
    // (`endOfCandidates` as its fragment says).
    let r = route(&a, &req("PATCH", &url, &star, FRAG));
    assert_eq!(r.status, 200, "{}", text(&r));
    let new_etag = header(&r, "ETag").expect("ETag").to_string();
    let (s, _) = session_state(&a, &id);
    assert_eq!(
        (s["iceRestarts"].clone(), s["endOfCandidates"].clone()),
        (1.into(), false.into())
    );
    // Trickle with the new credentials: refused, then taken.
    let fresh = format!(
        "{FRAG}a=candidate:3 1 udp 2122260221 127.0.0.1 40100 typ host\r\na=end-of-candidates\r\n"
    );
    let current = [
        ("Content-Type", SDPFRAG_TYPE),
        ("If-Match", new_etag.as_str()),
    ];
    assert_eq!(route(&a, &req("PATCH", &url, &current, &fresh)).status, 501);
    set_trickle(&a, "accept");
    assert_eq!(route(&a, &req("PATCH", &url, &current, &fresh)).status, 204);
    assert_eq!(report(&a), (7, 4, 2, true));
    // The old ETag is stale now.
    assert_eq!(
        route(&a, &req("PATCH", &url, &with_etag, &fresh)).status,
        412
    );
    assert_eq!(report(&a), (7, 4, 3, true));
    assert_eq!(route(&a, &req("DELETE", &url, &[], "")).status, 200);
}

#[test]
fn pipecat_trickle() {
    let a = app(None);
    let post = |a: &Arc<App>| {
        let body = json!({"sdp": crate::session::tests::client_offer(), "type": "offer"});
        let ct = [("Content-Type", "application/json")];
        let r = route(a, &req("POST", "/api/offer", &ct, &body.to_string()));
        assert_eq!(r.status, 200, "{}", text(&r));
        json(&r)["pc_id"].as_str().expect("pc_id").to_string()
    };
    let patch = |a: &Arc<App>, body: &Value| {
        let ct = [("Content-Type", "application/json")];
        route(a, &req("PATCH", "/api/offer", &ct, &body.to_string()))
    };
    let (first, second) = (post(&a), post(&a));
    let candidates = json!([
        {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host", "sdp_mid": "0", "sdp_mline_index": 0},
        {"candidate": "candidate:2 1 udp 2122260222 127.0.0.1 40001 typ host", "sdp_mid": "0", "sdp_mline_index": 0}
    ]);
    let r = patch(&a, &json!({"pc_id": second, "candidates": candidates}));
    assert_eq!(r.status, 200);
    let counts = |a: &Arc<App>, pc: &str| {
        let s = session_state(a, pc).0;
        (
            s["trickledCandidates"].clone(),
            s["trickleRefused"].clone(),
            s["endOfCandidates"].clone(),
        )
    };
    // The candidates went to the peer connection named, not the other one.
    assert_eq!(counts(&a, &second), (2.into(), 0.into(), false.into()));
    assert_eq!(counts(&a, &first), (0.into(), 0.into(), false.into()));

    set_trickle(&a, "501");
    let r = patch(&a, &json!({"pc_id": second, "candidates": candidates}));
    assert_eq!(
        (r.status, json(&r)),
        (501, json!({"detail": "trickle ICE refused (trickle=501)"}))
    );
    // An unknown pc_id and a bad body are answered first.
    assert_eq!(
        patch(&a, &json!({"pc_id": "nope", "candidates": []})).status,
        404
    );
    assert_eq!(patch(&a, &json!({"candidates": []})).status, 422);
    assert_eq!(counts(&a, &second), (2.into(), 1.into(), false.into()));

    // `unadvertised` means nothing here: taken. An empty candidate ends them.
    set_trickle(&a, "unadvertised");
    let end = json!([{"candidate": "", "sdp_mid": "0", "sdp_mline_index": 0}]);
    assert_eq!(
        patch(&a, &json!({"pc_id": first, "candidates": end})).status,
        200
    );
    assert_eq!(counts(&a, &first), (1.into(), 0.into(), true.into()));
}
