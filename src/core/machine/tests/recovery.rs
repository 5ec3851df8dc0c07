//! Outages, `reconnect()`, the automatic policy's backoff.

use super::*;

#[test]
fn stalled_transport_is_an_outage_within_the_timeout() {
    let (mut m, c) = connected();
    let mut bytes = 0.0;
    samples(&mut m, c, 100.0, 3000.0, true, &mut bytes);
    assert_eq!(m.status(), Status::Connected);
    // Traffic stops after 3000 ms: the outage is seen at 3000 + 1500 (outageTimeoutMs).
    let fx = samples(&mut m, c, 3250.0, 4250.0, false, &mut bytes);
    assert!(fx.is_empty() && m.status() == Status::Connected, "not before the timeout");
    let fx = samples(&mut m, c, 4500.0, 4500.0, false, &mut bytes);
    assert_eq!(fx, vec![Effect::Notify]);
    assert_eq!(m.status(), Status::Interrupted);
    assert!(m.can_reconnect());
    assert_eq!(m.grace_remaining_ms(4500.0), Some(300_000.0));
    assert_eq!(m.poll_timeout(), Some(5000.0), "the countdown refresh");
    advance_to(&mut m, 64_500.0);
    assert_eq!(m.grace_remaining_ms(64_500.0), Some(240_000.0), "the grace period counts down");
    assert_eq!(view(&m).grace_remaining_ms, Some(240_000.0), "and the snapshot shows it");
    assert!(teardown(&fx).is_none(), "manual policy: nothing is closed, the session is kept");
}

#[test]
fn chromium_disconnected_or_ice_failed_is_an_outage_too() {
    let (mut m, c) = connected();
    m.handle(10.0, Input::IceState { conn: c, state: PeerState::Disconnected });
    assert_eq!(m.status(), Status::Interrupted);
    let (mut m, c) = connected();
    m.handle(10.0, Input::PeerState { conn: c, state: PeerState::Failed });
    assert_eq!(m.status(), Status::Interrupted, "manual policy: no auto-close on failed");
}

#[test]
fn manual_reconnect_ice_restarts_the_same_session() {
    let (mut m, c) = connected();
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Disconnected });
    let fx = m.handle(2000.0, Input::Reconnect);
    assert_eq!(restart(&fx), Some((c, 1)), "an ICE restart on the same peer connection");
    assert!(teardown(&fx).is_none() && started(&fx).is_none());
    assert_eq!(m.status(), Status::Reconnecting);
    assert!(!m.can_reconnect(), "one attempt at a time");
    assert!(m.handle(2100.0, Input::Reconnect).is_empty(), "a second click while restarting does nothing");
    m.handle(2300.0, Input::TransportSample { conn: c, bytes_received: 10.0 });
    m.handle(2400.0, Input::RestartAnswered { conn: c, seq: 1 });
    m.handle(2450.0, Input::PeerState { conn: c, state: PeerState::Connected });
    assert_eq!(m.status(), Status::Reconnecting, "connected needs media flowing after the answer");
    let fx = m.handle(2500.0, Input::TransportSample { conn: c, bytes_received: 2000.0 });
    assert_eq!(reconnect_result(&fx), Some(Ok(())));
    assert!(fx.contains(&Effect::FlushOutbox));
    assert_eq!(m.poll_timeout(), None, "no restart timeout, no countdown refresh once connected");
    assert_eq!(m.status(), Status::Connected);
    assert_eq!(m.session().and_then(|s| s.id.as_deref()), Some("s1"), "the same session");
    assert!(!m.session_replaced());
}

#[test]
fn an_ice_restart_that_does_not_answer_times_out() {
    let (mut m, c) = connected();
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Disconnected });
    m.handle(2000.0, Input::Reconnect);
    let fx = advance_to(&mut m, 3000.0);
    let e = reconnect_result(&fx).unwrap().unwrap_err();
    assert_eq!(e.code, ErrorCode::ConnectTimeout);
    assert!(e.message.contains("reconnect") && e.message.contains("1000 ms"), "{}", e.message);
    assert_eq!(m.status(), Status::Interrupted, "manual: back to the button");
}

