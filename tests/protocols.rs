//! The `signaling` option (issue 14): the protocols real voice backends speak — WHIP, OpenAI
//! Realtime, Pipecat SmallWebRTC — and the app's own object, each with its own idea of
//! "reconnect" and "hang up". The real wasm in a headless browser against the dev peer, which
//! speaks all of them; every path ends with the browser-side probe seeing nothing left.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
/** A custom signaling object on the dev peer's WHIP endpoint, written the way an app would
 * for its own backend: offer → POST application/sdp, the session is the Location URL;
 * restart (optional) → PATCH application/sdp (a full re-offer) on that URL; hangup → DELETE.
 * `calls` records what the link called with. */
export function whip_as_custom(base, withRestart) {
  const calls = [];
  const signaling = {
    async offer({ url, sdp, session, token, signal }) {
      calls.push({ fn: "offer", url, session, token, aborted: signal.aborted });
      const r = await fetch(url, { method: "POST", body: sdp, headers: { "Content-Type": "application/sdp" }, signal });
      if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
      return { sdp: await r.text(), session: new URL(r.headers.get("Location"), url).href };
    },
    async hangup({ session }) {
      calls.push({ fn: "hangup", session });
      await fetch(session, { method: "DELETE" });
    },
  };
  if (withRestart) {
    signaling.restart = async ({ sdp, session, signal }) => {
      calls.push({ fn: "restart", session });
      const r = await fetch(session, { method: "PATCH", body: sdp, headers: { "Content-Type": "application/sdp", "If-Match": "*" }, signal });
      if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
      return { sdp: await r.text() };
    };
  }
  return { signaling, calls };
}
/** Custom signaling objects that misbehave, by name. */
export function bad_signaling(kind) {
  switch (kind) {
    case "no-sdp": return { offer: async () => ({ session: "x" }) };
    case "not-sdp": return { offer: async () => ({ sdp: "hello" }) };
    case "rejects": return { offer: async () => { throw new Error("backend said no"); } };
    case "throws": return { offer() { throw new TypeError("sync throw"); } };
    case "401": return { offer: async () => { throw Object.assign(new Error("expired"), { status: 401 }); } };
    case "500": return { offer: async () => { throw Object.assign(new Error("boom"), { status: 500 }); } };
    case "resolves-nothing": return { offer: async () => undefined };
  }
}
"#)]
extern "C" {
    fn whip_as_custom(base: &str, with_restart: bool) -> JsValue;
    fn bad_signaling(kind: &str) -> JsValue;
}

async fn post(path: &str) -> f64 {
    JsFuture::from(peer_post(&format!("{PEER}{path}"))).await.map(|s| s.as_f64().unwrap_or(0.0)).unwrap_or(0.0)
}

fn calls_of(rec: &JsValue) -> Vec<String> {
    js_sys::Array::from(&get(rec, "calls")).iter().filter_map(|c| get_str(&c, "fn")).collect()
}

fn options(url: String, extra: &[(&str, JsValue)]) -> JsValue {
    let mut pairs = vec![("url", JsValue::from_str(&url))];
    pairs.extend(extra.iter().cloned());
    obj(&pairs)
}

