//! Reconnect tests (issue 4): the real wasm in headless Chromium against the dev peer, whose
//! fault switches drop a session's transport (keeping the session), restart the whole process
//! (forgetting every session), or refuse new sessions.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn post(path: &str) -> f64 {
    JsFuture::from(peer_post(&format!("{PEER}{path}"))).await.map(|s| s.as_f64().unwrap_or(0.0)).unwrap_or(0.0)
}

/// Waits until the dev peer answers its health check again (after a restart).
async fn peer_back() {
    for _ in 0..100 {
        if JsFuture::from(peer_report(PEER)).await.is_ok() {
            return;
        }
        wait_ms(100).await;
    }
    panic!("the dev peer did not come back");
}

async fn connected(extra: &[(&str, JsValue)]) -> (VoiceLink, String) {
    let l = link(extra, "");
    JsFuture::from(l.connect()).await.expect("connects");
    let id = snap(&l, "sessionId").expect("session id");
    (l, id)
}

async fn remote_audio_flows() -> bool {
    for _ in 0..4 {
        let peak = JsFuture::from(remote_audio_peak(1_000)).await.unwrap().as_f64().unwrap_or(0.0);
        if peak > 0.01 {
            return true;
        }
    }
    false
}

fn messages_of(session: &JsValue) -> Vec<String> {
    js_sys::Array::from(&get(session, "messages")).iter().filter_map(|m| m.as_string()).collect()
}

