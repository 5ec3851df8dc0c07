//! Fault injection: the query of an offer (`POST /whip`, also
//! `/v1/realtime/calls` and `/api/offer`: per-request faults) and the
//! `POST /_dev/faults` query (global switches), and the broken answers the
//! per-request faults send.

use std::time::Duration;

use crate::delay::parse_delay_ms;
use crate::state::{GlobalFaults, Trickle};

/// Longest `?delay_ms=` (and `hold_delete_ms`) accepted.
pub const MAX_DELAY_MS: u64 = 60_000;

/// Body of the `?fault=garbage` answer.
pub const GARBAGE_ANSWER: &str = "this is not an sdp answer";

/// Body of the `?fault=notsdp` answer.
pub const NOT_SDP_ANSWER: &str = "hello, this is not SDP";

/// What `?fault=` on an offer does to the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerFault {
    /// `500`: `500 injected fault` (text), no session.
    Fail500,
    /// `html`: `500` with an HTML error page (over 4 kB), no session.
    Html,
    /// `garbage`: a real session, `201` with the body [`GARBAGE_ANSWER`].
    Garbage,
    /// `empty`: a real session, `201` with an empty body.
    Empty,
    /// `notsdp`: a real session, `201` with the body [`NOT_SDP_ANSWER`].
    NotSdp,
    /// `nofingerprint`: a real session, `201` with the real answer minus
    /// its `a=fingerprint:` lines.
    NoFingerprint,
}

impl AnswerFault {
    /// Every fault by its query value, in the order the error lists them.
    const ALL: [(&'static str, AnswerFault); 6] = [
        ("500", AnswerFault::Fail500),
        ("html", AnswerFault::Html),
        ("garbage", AnswerFault::Garbage),
        ("empty", AnswerFault::Empty),
        ("notsdp", AnswerFault::NotSdp),
        ("nofingerprint", AnswerFault::NoFingerprint),
    ];

    fn parse(value: &str) -> Option<AnswerFault> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, f)| *f)
    }

    /// The body of the `201` from the real SDP answer, for the faults that
    /// create the session (the others, answered before, leave it as it is).
    pub fn answer_body(self, answer_sdp: String) -> String {
        match self {
            AnswerFault::Garbage => GARBAGE_ANSWER.to_string(),
            AnswerFault::Empty => String::new(),
            AnswerFault::NotSdp => NOT_SDP_ANSWER.to_string(),
            AnswerFault::NoFingerprint => strip_fingerprints(&answer_sdp),
            AnswerFault::Fail500 | AnswerFault::Html => answer_sdp,
        }
    }
}

/// The query of an offer: fault switches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// `fault=`: a broken answer (the last one given counts).
    pub fault: Option<AnswerFault>,
    /// `delay_out_ms`: the session holds back every datagram it sends this
    /// many ms (0: off), as `POST /_dev/sessions/<id>/delay` would.
    pub delay_out_ms: u64,
}

/// Parse `fault=500|html|garbage|empty|notsdp|nofingerprint`, `delay_ms=N`
/// and `delay_out_ms=N` (other parameters are ignored).
pub fn parse_faults(query: &str) -> Result<Faults, String> {
    let mut faults = Faults::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "fault" => {
                let fault = AnswerFault::parse(value).ok_or_else(|| {
                    let names: Vec<&str> = AnswerFault::ALL.iter().map(|(n, _)| *n).collect();
                    format!("unknown fault {value:?} ({})", names.join(", "))
                })?;
                faults.fault = Some(fault);
            }
            "delay_ms" => {
                let ms: u64 = value
                    .parse()
                    .ok()
                    .filter(|ms| *ms <= MAX_DELAY_MS)
                    .ok_or_else(|| format!("delay_ms must be 0..={MAX_DELAY_MS}, got {value:?}"))?;
                faults.delay = Some(Duration::from_millis(ms));
            }
            "delay_out_ms" => {
                faults.delay_out_ms =
                    parse_delay_ms(value).map_err(|e| format!("delay_out_{e}"))?;
            }
            _ => {}
        }
    }
    Ok(faults)
}

/// `sdp` without its `a=fingerprint:` lines (line endings kept).
pub fn strip_fingerprints(sdp: &str) -> String {
    sdp.split_inclusive('\n')
        .filter(|line| !line.starts_with("a=fingerprint:"))
        .collect()
}

