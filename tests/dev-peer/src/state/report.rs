//! What `GET /_dev/state` shows: the report of each session, the whole
//! document, and the global fault switches.

use std::fmt;
use std::time::Instant;

use serde::Serialize;

use super::UplinkReport;

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
    /// Remote ICE candidates trickled to the session (WHIP trickle
    /// `PATCH`es that were taken, Pipecat `PATCH /api/offer`).
    pub trickled_candidates: u64,
    /// Trickle `PATCH`es refused by the `trickle` switch.
    pub trickle_refused: u64,
    /// WHIP trickle `PATCH`es refused with `412` (an `If-Match` that is
    /// neither `*` nor the current ETag).
    pub trickle_bad_etag: u64,
    /// Whether the client said it has no more candidates: WHIP, a taken
    /// trickle `PATCH` with `a=end-of-candidates` (an ICE restart sets it to
    /// whether its own request has the line); Pipecat, an empty candidate.
    pub end_of_candidates: bool,
    /// The uplink audio's level: audible packets, when the last (audible)
    /// packet came, silent gaps, the last level.
    #[serde(flatten)]
    pub uplink: UplinkReport,
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
    /// `OPTIONS /whip` requests answered, CORS preflights (those with
    /// `Access-Control-Request-Method`) not counted.
    pub options_requests: u64,
    /// The UDP port of `--dead-stun` (`None` without it).
    pub dead_stun_port: Option<u16>,
    /// Datagrams the `--dead-stun` socket received (and dropped).
    pub dead_stun_datagrams: u64,
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
    /// How trickle-ICE `PATCH`es (the session's current credentials) are
    /// taken, and whether `Accept-Patch` advertises them.
    pub trickle: Trickle,
}

/// The `trickle` switch (`POST /_dev/faults?trickle=…`); shown as a string:
/// `"accept"`, `"unadvertised"`, or the refusal status (`"422"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trickle {
    /// Trickle `PATCH`es are taken (`204`); `Accept-Patch` on the `201` of
    /// `POST /whip` and on `OPTIONS /whip`.
    #[default]
    Accept,
    /// Taken as with `Accept`, but no `Accept-Patch` is sent.
    Unadvertised,
    /// Every trickle `PATCH` (WHIP, Pipecat) is answered with this status
    /// (400..=599) and does nothing; ICE restarts are not affected.
    Refuse(u16),
}

impl Trickle {
    /// Whether `Accept-Patch` is sent.
    pub fn advertised(self) -> bool {
        self != Trickle::Unadvertised
    }

    /// The status trickle `PATCH`es are refused with, if they are.
    pub fn refusal(self) -> Option<u16> {
        match self {
            Trickle::Refuse(status) => Some(status),
            Trickle::Accept | Trickle::Unadvertised => None,
        }
    }
}

impl fmt::Display for Trickle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trickle::Accept => f.write_str("accept"),
            Trickle::Unadvertised => f.write_str("unadvertised"),
            Trickle::Refuse(status) => write!(f, "{status}"),
        }
    }
}

impl Serialize for Trickle {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
