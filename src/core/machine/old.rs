//! The link's state machine, sans-IO: inputs in (with the time in ms), effects out.
//!
//! The driver feeds every browser event in as an [`Input`] and applies the returned
//! [`Effect`]s in order. Inputs produced by a connection carry its attempt number (one per
//! peer connection); inputs from a peer connection that is no longer current are ignored, so a
//! late callback from a torn-down connection can never change the state of a newer one.
//!
//! Recovery (seed 001 and 004): while connected, an outage is seen when the peer connection or
//! ICE state says `disconnected`/`failed`, or — much sooner, since Chromium takes ~5 s to say
//! so — when no byte arrives on the transport for `outageTimeoutMs`. With the manual policy
//! the link becomes `interrupted` and keeps the session for the grace period until
//! `reconnect()`; with the automatic policy it becomes `reconnecting` and retries with
//! full-jitter backoff. Each recovery attempt is an ICE restart of the same session while the
//! peer connection lives and the grace period runs, else a fresh session (new peer connection
//! and data channel). One attempt at a time.

use ts_rs::TS;

use super::backoff::{Backoff, Rng};
use super::error::{ErrorCode, LinkError};
use super::options::{HiddenPolicy, Options, ReconnectPolicy, VisibilityPolicy};
use super::session::Session;

/// Where the link is: the snapshot's `status` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkStatus", rename_all = "lowercase")]
pub enum Status {
    /// Never connected.
    Idle,
    /// `connect()` is running (see [`ConnectPhase`]).
    Connecting,
    /// Peer connection `connected` and data channel `open`.
    Connected,
    /// The transport is lost and the session kept (manual policy): `reconnect()` brings it back.
    Interrupted,
    /// A recovery attempt runs, or the automatic policy waits for the next one.
    Reconnecting,
    /// Ended on purpose (see [`EndReason`]); every resource released.
    Disconnected,
    /// Ended by an error (the snapshot's `error` says which); every resource released.
    Failed,
}

js_names!(Status {
    Idle => "idle",
    Connecting => "connecting",
    Connected => "connected",
    Interrupted => "interrupted",
    Reconnecting => "reconnecting",
    Disconnected => "disconnected",
    Failed => "failed",
});

/// The step `connect()` is on, in the order it runs them: the snapshot's `phase` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkConnectPhase", rename_all = "lowercase")]
pub enum ConnectPhase {
    /// Resolving the bearer token (string or async provider).
    Token,
    /// Waiting for `getUserMedia`.
    Microphone,
    /// Creating the peer connection, the data channel and the SDP offer, gathering ICE candidates.
    Offer,
    /// The WHIP `POST` of the offer and applying the answer.
    Signaling,
    /// ICE and DTLS: waiting for the peer connection to be `connected` and the channel `open`.
    Ice,
}

js_names!(ConnectPhase {
    Token => "token",
    Microphone => "microphone",
    Offer => "offer",
    Signaling => "signaling",
    Ice => "ice",
});

/// Where the time of the last connect went, in ms (from `connect()` to `connected`).
#[derive(Clone, Copy, Debug, Default, PartialEq, TS)]
#[ts(rename = "VoiceLinkConnectTimings", rename_all = "camelCase")]
pub struct ConnectTimings {
    /// `getUserMedia` (the microphone phase).
    pub mic_ms: f64,
    /// Peer connection, offer, ICE gathering, the WHIP POST and the answer.
    pub signaling_ms: f64,
    /// ICE connectivity and the DTLS handshake, until `connected` with the channel open.
    pub ice_ms: f64,
    /// From the `connect()` call to `connected` (includes the token).
    pub total_ms: f64,
}

/// Why the link ended: the snapshot's `endReason` (kebab-case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkEndReason", rename_all = "kebab-case")]
pub enum EndReason {
    /// `disconnect()` was called.
    User,
    /// `dispose()` was called.
    Disposed,
    /// An error ended it (see the snapshot's `error`).
    Error,
    /// The server ended the session (a `session.ended` event, or it closed the data channel).
    ServerEnded,
    /// The page was hidden (Page Visibility API) with the `"disconnect"` visibility policy.
    Hidden,
    /// The page is being left or frozen (`pagehide` / `freeze`).
    PageHide,
}

js_names!(EndReason {
    User => "user",
    Disposed => "disposed",
    Error => "error",
    ServerEnded => "server-ended",
    Hidden => "hidden",
    PageHide => "page-hide",
});

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
    /// The connect sequence of `attempt` reached `phase`.
    Phase {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The phase reached.
        phase: ConnectPhase,
    },
    /// The WHIP endpoint created a session for `attempt`.
    SessionCreated {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The WHIP session.
        session: Session,
    },
    /// The peer connection of `attempt` changed `connectionState`.
    PeerState {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The new state.
        state: PeerState,
    },
    /// The peer connection of `attempt` changed `iceConnectionState`.
    IceState {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The new state.
        state: PeerState,
    },
    /// The data channel of `attempt` opened.
    ChannelOpen {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
    },
    /// The data channel of `attempt` closed.
    ChannelClosed {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
    },
    /// `connectTimeoutMs` elapsed for `attempt`.
    ConnectTimeout {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
    },
    /// A step of `attempt` failed.
    Failed {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
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
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
    },
    /// `document.visibilityState` became `hidden`.
    PageHidden,
    /// `document.visibilityState` became `visible`.
    PageVisible,
    /// The visibility grace delay armed by [`Effect::ArmVisibilityTimer`] elapsed.
    VisibilityGraceElapsed,
    /// `pagehide` or `freeze`: the page is going away or being frozen.
    PageHide,
    /// The browser's autoplay policy blocked remote audio of `attempt`.
    AudioBlocked {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
    },
    /// Remote audio of `attempt` is playing (again).
    AudioPlaying {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
    },
    /// Teardown steps that threw (their names); the others ran.
    TeardownFailed {
        /// Names of the steps that threw.
        steps: Vec<&'static str>,
    },
    /// Total bytes received on the transport of `attempt` (`RTCTransportStats.bytesReceived`).
    TransportSample {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// Cumulative bytes received (`RTCTransportStats.bytesReceived`).
        bytes_received: f64,
    },
    /// The app called `reconnect()` (the reconnect button).
    Reconnect,
    /// The backoff wait armed by [`Effect::ArmRetryTimer`] elapsed.
    RetryDue,
    /// The ICE restart `seq` of `attempt` was answered and applied; media should flow again.
    RestartAnswered {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The ICE restart it concerns (one number per restart).
        seq: u32,
    },
    /// The ICE restart `seq` of `attempt` failed; `needs_fresh_session`: the server cannot
    /// restart this session (it forgot it, or does not do ICE restarts), so only a fresh session
    /// can help: the old one is `DELETE`d and a new one made in the same attempt.
    RestartFailed {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The ICE restart it concerns (one number per restart).
        seq: u32,
        /// What went wrong.
        error: LinkError,
        /// `true` when the answer says this session cannot be restarted (see
        /// `platform::signaling::restart_refused`: 400, 404, 405, 409, 410, 412, 422, 501).
        needs_fresh_session: bool,
    },
    /// The 500 ms ticker armed by [`Effect::StartTicker`]: refreshes countdowns.
    Tick,
}

