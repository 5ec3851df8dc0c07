//! One WebRTC session: its UDP socket, its str0m `Rtc`, and the thread that
//! drives them.
//!
//! The session echoes every audio packet from the browser back on its own
//! (sendrecv) audio m-line, and answers every data-channel message with
//! `{"type":"echo","data":…}`. It ends on `DELETE`, on the server's own
//! request (`POST /_dev/sessions/<id>/end`), when the peer closes DTLS/SCTP,
//! or when it never connects. A lost transport (no traffic, ICE
//! disconnected, `/_dev/sessions/<id>/drop`) only interrupts it: it waits
//! out the grace period for an ICE restart (`PATCH`), then ends as expired.
//! A latency switch (`/_dev/sessions/<id>/delay`) holds every outgoing
//! datagram back (see [`crate::delay`]).

use std::fmt;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use log::{debug, info, warn};
use serde_json::{json, Value};
use str0m::change::SdpOffer;
use str0m::channel::{ChannelData, ChannelId};
use str0m::media::MediaData;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

use crate::delay::DelayQueue;
use crate::sdpfrag::{patch_offer, sdp_attr};
use crate::state::{
    Command, EndedBy, PatchOutcome, PatchRequest, Registry, SessionEntry, SessionState,
};

/// A session that is not connected this long after its answer ends (by
/// "transport"): this also reaps sessions whose answer the client never got
/// (`?fault=garbage`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// With an outgoing delay, the connect timeout grows by this many times the
/// delay: every handshake flight the server sends (ICE, DTLS, SCTP) is held
/// back, and Chromium's retransmissions stretch it further (measured: ~6.7 s
/// to connect with a 2000 ms delay).
const CONNECT_TIMEOUT_PER_DELAY: u32 = 6;

/// A connected session that receives no datagram at all for this long has
/// lost its transport and becomes interrupted (Chromium sends audio at 50
/// packets/s and STUN consent checks every few seconds). str0m's own
/// ICE-lite timeout is 15 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest sleep in the socket wait, so commands from the HTTP front are seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(20);

/// After `End`: time for the `session.ended` message to go out before the
/// channel is closed, and then before the connection is closed.
const END_MESSAGE_DELAY: Duration = Duration::from_millis(150);
const END_CLOSE_DELAY: Duration = Duration::from_millis(250);

/// What the server sends on the data channel when it ends a session.
const SESSION_ENDED_MESSAGE: &str = r#"{"type":"session.ended","reason":"server"}"#;

