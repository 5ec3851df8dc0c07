//! The signaling's HTTP request: one `fetch` in `http.js`, its reply as a [`Reply`]. (Building
//! a `Request` and reading a `Response` through web-sys at each call site cost 1.2 kB more gzip
//! of wasm: bench/README.md "Size".)

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

#[wasm_bindgen(module = "/src/platform/signaling/http.js")]
extern "C" {
    #[wasm_bindgen(js_name = request)]
    #[allow(clippy::too_many_arguments)]
    fn js_request(
        method: &str,
        url: &str,
        token: &str,
        content_type: &str,
        if_match: &str,
        body: &str,
        signal: Option<&AbortSignal>,
        keepalive: bool,
        timeout_ms: u32,
    ) -> Promise;
}

/// A request: method, URL, and what goes with it (`None`/`""`: not sent).
#[derive(Default)]
pub struct Request<'a> {
    /// `GET`, `POST`, `PATCH`, `DELETE`, `OPTIONS`.
    pub method: &'a str,
    /// Absolute URL.
    pub url: &'a str,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: &'a str,
    /// `If-Match`.
    pub if_match: &'a str,
    /// The body.
    pub body: &'a str,
    /// Aborts the request (and the reading of the reply).
    pub signal: Option<&'a AbortSignal>,
    /// `keepalive`: the request may outlive the page (a hang-up on `pagehide`).
    pub keepalive: bool,
    /// Aborted after this many ms (without `signal`); 0: no bound.
    pub timeout_ms: u32,
}

/// A reply header [`Reply::header`] reads.
#[derive(Clone, Copy)]
pub enum Header {
    /// `Location` (as sent: possibly relative).
    Location = 3,
    /// `ETag`.
    ETag,
    /// `Link`.
    Link,
    /// `Accept-Patch`.
    AcceptPatch,
    /// `X-Session-ID`.
    SessionId,
}

/// What the server answered.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as text (`""` when it could not be read).
    pub body: String,
    /// The response URL (after redirects): the base of a relative `Location`.
    pub url: String,
    fields: Array,
}

impl Reply {
    /// A 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header of the reply, `None` when absent (or not exposed by CORS).
    pub fn header(&self, header: Header) -> Option<String> {
        self.fields.get(header as u32).as_string()
    }
}

/// Sends `req`; rejects (a JS error) when no HTTP response came: network, CORS, abort, or a
/// header value `fetch` refuses.
pub async fn send(req: Request<'_>) -> Result<Reply, JsValue> {
    let promise = js_request(
        req.method,
        req.url,
        req.token.unwrap_or(""),
        req.content_type,
        req.if_match,
        req.body,
        req.signal,
        req.keepalive,
        req.timeout_ms,
    );
    let fields: Array = JsFuture::from(promise).await?.unchecked_into();
    let text = |i: u32| fields.get(i).as_string().unwrap_or_default();
    Ok(Reply { status: fields.get(0).as_f64().unwrap_or(0.0) as u16, body: text(1), url: text(2), fields })
}
