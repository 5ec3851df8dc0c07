//! WHIP routes: `POST /whip`, `DELETE`/`PATCH /whip/sessions/<id>`, the
//! faults that act on them, `Link` ICE servers, the `unauthorized` switch.

use std::sync::mpsc;
use std::thread;

use super::*;
use crate::http::IceServer;
use crate::sdpfrag::{sdp_attr, SDPFRAG_TYPE};
use crate::state::{Command, PatchOutcome, PatchRequest};

#[test]
fn whip_errors() {
    let a = app(Some("s3cret"));
    let sdp = [("Content-Type", "application/sdp")];
    let r = route(&a, &req("POST", "/whip", &sdp, "v=0"));
    assert_eq!(r.status, 401);
    assert_eq!(header(&r, "WWW-Authenticate"), Some("Bearer"));
    let auth = [
        ("Content-Type", "text/plain"),
        ("Authorization", "Bearer s3cret"),
    ];
    assert_eq!(route(&a, &req("POST", "/whip", &auth, "v=0")).status, 415);
    let ok = [
        ("Content-Type", "application/sdp"),
        ("authorization", "Bearer s3cret"),
    ];
    assert_eq!(route(&a, &req("POST", "/whip", &ok, "hello")).status, 400);
    let r = route(&a, &req("POST", "/whip?fault=500", &ok, "hello"));
    assert_eq!((r.status, r.body.as_slice()), (500, &b"injected fault"[..]));
    assert_eq!(a.registry.report().sessions_created, 0);
}

#[test]
fn answer_faults_route() {
    let a = app(None);
    let sdp = [("Content-Type", "application/sdp")];
    // html: a 500 error page, no session.
    let r = route(&a, &req("POST", "/whip?fault=html", &sdp, "v=0"));
    assert_eq!(r.status, 500);
    assert_eq!(header(&r, "Content-Type"), Some("text/html; charset=utf-8"));
    assert!(r.body.len() >= 4096);
    assert!(r.body.starts_with(b"<!DOCTYPE html>"));
    assert_eq!(a.registry.report().sessions_created, 0);
    let r = route(&a, &req("POST", "/whip?fault=bogus", &sdp, "v=0"));
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("nofingerprint"));

    let (r, _) = post_offer(&a, "/whip");
    let normal = String::from_utf8(r.body).expect("text");
    assert!(normal.contains("a=fingerprint:"), "{normal}");

    // empty, notsdp, nofingerprint: a real session, a spoilt 201 body;
    // the Location can be DELETEd.
    for (fault, check) in [
        ("empty", (|b: &str| b.is_empty()) as fn(&str) -> bool),
        ("notsdp", |b| b == "hello, this is not SDP"),
        ("nofingerprint", |b| {
            !b.contains("fingerprint") && b.contains("a=ice-ufrag:") && b.starts_with("v=0")
        }),
        ("garbage", |b| b == "this is not an sdp answer"),
    ] {
        let (r, id) = post_offer(&a, &format!("/whip?fault={fault}"));
        let body = String::from_utf8(r.body.clone()).expect("text");
        assert!(check(&body), "{fault}: {body:?}");
        assert_eq!(header(&r, "Content-Type"), Some("application/sdp"));
        let (s, _) = session_state(&a, &id);
        assert_ne!(s["state"], "ended", "{fault}");
        let location = header(&r, "Location").expect("Location");
        assert_eq!(route(&a, &req("DELETE", location, &[], "")).status, 200);
        let (s, _) = session_state(&a, &id);
        assert_eq!(
            (s["state"].clone(), s["endedBy"].clone()),
            ("ended".into(), "delete".into()),
            "{fault}"
        );
        assert_eq!(s["deleteAuthorization"], serde_json::Value::Null);
    }
    assert_eq!(a.registry.report().sessions_created, 5);
}

