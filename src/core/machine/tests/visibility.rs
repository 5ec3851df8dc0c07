//! Page hidden/visible, the visibility grace delay, pagehide.

use super::*;

#[test]
fn hidden_disconnects_at_once_by_default() {
    let (mut m, _) = connected();
    let fx = m.handle(10.0, Input::PageHidden);
    assert!(teardown(&fx).is_some());
    assert_eq!(m.status(), Status::Disconnected);
    assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    assert!(m.handle(20.0, Input::PageVisible).is_empty(), "no resume unless asked");
    assert_eq!(m.status(), Status::Disconnected);
}

#[test]
fn hidden_while_connecting_aborts() {
    let mut m = Machine::new(&opts(1000), 1);
    m.handle(0.0, Input::Connect);
    let fx = m.handle(1.0, Input::PageHidden);
    assert_eq!(connect_result(&fx), Some(Err(LinkError::aborted())));
    assert_eq!(m.end_reason(), Some(EndReason::Hidden));
}

#[test]
fn hidden_with_grace_waits_and_visible_cancels() {
    let (mut m, _) = connected_with(&with_visibility(HiddenPolicy::Disconnect, 3000, false));
    assert!(m.handle(10.0, Input::PageHidden).is_empty());
    assert_eq!(m.poll_timeout(), Some(3010.0), "the grace delay is a deadline");
    assert_eq!(m.status(), Status::Connected);
    assert!(m.handle(20.0, Input::PageVisible).is_empty());
    assert_eq!(m.poll_timeout(), None, "visible cancels it");
    assert!(m.handle(3010.0, Input::Timeout).is_empty(), "a late timer does nothing");
    assert_eq!(m.status(), Status::Connected);
    m.handle(4000.0, Input::PageHidden);
    assert!(advance_to(&mut m, 6999.0).is_empty());
    let fx = advance_to(&mut m, 7000.0);
    assert!(teardown(&fx).is_some());
    assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn policy_none_keeps_running_and_resume_reconnects() {
    let mut m = Machine::new(&with_visibility(HiddenPolicy::None, 0, false), 1);
    m.handle(0.0, Input::Connect);
    assert!(m.handle(1.0, Input::PageHidden).is_empty());
    assert_eq!(m.status(), Status::Connecting);

    let mut m = Machine::new(&with_visibility(HiddenPolicy::Disconnect, 0, true), 1);
    m.handle(0.0, Input::Connect);
    m.handle(1.0, Input::PageHidden);
    assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    let fx = m.handle(2.0, Input::PageVisible);
    assert_eq!(started(&fx), Some(2));
    assert_eq!(m.status(), Status::Connecting);
    m.handle(3.0, Input::Disconnect { reason: EndReason::User });
    m.handle(4.0, Input::PageHidden);
    assert!(m.handle(5.0, Input::PageVisible).is_empty(), "a user disconnect is not resumed");
}

#[test]
fn pagehide_tears_down_as_page_exit() {
    let (mut m, _) = connected();
    let fx = m.handle(10.0, Input::PageHide);
    assert_eq!(teardown(&fx), Some((Some(session("s1")), true)));
    assert_eq!(m.end_reason(), Some(EndReason::PageHide));
    let mut m = Machine::new(&with_visibility(HiddenPolicy::None, 0, false), 1);
    m.handle(0.0, Input::Connect);
    m.handle(1.0, Input::PageHide);
    assert_eq!(m.status(), Status::Disconnected, "pagehide releases everything even with policy none");
}

#[test]
fn the_grace_deadline_ends_a_link_that_recovers_while_hidden() {
    // Hidden during an outage with a grace delay: the delay runs on through the recovery.
    let o = Options { visibility: VisibilityPolicy { on_hidden: HiddenPolicy::Disconnect, grace_ms: 2000, resume_on_visible: false }, ..opts(1000) };
    let (mut m, c) = connected_with(&o);
    m.handle(100.0, Input::PeerState { conn: c, state: PeerState::Disconnected });
    m.handle(200.0, Input::PageHidden);
    assert_eq!(m.status(), Status::Interrupted);
    let fx = advance_to(&mut m, 2200.0);
    assert!(teardown(&fx).is_some());
    assert_eq!(m.end_reason(), Some(EndReason::Hidden));
    assert_eq!(m.poll_timeout(), None, "nothing pending once ended");
}
