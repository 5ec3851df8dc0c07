//! What servers and apps get wrong (issue 11): ICE restarts a server refuses, answers it cannot
//! use, error pages, malformed or hostile options, a message too large for the peer. The real
//! wasm in a headless browser against the dev peer; every path ends with the browser-side probe
//! seeing no live capture track and no open peer connection.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
/** Options objects that throw while they are read: getters, Proxy traps, revoked Proxies. */
export function hostile_options(url) {
  const boom = () => { throw new Error("boom from the app"); };
  const revoked = () => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; };
  const trap = (target, name) => new Proxy(target, { [name]: boom });
  return [
    Object.defineProperty({}, "url", { get: boom, enumerable: true }),
    { url, get fadeOutMs() { throw new TypeError("getter threw"); } },
    trap({ url }, "get"),
    trap({ url }, "ownKeys"),
    trap({ url }, "getOwnPropertyDescriptor"),
    revoked(),
    { url, audio: trap({}, "get") },
    { url, audio: trap({}, "ownKeys") },
    { url, audio: revoked() },
    { url, iceServers: trap([{ urls: "stun:h" }], "get") },
    { url, iceServers: [trap({ urls: "stun:h" }, "get")] },
    { url, iceServers: [{ urls: trap(["stun:h"], "get") }] },
    { url, iceServers: revoked() },
    { url, qualityRttMs: trap([50, 100], "get") },
    { url, control: trap({ url: "ws://h/c" }, "ownKeys") },
    { url, token: undefined, get visibility() { throw "a string, not an Error"; } },
  ];
}
export function big_text(n) { return "s".repeat(n); }
/** A listener that keeps what it is called with: `{ listener, seen }`. */
export function recorder() {
  const seen = [];
  return { listener: (e) => seen.push(e), seen };
}
"#)]
extern "C" {
    fn hostile_options(url: &str) -> js_sys::Array;
    fn big_text(n: u32) -> String;
    fn recorder() -> JsValue;
}

async fn post(path: &str) -> f64 {
    JsFuture::from(peer_post(&format!("{PEER}{path}"))).await.map(|s| s.as_f64().unwrap_or(0.0)).unwrap_or(0.0)
}

async fn report() -> JsValue {
    JsFuture::from(peer_report(PEER)).await.expect("dev peer /_dev/state")
}

/// Waits until the dev peer reports session `id` ended by a `DELETE`; returns its record.
async fn deleted(id: &str) -> JsValue {
    for _ in 0..60 {
        let s = peer_session(id).await;
        if get_str(&s, "state").as_deref() == Some("ended") {
            assert_eq!(get_str(&s, "endedBy").as_deref(), Some("delete"), "session {id} ended by a DELETE");
            return s;
        }
        wait_ms(50).await;
    }
    panic!("session {id} was never DELETEd: {:?}", js_sys::JSON::stringify(&peer_session(id).await));
}

/// The id of the session the dev peer created last.
async fn newest_session() -> String {
    let sessions: js_sys::Array = get(&report().await, "sessions").into();
    get_str(&sessions.get(sessions.length().saturating_sub(1)), "id").expect("a session")
}

fn code_of(err: &JsValue) -> Option<String> {
    get_str(err, "code")
}

