//! SDP text handling for the WHIP ICE restart (RFC 9725 §4.3.1; fragment format RFC 8840).
//!
//! The client's fragment carries its new ICE credentials and candidates; the server's answer
//! fragment carries the server's. The browser then gets the previous remote description with
//! the server's ICE lines replaced.

/// The ICE part of an SDP or SDP fragment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceParams {
    /// `a=ice-ufrag` value.
    pub ufrag: String,
    /// `a=ice-pwd` value.
    pub pwd: String,
    /// `a=candidate:…` lines (without the `a=` prefix).
    pub candidates: Vec<String>,
}

fn lines(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty())
}

/// Reads the first `a=ice-ufrag`, `a=ice-pwd` and every `a=candidate` line.
pub fn ice_params(sdp: &str) -> Option<IceParams> {
    let mut p = IceParams::default();
    for l in lines(sdp) {
        if let Some(v) = l.strip_prefix("a=ice-ufrag:") {
            if p.ufrag.is_empty() {
                p.ufrag = v.trim().to_string();
            }
        } else if let Some(v) = l.strip_prefix("a=ice-pwd:") {
            if p.pwd.is_empty() {
                p.pwd = v.trim().to_string();
            }
        } else if let Some(v) = l.strip_prefix("a=") {
            if v.starts_with("candidate:") && !p.candidates.iter().any(|c| c == v) {
                p.candidates.push(v.to_string());
            }
        }
    }
    (!p.ufrag.is_empty() && !p.pwd.is_empty()).then_some(p)
}

/// The `application/trickle-ice-sdpfrag` body of a WHIP ICE restart, built from the local
/// offer created with `iceRestart: true`: `a=ice-options`, `a=group:BUNDLE`, then the first
/// media section's `m=` and `a=mid` with the new credentials and the gathered candidates.
pub fn restart_fragment(local_offer: &str) -> Option<String> {
    let ice = ice_params(local_offer)?;
    let mut out = String::new();
    let mut push = |l: &str| {
        out.push_str(l);
        out.push_str("\r\n");
    };
    let mut m_line = None;
    let mut mid = None;
    for l in lines(local_offer) {
        if (l.starts_with("a=ice-options:") || l.starts_with("a=group:BUNDLE")) && m_line.is_none() {
            push(l);
        } else if l.starts_with("m=") {
            if m_line.is_some() {
                break;
            }
            m_line = Some(l);
        } else if let Some(v) = l.strip_prefix("a=mid:") {
            if m_line.is_some() && mid.is_none() {
                mid = Some(v);
            }
        }
    }
    push(m_line?);
    push(&format!("a=mid:{}", mid?));
    push(&format!("a=ice-ufrag:{}", ice.ufrag));
    push(&format!("a=ice-pwd:{}", ice.pwd));
    for c in &ice.candidates {
        push(&format!("a={c}"));
    }
    push("a=end-of-candidates");
    Some(out)
}

/// The previous remote description with its ICE credentials and candidates replaced by those
/// of the server's restart answer fragment. `None` when the fragment has no credentials.
pub fn apply_restart_answer(remote_sdp: &str, answer_fragment: &str) -> Option<String> {
    let ice = ice_params(answer_fragment)?;
    let mut out = String::new();
    let mut in_media = false;
    let mut emitted_candidates = false;
    let flush_candidates = |out: &mut String, emitted: &mut bool| {
        if !*emitted {
            for c in &ice.candidates {
                out.push_str("a=");
                out.push_str(c);
                out.push_str("\r\n");
            }
            *emitted = true;
        }
    };
    for l in lines(remote_sdp) {
        if l.starts_with("m=") {
            if in_media {
                // Candidates belong to the first (bundled) media section.
                flush_candidates(&mut out, &mut emitted_candidates);
            }
            in_media = true;
        }
        if l.starts_with("a=ice-ufrag:") {
            out.push_str(&format!("a=ice-ufrag:{}\r\n", ice.ufrag));
        } else if l.starts_with("a=ice-pwd:") {
            out.push_str(&format!("a=ice-pwd:{}\r\n", ice.pwd));
        } else if l.starts_with("a=candidate:") || l == "a=end-of-candidates" {
            continue;
        } else {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    flush_candidates(&mut out, &mut emitted_candidates);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS s\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n\
a=ice-ufrag:NEWU\r\na=ice-pwd:NEWPASSWORDNEWPASSWORD\r\na=ice-options:trickle\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\na=ice-ufrag:NEWU\r\na=ice-pwd:NEWPASSWORDNEWPASSWORD\r\na=mid:1\r\n";

    #[test]
    fn fragment_has_mid_credentials_and_candidates_once() {
        let f = restart_fragment(OFFER).unwrap();
        assert_eq!(
            f,
            "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:NEWU\r\n\
a=ice-pwd:NEWPASSWORDNEWPASSWORD\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n"
        );
        assert!(!f.contains("fingerprint"), "no DTLS lines in an ICE restart fragment");
        assert!(restart_fragment("v=0\r\nm=audio 9 X 0\r\na=mid:0\r\n").is_none(), "no credentials, no fragment");
    }

    #[test]
    fn answer_replaces_only_ice_lines() {
        let remote = "v=0\r\ns=-\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:OLD\r\na=ice-pwd:OLDPWD\r\n\
a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\na=fingerprint:sha-256 BB\r\na=mid:0\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:OLD\r\na=ice-pwd:OLDPWD\r\na=mid:1\r\n";
        let frag = "a=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:SRV2\r\na=ice-pwd:SRVPWD2\r\n\
a=candidate:2 1 udp 2130706431 127.0.0.1 40002 typ host\r\na=end-of-candidates\r\n";
        let out = apply_restart_answer(remote, frag).unwrap();
        assert!(!out.contains("OLD"), "{out}");
        assert_eq!(out.matches("a=ice-ufrag:SRV2").count(), 2);
        assert_eq!(out.matches("a=candidate:").count(), 1);
        assert!(out.contains("40002") && !out.contains("40000"));
        assert!(out.contains("a=fingerprint:sha-256 BB"), "DTLS untouched");
        let cand = out.find("a=candidate").unwrap();
        assert!(cand < out.find("m=application").unwrap(), "candidates stay in the first media section");
        assert!(apply_restart_answer(remote, "a=mid:0\r\n").is_none());
    }
}
