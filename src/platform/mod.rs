//! Thin web-sys adapters. Each resource type here owns its browser object and the event
//! listeners on it, and releases both on `Drop` — so whatever path drops a resource, no
//! microphone stays on, no listener stays attached and no peer connection stays open.

pub mod audio;
pub mod channel;
pub mod clock;
pub mod devices;
pub mod js;
pub mod mic;
pub mod page;
pub mod peer;
pub mod playback;
pub mod signaling;
pub mod socket;
pub mod stats;