/// RFC 9725 §4.3.1: a server without ICE restart answers the PATCH 422 (405/501 without PATCH
/// at all). The reconnect button and the automatic policy then DELETE the old session and make
/// a fresh one, in the same call, with one peer connection and one capture track.
#[wasm_bindgen_test]
async fn a_refused_ice_restart_falls_back_to_a_fresh_session() {
    install_spies();
    for (status, policy) in [(422, "manual"), (405, "manual"), (501, "manual"), (422, "auto"), (409, "auto")] {
        assert_eq!(post(&format!("/_dev/faults?restart_status={status}&delete_token=T")).await, 200.0);
        let refused_before = get(&report().await, "restartsRefused").as_f64().unwrap_or(0.0);
        let l = link(
            &[
                ("token", "T".into()),
                ("reconnect", policy.into()),
                ("reconnectBaseMs", 100.into()),
                ("reconnectSpreadMs", 0.into()),
            ],
            "",
        );
        JsFuture::from(l.connect()).await.expect("connects");
        let old = snap(&l, "sessionId").expect("session id");
        assert_eq!(post(&format!("/_dev/sessions/{old}/drop")).await, 200.0);
        if policy == "manual" {
            assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await, "{status}: outage seen");
            JsFuture::from(l.reconnect()).await.unwrap_or_else(|e| panic!("{status}: reconnect() rejects: {e:?}"));
        } else {
            assert!(
                eventually(15_000, || snap(&l, "status").as_deref() == Some("connected") && snap(&l, "sessionId") != Some(old.clone()))
                    .await,
                "{status}/auto: back on a fresh session (status {:?})",
                snap(&l, "status")
            );
        }
        let s = l.get_snapshot();
        assert_eq!(get_str(&s, "status").as_deref(), Some("connected"), "{status}/{policy}");
        assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(true), "{status}/{policy}: a fresh session");
        assert_ne!(get_str(&s, "sessionId"), Some(old.clone()), "{status}/{policy}");
        let refused = get(&report().await, "restartsRefused").as_f64().unwrap_or(0.0);
        assert!(refused > refused_before, "{status}/{policy}: the PATCH was tried first");
        assert!(eventually(2_000, || open_peer_connections() == 1).await, "{status}/{policy}: one peer connection: {}", probe_summary());
        assert_eq!(live_capture_tracks(), 1, "{status}/{policy}: one live capture track: {}", probe_summary());
        // The old session is DELETEd with the token it was made with.
        let gone = deleted(&old).await;
        assert_eq!(get_str(&gone, "deleteAuthorization").as_deref(), Some("Bearer T"), "{status}/{policy}");
        JsFuture::from(l.disconnect()).await.unwrap();
        l.dispose();
        assert_nothing_left(&format!("{status}/{policy}"), 2_000).await;
    }
    assert_eq!(post("/_dev/faults?restart_status=0&delete_token=").await, 200.0);
}

/// A `201` whose body cannot be used (empty, not SDP, no DTLS fingerprint): `signaling-answer`,
/// and the session the server made at `Location` is DELETEd (with the token), not left behind.
#[wasm_bindgen_test]
async fn an_unusable_answer_is_refused_and_its_session_deleted() {
    install_spies();
    assert_eq!(post("/_dev/faults?delete_token=T").await, 200.0);
    for fault in ["empty", "notsdp", "nofingerprint"] {
        let before = get(&report().await, "sessionsCreated").as_f64().unwrap_or(0.0);
        let l = link(&[("token", "T".into())], &format!("?fault={fault}"));
        let err = JsFuture::from(l.connect()).await.expect_err("connect rejects");
        assert_eq!(code_of(&err).as_deref(), Some("signaling-answer"), "{fault}: {:?}", get_str(&err, "message"));
        assert_nothing_left(fault, 2_000).await;
        assert_eq!(get(&report().await, "sessionsCreated").as_f64(), Some(before + 1.0), "{fault}: the server made one");
        let id = newest_session().await;
        let gone = deleted(&id).await;
        assert_eq!(get_str(&gone, "deleteAuthorization").as_deref(), Some("Bearer T"), "{fault}");
        l.dispose();
    }
    assert_eq!(post("/_dev/faults?delete_token=").await, 200.0);
}

/// A server's error page becomes a short plain-text message: no markup, bounded.
#[wasm_bindgen_test]
async fn an_html_error_page_becomes_a_short_plain_message() {
    install_spies();
    let l = link(&[], "?fault=html");
    let err = JsFuture::from(l.connect()).await.expect_err("connect rejects");
    assert_eq!(code_of(&err).as_deref(), Some("signaling-http"));
    assert_eq!(get(&err, "status").as_f64(), Some(500.0));
    let message = get_str(&err, "message").unwrap_or_default();
    assert!(message.contains("Internal Server Error"), "{message}");
    assert!(!message.contains('<') && !message.contains('>'), "markup in {message}");
    assert!(message.chars().count() <= 300, "{} chars: {message}", message.chars().count());
    assert_nothing_left("html", 2_000).await;
    l.dispose();
}