/// What the driver must do, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Run the connect sequence for `attempt`, and arm a timer that feeds
    /// [`Input::ConnectTimeout`] after `timeout_ms`.
    StartConnect {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// Milliseconds before giving up.
        timeout_ms: u32,
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
    /// A session was created for an attempt that is no longer current: `DELETE` it so the
    /// server does not keep an orphan.
    DeleteOrphan(Session),
    /// Settle the pending `connect()` promise.
    SettleConnect(Result<(), LinkError>),
    /// Settle the pending `reconnect()` promise.
    SettleReconnect(Result<(), LinkError>),
    /// The snapshot changed: tell subscribers.
    Notify,
    /// Feed [`Input::VisibilityGraceElapsed`] after `ms` unless cancelled.
    ArmVisibilityTimer {
        /// Milliseconds.
        ms: u32,
    },
    /// Cancel the visibility timer, if armed.
    CancelVisibilityTimer,
    /// ICE-restart the peer connection of `attempt` on its WHIP session (`PATCH`), then feed
    /// [`Input::RestartAnswered`] or [`Input::RestartFailed`] with `seq`; give up after `timeout_ms`.
    IceRestart {
        /// The connection (one per peer connection) this belongs to.
        attempt: u32,
        /// The ICE restart it concerns (one number per restart).
        seq: u32,
        /// The WHIP session.
        session: Session,
        /// Milliseconds before giving up.
        timeout_ms: u32,
    },
    /// Feed [`Input::RetryDue`] after `ms` (replaces an armed one).
    ArmRetryTimer {
        /// Milliseconds.
        ms: u32,
    },
    /// Cancel the retry timer, if armed.
    CancelRetryTimer,
    /// Feed [`Input::Tick`] every 500 ms until [`Effect::StopTicker`].
    StartTicker,
    /// Stop the ticker.
    StopTicker,
    /// The data channel is open again: send the outbox, in order.
    FlushOutbox,
    /// The link ended for good: drop the outbox.
    ClearOutbox,
}

/// The recovery attempt in flight.
#[derive(Clone, Copy, Debug, PartialEq)]
enum InFlight {
    /// An ICE restart of the current peer connection; `rx_at_answer` is the transport's byte
    /// count when the answer was applied (`None` until then).
    IceRestart { seq: u32, rx_at_answer: Option<f64> },
    /// A fresh session: a new peer connection and data channel through the connect sequence.
    Fresh,
}

/// Recovery bookkeeping while `interrupted` or `reconnecting`.
#[derive(Clone, Debug, Default)]
struct Recovery {
    /// When the outage was seen (ms); the grace period runs from here.
    outage_at: Option<f64>,
    /// Attempts made in this outage (the snapshot's `reconnectAttempt`).
    attempts: u32,
    in_flight: Option<InFlight>,
    /// When the automatic policy's next attempt is due.
    next_retry_at: Option<f64>,
    /// The user asked (manual): settle `reconnect()` when this attempt ends.
    user_initiated: bool,
    /// The error of the last failed attempt.
    last_error: Option<LinkError>,
}

/// The state machine. See the module docs.
#[derive(Clone, Debug)]
pub struct Machine {
    status: Status,
    phase: Option<ConnectPhase>,
    session: Option<Session>,
    had_session: bool,
    session_replaced: bool,
    error: Option<LinkError>,
    end_reason: Option<EndReason>,
    attempt: u32,
    /// The peer connection of `attempt` exists (not torn down).
    peer_alive: bool,
    peer_connected: bool,
    channel_open: bool,
    rx_bytes: f64,
    rx_growth_at: f64,
    connect_started_ms: f64,
    connect_ms: Option<f64>,
    /// When each connect phase began (index: `ConnectPhase as usize`).
    phase_at: [Option<f64>; 5],
    timings: Option<ConnectTimings>,
    connect_timeout_ms: u32,
    visibility: VisibilityPolicy,
    policy: ReconnectPolicy,
    backoff: Backoff,
    session_grace_ms: u32,
    outage_timeout_ms: u32,
    recovery: Recovery,
    restart_seq: u32,
    rng: Rng,
    now_ms: f64,
    page_hidden: bool,
    audio_blocked: bool,
    teardown_errors: Vec<&'static str>,
    version: u64,
}

impl Machine {
    /// A machine in `idle` for these options; `seed` seeds the backoff jitter.
    pub fn new(options: &Options, seed: u64) -> Self {
        Machine {
            status: Status::Idle,
            phase: None,
            session: None,
            had_session: false,
            session_replaced: false,
            error: None,
            end_reason: None,
            attempt: 0,
            peer_alive: false,
            peer_connected: false,
            channel_open: false,
            rx_bytes: 0.0,
            rx_growth_at: 0.0,
            connect_started_ms: 0.0,
            connect_ms: None,
            phase_at: [None; 5],
            timings: None,
            connect_timeout_ms: options.connect_timeout_ms,
            visibility: options.visibility.clone(),
            policy: options.reconnect,
            backoff: options.backoff,
            session_grace_ms: options.session_grace_ms,
            outage_timeout_ms: options.outage_timeout_ms,
            recovery: Recovery::default(),
            restart_seq: 0,
            rng: Rng::new(seed),
            now_ms: 0.0,
            page_hidden: false,
            audio_blocked: false,
            teardown_errors: Vec::new(),
            version: 0,
        }
    }

