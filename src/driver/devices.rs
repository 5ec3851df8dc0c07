//! Microphone, speakers and the network as a voice app needs them (issue 15): mute, input and
//! output device choice, a capture track that ends from outside, `devicechange`. What to do is
//! decided by the core's [`MicState`]; this does it with the browser.
//!
//! Privacy: every capture track is owned by a `Microphone` in `Media` (stopped on every exit
//! path by teardown); a new track is stored before anything can fail after it, and the old one
//! is stopped only once the new one is live.
//!
//! [`MicState`]: crate::core::mic::MicState

use js_sys::Promise;
use wasm_bindgen::JsValue;
use web_sys::{MediaStream, MediaStreamTrack};

use super::Link;
use crate::core::mic::{MicAction, DEFAULT_DEVICE};
use crate::core::{ErrorCode, LinkError};
use crate::platform::audio::AudioGraph;
use crate::platform::mic::Microphone;
use crate::platform::{devices, js};

/// A promise of `f`'s outcome: resolves `undefined`, rejects with a `VoiceLinkError`.
fn promise(f: impl std::future::Future<Output = Result<(), LinkError>> + 'static) -> Promise {
    crate::platform::js::promise(Box::pin(async move {
        f.await.map(|()| JsValue::UNDEFINED).map_err(|e| js::js_error(&e))
    }))
}

impl Link {
    /// The connect sequence's first media step: the microphone (or, muted with
    /// `muteReleasesMic`, the silent track — no capture at all) and the connection's
    /// `AudioContext`. `None` when the connection went stale meanwhile (the late capture is
    /// already stopped).
    pub(super) async fn capture_for_connect(&self, conn: u32) -> Result<Option<(MediaStreamTrack, MediaStream)>, LinkError> {
        let (captures, device) = {
            let st = self.state();
            (st.mic.captures_on_connect(), st.mic.constraint().map(str::to_string))
        };
        let mic = match captures {
            true => Some(Microphone::acquire(&self.0.config.options.audio, device.as_deref()).await?),
            false => None,
        };
        if !self.is_current(conn) {
            return Ok(None); // `mic` drops here: a getUserMedia that resolved too late is stopped
        }
        // One AudioContext per connection, for playback, the level meters and the silent track.
        let mut audio = match AudioGraph::new() {
            Ok(a) => Some(a),
            Err(e) => {
                log::warn!("no Web Audio ({}): no level meters, no fade on teardown", js::error_message(&e));
                None
            }
        };
        let outgoing = match &mic {
            Some(m) => {
                let track = m.audio_track().ok_or_else(|| LinkError::new(ErrorCode::MicUnavailable, "getUserMedia returned no audio track"))?;
                // Another reference to the same stream: `Clone::clone`, never the inherent
                // `MediaStream::clone` (JS `clone()`: a second capture track nobody stops).
                let stream = Clone::clone(m.stream());
                if let Some(a) = audio.as_mut() {
                    a.watch_mic(&stream);
                }
                (track, stream)
            }
            None => match audio.as_mut().map(AudioGraph::silence) {
                Some(Ok((stream, track))) => (track, stream),
                _ => return Err(LinkError::new(ErrorCode::Unsupported, "muted before connect needs Web Audio for the silent track")),
            },
        };
        let mut st = self.state_mut();
        if let Some(mut m) = mic {
            m.set_enabled(st.mic.enabled());
            self.watch_mic_end(&mut m, conn);
            st.media.mic = Some(m);
        }
        st.media.audio = audio;
        Ok(Some(outgoing))
    }

    fn watch_mic_end(&self, mic: &mut Microphone, conn: u32) {
        mic.on_ended(self.listener(move |link, _| link.on_mic_ended(conn)));
    }

    /// `setMicEnabled(enabled)`.
    pub fn set_mic_enabled(&self, enabled: bool) -> Promise {
        if let Err(e) = self.check_usable() {
            return Promise::reject(&js::js_error(&e));
        }
        let (action, conn) = {
            let mut st = self.state_mut();
            let st = &mut *st;
            let in_call = st.media.peer.is_some();
            (st.mic.set_enabled(enabled, in_call, st.media.mic.is_some()), st.machine.conn())
        };
        self.notify();
        let link = self.clone();
        promise(async move {
            match action {
                MicAction::None => Ok(()),
                MicAction::Disable | MicAction::Enable => {
                    if let Some(m) = &link.state().media.mic {
                        m.set_enabled(action == MicAction::Enable);
                    }
                    Ok(())
                }
                MicAction::Release => link.release_mic().await,
                MicAction::Capture => {
                    let result = link.capture_and_swap(conn).await;
                    if result.is_err() {
                        link.state_mut().mic.capture_failed();
                        link.notify();
                    }
                    result
                }
            }
        })
    }

    /// Stops the capture track at once (indicator off) and has the sender carry silence.
    async fn release_mic(&self) -> Result<(), LinkError> {
        let (mic, silence, pc) = {
            let mut st = self.state_mut();
            let st = &mut *st;
            let silence = st.media.audio.as_mut().map(|a| {
                a.unwatch_mic();
                a.silence()
            });
            (st.media.mic.take(), silence, st.media.peer.as_ref().map(|p| p.connection().clone()))
        };
        if let Some(mut m) = mic {
            let _ = m.stop();
        }
        match (silence, pc) {
            (Some(Ok((_, track))), Some(pc)) => devices::replace_track(&pc, &track).await,
            // Without Web Audio the sender keeps the stopped track: RTP stops until unmute.
            _ => Ok(()),
        }
    }

