//! Browser tests: the real wasm in headless Chromium (fake microphone) against the real dev
//! peer (`tests/dev-peer`) on loopback. Run by `npm test` (scripts/test.sh), which starts the
//! peer at VOICELINK_PEER_URL inside a loopback-only network namespace.
//!
//! The checks do not trust the library's own account: JS spies record every microphone track
//! `getUserMedia` returned and every `RTCPeerConnection` constructed, and the dev peer's
//! `/_dev/state` report says what the server saw.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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

    let captured = capture_track_count();
    JsFuture::from(l.connect()).await.expect("connect resolves");
    let snap = l.get_snapshot();
    assert_eq!(get_str(&snap, "status").as_deref(), Some("connected"));
    // One capture track, however the browser was asked: no clone of the microphone.
    assert_eq!(capture_track_count() - captured, 1, "one capture track per connection: {}", probe_summary());
    assert!(!js_sys::Object::is(&before, &snap), "a change gives a new snapshot");
    assert!(notified.get() >= 2, "subscribers hear connecting and connected");
    assert!(get(&snap, "connectMs").as_f64().unwrap_or(-1.0) > 0.0);
    let session_id = get_str(&snap, "sessionId").expect("session id from Location");
    assert_eq!(last_pc_state(), "connected");
    assert_eq!(live_capture_tracks(), 1);
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
    assert_eq!(live_capture_tracks(), 0, "mic tracks stopped synchronously");
    assert_eq!(open_peer_connections(), 1, "the peer connection stays open while the audio fades out");
    JsFuture::from(closing).await.expect("disconnect never rejects");
    assert_eq!(open_peer_connections(), 0, "peer connection closed after the fade");
    let snap = l.get_snapshot();
    assert_eq!(get_str(&snap, "status").as_deref(), Some("disconnected"));
    assert_eq!(get_str(&snap, "endReason").as_deref(), Some("user"));
    assert_eq!(request_status("DELETE", &session_id), 200, "the WHIP DELETE was sent and answered");
    let on_peer = peer_session(&session_id).await;
    assert_eq!(get_str(&on_peer, "state").as_deref(), Some("ended"), "the dev peer reports the session gone");
    assert!(l.send(JsValue::from_str("late")).is_err(), "send after disconnect throws");
    l.dispose();
}

async fn expect_connect_error(l: &VoiceLink, code: &str) -> JsValue {
    let err = JsFuture::from(l.connect()).await.expect_err("connect must reject");
    assert_eq!(get_str(&err, "code").as_deref(), Some(code), "error: {:?}", get_str(&err, "message"));
    assert_eq!(get_str(&err, "name").as_deref(), Some("VoiceLinkError"));
    assert_eq!(live_capture_tracks(), 0, "{code}: the mic is released");
    assert_eq!(open_peer_connections(), 0, "{code}: no peer connection left open");
    let snap = l.get_snapshot();
    assert_eq!(get_str(&snap, "status").as_deref(), Some("failed"));
    assert_eq!(get_str(&snap, "error.code").as_deref(), Some(code));
    assert_nothing_left(code, 1_500).await;
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
async fn a_token_provider_returning_what_no_header_can_carry_rejects_with_token_failed() {
    install_spies();
    let calls = gum_calls();
    // A space and a line break: `fetch` would throw on the Authorization header, which read as
    // "the endpoint could not be reached" before the check.
    let provider = js_sys::Function::new_no_args("return Promise.resolve('two words\\n')");
    let l = link(&[("token", provider.into())], "");
    let err = expect_connect_error(&l, "token-failed").await;
    let message = get_str(&err, "message").unwrap_or_default();
    assert!(message.contains("HTTP header"), "says why: {message}");
    assert!(!message.contains("two words"), "the token is not echoed: {message}");
    assert_eq!(gum_calls(), calls, "no getUserMedia without a usable token");
    l.dispose();
    assert_nothing_left("a token no header can carry", 2_000).await;
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
        ("options.fadeOutMs must be a number, got string", obj(&[("url", url.clone()), ("fadeOutMs", "20".into())])),
        ("options.audio.echo is not an option", obj(&[("url", url.clone()), ("audio", obj(&[("echo", true.into())]))])),
        ("options.control.url", obj(&[("url", url.clone()), ("control", obj(&[("heartbeatMs", 1000.into())]))])),
        ("options.qualityRttMs", obj(&[("url", url.clone()), ("qualityRttMs", js_sys::Array::of2(&100.into(), &50.into()).into())])),
        ("options.iceServers[0] must be an object", obj(&[("url", url.clone()), ("iceServers", js_sys::Array::of1(&"stun:x".into()).into())])),
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

/// The field names `js/types.d.ts` (generated from the Rust types by ts-rs) declares for the
/// object type `name`.
fn declared_fields(name: &str) -> Vec<String> {
    let types = include_str!("../js/types.d.ts");
    let start = types.find(&format!("export type {name} = {{")).unwrap_or_else(|| panic!("{name} is not in js/types.d.ts"));
    let body = &types[start..];
    let end = body[1..].find("\nexport ").map_or(body.len(), |i| i + 1);
    let mut fields: Vec<String> = body[..end]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            let rest = &line[name.len()..];
            (!name.is_empty() && (rest.starts_with(": ") || rest.starts_with("?: "))).then_some(name)
        })
        .collect();
    fields.sort();
    fields
}

