//! Trickle ICE after the offer (issue 16): the peer connection's `icecandidate` listener feeds
//! the core's [`Trickle`], and one request at a time carries what it queued to the server
//! through the signaling seam (WHIP `PATCH` of a trickle-ICE fragment with `If-Match`,
//! Pipecat's JSON `PATCH`). Dropped where the protocol has no way; a refusal (`405`, `422`,
//! `501`) turns it off for the session without failing it.

use super::Link;
use crate::core::trickle::{FragmentHead, Mode, Trickle};
use crate::core::Session;
use crate::platform::peer::{self, Peer};

/// The trickle of the current connection's peer connection.
pub(super) struct TrickleState {
    /// The connection generation it belongs to.
    conn: u32,
    trickle: Trickle,
    head: FragmentHead,
    /// Where requests go, once the answer came.
    session: Option<Session>,
}

impl Link {
    /// After the offer `sdp` of connection `conn`: candidates gathered from now on are queued
    /// (the offer's own are not sent again), and sent once [`Link::open_trickle`] names the
    /// session. The listener is owned by `peer`.
    pub(super) fn start_trickle(&self, peer: &mut Peer, conn: u32, sdp: &str) {
        let mode = self.0.config.signaling.trickle_mode();
        let Some(head) = FragmentHead::of(sdp).filter(|_| mode != Mode::Off) else { return };
        let state = TrickleState { conn, trickle: Trickle::new(mode, sdp), head, session: None };
        self.state_mut().media.trickle = Some(state);
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
                t.session = Some(session.clone());
                t.trickle.open();
            } else {
                t.trickle.stop();
            }
        }
        self.flush_trickle();
    }

    /// Stops trickling on the current peer connection (an ICE restart starts a new generation).
    pub(super) fn stop_trickle(&self) {
        if let Some(t) = self.state_mut().media.trickle.as_mut() {
            t.trickle.stop();
        }
    }

    /// Sends the next batch, if one may go now; when it is answered, the next.
    fn flush_trickle(&self) {
        let next = {
            let mut st = self.state_mut();
            let Some(t) = st.media.trickle.as_mut() else { return };
            let Some(session) = t.session.clone() else { return };
            t.trickle.next_batch().map(|b| (t.conn, session, t.head.clone(), b))
        };
        let Some((conn, session, head, batch)) = next else { return };
        let link = self.clone();
        crate::platform::js::spawn(Box::pin(async move {
            let signaling = std::rc::Rc::clone(&link.0.config.signaling);
            let result = signaling.trickle(&link.0.config.options.url, &session, &head, &batch).await;
            {
                let mut st = link.state_mut();
                let Some(t) = st.media.trickle.as_mut().filter(|t| t.conn == conn) else { return };
                t.trickle.sent(&batch, result);
                if t.trickle.mode() == Mode::Off {
                    log::warn!("the server refused trickled ICE candidates: later ones are dropped");
                }
            }
            link.flush_trickle();
        }));
    }
}
