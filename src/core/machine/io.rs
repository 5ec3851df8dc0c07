//! What goes into the machine ([`Input`]) and what comes out ([`Effect`]).
//!
//! Inputs produced by a peer connection carry its connection generation `conn` (one number per
//! peer connection, handed out by [`Effect::StartConnect`]); inputs whose `conn` is not the
//! live connection's are ignored. Time is never an input of its own: it is the `now_ms` passed
//! to [`super::Machine::handle`], and [`Input::Timeout`] says "a deadline of
//! [`super::Machine::poll_timeout`] has come".

use super::status::{ConnectPhase, EndReason};
use crate::core::error::LinkError;
use crate::core::session::Session;

/// `RTCPeerConnection.connectionState` / `iceConnectionState` (W3C webrtc-pc), merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// `new`
    New,
    /// `connecting` / `checking`
    Connecting,
    /// `connected` / `completed`
    Connected,
    /// `disconnected`
    Disconnected,
    /// `failed`
    Failed,
    /// `closed`
    Closed,
}

/// Something that happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// The app called `connect()`.
    Connect,
    /// The connect sequence of connection `conn` reached `phase`.
    Phase {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The phase reached.
        phase: ConnectPhase,
    },
    /// The WHIP endpoint created a session for connection `conn`.
    SessionCreated {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The WHIP session.
        session: Session,
    },
    /// The peer connection `conn` changed `connectionState`.
    PeerState {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The new state.
        state: PeerState,
    },
    /// The peer connection `conn` changed `iceConnectionState`.
    IceState {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The new state.
        state: PeerState,
    },
    /// The data channel of connection `conn` opened.
    ChannelOpen {
        /// Connection generation: one number per peer connection.
        conn: u32,
    },
    /// The data channel of connection `conn` closed.
    ChannelClosed {
        /// Connection generation: one number per peer connection.
        conn: u32,
    },
    /// A step of connection `conn` failed.
    Failed {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// What went wrong.
        error: LinkError,
    },
    /// The app (or the library on its behalf) ends the link.
    Disconnect {
        /// Why the link ends.
        reason: EndReason,
    },
    /// The server said the session is over (`{"type":"session.ended"}` on the data channel).
    ServerEnded {
        /// Connection generation: one number per peer connection.
        conn: u32,
    },
    /// `document.visibilityState` became `hidden`.
    PageHidden,
    /// `document.visibilityState` became `visible`.
    PageVisible,
    /// `pagehide` or `freeze`: the page is going away or being frozen.
    PageHide,
    /// The browser's `offline` (`online: false`) or `online` event (`window`, HTML §8.9).
    Network {
        /// `navigator.onLine` after the event.
        online: bool,
    },
    /// The browser's autoplay policy blocked remote audio of connection `conn`.
    AudioBlocked {
        /// Connection generation: one number per peer connection.
        conn: u32,
    },
    /// Remote audio of connection `conn` is playing (again).
    AudioPlaying {
        /// Connection generation: one number per peer connection.
        conn: u32,
    },
    /// Teardown steps that threw (their names); the others ran.
    TeardownFailed {
        /// Names of the steps that threw.
        steps: Vec<&'static str>,
    },
    /// Total bytes received on the transport of connection `conn` (`RTCTransportStats.bytesReceived`).
    TransportSample {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// Cumulative bytes received (`RTCTransportStats.bytesReceived`).
        bytes_received: f64,
    },
    /// The app called `reconnect()` (the reconnect button).
    Reconnect,
    /// The ICE restart `seq` of connection `conn` was answered and applied; media should flow again.
    RestartAnswered {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The ICE restart it concerns (one number per restart).
        seq: u32,
    },
    /// The ICE restart `seq` of connection `conn` failed; `needs_fresh_session`: the server
    /// cannot restart this session (it forgot it, or does not do ICE restarts), so only a fresh
    /// session can help: the old one is `DELETE`d and a new one made in the same attempt.
    RestartFailed {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The ICE restart it concerns (one number per restart).
        seq: u32,
        /// What went wrong.
        error: LinkError,
        /// `true` when the answer says this session cannot be restarted (see
        /// `platform::signaling::restart_refused`: 400, 404, 405, 409, 410, 412, 422, 501).
        needs_fresh_session: bool,
    },
    /// The time [`super::Machine::poll_timeout`] asked for has come: every deadline at or
    /// before the `now_ms` given to `handle` fires, earliest first (the connect or ICE-restart
    /// timeout, the backoff wait, the visibility grace delay, the countdown refresh). Early,
    /// late or repeated `Timeout`s are harmless: only due deadlines fire.
    Timeout,
}

/// What the driver must do, in the order given. After applying them the driver asks
/// [`super::Machine::poll_timeout`] when to feed [`Input::Timeout`] next (one timer).
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Run the connect sequence for connection `conn` (a new peer connection). The machine
    /// times it out itself (`connectTimeoutMs`, through `poll_timeout`).
    StartConnect {
        /// Connection generation: one number per peer connection.
        conn: u32,
    },
    /// Release every resource (mic first). `delete_session`: the WHIP session to `DELETE`;
    /// `page_exit`: the page is going away — no fade (timers may never fire), `DELETE` with
    /// `keepalive`.
    Teardown {
        /// The WHIP session to `DELETE` afterwards, if any.
        delete_session: Option<Session>,
        /// `true` when the page is going away: no fade, `keepalive` DELETE.
        page_exit: bool,
    },
    /// A session was created for a connection that is no longer current: `DELETE` it so the
    /// server does not keep an orphan.
    DeleteOrphan(Session),
    /// Settle the pending `connect()` promise.
    SettleConnect(Result<(), LinkError>),
    /// Settle the pending `reconnect()` promise.
    SettleReconnect(Result<(), LinkError>),
    /// The snapshot changed: tell subscribers.
    Notify,
    /// ICE-restart the peer connection `conn` on its WHIP session (`PATCH`), then feed
    /// [`Input::RestartAnswered`] or [`Input::RestartFailed`] with `seq`. The machine times it
    /// out itself (`connectTimeoutMs`, through `poll_timeout`).
    IceRestart {
        /// Connection generation: one number per peer connection.
        conn: u32,
        /// The ICE restart it concerns (one number per restart).
        seq: u32,
        /// The WHIP session.
        session: Session,
    },
    /// The data channel is open again: send the outbox, in order.
    FlushOutbox,
    /// The link ended for good: drop the outbox.
    ClearOutbox,
}
