//! The machine's states and the data each one owns. A value of [`State`] is always a whole,
//! consistent state: what a state does not have (a session while idle, a retry time while
//! connected, an error while connecting) it cannot hold.

use super::status::{ConnectPhase, EndReason, Status};
use super::time::DISPLAY_MS;
use crate::core::error::LinkError;
use crate::core::session::Session;

/// One peer connection (with its data channel, microphone and WHIP session), as far as the
/// machine knows it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Conn {
    /// Connection generation: one number per peer connection.
    pub id: u32,
    /// When its connect sequence began, ms.
    pub started_at: f64,
    /// Its WHIP session, once created.
    pub session: Option<Session>,
    /// The peer connection last said `connected`.
    pub peer_connected: bool,
    /// Its data channel is open.
    pub channel_open: bool,
    /// Cumulative bytes received on its transport, as last sampled.
    pub rx_bytes: f64,
    /// When `rx_bytes` last grew (or the connection came up), ms.
    pub rx_growth_at: f64,
    /// The autoplay policy blocks its remote audio.
    pub audio_blocked: bool,
}

impl Conn {
    pub fn new(id: u32, now: f64) -> Conn {
        Conn {
            id,
            started_at: now,
            session: None,
            peer_connected: false,
            channel_open: false,
            rx_bytes: 0.0,
            rx_growth_at: now,
            audio_blocked: false,
        }
    }

    /// Peer connection `connected` and data channel open.
    pub fn ready(&self) -> bool {
        self.peer_connected && self.channel_open
    }
}

/// `connect()` is running.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Connecting {
    pub conn: Conn,
    pub phase: ConnectPhase,
    /// When each phase began, ms (index: `ConnectPhase as usize`).
    pub phase_at: [Option<f64>; 5],
    /// `connectTimeoutMs` after the start, ms: the connect fails if not connected by then.
    pub deadline: f64,
}

/// The transport is up.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Connected {
    pub conn: Conn,
}

/// A transport outage: when it was seen, and the countdown refresh.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Outage {
    /// When the outage was seen, ms; the grace period (`sessionGraceMs`) runs from here.
    pub at: f64,
    /// When the countdowns are next refreshed ([`super::Effect::Notify`]), ms.
    pub display_at: f64,
}

impl Outage {
    /// The outage carried into a new recovery state at `now`: a countdown refresh already due
    /// is moved to the next one after `now` on the same 500 ms grid (the transition itself
    /// notifies), so that no deadline of a new state lies in the past.
    pub fn carried(self, now: f64) -> Outage {
        let mut display_at = self.display_at;
        if display_at <= now {
            display_at += ((now - display_at) / DISPLAY_MS).floor().max(0.0) * DISPLAY_MS + DISPLAY_MS;
        }
        Outage { display_at, ..self }
    }
}

/// Manual policy: the transport is lost, the session kept until `reconnect()`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Interrupted {
    pub outage: Outage,
    /// Recovery attempts made in this outage.
    pub attempts: u32,
    /// The connection that was lost; `None` once a failed fresh attempt released it.
    pub conn: Option<Conn>,
}

/// A recovery attempt runs, or the automatic policy waits for the next one.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Reconnecting {
    /// Recovery attempts made in this outage, the one running included.
    pub attempts: u32,
    pub retry: Retry,
}

/// What `reconnecting` is doing.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Retry {
    /// The automatic policy waits until `due_at` (ms) for its next attempt.
    Waiting {
        outage: Outage,
        due_at: f64,
        /// The connection that was lost; `None` once a failed fresh attempt released it.
        conn: Option<Conn>,
    },
    /// An ICE restart of the lost connection on its session. `rx_at_answer`: the transport's
    /// byte count when the answer was applied (`None` until then); media must flow past it.
    /// `seq`: the restart's number; `deadline`: `connectTimeoutMs` after it began, ms.
    IceRestart { outage: Outage, conn: Conn, seq: u32, rx_at_answer: Option<f64>, deadline: f64 },
    /// A fresh session: a new peer connection and data channel through the connect sequence.
    /// `outage` is `None` for a `reconnect()` from `disconnected`/`failed` (one attempt, no
    /// grace period). `deadline`: `connectTimeoutMs` after it began, ms.
    Fresh { outage: Option<Outage>, conn: Conn, deadline: f64 },
}

/// How the link ended.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Outcome {
    /// On purpose (never [`EndReason::Error`]).
    Disconnected(EndReason),
    /// By this error.
    Failed(LinkError),
}

