//! Shared helpers of the browser tests: JS spies that record what the library did to the
//! browser (microphone tracks, peer connections, console output), page-visibility overrides,
//! fault injection, and the dev peer's report.
#![allow(dead_code)]

use js_sys::{Function, Promise, Reflect};
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The dev peer, as started by scripts/test.sh (read at compile time).
pub const PEER: &str = match option_env!("VOICELINK_PEER_URL") {
    Some(u) => u,
    None => "http://127.0.0.1:7878",
};

#[wasm_bindgen(inline_js = r#"
function spies() {
  if (globalThis.__vl) return globalThis.__vl;
  const vl = { gumCalls: 0, gumDelayMs: 0, gumFails: false, stripCandidates: false, toneMic: false, console: [] };
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    vl.gumCalls++;
    if (vl.gumFails) throw new DOMException("no microphone (test)", "NotFoundError");
    const s = vl.toneMic ? toneStream() : await gum(c);
    if (vl.gumDelayMs) await new Promise((r) => setTimeout(r, vl.gumDelayMs));
    return s;
  };
  const srd = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (d, ...rest) {
    if (vl.stripCandidates && d && d.sdp) {
      d = { type: d.type, sdp: d.sdp.split("\r\n").filter((l) => !l.startsWith("a=candidate")).join("\r\n") };
    }
    return srd.call(this, d, ...rest);
  };
  vl.requests = [];
  const origFetch = globalThis.fetch.bind(globalThis);
  globalThis.fetch = async (url, init) => {
    const entry = { method: (init && init.method) || "GET", url: String(url), status: 0 };
    vl.requests.push(entry);
    const r = await origFetch(url, init);
    entry.status = r.status;
    return r;
  };
  for (const level of ["debug", "log", "info", "warn", "error"]) {
    const orig = console[level].bind(console);
    console[level] = (...args) => { vl.console.push([level, args.map(String).join(" ")]); orig(...args); };
  }
  globalThis.__vl = vl;
  return vl;
}
export function install_spies() { spies(); }
export function gum_calls() { return spies().gumCalls; }
export function set_gum_delay(ms) { spies().gumDelayMs = ms; }
export function set_strip_candidates(on) { spies().stripCandidates = on; }
/** A microphone stand-in: a steady 440 Hz sine at 0.5 full scale from an oscillator (an
 * untracked AudioContext: not the library's). Pop tests need a signal without gaps; the fake
 * device's beeps have silences between them. */
