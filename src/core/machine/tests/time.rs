//! Deadlines: `poll_timeout`, `Input::Timeout`, countdowns, the countdown refresh.

use super::*;

fn interrupted_at(grace_ms: u32, at: f64) -> (Machine, u32) {
    let (mut m, c) = connected_with(&Options { session_grace_ms: grace_ms, ..opts(1000) });
    m.handle(at, Input::PeerState { conn: c, state: PeerState::Disconnected });
    assert_eq!(m.status(), Status::Interrupted);
    (m, c)
}

#[test]
fn poll_timeout_is_none_when_nothing_is_pending() {
    let m = Machine::new(&opts(1000), 1);
    assert_eq!(m.poll_timeout(), None, "idle");
    let (mut m, _) = connected();
    assert_eq!(m.poll_timeout(), None, "connected and visible");
    m.handle(10.0, Input::Disconnect { reason: EndReason::User });
    assert_eq!(m.poll_timeout(), None, "ended");

    let (mut m, _) = connected_with(&with_visibility(HiddenPolicy::None, 5000, false));
    m.handle(10.0, Input::PageHidden);
    assert_eq!(m.poll_timeout(), None, "hidden, but the policy keeps the link");

    let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 5000, false), 1);
    m.handle(10.0, Input::PageHidden);
    m.handle(20.0, Input::Connect);
    assert_eq!(m.poll_timeout(), Some(1020.0), "hidden before the link existed: only the connect timeout");
}

#[test]
fn the_earliest_of_several_deadlines_wins() {
    // The visibility grace delay (100 + 300) before the connect timeout (1000).
    let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 300, false), 1);
    m.handle(0.0, Input::Connect);
    m.handle(100.0, Input::PageHidden);
    assert_eq!(m.poll_timeout(), Some(400.0));
    let fx = advance_to(&mut m, 400.0);
    assert_eq!(connect_result(&fx), Some(Err(LinkError::aborted())));
    assert_eq!(m.end_reason(), Some(EndReason::Hidden), "the grace delay fired, not the timeout");
    assert_eq!(m.poll_timeout(), None);

    // The connect timeout (1000) before the visibility grace delay (100 + 3000).
    let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 3000, false), 1);
    m.handle(0.0, Input::Connect);
    m.handle(100.0, Input::PageHidden);
    assert_eq!(m.poll_timeout(), Some(1000.0));
    advance_to(&mut m, 5000.0);
    assert_eq!(m.error().map(|e| e.code), Some(ErrorCode::ConnectTimeout));

    // Both due in one Timeout: the earlier fires first, the later finds the link ended.
    let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 300, false), 1);
    m.handle(0.0, Input::Connect);
    m.handle(100.0, Input::PageHidden);
    let fx = m.handle(5000.0, Input::Timeout);
    assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    assert_eq!(fx.iter().filter(|e| matches!(e, Effect::Teardown { .. })).count(), 1, "{fx:?}");

    // Reconnecting (automatic): the countdown refresh and the backoff wait, earliest first.
    let (mut m, c) = connected_with(&auto(10));
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    let due = 1000.0 + m.next_retry_in_ms(1000.0).unwrap();
    assert_eq!(m.poll_timeout(), Some(due.min(1500.0)));
}

#[test]
fn a_deadline_in_the_past_fires_at_once() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(0.0, Input::Connect);
    m.handle(3000.0, Input::Phase { conn: 1, phase: ConnectPhase::Offer });
    assert_eq!(m.poll_timeout(), Some(1000.0), "overdue: the driver feeds Timeout at once");
    let fx = m.handle(3000.0, Input::Timeout);
    assert_eq!(connect_result(&fx).unwrap().unwrap_err().code, ErrorCode::ConnectTimeout);

    // Many countdown refreshes overdue: one Notify, and the next one after now.
    let (mut m, _) = interrupted_at(300_000, 1000.0);
    let fx = m.handle(10_000.0, Input::Timeout);
    assert_eq!(fx, vec![Effect::Notify]);
    assert_eq!(m.poll_timeout(), Some(10_500.0));
}

