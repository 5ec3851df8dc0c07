//! The link's state machine, sans-IO: inputs in (with the time in ms), effects out.
//!
//! The driver feeds every browser event in as an [`Input`] and applies the returned
//! [`Effect`]s in order. Inputs produced by a connect attempt carry that attempt's number;
//! inputs from an attempt that is no longer current are ignored, so a late callback from a
//! torn-down peer connection can never change the state of a newer one.

use serde::Serialize;

use super::error::{ErrorCode, LinkError};
use super::options::{HiddenPolicy, Options, VisibilityPolicy};
use super::session::Session;

/// Where the link is. Serialised lowercase into the snapshot's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Never connected.
    Idle,
    /// `connect()` is running (see [`ConnectPhase`]).
    Connecting,
    /// Peer connection `connected` and data channel `open`.
    Connected,
    /// Ended on purpose (see [`EndReason`]); every resource released.
    Disconnected,
    /// Ended by an error (the snapshot's `error` says which); every resource released.
    Failed,
}

/// The step `connect()` is on, in the order it runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
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

/// Why the link ended. Serialised kebab-case into the snapshot's `endReason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
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

/// `RTCPeerConnection.connectionState` (W3C webrtc-pc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// `new`
    New,
    /// `connecting`
    Connecting,
    /// `connected`
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
    Phase { attempt: u32, phase: ConnectPhase },
    /// The WHIP endpoint created a session for `attempt`.
    SessionCreated { attempt: u32, session: Session },
    /// The peer connection of `attempt` changed `connectionState`.
    PeerState { attempt: u32, state: PeerState },
    /// The data channel of `attempt` opened.
    ChannelOpen { attempt: u32 },
    /// The data channel of `attempt` closed.
    ChannelClosed { attempt: u32 },
    /// `connectTimeoutMs` elapsed for `attempt`.
    ConnectTimeout { attempt: u32 },
    /// A step of `attempt` failed.
    Failed { attempt: u32, error: LinkError },
    /// The app (or the library on its behalf) ends the link.
    Disconnect { reason: EndReason },
    /// The server said the session is over (`{"type":"session.ended"}` on the data channel).
    ServerEnded { attempt: u32 },
    /// `document.visibilityState` became `hidden`.
    PageHidden,
    /// `document.visibilityState` became `visible`.
    PageVisible,
    /// The visibility grace delay armed by [`Effect::ArmVisibilityTimer`] elapsed.
    VisibilityGraceElapsed,
    /// `pagehide` or `freeze`: the page is going away or being frozen.
    PageHide,
    /// The browser's autoplay policy blocked remote audio of `attempt`.
    AudioBlocked { attempt: u32 },
    /// Remote audio of `attempt` is playing (again).
    AudioPlaying { attempt: u32 },
    /// Teardown steps that threw (their names); the others ran.
    TeardownFailed { steps: Vec<&'static str> },
}

/// What the driver must do, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Run the connect sequence for `attempt`, and arm a timer that feeds
    /// [`Input::ConnectTimeout`] after `timeout_ms`.
    StartConnect { attempt: u32, timeout_ms: u32 },
    /// Release every resource (mic first); `delete_session`: also send the WHIP `DELETE`;
    /// `page_exit`: the page is going away — no fade (timers may never fire), `DELETE` with
    /// `keepalive`.
    Teardown { delete_session: bool, page_exit: bool },
    /// Feed [`Input::VisibilityGraceElapsed`] after `ms` unless cancelled.
    ArmVisibilityTimer { ms: u32 },
    /// Cancel the visibility timer, if armed.
    CancelVisibilityTimer,
    /// A session was created for an attempt that is no longer current: `DELETE` it so the
    /// server does not keep an orphan.
    DeleteOrphan(Session),
    /// Settle the pending `connect()` promise.
    SettleConnect(Result<(), LinkError>),
    /// The snapshot changed: tell subscribers.
    Notify,
}

