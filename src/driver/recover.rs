//! The ICE restart of a live WHIP session (RFC 9725 §4.3.1): a new offer with fresh ICE
//! credentials, its fragment `PATCH`ed to the session URL, the server's fragment applied to
//! the previous remote description. The DTLS and SCTP associations — and so the data channel
//! and anything queued in it — survive; only the ICE transport is renegotiated.

use super::Link;
use crate::core::{sdp, ErrorCode, Input, LinkError, Session};
use crate::platform::channel::Channel;
use crate::platform::{clock, peer, signaling, stats};

impl Link {
    pub(super) async fn run_ice_restart(&self, attempt: u32, seq: u32, session: Session) {
        match self.ice_restart_steps(attempt, &session).await {
            Ok(()) => {
                self.dispatch(Input::RestartAnswered { attempt, seq });
                self.watch_restore(attempt).await;
            }
            Err((error, needs_fresh_session)) => self.dispatch(Input::RestartFailed { attempt, seq, error, needs_fresh_session }),
        }
    }

    /// Reads stats every 25 ms (for at most a second) after a restart answer, instead of
    /// waiting for the 250 ms sampler, so the link is `connected` as soon as bytes flow again.
    async fn watch_restore(&self, attempt: u32) {
        for _ in 0..40 {
            let pc = {
                let st = self.0.state.borrow();
                if !st.machine.is_current(attempt) || st.machine.status() != crate::core::Status::Reconnecting {
                    return;
                }
                st.res.peer.as_ref().map(|p| p.connection().clone())
            };
            let Some(pc) = pc else { return };
            if let Some(r) = stats::read(&pc).await {
                self.on_stats(attempt, clock::now_ms(), r.transport_bytes_received, r.raw);
            }
            gloo_timers::future::TimeoutFuture::new(25).await;
        }
    }

    async fn ice_restart_steps(&self, attempt: u32, session: &Session) -> Result<(), (LinkError, bool)> {
        let fail = |code, message: &str| (LinkError::new(code, message), false);
        let pc = self.0.state.borrow().res.peer.as_ref().map(|p| p.connection().clone());
        let token = session.token.clone();
        // No peer connection or session URL to restart: only a fresh session can help.
        let pc = pc.ok_or_else(|| (LinkError::new(ErrorCode::PeerConnection, "no peer connection to restart"), true))?;
        let url = session.url.as_deref().ok_or_else(|| (LinkError::new(ErrorCode::SignalingAnswer, "no session URL"), true))?;

        let offer = peer::create_offer(&pc, true).await.map_err(|e| (e, false))?;
        let fragment = sdp::restart_fragment(&offer)
            .ok_or_else(|| fail(ErrorCode::PeerConnection, "the ICE restart offer has no ICE credentials"))?;
        if !self.is_current(attempt) {
            return Ok(());
        }
        let answer = signaling::patch_ice_restart(url, token.as_deref(), &fragment)
            .await
            .map_err(|e| (e.error, e.needs_fresh_session))?;
        if !self.is_current(attempt) {
            return Ok(());
        }
        let remote = peer::remote_sdp(&pc).ok_or_else(|| fail(ErrorCode::SignalingAnswer, "no previous remote description"))?;
        let updated = sdp::apply_restart_answer(&remote, &answer)
            .ok_or_else(|| fail(ErrorCode::SignalingAnswer, "the ICE restart answer has no ICE credentials"))?;
        peer::apply_answer(&pc, &updated).await.map_err(|e| (e, false))?;

        // Seed 004: a closed data channel cannot be reused — open a new one on the same
        // association.
        let closed = self.0.state.borrow().res.channel.as_ref().is_none_or(|c| !c.is_open() && !c.is_connecting());
        if closed && self.is_current(attempt) {
            let mut channel =
                Channel::create(&pc, &self.0.config.options.data_channel_label).map_err(|e| (e, false))?;
            self.wire_channel(&mut channel, attempt);
            let old = self.0.state.borrow_mut().res.channel.replace(channel);
            drop(old);
        }
        Ok(())
    }
}