/// The `?fault=html` body: an error page as a misconfigured proxy or
/// framework would send it, well over 4 kB.
pub fn html_error_page() -> String {
    const FRAMES: [&str; 6] = [
        "at Router.handle (/srv/app/node_modules/router/index.js:284:7)",
        "at Layer.handle_request (/srv/app/node_modules/router/lib/layer.js:95:5)",
        "at next (/srv/app/node_modules/router/lib/route.js:149:13)",
        "at WhipController.createSession (/srv/app/src/whip/controller.js:61:19)",
        "at MediaGateway.allocate (/srv/app/src/media/gateway.js:212:11)",
        "at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
    ];
    let trace: String = FRAMES
        .iter()
        .cycle()
        .take(36)
        .enumerate()
        .map(|(i, frame)| format!("      <li><code>#{i:02} {frame}</code></li>\n"))
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>500 Internal Server Error</title>
  <style>
    body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f6f7f9; color: #1f2328; }}
    header {{ background: #b42318; color: #fff; padding: 24px 32px; }}
    main {{ max-width: 960px; margin: 32px auto; padding: 0 32px; }}
    h1 {{ margin: 0; font-size: 28px; font-weight: 600; }}
    ol {{ background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 16px 16px 16px 48px; }}
    code {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }}
    footer {{ color: #656d76; font-size: 12px; text-align: center; margin: 32px 0; }}
  </style>
</head>
<body>
  <header>
    <h1>Internal Server Error</h1>
  </header>
  <main>
    <p>The server encountered an internal error and was unable to complete your request.
    Either the server is overloaded or there is an error in the application.</p>
    <p>Request: <code>POST /whip</code> (Content-Type: application/sdp)</p>
    <p>Error: <code>MediaGatewayError: no media node available to allocate the session</code></p>
    <ol>
{trace}    </ol>
  </main>
  <footer>voicelink dev peer &middot; injected fault (fault=html)</footer>
</body>
</html>
"#
    )
}

/// What a `POST /_dev/faults` query changes; `None`: left as it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GlobalFaultsUpdate {
    /// `refuse_new=1|0` (also `true|false`).
    pub refuse_new: Option<bool>,
    /// `fail_post=0|400..=599`.
    pub fail_post: Option<u16>,
    /// `hold_delete_ms=0..=60000`.
    pub hold_delete_ms: Option<u64>,
    /// `restart_status=0|400..=599`.
    pub restart_status: Option<u16>,
    /// `delete_token=T` (percent-decoded; empty: off).
    pub delete_token: Option<String>,
    /// `unauthorized=1|0` (also `true|false`).
    pub unauthorized: Option<bool>,
    /// `trickle=accept|unadvertised|400..=599`.
    pub trickle: Option<Trickle>,
}

impl GlobalFaultsUpdate {
    /// Apply the changes.
    pub fn apply(self, faults: &mut GlobalFaults) {
        if let Some(v) = self.refuse_new {
            faults.refuse_new = v;
        }
        if let Some(v) = self.fail_post {
            faults.fail_post = v;
        }
        if let Some(v) = self.hold_delete_ms {
            faults.hold_delete_ms = v;
        }
        if let Some(v) = self.restart_status {
            faults.restart_status = v;
        }
        if let Some(v) = self.delete_token {
            faults.delete_token = v;
        }
        if let Some(v) = self.unauthorized {
            faults.unauthorized = v;
        }
        if let Some(v) = self.trickle {
            faults.trickle = v;
        }
    }
}

/// The parameters `POST /_dev/faults` takes.
const GLOBAL_PARAMETERS: &str =
    "refuse_new, fail_post, hold_delete_ms, restart_status, delete_token, unauthorized, trickle";

/// The `POST /_dev/faults` query: `refuse_new=1|0` (also `true|false`),
/// `fail_post=0|400..=599`, `hold_delete_ms=0..=60000`,
/// `restart_status=0|400..=599`, `delete_token=T` (token68, percent-encoded
/// or not; empty: off), `unauthorized=1|0` (also `true|false`),
/// `trickle=accept|unadvertised|400..=599`. Unknown parameters are refused
/// (a typo should not pass as "no fault").
pub fn parse_global_faults(query: &str) -> Result<GlobalFaultsUpdate, String> {
    let mut update = GlobalFaultsUpdate::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "refuse_new" => update.refuse_new = Some(parse_switch(key, value)?),
            "unauthorized" => update.unauthorized = Some(parse_switch(key, value)?),
            "fail_post" => update.fail_post = Some(parse_status(key, value)?),
            "restart_status" => update.restart_status = Some(parse_status(key, value)?),
            "hold_delete_ms" => {
                update.hold_delete_ms = Some(
                    value
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| *ms <= MAX_DELAY_MS)
                        .ok_or_else(|| {
                            format!("hold_delete_ms must be 0..={MAX_DELAY_MS}, got {value:?}")
                        })?,
                )
            }
            "delete_token" => update.delete_token = Some(parse_token(value)?),
            "trickle" => update.trickle = Some(parse_trickle(value)?),
            other => return Err(format!("unknown parameter {other:?} ({GLOBAL_PARAMETERS})")),
        }
    }
    Ok(update)
}

/// `accept`, `unadvertised`, or a refusal status `400..=599`.
fn parse_trickle(value: &str) -> Result<Trickle, String> {
    match value {
        "accept" => Ok(Trickle::Accept),
        "unadvertised" => Ok(Trickle::Unadvertised),
        _ => value
            .parse::<u16>()
            .ok()
            .filter(|s| (400..=599).contains(s))
            .map(Trickle::Refuse)
            .ok_or_else(|| {
                format!("trickle must be accept, unadvertised or a status 400..=599, got {value:?}")
            }),
    }
}

/// `1`/`true` (on) or `0`/`false` (off).
fn parse_switch(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(format!("{key} must be 1 or 0, got {other:?}")),
    }
}

/// `0` (off) or an error status `400..=599`.
fn parse_status(key: &str, value: &str) -> Result<u16, String> {
    value
        .parse::<u16>()
        .ok()
        .filter(|s| *s == 0 || (400..=599).contains(s))
        .ok_or_else(|| format!("{key} must be 0 or a status 400..=599, got {value:?}"))
}

/// A bearer token (RFC 6750 `b64token`: letters, digits, `-._~+/`, then
/// `=` padding), percent-decoded; empty is allowed (off).
fn parse_token(value: &str) -> Result<String, String> {
    let token = percent_decode(value)
        .ok_or_else(|| format!("delete_token: bad percent-encoding in {value:?}"))?;
    let body = token.trim_end_matches('=');
    let valid = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !valid || (body.is_empty() && !token.is_empty()) {
        return Err(format!(
            "delete_token must be a bearer token (letters, digits, -._~+/, then =), got {token:?}"
        ));
    }
    Ok(token)
}

/// `%XX` sequences decoded (`+` stays `+`); `None` for a bad sequence or
/// a result that is not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