/// The state machine. See the module docs.
#[derive(Clone, Debug)]
pub struct Machine {
    status: Status,
    phase: Option<ConnectPhase>,
    session: Option<Session>,
    error: Option<LinkError>,
    end_reason: Option<EndReason>,
    attempt: u32,
    peer_connected: bool,
    channel_open: bool,
    connect_started_ms: f64,
    connect_ms: Option<f64>,
    connect_timeout_ms: u32,
    visibility: VisibilityPolicy,
    page_hidden: bool,
    audio_blocked: bool,
    teardown_errors: Vec<&'static str>,
    version: u64,
}

impl Machine {
    /// A machine in `idle` for these options (connect timeout, visibility policy).
    pub fn new(options: &Options) -> Self {
        Machine {
            status: Status::Idle,
            phase: None,
            session: None,
            error: None,
            end_reason: None,
            attempt: 0,
            peer_connected: false,
            channel_open: false,
            connect_started_ms: 0.0,
            connect_ms: None,
            connect_timeout_ms: options.connect_timeout_ms,
            visibility: options.visibility.clone(),
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
    /// `true` while the autoplay policy blocks remote audio (see `resumeAudio()`).
    pub fn audio_blocked(&self) -> bool {
        self.audio_blocked
    }
    /// Names of the teardown steps that threw in the last teardown.
    pub fn teardown_errors(&self) -> &[&'static str] {
        &self.teardown_errors
    }
    /// The current attempt number (increments on every `connect()`).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Increments whenever anything the snapshot shows changes.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// `true` while connecting or connected.
    pub fn is_active(&self) -> bool {
        matches!(self.status, Status::Connecting | Status::Connected)
    }
    /// `true` when inputs tagged with `attempt` still matter.
    pub fn is_current(&self, attempt: u32) -> bool {
        attempt == self.attempt && self.is_active()
    }

    /// Feeds one input at time `now_ms` (any monotonic clock in milliseconds, e.g.
    /// `performance.now()`), returning the effects to apply in order.
    pub fn handle(&mut self, now_ms: f64, input: Input) -> Vec<Effect> {
        match input {
            Input::Connect => {
                if self.is_active() {
                    return Vec::new();
                }
                self.attempt += 1;
                self.status = Status::Connecting;
                self.phase = Some(ConnectPhase::Token);
                self.session = None;
                self.error = None;
                self.end_reason = None;
                self.peer_connected = false;
                self.channel_open = false;
                self.connect_started_ms = now_ms;
                self.connect_ms = None;
                self.audio_blocked = false;
                self.teardown_errors.clear();
                // Clean anything a previous connection may have left before starting anew.
                vec![
                    Effect::Teardown { delete_session: false, page_exit: false },
                    Effect::StartConnect { attempt: self.attempt, timeout_ms: self.connect_timeout_ms },
                    self.changed(),
                ]
            }
            Input::Phase { attempt, phase } => {
                if !self.is_current(attempt) || self.status != Status::Connecting || self.phase == Some(phase) {
                    return Vec::new();
                }
                self.phase = Some(phase);
                vec![self.changed()]
            }
            Input::SessionCreated { attempt, session } => {
                if !self.is_current(attempt) {
                    return vec![Effect::DeleteOrphan(session)];
                }
                self.session = Some(session);
                vec![self.changed()]
            }
            Input::PeerState { attempt, state } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                match state {
                    PeerState::Connected => {
                        self.peer_connected = true;
                        self.check_connected(now_ms)
                    }
                    PeerState::Failed => self.fail(LinkError::new(
                        ErrorCode::IceFailed,
                        "the peer connection failed (ICE/DTLS): check network, firewall and ICE servers",
                    )),
                    PeerState::Disconnected => {
                        // May recover by itself; a later issue grades this as an interruption.
                        self.peer_connected = false;
                        Vec::new()
                    }
                    PeerState::New | PeerState::Connecting | PeerState::Closed => Vec::new(),
                }
            }
            Input::ChannelOpen { attempt } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                self.channel_open = true;
                self.check_connected(now_ms)
            }
            Input::ChannelClosed { attempt } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                self.channel_open = false;
                match self.status {
                    Status::Connected => self.end(EndReason::ServerEnded),
                    _ => self.fail(LinkError::new(
                        ErrorCode::PeerConnection,
                        "the data channel closed before it opened: the server refused it",
                    )),
                }
            }
            Input::ConnectTimeout { attempt } => {
                if !self.is_current(attempt) || self.status != Status::Connecting {
                    return Vec::new();
                }
                let during = self.phase.map(phase_name).unwrap_or("connect");
                self.fail(LinkError::new(
                    ErrorCode::ConnectTimeout,
                    format!(
                        "not connected after {} ms (stuck in the {during} phase): raise connectTimeoutMs or check the server",
                        self.connect_timeout_ms
                    ),
                ))
            }
            Input::Failed { attempt, error } => {
                if !self.is_current(attempt) {
                    return Vec::new();
                }
                self.fail(error)
            }
            Input::Disconnect { reason } => {
                if !self.is_active() {
                    // Idempotent: nothing to end, but make sure nothing is left either.
                    return vec![Effect::Teardown { delete_session: false, page_exit: false }];
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
                    out.extend(self.handle(now_ms, Input::Connect));
                }
                out
            }
            Input::PageHide => {
                if !self.is_active() {
                    return vec![Effect::Teardown { delete_session: false, page_exit: true }];
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
        }
    }

    fn changed(&mut self) -> Effect {
        self.version += 1;
        Effect::Notify
    }

    fn check_connected(&mut self, now_ms: f64) -> Vec<Effect> {
        if self.status != Status::Connecting || !self.peer_connected || !self.channel_open {
            return Vec::new();
        }
        self.status = Status::Connected;
        self.phase = None;
        self.connect_ms = Some((now_ms - self.connect_started_ms).max(0.0));
        vec![Effect::SettleConnect(Ok(())), self.changed()]
    }

    fn end(&mut self, reason: EndReason) -> Vec<Effect> {
        let was_connecting = self.status == Status::Connecting;
        self.status = Status::Disconnected;
        self.phase = None;
        self.end_reason = Some(reason);
        self.audio_blocked = false;
        let mut out = vec![Effect::CancelVisibilityTimer, Effect::Teardown { delete_session: true, page_exit: false }];
        if was_connecting {
            out.push(Effect::SettleConnect(Err(LinkError::aborted())));
        }
        out.push(self.changed());
        out
    }

    fn fail(&mut self, error: LinkError) -> Vec<Effect> {
        let was_connecting = self.status == Status::Connecting;
        self.status = Status::Failed;
        self.phase = None;
        self.end_reason = Some(EndReason::Error);
        self.error = Some(error.clone());
        self.audio_blocked = false;
        let mut out = vec![Effect::CancelVisibilityTimer, Effect::Teardown { delete_session: true, page_exit: false }];
        if was_connecting {
            out.push(Effect::SettleConnect(Err(error)));
        }
        out.push(self.changed());
        out
    }
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

    fn opts(connect_timeout_ms: u32) -> Options {
        let raw = crate::core::options::RawOptions { url: Some("http://h/whip".into()), ..Default::default() };
        Options { connect_timeout_ms, ..Options::validate(raw).unwrap() }
    }

    fn with_visibility(on_hidden: HiddenPolicy, grace_ms: u32, resume_on_visible: bool) -> Options {
        Options { visibility: VisibilityPolicy { on_hidden, grace_ms, resume_on_visible }, ..opts(1000) }
    }

    const TEARDOWN: Effect = Effect::Teardown { delete_session: true, page_exit: false };
    const CLEAN: Effect = Effect::Teardown { delete_session: false, page_exit: false };

    fn session(id: &str) -> Session {
        Session { id: Some(id.into()), url: Some(format!("http://h/whip/sessions/{id}")), etag: None }
    }

    /// Drives a machine through a full connect and returns it with the attempt number.
    fn connected() -> (Machine, u32) {
        let mut m = Machine::new(&opts(1000));
        m.handle(0.0, Input::Connect);
        let a = m.attempt();
        m.handle(1.0, Input::SessionCreated { attempt: a, session: session("s1") });
        m.handle(2.0, Input::PeerState { attempt: a, state: PeerState::Connected });
        let fx = m.handle(250.0, Input::ChannelOpen { attempt: a });
        assert_eq!(fx, vec![Effect::SettleConnect(Ok(())), Effect::Notify]);
        (m, a)
    }

    #[test]
    fn connect_starts_attempt_and_cleans_first() {
        let mut m = Machine::new(&opts(1234));
        let fx = m.handle(10.0, Input::Connect);
        assert_eq!(
            fx,
            vec![
                CLEAN,
                Effect::StartConnect { attempt: 1, timeout_ms: 1234 },
                Effect::Notify
            ]
        );
        assert_eq!(m.status(), Status::Connecting);
        assert_eq!(m.phase(), Some(ConnectPhase::Token));
        // A second connect while connecting does nothing (the driver returns the same promise).
        assert!(m.handle(11.0, Input::Connect).is_empty());
    }

    #[test]
    fn connected_needs_both_peer_and_channel() {
        let mut m = Machine::new(&opts(1000));
        m.handle(100.0, Input::Connect);
        let fx = m.handle(150.0, Input::ChannelOpen { attempt: 1 });
        assert!(fx.is_empty());
        assert_eq!(m.status(), Status::Connecting);
        let fx = m.handle(340.0, Input::PeerState { attempt: 1, state: PeerState::Connected });
        assert_eq!(fx, vec![Effect::SettleConnect(Ok(())), Effect::Notify]);
        assert_eq!(m.status(), Status::Connected);
        assert_eq!(m.connect_ms(), Some(240.0));
        assert_eq!(m.phase(), None);
    }

    #[test]
    fn disconnect_while_connecting_aborts_the_promise() {
        let mut m = Machine::new(&opts(1000));
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::Phase { attempt: 1, phase: ConnectPhase::Microphone });
        let fx = m.handle(2.0, Input::Disconnect { reason: EndReason::User });
        assert_eq!(
            fx,
            vec![Effect::CancelVisibilityTimer, TEARDOWN, Effect::SettleConnect(Err(LinkError::aborted())), Effect::Notify]
        );
        assert_eq!(m.status(), Status::Disconnected);
        assert_eq!(m.end_reason(), Some(EndReason::User));
        assert!(m.error().is_none());
    }