/// Why a session could not be started.
#[derive(Debug)]
pub enum StartError {
    /// The offer was refused (a client error: answer 400).
    BadOffer(String),
    /// A local resource failed (answer 500).
    Internal(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::BadOffer(m) => write!(f, "bad offer: {m}"),
            StartError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

/// A started session: its registry entry and the SDP answer to send.
#[derive(Debug)]
pub struct Started {
    /// The session's registry entry.
    pub entry: Arc<SessionEntry>,
    /// The SDP answer.
    pub answer_sdp: String,
}

/// The address to bind session sockets to for `--host`: an unspecified
/// address (0.0.0.0, ::) becomes loopback, since it cannot be an ICE candidate.
pub fn udp_bind_ip(host_ip: IpAddr) -> IpAddr {
    match host_ip {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

/// An error text on one line (str0m's SDP parse errors span several).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Accept an SDP offer: bind a UDP socket on `bind_ip`, build an ICE-lite
/// `Rtc` with that socket as its host candidate, answer the offer, register
/// the session and start its thread. Every datagram the session sends is
/// held back `delay_out_ms` (0: none) until changed by [`Command::Delay`].
pub fn start(
    registry: &Arc<Registry>,
    offer_sdp: &str,
    bind_ip: IpAddr,
    delay_out_ms: u64,
) -> Result<Started, StartError> {
    let offer = SdpOffer::from_sdp_string(offer_sdp).map_err(|e| {
        StartError::BadOffer(format!("not an SDP offer: {}", one_line(&e.to_string())))
    })?;

    let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
        .map_err(|e| StartError::Internal(format!("binding a UDP socket on {bind_ip}: {e}")))?;
    let local = socket
        .local_addr()
        .map_err(|e| StartError::Internal(format!("UDP local address: {e}")))?;

    let now = Instant::now();
    let mut rtc = RtcConfig::new().set_ice_lite(true).build(now);
    let candidate = Candidate::host(local, "udp")
        .map_err(|e| StartError::Internal(format!("host candidate {local}: {e}")))?;
    if rtc.add_local_candidate(candidate).is_none() {
        return Err(StartError::Internal(format!(
            "host candidate {local} refused"
        )));
    }

    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| StartError::BadOffer(format!("offer refused: {e}")))?;

    let (tx, rx) = mpsc::channel();
    let entry = Arc::new(SessionEntry::new(tx));
    entry.update(|r| r.delay_ms = delay_out_ms);
    entry.set_remote_ufrag(sdp_attr(offer_sdp, "ice-ufrag"));
    let session = Session {
        entry: entry.clone(),
        rtc,
        socket,
        local,
        created: now,
        connected_at: None,
        last_recv: now,
        channel: None,
        ending: None,
        buf: vec![0; 2000],
        grace: registry.grace,
        grace_deadline: None,
        dropped: false,
        outgoing: DelayQueue::new(Duration::from_millis(delay_out_ms)),
        remote_offer: offer_sdp.to_string(),
    };
    let thread_entry = entry.clone();
    thread::Builder::new()
        .name(format!("session-{}", entry.id))
        .spawn(move || session.run(rx))
        .map_err(|e| {
            thread_entry.mark_ended(EndedBy::Server);
            StartError::Internal(format!("spawning the session thread: {e}"))
        })?;
    registry.insert(entry.clone());
    info!("session {} created, udp {local}", entry.id);

    Ok(Started {
        entry,
        answer_sdp: answer.to_sdp_string(),
    })
}

/// The server's own end in progress.
struct Ending {
    since: Instant,
    channel_closed: bool,
}

/// State owned by a session's thread.
struct Session {
    entry: Arc<SessionEntry>,
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    created: Instant,
    connected_at: Option<Instant>,
    last_recv: Instant,
    channel: Option<ChannelId>,
    ending: Option<Ending>,
    buf: Vec<u8>,
    /// How long an interruption may last.
    grace: Duration,
    /// While interrupted: when the grace period ends.
    grace_deadline: Option<Instant>,
    /// Black hole (`/_dev/sessions/<id>/drop`): every datagram in is
    /// ignored and nothing is sent, until an ICE restart.
    dropped: bool,
    /// Outgoing datagrams held back by the latency switch
    /// (`/_dev/sessions/<id>/delay`); empty and bypassed while it is 0.
    outgoing: DelayQueue,
    /// The last offer accepted (an ICE-restart fragment is applied to it).
    remote_offer: String,
}

impl Session {
    /// Drive the session until it ends, then record how, release the socket
    /// and answer whoever asked for the end.
    fn run(mut self, commands: Receiver<Command>) {
        let mut waiting: Vec<Sender<()>> = Vec::new();
        let by = self.drive(&commands, &mut waiting);
        self.rtc.disconnect();
        self.entry.mark_ended(by);
        let report = self.entry.snapshot();
        info!(
            "session {} ended by {by:?}: {} audio packets in, {} out, {} messages",
            self.entry.id,
            report.rtp_packets_in,
            report.rtp_packets_out,
            report.messages.len()
        );
        drop(self);
        // Commands that raced with the end are answered by dropping their senders.
        drop(commands);
        for done in waiting {
            let _ = done.send(());
        }
    }

    /// The loop: take commands, drain str0m's output, wait for a datagram or
    /// the next timeout. Returns who ended the session.
    fn drive(&mut self, commands: &Receiver<Command>, waiting: &mut Vec<Sender<()>>) -> EndedBy {
        loop {
            loop {
                match commands.try_recv() {
                    Ok(Command::Delete {
                        authorization,
                        done,
                    }) => {
                        self.entry
                            .update(|r| r.delete_authorization = authorization);
                        waiting.push(done);
                        return EndedBy::Delete;
                    }
                    Ok(Command::End { done }) => {
                        waiting.push(done);
                        self.begin_server_end();
                    }
                    Ok(Command::Drop { done }) => {
                        self.dropped = true;
                        // Nothing is sent, not even what was held back.
                        self.outgoing.clear();
                        self.interrupt(Instant::now(), "transport dropped (/_dev)");
                        let _ = done.send(());
                    }
                    Ok(Command::Delay { ms, done }) => {
                        self.outgoing.set_delay(Duration::from_millis(ms));
                        self.entry.update(|r| r.delay_ms = ms);
                        info!(
                            "session {}: outgoing delay {} ms ({} datagrams queued keep theirs)",
                            self.entry.id,
                            self.outgoing.delay().as_millis(),
                            self.outgoing.len()
                        );
                        let _ = done.send(());
                    }
                    Ok(Command::Patch { request, reply }) => {
                        let outcome = self.patch(request);
                        let _ = reply.send(outcome);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return EndedBy::Server,
                }
            }

            let now = Instant::now();
            if let Some(by) = self.check_timers(now) {
                return by;
            }

            let deadline = match self.drain_output() {
                Ok(t) => t,
                Err(reason) => {
                    info!("session {}: transport closed: {reason}", self.entry.id);
                    return EndedBy::Transport;
                }
            };

            let now = Instant::now();
            self.send_due(now);
            if deadline <= now {
                if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
                    info!("session {}: rtc error on timeout: {e}", self.entry.id);
                    return EndedBy::Transport;
                }
                continue;
            }
            // Wake for str0m's timeout or the next held-back datagram
            // (`send_due` left only later ones; zero only if time moved on).
            let wake = self
                .outgoing
                .next_due()
                .map_or(deadline, |d| d.min(deadline));
            let wait = wake.saturating_duration_since(now).min(MAX_WAIT);
            if wait.is_zero() {
                continue;
            }
            if let Err(e) = self.receive(wait) {
                info!("session {}: {e}", self.entry.id);
                return EndedBy::Transport;
            }
        }
    }

    /// Timers of the session's own: connect timeout, idle timeout, grace
    /// period, and the steps of a server end. Returns `Some` when the
    /// session is over.
    fn check_timers(&mut self, now: Instant) -> Option<EndedBy> {
        if let Some(ending) = &mut self.ending {
            let elapsed = now.saturating_duration_since(ending.since);
            if !ending.channel_closed && elapsed >= END_MESSAGE_DELAY {
                ending.channel_closed = true;
                if let Some(cid) = self.channel.take() {
                    self.rtc.direct_api().close_data_channel(cid);
                    self.entry.update(|r| r.channel_open = false);
                }
            }
            if elapsed >= END_MESSAGE_DELAY + END_CLOSE_DELAY {
                return Some(EndedBy::Server);
            }
        }
        let connect_timeout = CONNECT_TIMEOUT + self.outgoing.delay() * CONNECT_TIMEOUT_PER_DELAY;
        if self.connected_at.is_none()
            && now.saturating_duration_since(self.created) >= connect_timeout
        {
            info!(
                "session {}: not connected after {connect_timeout:?}",
                self.entry.id
            );
            return Some(EndedBy::Transport);
        }
        if let Some(deadline) = self.grace_deadline {
            if now >= deadline {
                info!(
                    "session {}: not resumed within the grace period ({:?})",
                    self.entry.id, self.grace
                );
                return Some(EndedBy::Expired);
            }
        } else if self.connected_at.is_some()
            && now.saturating_duration_since(self.last_recv) >= IDLE_TIMEOUT
        {
            self.interrupt(now, "no traffic for 5 s");
        }
        None
    }

    /// The transport is lost: the session becomes interrupted and its grace
    /// period starts (unless it already runs).
    fn interrupt(&mut self, now: Instant, why: &str) {
        if self.grace_deadline.is_some() {
            return;
        }
        let deadline = now + self.grace;
        self.grace_deadline = Some(deadline);
        self.entry.update(|r| {
            if r.state != SessionState::Ended {
                r.state = SessionState::Interrupted;
                r.grace_deadline = Some(deadline);
            }
        });
        info!(
            "session {} interrupted: {why}; grace {:?}",
            self.entry.id, self.grace
        );
    }

    /// Traffic flows again: an interrupted session that has connected (and
    /// is not black-holed) is connected again.
    fn resume(&mut self, why: &str) {
        if self.grace_deadline.is_none() || self.dropped || self.connected_at.is_none() {
            return;
        }
        self.grace_deadline = None;
        self.last_recv = Instant::now();
        self.entry.update(|r| {
            if r.state == SessionState::Interrupted {
                r.state = SessionState::Connected;
            }
            r.grace_deadline = None;
        });
        info!("session {} resumed: {why}", self.entry.id);
    }

    /// A `PATCH`: new ICE credentials restart ICE through str0m's SDP API
    /// (the session's last offer, or the client's full re-offer, with the new
    /// credentials is accepted again; str0m sees the change, restarts ICE
    /// with new local credentials, keeps its host candidate, and DTLS, SCTP
    /// and the media go on). A fragment with the current credentials only
    /// adds its candidates (trickle). `Err` is a client error (400).
    fn patch(&mut self, request: PatchRequest) -> Result<PatchOutcome, String> {
        let current_ufrag = sdp_attr(&self.remote_offer, "ice-ufrag").map(str::to_string);
        let (offer_text, restarted) = match request {
            PatchRequest::Fragment(frag) => {
                if current_ufrag.as_deref() == Some(frag.ufrag.as_str()) {
                    if sdp_attr(&self.remote_offer, "ice-pwd") != Some(frag.pwd.as_str()) {
                        return Err("a=ice-pwd changed but a=ice-ufrag did not".into());
                    }
                    for line in &frag.candidates {
                        match Candidate::from_sdp_string(line) {
                            Ok(c) => self.rtc.add_remote_candidate(c),
                            Err(e) => debug!(
                                "session {}: skipping candidate {line:?}: {e}",
                                self.entry.id
                            ),
                        }
                    }
                    return Ok(PatchOutcome::Trickled);
                }
                (patch_offer(&self.remote_offer, &frag), true)
            }
            PatchRequest::Offer(sdp) => {
                let restarted = sdp_attr(&sdp, "ice-ufrag") != current_ufrag.as_deref();
                (sdp, restarted)
            }
        };
        let offer = SdpOffer::from_sdp_string(&offer_text)
            .map_err(|e| format!("not an SDP offer: {}", one_line(&e.to_string())))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| format!("offer refused: {}", one_line(&e.to_string())))?;
        self.remote_offer = offer_text;
        self.entry
            .set_remote_ufrag(sdp_attr(&self.remote_offer, "ice-ufrag"));
        if restarted {
            self.dropped = false;
            self.last_recv = Instant::now();
            self.entry.update(|r| r.ice_restarts += 1);
            info!(
                "session {}: ICE restart, new local ufrag {}",
                self.entry.id,
                self.rtc.direct_api().local_ice_credentials().ufrag
            );
        }
        Ok(PatchOutcome::Answered {
            answer_sdp: answer.to_sdp_string(),
            etag: self.entry.new_etag(),
        })
    }

    /// Start the server's own end: send `session.ended` on the data channel;
    /// the channel and the connection are closed a little later (see
    /// [`Session::check_timers`]) so the message gets out first.
    fn begin_server_end(&mut self) {
        if self.ending.is_some() {
            return;
        }
        if let Some(cid) = self.channel {
            self.send_text(cid, SESSION_ENDED_MESSAGE);
        }
        self.ending = Some(Ending {
            since: Instant::now(),
            channel_closed: self.channel.is_none(),
        });
    }

    /// Poll str0m until it asks to wait: send datagrams, handle events.
    /// Returns when str0m next wants a timeout, or why the transport is gone.
    fn drain_output(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Ok(t),
                Ok(Output::Transmit(_)) if self.dropped => {}
                Ok(Output::Transmit(t)) if self.outgoing.holds() => {
                    self.outgoing
                        .push(Instant::now(), t.contents.into(), t.destination);
                }
                Ok(Output::Transmit(t)) => self.send(&t.contents, t.destination),
                Ok(Output::Event(e)) => self.handle_event(e)?,
                Err(e) => return Err(format!("rtc error: {e}")),
            }
        }
    }

