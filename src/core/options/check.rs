//! Field rules of [`Options::validate`]: ranges, URLs, ICE servers. Every error is
//! `invalid-option` and names the field.

use super::*;

pub(super) fn invalid(message: String) -> LinkError {
    LinkError::new(ErrorCode::InvalidOption, message)
}

/// Checks that `url` is an absolute `http:`/`https:` URL with a host.
pub fn validate_endpoint(url: &str) -> Result<(), LinkError> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| invalid(format!("options.url must be an http: or https: URL, got \"{}\"", clip(url))))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(invalid(format!("options.url has no host: \"{}\"", clip(url))));
    }
    Ok(())
}

/// Why `token` cannot go in an `Authorization: Bearer` header, or `None`: it must be non-empty
/// and visible ASCII (0x21–0x7E: RFC 9110 field values, RFC 6750 `b64token` is a subset), so a
/// stray space, line break or non-ASCII character is caught here, by name, instead of making
/// `fetch` throw (which reads as "the endpoint could not be reached").
pub fn token_problem(token: &str) -> Option<&'static str> {
    if token.is_empty() {
        return Some("is an empty string");
    }
    if !token.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Some("has a character an HTTP header cannot carry (a space, a line break or non-ASCII; it is sent as Authorization: Bearer <token>)");
    }
    None
}

/// An optional whole number of milliseconds in `min..=max`, or `default`.
#[inline(never)]
pub(super) fn millis(value: Option<f64>, name: &str, min: u32, max: u32, default: u32) -> Result<u32, LinkError> {
    match value {
        None => Ok(default),
        Some(ms) if ms.is_finite() && ms >= min as f64 && ms <= max as f64 => Ok(ms.round() as u32),
        Some(ms) => Err(invalid(format!("options.{name} must be a number of milliseconds from {min} to {max}, got {}", num(ms)))),
    }
}

/// An optional `[excellentBelow, goodBelow]` pair: positive, finite, ascending.
#[inline(never)]
pub(super) fn thresholds(value: Option<&[f64]>, name: &str, default: Thresholds) -> Result<Thresholds, LinkError> {
    match value {
        None => Ok(default),
        Some(&[e, g]) if e.is_finite() && g.is_finite() && e > 0.0 && g > e => Ok(Thresholds { excellent: e, good: g }),
        Some(v) => Err(invalid(format!(
            "options.{name} must be [excellentBelow, goodBelow], two positive ascending numbers, got [{}]",
            v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// An optional whole number in `min..=max`, or `default`.
#[inline(never)]
pub(super) fn count(value: Option<f64>, name: &str, min: u32, max: u32, default: u32) -> Result<u32, LinkError> {
    match value {
        None => Ok(default),
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => Ok(n as u32),
        Some(n) => Err(invalid(format!("options.{name} must be a whole number from {min} to {max}, got {}", num(n)))),
    }
}

pub(super) fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Why an ICE server URL is malformed, or `None`: `scheme:host[:port][?transport=udp|tcp]`
/// (RFC 7064 for `stun:`/`stuns:`, RFC 7065 for `turn:`/`turns:`; the transport only for TURN),
/// the host a name or an IPv4 address or a bracketed IPv6 address, the port 1..65535. What the
/// browser would refuse in the `RTCPeerConnection` constructor is refused here, at
/// `new VoiceLink()`. An unknown scheme is left to the caller's message.
pub fn ice_url_problem(url: &str) -> Option<&'static str> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let turn = scheme == "turn" || scheme == "turns";
    if !turn && scheme != "stun" && scheme != "stuns" {
        return None;
    }
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if let Some(q) = query {
        if !turn {
            return Some("has a query: only turn:/turns: URLs take ?transport=udp|tcp");
        }
        if q != "transport=udp" && q != "transport=tcp" {
            return Some("has a query other than ?transport=udp or ?transport=tcp");
        }
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else { return Some("has an IPv6 address without its closing ]") };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Some("has a malformed IPv6 address");
        }
        match after.strip_prefix(':') {
            Some(p) => (addr, Some(p)),
            None if after.is_empty() => (addr, None),
            None => return Some("has text after the IPv6 address"),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Some("has no host (expected scheme:host[:port])");
    }
    if host.starts_with("//") || host.contains('/') || host.contains('@') {
        return Some("is not of the form scheme:host[:port] (no //, path or user)");
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
        return Some("has a host with characters a host name cannot have");
    }
    if let Some(p) = port {
        match p.parse::<u32>() {
            Ok(n) if (1..=65_535).contains(&n) && !p.starts_with('+') => {}
            _ => return Some("has a port that is not a number from 1 to 65535"),
        }
    }
    None
}

impl IceServer {
    pub(super) fn validate(&self, index: usize) -> Result<(), LinkError> {
        if self.urls.is_empty() {
            return Err(invalid(format!("options.iceServers[{index}].urls is empty")));
        }
        for u in &self.urls {
            let scheme = u.split(':').next().unwrap_or("").to_ascii_lowercase();
            if let Some(problem) = ice_url_problem(u) {
                return Err(invalid(format!("options.iceServers[{index}].urls: \"{}\" {problem}", clip(u))));
            }
            match scheme.as_str() {
                "stun" | "stuns" => {}
                "turn" | "turns" => {
                    if self.username.is_none() || self.credential.is_none() {
                        return Err(invalid(format!(
                            "options.iceServers[{index}]: a TURN server needs username and credential"
                        )));
                    }
                }
                _ => {
                    return Err(invalid(format!(
                        "options.iceServers[{index}].urls: \"{}\" must start with stun:, stuns:, turn: or turns:",
                        clip(u)
                    )))
                }
            }
        }
        Ok(())
    }
}

