//! Bringing a session back after an outage, as the protocol does it:
//! - WHIP (RFC 9725 §4.3.1): an ICE restart of the same peer connection — a new offer with
//!   fresh ICE credentials, its fragment `PATCH`ed to the session URL, the server's fragment
//!   applied to the previous remote description. The DTLS and SCTP associations — and so the
//!   data channel and anything queued in it — survive; only the ICE transport is renegotiated.
//! - the app's `signaling.restart(request)`: the same with a full ICE-restart offer and answer;
//! - Pipecat: a new peer connection and data channel in the same server session (`restart_pc`
//!   with the current `pc_id`), the old one closed only after the new one is answered;
//! - OpenAI, or an app object without `restart`: no restart — the machine makes a fresh session.

use super::Link;
use crate::core::{sdp, ErrorCode, Input, LinkError, Session};
use crate::platform::channel::Channel;
use crate::platform::peer::Peer;
use crate::platform::signaling::{pipecat, whip, Recovery, Signaling};
use crate::platform::{clock, peer};

/// A recovery step's failure: the error, and whether only a fresh session can help.
type Failure = (LinkError, bool);

impl Link {
    pub(super) async fn run_ice_restart(&self, conn: u32, seq: u32, session: Session) {
        match self.ice_restart_steps(conn, &session).await {
            Ok(()) => {
                // Read stats every 25 ms for a second instead of waiting for the regular read,
                // so the link is `connected` as soon as bytes flow again.
                self.state_mut().telemetry.restart_answered(clock::now_ms());
                self.dispatch(Input::RestartAnswered { conn, seq });
            }
            Err((error, needs_fresh_session)) => self.dispatch(Input::RestartFailed { conn, seq, error, needs_fresh_session }),
        }
    }

    async fn ice_restart_steps(&self, conn: u32, session: &Session) -> Result<(), Failure> {
        match self.0.config.signaling.recovery() {
            Recovery::IcePatch => self.whip_ice_restart(conn, session).await,
            Recovery::CustomRestart => self.custom_ice_restart(conn, session).await,
            Recovery::NewPeerSameSession => self.new_peer_same_session(conn, session).await,
            Recovery::FreshSession => Err((
                LinkError::new(ErrorCode::SignalingAnswer, "this signaling has no ICE restart: a new session is made"),
                true,
            )),
        }
    }

    /// The app's `restart(request)` with a full ICE-restart offer; its answer replaces the
    /// remote description.
    async fn custom_ice_restart(&self, conn: u32, session: &Session) -> Result<(), Failure> {
        let Signaling::Custom(custom) = &*self.0.config.signaling else { return Ok(()) };
        let pc = self.state().media.peer.as_ref().map(|p| p.connection().clone());
        let pc = pc.ok_or_else(|| (LinkError::new(ErrorCode::PeerConnection, "no peer connection to restart"), true))?;
        self.stop_trickle();
        let offer = peer::create_offer(&pc, true, self.needs_relay()).await.map_err(|e| (e, false))?;
        if !self.is_current(conn) {
            return Ok(());
        }
        let signal = self.signaling_signal().map_err(|e| (e, false))?;
        let answer = custom.restart(&self.0.config.options.url, &offer, session, &signal).await.map_err(|e| (e, false))?;
        if !self.is_current(conn) {
            return Ok(());
        }
        peer::apply_answer(&pc, &answer).await.map_err(|e| (e, false))
    }

    /// Pipecat's reconnect: a new peer connection (the same microphone track) and data channel,
    /// offered with the current `pc_id` and `restart_pc: true`; once its answer is applied it
    /// takes the old one's place, and only then is the old one closed (closing it first makes
    /// the server forget the `pc_id`). The session id becomes the new `pc_id`.
    async fn new_peer_same_session(&self, conn: u32, session: &Session) -> Result<(), Failure> {
        let Signaling::Pipecat { request_data } = &*self.0.config.signaling else { return Ok(()) };
        let config = &self.0.config;
        let plain = |e| (e, false);
        let mic = self.state().media.mic.as_ref().map(|m| (m.audio_track(), Clone::clone(m.stream())));
        let Some((Some(track), stream)) = mic else {
            return Err((LinkError::new(ErrorCode::MicUnavailable, "no microphone track to send on a new peer connection"), true));
        };
        let mut peer = Peer::new(&config.ice_servers, config.options.relay_only).map_err(plain)?;
        peer.add_track(&track, &stream);
        let mut channel = Channel::create(peer.connection(), &config.options.data_channel_label).map_err(plain)?;
        self.wire_peer(&mut peer, conn);
        self.wire_channel(&mut channel, conn);
        let pc = peer.connection().clone();
        let offer = peer::create_offer(&pc, false, self.needs_relay()).await.map_err(plain)?;
        if !self.is_current(conn) {
            return Ok(()); // `peer` and `channel` close on drop
        }
        let signal = self.signaling_signal().map_err(plain)?;
        let token = session.token.as_deref();
        let answer = pipecat::post_offer(&config.options.url, token, &offer, session.id.as_deref(), request_data, &signal)
            .await
            .map_err(plain)?;
        if !self.is_current(conn) {
            return Ok(());
        }
        peer::apply_answer(&pc, &answer.sdp).await.map_err(plain)?;
        if !self.is_current(conn) {
            return Ok(());
        }
        let old = {
            let mut st = self.state_mut();
            st.telemetry.new_transport(); // the new transport counts bytes from 0
            (st.media.peer.replace(peer), st.media.channel.replace(channel))
        };
        // Now, and not before: the old peer connection and its channel go.
        let (old_peer, old_channel) = old;
        if let Some(mut c) = old_channel {
            let _ = c.close();
        }
        if let Some(mut p) = old_peer {
            let _ = p.close();
        }
        self.dispatch(Input::SessionCreated { conn, session: answer.session });
        Ok(())
    }

