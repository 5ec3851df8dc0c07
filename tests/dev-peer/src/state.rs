//! The session registry and the `GET /_dev/state` report.
//!
//! Every session is kept addressable by its id while it runs and for a while
//! after it ended (the report keeps the last [`MAX_KEPT_SESSIONS`]), so the
//! HTTP front can route DELETE, PATCH and the fault switches to the
//! session's own thread.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SendError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Serialize;

/// At most this many sessions (open or ended) are kept in the report; the
/// oldest ended ones are dropped first, open ones never.
pub const MAX_KEPT_SESSIONS: usize = 500;

/// Length of a session id (URL-safe: ASCII letters and digits).
pub const ID_LEN: usize = 16;

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Answer sent, ICE/DTLS not yet up.
    Connecting,
    /// ICE and DTLS are up.
    Connected,
    /// The transport was lost (no traffic for 5 s, ICE disconnected, or
    /// `/_dev/sessions/<id>/drop`); the session waits for an ICE restart
    /// until its grace period ends.
    Interrupted,
    /// Over; the session's socket and thread are gone.
    Ended,
}

/// The signalling protocol a session was created by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// WHIP (`POST /whip`): the session is `/whip/sessions/<id>`.
    #[default]
    Whip,
    /// OpenAI Realtime over WebRTC (`POST /v1/realtime/calls`): the session
    /// id is the call id (`rtc_…`); events on the `oai-events` data channel.
    Openai,
    /// Pipecat SmallWebRTC (`POST /api/offer`): the session is one peer
    /// connection, its id the `pc_id`; a server session may span several.
    Pipecat,
}

/// Who ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndedBy {
    /// The client sent `DELETE /whip/sessions/<id>`.
    Delete,
    /// The server ended it (`POST /_dev/sessions/<id>/end`).
    Server,
    /// The transport closed for good (DTLS/SCTP closed by the peer, a fatal
    /// error), or the session never connected.
    Transport,
    /// The session was interrupted and not resumed within the grace period.
    Expired,
    /// A Pipecat peer connection closed by the server once the one that
    /// replaced it (`restart_pc`) connected.
    Replaced,
}

/// One session as `GET /_dev/state` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReport {
    /// Session id (the last segment of its `Location`; for OpenAI the call
    /// id, for Pipecat the `pc_id`).
    pub id: String,
    /// The protocol that created it.
    pub protocol: Protocol,
    /// Current state.
    pub state: SessionState,
    /// Who ended it, once ended.
    pub ended_by: Option<EndedBy>,
    /// Audio packets received from the browser.
    pub rtp_packets_in: u64,
    /// Audio packets echoed back to the browser.
    pub rtp_packets_out: u64,
    /// Every data-channel message received, in order (text as is; binary as
    /// UTF-8 when valid, else base64).
    pub messages: Vec<String>,
    /// Whether the data channel is open now.
    pub channel_open: bool,
    /// While interrupted: milliseconds left of the grace period.
    pub grace_remaining_ms: Option<u64>,
    /// ICE restarts done (successful `PATCH` with new credentials).
    pub ice_restarts: u64,
    /// How long every outgoing datagram is held back (ms; 0: off), set by
    /// `POST /_dev/sessions/<id>/delay` or `POST /whip?delay_out_ms=`.
    pub delay_ms: u64,
    /// The `Authorization` header of the `DELETE` that ended the session
    /// (`None`: it had none, or the session was not ended by a `DELETE`).
    pub delete_authorization: Option<String>,
    /// The label of the last data channel the client opened.
    pub channel_label: Option<String>,
    /// Pipecat: the server session this peer connection belongs to (the id
    /// of its first peer connection); `None` for the other protocols.
    pub pipecat_session: Option<String>,
    /// Pipecat: the offer's `request_data` (`requestData`), as sent.
    pub request_data: Option<serde_json::Value>,
    /// Remote ICE candidates trickled to the session out of band (Pipecat
    /// `PATCH /api/offer`).
    pub trickled_candidates: u64,
    /// When the grace period of an interrupted session ends (the report
    /// shows what is left of it).
    #[serde(skip)]
    pub grace_deadline: Option<Instant>,
}

