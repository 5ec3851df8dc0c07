//! The pure core: no browser APIs, no clock. Everything here runs natively under `cargo test`.

/// Gives a field-less enum its JS string form: `as_str()` and `ALL`. The same strings are in
/// the enum's `#[ts(rename_all = …)]`; `types::tests` checks that the two agree.
macro_rules! js_names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// The string form in the snapshot and the TypeScript types.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),*
                }
            }
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
        }
    };
}

pub mod backoff;
pub mod control;
pub mod error;
pub mod levels;
pub mod machine;
pub mod mic;
pub mod options;
pub mod outbox;
pub mod quality;
pub mod sdp;
pub mod session;
pub mod snapshot;
pub mod telemetry;
pub mod text;
pub mod trickle;
pub mod warmup;
#[cfg(test)]
pub mod types;

pub use error::{ErrorCode, LinkError};
pub use machine::{ConnectPhase, ConnectTimings, Effect, EndReason, Input, Machine, PeerState, Status};
pub use options::{AudioOptions, HiddenPolicy, IceServer, Options, Protocol, RawSignaling, ReconnectPolicy, VisibilityPolicy};
pub use session::{session_id_from_url, Session};
pub use snapshot::{ErrorInfo, Snapshot};
