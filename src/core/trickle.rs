//! Gathering and trickle ICE, pure (issue 16).
//!
//! [`Gather`] decides when the offer may go out: at once with the host candidates, unless the
//! connection needs a relay (TURN servers configured, or `iceTransportPolicy: "relay"`), then
//! at the first relay candidate — each bounded ([`HOST_WAIT_MS`], [`RELAY_WAIT_MS`]). A
//! server-reflexive candidate is never waited for: a server with a public address learns the
//! client's from its connectivity checks (a peer-reflexive candidate, RFC 8445 §7.3.1.3).
//!
//! [`Trickle`] carries the candidates gathered after the offer to the server, as the protocol
//! allows: WHIP `PATCH` of an `application/trickle-ice-sdpfrag` (RFC 9725 §4.3.1, RFC 8840)
//! with `If-Match` (the session's ETag), only when the server advertised it (`Accept-Patch`);
//! Pipecat's JSON `PATCH`; nothing elsewhere (they are dropped). Batching without a timer:
//! one request in flight, whatever arrives meanwhile goes in the next one. A `405`, `422` or
//! `501` turns trickle off for the session without failing it.

/// Longest wait for a first candidate before an offer goes out without one, ms (a browser
/// that gathers nothing: the server still learns the address from the checks).
pub const HOST_WAIT_MS: u32 = 300;
/// Longest wait for a first relay candidate when the connection needs one, ms (a TURN server
/// that does not answer: the offer then goes with what there is).
pub const RELAY_WAIT_MS: u32 = 2_000;

/// The type of an ICE candidate (`typ` in `candidate:…`, RFC 8839 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `host`.
    Host,
    /// `srflx` (STUN).
    Srflx,
    /// `prflx`.
    Prflx,
    /// `relay` (TURN).
    Relay,
    /// Unreadable.
    Unknown,
}

/// The type of a `candidate:…` line (with or without `a=`).
pub fn kind(line: &str) -> Kind {
    let mut words = line.split_ascii_whitespace();
    while let Some(w) = words.next() {
        if w == "typ" {
            return match words.next() {
                Some("host") => Kind::Host,
                Some("srflx") => Kind::Srflx,
                Some("prflx") => Kind::Prflx,
                Some("relay") => Kind::Relay,
                _ => Kind::Unknown,
            };
        }
    }
    Kind::Unknown
}

/// `true` when a connection needs a relay candidate in its offer: the app asked for relay
/// only, or configured TURN servers (a network that blocks UDP has no other way in).
pub fn needs_relay(relay_only: bool, ice_server_urls: &[String]) -> bool {
    relay_only || ice_server_urls.iter().any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
}

/// When the offer may go out. Fed the candidates the browser gathers.
#[derive(Clone, Debug, Default)]
pub struct Gather {
    needs_relay: bool,
    any: bool,
    relay: bool,
    complete: bool,
}

impl Gather {
    /// A gathering that must wait for a relay candidate when `needs_relay`.
    pub fn new(needs_relay: bool) -> Gather {
        Gather { needs_relay, ..Gather::default() }
    }

    /// A candidate was gathered (`candidate:…`).
    pub fn candidate(&mut self, line: &str) {
        self.any = true;
        if kind(line) == Kind::Relay {
            self.relay = true;
        }
    }

    /// Gathering is complete (the `null` candidate, or `iceGatheringState` `complete`).
    pub fn complete(&mut self) {
        self.complete = true;
    }

    /// `true` when the offer may go out now.
    pub fn ready(&self) -> bool {
        self.complete || if self.needs_relay { self.relay } else { self.any }
    }

    /// The longest wait for [`Gather::ready`], ms.
    pub fn bound_ms(&self) -> u32 {
        if self.needs_relay {
            RELAY_WAIT_MS
        } else {
            HOST_WAIT_MS
        }
    }
}

/// How a protocol carries candidates gathered after the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Dropped (OpenAI, an app's signaling object, a WHIP server that did not advertise
    /// trickle, or one that refused it).
    Off,
    /// WHIP `PATCH` `application/trickle-ice-sdpfrag` with `If-Match`.
    Whip,
    /// Pipecat `PATCH {pc_id, candidates}`.
    Pipecat,
}

/// A batch to send: candidate lines (`candidate:…`, without `a=`) and whether it ends
/// gathering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The candidates, in gathering order.
    pub candidates: Vec<String>,
    /// `a=end-of-candidates` goes with it (WHIP).
    pub end: bool,
}

/// How a trickle request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// `2xx`.
    Ok,
    /// Any other HTTP status, or none (`0`: no response).
    Status(u16),
}

/// `true` for a status that says "this server takes no trickle" (RFC 9725 §4.3.1: `405` no
/// `PATCH`, `422` ICE restart without trickle, `501`): trickle is off for the session.
pub fn refused(status: u16) -> bool {
    matches!(status, 405 | 422 | 501)
}

