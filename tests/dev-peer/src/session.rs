//! One WebRTC session: its UDP socket, its str0m `Rtc`, and the thread that
//! drives them.
//!
//! The session echoes every audio packet from the browser back on its own
//! (sendrecv) audio m-line, and answers data-channel messages as its
//! protocol does (see [`channel`]). It ends on `DELETE`, on the server's own
//! request (`POST /_dev/sessions/<id>/end`), when the peer closes DTLS/SCTP,
//! when a Pipecat peer connection that replaces it connects, or when it
//! never connects. A lost transport (no traffic, ICE
//! disconnected, `/_dev/sessions/<id>/drop`) only interrupts it: it waits
//! out the grace period for an ICE restart (`PATCH`), then ends as expired.
//! A latency switch (`/_dev/sessions/<id>/delay`) holds every outgoing
//! datagram back (see [`crate::delay`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::info;
use serde_json::Value;
use str0m::change::SdpOffer;
use str0m::channel::ChannelId;
use str0m::rtp::Extension;
use str0m::{Candidate, Input, Rtc, RtcConfig};

use crate::delay::DelayQueue;
use crate::sdpfrag::sdp_attr;
use crate::state::{
    random_token, Command, EndedBy, Protocol, Registry, SessionEntry, SessionState, ID_LEN,
};

mod channel;
mod events;
mod ice;
mod io;

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

/// The id of the RFC 6464 audio level extension in the session's own map
/// (str0m's and Chrome's default).
const AUDIO_LEVEL_EXT_ID: u8 = 1;

/// Longest sleep in the socket wait, so commands from the HTTP front are seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(20);

/// After `End`: time for the `session.ended` message to go out before the
/// channel is closed, and then before the connection is closed.
const END_MESSAGE_DELAY: Duration = Duration::from_millis(150);
const END_CLOSE_DELAY: Duration = Duration::from_millis(250);

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

/// How a session is set up besides its offer.
#[derive(Debug, Default)]
pub struct SessionOptions {
    /// The protocol that creates it (WHIP if not said).
    pub protocol: Protocol,
    /// Its id (16 random letters and digits if not given).
    pub id: Option<String>,
    /// Every datagram it sends is held back this long (ms; 0: none) until
    /// changed by [`Command::Delay`].
    pub delay_out_ms: u64,
    /// Pipecat: the server session it joins (`None`: it starts one, named
    /// by its own id).
    pub pipecat_session: Option<String>,
    /// Pipecat: the offer's `request_data`, recorded in the report.
    pub request_data: Option<Value>,
    /// Pipecat `restart_pc`: the peer connection this one replaces, closed
    /// (ended `replaced`) once this one connects.
    pub replaces: Option<Arc<SessionEntry>>,
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
/// the session and start its thread.
pub fn start(
    registry: &Arc<Registry>,
    offer_sdp: &str,
    bind_ip: IpAddr,
    options: SessionOptions,
) -> Result<Started, StartError> {
    let SessionOptions {
        protocol,
        id,
        delay_out_ms,
        pipecat_session,
        request_data,
        replaces,
    } = options;
    let offer = SdpOffer::from_sdp_string(offer_sdp).map_err(|e| {
        StartError::BadOffer(format!("not an SDP offer: {}", one_line(&e.to_string())))
    })?;

    let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
        .map_err(|e| StartError::Internal(format!("binding a UDP socket on {bind_ip}: {e}")))?;
    let local = socket
        .local_addr()
        .map_err(|e| StartError::Internal(format!("UDP local address: {e}")))?;

    let now = Instant::now();
    let mut config = RtcConfig::new().set_ice_lite(true);
    // RFC 6464 audio level (the uplink report reads it). str0m's standard
    // map has it at Chrome's id already; the answer takes the offer's id.
    config
        .extension_map()
        .set(AUDIO_LEVEL_EXT_ID, Extension::AudioLevel);
    let mut rtc = config.build(now);
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
    let id = id.unwrap_or_else(|| random_token(ID_LEN));
    let entry = Arc::new(SessionEntry::with_id(id, protocol, tx));
    entry.update(|r| {
        r.delay_ms = delay_out_ms;
        if protocol == Protocol::Pipecat {
            r.pipecat_session = Some(pipecat_session.unwrap_or_else(|| entry.id.clone()));
            r.request_data = request_data;
        }
    });
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
        silent_channels: Vec::new(),
        ending: None,
        buf: vec![0; 2000],
        grace: registry.grace,
        grace_deadline: None,
        dropped: false,
        outgoing: DelayQueue::new(Duration::from_millis(delay_out_ms)),
        remote_offer: offer_sdp.to_string(),
        protocol,
        replaces,
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
    info!("session {} created ({protocol:?}), udp {local}", entry.id);

    Ok(Started {
        entry,
        answer_sdp: answer.to_sdp_string(),
    })
}

/// The server's own end in progress.
struct Ending {
    since: Instant,
    channel_closed: bool,
    /// How the session will have ended.
    by: EndedBy,
    /// Whether `session.ended` is sent on the data channel first.
    announce: bool,
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
    /// Channels the session does not answer on (an OpenAI call's channels
    /// not labelled `oai-events`).
    silent_channels: Vec<ChannelId>,
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
    /// What the data channel speaks.
    protocol: Protocol,
    /// Pipecat `restart_pc`: the peer connection to close once this one connects.
    replaces: Option<Arc<SessionEntry>>,
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
                        self.begin_end(EndedBy::Server, true);
                    }
                    Ok(Command::Close { by, done }) => {
                        waiting.push(done);
                        self.begin_end(by, false);
                    }
                    Ok(Command::AddCandidates { candidates, reply }) => {
                        let _ = reply.send(self.add_candidates(&candidates));
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
                return Some(ending.by);
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

    /// Start the server's own end: send `session.ended` on the data channel
    /// (if `announce`); the channel and the connection are closed a little
    /// later (see [`Session::check_timers`]) so the message gets out first.
    /// Without the message the channel closes at once.
    fn begin_end(&mut self, by: EndedBy, announce: bool) {
        if self.ending.is_some() {
            return;
        }
        let now = Instant::now();
        if announce {
            if let Some(cid) = self.channel {
                self.send_text(cid, channel::SESSION_ENDED_MESSAGE);
            }
        }
        self.ending = Some(Ending {
            since: if announce {
                now
            } else {
                now.checked_sub(END_MESSAGE_DELAY).unwrap_or(now)
            },
            channel_closed: self.channel.is_none(),
            by,
            announce,
        });
    }
}

#[cfg(test)]
pub(crate) mod test_client;
#[cfg(test)]
pub(crate) mod tests;