    /// Send one datagram now.
    fn send(&self, contents: &[u8], destination: SocketAddr) {
        if let Err(e) = self.socket.send_to(contents, destination) {
            // One lost datagram is no reason to end; a dead path shows up as
            // the idle timeout.
            debug!("session {}: send to {destination}: {e}", self.entry.id);
        }
    }

    /// Send the held-back datagrams that are due at `now`, oldest first.
    fn send_due(&mut self, now: Instant) {
        while let Some(held) = self.outgoing.pop_due(now) {
            self.send(&held.contents, held.destination);
        }
    }

    fn handle_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Connected => {
                let now = Instant::now();
                self.connected_at = Some(now);
                self.last_recv = now;
                self.entry.update(|r| {
                    if r.state == SessionState::Connecting {
                        r.state = SessionState::Connected;
                    }
                });
                self.resume("connected");
                info!(
                    "session {} connected in {} ms",
                    self.entry.id,
                    now.saturating_duration_since(self.created).as_millis()
                );
            }
            Event::IceConnectionStateChange(s) => {
                debug!("session {}: ice {s:?}", self.entry.id);
                match s {
                    IceConnectionState::Disconnected if self.connected_at.is_some() => {
                        self.interrupt(Instant::now(), "ICE disconnected");
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        self.resume("ICE connected");
                    }
                    _ => {}
                }
            }
            // DTLS close_notify or SCTP association lost: nothing to resume.
            Event::Closed => return Err("the peer closed DTLS/SCTP".into()),
            Event::MediaData(data) => {
                self.resume("media");
                self.echo_media(data);
            }
            Event::ChannelOpen(cid, label) => {
                info!("session {}: data channel {label:?} open", self.entry.id);
                self.channel = Some(cid);
                self.entry.update(|r| r.channel_open = true);
                if self.ending.is_some() {
                    self.send_text(cid, SESSION_ENDED_MESSAGE);
                }
            }
            Event::ChannelData(data) => {
                self.resume("data channel");
                self.echo_message(data);
            }
            Event::ChannelClose(cid) if self.channel == Some(cid) => {
                info!(
                    "session {}: data channel closed by the client",
                    self.entry.id
                );
                self.channel = None;
                self.entry.update(|r| r.channel_open = false);
            }
            _ => {}
        }
        Ok(())
    }

    /// Write an audio packet from the browser back on the same m-line.
    fn echo_media(&mut self, data: MediaData) {
        self.entry.update(|r| r.rtp_packets_in += 1);
        let Some(writer) = self.rtc.writer(data.mid) else {
            return;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return;
        };
        match writer.write(pt, data.network_time, data.time, data.data) {
            Ok(()) => self.entry.update(|r| r.rtp_packets_out += 1),
            Err(e) => debug!("session {}: echo write: {e}", self.entry.id),
        }
    }

    /// Record a data-channel message and answer it with an echo.
    fn echo_message(&mut self, data: ChannelData) {
        let text = if data.binary {
            match String::from_utf8(data.data) {
                Ok(s) => s,
                Err(e) => base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
            }
        } else {
            String::from_utf8_lossy(&data.data).into_owned()
        };
        let parsed =
            serde_json::from_str::<Value>(&text).unwrap_or_else(|_| Value::String(text.clone()));
        self.entry.update(|r| r.messages.push(text));
        let reply = json!({ "type": "echo", "data": parsed }).to_string();
        self.send_text(data.id, &reply);
    }

    fn send_text(&mut self, cid: ChannelId, text: &str) {
        let Some(mut channel) = self.rtc.channel(cid) else {
            warn!("session {}: no channel to send on", self.entry.id);
            return;
        };
        match channel.write(false, text.as_bytes()) {
            Ok(true) => {}
            Ok(false) => warn!(
                "session {}: channel buffer full, message dropped",
                self.entry.id
            ),
            Err(e) => warn!("session {}: channel write: {e}", self.entry.id),
        }
    }

    /// Wait up to `wait` for one datagram and hand it to str0m (or tell str0m
    /// the time if none came). Errors end the session.
    fn receive(&mut self, wait: Duration) -> Result<(), String> {
        self.socket
            .set_read_timeout(Some(wait))
            .map_err(|e| format!("socket timeout: {e}"))?;
        self.buf.resize(2000, 0);
        let input = match self.socket.recv_from(&mut self.buf) {
            // The black hole: as if the datagram never came.
            Ok(_) if self.dropped => Input::Timeout(Instant::now()),
            Ok((n, source)) => {
                self.last_recv = Instant::now();
                let Ok(contents) = self.buf[..n].try_into() else {
                    debug!(
                        "session {}: ignoring unknown datagram from {source}",
                        self.entry.id
                    );
                    return Ok(());
                };
                Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents,
                    },
                )
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Input::Timeout(Instant::now())
            }
            Err(e) => return Err(format!("socket receive: {e}")),
        };
        self.rtc
            .handle_input(input)
            .map_err(|e| format!("rtc input: {e}"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sdpfrag::{answer_fragment, parse_fragment, IceFragment};
    use str0m::media::{Direction, MediaKind};

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
        let started = start(&registry, &offer, IpAddr::V4(Ipv4Addr::LOCALHOST), 0).expect("starts");
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
        let Ok(PatchOutcome::Answered { answer_sdp, .. }) =
            patch(&entry, PatchRequest::Offer(reoffer))
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
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            250,
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
        let started = start(
            &registry,
            &client_offer(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            0,
        )
        .expect("starts");
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
}