/// An app's own signaling object: connect, message round trip, the reconnect button (with
/// `restart`: an ICE restart of the same session; without: a fresh `offer` that is told the old
/// session), and `hangup` on disconnect — the mic released on every path.
#[wasm_bindgen_test]
async fn a_custom_signaling_object_connects_reconnects_and_hangs_up() {
    install_spies();
    for with_restart in [true, false] {
        let rec = whip_as_custom(PEER, with_restart);
        let l = VoiceLink::new(options(
            format!("{PEER}/whip"),
            &[("signaling", get(&rec, "signaling")), ("token", "T".into()), ("reconnect", "manual".into())],
        ))
        .expect("a custom signaling object is a valid option");
        JsFuture::from(l.connect()).await.expect("connects");
        let first = snap(&l, "sessionId").expect("sessionId: the offer's session");
        assert!(first.contains("/whip/sessions/"), "{first}");
        let offer = js_sys::Array::from(&get(&rec, "calls")).get(0);
        assert_eq!(get_str(&offer, "token").as_deref(), Some("T"), "the resolved token is passed");
        assert!(get(&offer, "session").is_null(), "no session before the first answer");
        let id = first.rsplit('/').next().unwrap().to_string();
        assert_eq!(post(&format!("/_dev/sessions/{id}/drop")).await, 200.0);
        assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await, "outage seen");
        JsFuture::from(l.reconnect()).await.expect("reconnect resolves");
        let s = l.get_snapshot();
        assert_eq!(get_str(&s, "status").as_deref(), Some("connected"));
        if with_restart {
            assert_eq!(calls_of(&rec), ["offer", "restart"]);
            assert_eq!(get_str(&s, "sessionId").as_deref(), Some(first.as_str()), "restart: the same session");
            assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(false));
        } else {
            assert_eq!(calls_of(&rec)[..2], ["offer".to_string(), "hangup".to_string()], "the old session is hung up");
            assert_eq!(calls_of(&rec)[2], "offer");
            let fresh = js_sys::Array::from(&get(&rec, "calls")).get(2);
            assert_eq!(get_str(&fresh, "session").as_deref(), Some(first.as_str()), "the fresh offer is told the old session");
            assert_ne!(get_str(&s, "sessionId").as_deref(), Some(first.as_str()), "a fresh session");
            assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(true));
        }
        assert_eq!(live_capture_tracks(), 1);
        JsFuture::from(l.disconnect()).await.unwrap();
        assert_eq!(calls_of(&rec).last().map(String::as_str), Some("hangup"), "hang-up on disconnect");
        l.dispose();
        assert_nothing_left("custom", 2_000).await;
    }
}

/// What a custom object gets wrong gives a clear error code and loses nothing.
#[wasm_bindgen_test]
async fn a_misbehaving_custom_signaling_object_gives_clear_errors() {
    install_spies();
    for (kind, code) in [
        ("no-sdp", "signaling-answer"),
        ("not-sdp", "signaling-answer"),
        ("resolves-nothing", "signaling-answer"),
        ("rejects", "signaling-network"),
        ("throws", "signaling-network"),
        ("401", "unauthorized"),
        ("500", "signaling-http"),
    ] {
        let l = VoiceLink::new(options(format!("{PEER}/whip"), &[("signaling", bad_signaling(kind))])).expect("valid");
        let err = JsFuture::from(l.connect()).await.expect_err("connect rejects");
        assert_eq!(get_str(&err, "code").as_deref(), Some(code), "{kind}: {:?}", get_str(&err, "message"));
        let message = get_str(&err, "message").unwrap_or_default();
        if kind == "rejects" {
            assert!(message.contains("backend said no"), "{kind}: the app's message is kept: {message}");
        }
        assert_nothing_left(kind, 2_000).await;
        l.dispose();
    }
}

/// The `signaling` option itself is checked at construction.
#[wasm_bindgen_test]
fn bad_signaling_options_are_invalid_options() {
    let url = format!("{PEER}/whip");
    let not_fn = obj(&[("offer", 1.into())]);
    let bad_restart = obj(&[("offer", get(&whip_as_custom(PEER, false), "signaling.offer")), ("restart", "x".into())]);
    for (value, needle) in [
        (JsValue::from_str("sip"), "signaling"),
        (JsValue::from(42), "signaling"),
        (not_fn, "signaling.offer"),
        (obj(&[]), "signaling.offer"),
        (bad_restart, "signaling.restart"),
    ] {
        let err = VoiceLink::new(options(url.clone(), &[("signaling", value)])).err().expect("refused");
        assert_eq!(get_str(&err, "code").as_deref(), Some("invalid-option"));
        assert!(get_str(&err, "message").unwrap_or_default().contains(needle), "{:?}", get_str(&err, "message"));
    }
    let err = VoiceLink::new(options(url, &[("requestData", obj(&[("bot", "x".into())]))])).err().expect("refused");
    assert!(get_str(&err, "message").unwrap_or_default().contains("requestData"));
}

