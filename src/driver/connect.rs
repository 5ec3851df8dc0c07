//! The connect sequence: token and peer connection (with its data channel and offer, gathering
//! from then on; `prepare.rs`, or done ahead by `prepare()`) → microphone → track on the
//! audio transceiver → the offer once gathering has what it needs → POST → answer → trickle. After every `.await` the connection generation (`conn`) is
//! checked: when it is no longer current (disconnect, dispose, timeout, failure), the step's
//! result is released at once — a late `getUserMedia` has its tracks stopped, a late WHIP
//! session is deleted.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, MessageEvent};

use super::{Link, TokenSource};
use crate::core::outbox::LOW_WATER_BYTES;
use crate::core::{ConnectPhase, ErrorCode, Input, LinkError};
use crate::platform::channel::Channel;
use crate::platform::peer::{self, Peer};
use crate::platform::playback::Playback;
use crate::platform::js;

impl Link {
    pub(super) async fn run_connect(&self, conn: u32) {
        if let Err(error) = self.connect_steps(conn).await {
            // Ignored by the machine when the connection is no longer current.
            self.dispatch(Input::Failed { conn, error });
        }
    }

    fn phase(&self, conn: u32, phase: ConnectPhase) {
        self.dispatch(Input::Phase { conn, phase });
    }

    async fn connect_steps(&self, conn: u32) -> Result<(), LinkError> {
        let config = &self.0.config;

        // The token and the peer connection: what `prepare()` made, else made now. The peer
        // connection comes before the microphone, so gathering runs during getUserMedia.
        let prepared = match self.take_prepared().await {
            Some(p) => p,
            None => {
                let token = resolve_token(&config.token).await?;
                if !self.is_current(conn) {
                    return Ok(());
                }
                self.warm(token).await?
            }
        };
        if !self.is_current(conn) {
            return Ok(()); // `prepared` closes on drop
        }
        let super::prepare::Prepared { token, mut peer, mut channel, needs_relay, trickle_advertised } = prepared;
        self.wire_peer(&mut peer, conn);
        self.wire_channel(&mut channel, conn);
        let pc = peer.connection().clone();
        {
            let mut st = self.state_mut();
            st.media.peer = Some(peer);
            st.media.channel = Some(channel);
        }

        self.phase(conn, ConnectPhase::Microphone);
        let Some((track, stream)) = self.capture_for_connect(conn).await? else { return Ok(()) };

        self.phase(conn, ConnectPhase::Offer);
        // `replaceTrack` settles on the media thread (a few ms in Firefox): the offer, which does
        // not depend on it, goes meanwhile; the outcome is awaited before the answer is applied.
        let sending = peer::send_track(&pc, &track, &stream)?;
        // Gathering has what the connection needs (host candidates; a relay one with TURN):
        // the offer goes, later candidates are trickled (or dropped) — issue 16.
        let offer = peer::offer_sdp(&pc, needs_relay).await?;
        if !self.is_current(conn) {
            return Ok(());
        }
        {
            let mut st = self.state_mut();
            let peer = st.media.peer.take();
            drop(st);
            if let Some(mut peer) = peer {
                self.start_trickle(&mut peer, conn, &offer);
                self.state_mut().media.peer = Some(peer);
            }
        }
        // The previous connection's session is hung up before a new one is offered (a fresh
        // session after an outage, a connect() right after a disconnect()): its teardown hangs up
        // after the fade, ~25-50 ms, bounded (WHIP DELETE 3 s, a custom hangup HANGUP_TIMEOUT_MS).
        // Chromium happened to get here later than that; Firefox gathers loopback candidates in
        // a few ms and offered first (tests/protocols.rs
        // `a_custom_signaling_object_connects_reconnects_and_hangs_up`, Firefox).
        let previous = self.state().closing.clone();
        if let Some(closing) = previous {
            let _ = wasm_bindgen_futures::JsFuture::from(closing).await;
            if !self.is_current(conn) {
                return Ok(());
            }
        }

        self.phase(conn, ConnectPhase::Signaling);
        let abort = js::abort_controller()?;
        let signal = abort.signal();
        self.state_mut().media.signaling_abort = Some(abort);
        let previous = self.state().last_session.clone();
        let answer = config.signaling.offer(&config.options.url, token.as_deref(), &offer, previous.as_ref(), &signal).await;
        if self.is_current(conn) {
            self.state_mut().media.signaling_abort = None;
        }
        let mut answer = match answer {
            Ok(a) => a,
            Err(_) if !self.is_current(conn) => return Ok(()),
            Err(e) => return Err(e),
        };
        // The session keeps the token it was made with: its DELETE carries it even as an orphan
        // (when the connection is stale, the machine answers with DeleteOrphan).
        answer.session.token = token;
        self.open_trickle(conn, &answer.session, answer.trickle || trickle_advertised);
        self.state_mut().last_session = Some(answer.session.clone());
        self.dispatch(Input::SessionCreated { conn, session: answer.session });
        if !self.is_current(conn) {
            return Ok(());
        }
        if !answer.ice_servers.is_empty() {
            // RFC 9725 §4.6: the server's ICE servers (e.g. TURN) join the app's, before ICE
            // connectivity checks start (they start with the answer).
            peer::add_ice_servers(&pc, &config.ice_servers, &answer.ice_servers);
        }
        peer::track_sent(sending).await?;
        peer::apply_answer(&pc, &answer.sdp).await?;
        self.phase(conn, ConnectPhase::Ice);
        Ok(())
    }

