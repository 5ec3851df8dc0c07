//! Trickle ICE after the offer (issue 16): the peer connection's `icecandidate` listener feeds
//! the core's [`Trickle`], and one request at a time carries what it queued to the server
//! through the signaling seam (WHIP `PATCH` of a trickle-ICE fragment with `If-Match`,
//! Pipecat's JSON `PATCH`). Dropped where the protocol has no way; a refusal (`405`, `422`,
//! `501`) turns it off for the session without failing it. A WHIP ICE restart starts a new
//! generation: the candidates gathered after the restart offer go with its credentials and the
//! ETag the restart answer carried (RFC 9725 §4.3.1), when the session took trickle before.

use super::Link;
use crate::core::trickle::{FragmentHead, Mode, Trickle};
use crate::core::Session;
use crate::platform::peer::{self, Peer};

/// The trickle of the current connection's peer connection.
pub(super) struct TrickleState {
    /// The connection generation it belongs to.
    conn: u32,
    /// The ICE generation: 0 after the connect offer, one more after each ICE restart offer.
    generation: u32,
    trickle: Trickle,
    head: FragmentHead,
    /// The session takes trickle: advertised and never refused. Outlives a generation's stop
    /// (an ICE restart attempt that fails leaves the next one trickling too).
    takes: bool,
    /// Where requests go, once the answer came.
    session: Option<Session>,
}

impl Link {
    /// After the offer `sdp` of connection `conn`: candidates gathered from now on are queued
    /// (the offer's own are not sent again), and sent once [`Link::open_trickle`] names the
    /// session. The listener is owned by `peer`.
    pub(super) fn start_trickle(&self, peer: &mut Peer, conn: u32, sdp: &str) {
        if !self.begin_trickle(conn, 0, sdp, false) {
            return;
        }
        peer.on("icecandidate", self.listener(move |link, ev| {
            let Some((line, mid)) = peer::event_candidate(ev) else { return };
            {
                let mut st = link.state_mut();
                let Some(t) = st.media.trickle.as_mut().filter(|t| t.conn == conn) else { return };
                if line.is_empty() {
                    t.trickle.end();
                } else if mid.as_deref().is_none_or(|m| m == t.head.mid()) {
                    // With BUNDLE the other sections share the first one's transport.
                    t.trickle.candidate(&line);
                }
            }
            link.flush_trickle();
        }));
    }

    /// The answer came: requests may go to `session` — when the server takes trickle
    /// (`advertised`), else the candidates are dropped from now on.
    pub(super) fn open_trickle(&self, conn: u32, session: &Session, advertised: bool) {
        {
            let mut st = self.state_mut();
            let Some(t) = st.media.trickle.as_mut().filter(|t| t.conn == conn) else { return };
            if advertised {
                t.takes = true;
                t.session = Some(session.clone());
                t.trickle.open();
            } else {
                t.trickle.stop();
            }
        }
        self.flush_trickle();
    }

    /// Trickle state of ICE generation `generation` after the offer `sdp`; `false` when the
    /// protocol has no trickle (or the offer no ICE credentials).
    fn begin_trickle(&self, conn: u32, generation: u32, sdp: &str, takes: bool) -> bool {
        let mode = self.0.config.signaling.trickle_mode();
        let Some(head) = FragmentHead::of(sdp).filter(|_| mode != Mode::Off) else { return false };
        let state = TrickleState { conn, generation, trickle: Trickle::new(mode, sdp), head, takes, session: None };
        self.state_mut().media.trickle = Some(state);
        true
    }

    /// Stops trickling the current ICE generation (an ICE restart is coming). Returns the next
    /// generation when the session took trickle (advertised, never refused), for
    /// [`Link::restart_trickle`]; `None` when it did not.
    pub(super) fn stop_trickle(&self) -> Option<u32> {
        let mut st = self.state_mut();
        let t = st.media.trickle.as_mut()?;
        t.trickle.stop();
        t.takes.then_some(t.generation + 1)
    }

    /// After the ICE restart offer `sdp`: the candidates gathered from now on are generation
    /// `generation`'s, queued until [`Link::open_trickle`] (after the restart answer). The
    /// peer connection's `icecandidate` listener stays the one [`Link::start_trickle`] added.
    pub(super) fn restart_trickle(&self, conn: u32, generation: u32, sdp: &str) {
        self.begin_trickle(conn, generation, sdp, true);
    }

    /// Sends the next batch, if one may go now; when it is answered, the next.
    fn flush_trickle(&self) {
        let next = {
            let mut st = self.state_mut();
            let Some(t) = st.media.trickle.as_mut() else { return };
            let Some(session) = t.session.clone() else { return };
            t.trickle.next_batch().map(|b| (t.conn, t.generation, session, t.head.clone(), b))
        };
        let Some((conn, generation, session, head, batch)) = next else { return };
        let link = self.clone();
        crate::platform::js::spawn(Box::pin(async move {
            let signaling = std::rc::Rc::clone(&link.0.config.signaling);
            let result = signaling.trickle(&link.0.config.options.url, &session, &head, &batch).await;
            {
                let mut st = link.state_mut();
                // A request of an earlier ICE generation tells the current one nothing.
                let Some(t) = st.media.trickle.as_mut().filter(|t| t.conn == conn && t.generation == generation) else { return };
                let was_on = t.trickle.mode() != Mode::Off;
                t.trickle.sent(&batch, result);
                if was_on && t.trickle.mode() == Mode::Off {
                    // Refused: no later generation of this session trickles either.
                    t.takes = false;
                    log::warn!("the server refused trickled ICE candidates: later ones are dropped");
                }
            }
            link.flush_trickle();
        }));
    }
}
