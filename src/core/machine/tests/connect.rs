//! `connect()`, the connecting and connected states, ending the link.

use super::*;

#[test]
fn connect_starts_a_connection_and_cleans_first() {
    let mut m = Machine::new(&opts(1234), 1);
    let fx = m.handle(10.0, Input::Connect);
    assert_eq!(
        fx,
        vec![Effect::Teardown { delete_session: None, page_exit: false }, Effect::StartConnect { conn: 1 }, Effect::Notify]
    );
    assert_eq!(m.status(), Status::Connecting);
    assert_eq!(m.phase(), Some(ConnectPhase::Token));
    assert_eq!(m.poll_timeout(), Some(1244.0), "connectTimeoutMs from the start");
    assert!(m.handle(11.0, Input::Connect).is_empty(), "a second connect while connecting does nothing");
    assert_eq!(m.poll_timeout(), Some(1244.0), "and does not move the deadline");
}

#[test]
fn connected_needs_both_peer_and_channel() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(100.0, Input::Connect);
    assert!(m.handle(150.0, Input::ChannelOpen { conn: 1 }).is_empty());
    assert_eq!(m.status(), Status::Connecting);
    let fx = m.handle(340.0, Input::PeerState { conn: 1, state: PeerState::Connected });
    assert_eq!(fx, vec![Effect::SettleConnect(Ok(())), Effect::FlushOutbox, Effect::Notify]);
    assert_eq!(m.status(), Status::Connected);
    assert_eq!(m.connect_ms(), Some(240.0));
    assert_eq!(m.phase(), None);
}

#[test]
fn connect_timings_split_the_phases() {
    let mut m = Machine::new(&opts(5000), 1);
    m.handle(1000.0, Input::Connect);
    m.handle(1010.0, Input::Phase { conn: 1, phase: ConnectPhase::Microphone });
    m.handle(1210.0, Input::Phase { conn: 1, phase: ConnectPhase::Offer });
    m.handle(1230.0, Input::Phase { conn: 1, phase: ConnectPhase::Signaling });
    m.handle(1260.0, Input::Phase { conn: 1, phase: ConnectPhase::Ice });
    m.handle(1300.0, Input::PeerState { conn: 1, state: PeerState::Connected });
    m.handle(1320.0, Input::ChannelOpen { conn: 1 });
    assert_eq!(m.timings(), Some(ConnectTimings { mic_ms: 200.0, signaling_ms: 50.0, ice_ms: 60.0, total_ms: 320.0 }));
}

#[test]
fn disconnect_while_connecting_aborts_the_promise() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(0.0, Input::Connect);
    m.handle(1.0, Input::Phase { conn: 1, phase: ConnectPhase::Microphone });
    let fx = m.handle(2.0, Input::Disconnect { reason: EndReason::User });
    assert_eq!(teardown(&fx), Some((None, false)));
    assert_eq!(connect_result(&fx), Some(Err(LinkError::aborted())));
    assert!(fx.contains(&Effect::ClearOutbox));
    assert_eq!(fx.last(), Some(&Effect::Notify));
    assert_eq!(m.status(), Status::Disconnected);
    assert_eq!(m.end_reason(), Some(EndReason::User));
    assert!(m.error().is_none());
    assert_eq!(m.poll_timeout(), None, "the connect timeout went with the connection");
}

#[test]
fn stale_inputs_are_ignored_and_orphan_sessions_deleted() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(0.0, Input::Connect);
    m.handle(1.0, Input::Disconnect { reason: EndReason::User });
    m.handle(2.0, Input::Connect); // connection 2
    let before = view(&m);
    assert!(m.handle(3.0, Input::ChannelOpen { conn: 1 }).is_empty());
    assert!(m.handle(3.0, Input::PeerState { conn: 1, state: PeerState::Failed }).is_empty());
    assert!(m.handle(3.0, Input::Timeout).is_empty(), "connection 1's timeout is gone, 2's not due");
    assert!(m.handle(3.0, Input::Failed { conn: 1, error: LinkError::aborted() }).is_empty());
    assert!(m.handle(3.0, Input::TransportSample { conn: 1, bytes_received: 9e9 }).is_empty());
    let fx = m.handle(4.0, Input::SessionCreated { conn: 1, session: session("old") });
    assert_eq!(fx, vec![Effect::DeleteOrphan(session("old"))]);
    assert_eq!(view(&m), before, "stale inputs must not change the snapshot");
    assert_eq!(m.status(), Status::Connecting);
    assert!(m.session().is_none());
    assert_eq!(m.poll_timeout(), Some(1002.0), "only connection 2's deadline");
}

