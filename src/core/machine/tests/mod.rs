//! Behaviour tests of the machine on simulated time: a test moves the clock with
//! [`advance_to`], which feeds [`Input::Timeout`] at each deadline [`Machine::poll_timeout`]
//! names, in order — what the driver's one timer does.

mod connect;
mod props;
mod network;
mod recovery;
mod time;
mod visibility;

use super::*;
use crate::core::error::ErrorCode;
use crate::core::options::{HiddenPolicy, RawOptions};
use crate::core::outbox::Outbox;
use crate::core::snapshot::Snapshot;
use crate::core::mic::MicState;
use crate::core::telemetry::Telemetry;

/// Feeds `Input::Timeout` at each deadline at or before `t` (ms), earliest first, as the driver's
/// timer would; returns every effect, in order. The machine's time is then the last deadline
/// fired (not `t`).
pub(super) fn advance_to(m: &mut Machine, t: f64) -> Vec<Effect> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match m.poll_timeout() {
            Some(at) if at <= t => out.extend(m.handle(at, Input::Timeout)),
            _ => return out,
        }
    }
    panic!("deadlines never stop before {t}");
}

/// Like [`advance_to`], but returns when (ms) each `Notify` came.
pub(super) fn notify_times(m: &mut Machine, t: f64) -> Vec<f64> {
    let mut times = Vec::new();
    while let Some(at) = m.poll_timeout().filter(|&at| at <= t) {
        if m.handle(at, Input::Timeout).contains(&Effect::Notify) {
            times.push(at);
        }
    }
    times
}

/// The snapshot of `m` (empty outbox, no quality samples, silent meters).
pub(super) fn view(m: &Machine) -> Snapshot {
    Snapshot::of(m, &Outbox::new(10), &Telemetry::new(&opts(1000)), &MicState::new(&opts(1000)))
}

pub(super) fn opts(connect_timeout_ms: u32) -> Options {
    let raw = RawOptions { url: Some("http://h/whip".into()), ..Default::default() };
    Options { connect_timeout_ms, ..Options::validate(&raw).unwrap() }
}

pub(super) fn with_visibility(on_hidden: HiddenPolicy, grace_ms: u32, resume_on_visible: bool) -> Options {
    Options { visibility: VisibilityPolicy { on_hidden, grace_ms, resume_on_visible }, ..opts(1000) }
}

pub(super) fn auto(attempts: u32) -> Options {
    Options {
        reconnect: ReconnectPolicy::Auto,
        backoff: Backoff { attempts, ..Backoff::default() },
        session_grace_ms: 10_000,
        ..opts(1000)
    }
}

pub(super) fn session(id: &str) -> Session {
    Session { id: Some(id.into()), url: Some(format!("http://h/whip/sessions/{id}")), etag: None, token: None }
}

pub(super) fn teardown(fx: &[Effect]) -> Option<(Option<Session>, bool)> {
    fx.iter().find_map(|e| match e {
        Effect::Teardown { delete_session, page_exit } => Some((delete_session.clone(), *page_exit)),
        _ => None,
    })
}

pub(super) fn connect_result(fx: &[Effect]) -> Option<Result<(), LinkError>> {
    fx.iter().find_map(|e| match e {
        Effect::SettleConnect(r) => Some(r.clone()),
        _ => None,
    })
}

pub(super) fn reconnect_result(fx: &[Effect]) -> Option<Result<(), LinkError>> {
    fx.iter().find_map(|e| match e {
        Effect::SettleReconnect(r) => Some(r.clone()),
        _ => None,
    })
}

/// The `(conn, seq)` of an ICE restart among `fx`.
pub(super) fn restart(fx: &[Effect]) -> Option<(u32, u32)> {
    fx.iter().find_map(|e| match e {
        Effect::IceRestart { conn, seq, .. } => Some((*conn, *seq)),
        _ => None,
    })
}

/// The connection a `StartConnect` among `fx` starts.
pub(super) fn started(fx: &[Effect]) -> Option<u32> {
    fx.iter().find_map(|e| match e {
        Effect::StartConnect { conn } => Some(*conn),
        _ => None,
    })
}

/// Drives `m` through a full connect at `t` ms; returns the connection.
pub(super) fn bring_up(m: &mut Machine, t: f64, id: &str) -> u32 {
    let c = m.conn();
    m.handle(t, Input::SessionCreated { conn: c, session: session(id) });
    m.handle(t + 1.0, Input::PeerState { conn: c, state: PeerState::Connected });
    m.handle(t + 2.0, Input::ChannelOpen { conn: c });
    assert_eq!(m.status(), Status::Connected);
    c
}

pub(super) fn connected_with(o: &Options) -> (Machine, u32) {
    let mut m = Machine::new(o, 1);
    m.handle(0.0, Input::Connect);
    let c = bring_up(&mut m, 1.0, "s1");
    (m, c)
}

pub(super) fn connected() -> (Machine, u32) {
    connected_with(&opts(1000))
}

/// Feeds transport samples every 250 ms from `from` to `to`, growing when `flowing`.
pub(super) fn samples(m: &mut Machine, c: u32, from: f64, to: f64, flowing: bool, bytes: &mut f64) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        if flowing {
            *bytes += 1000.0;
        }
        out.extend(m.handle(t, Input::TransportSample { conn: c, bytes_received: *bytes }));
        t += 250.0;
    }
    out
}