/// The whole `GET /_dev/state` document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateReport {
    /// Kept sessions, oldest first.
    pub sessions: Vec<SessionReport>,
    /// Sessions created since start (including ones no longer kept).
    pub sessions_created: u64,
    /// Sessions not ended yet.
    pub sessions_open: u64,
    /// The global fault switches (`/_dev/faults`).
    pub faults: GlobalFaults,
    /// `DELETE`s of a session answered since start (any status).
    pub deletes_answered: u64,
    /// `DELETE`s refused with `401` by the `delete_token` switch.
    pub deletes_unauthorized: u64,
    /// ICE-restart `PATCH`es refused by the `restart_status` switch.
    pub restarts_refused: u64,
    /// Pipecat server sessions started (an offer without a known `pc_id`).
    pub pipecat_sessions_started: u64,
}

/// Global fault switches, set by `POST /_dev/faults` (reset by a restart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalFaults {
    /// Every offer (`POST /whip`, `/v1/realtime/calls`, `/api/offer`)
    /// answers `503` + `Retry-After: 1` and creates no session.
    pub refuse_new: bool,
    /// When not 0, every offer (as above) answers this status.
    pub fail_post: u16,
    /// When not 0, every `DELETE` of a session is answered only after this many ms.
    pub hold_delete_ms: u64,
    /// When not 0, every `PATCH` asking for an ICE restart is answered with
    /// this status and the session is left as it is.
    pub restart_status: u16,
    /// When not empty, a `DELETE` of a session needs `Authorization: Bearer
    /// <this>`, else it is answered `401` and the session goes on.
    pub delete_token: String,
    /// Every offer (`POST /whip`, `/v1/realtime/calls`, `/api/offer`)
    /// answers `401` + `WWW-Authenticate: Bearer`.
    pub unauthorized: bool,
}

/// A request from the HTTP front to a session's thread. `done` is answered
/// (or dropped) once the session has acted on it.
#[derive(Debug)]
pub enum Command {
    /// The client deleted the session: end it now.
    Delete {
        /// The request's `Authorization` header, recorded in the report.
        authorization: Option<String>,
        /// Signalled once the session has ended.
        done: Sender<()>,
    },
    /// The server ends the session: tell the client on the data channel,
    /// close the channel, then close the connection.
    End {
        /// Signalled once the session has ended.
        done: Sender<()>,
    },
    /// Black-hole the transport: ignore every datagram, send nothing; the
    /// session becomes interrupted.
    Drop {
        /// Signalled once the session has acted on it.
        done: Sender<()>,
    },
    /// Hold back every datagram sent from now on by `ms` (0: off).
    Delay {
        /// The delay in ms (0..=5000).
        ms: u64,
        /// Signalled once the session has acted on it.
        done: Sender<()>,
    },
    /// Close the session (a Pipecat peer connection replaced by a new one):
    /// close the data channel, then the connection, ending it `by`.
    Close {
        /// How the session ends.
        by: EndedBy,
        /// Signalled once the session has ended.
        done: Sender<()>,
    },
    /// Remote candidates trickled out of band (`candidate:…` lines).
    AddCandidates {
        /// The candidates, as sent.
        candidates: Vec<String>,
        /// How many str0m took.
        reply: Sender<usize>,
    },
    /// `PATCH`: restart ICE (or add trickled candidates).
    Patch {
        /// The request.
        request: PatchRequest,
        /// The outcome.
        reply: Sender<Result<PatchOutcome, String>>,
    },
}

/// What a `PATCH` asks of a session.
#[derive(Debug, Clone)]
pub enum PatchRequest {
    /// A trickle-ICE fragment (new credentials: ICE restart; the current
    /// ones: more remote candidates).
    Fragment(crate::sdpfrag::IceFragment),
    /// A full SDP offer (a re-offer, with new credentials for an ICE restart).
    Offer(String),
}

/// What a session did with a `PATCH`.
#[derive(Debug, Clone)]
pub enum PatchOutcome {
    /// ICE restarted (or a full re-offer renegotiated): the full SDP answer
    /// and the new ETag.
    Answered {
        /// The SDP answer, with the new local credentials and candidates.
        answer_sdp: String,
        /// The session's ETag now (without quotes).
        etag: String,
    },
    /// Same credentials as before: the fragment's candidates were added.
    Trickled,
}

