//! Tests of the registry and the report.

use super::*;
use std::sync::mpsc::channel;

#[test]
fn report_shape() {
    let reg = Registry::new(Duration::from_secs(1));
    let (tx, _rx) = channel();
    let e = Arc::new(SessionEntry::new(tx));
    reg.insert(e.clone());
    e.update(|r| r.messages.push("hi".into()));
    assert!(e.mark_ended(EndedBy::Delete));
    assert!(!e.mark_ended(EndedBy::Transport));
    let json = serde_json::to_value(reg.report()).expect("serializes");
    assert_eq!(json["sessionsCreated"], 1);
    assert_eq!(json["sessionsOpen"], 0);
    let s = &json["sessions"][0];
    assert_eq!(s["state"], "ended");
    assert_eq!(s["endedBy"], "delete");
    assert_eq!(s["messages"][0], "hi");
    assert_eq!(s["channelOpen"], false);
    assert_eq!(s["rtpPacketsIn"], 0);
    assert_eq!(s["graceRemainingMs"], serde_json::Value::Null);
    assert_eq!(s["iceRestarts"], 0);
    assert_eq!(s["delayMs"], 0);
    assert_eq!(s["deleteAuthorization"], serde_json::Value::Null);
    assert!(s.get("graceDeadline").is_none());
    // The uplink's audio level, flattened into the session.
    assert_eq!(s["rtpAudiblePacketsIn"], 0);
    for field in ["lastRtpInAtMs", "lastAudibleInAtMs", "uplinkLevelDbov"] {
        assert_eq!(s[field], serde_json::Value::Null, "{field}");
    }
    assert_eq!(s["uplinkSilentGaps"], serde_json::json!([]));
    assert_eq!(json["faults"]["refuseNew"], false);
    assert_eq!(json["faults"]["failPost"], 0);
    assert_eq!(json["faults"]["restartStatus"], 0);
    assert_eq!(json["faults"]["deleteToken"], "");
    assert_eq!(json["deletesAnswered"], 0);
    reg.delete_unauthorized();
    reg.restart_refused();
    reg.restart_refused();
    let json = serde_json::to_value(reg.report()).expect("serializes");
    assert_eq!(json["deletesUnauthorized"], 1);
    assert_eq!(json["restartsRefused"], 2);
    assert_eq!(e.id.len(), 16);
}

#[test]
fn grace_and_etag() {
    let reg = Registry::new(Duration::from_secs(1));
    let (tx, _rx) = channel();
    let e = Arc::new(SessionEntry::new(tx));
    reg.insert(e.clone());
    e.update(|r| {
        r.state = SessionState::Interrupted;
        r.grace_deadline = Some(Instant::now() + Duration::from_secs(10));
    });
    let left = e.snapshot().grace_remaining_ms.expect("counting down");
    assert!((9_000..=10_000).contains(&left), "{left}");
    let json = serde_json::to_value(reg.report()).expect("serializes");
    assert_eq!(json["sessions"][0]["state"], "interrupted");
    assert_eq!(json["sessionsOpen"], 1);
    let old = e.etag();
    let new = e.new_etag();
    assert_ne!(old, new);
    assert_eq!(e.etag(), new);
    assert!(e.mark_ended(EndedBy::Expired));
    let s = e.snapshot();
    assert_eq!(s.grace_remaining_ms, None);
    assert_eq!(
        serde_json::to_value(s.ended_by).expect("serializes"),
        "expired"
    );
    let f = reg.set_faults(|f| f.fail_post = 503);
    assert_eq!(f, reg.faults());
}

#[test]
fn keeps_open_sessions_and_caps_ended() {
    let reg = Registry::new(Duration::from_secs(1));
    let (tx, _rx) = channel();
    let first = Arc::new(SessionEntry::new(tx.clone()));
    reg.insert(first.clone());
    for _ in 0..MAX_KEPT_SESSIONS + 10 {
        let e = Arc::new(SessionEntry::new(tx.clone()));
        e.mark_ended(EndedBy::Server);
        reg.insert(e);
    }
    let report = reg.report();
    assert_eq!(report.sessions.len(), MAX_KEPT_SESSIONS);
    assert_eq!(report.sessions_created, MAX_KEPT_SESSIONS as u64 + 11);
    assert!(reg.get(&first.id).is_some());
    assert_eq!(report.sessions_open, 1);
}
