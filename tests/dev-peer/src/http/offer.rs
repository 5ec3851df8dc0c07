//! What the three offer endpoints (`POST /whip`, `POST /v1/realtime/calls`,
//! `POST /api/offer`) share: the global fault switches and the bearer token
//! ([`gate`]), the per-request faults of the query ([`request_faults`]),
//! starting the session ([`start`]), each protocol's error bodies
//! ([`Flavor`]).

use std::thread;

use log::warn;
use serde_json::json;

use super::{bearer, App, Reply, Req};
use crate::faults::{html_error_page, parse_faults, AnswerFault, Faults};
use crate::session::{self, SessionOptions, StartError, Started};

/// The protocol of an offer endpoint, for the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Plain text.
    Whip,
    /// `{"error":{"message","type","code"}}`, as the OpenAI API answers.
    Openai,
    /// `{"detail":…}`, as FastAPI (Pipecat's runner) answers.
    Pipecat,
}

impl Flavor {
    /// An error reply in this protocol's shape.
    pub fn error(self, status: u16, message: &str) -> Reply {
        match self {
            Flavor::Whip => Reply::text(status, message),
            Flavor::Openai => {
                let (kind, code) = match status {
                    401 => ("invalid_request_error", Some("invalid_api_key")),
                    500..=599 => ("server_error", None),
                    _ => ("invalid_request_error", None),
                };
                Reply::json(
                    status,
                    &json!({ "error": { "message": message, "type": kind, "code": code } }),
                )
            }
            Flavor::Pipecat => Reply::json(status, &json!({ "detail": message })),
        }
    }

    /// `401` + `WWW-Authenticate: Bearer`.
    fn unauthorized(self, message: &str) -> Reply {
        self.error(401, message).with("WWW-Authenticate", "Bearer")
    }
}

/// The checks before an offer is looked at, in order: `fail_post=N`
/// (answers N; `503` with `Retry-After: 1`), `refuse_new` (`503` +
/// `Retry-After: 1`), `unauthorized` (`401`), then the bearer token: WHIP
/// and Pipecat need `Authorization: Bearer <--token>` when `--token` is set;
/// OpenAI always needs a non-empty key, and that key must be `--token` when
/// set. Every `401` carries `WWW-Authenticate: Bearer`.
pub fn gate(app: &App, req: &Req, flavor: Flavor) -> Result<(), Reply> {
    let global = app.registry.faults();
    if global.fail_post != 0 {
        let reply = flavor.error(global.fail_post, "injected fault (fail_post)");
        return Err(if global.fail_post == 503 {
            reply.with("Retry-After", "1")
        } else {
            reply
        });
    }
    if global.refuse_new {
        return Err(flavor
            .error(503, "not accepting new sessions (refuse_new)")
            .with("Retry-After", "1"));
    }
    if global.unauthorized {
        return Err(flavor.unauthorized("unauthorized (fault switch unauthorized=1)"));
    }
    let given = bearer(req).filter(|t| !t.is_empty());
    let token = app.config.token.as_deref();
    match flavor {
        Flavor::Openai => match (given, token) {
            (None, _) => Err(flavor.unauthorized(
                "You didn't provide an API key. You need to provide your API key in an \
                 Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )),
            (Some(key), Some(token)) if key != token => {
                Err(flavor.unauthorized(&format!("Incorrect API key provided: {}.", redact(key))))
            }
            _ => Ok(()),
        },
        Flavor::Whip | Flavor::Pipecat => match token {
            Some(token) if given != Some(token) => {
                Err(flavor.unauthorized("missing or wrong bearer token"))
            }
            _ => Ok(()),
        },
    }
}

/// A key as OpenAI's errors show it: its first and last four characters.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// The query's per-request faults (`fault=`, `delay_ms=`, `delay_out_ms=`;
/// other parameters such as OpenAI's `model=` are ignored): `400` if bad;
/// else waits `delay_ms`, then answers `fault=500` (`500 injected fault`)
/// and `fault=html` (an HTML error page). The faults that spoil the answer
/// of a real session are left to the caller.
pub fn request_faults(req: &Req, flavor: Flavor) -> Result<Faults, Reply> {
    let faults = parse_faults(&req.query).map_err(|reason| flavor.error(400, &reason))?;
    if let Some(delay) = faults.delay {
        thread::sleep(delay);
    }
    match faults.fault {
        Some(AnswerFault::Fail500) => Err(flavor.error(500, "injected fault")),
        Some(AnswerFault::Html) => Err(Reply::new(
            500,
            "text/html; charset=utf-8",
            html_error_page(),
        )),
        _ => Ok(faults),
    }
}

/// Start a session for `offer` (`400` if it is refused, `500` if a local
/// resource fails). The answer to send is [`answer_body`] of it.
pub fn start(
    app: &App,
    offer: &[u8],
    options: SessionOptions,
    flavor: Flavor,
) -> Result<Started, Reply> {
    let Ok(offer) = std::str::from_utf8(offer) else {
        return Err(flavor.error(400, "the offer is not UTF-8 text"));
    };
    session::start(&app.registry, offer, app.config.udp_ip, options).map_err(|e| match e {
        StartError::BadOffer(reason) => flavor.error(400, &reason),
        e @ StartError::Internal(_) => {
            warn!("{} offer: {e}", flavor_name(flavor));
            flavor.error(500, &e.to_string())
        }
    })
}

fn flavor_name(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Whip => "WHIP",
        Flavor::Openai => "OpenAI",
        Flavor::Pipecat => "Pipecat",
    }
}

/// The answer to send: the SDP answer, or what `garbage`, `empty`,
/// `notsdp`, `nofingerprint` make of it (a real session, a spoilt answer).
pub fn answer_body(faults: &Faults, answer_sdp: String) -> String {
    match faults.fault {
        Some(fault) => fault.answer_body(answer_sdp),
        None => answer_sdp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shapes() {
        let body = |r: Reply| serde_json::from_slice::<serde_json::Value>(&r.body).expect("json");
        assert_eq!(
            body(Flavor::Openai.unauthorized("no key")),
            json!({"error":{"message":"no key","type":"invalid_request_error","code":"invalid_api_key"}})
        );
        assert_eq!(
            body(Flavor::Openai.error(503, "x"))["error"]["type"],
            "server_error"
        );
        assert_eq!(
            body(Flavor::Openai.error(400, "x"))["error"]["code"],
            serde_json::Value::Null
        );
        assert_eq!(
            body(Flavor::Pipecat.error(404, "gone")),
            json!({"detail":"gone"})
        );
        let r = Flavor::Whip.unauthorized("no");
        assert_eq!((r.status, r.body.as_slice()), (401, &b"no"[..]));
        assert!(r
            .headers
            .iter()
            .any(|(n, v)| *n == "WWW-Authenticate" && v == "Bearer"));
        assert_eq!(redact("sk-test-0123456789"), "sk-t**********6789");
        assert_eq!(redact("short"), "*****");
    }
}