    /// The offer of a recovery must wait for a relay candidate (the app's TURN servers, or
    /// `iceTransportPolicy: "relay"`).
    fn needs_relay(&self) -> bool {
        let options = &self.0.config.options;
        let urls: Vec<String> = options.ice_servers.iter().flat_map(|s| s.urls.iter().cloned()).collect();
        crate::core::trickle::needs_relay(options.relay_only, &urls)
    }

    /// An `AbortSignal` for a signaling request of the current connection: teardown aborts it.
    fn signaling_signal(&self) -> Result<web_sys::AbortSignal, LinkError> {
        let abort = crate::platform::js::abort_controller()?;
        let signal = abort.signal();
        let old = self.state_mut().media.signaling_abort.replace(abort);
        drop(old);
        Ok(signal)
    }

    /// WHIP's ICE restart: `PATCH` of a trickle-ICE fragment with the new credentials.
    async fn whip_ice_restart(&self, conn: u32, session: &Session) -> Result<(), Failure> {
        let fail = |code, message: &str| (LinkError::new(code, message), false);
        let pc = self.state().media.peer.as_ref().map(|p| p.connection().clone());
        let token = session.token.clone();
        // No peer connection or session URL to restart: only a fresh session can help.
        let pc = pc.ok_or_else(|| (LinkError::new(ErrorCode::PeerConnection, "no peer connection to restart"), true))?;
        let url = session.url.as_deref().ok_or_else(|| (LinkError::new(ErrorCode::SignalingAnswer, "no session URL"), true))?;

        let generation = self.stop_trickle();
        let offer = peer::create_offer(&pc, true, self.needs_relay()).await.map_err(|e| (e, false))?;
        if let Some(g) = generation {
            self.restart_trickle(conn, g, &offer);
        }
        let fragment = sdp::restart_fragment(&offer)
            .ok_or_else(|| fail(ErrorCode::PeerConnection, "the ICE restart offer has no ICE credentials"))?;
        if !self.is_current(conn) {
            return Ok(());
        }
        let (answer, etag) = whip::patch_ice_restart(url, token.as_deref(), &fragment)
            .await
            .map_err(|e| (e.error, e.needs_fresh_session))?;
        if !self.is_current(conn) {
            return Ok(());
        }
        let remote = peer::remote_sdp(&pc).ok_or_else(|| fail(ErrorCode::SignalingAnswer, "no previous remote description"))?;
        let updated = sdp::apply_restart_answer(&remote, &answer)
            .ok_or_else(|| fail(ErrorCode::SignalingAnswer, "the ICE restart answer has no ICE credentials"))?;
        peer::apply_answer(&pc, &updated).await.map_err(|e| (e, false))?;
        if generation.is_some() {
            // The candidates gathered after the restart offer go now, with the new ETag.
            let mut trickle_session = session.clone();
            trickle_session.etag = etag.or(trickle_session.etag);
            self.open_trickle(conn, &trickle_session, true);
        }

        // Seed 004: a closed data channel cannot be reused — open a new one on the same
        // association.
        let closed = self.state().media.channel.as_ref().is_none_or(|c| !c.is_open() && !c.is_connecting());
        if closed && self.is_current(conn) {
            let mut channel =
                Channel::create(&pc, &self.0.config.options.data_channel_label).map_err(|e| (e, false))?;
            self.wire_channel(&mut channel, conn);
            let old = self.state_mut().media.channel.replace(channel);
            drop(old);
        }
        Ok(())
    }
}
