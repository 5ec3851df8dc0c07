//! Outages and recovery: `reconnect()`, the `interrupted` and `reconnecting` states, one
//! attempt at a time (an ICE restart of the live session, else a fresh session), the backoff
//! of the automatic policy.

use super::connect::{closed_early, end, timeout_error};
use super::state::{Conn, Connected, Ended, Interrupted, Outage, Outcome, Reconnecting, Retry, State};
use super::time::DISPLAY_MS;
use super::{Ctx, Effect, EndReason, Event, PeerState, Step};
use crate::core::error::{ErrorCode, LinkError};
use crate::core::options::ReconnectPolicy;

/// The transport of a connected link is lost: `interrupted` (manual policy) or `reconnecting`,
/// waiting for the first attempt (automatic policy).
pub(super) fn outage(ctx: &mut Ctx, s: Connected, now: f64) -> Step {
    let outage = Outage { at: now, display_at: now + DISPLAY_MS };
    let conn = Some(s.conn);
    let state = match ctx.cfg.policy {
        ReconnectPolicy::Manual => State::Interrupted(Interrupted { outage, attempts: 0, conn }),
        ReconnectPolicy::Auto => {
            let due_at = ctx.retry_due(now, 0);
            State::Reconnecting(Reconnecting { attempts: 0, retry: Retry::Waiting { outage, due_at, conn } })
        }
    };
    (state, vec![Effect::Notify])
}

/// `Input::Reconnect` (the reconnect button).
pub(super) fn on_reconnect(ctx: &mut Ctx, state: State, now: f64) -> Step {
    match state {
        // The driver answers these itself (the connect promise, or at once).
        State::Connecting(_) | State::Connected(_) => (state, Vec::new()),
        State::Idle => (state, vec![Effect::SettleReconnect(Err(no_session()))]),
        State::Interrupted(s) => start_attempt(ctx, now, s.attempts, s.outage, s.conn),
        State::Reconnecting(Reconnecting { attempts, retry: Retry::Waiting { outage, conn, .. } }) => {
            start_attempt(ctx, now, attempts, outage, conn)
        }
        // One attempt at a time.
        State::Reconnecting(_) => (state, Vec::new()),
        State::Ended(_) if !ctx.record.had_session => (state, vec![Effect::SettleReconnect(Err(no_session()))]),
        State::Ended(_) => {
            ctx.reset_for_new_link();
            fresh_attempt(ctx, now, 1, None, None)
        }
    }
}

/// The inputs of the live connection while `interrupted`.
pub(super) fn interrupted(ctx: &mut Ctx, s: Interrupted, now: f64, event: Event) -> Step {
    match event {
        Event::Progress => match s.conn {
            // The blip passed by itself: media flows again on the same connection.
            Some(conn) if healed(ctx, &conn, &s.outage, now) => restored(ctx, conn, false, now),
            conn => (State::Interrupted(Interrupted { conn, ..s }), Vec::new()),
        },
        Event::Failed(error) => attempt_failed(ctx, now, s.attempts, Some(s.outage), s.conn, false, error),
        Event::ServerEnded => end(ctx, State::Interrupted(s), EndReason::ServerEnded),
        // A closed channel: the driver opens a new one once the transport is back (seed 004: a
        // closed channel cannot be reused).
        _ => (State::Interrupted(s), Vec::new()),
    }
}

