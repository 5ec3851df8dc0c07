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
/// At most this many sessions (open or ended) are kept in the report; the
/// oldest ended ones are dropped first, open ones never.
pub const MAX_KEPT_SESSIONS: usize = 500;

/// Length of a session id (URL-safe: ASCII letters and digits).
pub const ID_LEN: usize = 16;

mod command;
mod report;
mod uplink;

pub use command::{Command, PatchOutcome, PatchRequest};
pub use report::{
    EndedBy, GlobalFaults, Protocol, SessionReport, SessionState, StateReport, Trickle,
};
pub use uplink::{epoch_ms, UplinkReport};

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
                trickle_refused: 0,
                trickle_bad_etag: 0,
                end_of_candidates: false,
                uplink: UplinkReport::default(),
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
    options_requests: AtomicU64,
    dead_stun_port: Mutex<Option<u16>>,
    dead_stun_datagrams: AtomicU64,
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
            options_requests: AtomicU64::new(0),
            dead_stun_port: Mutex::new(None),
            dead_stun_datagrams: AtomicU64::new(0),
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

    /// Counts an `OPTIONS /whip` that is no CORS preflight (reported as `optionsRequests`).
    pub fn options_request(&self) {
        self.options_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Record the port the `--dead-stun` socket is bound to.
    pub fn set_dead_stun_port(&self, port: u16) {
        *lock(&self.dead_stun_port) = Some(port);
    }

    /// Counts a datagram the `--dead-stun` socket dropped (reported as `deadStunDatagrams`).
    pub fn dead_stun_datagram(&self) {
        self.dead_stun_datagrams.fetch_add(1, Ordering::Relaxed);
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
            options_requests: self.options_requests.load(Ordering::Relaxed),
            dead_stun_port: *lock(&self.dead_stun_port),
            dead_stun_datagrams: self.dead_stun_datagrams.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
