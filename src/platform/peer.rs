//! The peer connection: creation, the SDP offer with gathered ICE candidates (non-trickle
//! WHIP, RFC 9725 §4.1), the answer, and its event listeners — all released on drop.

use gloo_events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, MediaStream, MediaStreamTrack, RtcConfiguration, RtcIceConnectionState, RtcIceGatheringState,
    RtcOfferOptions, RtcPeerConnection, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

use super::js;
use crate::core::{ErrorCode, LinkError, PeerState};

/// Longest wait for ICE gathering to complete before the offer is sent with the candidates
/// gathered so far, in milliseconds. Host candidates take a few ms; STUN can take seconds.
pub const ICE_GATHERING_TIMEOUT_MS: u32 = 2_000;

/// An `RTCPeerConnection` with the listeners attached to it. Dropping it removes the
/// listeners and closes the connection.
pub struct Peer {
    pc: RtcPeerConnection,
    listeners: Vec<EventListener>,
}

fn pc_error(what: &str, e: &JsValue) -> LinkError {
    LinkError::new(ErrorCode::PeerConnection, format!("{what} failed: {}", js::error_message(e)))
}

impl Peer {
    /// Creates the peer connection. `ice_servers` is the app's `iceServers` array (already
    /// validated), or `undefined`. Errors: `unsupported` when the browser has no WebRTC.
    pub fn new(ice_servers: &JsValue) -> Result<Peer, LinkError> {
        let config = RtcConfiguration::new();
        if !ice_servers.is_undefined() && !ice_servers.is_null() {
            config.set_ice_servers(ice_servers);
        }
        let pc = RtcPeerConnection::new_with_configuration(&config).map_err(|e| {
            LinkError::new(
                ErrorCode::Unsupported,
                format!("RTCPeerConnection could not be created: {}", js::error_message(&e)),
            )
        })?;
        Ok(Peer { pc, listeners: Vec::new() })
    }

    /// The underlying `RTCPeerConnection`.
    pub fn connection(&self) -> &RtcPeerConnection {
        &self.pc
    }

    /// Listens to `event` on the peer connection for as long as this `Peer` lives.
    pub fn on(&mut self, event: &'static str, f: impl FnMut(&Event) + 'static) {
        self.listeners.push(EventListener::new(&self.pc, event, f));
    }

    /// Sends the microphone track (`addTrack`, W3C webrtc-pc §5.1).
    pub fn add_track(&self, track: &MediaStreamTrack, stream: &MediaStream) {
        self.pc.add_track_0(track, stream);
    }

    /// `connectionState`, mapped.
    pub fn state(&self) -> PeerState {
        map_state(self.pc.connection_state())
    }

    /// Removes the listeners (events after this reach nobody); the connection stays open.
    pub fn remove_listeners(&mut self) {
        self.listeners.clear();
    }

    /// Removes the listeners and closes the connection (errors from `close()` are returned,
    /// the listeners are gone either way).
    pub fn close(&mut self) -> Result<(), JsValue> {
        self.listeners.clear();
        js::try_call(&self.pc, "close").map(|_| ())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Maps `RTCPeerConnectionState` to the core's [`PeerState`].
pub fn map_state(s: RtcPeerConnectionState) -> PeerState {
    match s {
        RtcPeerConnectionState::New => PeerState::New,
        RtcPeerConnectionState::Connecting => PeerState::Connecting,
        RtcPeerConnectionState::Connected => PeerState::Connected,
        RtcPeerConnectionState::Disconnected => PeerState::Disconnected,
        RtcPeerConnectionState::Failed => PeerState::Failed,
        _ => PeerState::Closed,
    }
}

/// Maps `RTCIceConnectionState` to the core's [`PeerState`].
pub fn map_ice_state(s: RtcIceConnectionState) -> PeerState {
    match s {
        RtcIceConnectionState::New => PeerState::New,
        RtcIceConnectionState::Checking => PeerState::Connecting,
        RtcIceConnectionState::Connected | RtcIceConnectionState::Completed => PeerState::Connected,
        RtcIceConnectionState::Disconnected => PeerState::Disconnected,
        RtcIceConnectionState::Failed => PeerState::Failed,
        _ => PeerState::Closed,
    }
}

/// The current remote description's SDP.
pub fn remote_sdp(pc: &RtcPeerConnection) -> Option<String> {
    pc.remote_description().map(|d| d.sdp()).filter(|s| !s.is_empty())
}

/// Creates the offer (with new ICE credentials when `ice_restart`), sets it as local
/// description, waits (when `wait_for_candidates`; bounded by [`ICE_GATHERING_TIMEOUT_MS`]) for
/// ICE gathering, and returns the local SDP with the candidates it has. Errors: `peer-connection`.
pub async fn create_offer(pc: &RtcPeerConnection, ice_restart: bool, wait_for_candidates: bool) -> Result<String, LinkError> {
    let options = RtcOfferOptions::new();
    options.set_ice_restart(ice_restart);
    let offer = JsFuture::from(pc.create_offer_with_rtc_offer_options(&options))
        .await
        .map_err(|e| pc_error("createOffer", &e))?;
    let sdp = js_sys::Reflect::get(&offer, &"sdp".into()).ok().and_then(|s| s.as_string()).unwrap_or_default();
    let init = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await.map_err(|e| pc_error("setLocalDescription", &e))?;
    if wait_for_candidates {
        let watched = pc.clone();
        js::until_event(pc.as_ref(), "icegatheringstatechange", ICE_GATHERING_TIMEOUT_MS, move || {
            watched.ice_gathering_state() == RtcIceGatheringState::Complete
        })
        .await;
    }
    pc.local_description()
        .map(|d| d.sdp())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| LinkError::new(ErrorCode::PeerConnection, "the peer connection has no local description"))
}

/// Adds the ICE servers a server advertised to the app's (`setConfiguration`, W3C webrtc-pc
/// §4.4.1.6: the other fields are kept); a browser refusal is logged, the call goes on with the
/// app's servers.
pub fn add_ice_servers(pc: &RtcPeerConnection, app: &JsValue, server: &[JsValue]) {
    let all = js_sys::Array::new();
    if js_sys::Array::is_array(app) {
        for s in js_sys::Array::from(app).iter() {
            all.push(&s);
        }
    }
    for s in server {
        all.push(s);
    }
    let config = pc.get_configuration();
    config.set_ice_servers(&all);
    if let Err(e) = pc.set_configuration_with_configuration(&config) {
        log::warn!("the server's ICE servers could not be used: {}", js::error_message(&e));
    }
}

/// Applies the answer. Errors: `signaling-answer` when the browser rejects it.
pub async fn apply_answer(pc: &RtcPeerConnection, sdp: &str) -> Result<(), LinkError> {
    let init = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&init)).await.map(|_| ()).map_err(|e| {
        LinkError::new(
            ErrorCode::SignalingAnswer,
            format!("the SDP answer was rejected by the browser: {}", js::error_message(&e)),
        )
    })
}

/// The first stream of a `track` event, or a new stream holding its track.
pub fn track_stream(ev: &Event) -> Option<MediaStream> {
    let ev: &web_sys::RtcTrackEvent = ev.dyn_ref()?;
    let first = ev.streams().get(0);
    if let Ok(s) = first.dyn_into::<MediaStream>() {
        return Some(s);
    }
    let tracks = js_sys::Array::of1(&ev.track());
    MediaStream::new_with_tracks(&tracks).ok()
}
