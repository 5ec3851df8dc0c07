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
// `clamp` asserts `min <= max` with a Debug-formatted panic message, which pulls Rust's float
// formatting into the wasm (removing it and `{}` of floats took 23.5 kB raw off, bench/README.md); the code writes `.max(lo).min(hi)` instead (issue 6).
#![allow(clippy::manual_clamp)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod driver;
#[cfg(target_arch = "wasm32")]
pub mod platform;

/// The heap allocator of the wasm build (single-threaded wasm: no atomics).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