    /// Attaches the peer connection listeners; each is owned by the `Peer` and removed when it
    /// is closed or dropped.
    pub(super) fn wire_peer(&self, peer: &mut Peer, conn: u32) {
        let pc = peer.connection().clone();
        peer.on("connectionstatechange", self.listener(move |link, _| {
            link.dispatch(Input::PeerState { conn, state: peer::map_state(pc.connection_state()) });
        }));
        let pc = peer.connection().clone();
        peer.on("iceconnectionstatechange", self.listener(move |link, _| {
            link.dispatch(Input::IceState { conn, state: peer::map_ice_state(pc.ice_connection_state()) });
        }));
        peer.on("track", self.listener(move |link, ev| {
            link.on_remote_track(conn, ev);
        }));
    }

    /// Attaches the data channel listeners; each is owned by the `Channel` and removed when it
    /// is closed or dropped.
    pub(super) fn wire_channel(&self, channel: &mut Channel, conn: u32) {
        channel.set_low_threshold(LOW_WATER_BYTES);
        channel.on("bufferedamountlow", self.listener(move |link, _| {
            link.flush_outbox();
        }));
        channel.on("open", self.listener(move |link, _| {
            link.dispatch(Input::ChannelOpen { conn });
        }));
        channel.on("close", self.listener(move |link, _| {
            link.dispatch(Input::ChannelClosed { conn });
        }));
        channel.on("message", self.listener(move |link, ev| {
            let Some(msg) = ev.dyn_ref::<MessageEvent>().filter(|_| link.is_current(conn)) else { return };
            let value = link.emit_message(msg.data());
            if is_session_ended(&value) {
                link.dispatch(Input::ServerEnded { conn });
            }
        }));
    }

    /// Plays a remote audio track. A second `track` event for the stream already playing
    /// (renegotiation, ICE restart) is ignored: never a second audio element.
    fn on_remote_track(&self, conn: u32, ev: &Event) {
        if !self.is_current(conn) {
            return;
        }
        let Some(stream) = peer::track_stream(ev) else { return };
        if let Some(p) = &self.state().media.playback {
            if p.stream().id() == stream.id() {
                return;
            }
        }
        let weak = self.weak();
        let on_play_result = move |blocked: bool| {
            if let Some(link) = Link::from_weak(&weak) {
                let still_blocked = link.state().media.playback.as_ref().is_some_and(|p| p.is_blocked());
                link.dispatch(if blocked || still_blocked {
                    Input::AudioBlocked { conn }
                } else {
                    Input::AudioPlaying { conn }
                });
            }
        };
        let ctx = self.state().media.audio.as_ref().map(|a| a.context().clone());
        match Playback::start(Clone::clone(&stream), ctx.as_ref(), on_play_result) {
            Ok((mut playback, blocked)) => {
                // Firefox reads a new context `suspended` until its output has started: clear the
                // block once it runs (see `Playback::when_started`).
                let weak = self.weak();
                playback.when_started(move || {
                    if let Some(link) = Link::from_weak(&weak) {
                        link.dispatch(Input::AudioPlaying { conn });
                    }
                });
                let old = {
                    let mut st = self.state_mut();
                    if let Some(audio) = st.media.audio.as_mut() {
                        audio.watch_remote(&stream);
                    }
                    st.media.playback.replace(playback)
                };
                drop(old);
                if blocked {
                    self.dispatch(Input::AudioBlocked { conn });
                }
            }
            Err(e) => log::warn!("remote audio could not start: {}", js::error_message(&e)),
        }
    }
}

/// `true` for the server's end-of-session event: an object whose `type` is `"session.ended"`.
fn is_session_ended(value: &JsValue) -> bool {
    value.is_object()
        && js_sys::Reflect::get(value, &"type".into()).ok().and_then(|t| t.as_string()).as_deref()
            == Some(SESSION_ENDED_EVENT)
}

/// The data-channel event type with which a server ends the session (seed 002's
/// "session finalized"): `{"type":"session.ended"}`.
pub const SESSION_ENDED_EVENT: &str = "session.ended";

pub(super) async fn resolve_token(source: &TokenSource) -> Result<Option<String>, LinkError> {
    let provider = match source {
        TokenSource::None => return Ok(None),
        TokenSource::Static(s) => return Ok(Some(s.clone())),
        TokenSource::Provider(f) => f,
    };
    let fail = |detail: String| {
        LinkError::new(ErrorCode::TokenFailed, format!("the token provider failed: {detail}"))
    };
    let value = provider.call0(&JsValue::UNDEFINED).map_err(|e| fail(js::error_message(&e)))?;
    let value = js::settle(value).await.map_err(|e| fail(js::error_message(&e)))?;
    let Some(token) = value.as_string() else { return Err(fail("it must return (or resolve to) a non-empty string".into())) };
    match crate::core::options::token_problem(&token) {
        None => Ok(Some(token)),
        Some(problem) => Err(fail(["the token it returned ", problem].concat())),
    }
}