function toneStream() {
  const probe = globalThis.__voicelinkProbe;
  return probe.untracked(() => {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 440;
    gain.gain.value = 0.5;
    const dest = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    return dest.stream;
  });
}
export function set_tone_mic(on) { spies().toneMic = on; }
export function set_gum_fails(on) { spies().gumFails = on; }
/** The HTTP status of the last `method` request to a URL ending in `suffix` (0: none yet). */
export function request_status(method, suffix) {
  const r = spies().requests.filter((e) => e.method === method && e.url.endsWith(suffix)).at(-1);
  return r ? r.status : -1;
}
export function console_mark() { return spies().console.length; }
export function console_since(mark, level) {
  return spies().console.slice(mark).filter(([l]) => !level || l === level).map(([, m]) => m);
}
export async function remote_audio_peak(ms) {
  const pc = globalThis.__voicelinkProbe.peerConnections.at(-1);
  const track = pc && pc.getReceivers().map((r) => r.track).find((t) => t && t.kind === "audio");
  if (!track) return -1;
  const probe = globalThis.__voicelinkProbe;
  const ctx = probe.untracked(() => new AudioContext());
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
export function set_hidden(hidden) {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (hidden ? "hidden" : "visible") });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}
export function fire_pagehide() { window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false })); }
export function break_method(proto, method) {
  const target = globalThis[proto].prototype;
  const orig = target[method];
  target[method] = function () { throw new Error(`${proto}.${method} broken by the test`); };
  return () => { target[method] = orig; };
}
export function block_autoplay_once() {
  const proto = HTMLMediaElement.prototype;
  const orig = proto.play;
  proto.play = function () {
    proto.play = orig;
    return Promise.reject(new DOMException("play() needs a user gesture", "NotAllowedError"));
  };
}
export async function peer_report(base) {
  const r = await fetch(base + "/_dev/state");
  return await r.json();
}
export async function peer_post(url) {
  const r = await fetch(url, { method: "POST" });
  return r.status;
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function delayed_token(ms, value) { return () => new Promise((r) => setTimeout(() => r(value), ms)); }
export function rejecting_provider() { return () => Promise.reject(new Error("no token for you")); }
"#)]
extern "C" {
    pub fn install_spies();
    pub fn gum_calls() -> u32;
    pub fn set_gum_delay(ms: u32);
    pub fn set_strip_candidates(on: bool);
    /// Makes the next `getUserMedia` calls return a steady 440 Hz tone (see `toneStream`).
    pub fn set_tone_mic(on: bool);
    /// Makes `getUserMedia` reject with `NotFoundError` (no microphone) until turned off.
    pub fn set_gum_fails(on: bool);
    /// The HTTP status of the last `method` request to a URL ending in `suffix` (-1: none;
    /// 0: no answer yet).
    pub fn request_status(method: &str, suffix: &str) -> i32;
    pub fn console_mark() -> u32;
    pub fn console_since(mark: u32, level: &str) -> js_sys::Array;
    pub fn remote_audio_peak(ms: u32) -> Promise;
    pub fn set_hidden(hidden: bool);
    pub fn fire_pagehide();
    /// Makes `globalThis[proto].prototype[method]` throw; returns the function that restores it.
    pub fn break_method(proto: &str, method: &str) -> Function;
    pub fn block_autoplay_once();
    pub fn peer_report(base: &str) -> Promise;
    pub fn peer_post(url: &str) -> Promise;
    pub fn sleep(ms: u32) -> Promise;
    pub fn delayed_token(ms: u32, value: &str) -> Function;
    pub fn rejecting_provider() -> Function;
}

// The browser-side probe (tests/probe/probe.js): what the browser has, recorded from outside
// the library. Imported as a module, so it is evaluated before this binary's glue code and
// before any VoiceLink exists.
#[wasm_bindgen(module = "/tests/probe/probe.js")]
extern "C" {
    /// Capture tracks (getUserMedia, clones, ...) whose `readyState` is `live`.
    #[wasm_bindgen(js_name = probe_live_capture_tracks)]
    pub fn live_capture_tracks() -> u32;
    /// Every capture track ever created on this page.
    #[wasm_bindgen(js_name = probe_capture_tracks)]
    pub fn capture_track_count() -> u32;
    /// `RTCPeerConnection`s not closed.
    #[wasm_bindgen(js_name = probe_open_peer_connections)]
    pub fn open_peer_connections() -> u32;
    /// Every `RTCPeerConnection` constructed on this page.
    #[wasm_bindgen(js_name = probe_peer_connections)]
    pub fn peer_connection_count() -> u32;
    /// `AudioContext`s not closed.
    #[wasm_bindgen(js_name = probe_live_audio_contexts)]
    pub fn live_audio_contexts() -> u32;
    /// Every `AudioContext` constructed on this page (test helpers' own excluded).
    #[wasm_bindgen(js_name = probe_audio_contexts)]
    pub fn audio_context_count() -> u32;
    /// Media elements playing or still holding a `srcObject`.
    #[wasm_bindgen(js_name = probe_active_media_elements)]
    pub fn active_media_elements() -> u32;
    /// Everything the probe counts, as JSON (for failure messages).
    #[wasm_bindgen(js_name = probe_summary)]
    pub fn probe_summary() -> String;
    /// What reached the destination of recorded context `index` (-1: the last):
    /// `{ sampleRate, state, closeCalledAtFrame, closed, maxPeak, quanta: [[frame, maxStep, peak, lastAbs]] }`.
    #[wasm_bindgen(js_name = probe_destination)]
    pub fn probe_destination(index: i32) -> JsValue;
    /// Resolves `true` once the destination tap of context `index` records.
    #[wasm_bindgen(js_name = probe_tap_ready)]
    pub fn probe_tap_ready(index: i32) -> Promise;
    /// Ends every live capture track from outside (stopped, `ended` dispatched): an unplugged
    /// or revoked microphone.
    /// `false` when the browser delivered the dispatched `ended` to no listener (Firefox).
    #[wasm_bindgen(js_name = probe_end_capture)]
    pub fn end_capture_from_outside() -> bool;
    /// Closes every recorded `AudioContext` still open: only for a test that broke `close()`.
    #[wasm_bindgen(js_name = probe_close_contexts)]
    pub fn probe_close_contexts();
    #[wasm_bindgen(js_name = probe_last_peer_connection)]
    fn last_peer_connection() -> JsValue;
}

/// The `connectionState` of the last peer connection created on the page ("none": none yet).
pub fn last_pc_state() -> String {
    let pc = last_peer_connection();
    if pc.is_null() {
        return "none".into();
    }
    get_str(&pc, "connectionState").unwrap_or_default()
}

/// Asserts the browser-side probe sees nothing left running: no live capture track, no open
/// peer connection, no live audio context, no media element playing or holding a stream.
/// Polls up to `ms` (the browser closes some of them a few ms after the call).
pub async fn assert_nothing_left(what: &str, ms: u32) {
    let clear = || {
        live_capture_tracks() == 0 && open_peer_connections() == 0 && live_audio_contexts() == 0 && active_media_elements() == 0
    };
    assert!(eventually(ms, clear).await, "{what}: something is left running: {}", probe_summary());
}

/// A plain JS object from key/value pairs.
pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

/// `v.a.b.c`, or `undefined`.
pub fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |acc, k| Reflect::get(&acc, &k.into()).unwrap_or(JsValue::UNDEFINED))
}