/// A session as the registry holds it: its report and the way to reach its thread.
#[derive(Debug)]
pub struct SessionEntry {
    /// Session id.
    pub id: String,
    /// The protocol that created it.
    pub protocol: Protocol,
    etag: Mutex<String>,
    /// The `a=ice-ufrag` of the last offer the session accepted (a `PATCH`
    /// with another one asks for an ICE restart).
    remote_ufrag: Mutex<Option<String>>,
    /// Held by a `PATCH` from its `If-Match` check until the session answered.
    pub patch_lock: Mutex<()>,
    report: Mutex<SessionReport>,
    control: Mutex<Option<Sender<Command>>>,
}

/// Lock a mutex, carrying on with the data if a holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| format!("{:02x}", rng.gen::<u8>())).collect()
}

/// A random URL-safe string of `len` ASCII letters and digits.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl SessionEntry {
    /// A new WHIP entry in state `connecting` with a fresh id, reached through `control`.
    #[cfg(test)]
    pub fn new(control: Sender<Command>) -> SessionEntry {
        SessionEntry::with_id(random_token(ID_LEN), Protocol::Whip, control)
    }

    /// A new entry in state `connecting`, reached through `control`.
    pub fn with_id(id: String, protocol: Protocol, control: Sender<Command>) -> SessionEntry {
        SessionEntry {
            etag: Mutex::new(random_token(8)),
            remote_ufrag: Mutex::new(None),
            patch_lock: Mutex::new(()),
            report: Mutex::new(SessionReport {
                id: id.clone(),
                protocol,
                state: SessionState::Connecting,
                ended_by: None,
                rtp_packets_in: 0,
                rtp_packets_out: 0,
                messages: Vec::new(),
                channel_open: false,
                grace_remaining_ms: None,
                ice_restarts: 0,
                delay_ms: 0,
                delete_authorization: None,
                channel_label: None,
                pipecat_session: None,
                request_data: None,
                trickled_candidates: 0,
                grace_deadline: None,
            }),
            control: Mutex::new(Some(control)),
            protocol,
            id,
        }
    }

    /// The entity tag (the value inside the quotes).
    pub fn etag(&self) -> String {
        lock(&self.etag).clone()
    }

    /// Give the session a fresh entity tag (after an ICE restart); returns it.
    pub fn new_etag(&self) -> String {
        let tag = random_token(8);
        *lock(&self.etag) = tag.clone();
        tag
    }

    /// The `a=ice-ufrag` of the last offer the session accepted.
    pub fn remote_ufrag(&self) -> Option<String> {
        lock(&self.remote_ufrag).clone()
    }

    /// Record the `a=ice-ufrag` of the offer the session accepted.
    pub fn set_remote_ufrag(&self, ufrag: Option<&str>) {
        *lock(&self.remote_ufrag) = ufrag.map(str::to_string);
    }

    /// A copy of the current report, with the grace time left as of now.
    pub fn snapshot(&self) -> SessionReport {
        let mut report = lock(&self.report).clone();
        report.grace_remaining_ms = report.grace_deadline.map(|deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            u64::try_from(left.as_millis()).unwrap_or(u64::MAX)
        });
        report
    }

    /// Change the report.
    pub fn update<R>(&self, f: impl FnOnce(&mut SessionReport) -> R) -> R {
        f(&mut lock(&self.report))
    }

    /// Whether the session has ended.
    pub fn is_ended(&self) -> bool {
        lock(&self.report).state == SessionState::Ended
    }

    /// Mark the session ended by `by` (the first call wins) and stop routing
    /// commands to it. Returns whether this call ended it.
    pub fn mark_ended(&self, by: EndedBy) -> bool {
        lock(&self.control).take();
        let mut report = lock(&self.report);
        if report.state == SessionState::Ended {
            return false;
        }
        report.state = SessionState::Ended;
        report.ended_by = Some(by);
        report.channel_open = false;
        report.grace_deadline = None;
        true
    }

    /// Send a command to the session's thread; gives it back if the session
    /// no longer takes commands (it ended).
    pub fn send(&self, cmd: Command) -> Result<(), Command> {
        match lock(&self.control).as_ref() {
            Some(tx) => tx.send(cmd).map_err(|SendError(cmd)| cmd),
            None => Err(cmd),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<SessionEntry>>,
    order: VecDeque<String>,
    created: u64,
}

/// All sessions, by id, plus the settings sessions need and the global
/// fault switches.
#[derive(Debug)]
pub struct Registry {
    inner: Mutex<Inner>,
    faults: Mutex<GlobalFaults>,
    deletes_answered: AtomicU64,
    deletes_unauthorized: AtomicU64,
    restarts_refused: AtomicU64,
    pipecat_sessions_started: AtomicU64,
    /// How long an interrupted session waits for an ICE restart
    /// (`--grace-secs`) before it ends as expired.
    pub grace: Duration,
}

impl Registry {
    /// An empty registry.
    pub fn new(grace: Duration) -> Registry {
        Registry {
            inner: Mutex::new(Inner::default()),
            faults: Mutex::new(GlobalFaults::default()),
            deletes_answered: AtomicU64::new(0),
            deletes_unauthorized: AtomicU64::new(0),
            restarts_refused: AtomicU64::new(0),
            pipecat_sessions_started: AtomicU64::new(0),
            grace,
        }
    }

    /// Counts an answered session `DELETE` (reported as `deletesAnswered`).
    pub fn delete_answered(&self) {
        self.deletes_answered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a `DELETE` refused by `delete_token` (reported as `deletesUnauthorized`).
    pub fn delete_unauthorized(&self) {
        self.deletes_unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a `PATCH` refused by `restart_status` (reported as `restartsRefused`).
    pub fn restart_refused(&self) {
        self.restarts_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a new Pipecat server session (reported as `pipecatSessionsStarted`).
    pub fn pipecat_session_started(&self) {
        self.pipecat_sessions_started
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The global fault switches.
    pub fn faults(&self) -> GlobalFaults {
        lock(&self.faults).clone()
    }

    /// Change the global fault switches; returns them as changed.
    pub fn set_faults(&self, f: impl FnOnce(&mut GlobalFaults)) -> GlobalFaults {
        let mut faults = lock(&self.faults);
        f(&mut faults);
        faults.clone()
    }

    /// Add a new session, dropping the oldest ended ones past [`MAX_KEPT_SESSIONS`].
    pub fn insert(&self, entry: Arc<SessionEntry>) {
        let mut inner = lock(&self.inner);
        inner.created += 1;
        inner.order.push_back(entry.id.clone());
        inner.by_id.insert(entry.id.clone(), entry);

        let mut excess = inner.order.len().saturating_sub(MAX_KEPT_SESSIONS);
        if excess == 0 {
            return;
        }
        let Inner { by_id, order, .. } = &mut *inner;
        order.retain(|id| {
            if excess == 0 {
                return true;
            }
            let ended = by_id.get(id).is_none_or(|e| e.is_ended());
            if ended {
                by_id.remove(id);
                excess -= 1;
            }
            !ended
        });
    }

    /// The session with this id, if kept.
    pub fn get(&self, id: &str) -> Option<Arc<SessionEntry>> {
        lock(&self.inner).by_id.get(id).cloned()
    }

    /// The `GET /_dev/state` document.
    pub fn report(&self) -> StateReport {
        let (entries, created) = {
            let inner = lock(&self.inner);
            let entries: Vec<Arc<SessionEntry>> = inner
                .order
                .iter()
                .filter_map(|id| inner.by_id.get(id).cloned())
                .collect();
            (entries, inner.created)
        };
        let sessions: Vec<SessionReport> = entries.iter().map(|e| e.snapshot()).collect();
        let open = sessions
            .iter()
            .filter(|s| s.state != SessionState::Ended)
            .count() as u64;
        StateReport {
            sessions,
            sessions_created: created,
            sessions_open: open,
            faults: self.faults(),
            deletes_answered: self.deletes_answered.load(Ordering::Relaxed),
            deletes_unauthorized: self.deletes_unauthorized.load(Ordering::Relaxed),
            restarts_refused: self.restarts_refused.load(Ordering::Relaxed),
            pipecat_sessions_started: self.pipecat_sessions_started.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
