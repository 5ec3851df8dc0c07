//! The browser resources of the current connection, and the promises handed to the app.

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use web_sys::AbortController;

use crate::core::LinkError;
use crate::platform::audio::AudioGraph;
use crate::platform::channel::Channel;
use crate::platform::js;
use crate::platform::mic::Microphone;
use crate::platform::peer::Peer;
use crate::platform::playback::Playback;

/// Browser resources of the current connection. Teardown takes them out and releases them in
/// order (`teardown.rs`); each one also releases itself on drop (stops its tracks, removes its
/// listeners, closes).
#[derive(Default)]
pub(super) struct Media {
    /// The connection's `AudioContext` and the meters' analysers.
    pub(super) audio: Option<AudioGraph>,
    /// Aborts the signaling request in flight.
    pub(super) signaling_abort: Option<AbortController>,
    pub(super) mic: Option<Microphone>,
    pub(super) playback: Option<Playback>,
    pub(super) channel: Option<Channel>,
    pub(super) peer: Option<Peer>,
    /// Candidates gathered after the offer, on their way to the server (`ice.rs`).
    pub(super) trickle: Option<super::ice::TrickleState>,
}

/// A promise handed to the app, with the functions that settle it.
pub(super) struct Pending {
    pub(super) promise: Promise,
    resolve: Function,
    reject: Function,
}

impl Pending {
    pub(super) fn new() -> Option<Pending> {
        let mut handles: Option<(Function, Function)> = None;
        let promise = Promise::new(&mut |resolve, reject| handles = Some((resolve, reject)));
        handles.map(|(resolve, reject)| Pending { promise, resolve, reject })
    }

    /// Resolves with `undefined`, or rejects with the error as a `VoiceLinkError`.
    pub(super) fn settle(self, result: Result<(), LinkError>) {
        let _ = match result {
            Ok(()) => self.resolve.call0(&JsValue::UNDEFINED),
            Err(e) => self.reject.call1(&JsValue::UNDEFINED, &js::js_error(&e)),
        };
    }
}