/// Ended; every resource released.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Ended {
    pub outcome: Outcome,
    /// The last session, still shown in the snapshot (already released).
    pub session: Option<Session>,
    /// Recovery attempts made before the automatic policy gave up (0 otherwise).
    pub attempts: u32,
}

/// Where the link is, with the data of that place.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum State {
    Idle,
    Connecting(Connecting),
    Connected(Connected),
    Interrupted(Interrupted),
    Reconnecting(Reconnecting),
    Ended(Ended),
}

impl State {
    pub fn status(&self) -> Status {
        match self {
            State::Idle => Status::Idle,
            State::Connecting(_) => Status::Connecting,
            State::Connected(_) => Status::Connected,
            State::Interrupted(_) => Status::Interrupted,
            State::Reconnecting(_) => Status::Reconnecting,
            State::Ended(Ended { outcome: Outcome::Disconnected(_), .. }) => Status::Disconnected,
            State::Ended(Ended { outcome: Outcome::Failed(_), .. }) => Status::Failed,
        }
    }

    /// The live connection: the one whose inputs matter.
    pub fn conn(&self) -> Option<&Conn> {
        match self {
            State::Idle | State::Ended(_) => None,
            State::Connecting(s) => Some(&s.conn),
            State::Connected(s) => Some(&s.conn),
            State::Interrupted(s) => s.conn.as_ref(),
            State::Reconnecting(s) => s.retry.conn(),
        }
    }

    pub fn conn_mut(&mut self) -> Option<&mut Conn> {
        match self {
            State::Idle | State::Ended(_) => None,
            State::Connecting(s) => Some(&mut s.conn),
            State::Connected(s) => Some(&mut s.conn),
            State::Interrupted(s) => s.conn.as_mut(),
            State::Reconnecting(s) => s.retry.conn_mut(),
        }
    }

    /// Takes the live connection out (the state is being left).
    pub fn into_conn(self) -> Option<Conn> {
        match self {
            State::Idle | State::Ended(_) => None,
            State::Connecting(s) => Some(s.conn),
            State::Connected(s) => Some(s.conn),
            State::Interrupted(s) => s.conn,
            State::Reconnecting(s) => s.retry.into_conn(),
        }
    }

    /// The outage being recovered from, while interrupted or reconnecting.
    pub fn outage(&self) -> Option<&Outage> {
        match self {
            State::Interrupted(s) => Some(&s.outage),
            State::Reconnecting(s) => s.retry.outage(),
            _ => None,
        }
    }

    pub fn outage_mut(&mut self) -> Option<&mut Outage> {
        match self {
            State::Interrupted(s) => Some(&mut s.outage),
            State::Reconnecting(s) => s.retry.outage_mut(),
            _ => None,
        }
    }
}

impl Retry {
    pub fn conn(&self) -> Option<&Conn> {
        match self {
            Retry::Waiting { conn, .. } => conn.as_ref(),
            Retry::IceRestart { conn, .. } | Retry::Fresh { conn, .. } => Some(conn),
        }
    }

    pub fn conn_mut(&mut self) -> Option<&mut Conn> {
        match self {
            Retry::Waiting { conn, .. } => conn.as_mut(),
            Retry::IceRestart { conn, .. } | Retry::Fresh { conn, .. } => Some(conn),
        }
    }

    pub fn into_conn(self) -> Option<Conn> {
        match self {
            Retry::Waiting { conn, .. } => conn,
            Retry::IceRestart { conn, .. } | Retry::Fresh { conn, .. } => Some(conn),
        }
    }

    pub fn outage(&self) -> Option<&Outage> {
        match self {
            Retry::Waiting { outage, .. } | Retry::IceRestart { outage, .. } => Some(outage),
            Retry::Fresh { outage, .. } => outage.as_ref(),
        }
    }

    pub fn outage_mut(&mut self) -> Option<&mut Outage> {
        match self {
            Retry::Waiting { outage, .. } | Retry::IceRestart { outage, .. } => Some(outage),
            Retry::Fresh { outage, .. } => outage.as_mut(),
        }
    }

    /// `connectTimeoutMs` after the attempt began, ms, while one runs.
    pub fn deadline(&self) -> Option<f64> {
        match self {
            Retry::Waiting { .. } => None,
            Retry::IceRestart { deadline, .. } | Retry::Fresh { deadline, .. } => Some(*deadline),
        }
    }

    pub fn in_flight(&self) -> bool {
        !matches!(self, Retry::Waiting { .. })
    }
}