/// The candidates of one peer connection after its offer, on their way to the server.
#[derive(Clone, Debug)]
pub struct Trickle {
    mode: Mode,
    /// The candidate lines the offer carried (not sent again).
    offered: Vec<String>,
    queue: Vec<String>,
    end: bool,
    end_sent: bool,
    /// The server is known (the answer came): requests may go.
    open: bool,
    in_flight: bool,
    /// Candidates the server took, refused batches.
    taken: u32,
}

impl Trickle {
    /// Trickle in `mode` after an offer whose SDP is `offer` (its candidates are not sent again).
    pub fn new(mode: Mode, offer: &str) -> Trickle {
        let offered = offer
            .lines()
            .filter_map(|l| l.trim_end_matches('\r').strip_prefix("a="))
            .filter(|l| l.starts_with("candidate:"))
            .map(str::to_string)
            .collect();
        Trickle { mode, offered, queue: Vec::new(), end: false, end_sent: false, open: false, in_flight: false, taken: 0 }
    }

    /// The mode (`Off` once refused).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A candidate gathered after the offer (`candidate:…`, with or without `a=`).
    pub fn candidate(&mut self, line: &str) {
        let line = line.trim().strip_prefix("a=").unwrap_or(line.trim());
        if self.mode == Mode::Off || self.end || line.is_empty() {
            return;
        }
        if !self.offered.iter().chain(&self.queue).any(|c| c == line) {
            self.queue.push(line.to_string());
        }
    }

    /// Gathering is complete: WHIP sends `a=end-of-candidates` (RFC 8840 §4.4); Pipecat has no
    /// such message.
    pub fn end(&mut self) {
        if self.mode == Mode::Whip {
            self.end = true;
        }
    }

    /// The answer came: the session is known, requests may go.
    pub fn open(&mut self) {
        self.open = true;
    }

    /// Stops for good (an ICE restart starts a new generation; its fragment carries its own
    /// candidates and end).
    pub fn stop(&mut self) {
        self.mode = Mode::Off;
        self.queue.clear();
    }

    /// The next request to make, if one may go now: none while one is in flight, before the
    /// answer, or with nothing to say. Marks it in flight.
    pub fn next_batch(&mut self) -> Option<Batch> {
        if self.mode == Mode::Off || !self.open || self.in_flight {
            return None;
        }
        let end = self.end && !self.end_sent;
        if self.queue.is_empty() && !end {
            return None;
        }
        self.in_flight = true;
        self.end_sent |= end;
        Some(Batch { candidates: std::mem::take(&mut self.queue), end })
    }

    /// The request for `batch` ended with `result`. A refusal turns trickle off; another
    /// failure loses that batch only (the connectivity checks may still find a path).
    pub fn sent(&mut self, batch: &Batch, result: Sent) {
        self.in_flight = false;
        match result {
            Sent::Ok => self.taken += batch.candidates.len() as u32,
            Sent::Status(s) if refused(s) => self.stop(),
            Sent::Status(_) => {}
        }
    }

    /// Candidates the server took so far.
    pub fn taken(&self) -> u32 {
        self.taken
    }
}

/// What a WHIP trickle fragment repeats from the offer: the ICE credentials and the first
/// (bundle-tag) media section's `m=` line and `mid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FragmentHead {
    ufrag: String,
    pwd: String,
    m_line: String,
    mid: String,
}

impl FragmentHead {
    /// Read from the local offer; `None` without credentials or a media section.
    pub fn of(offer: &str) -> Option<FragmentHead> {
        let ice = super::sdp::ice_params(offer)?;
        let mut m_line = None;
        let mut mid = None;
        for l in offer.lines().map(|l| l.trim_end_matches('\r')) {
            if l.starts_with("m=") {
                if m_line.is_some() {
                    break;
                }
                m_line = Some(l.to_string());
            } else if let Some(v) = l.strip_prefix("a=mid:") {
                if m_line.is_some() && mid.is_none() {
                    mid = Some(v.to_string());
                }
            }
        }
        Some(FragmentHead { ufrag: ice.ufrag, pwd: ice.pwd, m_line: m_line?, mid: mid? })
    }

    /// The `mid` of the bundle-tag media section (candidates of other sections are not sent:
    /// with BUNDLE they share its transport).
    pub fn mid(&self) -> &str {
        &self.mid
    }