/// RFC 9725 §4.6: the ICE servers a WHIP server advertises in `Link` headers (several joined
/// with ", " by the browser), with their credentials; other links are skipped.
#[wasm_bindgen_test]
fn whip_link_headers_become_ice_servers() {
    use voicelink::platform::signaling::whip::ice_servers_from_links;
    let header = r#"<stun:stun.example.net>; rel="ice-server", <https://example.net/doc>; rel="help", <turn:turn.example.net?transport=udp>; rel="ice-server"; username="u, 1"; credential="p;w"; credential-type="password""#;
    let servers = ice_servers_from_links(header);
    assert_eq!(servers.len(), 2, "two ice-server links");
    assert_eq!(get_str(&servers[0], "urls").as_deref(), Some("stun:stun.example.net"));
    assert!(get(&servers[0], "username").is_undefined());
    assert_eq!(get_str(&servers[1], "urls").as_deref(), Some("turn:turn.example.net?transport=udp"));
    assert_eq!(get_str(&servers[1], "username").as_deref(), Some("u, 1"), "a comma inside quotes stays");
    assert_eq!(get_str(&servers[1], "credential").as_deref(), Some("p;w"), "a semicolon inside quotes stays");
    assert!(ice_servers_from_links("").is_empty());
    assert!(ice_servers_from_links("garbage").is_empty());
}

/// `true` once the dev peer's echo of the fake microphone reaches the library's destination (the
/// probe's tap on the newest context).
async fn echo_heard() -> bool {
    eventually(8_000, || get(&probe_destination(-1), "maxPeak").as_f64().unwrap_or(0.0) > 0.01).await
}

/// The dev peer's record of the newest session of `protocol`.
async fn newest_of(protocol: &str) -> JsValue {
    let report = JsFuture::from(peer_report(PEER)).await.expect("dev peer /_dev/state");
    let sessions: js_sys::Array = get(&report, "sessions").into();
    sessions.iter().filter(|s| get_str(s, "protocol").as_deref() == Some(protocol)).last().unwrap_or(JsValue::UNDEFINED)
}

fn recorder() -> (JsValue, js_sys::Array) {
    let seen = js_sys::Array::new();
    let sink = seen.clone();
    let f = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| {
        sink.push(&m);
    });
    (f.into_js_value(), seen)
}

/// OpenAI Realtime over WebRTC, against the dev peer's `/v1/realtime/calls`: the ephemeral key
/// as bearer token, the `oai-events` channel (server events parsed on `on("message")`), the call
/// id as `sessionId`; reconnect is a new call; hang-up is closing (no `DELETE`); a missing key
/// is `unauthorized` with OpenAI's own error message.
#[wasm_bindgen_test]
async fn openai_realtime_calls() {
    install_spies();
    let l = VoiceLink::new(options(
        format!("{PEER}/v1/realtime/calls"),
        &[("signaling", "openai".into()), ("token", "ek_test".into())],
    ))
    .expect("valid");
    let (listener, events) = recorder();
    let _off = l.on("message", listener.unchecked_into()).unwrap();
    JsFuture::from(l.connect()).await.expect("connects");
    let call = snap(&l, "sessionId").expect("the call id");
    assert!(call.starts_with("rtc_"), "{call}");
    assert!(echo_heard().await, "the echo reaches the speakers");
    let on_peer = peer_session(&call).await;
    assert_eq!(get_str(&on_peer, "protocol").as_deref(), Some("openai"));
    assert_eq!(get_str(&on_peer, "channelLabel").as_deref(), Some("oai-events"), "OpenAI's channel label by default");
    assert!(
        eventually(3_000, || events.iter().any(|e| get_str(&e, "type").as_deref() == Some("session.created"))).await,
        "session.created arrives parsed"
    );
    l.send(obj(&[("type", "response.create".into())])).unwrap();
    assert!(
        eventually(3_000, || events.iter().any(|e| get_str(&e, "event.type").as_deref() == Some("response.create"))).await,
        "client events reach the server"
    );
    assert_eq!(post(&format!("/_dev/sessions/{call}/drop")).await, 200.0);
    assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await, "outage seen");
    JsFuture::from(l.reconnect()).await.expect("reconnect: a new call");
    let s = l.get_snapshot();
    assert_eq!(get_str(&s, "status").as_deref(), Some("connected"));
    assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(true));
    let second = get_str(&s, "sessionId").unwrap();
    assert!(second.starts_with("rtc_") && second != call, "{second}");
    assert_eq!(live_capture_tracks(), 1);
    JsFuture::from(l.disconnect()).await.unwrap();
    let mut ended_by = None;
    for _ in 0..60 {
        ended_by = get_str(&peer_session(&second).await, "endedBy");
        if ended_by.is_some() {
            break;
        }
        wait_ms(50).await;
    }
    assert_ne!(ended_by.as_deref(), Some("delete"), "no DELETE in OpenAI's protocol (ended by {ended_by:?})");
    assert!(ended_by.is_some(), "the call ended when the peer connection closed");
    l.dispose();
    assert_nothing_left("openai", 2_000).await;

    // No key: OpenAI's 401 and its error message.
    let l = VoiceLink::new(options(format!("{PEER}/v1/realtime/calls"), &[("signaling", "openai".into())])).unwrap();
    let err = JsFuture::from(l.connect()).await.expect_err("rejects");
    assert_eq!(get_str(&err, "code").as_deref(), Some("unauthorized"));
    assert_eq!(get(&err, "status").as_f64(), Some(401.0));
    assert!(!get_str(&err, "message").unwrap_or_default().contains('{'), "the error's message, not its JSON");
    assert_nothing_left("openai 401", 2_000).await;
    l.dispose();
}

