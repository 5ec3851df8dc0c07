//! Control channel tests (issue 7): the real wasm in headless Chromium against the dev peer's
//! WebSocket endpoint (`/control`), which confirms `session_info`, answers pings, records what
//! it receives, and on request pushes scripted messages or closes a socket (normally or not).
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use js_sys::Promise;
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export async function post_body(url, body) {
  const r = await fetch(url, { method: "POST", body });
  return r.status;
}
export async function get_json(url) { return await (await fetch(url)).json(); }
"#)]
extern "C" {
    fn post_body(url: &str, body: &str) -> Promise;
    fn get_json(url: &str) -> Promise;
}

fn control_url() -> String {
    format!("{}/control", PEER.replacen("http", "ws", 1))
}

fn with_control(extra: &[(&str, JsValue)]) -> VoiceLink {
    let mut control = vec![("url", JsValue::from_str(&control_url()))];
    control.extend(extra.iter().cloned());
    link(&[("control", obj(&control))], "")
}

fn control_state(l: &VoiceLink) -> String {
    get_str(&l.get_snapshot(), "control.state").unwrap_or_default()
}

/// Collects the events a listener receives.
/// Events received so far, and the listener that records them (keep it alive).
type Recorder = (Rc<RefCell<Vec<JsValue>>>, Closure<dyn FnMut(JsValue)>);

fn collect(l: &VoiceLink, event: &str) -> Recorder {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| s.borrow_mut().push(e));
    l.on(event, cb.as_ref().clone().unchecked_into()).unwrap();
    (seen, cb)
}

/// The dev peer's record of the control connections announced for `session_id`, newest last.
async fn connections(session_id: &str) -> Vec<JsValue> {
    let report = JsFuture::from(get_json(&format!("{PEER}/_dev/control"))).await.expect("/_dev/control");
    js_sys::Array::from(&get(&report, "connections"))
        .iter()
        .filter(|c| get_str(c, "sessionId").as_deref() == Some(session_id))
        .collect()
}

fn texts(conn: &JsValue) -> Vec<String> {
    js_sys::Array::from(&get(conn, "messages")).iter().filter_map(|m| m.as_string()).collect()
}

async fn push(session_id: &str, body: &str) {
    let status = JsFuture::from(post_body(&format!("{PEER}/_dev/control/push?session_id={session_id}"), body)).await.unwrap();
    assert_eq!(status.as_f64(), Some(200.0), "push");
}

async fn close(session_id: &str, code: u16) {
    let url = format!("{PEER}/_dev/control/close?session_id={session_id}&code={code}");
    assert_eq!(JsFuture::from(post_body(&url, "")).await.unwrap().as_f64(), Some(200.0), "close");
}

