//! Audio devices (Media Capture and Streams §9): listing inputs and outputs
//! (`enumerateDevices`), the sender's track swap (`RTCRtpSender.replaceTrack`, webrtc-pc §5.2,
//! no renegotiation), the output device (`setSinkId`, Audio Output Devices API), and the
//! `devicechange` listener. Called through `Reflect`, so no browser needs more than it has: a
//! missing method is an `unsupported` error.

use gloo_events::EventListener;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaDevices, MediaStreamTrack, RtcPeerConnection};

use super::js;
use crate::core::{ErrorCode, LinkError};

fn media_devices() -> Result<MediaDevices, LinkError> {
    web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .filter(|d| !JsValue::from(d).is_undefined())
        .ok_or_else(|| LinkError::new(ErrorCode::Unsupported, "navigator.mediaDevices is not available (https: or localhost only)"))
}

fn unsupported(what: &str, e: &JsValue) -> LinkError {
    LinkError::new(ErrorCode::Unsupported, [what, ": ", &js::error_message(e)].concat())
}

/// The devices of `kind` (`"audioinput"` or `"audiooutput"`) as a frozen array of frozen
/// `{ deviceId, label, groupId, isDefault }`: `isDefault` marks the system default — the
/// `"default"` entry where the browser lists one (Chromium), else the first of the kind
/// (Firefox). Labels are empty until the page has had microphone permission.
pub async fn list(kind: &str) -> Result<JsValue, LinkError> {
    let devices = media_devices()?;
    let promise = devices.enumerate_devices().map_err(|e| unsupported("enumerateDevices", &e))?;
    let all: Array = JsFuture::from(promise).await.map_err(|e| unsupported("enumerateDevices", &e))?.unchecked_into();
    let of_kind: Vec<JsValue> = all.iter().filter(|d| js::text(d, "kind").as_deref() == Some(kind)).collect();
    let has_default = of_kind.iter().any(|d| js::text(d, "deviceId").as_deref() == Some("default"));
    let out = Array::new();
    for (i, d) in of_kind.iter().enumerate() {
        let id = js::text(d, "deviceId").unwrap_or_default();
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &k.into(), &v);
        };
        set("isDefault", (if has_default { id == "default" } else { i == 0 }).into());
        set("deviceId", id.into());
        set("label", js::text(d, "label").unwrap_or_default().into());
        set("groupId", js::text(d, "groupId").unwrap_or_default().into());
        out.push(&Object::freeze(&o));
    }
    Ok(Object::freeze(&out).into())
}

/// The system default input as `(deviceId, groupId)`: the `"default"` entry where the browser
/// lists one (Chromium), else the first input (Firefox). `None` when nothing is listed.
pub async fn default_input() -> Option<(String, String)> {
    let list: Array = list("audioinput").await.ok()?.unchecked_into();
    let d = list.iter().find(|d| Reflect::get(d, &"isDefault".into()).ok().and_then(|v| v.as_bool()) == Some(true))?;
    Some((js::text(&d, "deviceId").unwrap_or_default(), js::text(&d, "groupId").unwrap_or_default()))
}

/// `true` when the capture `track` no longer comes from the system default `default`
/// (`(deviceId, groupId)` from [`default_input`]): another group (Chromium's `"default"` entry
/// carries the group of the device it stands for), or another device where the default is
/// listed by its own id (Firefox). Unknown settings count as unchanged.
pub fn default_moved(track: &MediaStreamTrack, default: &(String, String)) -> bool {
    let (id, group) = default;
    let other_group = !group.is_empty() && track_group(track).is_some_and(|g| &g != group);
    let other_device = id != "default" && !id.is_empty() && track_device(track).is_some_and(|d| &d != id);
    other_group || other_device
}

/// The `groupId` a capture track's settings report (`getSettings()`), if any.
pub fn track_group(track: &MediaStreamTrack) -> Option<String> {
    let settings = js::try_call(track, "getSettings").ok()?;
    js::text(&settings, "groupId").filter(|g| !g.is_empty())
}

/// The `deviceId` a capture track's settings report.
pub fn track_device(track: &MediaStreamTrack) -> Option<String> {
    let settings = js::try_call(track, "getSettings").ok()?;
    js::text(&settings, "deviceId").filter(|g| !g.is_empty())
}

/// Swaps the track the peer connection's audio sender sends, without renegotiation
/// (`replaceTrack`; the first sender). Errors: `peer-connection`.
pub async fn replace_track(pc: &RtcPeerConnection, track: &MediaStreamTrack) -> Result<(), LinkError> {
    let fail = |e: JsValue| LinkError::new(ErrorCode::PeerConnection, ["replaceTrack failed: ", &js::error_message(&e)].concat());
    let senders: Array = js::try_call(pc, "getSenders").map_err(fail)?.unchecked_into();
    let sender = senders.get(0);
    if sender.is_undefined() {
        return Err(LinkError::new(ErrorCode::PeerConnection, "the peer connection has no sender to swap the track of"));
    }
    let promise = js::try_call1(&sender, "replaceTrack", track).map_err(fail)?;
    js::settle(promise).await.map(|_| ()).map_err(fail)
}

/// Routes `target`'s output (an `AudioContext` or a media element) to the output device
/// `device_id` (`setSinkId`; `""` is the system default). Errors: `unsupported` when the
/// browser has no `setSinkId` on it, `invalid-argument` when the device is unknown or not
/// allowed.
pub async fn set_sink(target: &JsValue, device_id: &str) -> Result<(), LinkError> {
    let has = Reflect::get(target, &"setSinkId".into()).map(|f| f.is_function()).unwrap_or(false);
    if !has {
        return Err(LinkError::new(ErrorCode::Unsupported, "setSpeaker(): this browser cannot choose the output device (no setSinkId)"));
    }
    let bad = |e: JsValue| {
        LinkError::new(ErrorCode::InvalidArgument, ["setSpeaker(): setSinkId failed: ", &js::error_message(&e)].concat())
    };
    let promise = js::try_call1(target, "setSinkId", &device_id.into()).map_err(bad)?;
    js::settle(promise).await.map(|_| ()).map_err(bad)
}

/// Listens to `devicechange` on `navigator.mediaDevices` for as long as it lives.
pub fn watch(f: impl FnMut(&web_sys::Event) + 'static) -> Option<EventListener> {
    let devices = media_devices().ok()?;
    Some(EventListener::new(&devices, "devicechange", f))
}
