//! The connection's `AudioContext`, shared by playback and the level meters: one context per
//! connection, closed in teardown after the fade.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AnalyserNode, AudioContext, MediaStream, MediaStreamAudioSourceNode, MediaStreamTrack};

use super::js;
use crate::core::levels::rms;

/// Analyser frame size, in samples (~23 ms at 44.1 kHz).
pub const FRAME: u32 = 1024;

struct Analyser {
    source: MediaStreamAudioSourceNode,
    node: AnalyserNode,
}

impl Analyser {
    fn new(ctx: &AudioContext, stream: &MediaStream) -> Result<Analyser, JsValue> {
        let source = ctx.create_media_stream_source(stream)?;
        let node = ctx.create_analyser()?;
        node.set_fft_size(FRAME);
        source.connect_with_audio_node(&node)?;
        Ok(Analyser { source, node })
    }

    fn disconnect(&self) -> Result<(), JsValue> {
        let a = js::try_call(self.source.as_ref(), "disconnect");
        let b = js::try_call(self.node.as_ref(), "disconnect");
        a.and(b).map(|_| ())
    }
}

/// The shared context and the meters' analysers (mic and remote). Dropping it closes the
/// context.
pub struct AudioGraph {
    ctx: AudioContext,
    mic: Option<Analyser>,
    remote: Option<Analyser>,
    /// Reused for every frame: reading levels allocates nothing.
    frame: Vec<f32>,
    /// A silent track for the sender while the microphone is released (`silence()`).
    silence: Option<(MediaStream, MediaStreamTrack)>,
    closed: bool,
}

impl AudioGraph {
    /// A new context. Errors when Web Audio is unavailable.
    pub fn new() -> Result<AudioGraph, JsValue> {
        let frame = vec![0.0; FRAME as usize];
        Ok(AudioGraph { ctx: AudioContext::new()?, mic: None, remote: None, frame, silence: None, closed: false })
    }

    /// A silent audio track (and its stream) from this context (a `MediaStreamAudioDestinationNode`
    /// fed by a `ConstantSourceNode` at 0): what the sender carries while the microphone is released, so
    /// RTP keeps flowing. Made once; stopped when the graph closes.
    pub fn silence(&mut self) -> Result<(MediaStream, MediaStreamTrack), JsValue> {
        if let Some(s) = &self.silence {
            return Ok(s.clone());
        }
        let node = js::try_call(self.ctx.as_ref(), "createMediaStreamDestination")?;
        // A destination with nothing connected renders no frames in Chromium (and so no RTP):
        // feed it a running source of zeros.
        let zeros = js::try_call(self.ctx.as_ref(), "createConstantSource")?;
        js_sys::Reflect::set(&js_sys::Reflect::get(&zeros, &"offset".into())?, &"value".into(), &0.0.into())?;
        js::try_call1(&zeros, "connect", &node)?;
        js::try_call(&zeros, "start")?;
        let stream: MediaStream = js_sys::Reflect::get(&node, &"stream".into())?.dyn_into()?;
        let track: MediaStreamTrack = stream.get_audio_tracks().get(0).dyn_into()?;
        self.silence = Some((Clone::clone(&stream), Clone::clone(&track)));
        Ok((stream, track))
    }

    /// Stops metering the microphone (it was released or swapped).
    pub fn unwatch_mic(&mut self) {
        if let Some(old) = self.mic.take() {
            let _ = old.disconnect();
        }
    }

    /// The context (playback builds its gain graph in it).
    pub fn context(&self) -> &AudioContext {
        &self.ctx
    }

    /// Meters the microphone stream (not routed to the speakers).
    pub fn watch_mic(&mut self, stream: &MediaStream) {
        match Analyser::new(&self.ctx, stream) {
            Ok(a) => self.mic = Some(a),
            Err(e) => log::debug!("no microphone meter: {}", js::error_message(&e)),
        }
    }

    /// Meters the remote stream.
    pub fn watch_remote(&mut self, stream: &MediaStream) {
        if let Some(old) = self.remote.take() {
            let _ = old.disconnect();
        }
        match Analyser::new(&self.ctx, stream) {
            Ok(a) => self.remote = Some(a),
            Err(e) => log::debug!("no remote meter: {}", js::error_message(&e)),
        }
    }

    fn level(frame: &mut [f32], a: Option<&Analyser>) -> Option<f64> {
        let a = a?;
        a.node.get_float_time_domain_data(frame);
        Some(rms(frame))
    }

    /// RMS of the latest frame of the microphone and of the remote audio (0..1).
    pub fn levels(&mut self) -> (Option<f64>, Option<f64>) {
        let mic = Self::level(&mut self.frame, self.mic.as_ref());
        let remote = Self::level(&mut self.frame, self.remote.as_ref());
        (mic, remote)
    }

    /// Disconnects the analysers and closes the context (each part runs even if one throws).
    pub fn close(&mut self) -> Result<(), JsValue> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let mut first = None;
        for a in [self.mic.take(), self.remote.take()].into_iter().flatten() {
            if let Err(e) = a.disconnect() {
                first.get_or_insert(e);
            }
        }
        if let Some((_, track)) = self.silence.take() {
            track.stop();
        }
        if let Err(e) = js::try_call(self.ctx.as_ref(), "close") {
            first.get_or_insert(e);
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for AudioGraph {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
