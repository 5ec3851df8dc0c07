//! Remote audio playback that can end without a pop.
//!
//! The remote stream plays through Web Audio — `MediaStreamAudioSourceNode` → `GainNode` →
//! destination, in the connection's shared `AudioContext` — so teardown can ramp the gain to
//! zero before anything stops. The stream is also attached to a muted, playing `<audio>`
//! element: Chromium only feeds remote WebRTC audio into Web Audio while the stream is attached
//! to a media element. Where there is no `AudioContext`, the element plays unmuted and teardown
//! mutes it before pausing. The context itself belongs to [`super::audio::AudioGraph`].

use gloo_events::EventListener;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioContext, AudioContextState, GainNode, HtmlAudioElement, MediaStream, MediaStreamAudioSourceNode};

use super::js;

struct Graph {
    ctx: AudioContext,
    source: MediaStreamAudioSourceNode,
    gain: GainNode,
}

/// A point on an `AudioContext`'s own clock: the end of a fade ramp.
pub struct AudioClock {
    ctx: AudioContext,
    /// `currentTime` (seconds) at which the ramp has reached 0.
    until: f64,
}

impl AudioClock {
    /// `true` once the context has rendered past the ramp's end plus two render quanta (the
    /// quantum that straddles the end, and one of silence), or when it is not running (a
    /// suspended or closed context renders nothing more).
    pub fn passed(&self) -> bool {
        if self.ctx.state() != AudioContextState::Running {
            return true;
        }
        let margin = 2.0 * RENDER_QUANTUM_FRAMES / self.ctx.sample_rate() as f64;
        self.ctx.current_time() >= self.until + margin
    }
}

/// Frames in one Web Audio render quantum (Web Audio API 1.0 §1.1: 128).
const RENDER_QUANTUM_FRAMES: f64 = 128.0;

/// The remote stream being played.
pub struct Playback {
    el: HtmlAudioElement,
    stream: MediaStream,
    graph: Option<Graph>,
    /// The context's `statechange` listener of [`Playback::when_started`] (removed on stop).
    started: Option<EventListener>,
}

fn graph_for(ctx: &AudioContext, stream: &MediaStream) -> Result<Graph, JsValue> {
    let source = ctx.create_media_stream_source(stream)?;
    let gain = ctx.create_gain()?;
    source.connect_with_audio_node(&gain)?;
    gain.connect_with_audio_node(&ctx.destination())?;
    Ok(Graph { ctx: ctx.clone(), source, gain })
}

impl Playback {
    /// Starts playing `stream` through `ctx` (or the element alone without one). Returns the
    /// playback and whether the autoplay policy blocked it (then `resume()` from a user gesture
    /// starts it). `on_play_result(blocked)` is called once the element's `play()` settles.
    pub fn start(
        stream: MediaStream,
        ctx: Option<&AudioContext>,
        on_play_result: impl FnOnce(bool) + 'static,
    ) -> Result<(Playback, bool), JsValue> {
        let el = HtmlAudioElement::new()?;
        el.set_autoplay(true);
        let graph = match ctx.map(|c| graph_for(c, &stream)) {
            Some(Ok(g)) => Some(g),
            Some(Err(e)) => {
                log::warn!("no Web Audio for playback ({}); falling back to the audio element", js::error_message(&e));
                None
            }
            None => None,
        };
        el.set_muted(graph.is_some());
        el.set_src_object(Some(&stream));
        let ctx_blocked = graph.as_ref().is_some_and(|g| g.ctx.state() != AudioContextState::Running);
        let promise = el.play()?;
        crate::platform::js::spawn(Box::pin(async move {
            let blocked = match JsFuture::from(promise).await {
                Ok(_) => false,
                Err(e) => js::error_name(&e) == "NotAllowedError",
            };
            on_play_result(blocked);
        }));
        Ok((Playback { el, stream, graph, started: None }, ctx_blocked))
    }

