//! The one teardown path. Used by `disconnect()`, `dispose()`, a failed `connect()`, a
//! timeout, the visibility auto-disconnect, `pagehide`/`freeze` and a server-ended session.
//!
//! Order (glitch-free, privacy first):
//! 1. synchronously: stop the microphone tracks (the mic indicator is off before the caller
//!    regains control); start the playback fade (a gain ramp to zero over `fadeOutMs`); abort
//!    the pending signaling request; remove the peer connection and data channel listeners;
//! 2. after the fade: stop playback (pause, stop remote tracks, clear `srcObject`, disconnect
//!    the nodes), close the `AudioContext` (with the meters' analysers), close the data
//!    channel, close the peer connection;
//! 3. hang up as the protocol says: WHIP `DELETE` (with `keepalive` when the page is going
//!    away), the app's `hangup`, or nothing more (OpenAI, Pipecat: closing is the hang-up).
//!
//! On `pagehide`/`freeze` there is no fade: the page may never run a timer again, so all of it
//! happens synchronously. Each step is isolated — one that throws is logged and reported in
//! the snapshot's `teardownErrors`, the rest still run. Resources are taken out of the state,
//! so a second teardown finds nothing: teardown is idempotent.

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsValue;

use super::{Link, Media};
use crate::core::{Input, Session};
use crate::platform::js;

/// After `fadeOutMs` on the page's clock, the longest the teardown waits for the audio clock to
/// pass the end of the fade ramp, ms.
pub const FADE_CLOCK_SLACK_MS: u32 = 100;
/// How often the audio clock is read while waiting, ms.
const FADE_CLOCK_POLL_MS: u32 = 5;

/// Runs `result` as the teardown step `name`: logged at debug when it works, at warn when it
/// throws (its name is kept for the snapshot).
fn step(failed: &mut Vec<&'static str>, name: &'static str, result: Result<(), JsValue>) {
    match result {
        Ok(()) => log::debug!("teardown: {name} released"),
        Err(e) => {
            log::warn!("teardown: {name} failed: {}", js::error_message(&e));
            failed.push(name);
        }
    }
}

impl Link {
    /// Releases every resource of the current connection; `session`: the session to hang up
    /// afterwards as the protocol says (WHIP: `DELETE` with the token it was created with).
    pub(super) fn teardown(&self, session: Option<Session>, page_exit: bool) {
        let (mut res, fade_ms) = {
            let mut st = self.state_mut();
            st.telemetry.stop();
            (std::mem::take(&mut st.media), self.0.config.options.fade_out_ms)
        };
        let mut failed = Vec::new();

        // 1. Now.
        if let Some(mut mic) = res.mic.take() {
            step(&mut failed, "microphone", mic.stop());
        }
        let mut clock = None;
        let fade_ms = match &res.playback {
            Some(p) if !page_exit && fade_ms > 0 => {
                step(&mut failed, "playback fade", p.fade_out(fade_ms).map(|c| clock = c));
                fade_ms
            }
            _ => 0,
        };
        if let Some(abort) = res.signaling_abort.take() {
            abort.abort();
            step(&mut failed, "signaling request", Ok(()));
        }
        if let Some(peer) = res.peer.as_mut() {
            peer.remove_listeners();
        }
        if let Some(channel) = res.channel.as_mut() {
            channel.remove_listeners();
        }

        if fade_ms == 0 {
            release(&mut res, &mut failed);
        }
        let nothing_left = fade_ms == 0 && session.is_none();
        if nothing_left {
            self.report_teardown(failed);
            return;
        }

        // 2 and 3, after the fade. The signaling handle is owned by the future: a page exit's
        // hang-up goes out even when the link itself is gone by then.
        let link = self.weak();
        let (signaling, url) = (Rc::clone(&self.0.config.signaling), self.0.config.options.url.clone());
        let promise = crate::platform::js::promise(Box::pin(async move {
            if fade_ms > 0 {
                TimeoutFuture::new(fade_ms).await;
                // The ramp runs on the audio thread's clock, which lags the page's (output
                // latency, render quantum): stop only once the context has rendered past it,
                // else its last quantum still carries signal (a click). Bounded.
                if let Some(clock) = &clock {
                    let mut waited = 0;
                    while !clock.passed() && waited < FADE_CLOCK_SLACK_MS {
                        TimeoutFuture::new(FADE_CLOCK_POLL_MS).await;
                        waited += FADE_CLOCK_POLL_MS;
                    }
                }
                release(&mut res, &mut failed);
            }
            if let Some(session) = session {
                signaling.hangup(&url, &session, page_exit).await;
            }
            if let Some(link) = Link::from_weak(&link) {
                link.report_teardown(failed);
            }
            Ok(JsValue::UNDEFINED)
        }));
        self.state_mut().closing = Some(promise);
    }

    fn report_teardown(&self, failed: Vec<&'static str>) {
        if !failed.is_empty() {
            self.dispatch(Input::TeardownFailed { steps: failed });
        }
    }
}

/// Step 2: playback, the audio context, data channel, peer connection.
fn release(res: &mut Media, failed: &mut Vec<&'static str>) {
    if let Some(mut playback) = res.playback.take() {
        step(failed, "playback", playback.stop());
    }
    if let Some(mut audio) = res.audio.take() {
        step(failed, "audio context", audio.close());
    }
    if let Some(mut channel) = res.channel.take() {
        step(failed, "data channel", channel.close());
    }
    if let Some(mut peer) = res.peer.take() {
        step(failed, "peer connection", peer.close());
    }
}
