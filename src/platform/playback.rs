//! Remote audio playback through an `HTMLAudioElement`. Released on drop: muted first, then
//! paused, remote tracks stopped, `srcObject` cleared (seed 000's order: mute before pause).

use gloo_events::EventListener;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlAudioElement, MediaStream};

use super::js;

/// The audio element playing the remote stream.
pub struct Playback {
    el: HtmlAudioElement,
    stream: MediaStream,
    listeners: Vec<EventListener>,
}

impl Playback {
    /// Creates a detached `<audio autoplay>` playing `stream`. `on_blocked` runs when the
    /// browser's autoplay policy refuses `play()` (`NotAllowedError`).
    pub fn start(stream: MediaStream, on_blocked: impl FnOnce() + 'static) -> Result<Playback, JsValue> {
        let el = HtmlAudioElement::new()?;
        el.set_autoplay(true);
        el.set_src_object(Some(&stream));
        let promise = el.play()?;
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = JsFuture::from(promise).await {
                if js::error_name(&e) == "NotAllowedError" {
                    on_blocked();
                } else {
                    log::debug!("remote audio play() failed: {}", js::error_message(&e));
                }
            }
        });
        Ok(Playback { el, stream, listeners: Vec::new() })
    }

    /// The remote stream being played.
    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// The audio element.
    pub fn element(&self) -> &HtmlAudioElement {
        &self.el
    }

    /// Mutes, pauses, stops the remote tracks and clears `srcObject`. Each part runs even
    /// when an earlier one throws; the first error is returned.
    pub fn stop(&mut self) -> Result<(), JsValue> {
        self.listeners.clear();
        let el: &JsValue = self.el.as_ref();
        let mut first = None;
        let mut note = |r: Result<(), JsValue>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        note(js::try_set(el, "muted", &JsValue::TRUE));
        note(js::try_call(el, "pause").map(|_| ()));
        for t in self.stream.get_tracks().iter() {
            note(js::try_call(&t, "stop").map(|_| ()));
        }
        note(js::try_set(el, "srcObject", &JsValue::NULL));
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