    /// Calls `f` when the context turns `running` later while the element plays (not paused).
    /// Nothing when the context already runs or there is no graph.
    ///
    /// Firefox: a new `AudioContext` reads `suspended` until its audio output stream has
    /// started, whatever the autoplay policy says — measured with Firefox 153 ESR on
    /// PulseAudio: ~30 ms at low latency, up to ~2 s on a sound server that wakes rarely (a bare
    /// null sink). Chromium reads `running` at once unless autoplay blocks it.
    /// So `suspended` when the remote track arrives is not proof of an autoplay block: without
    /// this, `audioBlocked` stayed `true` while the audio played (tests/e2e/demo.test.mjs, "an
    /// audio output that starts late"). The listener lives as long as this playback.
    pub fn when_started(&mut self, f: impl Fn() + 'static) {
        let Some(g) = &self.graph else { return };
        if g.ctx.state() == AudioContextState::Running {
            return;
        }
        let (ctx, el) = (g.ctx.clone(), self.el.clone());
        self.started = Some(EventListener::new(&g.ctx, "statechange", move |_| {
            if ctx.state() == AudioContextState::Running && !el.paused() {
                f();
            }
        }));
    }

    /// The remote stream being played.
    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// `true` when the `AudioContext` is not running (autoplay policy).
    pub fn is_blocked(&self) -> bool {
        self.graph.as_ref().is_some_and(|g| g.ctx.state() != AudioContextState::Running)
    }

    /// The handles [`Playback::resume`] needs (so no borrow of the playback is held across
    /// its `.await`).
    pub fn resume_handles(&self) -> (Option<AudioContext>, HtmlAudioElement) {
        (self.graph.as_ref().map(|g| g.ctx.clone()), self.el.clone())
    }

    /// Resumes playback after an autoplay block; call from a user gesture. Resolves `true`
    /// when audio is playing afterwards.
    pub async fn resume(ctx: Option<AudioContext>, el: HtmlAudioElement) -> bool {
        if let Some(ctx) = &ctx {
            if let Ok(p) = ctx.resume() {
                let _ = JsFuture::from(p).await;
            }
        }
        let played = match el.play() {
            Ok(p) => JsFuture::from(p).await.is_ok(),
            Err(_) => false,
        };
        played && ctx.is_none_or(|c| c.state() == AudioContextState::Running)
    }

    /// Starts the fade to silence over `fade_ms`: a linear gain ramp on the Web Audio graph
    /// (sample-accurate, on the audio thread), or, without one, an immediate mute of the element.
    /// Returns the clock to wait on: the context and the ramp's end on its clock
    /// (`currentTime`, seconds), or `None` when there is no graph (the mute is immediate).
    pub fn fade_out(&self, fade_ms: u32) -> Result<Option<AudioClock>, JsValue> {
        match &self.graph {
            Some(g) => {
                let now = g.ctx.current_time();
                let end = now + fade_ms as f64 / 1000.0;
                let gain = g.gain.gain();
                gain.cancel_scheduled_values(now)?;
                gain.set_value_at_time(gain.value(), now)?;
                gain.linear_ramp_to_value_at_time(0.0, end)?;
                // Held at 0 after the ramp, whatever else was scheduled.
                gain.set_value_at_time(0.0, end)?;
                Ok(Some(AudioClock { ctx: Clone::clone(&g.ctx), until: end }))
            }
            None => js::try_set(self.el.as_ref(), "muted", &JsValue::TRUE).map(|_| None),
        }
    }

    /// Releases everything: mutes and pauses the element, stops the remote tracks, clears
    /// `srcObject` and disconnects the nodes (the shared context is closed by its owner). Each
    /// part runs even when an earlier one throws; the first error is returned.
    pub fn stop(&mut self) -> Result<(), JsValue> {
        self.started = None;
        let el: &JsValue = self.el.as_ref();
        let mut first = None;
        let mut note = |r: Result<JsValue, JsValue>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        note(js::try_set(el, "muted", &JsValue::TRUE).map(|_| JsValue::UNDEFINED));
        note(js::try_call(el, "pause"));
        for t in self.stream.get_tracks().iter() {
            note(js::try_call(&t, "stop"));
        }
        note(js::try_set(el, "srcObject", &JsValue::NULL).map(|_| JsValue::UNDEFINED));
        if let Some(g) = self.graph.take() {
            note(js::try_call(g.source.as_ref(), "disconnect"));
            note(js::try_call(g.gain.as_ref(), "disconnect"));
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
