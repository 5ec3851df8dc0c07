//! Sessions driven directly (a str0m client's offer, commands to the thread).

use super::*;
use crate::sdpfrag::{answer_fragment, parse_fragment, IceFragment};
use crate::state::{epoch_ms, PatchOutcome, PatchRequest};
use str0m::media::{Direction, MediaKind};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A str0m client's offer: sendrecv audio and a data channel.
/// An offer as a browser would send it (audio sendrecv and a data channel).
pub(crate) fn client_offer() -> String {
    let mut client = Rtc::new(Instant::now());
    let mut api = client.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    api.add_channel("events".into());
    let (offer, _pending) = api.apply().expect("an offer");
    offer.to_sdp_string()
}

fn patch(entry: &SessionEntry, request: PatchRequest) -> Result<PatchOutcome, String> {
    let (tx, rx) = mpsc::channel();
    entry
        .send(Command::Patch { request, reply: tx })
        .expect("session takes commands");
    rx.recv_timeout(Duration::from_secs(3)).expect("an answer")
}

#[test]
fn drop_then_ice_restart_by_fragment_and_by_offer() {
    let registry = Arc::new(Registry::new(Duration::from_secs(30)));
    let offer = client_offer();
    let started = start(&registry, &offer, LOCAL, SessionOptions::default()).expect("starts");
    let entry = started.entry.clone();
    let first_ufrag = sdp_attr(&started.answer_sdp, "ice-ufrag")
        .expect("ufrag")
        .to_string();
    let first_candidate = sdp_attr(&started.answer_sdp, "candidate").expect("candidate");
    let port = first_candidate
        .split_whitespace()
        .nth(5)
        .expect("port")
        .to_string();

    // A latency switch: shown in the report, kept through drop and restarts.
    assert_eq!(entry.snapshot().delay_ms, 0);
    let (tx, rx) = mpsc::channel();
    entry
        .send(Command::Delay { ms: 150, done: tx })
        .expect("sent");
    rx.recv_timeout(Duration::from_secs(3)).expect("delayed");
    assert_eq!(entry.snapshot().delay_ms, 150);

    assert_eq!(
        entry.remote_ufrag().as_deref(),
        sdp_attr(&offer, "ice-ufrag")
    );

    // Drop: interrupted, grace counting down from 30 s.
    let (tx, rx) = mpsc::channel();
    entry.send(Command::Drop { done: tx }).expect("sent");
    rx.recv_timeout(Duration::from_secs(3)).expect("dropped");
    let s = entry.snapshot();
    assert_eq!(s.state, SessionState::Interrupted);
    assert!(s
        .grace_remaining_ms
        .is_some_and(|ms| ms > 29_000 && ms <= 30_000));

    // ICE restart by fragment: new local credentials, same host candidate.
    let etag0 = entry.etag();
    let frag = IceFragment {
        ufrag: "Nw1U".into(),
        pwd: "abcdefghijklmnopqrstuv".into(),
        candidates: vec!["candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host".into()],
        mids: vec!["0".into()],
        end_of_candidates: true,
    };
    let Ok(PatchOutcome::Answered { answer_sdp, etag }) =
        patch(&entry, PatchRequest::Fragment(frag.clone()))
    else {
        panic!("no answer");
    };
    assert_ne!(etag, etag0);
    assert_eq!(entry.etag(), etag);
    let server = parse_fragment(&answer_fragment(&answer_sdp).expect("fragment"))
        .expect("the server's fragment parses");
    assert_ne!(server.ufrag, first_ufrag);
    assert_eq!(server.candidates.len(), 1);
    assert!(server.candidates[0].contains(&format!(" {port} typ host")));
    assert!(server.candidates[0].contains(&format!("ufrag {}", server.ufrag)));
    assert_eq!(entry.snapshot().ice_restarts, 1);
    assert_eq!(entry.remote_ufrag().as_deref(), Some("Nw1U"));

    // The same credentials again: trickle, no restart.
    let mut trickle = frag.clone();
    trickle.candidates = vec!["candidate:2 1 udp 2122260222 127.0.0.1 40001 typ host".into()];
    assert!(matches!(
        patch(&entry, PatchRequest::Fragment(trickle)),
        Ok(PatchOutcome::Trickled)
    ));
    let mut bad = frag.clone();
    bad.pwd = "zzzzzzzzzzzzzzzzzzzzzz".into();
    assert!(patch(&entry, PatchRequest::Fragment(bad)).is_err());
    assert_eq!(entry.snapshot().ice_restarts, 1);

    // ICE restart by a full re-offer.
    let reoffer = offer
        .lines()
        .map(|l| {
            if l.starts_with("a=ice-ufrag:") {
                "a=ice-ufrag:Re0f".to_string()
            } else if l.starts_with("a=ice-pwd:") {
                "a=ice-pwd:reofferreofferreoffer12".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n";
    let Ok(PatchOutcome::Answered { answer_sdp, .. }) = patch(&entry, PatchRequest::Offer(reoffer))
    else {
        panic!("no answer");
    };
    let third = sdp_attr(&answer_sdp, "ice-ufrag").expect("ufrag");
    assert!(third != server.ufrag && third != first_ufrag);
    assert_eq!(entry.snapshot().ice_restarts, 2);
    assert_eq!(entry.remote_ufrag().as_deref(), Some("Re0f"));
    assert_eq!(entry.snapshot().delay_ms, 150);
    assert!(patch(&entry, PatchRequest::Offer("nonsense".into())).is_err());

    let (tx, rx) = mpsc::channel();
    entry
        .send(Command::Delete {
            authorization: Some("Bearer t0k".into()),
            done: tx,
        })
        .expect("sent");
    let _ = rx.recv_timeout(Duration::from_secs(3));
    let s = entry.snapshot();
    assert_eq!(
        (s.state, s.ended_by),
        (SessionState::Ended, Some(EndedBy::Delete))
    );
    assert_eq!(s.grace_remaining_ms, None);
    assert_eq!(s.delete_authorization.as_deref(), Some("Bearer t0k"));
}

#[test]
fn delay_at_creation() {
    let registry = Arc::new(Registry::new(Duration::from_secs(30)));
    let started = start(
        &registry,
        &client_offer(),
        LOCAL,
        SessionOptions {
            delay_out_ms: 250,
            ..SessionOptions::default()
        },
    )
    .expect("starts");
    assert_eq!(started.entry.snapshot().delay_ms, 250);
    let (tx, rx) = mpsc::channel();
    started
        .entry
        .send(Command::Delay { ms: 0, done: tx })
        .expect("sent");
    rx.recv_timeout(Duration::from_secs(3)).expect("changed");
    assert_eq!(started.entry.snapshot().delay_ms, 0);
    let (tx, rx) = mpsc::channel();
    started
        .entry
        .send(Command::Delete {
            authorization: None,
            done: tx,
        })
        .expect("sent");
    let _ = rx.recv_timeout(Duration::from_secs(3));
    assert!(started.entry.is_ended());
}

#[test]
fn grace_expires() {
    let registry = Arc::new(Registry::new(Duration::from_millis(200)));
    let started =
        start(&registry, &client_offer(), LOCAL, SessionOptions::default()).expect("starts");
    let entry = started.entry;
    let (tx, rx) = mpsc::channel();
    entry.send(Command::Drop { done: tx }).expect("sent");
    rx.recv_timeout(Duration::from_secs(3)).expect("dropped");
    let t = Instant::now();
    while !entry.is_ended() && t.elapsed() < Duration::from_secs(3) {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(entry.snapshot().ended_by, Some(EndedBy::Expired));
}

#[test]
fn trickled_candidates() {
    let registry = Arc::new(Registry::new(Duration::from_secs(30)));
    let started = start(
        &registry,
        &client_offer(),
        LOCAL,
        SessionOptions {
            protocol: Protocol::Pipecat,
            request_data: Some(serde_json::json!({"room": "r1"})),
            ..SessionOptions::default()
        },
    )
    .expect("starts");
    let entry = started.entry;
    let s = entry.snapshot();
    assert_eq!(s.protocol, Protocol::Pipecat);
    // A new server session is named by its first peer connection.
    assert_eq!(s.pipecat_session.as_deref(), Some(entry.id.as_str()));
    assert_eq!(s.request_data, Some(serde_json::json!({"room": "r1"})));
    let (tx, rx) = mpsc::channel();
    entry
        .send(Command::AddCandidates {
            candidates: vec![
                "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host".into(),
                "a=candidate:2 1 udp 2122260222 127.0.0.1 40001 typ host generation 0".into(),
                String::new(),
                "not a candidate".into(),
            ],
            reply: tx,
        })
        .expect("sent");
    assert_eq!(rx.recv_timeout(Duration::from_secs(3)), Ok(2));
    assert_eq!(entry.snapshot().trickled_candidates, 4);

    // Closed as replaced: ended `replaced`, no `session.ended` needed.
    let (tx, rx) = mpsc::channel();
    entry
        .send(Command::Close {
            by: EndedBy::Replaced,
            done: tx,
        })
        .expect("sent");
    let _ = rx.recv_timeout(Duration::from_secs(3));
    assert_eq!(entry.snapshot().ended_by, Some(EndedBy::Replaced));
}

#[test]
fn whip_options_by_default() {
    let registry = Arc::new(Registry::new(Duration::from_secs(30)));
    let started =
        start(&registry, &client_offer(), LOCAL, SessionOptions::default()).expect("starts");
    let s = started.entry.snapshot();
    assert_eq!(
        (
            s.protocol,
            s.pipecat_session,
            s.request_data,
            s.channel_label
        ),
        (Protocol::Whip, None, None, None)
    );
    assert_eq!(started.entry.id.len(), ID_LEN);
    let (tx, rx) = mpsc::channel();
    started
        .entry
        .send(Command::Delete {
            authorization: None,
            done: tx,
        })
        .expect("sent");
    let _ = rx.recv_timeout(Duration::from_secs(3));
}

/// The answer takes the RFC 6464 audio level extension (at the offer's id),
/// and the report reads it from a connected client's packets.
#[test]
fn uplink_audio_level() {
    use super::test_client::TestClient;
    const EXT: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    let registry = Arc::new(Registry::new(Duration::from_secs(30)));
    let offer = client_offer();
    let moved = offer.replace(&format!("a=extmap:1 {EXT}"), &format!("a=extmap:7 {EXT}"));
    assert_ne!(moved, offer);
    let started = start(&registry, &moved, LOCAL, SessionOptions::default()).expect("starts");
    assert!(started.answer_sdp.contains(&format!("a=extmap:7 {EXT}")));
    let stripped: String = offer
        .split_inclusive('\n')
        .filter(|l| !l.contains(EXT))
        .collect();
    let started = start(&registry, &stripped, LOCAL, SessionOptions::default()).expect("starts");
    assert!(!started.answer_sdp.contains(EXT));

    let (mut client, offer) = TestClient::new("events");
    let started = start(&registry, &offer, LOCAL, SessionOptions::default()).expect("starts");
    client.connect(&started.answer_sdp);
    let entry = started.entry;
    let before = epoch_ms();
    // Loud, then silent (the level wins over the payload's size), back to
    // back: no gap between the loud ones.
    for level in [-20, -30, -49, -50, -127, -127] {
        client.send_audio(Some(level), &[7; 60]);
    }
    // The client's pacer only sends while the client is driven.
    let arrived = |client: &mut TestClient, n: u64| {
        client.run_until(Duration::from_secs(3), |_| {
            entry.snapshot().rtp_packets_in >= n
        });
        entry.snapshot()
    };
    let s = arrived(&mut client, 6);
    assert_eq!((s.rtp_packets_in, s.uplink.rtp_audible_packets_in), (6, 3));
    assert_eq!(s.uplink.uplink_level_dbov, Some(-127));
    let (last, audible) = (
        s.uplink.last_rtp_in_at_ms.expect("a packet"),
        s.uplink.last_audible_in_at_ms.expect("an audible packet"),
    );
    assert!(before <= audible && audible <= last && last <= epoch_ms());
    assert!(s.uplink.uplink_silent_gaps.is_empty(), "{s:?}");
    // Loud again after > 60 ms without an audible packet: one gap.
    client.run_until(Duration::from_millis(100), |_| false);
    client.send_audio(Some(-10), &[7; 60]);
    let s = arrived(&mut client, 7);
    let gaps = &s.uplink.uplink_silent_gaps;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].start_ms, audible);
    assert!(gaps[0].end_ms - gaps[0].start_ms > 60.0, "{gaps:?}");
    // Without the extension: the payload's size.
    client.send_audio(None, &[7; 10]);
    client.send_audio(None, &[7; 40]);
    let s = arrived(&mut client, 9);
    assert_eq!(s.uplink.rtp_audible_packets_in, 5);
    assert_eq!(s.uplink.uplink_level_dbov, Some(-10));
    let json = serde_json::to_value(&s).expect("serializes");
    assert_eq!(json["rtpAudiblePacketsIn"], 5);
    assert_eq!(json["uplinkSilentGaps"].as_array().map(Vec::len), Some(1));
    assert!(json["lastAudibleInAtMs"].as_f64().is_some());
    assert!(json.get("uplink").is_none());
}
