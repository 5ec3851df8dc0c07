//! The one error type of the link, with a stable machine-readable code.

use thiserror::Error;
use ts_rs::TS;

use super::text;

/// A stable error code. Its string form (`as_str`) is the `code` property of the JS
/// `Error` the library throws or rejects with, and never changes between versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, TS)]
#[ts(rename = "VoiceLinkErrorCode", rename_all = "kebab-case")]
pub enum ErrorCode {
    /// `"invalid-option"`: the options passed to `new VoiceLink(...)` are wrong.
    InvalidOption,
    /// `"invalid-argument"`: a method was called with an argument it cannot use.
    InvalidArgument,
    /// `"unsupported"`: the browser lacks `RTCPeerConnection`, `getUserMedia` or `fetch`.
    Unsupported,
    /// `"token-failed"`: the token provider threw, rejected or returned no string.
    TokenFailed,
    /// `"mic-denied"`: the user or the browser refused microphone access
    /// (`NotAllowedError`, `SecurityError`).
    MicDenied,
    /// `"mic-unavailable"`: no usable microphone (`NotFoundError`, `NotReadableError`,
    /// `OverconstrainedError`, ...).
    MicUnavailable,
    /// `"mic-lost"` (on `on("error")`): the capture track ended mid-call (unplugged, revoked)
    /// and no other microphone could take over: the session stays, `micEnabled` is `false`,
    /// the uplink sends silence; `setMicEnabled(true)` or `setMicrophone(id)` tries again.
    MicLost,
    /// `"peer-connection"`: creating the peer connection or the SDP offer failed.
    PeerConnection,
    /// `"signaling-network"`: the WHIP request did not get an HTTP response (network, CORS).
    SignalingNetwork,
    /// `"signaling-http"`: the WHIP endpoint answered with a non-2xx status (see `status`).
    SignalingHttp,
    /// `"unauthorized"`: the endpoint answered `401` or `403` (see `status`): the token is
    /// missing, wrong or expired (an ephemeral key lives about a minute).
    Unauthorized,
    /// `"signaling-answer"`: the WHIP endpoint answered 2xx but the body is not a usable
    /// SDP answer.
    SignalingAnswer,
    /// `"connect-timeout"`: the link was not connected within `connectTimeoutMs`.
    ConnectTimeout,
    /// `"ice-failed"`: the peer connection reached `failed` while connecting.
    IceFailed,
    /// `"aborted"`: `disconnect()` or `dispose()` ended the link while `connect()` was pending.
    Aborted,
    /// `"not-connected"`: `send()` was called while the data channel is not open.
    NotConnected,
    /// `"disposed"`: a method was called after `dispose()`.
    Disposed,
    /// `"no-session"`: `reconnect()` with no session to bring back (never connected).
    NoSession,
    /// `"send-failed"` (an `on("error")` event, never thrown): the data channel refused a
    /// message that `send()` had accepted (`RTCDataChannel.send` threw); that message is dropped,
    /// the ones after it still go out.
    SendFailed,
    /// `"control-invalid-json"` (an `on("error")` event): a control-socket message is not JSON;
    /// it was skipped, the channel goes on.
    ControlInvalidJson,
    /// `"control-closed"` (an `on("error")` event): the control socket closed abnormally
    /// (code ≠ 1000); it reconnects with backoff.
    ControlClosed,
    /// `"control-timeout"` (an `on("error")` event): nothing arrived on the control socket for
    /// `heartbeatTimeoutMs`; it is closed (4000) and reconnects.
    ControlTimeout,
    /// `"control-failed"` (an `on("error")` event): the control socket did not come back within
    /// its `reconnectAttempts`; it stays closed.
    ControlFailed,
}

js_names!(ErrorCode {
    InvalidOption => "invalid-option",
    InvalidArgument => "invalid-argument",
    Unsupported => "unsupported",
    TokenFailed => "token-failed",
    MicDenied => "mic-denied",
    MicUnavailable => "mic-unavailable",
    MicLost => "mic-lost",
    PeerConnection => "peer-connection",
    SignalingNetwork => "signaling-network",
    SignalingHttp => "signaling-http",
    Unauthorized => "unauthorized",
    SignalingAnswer => "signaling-answer",
    ConnectTimeout => "connect-timeout",
    IceFailed => "ice-failed",
    Aborted => "aborted",
    NotConnected => "not-connected",
    Disposed => "disposed",
    NoSession => "no-session",
    SendFailed => "send-failed",
    ControlInvalidJson => "control-invalid-json",
    ControlClosed => "control-closed",
    ControlTimeout => "control-timeout",
    ControlFailed => "control-failed",
});