    /// Current status.
    pub fn status(&self) -> Status {
        self.status
    }
    /// Current connect phase, while `connecting`.
    pub fn phase(&self) -> Option<ConnectPhase> {
        self.phase
    }
    /// The current WHIP session, once created.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
    /// `true` once a recovery replaced the session with a new one (the old one was gone).
    pub fn session_replaced(&self) -> bool {
        self.session_replaced
    }
    /// The error that ended the link, while `failed`.
    pub fn error(&self) -> Option<&LinkError> {
        self.error.as_ref()
    }
    /// Why the link ended, once `disconnected` or `failed`.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.end_reason
    }
    /// Milliseconds from `connect()` to `connected` for the current connection.
    pub fn connect_ms(&self) -> Option<f64> {
        self.connect_ms
    }
    /// Where the time of the last connect went.
    pub fn timings(&self) -> Option<ConnectTimings> {
        self.timings
    }
    /// The current attempt number (one per peer connection).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Increments whenever anything the snapshot shows changes.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// `true` while the autoplay policy blocks remote audio (see `resumeAudio()`).
    pub fn audio_blocked(&self) -> bool {
        self.audio_blocked
    }
    /// Names of the teardown steps that threw in the last teardown.
    pub fn teardown_errors(&self) -> &[&'static str] {
        &self.teardown_errors
    }
    /// `true` while connecting, connected, interrupted or reconnecting.
    pub fn is_active(&self) -> bool {
        matches!(self.status, Status::Connecting | Status::Connected | Status::Interrupted | Status::Reconnecting)
    }
    /// `true` when inputs tagged with `attempt` still matter.
    pub fn is_current(&self, attempt: u32) -> bool {
        attempt == self.attempt && self.is_active()
    }
    /// `true` when `reconnect()` would do something now (the reconnect button is shown).
    pub fn can_reconnect(&self) -> bool {
        match self.status {
            Status::Interrupted => true,
            Status::Reconnecting => self.recovery.in_flight.is_none(),
            Status::Failed | Status::Disconnected => self.had_session,
            _ => false,
        }
    }
    /// Milliseconds until the server forgets the session, while recovering (`sessionGraceMs`
    /// counted from the outage).
    pub fn grace_remaining_ms(&self) -> Option<f64> {
        let at = self.recovery.outage_at?;
        if !matches!(self.status, Status::Interrupted | Status::Reconnecting) {
            return None;
        }
        Some((at + self.session_grace_ms as f64 - self.now_ms).max(0.0))
    }
    /// Recovery attempts made in the current outage (0 when none).
    pub fn reconnect_attempt(&self) -> u32 {
        self.recovery.attempts
    }
    /// Milliseconds until the automatic policy's next attempt, while it waits.
    pub fn next_retry_in_ms(&self) -> Option<f64> {
        self.recovery.next_retry_at.map(|t| (t - self.now_ms).max(0.0))
    }
    /// The time of the last input, ms.
    pub fn now_ms(&self) -> f64 {
        self.now_ms
    }

    /// Feeds one input at time `now_ms` (any monotonic clock in milliseconds, e.g.
    /// `performance.now()`), returning the effects to apply in order.
    pub fn handle(&mut self, now_ms: f64, input: Input) -> Vec<Effect> {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        match input {
            Input::Connect => {
                if self.is_active() {
                    return Vec::new();
                }
                self.reset_for_new_link();
                self.begin_connection(now, Status::Connecting, None)
            }
            Input::Phase { attempt, phase } => {
                if !self.is_current(attempt) || self.status != Status::Connecting || self.phase == Some(phase) {
                    return Vec::new();
                }
                self.phase = Some(phase);
                self.phase_at[phase as usize] = Some(now);
                vec![self.changed()]
            }
            Input::SessionCreated { attempt, session } => {
                if !self.is_current(attempt) {
                    return vec![Effect::DeleteOrphan(session)];
                }
                self.session = Some(session);
                self.had_session = true;
                vec![self.changed()]
            }
            Input::PeerState { attempt, state } | Input::IceState { attempt, state }
                if !self.is_current(attempt) =>
            {
                let _ = state;
                Vec::new()
            }
            Input::PeerState { state, .. } => match state {
                PeerState::Connected => {
                    self.peer_connected = true;
                    self.progress(now)
                }
                PeerState::Disconnected | PeerState::Failed => {
                    self.peer_connected = false;
                    self.transport_trouble(now, state)
                }
                PeerState::New | PeerState::Connecting | PeerState::Closed => Vec::new(),
            },
            Input::IceState { state, .. } => match state {
                PeerState::Disconnected | PeerState::Failed => self.transport_trouble(now, state),
                _ => Vec::new(),
            },
            Input::ChannelOpen { attempt } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                self.channel_open = true;
                self.progress(now)
            }
            Input::ChannelClosed { attempt } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                self.channel_open = false;
                let closed_early = || {
                    LinkError::new(ErrorCode::PeerConnection, "the data channel closed before it opened: the server refused it")
                };
                match (self.status, self.recovery.in_flight) {
                    (Status::Connected, _) => self.end(EndReason::ServerEnded),
                    (Status::Connecting, _) => self.fail(closed_early()),
                    (Status::Reconnecting, Some(InFlight::Fresh)) => self.attempt_failed(now, closed_early()),
                    // Interrupted or ICE-restarting: the driver opens a new channel once the
                    // transport is back (seed 004: a closed channel cannot be reused).
                    _ => Vec::new(),
                }
            }
            Input::ConnectTimeout { attempt } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                let timeout = |what: &str, ms: u32| {
                    LinkError::new(
                        ErrorCode::ConnectTimeout,
                        format!("not connected after {ms} ms (stuck in the {what} phase): raise connectTimeoutMs or check the server"),
                    )
                };
                match self.status {
                    Status::Connecting => {
                        let during = self.phase.map(phase_name).unwrap_or("connect");
                        self.fail(timeout(during, self.connect_timeout_ms))
                    }
                    Status::Reconnecting if self.recovery.in_flight.is_some() => {
                        self.attempt_failed(now, timeout("reconnect", self.connect_timeout_ms))
                    }
                    _ => Vec::new(),
                }
            }
            Input::Failed { attempt, error } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                match self.status {
                    Status::Reconnecting | Status::Interrupted => self.attempt_failed(now, error),
                    _ => self.fail(error),
                }
            }
            Input::Disconnect { reason } => {
                if !self.is_active() {
                    // Idempotent: nothing to end, but make sure nothing is left either.
                    return vec![Effect::Teardown { delete_session: None, page_exit: false }];
                }
                self.end(reason)
            }
            Input::ServerEnded { attempt } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                self.end(EndReason::ServerEnded)
            }
            Input::PageHidden => {
                self.page_hidden = true;
                if self.visibility.on_hidden != HiddenPolicy::Disconnect || !self.is_active() {
                    return Vec::new();
                }
                match self.visibility.grace_ms {
                    0 => self.end(EndReason::Hidden),
                    ms => vec![Effect::ArmVisibilityTimer { ms }],
                }
            }
            Input::VisibilityGraceElapsed => {
                if !self.page_hidden || self.visibility.on_hidden != HiddenPolicy::Disconnect || !self.is_active() {
                    return Vec::new();
                }
                self.end(EndReason::Hidden)
            }
            Input::PageVisible => {
                self.page_hidden = false;
                let mut out = vec![Effect::CancelVisibilityTimer];
                if self.visibility.resume_on_visible
                    && self.status == Status::Disconnected
                    && self.end_reason == Some(EndReason::Hidden)
                {
                    out.extend(self.handle(now, Input::Connect));
                }
                out
            }
            Input::PageHide => {
                if !self.is_active() {
                    return vec![Effect::Teardown { delete_session: None, page_exit: true }];
                }
                let mut out = self.end(EndReason::PageHide);
                for e in &mut out {
                    if let Effect::Teardown { page_exit, .. } = e {
                        *page_exit = true;
                    }
                }
                out
            }
            Input::AudioBlocked { attempt } => {
                if !self.is_current(attempt) || self.audio_blocked {
                    return Vec::new();
                }
                self.audio_blocked = true;
                vec![self.changed()]
            }
            Input::AudioPlaying { attempt } => {
                if !self.is_current(attempt) || !self.audio_blocked {
                    return Vec::new();
                }
                self.audio_blocked = false;
                vec![self.changed()]
            }
            Input::TeardownFailed { steps } => {
                if steps.is_empty() || steps == self.teardown_errors {
                    return Vec::new();
                }
                self.teardown_errors = steps;
                vec![self.changed()]
            }
            Input::TransportSample { attempt, bytes_received } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                if bytes_received > self.rx_bytes {
                    self.rx_bytes = bytes_received;
                    self.rx_growth_at = now;
                    return self.progress(now);
                }
                if self.status == Status::Connected && now - self.rx_growth_at >= self.outage_timeout_ms as f64 {
                    return self.outage(now);
                }
                Vec::new()
            }
            Input::Reconnect => match self.status {
                // The driver answers these itself (the connect promise, or at once).
                Status::Connecting | Status::Connected => Vec::new(),
                Status::Idle => vec![Effect::SettleReconnect(Err(no_session()))],
                Status::Reconnecting if self.recovery.in_flight.is_some() => Vec::new(),
                Status::Reconnecting | Status::Interrupted => {
                    self.recovery.user_initiated = true;
                    self.start_attempt(now)
                }
                Status::Disconnected | Status::Failed => {
                    if !self.had_session {
                        return vec![Effect::SettleReconnect(Err(no_session()))];
                    }
                    self.reset_for_new_link();
                    self.recovery.user_initiated = true;
                    self.recovery.attempts = 1;
                    self.recovery.in_flight = Some(InFlight::Fresh);
                    self.begin_connection(now, Status::Reconnecting, None)
                }
            },
            Input::RetryDue => {
                if self.status != Status::Reconnecting
                    || self.recovery.in_flight.is_some()
                    || self.recovery.next_retry_at.is_none()
                {
                    return Vec::new();
                }
                self.start_attempt(now)
            }
            Input::RestartAnswered { attempt, seq } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                match &mut self.recovery.in_flight {
                    Some(InFlight::IceRestart { seq: s, rx_at_answer }) if *s == seq => *rx_at_answer = Some(self.rx_bytes),
                    _ => return Vec::new(),
                }
                self.progress(now)
            }
            Input::RestartFailed { attempt, seq, error, needs_fresh_session } => {
                if !self.is_current(attempt)
                    || !matches!(self.recovery.in_flight, Some(InFlight::IceRestart { seq: s, .. }) if s == seq)
                {
                    return Vec::new();
                }
                if needs_fresh_session {
                    // The server forgot the session (404, expired) or cannot restart it (422, 405,
                    // 501, …): a fresh one in the same attempt; the old one is DELETEd.
                    self.recovery.in_flight = None;
                    return self.fresh_attempt(now);
                }
                self.attempt_failed(now, error)
            }
            Input::Tick => {
                if !matches!(self.status, Status::Interrupted | Status::Reconnecting) {
                    return Vec::new();
                }
                // Countdowns move: a new snapshot (at most every tick, 500 ms).
                vec![self.changed()]
            }
        }
    }

    fn changed(&mut self) -> Effect {
        self.version += 1;
        Effect::Notify
    }

    fn reset_for_new_link(&mut self) {
        self.error = None;
        self.end_reason = None;
        self.teardown_errors.clear();
        self.recovery = Recovery::default();
        self.session_replaced = false;
    }

    /// Starts a new peer connection (attempt) in `status`, after releasing the previous one
    /// (and deleting `old_session`).
    fn begin_connection(&mut self, now: f64, status: Status, old_session: Option<Session>) -> Vec<Effect> {
        self.attempt += 1;
        self.status = status;
        self.phase = (status == Status::Connecting).then_some(ConnectPhase::Token);
        self.session = None;
        self.peer_alive = true;
        self.peer_connected = false;
        self.channel_open = false;
        self.rx_bytes = 0.0;
        self.rx_growth_at = now;
        self.connect_started_ms = now;
        self.connect_ms = None;
        self.phase_at = [None; 5];
        self.phase_at[ConnectPhase::Token as usize] = Some(now);
        self.audio_blocked = false;
        vec![
            Effect::Teardown { delete_session: old_session, page_exit: false },
            Effect::StartConnect { attempt: self.attempt, timeout_ms: self.connect_timeout_ms },
            self.changed(),
        ]
    }

    /// Connecting or recovering may have just completed.
    fn progress(&mut self, now: f64) -> Vec<Effect> {
        let ready = self.peer_connected && self.channel_open;
        match (self.status, self.recovery.in_flight) {
            (Status::Connecting, _) if ready => {
                self.status = Status::Connected;
                self.phase = None;
                self.connect_ms = Some((now - self.connect_started_ms).max(0.0));
                self.timings = Some(self.connect_timings(now));
                self.rx_growth_at = now;
                vec![Effect::SettleConnect(Ok(())), Effect::FlushOutbox, self.changed()]
            }
            (Status::Reconnecting, Some(InFlight::Fresh)) if ready => self.restored(now),
            (Status::Reconnecting, Some(InFlight::IceRestart { rx_at_answer: Some(rx0), .. }))
                if ready && self.rx_bytes > rx0 =>
            {
                self.restored(now)
            }
            // The blip passed by itself: media flows again on the same connection.
            (Status::Interrupted, _) | (Status::Reconnecting, None)
                if ready && self.peer_alive && now - self.rx_growth_at < self.outage_timeout_ms as f64 =>
            {
                self.restored(now)
            }
            _ => Vec::new(),
        }
    }

    fn connect_timings(&self, now: f64) -> ConnectTimings {
        let at = |p: ConnectPhase| self.phase_at[p as usize];
        let span = |from: Option<f64>, to: Option<f64>| match (from, to) {
            (Some(a), Some(b)) => (b - a).max(0.0),
            _ => 0.0,
        };
        ConnectTimings {
            mic_ms: span(at(ConnectPhase::Microphone), at(ConnectPhase::Offer)),
            signaling_ms: span(at(ConnectPhase::Offer), at(ConnectPhase::Ice)),
            ice_ms: span(at(ConnectPhase::Ice), Some(now)),
            total_ms: (now - self.connect_started_ms).max(0.0),
        }
    }

    /// `disconnected`/`failed` from the peer connection or ICE.
    fn transport_trouble(&mut self, now: f64, state: PeerState) -> Vec<Effect> {
        match (self.status, state) {
            (Status::Connecting, PeerState::Failed) => self.fail(LinkError::new(
                ErrorCode::IceFailed,
                "the peer connection failed (ICE/DTLS): check network, firewall and ICE servers",
            )),
            (Status::Connected, _) => self.outage(now),
            (Status::Reconnecting, PeerState::Failed) if self.recovery.in_flight.is_some() => self.attempt_failed(
                now,
                LinkError::new(ErrorCode::IceFailed, "the peer connection failed again while reconnecting"),
            ),
            _ => Vec::new(),
        }
    }

    /// The transport of a connected link is lost.
    fn outage(&mut self, now: f64) -> Vec<Effect> {
        if self.status != Status::Connected {
            return Vec::new();
        }
        self.recovery = Recovery { outage_at: Some(now), ..Recovery::default() };
        let mut out = vec![Effect::StartTicker];
        match self.policy {
            ReconnectPolicy::Manual => self.status = Status::Interrupted,
            ReconnectPolicy::Auto => {
                self.status = Status::Reconnecting;
                out.extend(self.schedule_retry(now));
            }
        }
        out.push(self.changed());
        out
    }

    fn schedule_retry(&mut self, now: f64) -> Vec<Effect> {
        let ms = self.backoff.delay_ms(self.recovery.attempts + 1, self.rng.next_f64());
        self.recovery.next_retry_at = Some(now + ms as f64);
        vec![Effect::ArmRetryTimer { ms }]
    }

    /// One recovery attempt: an ICE restart of the live session, else a fresh session.
    fn start_attempt(&mut self, now: f64) -> Vec<Effect> {
        self.recovery.next_retry_at = None;
        self.recovery.attempts += 1;
        let within_grace = self.recovery.outage_at.is_some_and(|t| now < t + self.session_grace_ms as f64);
        let session = self.session.clone().filter(|s| s.url.is_some());
        match session {
            Some(session) if self.peer_alive && within_grace => {
                self.restart_seq += 1;
                let seq = self.restart_seq;
                self.recovery.in_flight = Some(InFlight::IceRestart { seq, rx_at_answer: None });
                self.status = Status::Reconnecting;
                vec![
                    Effect::CancelRetryTimer,
                    Effect::IceRestart { attempt: self.attempt, seq, session, timeout_ms: self.connect_timeout_ms },
                    self.changed(),
                ]
            }
            _ => {
                let mut out = vec![Effect::CancelRetryTimer];
                out.extend(self.fresh_attempt(now));
                out
            }
        }
    }

    /// Replaces the session: a new peer connection and data channel through the connect
    /// sequence; the old session is deleted (it is gone, or will be).
    fn fresh_attempt(&mut self, now: f64) -> Vec<Effect> {
        self.recovery.in_flight = Some(InFlight::Fresh);
        let old = self.session.take();
        self.begin_connection(now, Status::Reconnecting, old)
    }

    /// The link is connected again after an outage.
    fn restored(&mut self, now: f64) -> Vec<Effect> {
        if self.recovery.in_flight == Some(InFlight::Fresh) {
            self.session_replaced = true;
        }
        self.status = Status::Connected;
        self.phase = None;
        self.error = None;
        self.recovery = Recovery::default();
        self.rx_growth_at = now;
        if self.connect_ms.is_none() {
            self.connect_ms = Some((now - self.connect_started_ms).max(0.0));
        }
        vec![
            Effect::StopTicker,
            Effect::CancelRetryTimer,
            Effect::SettleReconnect(Ok(())),
            Effect::FlushOutbox,
            self.changed(),
        ]
    }

    /// A recovery attempt failed: manual → back to `interrupted`; automatic → the next attempt
    /// after the backoff, or `failed` after the last one.
    fn attempt_failed(&mut self, now: f64, error: LinkError) -> Vec<Effect> {
        let was_fresh = self.recovery.in_flight == Some(InFlight::Fresh);
        self.recovery.in_flight = None;
        self.recovery.user_initiated = false;
        self.recovery.last_error = Some(error.clone());
        let mut out = Vec::new();
        if was_fresh {
            // A half-built connection is worth nothing: release it (mic included) and its session.
            self.peer_alive = false;
            self.peer_connected = false;
            self.channel_open = false;
            out.push(Effect::Teardown { delete_session: self.session.take(), page_exit: false });
        }
        out.push(Effect::SettleReconnect(Err(error.clone())));
        let outage = self.recovery.outage_at.is_some();
        if outage && self.policy == ReconnectPolicy::Manual {
            self.status = Status::Interrupted;
        } else if outage && self.recovery.attempts < self.backoff.attempts {
            self.status = Status::Reconnecting;
            out.extend(self.schedule_retry(now));
        } else {
            // Out of attempts (or a reconnect() from failed/disconnected that did not work).
            self.status = Status::Failed;
            self.error = Some(error);
            self.end_reason = Some(EndReason::Error);
            self.recovery.outage_at = None;
            self.recovery.next_retry_at = None;
            self.peer_alive = false;
            out.extend([
                Effect::StopTicker,
                Effect::CancelRetryTimer,
                Effect::Teardown { delete_session: self.session.take(), page_exit: false },
            ]);
        }
        out.push(self.changed());
        out
    }

    fn end(&mut self, reason: EndReason) -> Vec<Effect> {
        let was_connecting = self.status == Status::Connecting;
        self.status = Status::Disconnected;
        self.end_reason = Some(reason);
        self.finish(was_connecting, LinkError::aborted())
    }

    fn fail(&mut self, error: LinkError) -> Vec<Effect> {
        let was_connecting = self.status == Status::Connecting;
        self.status = Status::Failed;
        self.end_reason = Some(EndReason::Error);
        self.error = Some(error.clone());
        self.finish(was_connecting, error)
    }

    /// Common tail of `end` and `fail`: release everything and settle what is pending.
    fn finish(&mut self, was_connecting: bool, error: LinkError) -> Vec<Effect> {
        self.phase = None;
        self.audio_blocked = false;
        self.peer_alive = false;
        self.peer_connected = false;
        self.channel_open = false;
        self.recovery = Recovery::default();
        let mut out = vec![
            Effect::CancelVisibilityTimer,
            Effect::CancelRetryTimer,
            Effect::StopTicker,
            Effect::Teardown { delete_session: self.session.clone(), page_exit: false },
            Effect::ClearOutbox,
        ];
        if was_connecting {
            out.push(Effect::SettleConnect(Err(error.clone())));
        }
        out.push(Effect::SettleReconnect(Err(error)));
        out.push(self.changed());
        out
    }
}