/// The inputs of the live connection while `reconnecting`.
pub(super) fn reconnecting(ctx: &mut Ctx, s: Reconnecting, now: f64, event: Event) -> Step {
    let Reconnecting { attempts, retry } = s;
    match (event, retry) {
        (Event::Progress, Retry::Fresh { conn, .. }) if conn.ready() => restored(ctx, conn, true, now),
        (Event::Progress, Retry::IceRestart { conn, rx_at_answer: Some(rx0), .. })
            if conn.ready() && conn.rx_bytes > rx0 =>
        {
            restored(ctx, conn, false, now)
        }
        (Event::Progress, Retry::Waiting { outage, conn: Some(conn), .. }) if healed(ctx, &conn, &outage, now) => {
            restored(ctx, conn, false, now)
        }
        (Event::RestartAnswered(seq), Retry::IceRestart { outage, conn, seq: s, rx_at_answer: _, deadline })
            if s == seq =>
        {
            let rx_at_answer = Some(conn.rx_bytes);
            let retry = Retry::IceRestart { outage, conn, seq, rx_at_answer, deadline };
            reconnecting(ctx, Reconnecting { attempts, retry }, now, Event::Progress)
        }
        (Event::RestartFailed { seq, error, needs_fresh_session }, Retry::IceRestart { outage, conn, seq: s, .. })
            if s == seq =>
        {
            if needs_fresh_session {
                // The server forgot the session (404, expired) or cannot restart it (422, 405,
                // 501, …): a fresh one in the same attempt; the old one is DELETEd.
                return fresh_attempt(ctx, now, attempts, Some(outage), Some(conn));
            }
            attempt_failed(ctx, now, attempts, Some(outage), Some(conn), false, error)
        }
        (Event::Trouble(PeerState::Failed), retry) if retry.in_flight() => {
            let error = LinkError::new(ErrorCode::IceFailed, "the peer connection failed again while reconnecting");
            retry_failed(ctx, now, attempts, retry, error)
        }
        (Event::ChannelClosed, retry @ Retry::Fresh { .. }) => retry_failed(ctx, now, attempts, retry, closed_early()),
        (Event::Failed(error), retry) => retry_failed(ctx, now, attempts, retry, error),
        (Event::ServerEnded, retry) => end(ctx, State::Reconnecting(Reconnecting { attempts, retry }), EndReason::ServerEnded),
        (_, retry) => (State::Reconnecting(Reconnecting { attempts, retry }), Vec::new()),
    }
}

/// `connectTimeoutMs` passed for the attempt in flight.
pub(super) fn attempt_timed_out(ctx: &mut Ctx, s: Reconnecting, now: f64) -> Step {
    let error = timeout_error("reconnect", ctx.cfg.connect_timeout_ms);
    retry_failed(ctx, now, s.attempts, s.retry, error)
}

/// The automatic policy's wait is over: the next attempt.
pub(super) fn retry_due(ctx: &mut Ctx, s: Reconnecting, now: f64) -> Step {
    match s.retry {
        Retry::Waiting { outage, conn, .. } => start_attempt(ctx, now, s.attempts, outage, conn),
        retry => (State::Reconnecting(Reconnecting { retry, ..s }), Vec::new()),
    }
}

/// The link's transport works again on the connection of an outage: media arrived after the
/// outage began and within `outageTimeoutMs`, and the browser is not offline (an outage the
/// `offline` event declared holds until `online`; bytes counted just before it do not heal it).
fn healed(ctx: &Ctx, conn: &Conn, outage: &Outage, now: f64) -> bool {
    ctx.online && conn.ready() && conn.rx_growth_at > outage.at && now - conn.rx_growth_at < ctx.cfg.outage_timeout_ms as f64
}

/// An attempt now, with the backoff reset (the network came back: the waits so far were for
/// nothing).
pub(super) fn attempt_now(ctx: &mut Ctx, now: f64, outage: Outage, conn: Option<Conn>) -> Step {
    start_attempt(ctx, now, 0, outage, conn)
}

/// One recovery attempt: an ICE restart of the live session within the grace period, else a
/// fresh session.
fn start_attempt(ctx: &mut Ctx, now: f64, attempts: u32, outage: Outage, conn: Option<Conn>) -> Step {
    let outage = outage.carried(now);
    let attempts = attempts.saturating_add(1);
    let within_grace = now < outage.at + ctx.cfg.session_grace_ms as f64;
    // A session the protocol can name (a WHIP session URL, a call or pc id, an app's session
    // string): the driver restarts it the protocol's way, or reports that only a fresh session
    // can help.
    let session = conn.as_ref().and_then(|c| c.session.clone()).filter(|s| s.url.is_some() || s.id.is_some());
    match (conn, session) {
        (Some(conn), Some(session)) if within_grace => {
            ctx.restart_seq = ctx.restart_seq.wrapping_add(1);
            let seq = ctx.restart_seq;
            let deadline = now + ctx.cfg.connect_timeout_ms as f64;
            let effects = vec![Effect::IceRestart { conn: conn.id, seq, session }, Effect::Notify];
            let retry = Retry::IceRestart { outage, conn, seq, rx_at_answer: None, deadline };
            (State::Reconnecting(Reconnecting { attempts, retry }), effects)
        }
        (conn, _) => fresh_attempt(ctx, now, attempts, Some(outage), conn),
    }
}

