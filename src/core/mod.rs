//! The pure core: no browser APIs, no clock. Everything here runs natively under `cargo test`.

pub mod backoff;
pub mod control;
pub mod error;
pub mod levels;
pub mod machine;
pub mod options;
pub mod outbox;
pub mod quality;
pub mod sdp;
pub mod session;
pub mod snapshot;

pub use error::{ErrorCode, LinkError};
pub use machine::{ConnectPhase, ConnectTimings, Effect, EndReason, Input, Machine, PeerState, Status};
pub use options::{AudioOptions, HiddenPolicy, IceServer, Options, ReconnectPolicy, VisibilityPolicy};
pub use session::Session;
pub use snapshot::{ErrorInfo, Snapshot};
