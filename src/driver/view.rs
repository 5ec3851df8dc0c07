//! The snapshot as a JS object: built field by field with `Reflect.set`, then frozen. (A
//! serialiser library did this before: dropping it, with the options reader, took 25.8 kB raw /
//! 11.7 kB gzip off the wasm, bench/README.md "Size".) The field
//! names are those of the generated `VoiceLinkSnapshot` type; `tests/browser.rs` checks that
//! the object has exactly the keys that type declares.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::core::quality::Quality;
use crate::core::snapshot::{ControlView, ErrorInfo};
use crate::core::Snapshot;

/// A plain JS object under construction.
struct Obj(Object);

impl Obj {
    fn new() -> Obj {
        Obj(Object::new())
    }

    fn set(&self, key: &str, value: JsValue) {
        // Defining a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value);
    }

    fn frozen(self) -> JsValue {
        Object::freeze(&self.0).into()
    }
}

fn opt_num(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_f64)
}

fn opt_str(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

fn strings<'a>(items: impl Iterator<Item = &'a str>) -> JsValue {
    let list: Array = items.map(JsValue::from_str).collect();
    Object::freeze(&list).into()
}

fn error(e: &ErrorInfo) -> JsValue {
    let o = Obj::new();
    o.set("code", e.code.as_str().into());
    o.set("message", e.message.as_str().into());
    o.set("status", e.status.map_or(JsValue::NULL, JsValue::from));
    o.frozen()
}

fn quality(q: &Quality) -> JsValue {
    let o = Obj::new();
    o.set("grade", q.grade.as_str().into());
    o.set("rttMs", opt_num(q.rtt_ms));
    o.set("jitterMs", opt_num(q.jitter_ms));
    o.set("packetLoss", opt_num(q.packet_loss));
    o.set("limitedBy", strings(q.limited_by.iter().map(|m| m.as_str())));
    o.frozen()
}

fn control(c: &ControlView) -> JsValue {
    let o = Obj::new();
    o.set("state", c.state.as_str().into());
    o.set("queuedMessages", (c.queued_messages as f64).into());
    o.set("droppedMessages", (c.dropped_messages as f64).into());
    o.set("reconnects", c.reconnects.into());
    o.frozen()
}

/// The frozen JS form of a snapshot (nested objects and arrays frozen too).
pub fn to_js(s: &Snapshot) -> JsValue {
    let o = Obj::new();
    o.set("status", s.status.as_str().into());
    o.set("phase", opt_str(s.phase.map(|p| p.as_str())));
    o.set("sessionId", opt_str(s.session_id.as_deref()));
    o.set("sessionUrl", opt_str(s.session_url.as_deref()));
    o.set("error", s.error.as_ref().map_or(JsValue::NULL, error));
    o.set("endReason", opt_str(s.end_reason.map(|r| r.as_str())));
    o.set("connectMs", opt_num(s.connect_ms));
    o.set(
        "connectTimings",
        s.connect_timings.map_or(JsValue::NULL, |t| {
            let timings = Obj::new();
            timings.set("micMs", t.mic_ms.into());
            timings.set("signalingMs", t.signaling_ms.into());
            timings.set("iceMs", t.ice_ms.into());
            timings.set("totalMs", t.total_ms.into());
            timings.frozen()
        }),
    );
    o.set("quality", quality(&s.quality));
    o.set("audioBlocked", s.audio_blocked.into());
    o.set("teardownErrors", strings(s.teardown_errors.iter().copied()));
    o.set("canReconnect", s.can_reconnect.into());
    o.set("graceRemainingMs", opt_num(s.grace_remaining_ms));
    o.set("reconnectAttempt", s.reconnect_attempt.into());
    o.set("nextRetryInMs", opt_num(s.next_retry_in_ms));
    o.set("sessionReplaced", s.session_replaced.into());
    o.set("queuedMessages", (s.queued_messages as f64).into());
    o.set("droppedMessages", (s.dropped_messages as f64).into());
    o.set("micLevel", s.mic_level.into());
    o.set("remoteLevel", s.remote_level.into());
    o.set("isSpeaking", s.is_speaking.into());
    o.set("micEnabled", s.mic_enabled.into());
    o.set("micDeviceId", s.mic_device_id.as_str().into());
    o.set("networkOnline", s.network_online.into());
    o.set("control", s.control.as_ref().map_or(JsValue::NULL, control));
    o.frozen()
}
