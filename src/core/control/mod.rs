//! The optional control channel: a WebSocket beside the media connection (seed 003).
//!
//! Sans-IO like [`super::machine`]: the driver feeds socket events in, and `Timeout` at the
//! deadline [`Control::poll_timeout`] gives (the heartbeat or the next attempt), and applies the
//! effects. [`Control::follow`] couples it to the link's status. Once the media session exists the channel opens and announces it
//! (`{"type":"session_info","session_id":…}`); the server confirms with `session_confirmed`.
//! A heartbeat `ping` goes out every `heartbeatMs`; no message at all for
//! `heartbeatTimeoutMs` counts as an outage. A close that is not normal (code ≠ 1000) or an
//! outage reconnects with the link's backoff (full jitter; seed 003's 5 s as the default
//! base); a normal close does not. Messages sent while it is down wait in a bounded outbox.

use ts_rs::TS;

use super::backoff::{Backoff, Rng};
use super::error::{ErrorCode, LinkError};
use super::outbox::Outbox;

/// Control channel settings (`control: { url, heartbeatMs, heartbeatTimeoutMs, reconnectBaseMs,
/// reconnectCapMs, reconnectAttempts, outboxCapacity }`).
#[derive(Clone, Debug, PartialEq)]
pub struct ControlOptions {
    /// `ws:` or `wss:` URL.
    pub url: String,
    /// Heartbeat interval, ms (default 30 000, seed 003).
    pub heartbeat_ms: u32,
    /// No message received for this long (ms) is an outage (default 2 × heartbeat + 5 s).
    pub heartbeat_timeout_ms: u32,
    /// Reconnect backoff (default base 5000 ms, cap 30 000 ms, 10 attempts, no spread floor).
    pub backoff: Backoff,
    /// Messages kept while the socket is down (default 100).
    pub outbox_capacity: u32,
}

/// The control channel's state: the snapshot's `control.state` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkControlState", rename_all = "lowercase")]
pub enum ControlState {
    /// Not configured, or the media session does not exist yet.
    Idle,
    /// The socket is opening.
    Connecting,
    /// Open; `session_info` sent.
    Open,
    /// The server answered `session_confirmed`.
    Confirmed,
    /// Down after an abnormal close or a missed heartbeat; the next attempt is scheduled.
    Reconnecting,
    /// Closed normally (1000), given up, or the link ended.
    Closed,
}

js_names!(ControlState {
    Idle => "idle",
    Connecting => "connecting",
    Open => "open",
    Confirmed => "confirmed",
    Reconnecting => "reconnecting",
    Closed => "closed",
});

/// Something that happened to the control channel.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlInput {
    /// The media session exists (or changed): open and announce it.
    Start {
        /// The media session id to announce (`null` when the server gave none).
        session_id: Option<String>,
    },
    /// The socket of `generation` opened.
    Opened {
        /// The socket it concerns (one number per opened socket).
        generation: u32,
    },
    /// A message arrived on the socket of `generation`, parsed by the driver (`JSON.parse`).
    Message {
        /// The socket it concerns (one number per opened socket).
        generation: u32,
        /// What it is.
        message: Incoming,
    },
    /// The socket of `generation` closed with `code`.
    Closed {
        /// The socket it concerns (one number per opened socket).
        generation: u32,
        /// The close code (RFC 6455 §7.4).
        code: u16,
    },
    /// Time passed: the heartbeat or the next attempt is due when `now` reached
    /// [`Control::poll_timeout`] (earlier, nothing happens).
    Timeout,
    /// The app sends a message.
    Send {
        /// The message text.
        text: String,
    },
    /// The link ended: close normally.
    Stop,
}

/// An incoming control message, as far as the machine needs to know it.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// Valid JSON; `kind` is its `type` when it is an object with a string `type`.
    Json {
        /// The message's `type`.
        kind: Option<String>,
    },
    /// Not JSON.
    NotJson,
}

/// A message the control channel sends: typed here, serialized with `JSON.stringify` by the
/// driver (so every string is escaped the way JSON requires).
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    /// `{"type":"session_info","session_id":…}`; `null` when the server gave no session id.
    SessionInfo {
        /// The media session id.
        session_id: Option<String>,
    },
    /// `{"type":"ping","ts":…}`; `ts` in ms on the page's clock (`performance.now()`).
    Ping {
        /// Milliseconds.
        ts_ms: u64,
    },
    /// A message from `sendControl()`, already serialized by the driver.
    App(String),
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlEffect {
    /// Open a socket to the URL, tagged `generation`.
    Open {
        /// The socket it concerns (one number per opened socket).
        generation: u32,
    },
    /// Send a message on the open socket.
    Send(Outgoing),
    /// Close the socket with `code` (and drop its listeners).
    Close {
        /// The close code (RFC 6455 §7.4).
        code: u16,
    },
    /// Hand the incoming message (the one the input carried) to the app (`on("control", …)`).
    Deliver,
    /// Report a problem to the app (`on("error", …)`).
    Report(LinkError),
    /// The snapshot's `control` changed.
    Notify,
}