#[wasm_bindgen_test]
async fn a_dropped_transport_is_seen_fast_and_the_button_brings_back_the_same_session() {
    install_spies();
    let (l, id) = connected(&[]).await;
    let pcs = peer_connection_count();
    let t0 = js_sys::Date::now();
    assert_eq!(post(&format!("/_dev/sessions/{id}/drop")).await, 200.0);
    assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await, "outage seen");
    let detect_ms = js_sys::Date::now() - t0;
    assert!(detect_ms < 4_000.0, "seen before Chromium's own ~5 s 'disconnected' ({detect_ms} ms)");
    let s = l.get_snapshot();
    assert_eq!(get(&s, "canReconnect").as_bool(), Some(true), "the reconnect button shows");
    let grace = get(&s, "graceRemainingMs").as_f64().expect("grace countdown");
    assert!(grace > 290_000.0 && grace <= 300_000.0, "{grace}");
    assert_eq!(live_capture_tracks(), 1, "interrupted keeps the call (and its mic) for the ICE restart");
    wait_ms(1_100).await;
    let later = get(&l.get_snapshot(), "graceRemainingMs").as_f64().unwrap();
    assert!(later < grace, "the grace period counts down ({grace} → {later})");

    JsFuture::from(l.reconnect()).await.expect("reconnect resolves");
    let s = l.get_snapshot();
    assert_eq!(get_str(&s, "status").as_deref(), Some("connected"));
    assert_eq!(get_str(&s, "sessionId").as_deref(), Some(id.as_str()), "the same session");
    assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(false));
    assert_eq!(peer_connection_count(), pcs, "an ICE restart, not a new peer connection");
    let on_peer = peer_session(&id).await;
    assert_eq!(get(&on_peer, "iceRestarts").as_f64(), Some(1.0));
    assert!(remote_audio_flows().await, "remote audio flows again");
    // The data channel works on the same association.
    l.send(JsValue::from_str("after-restart")).unwrap();
    let mut seen = false;
    for _ in 0..40 {
        if messages_of(&peer_session(&id).await).contains(&"after-restart".to_string()) {
            seen = true;
            break;
        }
        wait_ms(50).await;
    }
    assert!(seen, "the dev peer received a message after the restart");
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn fifty_messages_sent_during_an_outage_arrive_in_order_and_once() {
    install_spies();
    let (l, id) = connected(&[]).await;
    l.send(JsValue::from_str("before")).unwrap();
    assert_eq!(post(&format!("/_dev/sessions/{id}/drop")).await, 200.0);
    assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await);
    for i in 0..50 {
        l.send(obj(&[("seq", i.into())])).expect("send while interrupted buffers");
    }
    assert_eq!(get(&l.get_snapshot(), "queuedMessages").as_f64(), Some(50.0));
    // connect() during an outage is reconnect() (an app's Connect button must not hang).
    JsFuture::from(l.connect()).await.expect("reconnects");
    assert_eq!(snap(&l, "sessionId").as_deref(), Some(id.as_str()));
    let expected: Vec<String> =
        std::iter::once("before".to_string()).chain((0..50).map(|i| format!(r#"{{"seq":{i}}}"#))).collect();
    let mut got = Vec::new();
    for _ in 0..60 {
        got = messages_of(&peer_session(&id).await);
        if got.len() >= expected.len() {
            break;
        }
        wait_ms(50).await;
    }
    assert_eq!(got, expected, "all delivered, in order, none twice");
    assert_eq!(get(&l.get_snapshot(), "queuedMessages").as_f64(), Some(0.0));
    assert_eq!(get(&l.get_snapshot(), "droppedMessages").as_f64(), Some(0.0));
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn after_the_grace_period_the_button_makes_a_fresh_session() {
    install_spies();
    let (l, id) = connected(&[("sessionGraceMs", 1_000.into()), ("outboxCapacity", 3.into())]).await;
    assert_eq!(post(&format!("/_dev/sessions/{id}/drop")).await, 200.0);
    assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await);
    for i in 0..5 {
        l.send(JsValue::from_str(&format!("m{i}"))).unwrap();
    }
    let s = l.get_snapshot();
    assert_eq!(get(&s, "queuedMessages").as_f64(), Some(3.0), "bounded");
    assert_eq!(get(&s, "droppedMessages").as_f64(), Some(2.0), "oldest dropped and counted");
    assert!(eventually(3_000, || get(&l.get_snapshot(), "graceRemainingMs").as_f64() == Some(0.0)).await);
    JsFuture::from(l.reconnect()).await.expect("reconnects with a new session");
    let s = l.get_snapshot();
    let new_id = get_str(&s, "sessionId").unwrap();
    assert_ne!(new_id, id, "a new session");
    assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(true), "the snapshot says the session was replaced");
    assert_eq!(live_capture_tracks(), 1, "one microphone");
    let mut got = Vec::new();
    for _ in 0..40 {
        got = messages_of(&peer_session(&new_id).await);
        if got.len() >= 3 {
            break;
        }
        wait_ms(50).await;
    }
    assert_eq!(got, ["m2", "m3", "m4"], "the kept messages go to the new session");
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn a_restarted_peer_answers_404_and_the_button_falls_back_to_a_fresh_session() {
    install_spies();
    let (l, id) = connected(&[]).await;
    assert_eq!(post("/_dev/restart?down_ms=300").await, 202.0);
    assert!(eventually(5_000, || snap(&l, "status").as_deref() == Some("interrupted")).await);
    peer_back().await;
    JsFuture::from(l.reconnect()).await.expect("reconnects");
    let s = l.get_snapshot();
    assert_ne!(get_str(&s, "sessionId").as_deref(), Some(id.as_str()));
    assert_eq!(get(&s, "sessionReplaced").as_bool(), Some(true));
    assert!(remote_audio_flows().await);
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn the_automatic_policy_reconnects_after_the_peer_restarts() {
    install_spies();
    let opts = [("reconnect", JsValue::from_str("auto")), ("reconnectBaseMs", 300.into()), ("reconnectCapMs", 1_000.into())];
    let (l, id) = connected(&opts).await;
    assert_eq!(post("/_dev/restart?down_ms=1500").await, 202.0);
    assert!(eventually(5_000, || snap(&l, "status").as_deref() == Some("reconnecting")).await);
    let mut max_attempt = 0.0f64;
    let back = eventually(20_000, || {
        let s = l.get_snapshot();
        max_attempt = max_attempt.max(get(&s, "reconnectAttempt").as_f64().unwrap_or(0.0));
        get_str(&s, "status").as_deref() == Some("connected")
    })
    .await;
    assert!(back, "reconnected by itself");
    assert!(max_attempt >= 1.0);
    let s = l.get_snapshot();
    assert_ne!(get_str(&s, "sessionId").as_deref(), Some(id.as_str()));
    assert_eq!(get(&s, "reconnectAttempt").as_f64(), Some(0.0), "the count resets once connected");
    assert_eq!(live_capture_tracks(), 1);
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn disconnect_during_a_backoff_wait_ends_everything_at_once() {
    install_spies();
    let opts = [("reconnect", JsValue::from_str("auto")), ("reconnectBaseMs", 2_000.into())];
    let (l, _id) = connected(&opts).await;
    assert_eq!(post("/_dev/faults?refuse_new=1").await, 200.0);
    assert_eq!(post("/_dev/restart?down_ms=100").await, 202.0);
    assert!(eventually(5_000, || snap(&l, "status").as_deref() == Some("reconnecting")).await);
    let _ = l.disconnect();
    assert_eq!(live_capture_tracks(), 0);
    assert_eq!(snap(&l, "status").as_deref(), Some("disconnected"));
    let (pcs, calls) = (peer_connection_count(), gum_calls());
    wait_ms(2_500).await;
    assert_eq!(peer_connection_count(), pcs, "no attempt after disconnect: the retry timer is gone");
    assert_eq!(gum_calls(), calls);
    assert!(eventually(1_500, || open_peer_connections() == 0).await);
    peer_back().await;
    assert_eq!(post("/_dev/faults?refuse_new=0").await, 200.0);
    l.dispose();
}

#[wasm_bindgen_test]
async fn reconnect_without_a_session_rejects_with_no_session() {
    install_spies();
    let l = link(&[], "");
    let err = JsFuture::from(l.reconnect()).await.expect_err("nothing to reconnect");
    assert_eq!(get_str(&err, "code").as_deref(), Some("no-session"));
    let calls = gum_calls();
    let err = JsFuture::from(l.reconnect()).await.expect_err("still nothing");
    assert_eq!(get_str(&err, "code").as_deref(), Some("no-session"));
    assert_eq!(gum_calls(), calls, "no microphone for a reconnect without a session");
    l.dispose();
}
