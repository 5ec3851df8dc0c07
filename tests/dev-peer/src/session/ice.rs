//! A session's ICE: restarts and re-offers (`PATCH` through str0m's SDP
//! API) and remote candidates trickled out of band.

use std::time::Instant;

use log::{debug, info};
use str0m::change::SdpOffer;
use str0m::Candidate;

use super::{one_line, Session};
use crate::sdpfrag::{patch_offer, sdp_attr};
use crate::state::{PatchOutcome, PatchRequest};

impl Session {
    /// A `PATCH`: new ICE credentials restart ICE through str0m's SDP API
    /// (the session's last offer, or the client's full re-offer, with the new
    /// credentials is accepted again; str0m sees the change, restarts ICE
    /// with new local credentials, keeps its host candidate, and DTLS, SCTP
    /// and the media go on). A fragment with the current credentials only
    /// adds its candidates (trickle). `Err` is a client error (400).
    pub(super) fn patch(&mut self, request: PatchRequest) -> Result<PatchOutcome, String> {
        let current_ufrag = sdp_attr(&self.remote_offer, "ice-ufrag").map(str::to_string);
        let (offer_text, restarted): (String, Option<bool>) = match request {
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
                    self.entry.update(|r| {
                        r.trickled_candidates += frag.candidates.len() as u64;
                        r.end_of_candidates |= frag.end_of_candidates;
                    });
                    return Ok(PatchOutcome::Trickled);
                }
                let end = frag.end_of_candidates;
                (patch_offer(&self.remote_offer, &frag), Some(end))
            }
            PatchRequest::Offer(sdp) => {
                let restarted = sdp_attr(&sdp, "ice-ufrag") != current_ufrag.as_deref();
                let end = has_end_of_candidates(&sdp);
                (sdp, restarted.then_some(end))
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
        // `Some`: an ICE restart, and whether its request said its
        // candidates are complete (a new generation starts).
        if let Some(end_of_candidates) = restarted {
            self.dropped = false;
            self.last_recv = Instant::now();
            self.entry.update(|r| {
                r.ice_restarts += 1;
                r.end_of_candidates = end_of_candidates;
            });
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

    /// Candidates trickled out of band (Pipecat `PATCH /api/offer`): each
    /// `candidate:…` line (an `a=` prefix allowed) is given to str0m; an
    /// empty one is the end of candidates. Returns how many str0m took.
    pub(super) fn add_candidates(&mut self, candidates: &[String]) -> usize {
        let mut added = 0;
        let mut end = false;
        for line in candidates {
            let line = line.trim().trim_start_matches("a=");
            if line.is_empty() || line == "end-of-candidates" {
                end = true;
                continue;
            }
            match Candidate::from_sdp_string(line) {
                Ok(c) => {
                    self.rtc.add_remote_candidate(c);
                    added += 1;
                }
                Err(e) => debug!(
                    "session {}: skipping trickled candidate {line:?}: {e}",
                    self.entry.id
                ),
            }
        }
        self.entry.update(|r| {
            r.trickled_candidates += candidates.len() as u64;
            r.end_of_candidates |= end;
        });
        added
    }
}

/// Whether an SDP has an `a=end-of-candidates` line.
fn has_end_of_candidates(sdp: &str) -> bool {
    sdp.lines().any(|l| l.trim_end() == "a=end-of-candidates")
}
