//! `getStats()` reading (W3C webrtc-stats). Values keep the spec's units; the core converts.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

use crate::core::quality::RawStats;

/// What one `getStats()` report gives the link.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    /// Bytes received on the transport (RTP, RTCP, SCTP and STUN together): the `transport`
    /// stats' `bytesReceived`, else the nominated candidate pair's. Keeps counting across an
    /// ICE restart. The link's own outage signal.
    pub transport_bytes_received: Option<f64>,
    /// The figures quality grading needs.
    pub raw: RawStats,
}

fn num(v: &JsValue, key: &str) -> Option<f64> {
    Reflect::get(v, &key.into()).ok().and_then(|x| x.as_f64())
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    Reflect::get(v, &key.into()).ok().and_then(|x| x.as_string())
}

fn flag(v: &JsValue, key: &str) -> bool {
    Reflect::get(v, &key.into()).ok().and_then(|x| x.as_bool()).unwrap_or(false)
}

/// Reads the peer connection's stats. `None` when `getStats()` fails (closed connection).
pub async fn read(pc: &RtcPeerConnection) -> Option<Reading> {
    read_timed(pc).await.map(|(r, _)| r)
}

/// [`read`], with the time (ms, `performance.now()`) the report arrived: what follows runs on
/// the main thread.
pub async fn read_timed(pc: &RtcPeerConnection) -> Option<(Reading, f64)> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let started = super::clock::now_ms();
    let values: Function = Reflect::get(&report, &"values".into()).ok()?.dyn_into().ok()?;
    let iter = js_sys::try_iter(&values.call0(&report).ok()?).ok()??;
    let all: Vec<JsValue> = iter.filter_map(Result::ok).collect();
    let is = |s: &&JsValue, t: &str| text(s, "type").as_deref() == Some(t);
    let audio = |s: &&JsValue| text(s, "kind").as_deref().is_none_or(|k| k == "audio");

    let transports: Vec<&JsValue> = all.iter().filter(|s| is(s, "transport")).collect();
    let pairs: Vec<&JsValue> = all.iter().filter(|s| is(s, "candidate-pair")).collect();
    // The selected pair (transport.selectedCandidatePairId), else the nominated, succeeded one.
    let selected = transports
        .iter()
        .filter_map(|t| text(t, "selectedCandidatePairId"))
        .find_map(|id| pairs.iter().find(|p| text(p, "id").as_deref() == Some(id.as_str())).copied())
        .or_else(|| {
            pairs.iter().copied().find(|p| flag(p, "nominated") && text(p, "state").as_deref() == Some("succeeded"))
        });

    let transport_bytes: f64 = transports.iter().filter_map(|t| num(t, "bytesReceived")).sum();
    let transport_bytes_received = if transport_bytes > 0.0 {
        Some(transport_bytes)
    } else {
        selected.and_then(|p| num(p, "bytesReceived"))
    };

    let inbound = all.iter().find(|s| is(s, "inbound-rtp") && audio(s));
    let remote_inbound = all.iter().find(|s| is(s, "remote-inbound-rtp") && audio(s));
    let raw = RawStats {
        candidate_pair_rtt_s: selected.and_then(|p| num(p, "currentRoundTripTime")),
        remote_inbound_rtt_s: remote_inbound.and_then(|r| num(r, "roundTripTime")),
        packets_received: inbound.and_then(|r| num(r, "packetsReceived")),
        packets_lost: inbound.and_then(|r| num(r, "packetsLost")),
        jitter_s: inbound.and_then(|r| num(r, "jitter")),
    };
    Some((Reading { transport_bytes_received, raw }, started))
}
