//! Trickle-ICE SDP fragments (RFC 8840, `application/trickle-ice-sdpfrag`),
//! as WHIP (RFC 9725 §4.3) carries them in `PATCH /whip/sessions/<id>`, and
//! the `If-Match` check of those requests.
//!
//! The client's fragment is parsed into an [`IceFragment`]; an ICE restart is
//! then done by str0m's own SDP API: the session's last offer, with the new
//! `a=ice-ufrag`/`a=ice-pwd` and candidates put in ([`patch_offer`]), is
//! accepted again, and str0m (seeing new remote credentials) restarts ICE
//! with fresh local ones. [`answer_fragment`] cuts the server's fragment out
//! of the resulting SDP answer.

use std::fmt::Write as _;

/// Media type of a trickle-ICE SDP fragment.
pub const SDPFRAG_TYPE: &str = "application/trickle-ice-sdpfrag";

/// What a client's fragment carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceFragment {
    /// `a=ice-ufrag` (the same in every section that has one).
    pub ufrag: String,
    /// `a=ice-pwd` (the same in every section that has one).
    pub pwd: String,
    /// `a=candidate:` lines, without the leading `a=`, in order.
    pub candidates: Vec<String>,
    /// `a=mid:` values, in order.
    pub mids: Vec<String>,
    /// Whether `a=end-of-candidates` was present.
    pub end_of_candidates: bool,
}

/// Whether `s` is `ice-char` only (RFC 8839: ALPHA / DIGIT / "+" / "/").
fn ice_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Record one credential value, refusing a second, different one.
fn set_once(slot: &mut Option<String>, name: &str, value: &str) -> Result<(), String> {
    match slot {
        Some(old) if old != value => {
            Err(format!("conflicting a={name} values {old:?} and {value:?}"))
        }
        _ => {
            *slot = Some(value.to_string());
            Ok(())
        }
    }
}

/// Parse a client's fragment. Every non-empty line must be `<letter>=…`;
/// `a=ice-ufrag` (4..=256 ice-chars) and `a=ice-pwd` (22..=256 ice-chars)
/// are required and must agree across sections; candidate lines need at
/// least the eight fields of RFC 8839 (`foundation component transport
/// priority address port typ type`). Other lines (`a=group`, `m=`, `a=mid`,
/// `a=ice-options`, …) are accepted; `a=mid` values are kept.
pub fn parse_fragment(body: &str) -> Result<IceFragment, String> {
    let mut ufrag = None;
    let mut pwd = None;
    let mut candidates = Vec::new();
    let mut mids = Vec::new();
    let mut end_of_candidates = false;
    for (n, raw) in body.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
            return Err(format!("line {} is not an SDP line: {line:?}", n + 1));
        }
        let Some(attr) = line.strip_prefix("a=") else {
            continue;
        };
        let (name, value) = attr.split_once(':').unwrap_or((attr, ""));
        let value = value.trim();
        match name {
            "ice-ufrag" => {
                if !(4..=256).contains(&value.len()) || !ice_chars(value) {
                    return Err(format!("bad a=ice-ufrag {value:?} (4..=256 ice-chars)"));
                }
                set_once(&mut ufrag, name, value)?;
            }
            "ice-pwd" => {
                if !(22..=256).contains(&value.len()) || !ice_chars(value) {
                    return Err(format!("bad a=ice-pwd {value:?} (22..=256 ice-chars)"));
                }
                set_once(&mut pwd, name, value)?;
            }
            "candidate" => {
                let fields: Vec<&str> = value.split_whitespace().collect();
                if fields.len() < 8 || fields[6] != "typ" {
                    return Err(format!("bad candidate line {line:?}"));
                }
                candidates.push(attr.to_string());
            }
            "mid" if !value.is_empty() => mids.push(value.to_string()),
            "end-of-candidates" => end_of_candidates = true,
            _ => {}
        }
    }
    let ufrag = ufrag.ok_or("the fragment has no a=ice-ufrag")?;
    let pwd = pwd.ok_or("the fragment has no a=ice-pwd")?;
    Ok(IceFragment {
        ufrag,
        pwd,
        candidates,
        mids,
        end_of_candidates,
    })
}

/// The first `a=<name>:` value in an SDP (session or media level).
pub fn sdp_attr<'a>(sdp: &'a str, name: &str) -> Option<&'a str> {
    sdp.lines().find_map(|l| {
        l.trim_end_matches('\r')
            .strip_prefix("a=")
            .and_then(|a| a.strip_prefix(name))
            .and_then(|a| a.strip_prefix(':'))
    })
}