#[test]
fn countdowns_come_from_deadlines() {
    let (m, _) = interrupted_at(300_000, 4500.0);
    for (t, left) in [(4500.0, 300_000.0), (5000.0, 299_500.0), (64_500.0, 240_000.0), (304_500.0, 0.0), (1e9, 0.0)] {
        assert_eq!(m.grace_remaining_ms(t), Some(left), "at {t}");
    }
    assert_eq!(m.next_retry_in_ms(5000.0), None, "manual: no retry");

    let (mut m, c) = connected_with(&auto(10));
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    let wait = m.next_retry_in_ms(1000.0).unwrap();
    assert_eq!(m.next_retry_in_ms(1000.0 + wait / 2.0), Some(wait - wait / 2.0));
    assert_eq!(m.next_retry_in_ms(1000.0 + wait + 50.0), Some(0.0), "due: 0, never negative");
    assert_eq!(m.grace_remaining_ms(2000.0), Some(9000.0));

    assert_eq!(view(&m).next_retry_in_ms, Some(wait), "the snapshot: as of the last input (1000)");

    // The snapshot shows them as of the machine's last input: equal snapshots until the next
    // Notify (the driver compares snapshot values), then counted down.
    let (mut m, _) = interrupted_at(300_000, 1000.0);
    let shown = view(&m);
    assert_eq!(shown.grace_remaining_ms, Some(300_000.0));
    assert_eq!(view(&m), shown);
    assert_eq!(m.handle(1500.0, Input::Timeout), vec![Effect::Notify]);
    assert_ne!(view(&m), shown);
    assert_eq!(view(&m).grace_remaining_ms, Some(299_500.0));
}

#[test]
fn the_countdown_refresh_notifies_every_500_ms_while_a_countdown_moves() {
    let (mut m, _) = interrupted_at(2000, 1000.0);
    assert_eq!(notify_times(&mut m, 10_000.0), [1500.0, 2000.0, 2500.0, 3000.0], "until it shows 0");
    assert_eq!(view(&m).grace_remaining_ms, Some(0.0));
    assert_eq!(m.poll_timeout(), None, "a countdown at 0 does not move");

    // A late timer keeps the cadence; a restored link stops it.
    let (mut m, c2) = interrupted_at(300_000, 1000.0);
    assert_eq!(m.handle(1740.0, Input::Timeout), vec![Effect::Notify]);
    assert_eq!(m.poll_timeout(), Some(2000.0));
    m.handle(1800.0, Input::TransportSample { conn: c2, bytes_received: 1.0 });
    m.handle(1800.0, Input::PeerState { conn: c2, state: PeerState::Connected });
    assert_eq!(m.status(), Status::Connected, "the blip healed");
    assert_eq!(m.poll_timeout(), None, "no refresh while connected");

    // Automatic policy: refreshes while waiting, and the attempt itself notifies.
    let (mut m, c) = connected_with(&Options { session_grace_ms: 0, ..auto(10) });
    m.handle(1000.0, Input::PeerState { conn: c, state: PeerState::Failed });
    let due = 1000.0 + m.next_retry_in_ms(1000.0).unwrap();
    let times = notify_times(&mut m, due);
    let ticks: Vec<f64> = (1..).map(|k| 1000.0 + 500.0 * k as f64).take_while(|&t| t < due).collect();
    let mut expected = ticks;
    expected.push(due);
    assert_eq!(times, expected, "every 500 ms from the outage, then the attempt");
    assert_eq!(m.reconnect_attempt(), 1);
    assert_eq!(m.grace_remaining_ms(due), Some(0.0));
    assert_eq!(m.poll_timeout(), Some(due + 1000.0), "grace 0, attempt running: only its timeout");
}