#[test]
fn a_404_or_an_expired_grace_period_falls_back_to_a_fresh_session() {
    let (mut m, c) = connected();
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    m.handle(1500.0, Input::Reconnect);
    let gone = LinkError::http(404, "");
    let fx = m.handle(1600.0, Input::RestartFailed { conn: c, seq: 1, error: gone, needs_fresh_session: true });
    assert_eq!(teardown(&fx), Some((Some(session("s1")), false)), "the old session is released");
    let b = started(&fx).expect("a fresh connect");
    assert!(b > c);
    assert_eq!(m.poll_timeout(), Some(2000.0), "the countdown refresh comes before the fresh connect's timeout (2600)");
    let new = bring_up(&mut m, 1700.0, "s2");
    assert_eq!(new, b);
    assert!(m.session_replaced(), "the snapshot says the session was replaced");

    // Grace passed: straight to a fresh session.
    let o = Options { session_grace_ms: 5_000, ..opts(1000) };
    let (mut m, c) = connected_with(&o);
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
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
    m.handle(2.0, Input::Failed { conn: 1, error: LinkError::http(500, "") });
    let fx = m.handle(3.0, Input::Reconnect);
    assert_eq!(reconnect_result(&fx).unwrap().unwrap_err().code, ErrorCode::NoSession, "failed before any session");
}

#[test]
fn manual_failed_attempt_goes_back_to_interrupted() {
    let (mut m, c) = connected();
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    m.handle(1500.0, Input::Reconnect);
    let err = LinkError::new(ErrorCode::SignalingNetwork, "down");
    let fx = m.handle(1600.0, Input::RestartFailed { conn: c, seq: 1, error: err.clone(), needs_fresh_session: false });
    assert_eq!(reconnect_result(&fx), Some(Err(err)));
    assert_eq!(m.status(), Status::Interrupted);
    assert!(m.can_reconnect());
    let fx = m.handle(2000.0, Input::Reconnect);
    assert_eq!(restart(&fx), Some((c, 2)), "the button works again");
}

#[test]
fn auto_policy_backs_off_with_jitter_and_gives_up_after_the_last_attempt() {
    let (mut m, c) = connected_with(&auto(4));
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    assert_eq!(m.status(), Status::Reconnecting);
    let mut t = 1000.0;
    let mut delay = m.next_retry_in_ms(t).expect("first wait");
    let mut waits = vec![delay];
    for n in 1..=4u32 {
        let ceiling = Backoff::default().ceiling_ms(n) as f64;
        assert!(delay <= ceiling, "attempt {n}: wait {delay} within the ceiling {ceiling}");
        assert_eq!(delay.fract(), 0.0, "whole ms");
        let fx = advance_to(&mut m, t + delay - 1.0);
        assert!(restart(&fx).is_none() && started(&fx).is_none(), "attempt {n}: not before the wait is over");
        assert_eq!(m.next_retry_in_ms(t + delay - 1.0), Some(1.0), "the countdown comes from the deadline");
        t += delay;
        let fx = advance_to(&mut m, t);
        assert_eq!(m.reconnect_attempt(), n);
        let is_restart = restart(&fx).is_some();
        assert!(is_restart || started(&fx).is_some(), "attempt {n} started");
        assert!(m.handle(t, Input::Timeout).is_empty(), "never two attempts at once");
        assert!(m.handle(t, Input::Reconnect).is_empty(), "not even with the button");
        let fx = if let Some((_, seq)) = restart(&fx) {
            m.handle(t + 5.0, Input::RestartFailed { conn: c, seq, error: LinkError::http(503, ""), needs_fresh_session: false })
        } else {
            m.handle(t + 5.0, Input::Failed { conn: m.conn(), error: LinkError::http(503, "") })
        };
        t += 5.0;
        if n < 4 {
            assert_eq!(m.status(), Status::Reconnecting, "attempt {n} failed, more to come");
            delay = m.next_retry_in_ms(t).expect("next wait");
            waits.push(delay);
        } else {
            assert_eq!(m.status(), Status::Failed);
            assert!(m.can_reconnect(), "failed, and the button still works");
            assert_eq!(teardown(&fx).map(|t| t.1), Some(false), "everything released");
            assert!(!fx.contains(&Effect::ClearOutbox), "what the app sent is kept for a later reconnect");
            assert_eq!(m.poll_timeout(), None);
        }
    }
    assert!(waits.windows(2).any(|w| w[0] != w[1]) || waits.iter().all(|&w| w == 0.0), "jittered: {waits:?}");
}