#[test]
fn delete_token_route() {
    let a = app(None);
    let (_, id) = post_offer(&a, "/whip");
    let url = format!("/whip/sessions/{id}");
    let v = json(&route(
        &a,
        &req("POST", "/_dev/faults?delete_token=t0k", &[], ""),
    ));
    assert_eq!(v["deleteToken"], "t0k");
    for auth in [
        &[][..],
        &[("Authorization", "Bearer wrong")],
        &[("Authorization", "t0k")],
    ] {
        let r = route(&a, &req("DELETE", &url, auth, ""));
        assert_eq!(
            (r.status, header(&r, "WWW-Authenticate")),
            (401, Some("Bearer")),
            "{auth:?}"
        );
    }
    // Checked before the session is looked up.
    assert_eq!(
        route(&a, &req("DELETE", "/whip/sessions/nope", &[], "")).status,
        401
    );
    let (s, v) = session_state(&a, &id);
    assert_ne!(s["state"], "ended");
    assert_eq!(s["deleteAuthorization"], serde_json::Value::Null);
    assert_eq!(
        (
            v["deletesUnauthorized"].clone(),
            v["deletesAnswered"].clone()
        ),
        (4.into(), 4.into())
    );

    let ok = [("authorization", "bearer t0k")];
    assert_eq!(route(&a, &req("DELETE", &url, &ok, "")).status, 200);
    let (s, v) = session_state(&a, &id);
    assert_eq!(
        (s["state"].clone(), s["endedBy"].clone()),
        ("ended".into(), "delete".into())
    );
    assert_eq!(s["deleteAuthorization"], "bearer t0k");
    assert_eq!(
        (
            v["deletesUnauthorized"].clone(),
            v["deletesAnswered"].clone()
        ),
        (4.into(), 5.into())
    );
    // A later DELETE of the ended session does not overwrite it.
    let other = [("Authorization", "Bearer t0k")];
    assert_eq!(route(&a, &req("DELETE", &url, &other, "")).status, 200);
    assert_eq!(
        session_state(&a, &id).0["deleteAuthorization"],
        "bearer t0k"
    );

    // Off again: any DELETE ends the session; its header is still recorded.
    route(&a, &req("POST", "/_dev/faults?delete_token=", &[], ""));
    assert_eq!(
        route(&a, &req("DELETE", "/whip/sessions/nope", &[], "")).status,
        404
    );
    let (_, id) = post_offer(&a, "/whip");
    let url = format!("/whip/sessions/{id}");
    let r = route(
        &a,
        &req("DELETE", &url, &[("Authorization", "Bearer other")], ""),
    );
    assert_eq!(r.status, 200);
    let (s, v) = session_state(&a, &id);
    assert_eq!(
        (s["state"].clone(), s["deleteAuthorization"].clone()),
        ("ended".into(), "Bearer other".into())
    );
    assert_eq!(v["deletesUnauthorized"], 4);
}

#[test]
fn restart_status_route() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let sdp = [("Content-Type", "application/sdp")];
    let r = route(&a, &req("POST", "/whip", &sdp, &offer));
    assert_eq!(r.status, 201);
    let id = header(&r, "X-Session-ID").expect("id").to_string();
    let etag = header(&r, "ETag").expect("ETag").to_string();
    let url = format!("/whip/sessions/{id}");
    let frag = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "*")];
    let reoffer = offer
        .replace(sdp_attr(&offer, "ice-ufrag").expect("ufrag"), "Re0f")
        .replace(
            sdp_attr(&offer, "ice-pwd").expect("pwd"),
            "reofferreofferreoffer12",
        );

    let mut refused = 0;
    for status in [422, 405, 501, 409, 412, 400, 503] {
        let v = json(&route(
            &a,
            &req(
                "POST",
                &format!("/_dev/faults?restart_status={status}"),
                &[],
                "",
            ),
        ));
        assert_eq!(v["restartStatus"], status);
        let r = route(&a, &req("PATCH", &url, &frag, FRAG));
        assert_eq!(r.status, status);
        assert!(!r.body.is_empty());
        assert_eq!(
            header(&r, "Allow"),
            (status == 405).then_some("POST, DELETE, OPTIONS")
        );
        let r = route(&a, &req("PATCH", &url, &sdp, &reoffer));
        assert_eq!(r.status, status, "full re-offer");
        refused += 2;
        let (s, v) = session_state(&a, &id);
        assert_eq!(
            (s["state"].clone(), s["iceRestarts"].clone()),
            ("connecting".into(), 0.into())
        );
        assert_eq!(v["restartsRefused"], refused);
    }
    // Untouched: same ETag, and trickle (the current credentials) still works.
    assert_eq!(
        format!("\"{}\"", a.registry.get(&id).expect("kept").etag()),
        etag
    );
    let trickle = format!(
        "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n",
        sdp_attr(&offer, "ice-ufrag").expect("ufrag"),
        sdp_attr(&offer, "ice-pwd").expect("pwd"),
    );
    assert_eq!(route(&a, &req("PATCH", &url, &frag, &trickle)).status, 204);
    // Still 404 for an unknown session, 415 before the switch.
    assert_eq!(
        route(&a, &req("PATCH", "/whip/sessions/nope", &frag, FRAG)).status,
        404
    );
    assert_eq!(route(&a, &req("PATCH", &url, &[], FRAG)).status, 415);
    assert_eq!(
        json(&route(&a, &req("GET", "/_dev/state", &[], "")))["restartsRefused"],
        refused
    );

    // Off: the restart goes through.
    route(&a, &req("POST", "/_dev/faults?restart_status=0", &[], ""));
    let r = route(&a, &req("PATCH", &url, &frag, FRAG));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(session_state(&a, &id).0["iceRestarts"], 1);
    assert_eq!(route(&a, &req("DELETE", &url, &[], "")).status, 200);
}

