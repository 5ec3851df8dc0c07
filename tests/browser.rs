//! Browser tests: the real wasm in headless Chromium (fake microphone) against the real dev
//! peer (`tests/dev-peer`) on loopback. Run by `npm test` (scripts/test.sh), which starts the
//! peer at VOICELINK_PEER_URL inside a loopback-only network namespace.
//!
//! The checks do not trust the library's own account: JS spies record every microphone track
//! `getUserMedia` returned and every `RTCPeerConnection` constructed, and the dev peer's
//! `/_dev/state` report says what the server saw.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Promise, Reflect};
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const PEER: &str = match option_env!("VOICELINK_PEER_URL") {
    Some(u) => u,
    None => "http://127.0.0.1:7878",
};

#[wasm_bindgen(inline_js = r#"
function spies() {
  if (globalThis.__vl) return globalThis.__vl;
  const vl = { streams: [], pcs: [], gumCalls: 0 };
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => { vl.gumCalls++; const s = await gum(c); vl.streams.push(s); return s; };
  const Orig = globalThis.RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends Orig {
    constructor(...a) { super(...a); vl.pcs.push(this); }
  };
  globalThis.__vl = vl;
  return vl;
}
export function install_spies() { spies(); }
export function gum_calls() { return spies().gumCalls; }
export function live_mic_tracks() {
  return spies().streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === "live").length;
}
export function open_peer_connections() {
  return spies().pcs.filter((pc) => pc.connectionState !== "closed").length;
}
export function peer_connection_count() { return spies().pcs.length; }
export function last_pc_state() { const p = spies().pcs.at(-1); return p ? p.connectionState : "none"; }
export async function remote_audio_peak(ms) {
  const pc = spies().pcs.at(-1);
  const track = pc && pc.getReceivers().map((r) => r.track).find((t) => t && t.kind === "audio");
  if (!track) return -1;
  const ctx = new AudioContext();
  try {
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    const an = ctx.createAnalyser();
    an.fftSize = 2048;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    let peak = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      an.getFloatTimeDomainData(buf);
      for (const v of buf) peak = Math.max(peak, Math.abs(v));
      await new Promise((r) => setTimeout(r, 20));
    }
    src.disconnect();
    return peak;
  } finally {
    await ctx.close();
  }
}
export async function peer_report(base) {
  const r = await fetch(base + "/_dev/state");
  return await r.json();
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function rejecting_provider() { return () => Promise.reject(new Error("no token for you")); }
"#)]
extern "C" {
    fn install_spies();
    fn gum_calls() -> u32;
    fn live_mic_tracks() -> u32;
    fn open_peer_connections() -> u32;
    fn peer_connection_count() -> u32;
    fn last_pc_state() -> String;
    fn remote_audio_peak(ms: u32) -> Promise;
    fn peer_report(base: &str) -> Promise;
    fn sleep(ms: u32) -> Promise;
    fn rejecting_provider() -> Function;
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |acc, k| Reflect::get(&acc, &k.into()).unwrap_or(JsValue::UNDEFINED))
}

fn get_str(v: &JsValue, path: &str) -> Option<String> {
    get(v, path).as_string()
}

async fn wait_ms(ms: u32) {
    JsFuture::from(sleep(ms)).await.unwrap();
}

/// The dev peer's record of session `id`.
async fn peer_session(id: &str) -> JsValue {
    let report = JsFuture::from(peer_report(PEER)).await.expect("dev peer /_dev/state");
    let sessions: js_sys::Array = get(&report, "sessions").into();
    sessions.iter().find(|s| get_str(s, "id").as_deref() == Some(id)).unwrap_or(JsValue::UNDEFINED)
}

fn link(extra: &[(&str, JsValue)], query: &str) -> VoiceLink {
    let mut pairs = vec![("url", JsValue::from_str(&format!("{PEER}/whip{query}")))];
    pairs.extend(extra.iter().cloned());
    VoiceLink::new(obj(&pairs)).expect("valid options")
}

/// Polls `cond` every 50 ms for at most `ms`; true if it held.
async fn eventually(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..(ms / 50).max(1) {
        if cond() {
            return true;
        }
        wait_ms(50).await;
    }
    cond()
}