/// An error with a stable [`ErrorCode`], a message that says what to do, and for
/// `signaling-http` the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct LinkError {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable message; never contains a token or an SDP.
    pub message: String,
    /// HTTP status, for `signaling-http` and `unauthorized` only.
    pub status: Option<u16>,
}

impl LinkError {
    /// An error with a code and a message.
    #[inline(never)]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        LinkError { code, message: message.into(), status: None }
    }

    /// The error for an HTTP status that is not 2xx: `unauthorized` for 401/403, else
    /// `signaling-http`; `status` kept; `detail` (the body) quoted as [`body_excerpt`] gives it.
    pub fn http(status: u16, detail: &str) -> Self {
        let hint = match status {
            401 | 403 => "check the token",
            404 => "check the WHIP endpoint URL",
            415 => "the endpoint does not accept application/sdp",
            s if s >= 500 => "the server failed; try again later",
            _ => "the server refused the offer",
        };
        let mut message = format!("the endpoint answered HTTP {status}: {hint}");
        let excerpt = body_excerpt(detail);
        if !excerpt.is_empty() {
            message.push_str(" (");
            message.push_str(&excerpt);
            message.push(')');
        }
        let code = if status == 401 || status == 403 { ErrorCode::Unauthorized } else { ErrorCode::SignalingHttp };
        LinkError { code, message, status: Some(status) }
    }

    /// The `aborted` error a pending `connect()` rejects with when the link is ended.
    pub fn aborted() -> Self {
        LinkError::new(ErrorCode::Aborted, "connect() was aborted: the link was disconnected before it connected")
    }
}