/// `offer` with every `a=ice-ufrag`/`a=ice-pwd` replaced by the fragment's,
/// its candidates (and `a=end-of-candidates`) removed, and the fragment's
/// candidates put in the first media section (all sections are bundled, so
/// that is where the transport's candidates belong).
pub fn patch_offer(offer: &str, frag: &IceFragment) -> String {
    let mut out = String::with_capacity(offer.len() + 256);
    let mut in_first_media = false;
    let mut media_seen = 0;
    let mut inserted = false;
    let insert = |out: &mut String, inserted: &mut bool| {
        if !*inserted {
            for c in &frag.candidates {
                let _ = write!(out, "a={c}\r\n");
            }
            if frag.end_of_candidates {
                out.push_str("a=end-of-candidates\r\n");
            }
            *inserted = true;
        }
    };
    for raw in offer.split('\n') {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if line.starts_with("m=") {
            if in_first_media {
                insert(&mut out, &mut inserted);
            }
            media_seen += 1;
            in_first_media = media_seen == 1;
        }
        if line.starts_with("a=ice-ufrag:") {
            let _ = write!(out, "a=ice-ufrag:{}\r\n", frag.ufrag);
        } else if line.starts_with("a=ice-pwd:") {
            let _ = write!(out, "a=ice-pwd:{}\r\n", frag.pwd);
        } else if line.starts_with("a=candidate:") || line == "a=end-of-candidates" {
            // Dropped: the old generation's candidates.
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    if in_first_media {
        insert(&mut out, &mut inserted);
    }
    out
}

/// The server's fragment, cut out of a full SDP answer: session-level
/// `a=ice-lite` (if the answer has it), `a=ice-ufrag`, `a=ice-pwd` and
/// `a=group:BUNDLE`, then the first (bundle-tag) media section's `m=` line,
/// `a=mid`, its candidates and `a=end-of-candidates` (the shape of RFC 9725
/// §4.3.1). `None` if the answer has no credentials or no media section.
pub fn answer_fragment(answer: &str) -> Option<String> {
    let ufrag = sdp_attr(answer, "ice-ufrag")?;
    let pwd = sdp_attr(answer, "ice-pwd")?;
    let lines: Vec<&str> = answer.lines().map(|l| l.trim_end_matches('\r')).collect();
    let first_m = lines.iter().position(|l| l.starts_with("m="))?;
    let section_end = lines[first_m + 1..]
        .iter()
        .position(|l| l.starts_with("m="))
        .map_or(lines.len(), |i| first_m + 1 + i);
    let section = &lines[first_m..section_end];

    let mut out = String::new();
    if lines.contains(&"a=ice-lite") {
        out.push_str("a=ice-lite\r\n");
    }
    let _ = write!(out, "a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n");
    if let Some(group) = lines.iter().find(|l| l.starts_with("a=group:BUNDLE")) {
        let _ = write!(out, "{group}\r\n");
    }
    let _ = write!(out, "{}\r\n", section[0]);
    if let Some(mid) = section.iter().find(|l| l.starts_with("a=mid:")) {
        let _ = write!(out, "{mid}\r\n");
    }
    // Candidates of the bundle: wherever the answer lists them.
    for c in lines.iter().filter(|l| l.starts_with("a=candidate:")) {
        let _ = write!(out, "{c}\r\n");
    }
    out.push_str("a=end-of-candidates\r\n");
    Some(out)
}

/// What an `If-Match` header allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No header, `*`, or a list holding the current ETag.
    Pass,
    /// A header naming only other entity tags: `412 Precondition Failed`.
    Fail,
}

/// Check an `If-Match` header (RFC 9110 §13.1.1: `*` or a comma-separated
/// list of entity tags, compared strongly, so `W/` tags never match) against
/// `current`, the session's ETag without quotes. A bare token without quotes
/// is also taken as a tag (some clients forget them), and `"*"` as `*` (the
/// quoted form WHIP clients send for ICE restarts; Janus in strict mode wants it).
pub fn check_if_match(header: Option<&str>, current: &str) -> IfMatch {
    let Some(value) = header else {
        return IfMatch::Pass;
    };
    let any = value.split(',').map(str::trim).any(|tag| {
        if tag == "*" || tag == "\"*\"" {
            return true;
        }
        if tag.starts_with("W/") {
            return false;
        }
        let bare = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(tag);
        bare == current
    });
    if any {
        IfMatch::Pass
    } else {
        IfMatch::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROMIUM_FRAG: &str = "a=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        a=mid:0\r\n\
        a=ice-ufrag:Ab+/\r\n\
        a=ice-pwd:0123456789abcdefghijkl\r\n\
        a=candidate:3995303180 1 udp 2122260223 127.0.0.1 41420 typ host generation 0 ufrag Ab+/ network-id 1\r\n\
        a=end-of-candidates\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
        a=mid:1\r\n\
        a=ice-ufrag:Ab+/\r\n\
        a=ice-pwd:0123456789abcdefghijkl\r\n";

    #[test]
    fn parses_a_chromium_style_fragment() {
        let f = parse_fragment(CHROMIUM_FRAG).expect("parses");
        assert_eq!(f.ufrag, "Ab+/");
        assert_eq!(f.pwd, "0123456789abcdefghijkl");
        assert_eq!(f.candidates.len(), 1);
        assert!(f.candidates[0].starts_with("candidate:3995303180 1 udp"));
        assert_eq!(f.mids, ["0", "1"]);
        assert!(f.end_of_candidates);
    }

    #[test]
    fn parses_a_minimal_fragment_with_lf_only() {
        let f =
            parse_fragment("a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n").expect("parses");
        assert_eq!((f.ufrag.as_str(), f.candidates.len()), ("abcd", 0));
        assert!(!f.end_of_candidates);
    }

    #[test]
    fn refuses_bad_fragments() {
        let pwd = "a=ice-pwd:abcdefghijklmnopqrstuv\n";
        for bad in [
            "",
            "hello world",
            "{\"ufrag\":\"x\"}",
            pwd,                                                    // no ufrag
            "a=ice-ufrag:abcd\n",                                   // no pwd
            "a=ice-ufrag:abc\na=ice-pwd:abcdefghijklmnopqrstuv\n",  // ufrag too short
            "a=ice-ufrag:ab-d\na=ice-pwd:abcdefghijklmnopqrstuv\n", // bad char
            "a=ice-ufrag:abcd\na=ice-pwd:short\n",
            "a=ice-ufrag:abcd\na=ice-ufrag:efgh\na=ice-pwd:abcdefghijklmnopqrstuv\n",
            "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\na=candidate:1 1 udp 1 127.0.0.1\n",
        ] {
            assert!(parse_fragment(bad).is_err(), "accepted {bad:?}");
        }
    }

    const OFFER: &str = "v=0\r\n\
        o=- 1 2 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        t=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        c=IN IP4 0.0.0.0\r\n\
        a=candidate:1 1 udp 2122260223 127.0.0.1 1111 typ host\r\n\
        a=ice-ufrag:oldU\r\n\
        a=ice-pwd:oldpasswordoldpassword\r\n\
        a=mid:0\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
        a=ice-ufrag:oldU\r\n\
        a=ice-pwd:oldpasswordoldpassword\r\n\
        a=mid:1\r\n";

    #[test]
    fn patches_an_offer() {
        let f = parse_fragment(CHROMIUM_FRAG).expect("parses");
        let p = patch_offer(OFFER, &f);
        assert!(!p.contains("oldU") && !p.contains("oldpassword"));
        assert_eq!(p.matches("a=ice-ufrag:Ab+/\r\n").count(), 2);
        assert_eq!(p.matches("a=ice-pwd:0123456789abcdefghijkl\r\n").count(), 2);
        assert!(!p.contains(" 1111 typ host"));
        let cand = p.find("a=candidate:3995303180").expect("candidate in");
        let second_m = p.find("m=application").expect("second m-line");
        assert!(p.find("m=audio").expect("first m-line") < cand && cand < second_m);
        assert!(p.contains("a=end-of-candidates\r\n"));
        assert!(p.starts_with("v=0\r\n") && p.ends_with("a=mid:1\r\n"));
    }

    #[test]
    fn cuts_the_answer_fragment() {
        let answer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
            a=fingerprint:sha-256 AA\r\na=ice-lite\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
            a=ice-ufrag:NEWU\r\na=ice-pwd:newpasswordnewpassword\r\n\
            a=candidate:f 1 udp 2130706175 127.0.0.1 4444 typ host ufrag NEWU\r\n\
            a=rtpmap:111 opus/48000/2\r\n\
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n\
            a=ice-ufrag:NEWU\r\na=ice-pwd:newpasswordnewpassword\r\n";
        let frag = answer_fragment(answer).expect("fragment");
        assert_eq!(
            frag,
            "a=ice-lite\r\na=ice-ufrag:NEWU\r\na=ice-pwd:newpasswordnewpassword\r\n\
             a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
             a=candidate:f 1 udp 2130706175 127.0.0.1 4444 typ host ufrag NEWU\r\n\
             a=end-of-candidates\r\n"
        );
        // The server's fragment is itself a valid fragment.
        let back = parse_fragment(&frag).expect("parses");
        assert_eq!((back.ufrag.as_str(), back.candidates.len()), ("NEWU", 1));
        assert!(answer_fragment("v=0\r\na=ice-ufrag:x\r\n").is_none());
    }

    #[test]
    fn if_match() {
        use IfMatch::*;
        assert_eq!(check_if_match(None, "abc"), Pass);
        assert_eq!(check_if_match(Some("\"*\""), "abc"), Pass);
        assert_eq!(check_if_match(Some("*"), "abc"), Pass);
        assert_eq!(check_if_match(Some("\"abc\""), "abc"), Pass);
        assert_eq!(check_if_match(Some("\"x\", \"abc\""), "abc"), Pass);
        assert_eq!(check_if_match(Some("abc"), "abc"), Pass);
        assert_eq!(check_if_match(Some("\"abd\""), "abc"), Fail);
        assert_eq!(check_if_match(Some("W/\"abc\""), "abc"), Fail);
        assert_eq!(check_if_match(Some(""), "abc"), Fail);
    }
}