    /// The `application/trickle-ice-sdpfrag` body for `batch` (RFC 8840 §9, RFC 9725 §4.3.1):
    /// credentials, the media section, its candidates, and `a=end-of-candidates` at the end.
    pub fn fragment(&self, batch: &Batch) -> String {
        let mut out = String::new();
        for l in [
            ["a=ice-ufrag:", &self.ufrag].concat(),
            ["a=ice-pwd:", &self.pwd].concat(),
            self.m_line.clone(),
            ["a=mid:", &self.mid].concat(),
        ] {
            out.push_str(&l);
            out.push_str("\r\n");
        }
        for c in &batch.candidates {
            out.push_str("a=");
            out.push_str(c);
            out.push_str("\r\n");
        }
        if batch.end {
            out.push_str("a=end-of-candidates\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0";
    const SRFLX: &str = "candidate:2 1 udp 1686052607 203.0.113.5 50001 typ srflx raddr 127.0.0.1 rport 50000";
    const RELAY: &str = "candidate:3 1 udp 41885439 127.0.0.1 30001 typ relay raddr 0.0.0.0 rport 0";
    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n\
a=ice-ufrag:UFRG\r\na=ice-pwd:PASSWORDPASSWORDPASSWORD\r\na=mid:0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";

    #[test]
    fn kinds() {
        assert_eq!(kind(HOST), Kind::Host);
        assert_eq!(kind(&["a=", SRFLX].concat()), Kind::Srflx);
        assert_eq!(kind(RELAY), Kind::Relay);
        assert_eq!(kind("candidate:1 1 udp 1 1.2.3.4 5 typ"), Kind::Unknown);
    }

    #[test]
    fn without_turn_the_first_candidate_is_enough_and_srflx_is_not_waited_for() {
        let mut g = Gather::new(needs_relay(false, &["stun:127.0.0.1:3478".into()]));
        assert!(!g.ready());
        assert_eq!(g.bound_ms(), HOST_WAIT_MS);
        g.candidate(HOST);
        assert!(g.ready(), "a host candidate: the offer goes");
    }

    #[test]
    fn with_turn_or_relay_only_the_offer_waits_for_a_relay_candidate() {
        for g in [Gather::new(needs_relay(false, &["turn:t:3478".into()])), Gather::new(needs_relay(true, &[]))] {
            let mut g = g;
            g.candidate(HOST);
            g.candidate(SRFLX);
            assert!(!g.ready(), "host and srflx are not enough");
            assert_eq!(g.bound_ms(), RELAY_WAIT_MS);
            g.candidate(RELAY);
            assert!(g.ready());
        }
        let mut g = Gather::new(true);
        g.complete();
        assert!(g.ready(), "gathering complete: nothing more will come");
    }

    #[test]
    fn whip_batches_one_request_at_a_time_after_the_answer_and_ends_once() {
        let mut t = Trickle::new(Mode::Whip, OFFER);
        t.candidate(&["a=", HOST].concat());
        t.candidate(SRFLX);
        assert_eq!(t.next_batch(), None, "nothing before the answer; the offer's own candidate is not resent");
        t.open();
        let b = t.next_batch().unwrap();
        assert_eq!(b, Batch { candidates: vec![SRFLX.into()], end: false });
        t.candidate(RELAY);
        t.end();
        assert_eq!(t.next_batch(), None, "one request in flight");
        t.sent(&b, Sent::Ok);
        let b2 = t.next_batch().unwrap();
        assert_eq!(b2, Batch { candidates: vec![RELAY.into()], end: true }, "what arrived meanwhile, batched");
        t.sent(&b2, Sent::Ok);
        assert_eq!(t.taken(), 2);
        t.candidate("candidate:9 1 udp 1 127.0.0.1 9 typ host");
        assert_eq!(t.next_batch(), None, "nothing after the end");
    }

    #[test]
    fn a_refusal_turns_trickle_off_another_failure_loses_one_batch() {
        for (status, off) in [(405, true), (422, true), (501, true), (412, false), (500, false), (0, false)] {
            let mut t = Trickle::new(Mode::Whip, OFFER);
            t.open();
            t.candidate(SRFLX);
            let b = t.next_batch().unwrap();
            t.sent(&b, Sent::Status(status));
            assert_eq!(t.mode() == Mode::Off, off, "{status}");
            t.candidate(RELAY);
            assert_eq!(t.next_batch().is_some(), !off, "{status}");
        }
    }

    #[test]
    fn off_and_pipecat() {
        let mut t = Trickle::new(Mode::Off, OFFER);
        t.open();
        t.candidate(SRFLX);
        t.end();
        assert_eq!(t.next_batch(), None, "dropped");
        let mut p = Trickle::new(Mode::Pipecat, OFFER);
        p.open();
        p.end();
        assert_eq!(p.next_batch(), None, "Pipecat has no end-of-candidates message");
        p.candidate(RELAY);
        assert_eq!(p.next_batch(), Some(Batch { candidates: vec![RELAY.into()], end: false }));
    }

    #[test]
    fn fragment_is_rfc_8840_shaped() {
        let head = FragmentHead::of(OFFER).unwrap();
        assert_eq!(head.mid(), "0");
        let f = head.fragment(&Batch { candidates: vec![SRFLX.into()], end: true });
        assert_eq!(
            f,
            ["a=ice-ufrag:UFRG\r\na=ice-pwd:PASSWORDPASSWORDPASSWORD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=", SRFLX, "\r\na=end-of-candidates\r\n"].concat()
        );
        assert!(FragmentHead::of("v=0\r\nm=audio 9 X 0\r\na=mid:0\r\n").is_none());
    }
}
