//! The app's own signaling: an object `{ offer(request), restart?(request), hangup?(request) }`.
//! `request` is `{ url, sdp, session, token, signal }`: the `url` option, the offer SDP (for
//! `restart`, an ICE-restart offer; `""` for `hangup`), the `session` string the last `offer`
//! returned (or `null`), the resolved token (or `null`) and an `AbortSignal`. `offer` resolves
//! to `{ sdp, session? }`, `restart` to `{ sdp }` (the full answer), `hangup` to anything.
//! Whatever a function throws or rejects with becomes a `signaling-*` error carrying its
//! message (a numeric `status` on it: `signaling-http`, 401/403 `unauthorized`); a result
//! without an `sdp` string is `signaling-answer`.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

use super::{unusable_answer, Answer};
use crate::core::{ErrorCode, LinkError, Session};
use crate::platform::js;

/// The longest a `hangup` may take before teardown stops waiting for it, ms.
pub const HANGUP_TIMEOUT_MS: u32 = 3_000;

/// The app's signaling object, checked: `offer` is a function; `restart`, `hangup` are
/// functions when present.
pub struct Custom {
    object: JsValue,
    offer: Function,
    restart: Option<Function>,
    hangup: Option<Function>,
}

impl Custom {
    /// Checks `object`; errors name what is wrong (`invalid-option`).
    pub fn from_object(object: &JsValue) -> Result<Custom, String> {
        let get = |k: &str| Reflect::get(object, &k.into()).map_err(|e| ["options.signaling.", k, " could not be read: ", &js::error_message(&e)].concat());
        let func = |k: &str, v: JsValue, required: bool| -> Result<Option<Function>, String> {
            if v.is_function() {
                return Ok(Some(v.into()));
            }
            if !required && v.is_undefined() {
                return Ok(None);
            }
            Err(["options.signaling.", k, " must be a function", if required { " (an object with offer(request) → Promise<{ sdp, session? }>)" } else { "" }].concat())
        };
        let offer = func("offer", get("offer")?, true)?.ok_or_else(|| "options.signaling.offer must be a function".to_string())?;
        let restart = func("restart", get("restart")?, false)?;
        let hangup = func("hangup", get("hangup")?, false)?;
        Ok(Custom { object: object.clone(), offer, restart, hangup })
    }

    /// The object has `restart`.
    pub fn has_restart(&self) -> bool {
        self.restart.is_some()
    }

    /// The object has `hangup`.
    pub fn has_hangup(&self) -> bool {
        self.hangup.is_some()
    }

    fn request(url: &str, sdp: &str, session: Option<&Session>, token: Option<&str>, signal: Option<&AbortSignal>) -> JsValue {
        let r = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&r, &k.into(), &v);
        };
        set("url", url.into());
        set("sdp", sdp.into());
        set("session", session.and_then(|s| s.id.as_deref()).map_or(JsValue::NULL, JsValue::from_str));
        set("token", token.map_or(JsValue::NULL, JsValue::from_str));
        set("signal", signal.map_or(JsValue::UNDEFINED, |s| s.into()));
        r.into()
    }

    async fn call(&self, f: &Function, request: JsValue, what: &str) -> Result<JsValue, LinkError> {
        let result = match f.call1(&self.object, &request) {
            Ok(v) => js::settle(v).await,
            Err(e) => Err(e),
        };
        result.map_err(|e| app_error(what, &e))
    }

    /// `offer(request)` → the answer. `previous`: the session a fresh offer replaces (its
    /// string goes as `request.session`).
    pub async fn offer(
        &self,
        url: &str,
        token: Option<&str>,
        sdp: &str,
        previous: Option<&Session>,
        signal: &AbortSignal,
    ) -> Result<Answer, LinkError> {
        let value = self.call(&self.offer, Custom::request(url, sdp, previous, token, Some(signal)), "offer").await?;
        let sdp = answer_sdp(&value, "offer")?;
        let session = Reflect::get(&value, &"session".into()).ok().and_then(|s| s.as_string());
        Ok(Answer { sdp, session: Session { id: session, url: None, etag: None, token: token.map(str::to_string) }, ice_servers: Vec::new(), trickle: false })
    }

    /// `restart(request)` with an ICE-restart offer → the full SDP answer.
    pub async fn restart(&self, url: &str, sdp: &str, session: &Session, signal: &AbortSignal) -> Result<String, LinkError> {
        let Some(restart) = &self.restart else {
            return Err(LinkError::new(ErrorCode::SignalingAnswer, "options.signaling has no restart()"));
        };
        let request = Custom::request(url, sdp, Some(session), session.token.as_deref(), Some(signal));
        let value = self.call(restart, request, "restart").await?;
        answer_sdp(&value, "restart")
    }

    /// `hangup(request)`, bounded by [`HANGUP_TIMEOUT_MS`]; what it throws is logged.
    pub async fn hangup(&self, url: &str, session: &Session) {
        let Some(hangup) = &self.hangup else { return };
        let request = Custom::request(url, "", Some(session), session.token.as_deref(), None);
        let mut call = std::pin::pin!(self.call(hangup, request, "hangup"));
        let mut deadline = gloo_timers::future::TimeoutFuture::new(HANGUP_TIMEOUT_MS);
        // Whichever comes first: the app's hang-up settling, or the deadline.
        std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = call.as_mut().poll(cx) {
                if let Err(e) = result {
                    log::warn!("{}", e.message);
                }
                return Poll::Ready(());
            }
            Pin::new(&mut deadline).poll(cx)
        })
        .await;
    }
}

/// The `sdp` string of what `offer`/`restart` resolved to. Errors: `signaling-answer`.
fn answer_sdp(value: &JsValue, what: &str) -> Result<String, LinkError> {
    let sdp = Reflect::get(value, &"sdp".into()).ok().and_then(|s| s.as_string());
    let bad = |problem: &str| {
        LinkError::new(ErrorCode::SignalingAnswer, ["options.signaling.", what, "() resolved to ", problem].concat())
    };
    let sdp = sdp.ok_or_else(|| bad("no { sdp } string"))?;
    match unusable_answer(&sdp) {
        Some(problem) => Err(bad(problem.strip_prefix("the ").unwrap_or(problem))),
        None => Ok(sdp),
    }
}

/// What the app's function threw or rejected with, as a `signaling-*` error with its message.
fn app_error(what: &str, e: &JsValue) -> LinkError {
    let message = ["options.signaling.", what, "() failed: ", &js::error_message(e)].concat();
    let status = Reflect::get(e, &"status".into()).ok().and_then(|s| s.as_f64()).filter(|s| (100.0..600.0).contains(s));
    match status {
        Some(s) => LinkError::http(s as u16, &message),
        None => LinkError::new(ErrorCode::SignalingNetwork, message),
    }
}
