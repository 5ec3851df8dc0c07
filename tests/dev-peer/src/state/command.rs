//! What the HTTP front asks of a session's thread.

use std::sync::mpsc::Sender;

use super::EndedBy;

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
