//! The browser's `online`/`offline` events.

use super::*;

#[test]
fn offline_declares_the_outage_at_once_and_online_shows_it_to_the_manual_policy() {
    let (mut m, _) = connected();
    let fx = m.handle(100.0, Input::Network { online: false });
    assert_eq!(m.status(), Status::Interrupted, "no wait for outageTimeoutMs of silence");
    assert!(fx.contains(&Effect::Notify));
    assert!(!view(&m).network_online);
    assert!(m.handle(150.0, Input::Network { online: false }).is_empty(), "offline twice: once");
    let fx = m.handle(200.0, Input::Network { online: true });
    assert_eq!(fx, vec![Effect::Notify]);
    assert_eq!(m.status(), Status::Interrupted, "manual: the app's button decides");
    assert!(view(&m).network_online && view(&m).can_reconnect);
}

#[test]
fn the_automatic_policy_holds_while_offline_and_attempts_at_once_when_online() {
    let (mut m, _) = connected_with(&auto(5));
    m.handle(100.0, Input::Network { online: false });
    assert_eq!(m.status(), Status::Reconnecting);
    // Waiting: no attempt is scheduled while offline, however long it lasts.
    let fx = advance_to(&mut m, 9_000.0);
    assert!(restart(&fx).is_none() && started(&fx).is_none(), "{fx:?}");
    assert!(view(&m).next_retry_in_ms.is_some());
    // Online within the grace period: an ICE restart of the session now, the backoff reset.
    let fx = m.handle(9_001.0, Input::Network { online: true });
    assert!(restart(&fx).is_some(), "{fx:?}");
    assert_eq!(m.reconnect_attempt(), 1);
    // Online after the server forgot the session (10 s grace here): a fresh session at once.
    let (mut m, _) = connected_with(&auto(5));
    m.handle(100.0, Input::Network { online: false });
    advance_to(&mut m, 600_000.0);
    let fx = m.handle(600_001.0, Input::Network { online: true });
    assert!(started(&fx).is_some(), "{fx:?}");
}

#[test]
fn offline_while_idle_or_connecting_changes_only_the_snapshot() {
    let mut m = Machine::new(&opts(1000), 1);
    let fx = m.handle(0.0, Input::Network { online: false });
    assert_eq!((m.status(), fx), (Status::Idle, vec![Effect::Notify]));
    m.handle(1.0, Input::Connect);
    assert_eq!(m.status(), Status::Connecting, "a connect while offline still tries (it may be wrong)");
}

#[test]
fn an_outage_declared_offline_does_not_heal_on_bytes_counted_before_it_nor_while_offline() {
    let (mut m, c) = connected();
    let mut bytes = 0.0;
    samples(&mut m, c, 100.0, 1_000.0, true, &mut bytes);
    m.handle(1_010.0, Input::Network { online: false });
    assert_eq!(m.status(), Status::Interrupted);
    // The next stats reading still shows the bytes of before the event: no heal.
    m.handle(1_020.0, Input::TransportSample { conn: c, bytes_received: bytes });
    assert_eq!(m.status(), Status::Interrupted, "no flicker back to connected");
    // Media flows (a loopback or LAN peer) but the browser says offline: the outage holds.
    samples(&mut m, c, 1_250.0, 2_000.0, true, &mut bytes);
    assert_eq!(m.status(), Status::Interrupted);
    // Online, and media flows after the outage began: healed by itself.
    m.handle(2_100.0, Input::Network { online: true });
    samples(&mut m, c, 2_250.0, 2_250.0, true, &mut bytes);
    assert_eq!(m.status(), Status::Connected);
}

