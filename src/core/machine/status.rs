//! The link's public words: where it is ([`Status`]), which connect step runs ([`ConnectPhase`]),
//! where the connect time went ([`ConnectTimings`]) and why it ended ([`EndReason`]). These are
//! the snapshot's fields and the TypeScript types (`core::types`).

use ts_rs::TS;

/// Where the link is: the snapshot's `status` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkStatus", rename_all = "lowercase")]
pub enum Status {
    /// Never connected.
    Idle,
    /// `connect()` is running (see [`ConnectPhase`]).
    Connecting,
    /// Peer connection `connected` and data channel `open`.
    Connected,
    /// The transport is lost and the session kept (manual policy): `reconnect()` brings it back.
    Interrupted,
    /// A recovery attempt runs, or the automatic policy waits for the next one.
    Reconnecting,
    /// Ended on purpose (see [`EndReason`]); every resource released.
    Disconnected,
    /// Ended by an error (the snapshot's `error` says which); every resource released.
    Failed,
}

js_names!(Status {
    Idle => "idle",
    Connecting => "connecting",
    Connected => "connected",
    Interrupted => "interrupted",
    Reconnecting => "reconnecting",
    Disconnected => "disconnected",
    Failed => "failed",
});

/// The step `connect()` is on, in the order it runs them: the snapshot's `phase` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkConnectPhase", rename_all = "lowercase")]
pub enum ConnectPhase {
    /// Resolving the bearer token (string or async provider).
    Token,
    /// Waiting for `getUserMedia`.
    Microphone,
    /// Creating the peer connection, the data channel and the SDP offer, gathering ICE candidates.
    Offer,
    /// The WHIP `POST` of the offer and applying the answer.
    Signaling,
    /// ICE and DTLS: waiting for the peer connection to be `connected` and the channel `open`.
    Ice,
}

js_names!(ConnectPhase {
    Token => "token",
    Microphone => "microphone",
    Offer => "offer",
    Signaling => "signaling",
    Ice => "ice",
});

/// Where the time of the last connect went, in ms (from `connect()` to `connected`).
#[derive(Clone, Copy, Debug, Default, PartialEq, TS)]
#[ts(rename = "VoiceLinkConnectTimings", rename_all = "camelCase")]
pub struct ConnectTimings {
    /// `getUserMedia` (the microphone phase).
    pub mic_ms: f64,
    /// Peer connection, offer, ICE gathering, the WHIP POST and the answer.
    pub signaling_ms: f64,
    /// ICE connectivity and the DTLS handshake, until `connected` with the channel open.
    pub ice_ms: f64,
    /// From the `connect()` call to `connected` (includes the token).
    pub total_ms: f64,
}

/// Why the link ended: the snapshot's `endReason` (kebab-case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkEndReason", rename_all = "kebab-case")]
pub enum EndReason {
    /// `disconnect()` was called.
    User,
    /// `dispose()` was called.
    Disposed,
    /// An error ended it (see the snapshot's `error`).
    Error,
    /// The server ended the session (a `session.ended` event, or it closed the data channel).
    ServerEnded,
    /// The page was hidden (Page Visibility API) with the `"disconnect"` visibility policy.
    Hidden,
    /// The page is being left or frozen (`pagehide` / `freeze`).
    PageHide,
}

js_names!(EndReason {
    User => "user",
    Disposed => "disposed",
    Error => "error",
    ServerEnded => "server-ended",
    Hidden => "hidden",
    PageHide => "page-hide",
});

