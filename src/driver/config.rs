//! What a link is configured with: the validated options and the JS values that cannot live in
//! the pure core.

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::core::Options;
use crate::platform::signaling::Signaling;

/// Where the bearer token comes from.
pub enum TokenSource {
    /// No `Authorization` header.
    None,
    /// A fixed token.
    Static(String),
    /// A function returning a token or a promise of one, called on every connect (ephemeral
    /// tokens).
    Provider(Function),
}

/// Everything the link is configured with.
pub struct Config {
    /// Validated options.
    pub options: Options,
    /// Token source.
    pub token: TokenSource,
    /// The app's `iceServers` array as given (validated), or `undefined`.
    pub ice_servers: JsValue,
    /// How offers reach the server, and what reconnect and hang-up mean there (shared with
    /// the hang-ups still in flight).
    pub signaling: Rc<Signaling>,
}