/// The control channel machine.
#[derive(Clone, Debug)]
pub struct Control {
    options: ControlOptions,
    state: ControlState,
    session_id: Option<String>,
    generation: u32,
    attempts: u32,
    last_rx_ms: f64,
    outbox: Outbox,
    rng: Rng,
    reconnects: u32,
    /// When the heartbeat (up) or the next attempt (reconnecting) is due, ms.
    deadline: Option<f64>,
    /// The media session the channel was started for (`None`: not started, or stopped).
    started_for: Option<Option<String>>,
}

/// Close code of a normal closure (RFC 6455 §7.4.1).
pub const NORMAL_CLOSURE: u16 = 1000;
/// Close code the link uses when it gives up on a silent socket (application range).
pub const HEARTBEAT_TIMEOUT_CLOSURE: u16 = 4000;

impl Control {
    /// An idle control channel.
    pub fn new(options: ControlOptions, seed: u64) -> Control {
        let outbox = Outbox::new(options.outbox_capacity);
        Control {
            options,
            state: ControlState::Idle,
            session_id: None,
            generation: 0,
            attempts: 0,
            last_rx_ms: 0.0,
            outbox,
            rng: Rng::new(seed),
            reconnects: 0,
            deadline: None,
            started_for: None,
        }
    }

    /// When the next [`ControlInput::Timeout`] is due (ms, the caller's clock); `None`: no
    /// heartbeat or attempt is scheduled.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.deadline
    }

    /// Keeps the channel in step with the link: `connected_on` is `Some(session id)` while the
    /// link is connected (started, or the new session announced, when it changes); `ended` when
    /// the link is idle, disconnected or failed (stopped). Other statuses change nothing.
    pub fn follow(&mut self, now_ms: f64, connected_on: Option<Option<String>>, ended: bool) -> Vec<ControlEffect> {
        match connected_on {
            Some(session) if self.started_for.as_ref() != Some(&session) => {
                self.started_for = Some(session.clone());
                self.handle(now_ms, ControlInput::Start { session_id: session })
            }
            None if ended && self.started_for.is_some() => {
                self.started_for = None;
                self.handle(now_ms, ControlInput::Stop)
            }
            _ => Vec::new(),
        }
    }

    /// The settings.
    pub fn options(&self) -> &ControlOptions {
        &self.options
    }
    /// The current state.
    pub fn state(&self) -> ControlState {
        self.state
    }
    /// The socket generation inputs must carry.
    pub fn generation(&self) -> u32 {
        self.generation
    }
    /// Messages waiting for the socket.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }
    /// Messages dropped because the control outbox was full.
    pub fn dropped(&self) -> u64 {
        self.outbox.dropped()
    }
    /// Reconnects made since the link connected.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    fn is_up(&self) -> bool {
        matches!(self.state, ControlState::Open | ControlState::Confirmed)
    }

    fn open(&mut self) -> Vec<ControlEffect> {
        self.generation += 1;
        self.state = ControlState::Connecting;
        self.deadline = None;
        vec![ControlEffect::Open { generation: self.generation }, ControlEffect::Notify]
    }

    fn announce(&self) -> ControlEffect {
        ControlEffect::Send(Outgoing::SessionInfo { session_id: self.session_id.clone() })
    }

    fn down(&mut self, now: f64, close: Option<u16>) -> Vec<ControlEffect> {
        self.deadline = None;
        let mut out = Vec::new();
        if let Some(code) = close {
            out.push(ControlEffect::Close { code });
        }
        if self.attempts >= self.options.backoff.attempts {
            self.state = ControlState::Closed;
            out.push(ControlEffect::Report(LinkError::new(ErrorCode::ControlFailed, format!("the control channel did not come back after {} attempts", self.attempts))));
        } else {
            self.attempts += 1;
            self.state = ControlState::Reconnecting;
            let ms = self.options.backoff.delay_ms(self.attempts, self.rng.next_f64());
            self.deadline = Some(now + ms as f64);
        }
        out.push(ControlEffect::Notify);
        out
    }

    /// Feeds one input at `now_ms`; returns the effects in order.
    pub fn handle(&mut self, now_ms: f64, input: ControlInput) -> Vec<ControlEffect> {
        match input {
            ControlInput::Start { session_id } => {
                let changed = session_id != self.session_id;
                self.session_id = session_id;
                match self.state {
                    ControlState::Idle | ControlState::Closed => {
                        self.attempts = 0;
                        self.reconnects = 0;
                        self.open()
                    }
                    // A new media session: announce it on the open socket.
                    ControlState::Open | ControlState::Confirmed if changed => {
                        self.state = ControlState::Open;
                        vec![self.announce(), ControlEffect::Notify]
                    }
                    _ => Vec::new(),
                }
            }
            ControlInput::Opened { generation } => {
                if generation != self.generation || self.state != ControlState::Connecting {
                    return Vec::new();
                }
                if self.attempts > 0 {
                    self.reconnects += 1;
                }
                self.attempts = 0;
                self.state = ControlState::Open;
                self.last_rx_ms = now_ms;
                let mut out = vec![self.announce()];
                while let Some(m) = self.outbox.pop() {
                    out.push(ControlEffect::Send(Outgoing::App(m)));
                }
                self.deadline = Some(now_ms + self.options.heartbeat_ms.min(self.options.heartbeat_timeout_ms) as f64);
                out.push(ControlEffect::Notify);
                out
            }
            ControlInput::Message { generation, message } => {
                if generation != self.generation || !self.is_up() {
                    return Vec::new();
                }
                self.last_rx_ms = now_ms;
                let kind = match message {
                    Incoming::Json { kind } => kind,
                    Incoming::NotJson => {
                        return vec![ControlEffect::Report(LinkError::new(
                            ErrorCode::ControlInvalidJson,
                            "a control message is not JSON; it was skipped",
                        ))]
                    }
                };
                let mut out = Vec::new();
                if self.state == ControlState::Open && kind.as_deref() == Some("session_confirmed") {
                    self.state = ControlState::Confirmed;
                    out.push(ControlEffect::Notify);
                }
                out.push(ControlEffect::Deliver);
                out
            }
            ControlInput::Closed { generation, code } => {
                if generation != self.generation || !matches!(self.state, ControlState::Connecting | ControlState::Open | ControlState::Confirmed) {
                    return Vec::new();
                }
                if code == NORMAL_CLOSURE {
                    self.state = ControlState::Closed;
                    self.deadline = None;
                    return vec![ControlEffect::Notify];
                }
                let mut out = vec![ControlEffect::Report(LinkError::new(
                    ErrorCode::ControlClosed,
                    format!("the control channel closed abnormally (code {code}); reconnecting"),
                ))];
                out.extend(self.down(now_ms, None));
                out
            }
            ControlInput::Timeout => {
                if self.deadline.is_none_or(|at| now_ms < at) {
                    return Vec::new();
                }
                if self.state == ControlState::Reconnecting {
                    return self.open();
                }
                if !self.is_up() {
                    self.deadline = None;
                    return Vec::new();
                }
                let silent = now_ms - self.last_rx_ms;
                if silent >= self.options.heartbeat_timeout_ms as f64 {
                    let mut out = vec![ControlEffect::Report(LinkError::new(
                        ErrorCode::ControlTimeout,
                        format!("no message on the control channel for {} ms; reconnecting", silent.round() as u64),
                    ))];
                    out.extend(self.down(now_ms, Some(HEARTBEAT_TIMEOUT_CLOSURE)));
                    return out;
                }
                let next = (self.options.heartbeat_timeout_ms as f64 - silent).max(1.0);
                self.deadline = Some(now_ms + next.min(self.options.heartbeat_ms as f64));
                vec![ControlEffect::Send(Outgoing::Ping { ts_ms: now_ms.round() as u64 })]
            }
            ControlInput::Send { text } => {
                if self.is_up() && self.outbox.is_empty() {
                    return vec![ControlEffect::Send(Outgoing::App(text))];
                }
                self.outbox.push(text);
                vec![ControlEffect::Notify]
            }
            ControlInput::Stop => {
                let was_open = matches!(self.state, ControlState::Connecting | ControlState::Open | ControlState::Confirmed);
                if self.state == ControlState::Idle {
                    return Vec::new();
                }
                self.state = ControlState::Closed;
                self.outbox.clear();
                self.deadline = None;
                let mut out = Vec::new();
                if was_open {
                    out.push(ControlEffect::Close { code: NORMAL_CLOSURE });
                }
                out.push(ControlEffect::Notify);
                out
            }
        }
    }
}

#[cfg(test)]
mod tests;