/// An ICE server URL the browser would refuse fails at construction, not at `connect()`.
#[wasm_bindgen_test]
fn malformed_ice_server_urls_are_invalid_options() {
    for url in ["stun:", "stun::3478", "stun:h:99999", "turn:h?transport=quic", "stun://h", "stun:h o"] {
        let ice = js_sys::Array::of1(&obj(&[("urls", url.into()), ("username", "u".into()), ("credential", "c".into())]));
        let err = VoiceLink::new(obj(&[("url", format!("{PEER}/whip").into()), ("iceServers", ice.into())]))
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
        assert_eq!(code_of(&err).as_deref(), Some("invalid-option"), "{url}");
        assert!(get_str(&err, "message").unwrap_or_default().contains("iceServers[0].urls"), "{url}");
    }
}

/// Options that throw while read (getters, Proxy traps, revoked Proxies, at any depth) give
/// `invalid-option` naming where, never a raw exception and never a silent default.
#[wasm_bindgen_test]
fn options_that_throw_while_read_are_invalid_options() {
    let url = format!("{PEER}/whip");
    for (i, options) in hostile_options(&url).iter().enumerate() {
        let err = VoiceLink::new(options).err().unwrap_or_else(|| panic!("hostile options #{i} accepted"));
        assert_eq!(code_of(&err).as_deref(), Some("invalid-option"), "#{i}: {err:?}");
        let message = get_str(&err, "message").unwrap_or_default();
        assert!(message.starts_with("options"), "#{i}: the message names the place: {message}");
    }
}

/// A message over the peer's `sctp.maxMessageSize` is refused at `send()` and queues nothing; a
/// message the browser refuses is reported on `on("error")`; neither stops the ones after it.
#[wasm_bindgen_test]
async fn an_oversized_or_refused_message_never_stalls_the_rest() {
    install_spies();
    let l = link(&[], "");
    let rec = recorder();
    let _off = l.on("error", get(&rec, "listener").into()).expect("on(error)");
    let errors: js_sys::Array = get(&rec, "seen").into();
    JsFuture::from(l.connect()).await.expect("connects");
    let id = snap(&l, "sessionId").expect("session id");
    let err = l.send(JsValue::from_str(&big_text(300 * 1024))).expect_err("a 300 KiB message is refused");
    assert_eq!(code_of(&err).as_deref(), Some("invalid-argument"));
    assert!(get_str(&err, "message").unwrap_or_default().contains("maxMessageSize"));
    assert_eq!(get(&l.get_snapshot(), "queuedMessages").as_f64(), Some(0.0), "nothing queued");

    let restore = break_method("RTCDataChannel", "send");
    l.send(JsValue::from_str("refused")).expect("send() takes it");
    restore.call0(&JsValue::NULL).unwrap();
    assert_eq!(errors.length(), 1, "the refusal is reported");
    assert_eq!(get_str(&errors.get(0), "code").as_deref(), Some("send-failed"));
    assert_eq!(get(&l.get_snapshot(), "queuedMessages").as_f64(), Some(0.0), "the refused one is not kept");

    l.send(JsValue::from_str("after")).expect("sends");
    let mut seen = false;
    for _ in 0..40 {
        let messages: Vec<String> =
            js_sys::Array::from(&get(&peer_session(&id).await, "messages")).iter().filter_map(|m| m.as_string()).collect();
        if messages.contains(&"after".to_string()) {
            assert!(!messages.contains(&"refused".to_string()));
            seen = true;
            break;
        }
        wait_ms(50).await;
    }
    assert!(seen, "later messages still reach the peer");
    assert_eq!(snap(&l, "status").as_deref(), Some("connected"));
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
    assert_nothing_left("send", 2_000).await;
}
