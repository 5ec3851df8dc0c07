//! The link's state machine, sans-IO: inputs in (with the time in ms), effects out, and the
//! next instant it must be woken at.
//!
//! Map. [`Machine::handle`] takes the state out ([`state::State`]: one variant per status,
//! each owning its data — the live peer connection [`state::Conn`], the outage, the retry in
//! flight, the outcome), hands it with the input to one function per state, and stores the
//! state that function returns. `status.rs`: the public words (`Status`, `ConnectPhase`,
//! `ConnectTimings`, `EndReason`); `io.rs`: [`Input`] and [`Effect`]; `state.rs`: the states;
//! `connect.rs`: `connect()`, the connecting and connected states, and ending the link;
//! `recovery.rs`: outages, `reconnect()`, the interrupted and reconnecting states;
//! `visibility.rs`: page hidden/visible/pagehide and the grace delay; `network.rs`: the
//! browser's `online`/`offline` events; `time.rs`: the
//! deadlines — [`Machine::poll_timeout`] and [`Input::Timeout`]; `tests/`: the behaviour
//! tests on simulated time.
//!
//! Time, str0m-style: the machine never arms a timer. Every wait is a deadline kept in the
//! state (the connect or ICE-restart timeout, the backoff wait, the visibility grace delay, the
//! countdown refresh); [`Machine::poll_timeout`] says the earliest, and the driver keeps one
//! timer that feeds [`Input::Timeout`] then. Inputs produced by a peer connection carry its
//! connection generation `conn` (one number per peer connection); inputs from one that is no
//! longer live are ignored, so a late callback from a torn-down connection can never change
//! the state of a newer one.
//!
//! Recovery (seed 001 and 004): while connected, an outage is seen when the peer connection or
//! ICE state says `disconnected`/`failed`, or — much sooner, since Chromium takes ~5 s to say
//! so — when no byte arrives on the transport for `outageTimeoutMs`. With the manual policy
//! the link becomes `interrupted` and keeps the session for the grace period until
//! `reconnect()`; with the automatic policy it becomes `reconnecting` and retries with
//! full-jitter backoff. Each recovery attempt is an ICE restart of the same session while the
//! peer connection lives and the grace period runs, else a fresh session (new peer connection
//! and data channel). One attempt at a time.

mod connect;
mod io;
mod network;
mod recovery;
mod state;
mod status;
mod time;
mod visibility;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::mem;

pub use io::{Effect, Input, PeerState};
pub use status::{ConnectPhase, ConnectTimings, EndReason, Status};

use super::backoff::{Backoff, Rng};
use super::error::LinkError;
use super::options::{Options, ReconnectPolicy, VisibilityPolicy};
use super::session::Session;
use state::{Ended, Outcome, Retry, State};
use visibility::Page;

/// The options the machine acts on.
#[derive(Clone, Debug)]
struct Config {
    /// `connectTimeoutMs`: for a connect and for each recovery attempt, ms.
    connect_timeout_ms: u32,
    visibility: VisibilityPolicy,
    policy: ReconnectPolicy,
    backoff: Backoff,
    /// `sessionGraceMs`: how long the server keeps a session after an outage, ms.
    session_grace_ms: u32,
    /// `outageTimeoutMs`: no byte received for this long while connected is an outage, ms.
    outage_timeout_ms: u32,
}

/// What the snapshot shows of the link's past: facts that outlive the state they were learnt
/// in (they do not decide any transition but `reconnect()` from an ended link).
#[derive(Clone, Debug, Default)]
struct Record {
    /// A session was ever created: `reconnect()` from `disconnected`/`failed` can make one.
    had_session: bool,
    /// A recovery replaced the session since the last `connect()`.
    session_replaced: bool,
    /// `connect()` (or the fresh session) to `connected` for the current connection, ms.
    connect_ms: Option<f64>,
    /// Where the time of the last successful connect went.
    timings: Option<ConnectTimings>,
    /// Teardown steps that threw in the last teardown.
    teardown_errors: Vec<&'static str>,
}

/// Everything but the state: the options, the jitter source, counters, the page.
#[derive(Clone, Debug)]
struct Ctx {
    cfg: Config,
    rng: Rng,
    /// The last connection generation handed out (0: none yet).
    last_conn: u32,
    /// The last ICE restart number handed out.
    restart_seq: u32,
    page: Page,
    /// `navigator.onLine` as the last `online`/`offline` event left it.
    online: bool,
    record: Record,
}