    /// Captures with the current constraints and device and swaps the new track in; the old
    /// capture (if any) is stopped only once the new one is live. On failure the old one stays.
    async fn capture_and_swap(&self, conn: u32) -> Result<(), LinkError> {
        let device = self.state().mic.constraint().map(str::to_string);
        let mut mic = Microphone::acquire(&self.0.config.options.audio, device.as_deref()).await?;
        let pc = self.state().media.peer.as_ref().map(|p| p.connection().clone());
        let (Some(pc), Some(track)) = (pc.filter(|_| self.is_current(conn)), mic.audio_track()) else {
            return Ok(()); // the call ended meanwhile: `mic` drops (stopped) here
        };
        devices::replace_track(&pc, &track).await?;
        if !self.is_current(conn) {
            return Ok(());
        }
        self.watch_mic_end(&mut mic, conn);
        let old = {
            let mut st = self.state_mut();
            mic.set_enabled(st.mic.enabled());
            if let Some(a) = st.media.audio.as_mut() {
                a.unwatch_mic();
                a.watch_mic(mic.stream());
            }
            st.media.mic.replace(mic)
        };
        drop(old); // stops the old capture
        self.notify();
        Ok(())
    }

    /// `setMicrophone(deviceId | "default")`.
    pub fn set_microphone(&self, device_id: String) -> Promise {
        if let Err(e) = self.check_usable() {
            return Promise::reject(&js::js_error(&e));
        }
        if device_id.is_empty() {
            let e = LinkError::new(ErrorCode::InvalidArgument, "setMicrophone(): pass a deviceId from listMicrophones(), or \"default\"");
            return Promise::reject(&js::js_error(&e));
        }
        let (swap, conn, previous) = {
            let mut st = self.state_mut();
            let st = &mut *st;
            let previous = st.mic.device_id().to_string();
            let swap = st.mic.choose(&device_id, st.media.peer.is_some(), st.media.mic.is_some());
            (swap, st.machine.conn(), previous)
        };
        self.notify();
        let link = self.clone();
        promise(async move {
            if !swap {
                return Ok(());
            }
            let result = link.capture_and_swap(conn).await;
            if result.is_err() {
                // The old device stays, and so does the choice the app sees.
                link.state_mut().mic.choose(&previous, false, false);
                link.notify();
            }
            result
        })
    }

    /// The capture track of `conn` ended from outside (unplugged, revoked): the default device
    /// takes over if there is one (`on("device", { kind: "mic-lost", … })`), else the session
    /// stays with `micEnabled: false`, silence on the uplink and `on("error")` `mic-lost`.
    fn on_mic_ended(&self, conn: u32) {
        if !self.is_current(conn) {
            return;
        }
        let lost = self.state().media.mic.as_ref().and_then(|m| m.audio_track()).and_then(|t| devices::track_device(&t));
        let link = self.clone();
        crate::platform::js::spawn(Box::pin(async move {
            {
                let mut st = link.state_mut();
                st.mic.choose(DEFAULT_DEVICE, false, false);
            }
            match link.capture_and_swap(conn).await {
                Ok(()) => {
                    let now = link.state().media.mic.as_ref().and_then(|m| m.audio_track()).and_then(|t| devices::track_device(&t));
                    link.emit_device("mic-lost", lost, Some(now.unwrap_or_else(|| DEFAULT_DEVICE.into())));
                }
                Err(e) => {
                    let _ = link.release_mic().await;
                    link.state_mut().mic.lost();
                    link.notify();
                    link.emit_device("mic-lost", lost, None);
                    link.report(&LinkError::new(
                        ErrorCode::MicLost,
                        ["the microphone was lost and no other could take over (", &e.message, "): the call goes on muted"].concat(),
                    ));
                }
            }
        }));
    }

    /// `devicechange`: when the app follows the system default and the default input changed,
    /// capture from the new default.
    pub(super) fn on_device_change(&self) {
        let (follows, track, conn) = {
            let st = self.state();
            let track = st.media.mic.as_ref().and_then(|m| m.audio_track());
            (st.mic.constraint().is_none() && st.mic.enabled(), track, st.machine.conn())
        };
        let Some(track) = track.filter(|_| follows) else { return };
        let link = self.clone();
        crate::platform::js::spawn(Box::pin(async move {
            let Some(default) = devices::default_input().await else { return };
            if devices::default_moved(&track, &default) && link.is_current(conn) {
                if let Err(e) = link.capture_and_swap(conn).await {
                    log::warn!("could not follow the new default microphone: {}", e.message);
                }
            }
        }));
    }

    /// `listMicrophones()` / `listSpeakers()`: `kind` is `"audioinput"` or `"audiooutput"`.
    pub fn list_devices(&self, kind: &'static str) -> Promise {
        crate::platform::js::promise(Box::pin(async move { devices::list(kind).await.map_err(|e| js::js_error(&e)) }))
    }

    /// `setSpeaker(deviceId)`: the remote audio's output device, through the connection's
    /// `AudioContext` (or the audio element without Web Audio). Errors: `unsupported` where
    /// the browser cannot choose (no `setSinkId`), `invalid-argument` for an unknown device,
    /// `not-connected` when no remote audio plays.
    pub fn set_speaker(&self, device_id: String) -> Promise {
        let target: Option<JsValue> = {
            let st = self.state();
            match (st.media.audio.as_ref(), st.media.playback.as_ref()) {
                (Some(a), _) => Some(a.context().clone().into()),
                (None, Some(p)) => Some(p.resume_handles().1.into()),
                _ => None,
            }
        };
        promise(async move {
            let target = target.ok_or_else(|| LinkError::new(ErrorCode::NotConnected, "setSpeaker(): no remote audio is playing: call it once connected"))?;
            let id = if device_id == DEFAULT_DEVICE { "" } else { device_id.as_str() };
            devices::set_sink(&target, id).await
        })
    }
}