/// `v.a.b.c` as a string.
pub fn get_str(v: &JsValue, path: &str) -> Option<String> {
    get(v, path).as_string()
}

/// The snapshot's `key` as a string.
pub fn snap(l: &VoiceLink, key: &str) -> Option<String> {
    get_str(&l.get_snapshot(), key)
}

pub async fn wait_ms(ms: u32) {
    JsFuture::from(sleep(ms)).await.unwrap();
}

/// Polls `cond` every 25 ms for at most `ms`; true if it held.
pub async fn eventually(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..(ms / 25).max(1) {
        if cond() {
            return true;
        }
        wait_ms(25).await;
    }
    cond()
}

/// The dev peer's record of session `id` (or `undefined`).
pub async fn peer_session(id: &str) -> JsValue {
    let report = JsFuture::from(peer_report(PEER)).await.expect("dev peer /_dev/state");
    let sessions: js_sys::Array = get(&report, "sessions").into();
    sessions.iter().find(|s| get_str(s, "id").as_deref() == Some(id)).unwrap_or(JsValue::UNDEFINED)
}

/// The dev peer's count of open sessions.
pub async fn peer_open_sessions() -> f64 {
    let report = JsFuture::from(peer_report(PEER)).await.expect("dev peer /_dev/state");
    get(&report, "sessionsOpen").as_f64().unwrap_or(-1.0)
}

/// A link to the dev peer's WHIP endpoint (`query` appended, e.g. `?fault=500`), with extra options.
pub fn link(extra: &[(&str, JsValue)], query: &str) -> VoiceLink {
    let mut pairs = vec![("url", JsValue::from_str(&format!("{PEER}/whip{query}")))];
    pairs.extend(extra.iter().cloned());
    VoiceLink::new(obj(&pairs)).expect("valid options")
}