/// A state and the effects of reaching it.
type Step = (State, Vec<Effect>);

/// The state machine. See the module docs.
#[derive(Clone, Debug)]
pub struct Machine {
    ctx: Ctx,
    state: State,
    /// The latest `now_ms` given to [`Machine::handle`] (never goes back), ms.
    now_ms: f64,
}

impl Machine {
    /// A machine in `idle` for these options; `seed` seeds the backoff jitter.
    pub fn new(options: &Options, seed: u64) -> Self {
        Machine {
            ctx: Ctx {
                cfg: Config {
                    connect_timeout_ms: options.connect_timeout_ms,
                    visibility: options.visibility.clone(),
                    policy: options.reconnect,
                    backoff: options.backoff,
                    session_grace_ms: options.session_grace_ms,
                    outage_timeout_ms: options.outage_timeout_ms,
                },
                rng: Rng::new(seed),
                last_conn: 0,
                restart_seq: 0,
                page: Page::Visible,
                online: true,
                record: Record::default(),
            },
            state: State::Idle,
            now_ms: 0.0,
        }
    }

    /// Feeds one input at time `now_ms` (any monotonic clock in milliseconds, e.g.
    /// `performance.now()`; an earlier value than before counts as the latest), returning the
    /// effects to apply in order. Afterwards [`Machine::poll_timeout`] says when to feed
    /// [`Input::Timeout`].
    pub fn handle(&mut self, now_ms: f64, input: Input) -> Vec<Effect> {
        self.now_ms = self.now_ms.max(now_ms);
        let state = mem::replace(&mut self.state, State::Idle);
        let (state, effects) = self.ctx.step(state, self.now_ms, input);
        self.state = state;
        effects
    }

    /// The earliest absolute time (ms, the clock of `now_ms`) at which the machine must be
    /// fed [`Input::Timeout`], or `None` when nothing is pending. It may be in the past (then
    /// feed it at once). It changes only through [`Machine::handle`].
    pub fn poll_timeout(&self) -> Option<f64> {
        time::next(&self.ctx, &self.state).map(|(at, _)| at)
    }

