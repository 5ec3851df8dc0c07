//! The microphone: `getUserMedia` with voice constraints; tracks stopped on `stop()` or drop.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack};

use super::js;
use crate::core::{AudioOptions, ErrorCode, LinkError};

/// A captured microphone stream. Dropping it stops every track (the mic indicator goes off)
/// and removes its listener.
pub struct Microphone {
    stream: MediaStream,
    ended: Option<gloo_events::EventListener>,
}

fn audio_constraints(a: &AudioOptions) -> JsValue {
    let o = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&o, &k.into(), &v);
    };
    set("echoCancellation", a.echo_cancellation.into());
    set("noiseSuppression", a.noise_suppression.into());
    set("autoGainControl", a.auto_gain_control.into());
    set("channelCount", JsValue::from(a.channel_count));
    if let Some(id) = &a.device_id {
        let exact = Object::new();
        let _ = Reflect::set(&exact, &"exact".into(), &id.into());
        set("deviceId", exact.into());
    }
    o.into()
}

impl Microphone {
    /// Asks for the microphone. Errors: `mic-denied` (NotAllowedError, SecurityError),
    /// `mic-unavailable` (no device, device busy, constraints unsatisfiable), `unsupported`
    /// (no `navigator.mediaDevices`, e.g. an insecure http: origin).
    /// `device_id`: the device to capture from (`None`: the system default), over
    /// `audio.deviceId`.
    pub async fn acquire(audio: &AudioOptions, device_id: Option<&str>) -> Result<Microphone, LinkError> {
        let devices = web_sys::window()
            .and_then(|w| w.navigator().media_devices().ok())
            .filter(|d| !JsValue::from(d).is_undefined())
            .ok_or_else(|| {
                LinkError::new(
                    ErrorCode::Unsupported,
                    "navigator.mediaDevices is not available: serve the page over https: or from localhost",
                )
            })?;
        let constraints = MediaStreamConstraints::new();
        let audio = AudioOptions { device_id: device_id.map(str::to_string), ..audio.clone() };
        constraints.set_audio(&audio_constraints(&audio));
        constraints.set_video(&JsValue::FALSE);
        let promise = devices.get_user_media_with_constraints(&constraints).map_err(mic_error)?;
        let stream: MediaStream = JsFuture::from(promise)
            .await
            .map_err(mic_error)?
            .dyn_into()
            .map_err(|_| LinkError::new(ErrorCode::MicUnavailable, "getUserMedia did not return a MediaStream"))?;
        Ok(Microphone { stream, ended: None })
    }

    /// Calls `f` when the capture track ends from outside (unplugged, permission revoked,
    /// stopped by the browser), for as long as this `Microphone` lives (`ended` does not fire
    /// for our own `stop()`, Media Capture §4.3.1).
    pub fn on_ended(&mut self, f: impl FnMut(&web_sys::Event) + 'static) {
        self.ended = self.audio_track().map(|t| gloo_events::EventListener::new(&t, "ended", f));
    }

    /// `track.enabled` of every track: `false` sends silence and keeps the device open.
    pub fn set_enabled(&self, enabled: bool) {
        for t in self.stream.get_tracks().iter() {
            if let Ok(t) = t.dyn_into::<MediaStreamTrack>() {
                t.set_enabled(enabled);
            }
        }
    }

    /// The captured stream.
    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// The first audio track.
    pub fn audio_track(&self) -> Option<MediaStreamTrack> {
        self.stream.get_audio_tracks().get(0).dyn_into().ok()
    }

    /// Stops every track, synchronously. Errors from individual tracks are collected;
    /// every track is still attempted.
    pub fn stop(&mut self) -> Result<(), JsValue> {
        self.ended = None;
        let mut first_err = None;
        for t in self.stream.get_tracks().iter() {
            if let Err(e) = js::try_call(&t, "stop") {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Microphone {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn mic_error(e: JsValue) -> LinkError {
    let name = js::error_name(&e);
    let detail = js::error_message(&e);
    match name.as_str() {
        "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => LinkError::new(
            ErrorCode::MicDenied,
            format!("microphone access was denied ({name}): allow the microphone for this site and try again"),
        ),
        _ => LinkError::new(
            ErrorCode::MicUnavailable,
            format!("no usable microphone ({name}: {detail}): connect one or check audio constraints"),
        ),
    }
}