/// Longest server text quoted in an error message, in characters.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// What of an error body goes into a message: plain text, bounded. Markup is dropped (tags,
/// and the content of `<script>`/`<style>`/`<head>` apart from `<title>`), the common entities
/// decoded, whitespace collapsed; a body that is not HTML gives its first line only (it may
/// carry an SDP). At most [`BODY_EXCERPT_CHARS`] characters, an ellipsis when cut.
pub fn body_excerpt(body: &str) -> String {
    let body = body.trim();
    let lower = body.to_ascii_lowercase();
    let html = lower.starts_with('<') && ["<html", "<!doctype", "</"].iter().any(|m| text::contains(&lower, m));
    let text = if html { strip_markup(body, &lower) } else { body.lines().next().unwrap_or("").to_string() };
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= BODY_EXCERPT_CHARS {
        return joined;
    }
    let mut cut: String = joined.chars().take(BODY_EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The text of an HTML document: tags removed, the content of elements that show nothing
/// skipped, `<title>` kept, entities decoded. `lower` is `html` in ASCII lower case (same byte
/// offsets).
fn strip_markup(html: &str, lower: &str) -> String {
    const HIDDEN: [&str; 4] = ["script", "style", "noscript", "template"];
    let mut out = String::new();
    let mut i = 0;
    // `<` and `>` are ASCII, so every offset below is a char boundary; `get` keeps the slicing
    // panic-free anyway.
    while let Some(rest) = html.get(i..).filter(|r| !r.is_empty()) {
        let Some(rel) = rest.find('<') else {
            out.push_str(rest);
            break;
        };
        out.push_str(rest.get(..rel).unwrap_or(""));
        let start = i + rel;
        let Some(close) = html.get(start..).and_then(|r| r.find('>')) else { break };
        let tag_end = start + close + 1;
        let name: String = lower
            .get(start + 1..tag_end)
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        out.push(' ');
        i = tag_end;
        if HIDDEN.contains(&name.as_str()) {
            let end_tag = ["</", &name].concat();
            i = lower.get(i..).and_then(|r| text::find(r, &end_tag)).map_or(html.len(), |p| i + p);
        }
    }
    for (entity, ch) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&nbsp;", " "), ("&amp;", "&")] {
        out = text::replace(&out, entity, ch);
    }
    out
}

/// A number for a message, as JS prints it for the usual cases: integers exactly, others
/// rounded to 3 decimals with trailing zeros trimmed (`2.5`, `0.333`, `NaN`, `-Infinity`).
/// Messages use this instead of `{}` on an `f64`: Rust's float formatting (flt2dec,
/// ~15 kB in a twiggy listing of the wasm) would come with it.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let a = x.abs();
    if a.is_infinite() {
        return [sign, "Infinity"].concat();
    }
    if a >= 1e15 {
        return [sign, "1e15 or more"].concat();
    }
    let milli = (a * 1000.0).round() as u64;
    let (int, frac) = (milli / 1000, milli % 1000);
    let mut out = format!("{sign}{int}");
    if frac != 0 {
        let digits = format!("{:03}", frac);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_js() {
        for (x, s) in [
            (0.0, "0"),
            (3.0, "3"),
            (-5.0, "-5"),
            (2.5, "2.5"),
            (1.0 / 3.0, "0.333"),
            (0.02, "0.02"),
            (600_001.0, "600001"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1e300, "1e15 or more"),
        ] {
            assert_eq!(num(x), s, "{x}");
        }
    }

    #[test]
    fn codes_are_stable_kebab_case() {
        let all = [
            ErrorCode::InvalidOption,
            ErrorCode::InvalidArgument,
            ErrorCode::Unsupported,
            ErrorCode::TokenFailed,
            ErrorCode::MicDenied,
            ErrorCode::MicUnavailable,
            ErrorCode::MicLost,
            ErrorCode::PeerConnection,
            ErrorCode::SignalingNetwork,
            ErrorCode::SignalingHttp,
            ErrorCode::SignalingAnswer,
            ErrorCode::ConnectTimeout,
            ErrorCode::IceFailed,
            ErrorCode::Aborted,
            ErrorCode::NotConnected,
            ErrorCode::Disposed,
            ErrorCode::NoSession,
            ErrorCode::SendFailed,
            ErrorCode::Unauthorized,
            ErrorCode::ControlInvalidJson,
            ErrorCode::ControlClosed,
            ErrorCode::ControlTimeout,
            ErrorCode::ControlFailed,
        ];
        let mut seen = std::collections::HashSet::new();
        for c in all {
            let s = c.as_str();
            assert!(s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'), "{s}");
            assert!(seen.insert(s), "duplicate code {s}");
        }
        assert_eq!(ErrorCode::SignalingHttp.as_str(), "signaling-http");
    }

    #[test]
    fn http_error_strips_markup_and_stays_bounded() {
        let page = format!(
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body {{ color: red }}</style>\
             <script>var secret = 1;</script></head><body><h1>Bad&nbsp;Gateway</h1><p>upstream &amp; co</p>{}</body></html>",
            "<p>filler text</p>".repeat(500)
        );
        let e = LinkError::http(502, &page);
        assert_eq!(e.status, Some(502));
        assert!(e.message.contains("502 Bad Gateway Bad Gateway upstream & co filler"), "{}", e.message);
        for bad in ["<", ">", "color", "secret", "&nbsp;"] {
            assert!(!e.message.contains(bad), "{bad:?} in {}", e.message);
        }
        assert!(e.message.chars().count() < 100 + BODY_EXCERPT_CHARS, "{}", e.message.len());
        assert!(e.message.ends_with("…)"), "{}", e.message);
        // Multi-byte text is cut on a character boundary.
        let e = LinkError::http(500, &"é".repeat(1000));
        assert!(e.message.contains(&"é".repeat(BODY_EXCERPT_CHARS - 1)));
        assert_eq!(body_excerpt("  plain\nsecond line"), "plain");
        assert_eq!(body_excerpt("<b>bold</b> words"), "bold words");
        assert_eq!(body_excerpt("a < b > c"), "a < b > c");
    }

    #[test]
    fn http_error_keeps_status_and_first_line_only() {
        let e = LinkError::http(500, "boom\nv=0\r\na=ice-pwd:secret");
        assert_eq!(e.code, ErrorCode::SignalingHttp);
        assert_eq!(e.status, Some(500));
        assert!(e.message.contains("HTTP 500"));
        assert!(e.message.contains("boom"));
        assert!(!e.message.contains("secret"));
    }
}