    /// Current status.
    pub fn status(&self) -> Status {
        self.state.status()
    }
    /// Current connect phase, while `connecting`.
    pub fn phase(&self) -> Option<ConnectPhase> {
        match &self.state {
            State::Connecting(s) => Some(s.phase),
            _ => None,
        }
    }
    /// The current WHIP session, once created; after the link ended, the last one (released).
    pub fn session(&self) -> Option<&Session> {
        match &self.state {
            State::Ended(e) => e.session.as_ref(),
            s => s.conn().and_then(|c| c.session.as_ref()),
        }
    }
    /// `true` once a recovery replaced the session with a new one (the old one was gone).
    pub fn session_replaced(&self) -> bool {
        self.ctx.record.session_replaced
    }
    /// The error that ended the link, while `failed`.
    pub fn error(&self) -> Option<&LinkError> {
        match &self.state {
            State::Ended(Ended { outcome: Outcome::Failed(e), .. }) => Some(e),
            _ => None,
        }
    }
    /// Why the link ended, once `disconnected` or `failed`.
    pub fn end_reason(&self) -> Option<EndReason> {
        match &self.state {
            State::Ended(Ended { outcome: Outcome::Disconnected(r), .. }) => Some(*r),
            State::Ended(Ended { outcome: Outcome::Failed(_), .. }) => Some(EndReason::Error),
            _ => None,
        }
    }
    /// Milliseconds from `connect()` (or a recovery's fresh session) to `connected` for the
    /// current connection.
    pub fn connect_ms(&self) -> Option<f64> {
        self.ctx.record.connect_ms
    }
    /// Where the time of the last connect went.
    pub fn timings(&self) -> Option<ConnectTimings> {
        self.ctx.record.timings
    }
    /// The latest connection generation handed out by [`Effect::StartConnect`] (one number per
    /// peer connection; 0 before the first).
    pub fn conn(&self) -> u32 {
        self.ctx.last_conn
    }
    /// `false` between the browser's `offline` and `online` events.
    pub fn network_online(&self) -> bool {
        self.ctx.online
    }
    /// `true` while the autoplay policy blocks remote audio (see `resumeAudio()`).
    pub fn audio_blocked(&self) -> bool {
        self.state.conn().is_some_and(|c| c.audio_blocked)
    }
    /// Names of the teardown steps that threw in the last teardown.
    pub fn teardown_errors(&self) -> &[&'static str] {
        &self.ctx.record.teardown_errors
    }
    /// `true` while connecting, connected, interrupted or reconnecting.
    pub fn is_active(&self) -> bool {
        is_active(&self.state)
    }
    /// `true` when inputs tagged with connection generation `conn` still matter: it is the
    /// live peer connection.
    pub fn is_current(&self, conn: u32) -> bool {
        self.state.conn().is_some_and(|c| c.id == conn)
    }
    /// `true` when `reconnect()` would do something now (the reconnect button is shown).
    pub fn can_reconnect(&self) -> bool {
        match &self.state {
            State::Interrupted(_) => true,
            State::Reconnecting(s) => !s.retry.in_flight(),
            State::Ended(_) => self.ctx.record.had_session,
            _ => false,
        }
    }
    /// Milliseconds until the server forgets the session at time `now_ms`, while recovering
    /// from an outage (`sessionGraceMs` counted from the outage; 0 once passed).
    pub fn grace_remaining_ms(&self, now_ms: f64) -> Option<f64> {
        let outage = self.state.outage()?;
        Some((outage.at + self.ctx.cfg.session_grace_ms as f64 - now_ms).max(0.0))
    }
    /// Recovery attempts made in the current outage (0 when none; after the automatic policy
    /// gave up, the attempts it made).
    pub fn reconnect_attempt(&self) -> u32 {
        match &self.state {
            State::Interrupted(s) => s.attempts,
            State::Reconnecting(s) => s.attempts,
            State::Ended(e) => e.attempts,
            _ => 0,
        }
    }
    /// Milliseconds from `now_ms` until the automatic policy's next attempt, while it waits
    /// (0 once due).
    pub fn next_retry_in_ms(&self, now_ms: f64) -> Option<f64> {
        match &self.state {
            State::Reconnecting(s) => match s.retry {
                Retry::Waiting { due_at, .. } => Some((due_at - now_ms).max(0.0)),
                _ => None,
            },
            _ => None,
        }
    }
    /// The latest time given to [`Machine::handle`], ms. The snapshot shows countdowns as of
    /// this time, so it changes only when the machine says [`Effect::Notify`].
    pub fn now_ms(&self) -> f64 {
        self.now_ms
    }
}

fn is_active(state: &State) -> bool {
    matches!(state, State::Connecting(_) | State::Connected(_) | State::Interrupted(_) | State::Reconnecting(_))
}

/// An input from the live peer connection, once its bookkeeping is done: what the state
/// functions (`connect::connecting`, `connect::connected`, `recovery::interrupted`,
/// `recovery::reconnecting`) decide on.
#[derive(Debug)]
enum Event {
    Phase(ConnectPhase),
    /// `connectionState` or `iceConnectionState` said `disconnected` or `failed`.
    Trouble(PeerState),
    /// The peer connection said `connected`, or the data channel opened, or bytes arrived:
    /// connecting or recovering may be complete.
    Progress,
    /// A transport sample without new bytes.
    NoBytes,
    ChannelClosed,
    Failed(LinkError),
    ServerEnded,
    RestartAnswered(u32),
    RestartFailed { seq: u32, error: LinkError, needs_fresh_session: bool },
    /// Nothing the state decides on.
    None,
}

impl Ctx {
    fn step(&mut self, state: State, now: f64, input: Input) -> Step {
        match input {
            Input::Connect => connect::on_connect(self, state, now),
            Input::Reconnect => recovery::on_reconnect(self, state, now),
            Input::Disconnect { reason } => connect::on_disconnect(self, state, reason),
            Input::PageHidden => visibility::on_hidden(self, state, now),
            Input::PageVisible => visibility::on_visible(self, state, now),
            Input::PageHide => visibility::on_page_hide(self, state),
            Input::Network { online } => network::on_network(self, state, now, online),
            Input::Timeout => time::on_timeout(self, state, now),
            Input::TeardownFailed { steps } => {
                if steps.is_empty() || steps == self.record.teardown_errors {
                    return (state, Vec::new());
                }
                self.record.teardown_errors = steps;
                (state, vec![Effect::Notify])
            }
            tagged => self.conn_input(state, now, tagged),
        }
    }