/// The keys of a JS object, read into a Rust map with serde-wasm-bindgen.
fn keys_of(value: &JsValue) -> Vec<String> {
    let map: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        serde_wasm_bindgen::from_value(value.clone()).expect("a plain object");
    map.into_keys().collect()
}

#[wasm_bindgen_test]
async fn snapshot_has_exactly_the_fields_of_the_generated_typescript_types() {
    install_spies();
    let control = obj(&[("url", format!("{}/control", PEER.replace("http", "ws")).into())]);
    let l = link(&[("control", control)], "");
    assert_eq!(keys_of(&l.get_snapshot()), declared_fields("VoiceLinkSnapshot"), "idle snapshot");
    JsFuture::from(l.connect()).await.expect("connect resolves");
    assert!(eventually(5_000, || !get(&l.get_snapshot(), "connectTimings").is_null()).await);
    let snap = l.get_snapshot();
    assert_eq!(keys_of(&snap), declared_fields("VoiceLinkSnapshot"));
    assert!(js_sys::Object::is_frozen(snap.unchecked_ref::<js_sys::Object>()), "the snapshot is frozen");
    for (field, ty) in [
        ("quality", "VoiceLinkQuality"),
        ("connectTimings", "VoiceLinkConnectTimings"),
        ("control", "VoiceLinkControlView"),
    ] {
        let part = get(&snap, field);
        assert_eq!(keys_of(&part), declared_fields(ty), "{field}");
        assert!(js_sys::Object::is_frozen(part.unchecked_ref::<js_sys::Object>()), "{field} is frozen");
    }
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn second_connect_while_connecting_returns_the_same_promise() {
    install_spies();
    let l = link(&[], "");
    let a = l.connect();
    let b = l.connect();
    assert!(js_sys::Object::is(&a, &b), "same promise while connecting");
    JsFuture::from(a).await.expect("connects");
    assert_eq!(live_capture_tracks(), 1, "one microphone, not two");
    JsFuture::from(l.connect()).await.expect("connect while connected is a no-op");
    assert_eq!(live_capture_tracks(), 1);
    JsFuture::from(l.disconnect()).await.unwrap();
    assert_eq!(live_capture_tracks(), 0);
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
    assert_eq!(live_capture_tracks(), 1);
    let _ = l.disconnect();
    assert_eq!(live_capture_tracks(), 0, "mic off at once");
    let err = pending.await.expect_err("connect rejects");
    assert_eq!(get_str(&err, "code").as_deref(), Some("aborted"));
    assert_eq!(open_peer_connections(), 0);
    assert_eq!(get_str(&l.get_snapshot(), "status").as_deref(), Some("disconnected"));
    l.dispose();
}