    #[test]
    fn stale_inputs_are_ignored_and_orphan_sessions_deleted() {
        let mut m = Machine::new(&opts(1000));
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::Disconnect { reason: EndReason::User });
        m.handle(2.0, Input::Connect); // attempt 2
        let v = m.version();
        assert!(m.handle(3.0, Input::ChannelOpen { attempt: 1 }).is_empty());
        assert!(m.handle(3.0, Input::PeerState { attempt: 1, state: PeerState::Failed }).is_empty());
        assert!(m.handle(3.0, Input::ConnectTimeout { attempt: 1 }).is_empty());
        assert!(m.handle(3.0, Input::Failed { attempt: 1, error: LinkError::aborted() }).is_empty());
        // The POST of attempt 1 came back after it was aborted: its session must be deleted.
        let fx = m.handle(4.0, Input::SessionCreated { attempt: 1, session: session("old") });
        assert_eq!(fx, vec![Effect::DeleteOrphan(session("old"))]);
        assert_eq!(m.version(), v, "stale inputs must not notify");
        assert_eq!(m.status(), Status::Connecting);
        assert!(m.session().is_none());
    }

    #[test]
    fn timeout_fails_with_the_phase_named() {
        let mut m = Machine::new(&opts(500));
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::Phase { attempt: 1, phase: ConnectPhase::Signaling });
        let fx = m.handle(501.0, Input::ConnectTimeout { attempt: 1 });
        assert_eq!(fx.len(), 4);
        match &fx[2] {
            Effect::SettleConnect(Err(e)) => {
                assert_eq!(e.code, ErrorCode::ConnectTimeout);
                assert!(e.message.contains("signaling"), "{}", e.message);
                assert!(e.message.contains("500 ms"), "{}", e.message);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(m.status(), Status::Failed);
        assert_eq!(m.error().map(|e| e.code), Some(ErrorCode::ConnectTimeout));
        // A timeout after connecting means nothing.
        let (mut m, a) = connected();
        assert!(m.handle(2000.0, Input::ConnectTimeout { attempt: a }).is_empty());
        assert_eq!(m.status(), Status::Connected);
    }

    #[test]
    fn failure_while_connecting_rejects_and_tears_down() {
        let mut m = Machine::new(&opts(1000));
        m.handle(0.0, Input::Connect);
        let err = LinkError::http(500, "injected");
        let fx = m.handle(5.0, Input::Failed { attempt: 1, error: err.clone() });
        assert_eq!(
            fx,
            vec![Effect::CancelVisibilityTimer, TEARDOWN, Effect::SettleConnect(Err(err.clone())), Effect::Notify]
        );
        assert_eq!(m.status(), Status::Failed);
        assert_eq!(m.error(), Some(&err));
        assert_eq!(m.end_reason(), Some(EndReason::Error));
        // The next connect clears the error.
        m.handle(6.0, Input::Connect);
        assert!(m.error().is_none());
        assert_eq!(m.end_reason(), None);
    }

    #[test]
    fn server_closing_the_channel_ends_the_link() {
        let (mut m, a) = connected();
        let fx = m.handle(10.0, Input::ChannelClosed { attempt: a });
        assert_eq!(fx, vec![Effect::CancelVisibilityTimer, TEARDOWN, Effect::Notify]);
        assert_eq!(m.status(), Status::Disconnected);
        assert_eq!(m.end_reason(), Some(EndReason::ServerEnded));
    }

    #[test]
    fn ice_failure_fails_the_link() {
        let (mut m, a) = connected();
        m.handle(10.0, Input::PeerState { attempt: a, state: PeerState::Disconnected });
        assert_eq!(m.status(), Status::Connected);
        m.handle(20.0, Input::PeerState { attempt: a, state: PeerState::Failed });
        assert_eq!(m.status(), Status::Failed);
        assert_eq!(m.error().map(|e| e.code), Some(ErrorCode::IceFailed));
    }

    #[test]
    fn disconnect_is_idempotent() {
        let (mut m, _) = connected();
        let fx = m.handle(10.0, Input::Disconnect { reason: EndReason::User });
        assert_eq!(fx, vec![Effect::CancelVisibilityTimer, TEARDOWN, Effect::Notify]);
        let v = m.version();
        for _ in 0..3 {
            let fx = m.handle(11.0, Input::Disconnect { reason: EndReason::Disposed });
            assert_eq!(fx, vec![CLEAN]);
        }
        assert_eq!(m.version(), v);
        assert_eq!(m.end_reason(), Some(EndReason::User));
    }

    #[test]
    fn phases_notify_once_each() {
        let mut m = Machine::new(&opts(1000));
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
        assert_eq!(fx, vec![Effect::CancelVisibilityTimer, TEARDOWN, Effect::Notify]);
        assert_eq!(m.status(), Status::Disconnected);
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
        // Shown again: no resume unless asked for.
        assert_eq!(m.handle(20.0, Input::PageVisible), vec![Effect::CancelVisibilityTimer]);
        assert_eq!(m.status(), Status::Disconnected);
    }

    #[test]
    fn hidden_while_connecting_aborts() {
        let mut m = Machine::new(&opts(1000));
        m.handle(0.0, Input::Connect);
        let fx = m.handle(1.0, Input::PageHidden);
        assert!(fx.contains(&Effect::SettleConnect(Err(LinkError::aborted()))));
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    }

    #[test]
    fn hidden_with_grace_waits_and_visible_cancels() {
        let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 3000, false));
        m.handle(0.0, Input::Connect);
        let a = m.attempt();
        m.handle(1.0, Input::PeerState { attempt: a, state: PeerState::Connected });
        m.handle(2.0, Input::ChannelOpen { attempt: a });
        assert_eq!(m.handle(10.0, Input::PageHidden), vec![Effect::ArmVisibilityTimer { ms: 3000 }]);
        assert_eq!(m.status(), Status::Connected);
        assert_eq!(m.handle(20.0, Input::PageVisible), vec![Effect::CancelVisibilityTimer]);
        // A timer that fires anyway after the page came back does nothing.
        assert!(m.handle(3010.0, Input::VisibilityGraceElapsed).is_empty());
        assert_eq!(m.status(), Status::Connected);
        // Hidden for the whole grace delay: disconnect.
        m.handle(4000.0, Input::PageHidden);
        let fx = m.handle(7000.0, Input::VisibilityGraceElapsed);
        assert!(fx.contains(&TEARDOWN));
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    }

    #[test]
    fn policy_none_keeps_running_and_resume_reconnects() {
        let mut m = Machine::new(&with_visibility(HiddenPolicy::None, 0, false));
        m.handle(0.0, Input::Connect);
        assert!(m.handle(1.0, Input::PageHidden).is_empty());
        assert_eq!(m.status(), Status::Connecting);

        let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 0, true));
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::PageHidden);
        assert_eq!(m.end_reason(), Some(EndReason::Hidden));
        let fx = m.handle(2.0, Input::PageVisible);
        assert!(fx.contains(&Effect::StartConnect { attempt: 2, timeout_ms: 1000 }), "{fx:?}");
        assert_eq!(m.status(), Status::Connecting);
        // A user disconnect is not resumed.
        m.handle(3.0, Input::Disconnect { reason: EndReason::User });
        m.handle(4.0, Input::PageHidden);
        assert_eq!(m.handle(5.0, Input::PageVisible), vec![Effect::CancelVisibilityTimer]);
    }

    #[test]
    fn pagehide_tears_down_as_page_exit() {
        let (mut m, _) = connected();
        let fx = m.handle(10.0, Input::PageHide);
        assert!(fx.contains(&Effect::Teardown { delete_session: true, page_exit: true }), "{fx:?}");
        assert_eq!(m.end_reason(), Some(EndReason::PageHide));
        // Even with policy "none" a pagehide releases everything.
        let mut m = Machine::new(&with_visibility(HiddenPolicy::None, 0, false));
        m.handle(0.0, Input::Connect);
        m.handle(1.0, Input::PageHide);
        assert_eq!(m.status(), Status::Disconnected);
    }

    #[test]
    fn server_ended_event_and_audio_blocked() {
        let (mut m, a) = connected();
        assert_eq!(m.handle(5.0, Input::AudioBlocked { attempt: a }), vec![Effect::Notify]);
        assert!(m.audio_blocked());
        assert!(m.handle(5.0, Input::AudioBlocked { attempt: a }).is_empty());
        assert_eq!(m.handle(6.0, Input::AudioPlaying { attempt: a }), vec![Effect::Notify]);
        assert!(!m.audio_blocked());
        m.handle(7.0, Input::AudioBlocked { attempt: a });
        let fx = m.handle(10.0, Input::ServerEnded { attempt: a });
        assert!(fx.contains(&TEARDOWN));
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
}