/// Pipecat SmallWebRTC against the dev peer's `/api/offer`: `request_data` sent, the `pc_id` as
/// `sessionId`; reconnect keeps the server session (a new peer connection with `restart_pc`,
/// offered before the old one is closed: no second server session), a new `pc_id`.
#[wasm_bindgen_test]
async fn pipecat_small_webrtc() {
    install_spies();
    let before = get(&JsFuture::from(peer_report(PEER)).await.unwrap(), "pipecatSessionsStarted").as_f64().unwrap_or(0.0);
    let l = VoiceLink::new(options(
        format!("{PEER}/api/offer"),
        &[("signaling", "pipecat".into()), ("requestData", obj(&[("bot", "echo".into())]))],
    ))
    .expect("valid");
    JsFuture::from(l.connect()).await.expect("connects");
    let pc_id = snap(&l, "sessionId").expect("pc_id");
    assert!(echo_heard().await, "the echo reaches the speakers");
    let on_peer = newest_of("pipecat").await;
    assert_eq!(get_str(&on_peer, "id").as_deref(), Some(pc_id.as_str()));
    assert_eq!(get_str(&on_peer, "requestData.bot").as_deref(), Some("echo"), "request_data reaches the server");
    let server_session = get_str(&on_peer, "pipecatSession").expect("server session");
    assert_eq!(post(&format!("/_dev/sessions/{pc_id}/drop")).await, 200.0);
    assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await, "outage seen");
    let pcs = peer_connection_count();
    JsFuture::from(l.reconnect()).await.expect("reconnect");
    let s = l.get_snapshot();
    assert_eq!(get_str(&s, "status").as_deref(), Some("connected"));
    assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(false), "the same server session");
    let new_pc = get_str(&s, "sessionId").unwrap();
    assert_ne!(new_pc, pc_id, "under a new pc_id");
    assert_eq!(get_str(&peer_session(&new_pc).await, "pipecatSession"), Some(server_session), "the same server session");
    let report = JsFuture::from(peer_report(PEER)).await.unwrap();
    assert_eq!(get(&report, "pipecatSessionsStarted").as_f64(), Some(before + 1.0), "no second server session");
    assert_eq!(peer_connection_count(), pcs + 1, "one new peer connection");
    assert!(eventually(2_000, || open_peer_connections() == 1).await, "the old one closed: {}", probe_summary());
    assert_eq!(live_capture_tracks(), 1, "the same microphone");
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
    assert_nothing_left("pipecat", 2_000).await;
}

/// A server that answers 401/403 gives `unauthorized` (WHIP, through the dev peer's switch).
#[wasm_bindgen_test]
async fn a_401_is_unauthorized() {
    install_spies();
    assert_eq!(post("/_dev/faults?unauthorized=1").await, 200.0);
    let l = link(&[("token", "expired".into())], "");
    let err = JsFuture::from(l.connect()).await.expect_err("rejects");
    assert_eq!(post("/_dev/faults?unauthorized=0").await, 200.0);
    assert_eq!(get_str(&err, "code").as_deref(), Some("unauthorized"));
    assert_eq!(get(&err, "status").as_f64(), Some(401.0));
    assert_nothing_left("401", 2_000).await;
    l.dispose();
}
