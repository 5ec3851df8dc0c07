//! `connect()`: starting a connection, the `connecting` and `connected` states, and ending the
//! link (`disconnect()`, errors, the server ending the session).

use super::recovery;
use super::state::{Conn, Connected, Connecting, Ended, Outcome, State};
use super::{is_active, ConnectPhase, ConnectTimings, Ctx, Effect, EndReason, Event, PeerState, Step};
use crate::core::error::{ErrorCode, LinkError};
use crate::core::session::Session;

/// `Input::Connect`: a new link, unless one is active.
pub(super) fn on_connect(ctx: &mut Ctx, state: State, now: f64) -> Step {
    if is_active(&state) {
        return (state, Vec::new());
    }
    ctx.reset_for_new_link();
    let (conn, effects) = ctx.begin_connection(now, None);
    let mut phase_at = [None; 5];
    phase_at[ConnectPhase::Token as usize] = Some(now);
    let deadline = now + ctx.cfg.connect_timeout_ms as f64;
    (State::Connecting(Connecting { conn, phase: ConnectPhase::Token, phase_at, deadline }), effects)
}

/// `Input::Disconnect`: ends an active link; idempotent otherwise.
pub(super) fn on_disconnect(ctx: &mut Ctx, state: State, reason: EndReason) -> Step {
    if !is_active(&state) {
        // Idempotent: nothing to end, but make sure nothing is left either.
        return (state, vec![Effect::Teardown { delete_session: None, page_exit: false }]);
    }
    end(ctx, state, reason)
}

/// The inputs of the live connection while `connecting`.
pub(super) fn connecting(ctx: &mut Ctx, mut s: Connecting, now: f64, event: Event) -> Step {
    match event {
        Event::Phase(phase) if phase != s.phase => {
            s.phase = phase;
            s.phase_at[phase as usize] = Some(now);
            (State::Connecting(s), vec![Effect::Notify])
        }
        Event::Progress if s.conn.ready() => {
            let timings = connect_timings(&s, now);
            let mut conn = s.conn;
            ctx.record.connect_ms = Some((now - conn.started_at).max(0.0));
            ctx.record.timings = Some(timings);
            conn.rx_growth_at = now;
            (
                State::Connected(Connected { conn }),
                vec![Effect::SettleConnect(Ok(())), Effect::FlushOutbox, Effect::Notify],
            )
        }
        Event::Trouble(PeerState::Failed) => fail(
            ctx,
            State::Connecting(s),
            LinkError::new(ErrorCode::IceFailed, "the peer connection failed (ICE/DTLS): check network, firewall and ICE servers"),
        ),
        Event::ChannelClosed => fail(ctx, State::Connecting(s), closed_early()),
        Event::Failed(error) => fail(ctx, State::Connecting(s), error),
        Event::ServerEnded => end(ctx, State::Connecting(s), EndReason::ServerEnded),
        _ => (State::Connecting(s), Vec::new()),
    }
}

/// `connectTimeoutMs` passed while `connecting`.
pub(super) fn connect_timed_out(ctx: &mut Ctx, s: Connecting) -> Step {
    let error = timeout_error(s.phase.as_str(), ctx.cfg.connect_timeout_ms);
    fail(ctx, State::Connecting(s), error)
}

/// The inputs of the live connection while `connected`.
pub(super) fn connected(ctx: &mut Ctx, s: Connected, now: f64, event: Event) -> Step {
    match event {
        Event::Trouble(_) => recovery::outage(ctx, s, now),
        Event::NoBytes if now - s.conn.rx_growth_at >= ctx.cfg.outage_timeout_ms as f64 => recovery::outage(ctx, s, now),
        Event::ChannelClosed | Event::ServerEnded => end(ctx, State::Connected(s), EndReason::ServerEnded),
        Event::Failed(error) => fail(ctx, State::Connected(s), error),
        _ => (State::Connected(s), Vec::new()),
    }
}

impl Ctx {
    /// A new link (`connect()`, or `reconnect()` from an ended one): forget the last one's news.
    pub(super) fn reset_for_new_link(&mut self) {
        self.record.teardown_errors.clear();
        self.record.session_replaced = false;
    }

    /// Starts a new peer connection after releasing the previous one (and `DELETE`ing
    /// `old_session`): the connection and the effects.
    pub(super) fn begin_connection(&mut self, now: f64, old_session: Option<Session>) -> (Conn, Vec<Effect>) {
        let conn = Conn::new(self.next_conn(), now);
        self.record.connect_ms = None;
        let effects = vec![
            Effect::Teardown { delete_session: old_session, page_exit: false },
            Effect::StartConnect { conn: conn.id },
            Effect::Notify,
        ];
        (conn, effects)
    }
}

fn connect_timings(s: &Connecting, now: f64) -> ConnectTimings {
    let at = |p: ConnectPhase| s.phase_at[p as usize];
    let span = |from: Option<f64>, to: Option<f64>| match (from, to) {
        (Some(a), Some(b)) => (b - a).max(0.0),
        _ => 0.0,
    };
    ConnectTimings {
        mic_ms: span(at(ConnectPhase::Microphone), at(ConnectPhase::Offer)),
        signaling_ms: span(at(ConnectPhase::Offer), at(ConnectPhase::Ice)),
        ice_ms: span(at(ConnectPhase::Ice), Some(now)),
        total_ms: (now - s.conn.started_at).max(0.0),
    }
}

/// Ends an active link on purpose.
pub(super) fn end(ctx: &mut Ctx, state: State, reason: EndReason) -> Step {
    finish(ctx, state, Outcome::Disconnected(reason), LinkError::aborted())
}

/// Ends an active link with an error.
pub(super) fn fail(ctx: &mut Ctx, state: State, error: LinkError) -> Step {
    finish(ctx, state, Outcome::Failed(error.clone()), error)
}

/// Common tail of `end` and `fail`: release everything and settle what is pending with
/// `settle` (the error the promises reject with).
fn finish(ctx: &mut Ctx, state: State, outcome: Outcome, settle: LinkError) -> Step {
    let was_connecting = matches!(state, State::Connecting(_));
    ctx.page.drop_deadline();
    let session = state.into_conn().and_then(|c| c.session);
    let mut effects = vec![Effect::Teardown { delete_session: session.clone(), page_exit: false }, Effect::ClearOutbox];
    if was_connecting {
        effects.push(Effect::SettleConnect(Err(settle.clone())));
    }
    effects.push(Effect::SettleReconnect(Err(settle)));
    effects.push(Effect::Notify);
    (State::Ended(Ended { outcome, session, attempts: 0 }), effects)
}

/// The data channel closed before it was ever open: the server refused it.
pub(super) fn closed_early() -> LinkError {
    LinkError::new(ErrorCode::PeerConnection, "the data channel closed before it opened: the server refused it")
}

/// `connectTimeoutMs` (`ms`) passed in step `what`.
pub(super) fn timeout_error(what: &str, ms: u32) -> LinkError {
    LinkError::new(
        ErrorCode::ConnectTimeout,
        format!("not connected after {ms} ms (stuck in the {what} phase): raise connectTimeoutMs or check the server"),
    )
}