/// Replaces the session: a new peer connection and data channel through the connect sequence;
/// the old connection is released and its session deleted (it is gone, or will be).
fn fresh_attempt(ctx: &mut Ctx, now: f64, attempts: u32, outage: Option<Outage>, old: Option<Conn>) -> Step {
    let outage = outage.map(|o| o.carried(now));
    let (conn, effects) = ctx.begin_connection(now, old.and_then(|c| c.session));
    let deadline = now + ctx.cfg.connect_timeout_ms as f64;
    (State::Reconnecting(Reconnecting { attempts, retry: Retry::Fresh { outage, conn, deadline } }), effects)
}

/// The link is connected again after an outage, on `conn`; `fresh`: a new session.
fn restored(ctx: &mut Ctx, mut conn: Conn, fresh: bool, now: f64) -> Step {
    if fresh {
        ctx.record.session_replaced = true;
    }
    conn.rx_growth_at = now;
    if ctx.record.connect_ms.is_none() {
        ctx.record.connect_ms = Some((now - conn.started_at).max(0.0));
    }
    (
        State::Connected(Connected { conn }),
        vec![Effect::SettleReconnect(Ok(())), Effect::FlushOutbox, Effect::Notify],
    )
}

/// The attempt `retry` (or the wait) failed with `error`.
fn retry_failed(ctx: &mut Ctx, now: f64, attempts: u32, retry: Retry, error: LinkError) -> Step {
    match retry {
        Retry::Waiting { outage, conn, .. } => attempt_failed(ctx, now, attempts, Some(outage), conn, false, error),
        Retry::IceRestart { outage, conn, .. } => attempt_failed(ctx, now, attempts, Some(outage), Some(conn), false, error),
        Retry::Fresh { outage, conn, .. } => attempt_failed(ctx, now, attempts, outage, Some(conn), true, error),
    }
}

/// A recovery attempt failed: manual → back to `interrupted`; automatic → the next attempt
/// after the backoff, or `failed` after the last one. `fresh`: the attempt was a fresh
/// session, `conn` its half-built connection.
fn attempt_failed(
    ctx: &mut Ctx,
    now: f64,
    attempts: u32,
    outage: Option<Outage>,
    mut conn: Option<Conn>,
    fresh: bool,
    error: LinkError,
) -> Step {
    let mut effects = Vec::new();
    if fresh {
        // A half-built connection is worth nothing: release it (mic included) and its session.
        let session = conn.take().and_then(|c| c.session);
        effects.push(Effect::Teardown { delete_session: session, page_exit: false });
    }
    effects.push(Effect::SettleReconnect(Err(error.clone())));
    let state = match outage.map(|o| o.carried(now)) {
        Some(outage) if ctx.cfg.policy == ReconnectPolicy::Manual => {
            State::Interrupted(Interrupted { outage, attempts, conn })
        }
        Some(outage) if attempts < ctx.cfg.backoff.attempts => {
            let due_at = ctx.retry_due(now, attempts);
            State::Reconnecting(Reconnecting { attempts, retry: Retry::Waiting { outage, due_at, conn } })
        }
        _ => {
            // Out of attempts (or a reconnect() from failed/disconnected that did not work).
            ctx.page.drop_deadline();
            let session = conn.and_then(|c| c.session);
            effects.push(Effect::Teardown { delete_session: session, page_exit: false });
            State::Ended(Ended { outcome: Outcome::Failed(error), session: None, attempts })
        }
    };
    effects.push(Effect::Notify);
    (state, effects)
}

impl Ctx {
    /// When the attempt after `attempts` is due (full-jitter backoff from `now`), ms.
    fn retry_due(&mut self, now: f64, attempts: u32) -> f64 {
        now + self.cfg.backoff.delay_ms(attempts.saturating_add(1), self.rng.next_f64()) as f64
    }
}

fn no_session() -> LinkError {
    LinkError::new(ErrorCode::NoSession, "there is no session to reconnect: call connect() first")
}

