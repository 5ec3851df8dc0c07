//! The control machine on simulated time.

use super::*;

fn opts() -> ControlOptions {
    ControlOptions {
        url: "ws://h/control".into(),
        heartbeat_ms: 30_000,
        heartbeat_timeout_ms: 65_000,
        backoff: Backoff { base_ms: 5_000, cap_ms: 30_000, attempts: 3, spread_ms: 0, jitter: true },
        outbox_capacity: 2,
    }
}

fn json(kind: Option<&str>) -> Incoming {
    Incoming::Json { kind: kind.map(str::to_string) }
}

fn started() -> Control {
    let mut c = Control::new(opts(), 3);
    c.handle(0.0, ControlInput::Start { session_id: Some("s\"1".into()) });
    c.handle(10.0, ControlInput::Opened { generation: 1 });
    c
}

#[test]
fn opens_after_the_session_and_announces_it() {
    let mut c = Control::new(opts(), 3);
    let fx = c.handle(0.0, ControlInput::Start { session_id: Some("s\"1".into()) });
    assert!(fx.contains(&ControlEffect::Open { generation: 1 }));
    let fx = c.handle(10.0, ControlInput::Opened { generation: 1 });
    assert_eq!(fx[0], ControlEffect::Send(Outgoing::SessionInfo { session_id: Some("s\"1".into()) }));
    assert_eq!(c.poll_timeout(), Some(30_010.0), "the heartbeat is due 30 s after the open");
    assert_eq!(c.state(), ControlState::Open);
    c.handle(20.0, ControlInput::Message { generation: 1, message: json(Some("session_confirmed")) });
    assert_eq!(c.state(), ControlState::Confirmed);
}

#[test]
fn messages_are_delivered_in_order_and_stale_sockets_ignored() {
    let mut c = started();
    for _ in 0..3 {
        let fx = c.handle(20.0, ControlInput::Message { generation: 1, message: json(None) });
        assert_eq!(fx, vec![ControlEffect::Deliver]);
    }
    assert!(c.handle(20.0, ControlInput::Message { generation: 0, message: json(None) }).is_empty());
    let fx = c.handle(20.0, ControlInput::Message { generation: 1, message: Incoming::NotJson });
    assert!(matches!(fx.as_slice(), [ControlEffect::Report(e)] if e.code == ErrorCode::ControlInvalidJson), "{fx:?}");
    // Only the parsed `type` counts: a nested "type" is not the message's.
    let fx = c.handle(20.0, ControlInput::Message { generation: 1, message: json(Some("x")) });
    assert_eq!(fx, vec![ControlEffect::Deliver]);
    assert_eq!(c.state(), ControlState::Open);
}

#[test]
fn abnormal_close_reconnects_with_backoff_and_reannounces_normal_close_does_not() {
    let mut c = started();
    let fx = c.handle(100.0, ControlInput::Closed { generation: 1, code: 1006 });
    assert!(fx.iter().all(|e| !matches!(e, ControlEffect::Open { .. })));
    let retry_at = c.poll_timeout().unwrap();
    assert!((100.0..=5_100.0).contains(&retry_at), "{retry_at}");
    assert!(c.handle(retry_at - 1.0, ControlInput::Timeout).is_empty(), "not yet");
    assert_eq!(c.state(), ControlState::Reconnecting);
    // Sent while down: buffered (capacity 2, oldest dropped), delivered after the announce.
    for m in ["a", "b", "c"] {
        c.handle(200.0, ControlInput::Send { text: m.into() });
    }
    assert_eq!((c.queued(), c.dropped()), (2, 1));
    let fx = c.handle(retry_at, ControlInput::Timeout);
    assert!(fx.contains(&ControlEffect::Open { generation: 2 }));
    let fx = c.handle(5_200.0, ControlInput::Opened { generation: 2 });
    let sent: Vec<&Outgoing> = fx.iter().filter_map(|e| match e { ControlEffect::Send(s) => Some(s), _ => None }).collect();
    assert_eq!(
        sent,
        [&Outgoing::SessionInfo { session_id: Some("s\"1".into()) }, &Outgoing::App("b".into()), &Outgoing::App("c".into())]
    );
    assert_eq!(c.reconnects(), 1);
    let fx = c.handle(6_000.0, ControlInput::Closed { generation: 2, code: 1000 });
    assert_eq!(fx, vec![ControlEffect::Notify]);
    assert_eq!(c.state(), ControlState::Closed, "a normal close does not reconnect");
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn heartbeat_pings_and_a_silent_socket_is_an_outage() {
    let mut c = started();
    assert!(c.handle(30_009.0, ControlInput::Timeout).is_empty(), "not due yet");
    let fx = c.handle(30_010.0, ControlInput::Timeout);
    assert_eq!(fx[0], ControlEffect::Send(Outgoing::Ping { ts_ms: 30_010 }));
    assert_eq!(c.poll_timeout(), Some(60_010.0));
    c.handle(40_000.0, ControlInput::Message { generation: 1, message: json(Some("pong")) });
    assert!(c.handle(70_000.0, ControlInput::Timeout).iter().all(|e| !matches!(e, ControlEffect::Close { .. })));
    // 65 s of silence since the pong at 40 s: due at 105 s, not a heartbeat period later.
    assert_eq!(c.poll_timeout(), Some(100_000.0));
    c.handle(100_000.0, ControlInput::Timeout);
    assert_eq!(c.poll_timeout(), Some(105_000.0));
    let fx = c.handle(105_001.0, ControlInput::Timeout);
    assert!(fx.contains(&ControlEffect::Close { code: HEARTBEAT_TIMEOUT_CLOSURE }));
    assert_eq!(c.state(), ControlState::Reconnecting);
}

#[test]
fn gives_up_after_the_attempts_and_stop_closes_normally() {
    let mut c = started();
    for g in 1..=4 {
        c.handle(0.0, ControlInput::Closed { generation: g, code: 1011 });
        if let Some(at) = c.poll_timeout() {
            c.handle(at, ControlInput::Timeout);
        }
    }
    assert_eq!(c.state(), ControlState::Closed);
    assert_eq!(c.poll_timeout(), None);
    let mut c = started();
    c.handle(0.0, ControlInput::Send { text: "x".into() });
    let fx = c.handle(1.0, ControlInput::Stop);
    assert_eq!(fx, vec![ControlEffect::Close { code: 1000 }, ControlEffect::Notify]);
    assert_eq!(c.poll_timeout(), None);
    assert!(c.handle(2.0, ControlInput::Closed { generation: 1, code: 1000 }).is_empty());
    assert_eq!(c.queued(), 0);
}

#[test]
fn follows_the_link_starts_on_connected_announces_a_new_session_stops_when_ended() {
    let mut c = Control::new(opts(), 3);
    assert!(c.follow(0.0, None, false).is_empty(), "connecting: nothing");
    assert!(c.follow(1.0, Some(Some("a".into())), false).contains(&ControlEffect::Open { generation: 1 }));
    assert!(c.follow(2.0, Some(Some("a".into())), false).is_empty(), "the same session: once");
    c.handle(3.0, ControlInput::Opened { generation: 1 });
    let fx = c.follow(4.0, Some(Some("b".into())), false);
    assert_eq!(fx[0], ControlEffect::Send(Outgoing::SessionInfo { session_id: Some("b".into()) }));
    assert!(c.follow(5.0, None, false).is_empty(), "reconnecting: the channel stays");
    let fx = c.follow(6.0, None, true);
    assert!(fx.contains(&ControlEffect::Close { code: NORMAL_CLOSURE }));
    assert!(c.follow(7.0, None, true).is_empty(), "stopped once");
}