#[test]
fn auto_policy_recovers_and_resets_the_count() {
    let (mut m, c) = connected_with(&auto(10));
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    let d = m.next_retry_in_ms(1000.0).unwrap();
    let fx = advance_to(&mut m, 1000.0 + d);
    let (_, seq) = restart(&fx).expect("ICE restart first while the session lives");
    m.handle(1100.0 + d, Input::RestartAnswered { conn: c, seq });
    m.handle(1150.0 + d, Input::PeerState { conn: c, state: PeerState::Connected });
    m.handle(1200.0 + d, Input::TransportSample { conn: c, bytes_received: 99.0 });
    assert_eq!(m.status(), Status::Connected);
    assert_eq!(m.poll_timeout(), None, "no retry pending");
    assert_eq!(m.reconnect_attempt(), 0);
    assert_eq!(m.next_retry_in_ms(1200.0 + d), None);
}

#[test]
fn a_blip_that_heals_by_itself_returns_to_connected() {
    let (mut m, c) = connected();
    let mut bytes = 0.0;
    samples(&mut m, c, 100.0, 1000.0, true, &mut bytes);
    samples(&mut m, c, 1250.0, 2750.0, false, &mut bytes);
    assert_eq!(m.status(), Status::Interrupted);
    samples(&mut m, c, 3000.0, 3000.0, true, &mut bytes);
    assert_eq!(m.status(), Status::Connected);
}

#[test]
fn disconnect_during_backoff_ends_everything() {
    let (mut m, c) = connected_with(&auto(10));
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    assert!(m.poll_timeout().is_some());
    let fx = m.handle(1200.0, Input::Disconnect { reason: EndReason::User });
    assert_eq!(m.poll_timeout(), None, "the backoff wait and the countdown refresh are gone");
    assert!(teardown(&fx).is_some());
    assert_eq!(m.status(), Status::Disconnected);
    assert!(m.handle(5000.0, Input::Timeout).is_empty(), "a late retry timer does nothing");
}

#[test]
fn a_failed_fresh_attempt_releases_its_connection() {
    let o = Options { session_grace_ms: 0, ..opts(1000) };
    let (mut m, c) = connected_with(&o);
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    let fx = m.handle(1100.0, Input::Reconnect);
    let fresh = started(&fx).expect("grace 0: a fresh session");
    m.handle(1150.0, Input::SessionCreated { conn: fresh, session: session("s2") });
    let fx = m.handle(1200.0, Input::Failed { conn: fresh, error: LinkError::http(500, "") });
    assert_eq!(teardown(&fx), Some((Some(session("s2")), false)), "the half-built connection and its session");
    assert_eq!(m.status(), Status::Interrupted);
    assert!(!m.is_current(fresh) && !m.is_current(c), "no live connection left");
    let fx = m.handle(1300.0, Input::SessionCreated { conn: fresh, session: session("late") });
    assert_eq!(fx, vec![Effect::DeleteOrphan(session("late"))], "a late session of it is an orphan");
}