#[wasm_bindgen_test]
async fn connects_plays_the_echo_round_trips_a_message_and_hangs_up_cleanly() {
    install_spies();
    let l = link(&[], "");
    let notified = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let n = notified.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || n.set(n.get() + 1));
    let _off = l.subscribe(on_change.as_ref().clone().unchecked_into()).unwrap();
    let received = js_sys::Array::new();
    let sink = received.clone();
    let on_msg = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| {
        sink.push(&m);
    });
    let _off_msg = l.on("message", on_msg.as_ref().clone().unchecked_into()).unwrap();

    let before = l.get_snapshot();
    assert_eq!(get_str(&before, "status").as_deref(), Some("idle"));
    assert!(js_sys::Object::is(&before, &l.get_snapshot()), "snapshot identity must hold without a change");

    JsFuture::from(l.connect()).await.expect("connect resolves");
    let snap = l.get_snapshot();
    assert_eq!(get_str(&snap, "status").as_deref(), Some("connected"));
    assert!(!js_sys::Object::is(&before, &snap), "a change gives a new snapshot");
    assert!(notified.get() >= 2, "subscribers hear connecting and connected");
    assert!(get(&snap, "connectMs").as_f64().unwrap_or(-1.0) > 0.0);
    let session_id = get_str(&snap, "sessionId").expect("session id from Location");
    assert_eq!(last_pc_state(), "connected");
    assert_eq!(live_mic_tracks(), 1);
    let on_peer = peer_session(&session_id).await;
    assert_eq!(get_str(&on_peer, "state").as_deref(), Some("connected"), "the dev peer knows the session");

    // Data channel round trip through the dev peer.
    l.send(obj(&[("type", "hello".into()), ("n", 7.into())])).expect("send while connected");
    assert!(eventually(5_000, || received.length() > 0).await, "echo arrives");
    let echo = received.get(0);
    assert_eq!(get_str(&echo, "type").as_deref(), Some("echo"));
    assert_eq!(get_str(&echo, "data.type").as_deref(), Some("hello"));
    assert_eq!(get(&echo, "data.n").as_f64(), Some(7.0));
    let on_peer = peer_session(&session_id).await;
    let msgs: js_sys::Array = get(&on_peer, "messages").into();
    assert_eq!(msgs.get(0).as_string().as_deref(), Some(r#"{"type":"hello","n":7}"#));

    // Real remote audio: the dev peer echoes the fake microphone back.
    let mut peak = 0.0;
    for _ in 0..4 {
        peak = JsFuture::from(remote_audio_peak(1_500)).await.unwrap().as_f64().unwrap_or(0.0);
        if peak > 0.01 {
            break;
        }
    }
    assert!(peak > 0.01, "remote audio is silent (peak {peak})");

    // Hang up: the mic is off before disconnect() returns control.
    let closing = l.disconnect();
    assert_eq!(live_mic_tracks(), 0, "mic tracks stopped synchronously");
    assert_eq!(open_peer_connections(), 1, "the peer connection stays open while the audio fades out");
    JsFuture::from(closing).await.expect("disconnect never rejects");
    assert_eq!(open_peer_connections(), 0, "peer connection closed after the fade");
    let snap = l.get_snapshot();
    assert_eq!(get_str(&snap, "status").as_deref(), Some("disconnected"));
    assert_eq!(get_str(&snap, "endReason").as_deref(), Some("user"));
    let on_peer = peer_session(&session_id).await;
    assert_eq!(get_str(&on_peer, "state").as_deref(), Some("ended"), "the WHIP DELETE ended the session");
    assert_eq!(get_str(&on_peer, "endedBy").as_deref(), Some("delete"));
    assert!(l.send(JsValue::from_str("late")).is_err(), "send after disconnect throws");
    l.dispose();
}

async fn expect_connect_error(l: &VoiceLink, code: &str) -> JsValue {
    let err = JsFuture::from(l.connect()).await.expect_err("connect must reject");
    assert_eq!(get_str(&err, "code").as_deref(), Some(code), "error: {:?}", get_str(&err, "message"));
    assert_eq!(get_str(&err, "name").as_deref(), Some("VoiceLinkError"));
    assert_eq!(live_mic_tracks(), 0, "{code}: the mic is released");
    assert_eq!(open_peer_connections(), 0, "{code}: no peer connection left open");
    let snap = l.get_snapshot();
    assert_eq!(get_str(&snap, "status").as_deref(), Some("failed"));
    assert_eq!(get_str(&snap, "error.code").as_deref(), Some(code));
    err
}

#[wasm_bindgen_test]
async fn http_500_rejects_with_signaling_http_and_releases_everything() {
    install_spies();
    let pcs = peer_connection_count();
    let l = link(&[], "?fault=500");
    let err = expect_connect_error(&l, "signaling-http").await;
    assert_eq!(get(&err, "status").as_f64(), Some(500.0));
    assert!(peer_connection_count() > pcs, "it got as far as a peer connection");
    l.dispose();
}

#[wasm_bindgen_test]
async fn garbage_answer_rejects_with_signaling_answer_and_releases_everything() {
    install_spies();
    let l = link(&[], "?fault=garbage");
    expect_connect_error(&l, "signaling-answer").await;
    l.dispose();
}

#[wasm_bindgen_test]
async fn unreachable_endpoint_rejects_with_signaling_network() {
    install_spies();
    // Port 9 (discard) has no listener on loopback: the fetch fails without an HTTP response.
    let l = VoiceLink::new(obj(&[("url", "http://127.0.0.1:9/whip".into())])).unwrap();
    expect_connect_error(&l, "signaling-network").await;
    l.dispose();
}

#[wasm_bindgen_test]
async fn connect_timeout_rejects_and_releases_everything() {
    install_spies();
    let l = link(&[("connectTimeoutMs", 300.into())], "?delay_ms=3000");
    let err = expect_connect_error(&l, "connect-timeout").await;
    assert!(get_str(&err, "message").unwrap_or_default().contains("signaling"), "names the stuck phase");
    l.dispose();
}

#[wasm_bindgen_test]
async fn failing_token_provider_rejects_before_the_mic_is_asked() {
    install_spies();
    let calls = gum_calls();
    let l = link(&[("token", rejecting_provider().into())], "");
    let err = expect_connect_error(&l, "token-failed").await;
    assert!(get_str(&err, "message").unwrap_or_default().contains("no token for you"));
    assert_eq!(gum_calls(), calls, "no getUserMedia without a token");
    l.dispose();
}

#[wasm_bindgen_test]
async fn invalid_options_throw_invalid_option_before_touching_anything() {
    install_spies();
    let calls = gum_calls();
    let pcs = peer_connection_count();
    let url = JsValue::from_str(&format!("{PEER}/whip"));
    let cases: Vec<(&str, JsValue)> = vec![
        ("url", obj(&[])),
        ("url", obj(&[("url", "ftp://127.0.0.1/whip".into())])),
        ("connectTimeoutMs", obj(&[("url", url.clone()), ("connectTimeoutMs", (-1).into())])),
        ("connectTimeOutMs", obj(&[("url", url.clone()), ("connectTimeOutMs", 5.into())])),
        ("token", obj(&[("url", url.clone()), ("token", 42.into())])),
        ("channelCount", obj(&[("url", url.clone()), ("audio", obj(&[("channelCount", 6.into())]))])),
        ("iceServers", obj(&[("url", url.clone()), ("iceServers", js_sys::Array::of1(&obj(&[("urls", "http://x".into())])).into())])),
        ("object", JsValue::from_str("http://127.0.0.1/whip")),
    ];
    for (field, options) in cases {
        let err = VoiceLink::new(options).err().unwrap_or_else(|| panic!("{field}: must throw"));
        assert_eq!(get_str(&err, "code").as_deref(), Some("invalid-option"), "{field}");
        let msg = get_str(&err, "message").unwrap_or_default();
        assert!(msg.contains(field), "{field}: message names the field: {msg}");
    }
    assert_eq!(gum_calls(), calls, "no microphone asked for bad options");
    assert_eq!(peer_connection_count(), pcs, "no peer connection for bad options");
}

#[wasm_bindgen_test]
async fn second_connect_while_connecting_returns_the_same_promise() {
    install_spies();
    let l = link(&[], "");
    let a = l.connect();
    let b = l.connect();
    assert!(js_sys::Object::is(&a, &b), "same promise while connecting");
    JsFuture::from(a).await.expect("connects");
    assert_eq!(live_mic_tracks(), 1, "one microphone, not two");
    JsFuture::from(l.connect()).await.expect("connect while connected is a no-op");
    assert_eq!(live_mic_tracks(), 1);
    JsFuture::from(l.disconnect()).await.unwrap();
    assert_eq!(live_mic_tracks(), 0);
    l.dispose();
    let err = JsFuture::from(l.connect()).await.expect_err("connect after dispose");
    assert_eq!(get_str(&err, "code").as_deref(), Some("disposed"));
}

#[wasm_bindgen_test]
async fn disconnect_while_signaling_aborts_connect_and_releases_the_mic() {
    install_spies();
    let l = link(&[], "?delay_ms=1500");
    let pending = JsFuture::from(l.connect());
    assert!(eventually(5_000, || get_str(&l.get_snapshot(), "phase").as_deref() == Some("signaling")).await);
    assert_eq!(live_mic_tracks(), 1);
    let _ = l.disconnect();
    assert_eq!(live_mic_tracks(), 0, "mic off at once");
    let err = pending.await.expect_err("connect rejects");
    assert_eq!(get_str(&err, "code").as_deref(), Some("aborted"));
    assert_eq!(open_peer_connections(), 0);
    assert_eq!(get_str(&l.get_snapshot(), "status").as_deref(), Some("disconnected"));
    l.dispose();
}
