//! voicelink — the browser side of a realtime voice connection, in Rust compiled to WebAssembly.
//!
//! The crate is layered, one direction only:
//!
//! - [`core`]: pure Rust — the link's state machine, options validation, session
//!   parsing, the snapshot. No web-sys; time is an input. Tested with plain `cargo test`.
//! - [`platform`]: thin web-sys adapters — microphone, peer connection, WHIP signaling
//!   over `fetch`, audio playback, the clock. Browser callbacks only become core inputs.
//! - [`driver`]: owns the core and the browser handles; runs the connect sequence and the
//!   teardown, applying the core's effects in order.
//! - [`api`]: the `#[wasm_bindgen]` class `VoiceLink`, JS option parsing and JS errors.

#![warn(missing_docs)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod driver;
#[cfg(target_arch = "wasm32")]
pub mod platform;