    /// An input tagged with a connection generation: ignored unless it is the live
    /// connection's; the connection's own bookkeeping here, the decision in the state's function.
    fn conn_input(&mut self, mut state: State, now: f64, input: Input) -> Step {
        let Some(conn) = state.conn_mut().filter(|c| Some(c.id) == tag(&input)) else {
            return match input {
                Input::SessionCreated { session, .. } => (state, vec![Effect::DeleteOrphan(session)]),
                _ => (state, Vec::new()),
            };
        };
        let event = match input {
            Input::SessionCreated { session, .. } => {
                conn.session = Some(session);
                self.record.had_session = true;
                return (state, vec![Effect::Notify]);
            }
            Input::AudioBlocked { .. } | Input::AudioPlaying { .. } => {
                let blocked = matches!(input, Input::AudioBlocked { .. });
                if conn.audio_blocked == blocked {
                    return (state, Vec::new());
                }
                conn.audio_blocked = blocked;
                return (state, vec![Effect::Notify]);
            }
            Input::Phase { phase, .. } => Event::Phase(phase),
            Input::PeerState { state: PeerState::Connected, .. } => {
                conn.peer_connected = true;
                Event::Progress
            }
            Input::PeerState { state: s @ (PeerState::Disconnected | PeerState::Failed), .. } => {
                conn.peer_connected = false;
                Event::Trouble(s)
            }
            Input::IceState { state: s @ (PeerState::Disconnected | PeerState::Failed), .. } => Event::Trouble(s),
            Input::PeerState { .. } | Input::IceState { .. } => Event::None,
            Input::ChannelOpen { .. } => {
                conn.channel_open = true;
                Event::Progress
            }
            Input::ChannelClosed { .. } => {
                conn.channel_open = false;
                Event::ChannelClosed
            }
            Input::TransportSample { bytes_received, .. } => {
                if bytes_received > conn.rx_bytes {
                    conn.rx_bytes = bytes_received;
                    conn.rx_growth_at = now;
                    Event::Progress
                } else {
                    Event::NoBytes
                }
            }
            Input::Failed { error, .. } => Event::Failed(error),
            Input::ServerEnded { .. } => Event::ServerEnded,
            Input::RestartAnswered { seq, .. } => Event::RestartAnswered(seq),
            Input::RestartFailed { seq, error, needs_fresh_session, .. } => {
                Event::RestartFailed { seq, error, needs_fresh_session }
            }
            // Untagged inputs are handled in `step`.
            _ => Event::None,
        };
        match state {
            State::Connecting(s) => connect::connecting(self, s, now, event),
            State::Connected(s) => connect::connected(self, s, now, event),
            State::Interrupted(s) => recovery::interrupted(self, s, now, event),
            State::Reconnecting(s) => recovery::reconnecting(self, s, now, event),
            idle_or_ended => (idle_or_ended, Vec::new()),
        }
    }

    /// Hands out the next connection generation.
    fn next_conn(&mut self) -> u32 {
        self.last_conn = self.last_conn.wrapping_add(1);
        self.last_conn
    }
}

/// The connection generation an input is tagged with.
fn tag(input: &Input) -> Option<u32> {
    match input {
        Input::Phase { conn, .. }
        | Input::SessionCreated { conn, .. }
        | Input::PeerState { conn, .. }
        | Input::IceState { conn, .. }
        | Input::ChannelOpen { conn }
        | Input::ChannelClosed { conn }
        | Input::Failed { conn, .. }
        | Input::ServerEnded { conn }
        | Input::AudioBlocked { conn }
        | Input::AudioPlaying { conn }
        | Input::TransportSample { conn, .. }
        | Input::RestartAnswered { conn, .. }
        | Input::RestartFailed { conn, .. } => Some(*conn),
        Input::Connect
        | Input::Disconnect { .. }
        | Input::PageHidden
        | Input::PageVisible
        | Input::PageHide
        | Input::Network { .. }
        | Input::TeardownFailed { .. }
        | Input::Reconnect
        | Input::Timeout => None,
    }
}