#[wasm_bindgen_test]
async fn handshake_confirms_the_session_and_pushed_messages_arrive_in_order() {
    install_spies();
    let l = with_control(&[]);
    let (events, _cb) = collect(&l, "control");
    let (errors, _cb2) = collect(&l, "error");
    JsFuture::from(l.connect()).await.expect("connects");
    let id = snap(&l, "sessionId").unwrap();
    assert!(eventually(3_000, || control_state(&l) == "confirmed").await, "confirmed ({})", control_state(&l));
    let conns = connections(&id).await;
    assert_eq!(conns.len(), 1);
    assert_eq!(texts(&conns[0]).first().map(String::as_str), Some(format!(r#"{{"type":"session_info","session_id":"{id}"}}"#).as_str()));

    let pushed = r#"[{"type":"transcript","text":"hello"},{"type":"response","text":"hi"},"not json",{"type":"status","pipeline":"ok"}]"#;
    push(&id, pushed).await;
    assert!(eventually(3_000, || events.borrow().len() >= 4).await, "events: {}", events.borrow().len());
    let kinds: Vec<Option<String>> = events.borrow().iter().map(|e| get_str(e, "type")).collect();
    assert_eq!(
        kinds,
        [Some("session_confirmed"), Some("transcript"), Some("response"), Some("status")].map(|k| k.map(String::from)),
        "typed events, in order; the invalid one skipped"
    );
    assert_eq!(get_str(&events.borrow()[1], "data.text").as_deref(), Some("hello"));
    assert!(
        errors.borrow().iter().any(|e| get_str(e, "code").as_deref() == Some("control-invalid-json")),
        "invalid JSON is reported as an error event"
    );
    assert_eq!(control_state(&l), "confirmed", "and the channel keeps working");

    l.send_control(obj(&[("type", "app".into()), ("n", 1.into())])).unwrap();
    let mut got = false;
    for _ in 0..40 {
        if texts(&connections(&id).await[0]).contains(&r#"{"type":"app","n":1}"#.to_string()) {
            got = true;
            break;
        }
        wait_ms(50).await;
    }
    assert!(got, "sendControl reaches the server");
    JsFuture::from(l.disconnect()).await.unwrap();
    assert!(eventually(2_000, || control_state(&l) == "closed").await);
    let mut code = None;
    for _ in 0..40 {
        let c = connections(&id).await;
        code = get(&c[0], "closeCode").as_f64();
        if code.is_some() {
            break;
        }
        wait_ms(50).await;
    }
    assert_eq!(code, Some(1000.0), "disconnect() closes the control socket normally");
    l.dispose();
}

#[wasm_bindgen_test]
async fn an_abnormal_close_reconnects_and_reannounces_a_normal_close_does_not() {
    install_spies();
    let l = Rc::new(with_control(&[("reconnectBaseMs", 200.into())]));
    JsFuture::from(l.connect()).await.expect("connects");
    let id = snap(&l, "sessionId").unwrap();
    assert!(eventually(3_000, || control_state(&l) == "confirmed").await);
    // Every control state the snapshot shows, from a subscriber: on loopback, with a backoff of
    // 0..200 ms (full jitter), the whole reconnect can pass between two polls.
    let seen = js_sys::Array::new();
    let record = {
        let (seen, l2) = (seen.clone(), Rc::clone(&l));
        Closure::<dyn FnMut()>::new(move || {
            seen.push(&control_state(&l2).into());
        })
    };
    let _off = l.subscribe(record.as_ref().unchecked_ref::<js_sys::Function>().clone()).expect("subscribe");
    // Messages sent while it is down arrive after the reconnect, in order.
    close(&id, 4001).await;
    let went_down = || seen.iter().any(|s| s.as_string().as_deref() == Some("reconnecting"));
    assert!(eventually(2_000, went_down).await, "seen: {:?}", seen.iter().filter_map(|s| s.as_string()).collect::<Vec<_>>());
    for i in 0..5 {
        l.send_control(obj(&[("seq", i.into())])).unwrap();
    }
    assert!(eventually(5_000, || control_state(&l) == "confirmed").await, "back ({})", control_state(&l));
    assert_eq!(get(&l.get_snapshot(), "control.reconnects").as_f64(), Some(1.0));
    let conns = connections(&id).await;
    assert_eq!(conns.len(), 2, "a second connection");
    let second = texts(&conns[1]);
    let expected: Vec<String> = std::iter::once(format!(r#"{{"type":"session_info","session_id":"{id}"}}"#))
        .chain((0..5).map(|i| format!(r#"{{"seq":{i}}}"#)))
        .collect();
    assert_eq!(second[..expected.len().min(second.len())], expected[..], "re-announced, then the buffered messages in order");

    close(&id, 1000).await;
    assert!(eventually(2_000, || control_state(&l) == "closed").await);
    wait_ms(800).await;
    assert_eq!(control_state(&l), "closed", "a normal close is final");
    assert_eq!(connections(&id).await.len(), 2, "no reconnect after 1000");
    assert_eq!(snap(&l, "status").as_deref(), Some("connected"), "the media link is unaffected");
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}

#[wasm_bindgen_test]
async fn a_silent_server_is_an_outage_and_hidden_closes_the_channel() {
    install_spies();
    let l = with_control(&[("heartbeatMs", 200.into()), ("heartbeatTimeoutMs", 700.into()), ("reconnectBaseMs", 100.into())]);
    let (errors, _cb) = collect(&l, "error");
    JsFuture::from(l.connect()).await.expect("connects");
    let id = snap(&l, "sessionId").unwrap();
    assert!(eventually(3_000, || control_state(&l) == "confirmed").await);
    wait_ms(600).await;
    let pings = texts(&connections(&id).await[0]).iter().filter(|t| t.contains(r#""type":"ping""#)).count();
    assert!(pings >= 2, "heartbeat pings every 200 ms: {pings}");
    let status = JsFuture::from(post_body(&format!("{PEER}/_dev/control/silence?session_id={id}&on=1"), "")).await.unwrap();
    assert_eq!(status.as_f64(), Some(200.0));
    assert!(
        eventually(3_000, || errors.borrow().iter().any(|e| get_str(e, "code").as_deref() == Some("control-timeout"))).await,
        "a missed reply counts as an outage"
    );
    let mut reconnected = false;
    for _ in 0..60 {
        if connections(&id).await.len() >= 2 {
            reconnected = true;
            break;
        }
        wait_ms(50).await;
    }
    assert!(reconnected, "after the outage the channel reconnects (a second connection at the peer)");
    // Hidden: the link disconnects, and the control socket closes normally with it.
    set_hidden(true);
    assert_eq!(snap(&l, "status").as_deref(), Some("disconnected"));
    assert!(eventually(2_000, || control_state(&l) == "closed").await);
    set_hidden(false);
    l.dispose();
}

#[wasm_bindgen_test]
async fn no_control_option_means_no_websocket() {
    install_spies();
    let l = link(&[], "");
    JsFuture::from(l.connect()).await.expect("connects");
    assert!(get(&l.get_snapshot(), "control").is_null());
    let err = l.send_control(JsValue::from_str("x")).expect_err("no control channel");
    assert_eq!(get_str(&err, "code").as_deref(), Some("invalid-argument"));
    let bad = VoiceLink::new(obj(&[("url", "http://127.0.0.1/whip".into()), ("control", obj(&[("url", "ftp://x".into())]))]));
    assert_eq!(get_str(&bad.err().unwrap(), "code").as_deref(), Some("invalid-option"));
    JsFuture::from(l.disconnect()).await.unwrap();
    l.dispose();
}
