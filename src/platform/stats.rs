//! `getStats()` reading (W3C webrtc-stats).

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

fn num(v: &JsValue, key: &str) -> Option<f64> {
    Reflect::get(v, &key.into()).ok().and_then(|x| x.as_f64())
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    Reflect::get(v, &key.into()).ok().and_then(|x| x.as_string())
}

/// Every stats object of a report, in report order.
async fn stats(pc: &RtcPeerConnection) -> Option<Vec<JsValue>> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let values: Function = Reflect::get(&report, &"values".into()).ok()?.dyn_into().ok()?;
    let iter = values.call0(&report).ok()?;
    let iter = js_sys::try_iter(&iter).ok()??;
    Some(iter.filter_map(Result::ok).collect())
}

/// Bytes received on the peer connection's transport, in bytes: the `transport` stats'
/// `bytesReceived` (RTP, RTCP, SCTP and STUN together), else the selected or nominated
/// `candidate-pair`'s. It keeps counting across an ICE restart. `None` when the browser
/// reports neither.
pub async fn transport_bytes_received(pc: &RtcPeerConnection) -> Option<f64> {
    let all = stats(pc).await?;
    let of_type = |t: &'static str| all.iter().filter(move |s| text(s, "type").as_deref() == Some(t));
    let transport: f64 = of_type("transport").filter_map(|s| num(s, "bytesReceived")).sum();
    if transport > 0.0 {
        return Some(transport);
    }
    of_type("candidate-pair")
        .filter(|p| Reflect::get(p, &"nominated".into()).ok().and_then(|n| n.as_bool()).unwrap_or(false))
        .filter_map(|p| num(&p, "bytesReceived"))
        .fold(None, |acc: Option<f64>, b| Some(acc.unwrap_or(0.0).max(b)))
}