/// PATCH errors that come before the session's thread is asked.
#[test]
fn patch_errors() {
    use crate::state::SessionEntry;
    let a = app(None);
    let (tx, rx) = mpsc::channel();
    let e = Arc::new(SessionEntry::new(tx));
    a.registry.insert(e.clone());
    let url = format!("/whip/sessions/{}", e.id);
    let frag = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "*")];
    let text = [("Content-Type", "text/plain"), ("If-Match", "*")];
    assert_eq!(route(&a, &req("PATCH", &url, &text, FRAG)).status, 415);
    assert_eq!(route(&a, &req("PATCH", &url, &[], FRAG)).status, 415);
    let stale = [("Content-Type", SDPFRAG_TYPE), ("If-Match", "\"stale\"")];
    let r = route(&a, &req("PATCH", &url, &stale, FRAG));
    assert_eq!(r.status, 412);
    assert_eq!(
        header(&r, "ETag"),
        Some(format!("\"{}\"", e.etag()).as_str())
    );
    assert_eq!(route(&a, &req("PATCH", &url, &frag, "garbage")).status, 400);
    assert_eq!(
        route(&a, &req("PATCH", &url, &frag, "a=ice-ufrag:abcd\r\n")).status,
        400
    );
    // Nothing reached the session so far.
    assert!(rx.try_recv().is_err());

    // The session's answer becomes the reply (a thread stands in for it).
    let responder = thread::spawn(move || {
        for _ in 0..2 {
            match rx.recv().expect("a command") {
                Command::Patch { request, reply } => {
                    let outcome = match request {
                        PatchRequest::Fragment(f) if f.ufrag == "same" => PatchOutcome::Trickled,
                        _ => PatchOutcome::Answered {
                            answer_sdp: "v=0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                                a=mid:0\r\na=ice-ufrag:NEWU\r\na=ice-pwd:newpasswordnewpassword\r\n\
                                a=candidate:f 1 udp 2130706175 127.0.0.1 4444 typ host\r\n"
                                .into(),
                            etag: "fresh".into(),
                        },
                    };
                    reply.send(Ok(outcome)).expect("reply");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    let etag = format!("\"{}\"", e.etag());
    let current = [("Content-Type", SDPFRAG_TYPE), ("If-Match", etag.as_str())];
    let r = route(&a, &req("PATCH", &url, &current, FRAG));
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "Content-Type"), Some(SDPFRAG_TYPE));
    assert_eq!(header(&r, "ETag"), Some("\"fresh\""));
    let body = String::from_utf8(r.body).expect("text");
    assert!(
        body.starts_with("a=ice-lite\r\na=ice-ufrag:NEWU\r\n"),
        "{body}"
    );
    assert!(body.contains("a=candidate:f 1 udp"), "{body}");
    let trickle = "a=ice-ufrag:same\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n";
    assert_eq!(route(&a, &req("PATCH", &url, &frag, trickle)).status, 204);
    responder.join().expect("responder");

    // Ended: 404 for PATCH and drop.
    e.mark_ended(crate::state::EndedBy::Expired);
    assert_eq!(route(&a, &req("PATCH", &url, &frag, FRAG)).status, 404);
    let drop_url = format!("/_dev/sessions/{}/drop", e.id);
    assert_eq!(route(&a, &req("POST", &drop_url, &[], "")).status, 404);
}

#[test]
fn link_headers() {
    let servers = vec![
        IceServer {
            url: "stun:127.0.0.1:3478".into(),
            username: Some("u".into()),
            credential: Some("c".into()),
        },
        IceServer {
            url: "turn:127.0.0.1:3478".into(),
            username: Some("u".into()),
            credential: Some("c".into()),
        },
    ];
    let (a, _) = app_with(None, servers);
    let (r, id) = post_offer(&a, "/whip");
    assert_eq!(
        headers(&r, "Link"),
        [
            r#"<stun:127.0.0.1:3478>; rel="ice-server""#,
            r#"<turn:127.0.0.1:3478>; rel="ice-server"; username="u"; credential="c"; credential-type="password""#,
        ]
    );
    // Also on the 201 of a spoilt answer; never on the other answers.
    let (r, _) = post_offer(&a, "/whip?fault=empty");
    assert_eq!(headers(&r, "Link").len(), 2);
    let url = format!("/whip/sessions/{id}");
    let r = route(
        &a,
        &req("PATCH", &url, &[("Content-Type", SDPFRAG_TYPE)], FRAG),
    );
    assert_eq!(r.status, 200);
    assert!(headers(&r, "Link").is_empty());
    assert_eq!(route(&a, &req("DELETE", &url, &[], "")).status, 200);
    // None configured: no Link.
    let (r, _) = post_offer(&app(None), "/whip");
    assert!(headers(&r, "Link").is_empty());
}

#[test]
fn unauthorized_and_token() {
    let a = app(Some("s3cret"));
    let offer = crate::session::tests::client_offer();
    let ok = [
        ("Content-Type", "application/sdp"),
        ("Authorization", "Bearer s3cret"),
    ];
    route(&a, &req("POST", "/_dev/faults?unauthorized=1", &[], ""));
    let r = route(&a, &req("POST", "/whip", &ok, &offer));
    assert_eq!(
        (r.status, header(&r, "WWW-Authenticate")),
        (401, Some("Bearer"))
    );
    // fail_post and refuse_new come first.
    route(&a, &req("POST", "/_dev/faults?refuse_new=1", &[], ""));
    assert_eq!(route(&a, &req("POST", "/whip", &ok, &offer)).status, 503);
    route(
        &a,
        &req("POST", "/_dev/faults?refuse_new=0&unauthorized=0", &[], ""),
    );
    assert_eq!(a.registry.report().sessions_created, 0);
    let wrong = [
        ("Content-Type", "application/sdp"),
        ("Authorization", "Bearer nope"),
    ];
    assert_eq!(route(&a, &req("POST", "/whip", &wrong, &offer)).status, 401);
    let r = route(&a, &req("POST", "/whip", &ok, &offer));
    assert_eq!(r.status, 201);
    let (s, _) = session_state(&a, header(&r, "X-Session-ID").expect("id"));
    assert_eq!(s["protocol"], "whip");
    assert_eq!(s["pipecatSession"], serde_json::Value::Null);
}

/// `/whip/sessions/<id>` addresses WHIP sessions only.
#[test]
fn other_protocols_are_no_whip_resources() {
    let a = app(None);
    let offer = crate::session::tests::client_offer();
    let r = route(
        &a,
        &req(
            "POST",
            "/v1/realtime/calls",
            &[
                ("Content-Type", "application/sdp"),
                ("Authorization", "Bearer k"),
            ],
            &offer,
        ),
    );
    assert_eq!(r.status, 201);
    let call = header(&r, "Location")
        .and_then(|l| l.rsplit('/').next())
        .expect("a call id")
        .to_string();
    let url = format!("/whip/sessions/{call}");
    assert_eq!(route(&a, &req("DELETE", &url, &[], "")).status, 404);
    let frag = [("Content-Type", SDPFRAG_TYPE)];
    assert_eq!(route(&a, &req("PATCH", &url, &frag, FRAG)).status, 404);
    assert_ne!(session_state(&a, &call).0["state"], "ended");
    // The /_dev switches take every session.
    let end = format!("/_dev/sessions/{call}/end");
    assert_eq!(route(&a, &req("POST", &end, &[], "")).status, 200);
    assert_eq!(session_state(&a, &call).0["endedBy"], "server");
}