#[test]
fn timeout_fails_with_the_phase_named() {
    let mut m = Machine::new(&opts(500), 1);
    m.handle(0.0, Input::Connect);
    m.handle(1.0, Input::Phase { conn: 1, phase: ConnectPhase::Signaling });
    assert!(advance_to(&mut m, 499.0).is_empty(), "not before connectTimeoutMs");
    let fx = advance_to(&mut m, 501.0);
    let e = connect_result(&fx).unwrap().unwrap_err();
    assert_eq!(e.code, ErrorCode::ConnectTimeout);
    assert!(e.message.contains("signaling") && e.message.contains("500 ms"), "{}", e.message);
    assert_eq!(m.status(), Status::Failed);
    assert!(teardown(&fx).is_some());
    let (mut m, _) = connected();
    assert!(m.handle(2000.0, Input::Timeout).is_empty(), "a timeout after connecting means nothing");
    assert_eq!(m.status(), Status::Connected);
}

#[test]
fn failure_while_connecting_rejects_and_tears_down() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(0.0, Input::Connect);
    m.handle(1.0, Input::SessionCreated { conn: 1, session: session("s") });
    let err = LinkError::new(ErrorCode::IceFailed, "x");
    let fx = m.handle(5.0, Input::Failed { conn: 1, error: err.clone() });
    assert_eq!(teardown(&fx), Some((Some(session("s")), false)), "the created session is deleted");
    assert_eq!(connect_result(&fx), Some(Err(err.clone())));
    assert_eq!(m.status(), Status::Failed);
    assert_eq!(m.error(), Some(&err));
    m.handle(6.0, Input::Connect);
    assert!(m.error().is_none() && m.end_reason().is_none(), "the next connect clears the error");
}

#[test]
fn server_closing_the_channel_ends_the_link() {
    let (mut m, c) = connected();
    let fx = m.handle(10.0, Input::ChannelClosed { conn: c });
    assert_eq!(teardown(&fx), Some((Some(session("s1")), false)));
    assert_eq!(m.status(), Status::Disconnected);
    assert_eq!(m.end_reason(), Some(EndReason::ServerEnded));
}

#[test]
fn disconnect_is_idempotent() {
    let (mut m, _) = connected();
    let fx = m.handle(10.0, Input::Disconnect { reason: EndReason::User });
    assert_eq!(teardown(&fx), Some((Some(session("s1")), false)));
    let before = view(&m);
    for _ in 0..3 {
        let fx = m.handle(11.0, Input::Disconnect { reason: EndReason::Disposed });
        assert_eq!(fx, vec![Effect::Teardown { delete_session: None, page_exit: false }]);
    }
    assert_eq!(view(&m), before);
    assert_eq!(m.end_reason(), Some(EndReason::User));
}

#[test]
fn phases_notify_once_each() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(0.0, Input::Connect);
    assert_eq!(m.handle(1.0, Input::Phase { conn: 1, phase: ConnectPhase::Microphone }), vec![Effect::Notify]);
    let shown = view(&m);
    assert_eq!(shown.phase, Some(ConnectPhase::Microphone));
    assert!(m.handle(1.0, Input::Phase { conn: 1, phase: ConnectPhase::Microphone }).is_empty());
    assert_eq!(view(&m), shown);
}

#[test]
fn server_ended_event_and_audio_blocked() {
    let (mut m, c) = connected();
    assert_eq!(m.handle(5.0, Input::AudioBlocked { conn: c }), vec![Effect::Notify]);
    assert!(m.audio_blocked());
    assert!(m.handle(5.0, Input::AudioBlocked { conn: c }).is_empty());
    assert_eq!(m.handle(6.0, Input::AudioPlaying { conn: c }), vec![Effect::Notify]);
    m.handle(7.0, Input::AudioBlocked { conn: c });
    let fx = m.handle(10.0, Input::ServerEnded { conn: c });
    assert!(teardown(&fx).is_some());
    assert_eq!(m.end_reason(), Some(EndReason::ServerEnded));
    assert!(!m.audio_blocked(), "nothing is blocked once ended");
    assert!(m.handle(11.0, Input::ServerEnded { conn: c }).is_empty());
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