fn no_session() -> LinkError {
    LinkError::new(ErrorCode::NoSession, "there is no session to reconnect: call connect() first")
}

fn phase_name(p: ConnectPhase) -> &'static str {
    match p {
        ConnectPhase::Token => "token",
        ConnectPhase::Microphone => "microphone",
        ConnectPhase::Offer => "offer",
        ConnectPhase::Signaling => "signaling",
        ConnectPhase::Ice => "ice",
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::options::RawOptions;

    fn opts(connect_timeout_ms: u32) -> Options {
        let raw = RawOptions { url: Some("http://h/whip".into()), ..Default::default() };
        Options { connect_timeout_ms, ..Options::validate(&raw).unwrap() }
    }

    fn with_visibility(on_hidden: HiddenPolicy, grace_ms: u32, resume_on_visible: bool) -> Options {
        Options { visibility: VisibilityPolicy { on_hidden, grace_ms, resume_on_visible }, ..opts(1000) }
    }

    fn auto(attempts: u32) -> Options {
        Options {
            reconnect: ReconnectPolicy::Auto,
            backoff: Backoff { attempts, ..Backoff::default() },
            session_grace_ms: 10_000,
            ..opts(1000)
        }
    }

    fn session(id: &str) -> Session {
        Session { id: Some(id.into()), url: Some(format!("http://h/whip/sessions/{id}")), etag: None, token: None }
    }

    fn teardown(fx: &[Effect]) -> Option<(Option<Session>, bool)> {
        fx.iter().find_map(|e| match e {
            Effect::Teardown { delete_session, page_exit } => Some((delete_session.clone(), *page_exit)),
            _ => None,
        })
    }

    fn connect_result(fx: &[Effect]) -> Option<Result<(), LinkError>> {
        fx.iter().find_map(|e| match e {
            Effect::SettleConnect(r) => Some(r.clone()),
            _ => None,
        })
    }

    fn reconnect_result(fx: &[Effect]) -> Option<Result<(), LinkError>> {
        fx.iter().find_map(|e| match e {
            Effect::SettleReconnect(r) => Some(r.clone()),
            _ => None,
        })
    }

    fn retry_ms(fx: &[Effect]) -> Option<u32> {
        fx.iter().find_map(|e| match e {
            Effect::ArmRetryTimer { ms } => Some(*ms),
            _ => None,
        })
    }

    fn restart(fx: &[Effect]) -> Option<(u32, u32)> {
        fx.iter().find_map(|e| match e {
            Effect::IceRestart { attempt, seq, .. } => Some((*attempt, *seq)),
            _ => None,
        })
    }

    fn started(fx: &[Effect]) -> Option<u32> {
        fx.iter().find_map(|e| match e {
            Effect::StartConnect { attempt, .. } => Some(*attempt),
            _ => None,
        })
    }

    /// Drives `m` through a full connect at `t` ms; returns the attempt.
    fn bring_up(m: &mut Machine, t: f64, id: &str) -> u32 {
        let a = m.attempt();
        m.handle(t, Input::SessionCreated { attempt: a, session: session(id) });
        m.handle(t + 1.0, Input::PeerState { attempt: a, state: PeerState::Connected });
        m.handle(t + 2.0, Input::ChannelOpen { attempt: a });
        assert_eq!(m.status(), Status::Connected);
        a
    }

    fn connected_with(o: &Options) -> (Machine, u32) {
        let mut m = Machine::new(o, 1);
        m.handle(0.0, Input::Connect);
        let a = bring_up(&mut m, 1.0, "s1");
        (m, a)
    }

    fn connected() -> (Machine, u32) {
        connected_with(&opts(1000))
    }

    #[test]
    fn connect_starts_attempt_and_cleans_first() {
        let mut m = Machine::new(&opts(1234), 1);
        let fx = m.handle(10.0, Input::Connect);
        assert_eq!(
            fx,
            vec![
                Effect::Teardown { delete_session: None, page_exit: false },
                Effect::StartConnect { attempt: 1, timeout_ms: 1234 },
                Effect::Notify
            ]
        );
        assert_eq!(m.status(), Status::Connecting);
        assert_eq!(m.phase(), Some(ConnectPhase::Token));
        assert!(m.handle(11.0, Input::Connect).is_empty(), "a second connect while connecting does nothing");
    }

    #[test]
    fn connected_needs_both_peer_and_channel() {
        let mut m = Machine::new(&opts(1000), 1);
        m.handle(100.0, Input::Connect);
        assert!(m.handle(150.0, Input::ChannelOpen { attempt: 1 }).is_empty());
        assert_eq!(m.status(), Status::Connecting);
        let fx = m.handle(340.0, Input::PeerState { attempt: 1, state: PeerState::Connected });
        assert_eq!(fx, vec![Effect::SettleConnect(Ok(())), Effect::FlushOutbox, Effect::Notify]);
        assert_eq!(m.status(), Status::Connected);
        assert_eq!(m.connect_ms(), Some(240.0));
        assert_eq!(m.phase(), None);
    }

    #[test]
    fn connect_timings_split_the_phases() {
        let mut m = Machine::new(&opts(5000), 1);
        m.handle(1000.0, Input::Connect);
        m.handle(1010.0, Input::Phase { attempt: 1, phase: ConnectPhase::Microphone });
        m.handle(1210.0, Input::Phase { attempt: 1, phase: ConnectPhase::Offer });
        m.handle(1230.0, Input::Phase { attempt: 1, phase: ConnectPhase::Signaling });
        m.handle(1260.0, Input::Phase { attempt: 1, phase: ConnectPhase::Ice });
        m.handle(1300.0, Input::PeerState { attempt: 1, state: PeerState::Connected });
        m.handle(1320.0, Input::ChannelOpen { attempt: 1 });
        assert_eq!(
            m.timings(),
            Some(ConnectTimings { mic_ms: 200.0, signaling_ms: 50.0, ice_ms: 60.0, total_ms: 320.0 })
        );
    }

    #[test]
    fn disconnect_while_connecting_aborts_the_promise() {
        let mut m = Machine::new(&opts(1000), 1);
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::Phase { attempt: 1, phase: ConnectPhase::Microphone });
        let fx = m.handle(2.0, Input::Disconnect { reason: EndReason::User });
        assert_eq!(teardown(&fx), Some((None, false)));
        assert_eq!(connect_result(&fx), Some(Err(LinkError::aborted())));
        assert!(fx.contains(&Effect::ClearOutbox));
        assert_eq!(fx.last(), Some(&Effect::Notify));
        assert_eq!(m.status(), Status::Disconnected);
        assert_eq!(m.end_reason(), Some(EndReason::User));
        assert!(m.error().is_none());
    }

    #[test]
    fn stale_inputs_are_ignored_and_orphan_sessions_deleted() {
        let mut m = Machine::new(&opts(1000), 1);
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::Disconnect { reason: EndReason::User });
        m.handle(2.0, Input::Connect); // attempt 2
        let v = m.version();
        assert!(m.handle(3.0, Input::ChannelOpen { attempt: 1 }).is_empty());
        assert!(m.handle(3.0, Input::PeerState { attempt: 1, state: PeerState::Failed }).is_empty());
        assert!(m.handle(3.0, Input::ConnectTimeout { attempt: 1 }).is_empty());
        assert!(m.handle(3.0, Input::Failed { attempt: 1, error: LinkError::aborted() }).is_empty());
        assert!(m.handle(3.0, Input::TransportSample { attempt: 1, bytes_received: 9e9 }).is_empty());
        let fx = m.handle(4.0, Input::SessionCreated { attempt: 1, session: session("old") });
        assert_eq!(fx, vec![Effect::DeleteOrphan(session("old"))]);
        assert_eq!(m.version(), v, "stale inputs must not notify");
        assert_eq!(m.status(), Status::Connecting);
        assert!(m.session().is_none());
    }

    #[test]
    fn timeout_fails_with_the_phase_named() {
        let mut m = Machine::new(&opts(500), 1);
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::Phase { attempt: 1, phase: ConnectPhase::Signaling });
        let fx = m.handle(501.0, Input::ConnectTimeout { attempt: 1 });
        let e = connect_result(&fx).unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::ConnectTimeout);
        assert!(e.message.contains("signaling") && e.message.contains("500 ms"), "{}", e.message);
        assert_eq!(m.status(), Status::Failed);
        let (mut m, a) = connected();
        assert!(m.handle(2000.0, Input::ConnectTimeout { attempt: a }).is_empty(), "a timeout after connecting means nothing");
        assert_eq!(m.status(), Status::Connected);
    }

    #[test]
    fn failure_while_connecting_rejects_and_tears_down() {
        let mut m = Machine::new(&opts(1000), 1);
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::SessionCreated { attempt: 1, session: session("s") });
        let err = LinkError::new(ErrorCode::IceFailed, "x");
        let fx = m.handle(5.0, Input::Failed { attempt: 1, error: err.clone() });
        assert_eq!(teardown(&fx), Some((Some(session("s")), false)), "the created session is deleted");
        assert_eq!(connect_result(&fx), Some(Err(err.clone())));
        assert_eq!(m.status(), Status::Failed);
        assert_eq!(m.error(), Some(&err));
        m.handle(6.0, Input::Connect);
        assert!(m.error().is_none() && m.end_reason().is_none(), "the next connect clears the error");
    }

    #[test]
    fn server_closing_the_channel_ends_the_link() {
        let (mut m, a) = connected();
        let fx = m.handle(10.0, Input::ChannelClosed { attempt: a });
        assert_eq!(teardown(&fx), Some((Some(session("s1")), false)));
        assert_eq!(m.status(), Status::Disconnected);
        assert_eq!(m.end_reason(), Some(EndReason::ServerEnded));
    }

    #[test]
    fn disconnect_is_idempotent() {
        let (mut m, _) = connected();
        let fx = m.handle(10.0, Input::Disconnect { reason: EndReason::User });
        assert_eq!(teardown(&fx), Some((Some(session("s1")), false)));
        let v = m.version();
        for _ in 0..3 {
            let fx = m.handle(11.0, Input::Disconnect { reason: EndReason::Disposed });
            assert_eq!(fx, vec![Effect::Teardown { delete_session: None, page_exit: false }]);
        }
        assert_eq!(m.version(), v);
        assert_eq!(m.end_reason(), Some(EndReason::User));
    }

    #[test]
    fn phases_notify_once_each() {
        let mut m = Machine::new(&opts(1000), 1);
        m.handle(0.0, Input::Connect);
        let v = m.version();
        assert_eq!(m.handle(1.0, Input::Phase { attempt: 1, phase: ConnectPhase::Microphone }), vec![Effect::Notify]);
        assert!(m.handle(1.0, Input::Phase { attempt: 1, phase: ConnectPhase::Microphone }).is_empty());
        assert_eq!(m.version(), v + 1);
    }

    #[test]
    fn hidden_disconnects_at_once_by_default() {
        let (mut m, _) = connected();
        let fx = m.handle(10.0, Input::PageHidden);
        assert!(teardown(&fx).is_some());
        assert_eq!(m.status(), Status::Disconnected);
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
        assert_eq!(m.handle(20.0, Input::PageVisible), vec![Effect::CancelVisibilityTimer], "no resume unless asked");
        assert_eq!(m.status(), Status::Disconnected);
    }

    #[test]
    fn hidden_while_connecting_aborts() {
        let mut m = Machine::new(&opts(1000), 1);
        m.handle(0.0, Input::Connect);
        let fx = m.handle(1.0, Input::PageHidden);
        assert_eq!(connect_result(&fx), Some(Err(LinkError::aborted())));
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    }

    #[test]
    fn hidden_with_grace_waits_and_visible_cancels() {
        let (mut m, _) = connected_with(&with_visibility(HiddenPolicy::Disconnect, 3000, false));
        assert_eq!(m.handle(10.0, Input::PageHidden), vec![Effect::ArmVisibilityTimer { ms: 3000 }]);
        assert_eq!(m.status(), Status::Connected);
        assert_eq!(m.handle(20.0, Input::PageVisible), vec![Effect::CancelVisibilityTimer]);
        assert!(m.handle(3010.0, Input::VisibilityGraceElapsed).is_empty(), "a late timer does nothing");
        assert_eq!(m.status(), Status::Connected);
        m.handle(4000.0, Input::PageHidden);
        let fx = m.handle(7000.0, Input::VisibilityGraceElapsed);
        assert!(teardown(&fx).is_some());
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    }

    #[test]
    fn policy_none_keeps_running_and_resume_reconnects() {
        let mut m = Machine::new(&with_visibility(HiddenPolicy::None, 0, false), 1);
        m.handle(0.0, Input::Connect);
        assert!(m.handle(1.0, Input::PageHidden).is_empty());
        assert_eq!(m.status(), Status::Connecting);

        let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 0, true), 1);
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::PageHidden);
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
        let fx = m.handle(2.0, Input::PageVisible);
        assert_eq!(started(&fx), Some(2));
        assert_eq!(m.status(), Status::Connecting);
        m.handle(3.0, Input::Disconnect { reason: EndReason::User });
        m.handle(4.0, Input::PageHidden);
        assert_eq!(m.handle(5.0, Input::PageVisible), vec![Effect::CancelVisibilityTimer], "a user disconnect is not resumed");
    }

    #[test]
    fn pagehide_tears_down_as_page_exit() {
        let (mut m, _) = connected();
        let fx = m.handle(10.0, Input::PageHide);
        assert_eq!(teardown(&fx), Some((Some(session("s1")), true)));
        assert_eq!(m.end_reason(), Some(EndReason::PageHide));
        let mut m = Machine::new(&with_visibility(HiddenPolicy::None, 0, false), 1);
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::PageHide);
        assert_eq!(m.status(), Status::Disconnected, "pagehide releases everything even with policy none");
    }

    #[test]
    fn server_ended_event_and_audio_blocked() {
        let (mut m, a) = connected();
        assert_eq!(m.handle(5.0, Input::AudioBlocked { attempt: a }), vec![Effect::Notify]);
        assert!(m.audio_blocked());
        assert!(m.handle(5.0, Input::AudioBlocked { attempt: a }).is_empty());
        assert_eq!(m.handle(6.0, Input::AudioPlaying { attempt: a }), vec![Effect::Notify]);
        m.handle(7.0, Input::AudioBlocked { attempt: a });
        let fx = m.handle(10.0, Input::ServerEnded { attempt: a });
        assert!(teardown(&fx).is_some());
        assert_eq!(m.end_reason(), Some(EndReason::ServerEnded));
        assert!(!m.audio_blocked(), "nothing is blocked once ended");
        assert!(m.handle(11.0, Input::ServerEnded { attempt: a }).is_empty());
    }

    #[test]
    fn teardown_failures_are_reported_until_the_next_connect() {
        let (mut m, _) = connected();
        m.handle(1.0, Input::Disconnect { reason: EndReason::User });
        assert_eq!(m.handle(2.0, Input::TeardownFailed { steps: vec!["data channel"] }), vec![Effect::Notify]);
        assert_eq!(m.teardown_errors(), ["data channel"]);
        m.handle(3.0, Input::Connect);
        assert!(m.teardown_errors().is_empty());
    }

    // --- Recovery -------------------------------------------------------------------------

    /// Feeds transport samples every 250 ms from `from` to `to`, growing when `flowing`.
    fn samples(m: &mut Machine, a: u32, from: f64, to: f64, flowing: bool, bytes: &mut f64) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut t = from;
        while t <= to {
            if flowing {
                *bytes += 1000.0;
            }
            out.extend(m.handle(t, Input::TransportSample { attempt: a, bytes_received: *bytes }));
            t += 250.0;
        }
        out
    }

    #[test]
    fn stalled_transport_is_an_outage_within_the_timeout() {
        let (mut m, a) = connected();
        let mut bytes = 0.0;
        samples(&mut m, a, 100.0, 3000.0, true, &mut bytes);
        assert_eq!(m.status(), Status::Connected);
        // Traffic stops after 3000 ms: the outage is seen at 3000 + 1500 (outageTimeoutMs).
        let fx = samples(&mut m, a, 3250.0, 4250.0, false, &mut bytes);
        assert!(fx.is_empty() && m.status() == Status::Connected, "not before the timeout");
        let fx = samples(&mut m, a, 4500.0, 4500.0, false, &mut bytes);
        assert!(fx.contains(&Effect::StartTicker));
        assert_eq!(m.status(), Status::Interrupted);
        assert!(m.can_reconnect());
        assert_eq!(m.grace_remaining_ms(), Some(300_000.0));
        m.handle(64_500.0, Input::Tick);
        assert_eq!(m.grace_remaining_ms(), Some(240_000.0), "the grace period counts down");
        assert!(teardown(&fx).is_none(), "manual policy: nothing is closed, the session is kept");
    }

    #[test]
    fn chromium_disconnected_or_ice_failed_is_an_outage_too() {
        let (mut m, a) = connected();
        m.handle(10.0, Input::IceState { attempt: a, state: PeerState::Disconnected });
        assert_eq!(m.status(), Status::Interrupted);
        let (mut m, a) = connected();
        m.handle(10.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        assert_eq!(m.status(), Status::Interrupted, "manual policy: no auto-close on failed");
    }

    #[test]
    fn manual_reconnect_ice_restarts_the_same_session() {
        let (mut m, a) = connected();
        m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Disconnected });
        let fx = m.handle(2000.0, Input::Reconnect);
        assert_eq!(restart(&fx), Some((a, 1)), "an ICE restart on the same peer connection");
        assert!(teardown(&fx).is_none() && started(&fx).is_none());
        assert_eq!(m.status(), Status::Reconnecting);
        assert!(!m.can_reconnect(), "one attempt at a time");
        assert!(m.handle(2100.0, Input::Reconnect).is_empty(), "a second click while restarting does nothing");
        m.handle(2300.0, Input::TransportSample { attempt: a, bytes_received: 10.0 });
        m.handle(2400.0, Input::RestartAnswered { attempt: a, seq: 1 });
        m.handle(2450.0, Input::PeerState { attempt: a, state: PeerState::Connected });
        assert_eq!(m.status(), Status::Reconnecting, "connected needs media flowing after the answer");
        let fx = m.handle(2500.0, Input::TransportSample { attempt: a, bytes_received: 2000.0 });
        assert_eq!(reconnect_result(&fx), Some(Ok(())));
        assert!(fx.contains(&Effect::FlushOutbox) && fx.contains(&Effect::StopTicker));
        assert_eq!(m.status(), Status::Connected);
        assert_eq!(m.session().and_then(|s| s.id.as_deref()), Some("s1"), "the same session");
        assert!(!m.session_replaced());
    }

    #[test]
    fn a_404_or_an_expired_grace_period_falls_back_to_a_fresh_session() {
        let (mut m, a) = connected();
        m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        m.handle(1500.0, Input::Reconnect);
        let gone = LinkError::http(404, "");
        let fx = m.handle(1600.0, Input::RestartFailed { attempt: a, seq: 1, error: gone, needs_fresh_session: true });
        assert_eq!(teardown(&fx), Some((Some(session("s1")), false)), "the old session is released");
        let b = started(&fx).expect("a fresh connect");
        assert!(b > a);
        let new = bring_up(&mut m, 1700.0, "s2");
        assert_eq!(new, b);
        assert!(m.session_replaced(), "the snapshot says the session was replaced");

        // Grace passed: straight to a fresh session.
        let o = Options { session_grace_ms: 5_000, ..opts(1000) };
        let (mut m, a) = connected_with(&o);
        m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        let fx = m.handle(7000.0, Input::Reconnect);
        assert!(restart(&fx).is_none());
        assert!(started(&fx).is_some());
    }

    #[test]
    fn reconnect_with_no_session_rejects() {
        let mut m = Machine::new(&opts(1000), 1);
        let fx = m.handle(0.0, Input::Reconnect);
        assert_eq!(reconnect_result(&fx).unwrap().unwrap_err().code, ErrorCode::NoSession);
        m.handle(1.0, Input::Connect);
        m.handle(2.0, Input::Failed { attempt: 1, error: LinkError::http(500, "") });
        let fx = m.handle(3.0, Input::Reconnect);
        assert_eq!(reconnect_result(&fx).unwrap().unwrap_err().code, ErrorCode::NoSession, "failed before any session");
    }

    #[test]
    fn manual_failed_attempt_goes_back_to_interrupted() {
        let (mut m, a) = connected();
        m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        m.handle(1500.0, Input::Reconnect);
        let err = LinkError::new(ErrorCode::SignalingNetwork, "down");
        let fx = m.handle(1600.0, Input::RestartFailed { attempt: a, seq: 1, error: err.clone(), needs_fresh_session: false });
        assert_eq!(reconnect_result(&fx), Some(Err(err)));
        assert_eq!(m.status(), Status::Interrupted);
        assert!(m.can_reconnect());
        let fx = m.handle(2000.0, Input::Reconnect);
        assert_eq!(restart(&fx), Some((a, 2)), "the button works again");
    }

    #[test]
    fn auto_policy_backs_off_with_jitter_and_gives_up_after_the_last_attempt() {
        let (mut m, a) = connected_with(&auto(4));
        let fx = m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        assert_eq!(m.status(), Status::Reconnecting);
        let mut t = 1000.0;
        let mut delay = retry_ms(&fx).expect("first wait");
        let mut waits = vec![delay];
        for n in 1..=4u32 {
            let ceiling = Backoff::default().ceiling_ms(n);
            assert!(delay <= ceiling, "attempt {n}: wait {delay} within the ceiling {ceiling}");
            assert_eq!(m.next_retry_in_ms(), Some(delay as f64));
            assert_eq!(m.handle(t + delay as f64 - 1.0, Input::Tick), vec![Effect::Notify]);
            t += delay as f64;
            let fx = m.handle(t, Input::RetryDue);
            assert_eq!(m.reconnect_attempt(), n);
            let is_restart = restart(&fx).is_some();
            assert!(m.handle(t, Input::RetryDue).is_empty(), "never two attempts at once");
            let fx = if is_restart {
                let seq = restart(&fx).unwrap().1;
                m.handle(t + 5.0, Input::RestartFailed { attempt: a, seq, error: LinkError::http(503, ""), needs_fresh_session: false })
            } else {
                m.handle(t + 5.0, Input::Failed { attempt: m.attempt(), error: LinkError::http(503, "") })
            };
            t += 5.0;
            if n < 4 {
                assert_eq!(m.status(), Status::Reconnecting, "attempt {n} failed, more to come");
                delay = retry_ms(&fx).expect("next wait");
                waits.push(delay);
            } else {
                assert_eq!(m.status(), Status::Failed);
                assert!(m.can_reconnect(), "failed, and the button still works");
                assert_eq!(teardown(&fx).map(|t| t.1), Some(false), "everything released");
                assert!(!fx.contains(&Effect::ClearOutbox), "what the app sent is kept for a later reconnect");
            }
        }
        assert!(waits.windows(2).any(|w| w[0] != w[1]) || waits.iter().all(|&w| w == 0), "jittered: {waits:?}");
    }

    #[test]
    fn auto_policy_recovers_and_resets_the_count() {
        let (mut m, a) = connected_with(&auto(10));
        let fx = m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        let d = retry_ms(&fx).unwrap() as f64;
        let fx = m.handle(1000.0 + d, Input::RetryDue);
        let (_, seq) = restart(&fx).expect("ICE restart first while the session lives");
        m.handle(1100.0 + d, Input::RestartAnswered { attempt: a, seq });
        m.handle(1150.0 + d, Input::PeerState { attempt: a, state: PeerState::Connected });
        let fx = m.handle(1200.0 + d, Input::TransportSample { attempt: a, bytes_received: 99.0 });
        assert!(fx.contains(&Effect::CancelRetryTimer));
        assert_eq!(m.status(), Status::Connected);
        assert_eq!(m.reconnect_attempt(), 0);
        assert_eq!(m.next_retry_in_ms(), None);
    }

    #[test]
    fn a_blip_that_heals_by_itself_returns_to_connected() {
        let (mut m, a) = connected();
        let mut bytes = 0.0;
        samples(&mut m, a, 100.0, 1000.0, true, &mut bytes);
        samples(&mut m, a, 1250.0, 2750.0, false, &mut bytes);
        assert_eq!(m.status(), Status::Interrupted);
        samples(&mut m, a, 3000.0, 3000.0, true, &mut bytes);
        assert_eq!(m.status(), Status::Connected);
    }

    #[test]
    fn disconnect_during_backoff_ends_everything() {
        let (mut m, a) = connected_with(&auto(10));
        m.handle(1000.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        let fx = m.handle(1200.0, Input::Disconnect { reason: EndReason::User });
        assert!(fx.contains(&Effect::CancelRetryTimer) && fx.contains(&Effect::StopTicker));
        assert!(teardown(&fx).is_some());
        assert_eq!(m.status(), Status::Disconnected);
        assert!(m.handle(5000.0, Input::RetryDue).is_empty(), "a late retry timer does nothing");
    }
}
