//! The peer connection: creation (`iceTransportPolicy`), the audio transceiver the microphone
//! track is put on later, the SDP offer sent once gathering has what the connection needs
//! (`core::trickle::Gather`, issue 16), the answer, and its event listeners — all released on
//! drop.

use gloo_events::EventListener;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, MediaStream, MediaStreamTrack, RtcConfiguration, RtcIceConnectionState, RtcIceGatheringState,
    RtcOfferOptions, RtcPeerConnection, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

use super::js;
use crate::core::trickle::Gather;
use crate::core::{ErrorCode, LinkError, PeerState};

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
    /// `relay_only`: `iceTransportPolicy: "relay"`.
    pub fn new(ice_servers: &JsValue, relay_only: bool) -> Result<Peer, LinkError> {
        let config = RtcConfiguration::new();
        if !ice_servers.is_undefined() && !ice_servers.is_null() {
            config.set_ice_servers(ice_servers);
        }
        if relay_only {
            let _ = Reflect::set(&config, &"iceTransportPolicy".into(), &"relay".into());
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

    /// A `sendrecv` audio transceiver without a track yet (`addTransceiver`, W3C webrtc-pc
    /// §5.1): the offer can be made and gathering can start before the microphone is open;
    /// [`send_track`] puts the track on it without renegotiation.
    pub fn add_audio_transceiver(&self) -> Result<(), LinkError> {
        let add: js_sys::Function = Reflect::get(&self.pc, &"addTransceiver".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| LinkError::new(ErrorCode::Unsupported, "RTCPeerConnection has no addTransceiver()"))?;
        add.call1(&self.pc, &"audio".into()).map(|_| ()).map_err(|e| pc_error("addTransceiver", &e))
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

/// Sends `track` (of `stream`) on the first transceiver: `replaceTrack` (no renegotiation)
/// and, where the browser has it, `setStreams` so the `msid` names the stream.
pub fn send_track(pc: &RtcPeerConnection, track: &MediaStreamTrack, stream: &MediaStream) -> Result<js_sys::Promise, LinkError> {
    let transceivers = pc.get_transceivers();
    let sender = Reflect::get(&transceivers.get(0), &"sender".into()).map_err(|e| pc_error("getTransceivers", &e))?;
    let replace: js_sys::Function = Reflect::get(&sender, &"replaceTrack".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| LinkError::new(ErrorCode::PeerConnection, "the peer connection has no audio sender"))?;
    let promise = replace.call1(&sender, track).map_err(|e| pc_error("replaceTrack", &e))?;
    if let Ok(set_streams) = Reflect::get(&sender, &"setStreams".into()).and_then(|f| f.dyn_into::<js_sys::Function>()) {
        let _ = set_streams.call1(&sender, stream);
    }
    // `allSettled` never rejects and handles `promise`: when the connect ends before this is
    // awaited (teardown closed the peer connection), no unhandled rejection surfaces.
    Ok(js_sys::Promise::all_settled(&js_sys::Array::of1(&promise)))
}

/// Waits for a [`send_track`] to settle. Errors: `peer-connection` when `replaceTrack` failed.
pub async fn track_sent(sending: js_sys::Promise) -> Result<(), LinkError> {
    let settled = JsFuture::from(sending).await.map_err(|e| pc_error("replaceTrack", &e))?;
    let outcome = js_sys::Array::from(&settled).get(0);
    match js::text(&outcome, "status").as_deref() {
        Some("fulfilled") => Ok(()),
        _ => Err(pc_error("replaceTrack", &Reflect::get(&outcome, &"reason".into()).unwrap_or(JsValue::UNDEFINED))),
    }
}

/// Creates the offer (with new ICE credentials when `ice_restart`) and sets it as local
/// description: gathering starts. Errors: `peer-connection`.
pub async fn start_offer(pc: &RtcPeerConnection, ice_restart: bool) -> Result<(), LinkError> {
    let options = RtcOfferOptions::new();
    options.set_ice_restart(ice_restart);
    let offer = JsFuture::from(pc.create_offer_with_rtc_offer_options(&options))
        .await
        .map_err(|e| pc_error("createOffer", &e))?;
    let sdp = Reflect::get(&offer, &"sdp".into()).ok().and_then(|s| s.as_string()).unwrap_or_default();
    let init = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await.map_err(|e| pc_error("setLocalDescription", &e))?;
    Ok(())
}

/// The gathering so far, read from the local description (which carries every candidate
/// gathered, W3C webrtc-pc §4.4.1.5) and `iceGatheringState`.
fn gathered(pc: &RtcPeerConnection, needs_relay: bool) -> Gather {
    let mut g = Gather::new(needs_relay);
    if pc.ice_gathering_state() == RtcIceGatheringState::Complete {
        g.complete();
    }
    if let Some(d) = pc.local_description() {
        for line in d.sdp().lines().filter_map(|l| l.strip_prefix("a=")).filter(|l| l.starts_with("candidate:")) {
            g.candidate(line);
        }
    }
    g
}

/// Waits until gathering has what the offer needs (`core::trickle::Gather`: a first candidate,
/// or a relay one when `needs_relay`; bounded), then returns the local SDP with the candidates
/// it has. Errors: `peer-connection`.
pub async fn offer_sdp(pc: &RtcPeerConnection, needs_relay: bool) -> Result<String, LinkError> {
    let bound = gathered(pc, needs_relay).bound_ms();
    let watched = pc.clone();
    js::until_event(pc.as_ref(), "icecandidate", bound, move || gathered(&watched, needs_relay).ready()).await;
    pc.local_description()
        .map(|d| d.sdp())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| LinkError::new(ErrorCode::PeerConnection, "the peer connection has no local description"))
}

/// [`start_offer`] then [`offer_sdp`]: the offer of an ICE restart or of a new peer connection
/// in a recovery. Errors: `peer-connection`.
pub async fn create_offer(pc: &RtcPeerConnection, ice_restart: bool, needs_relay: bool) -> Result<String, LinkError> {
    start_offer(pc, ice_restart).await?;
    offer_sdp(pc, needs_relay).await
}

/// A local candidate of an `icecandidate` event: `Some((candidate, sdpMid))`, `Some(("", _))`
/// at the end of gathering (`null` candidate, or an empty one), `None` when unreadable.
pub fn event_candidate(ev: &Event) -> Option<(String, Option<String>)> {
    let c = Reflect::get(ev, &"candidate".into()).ok()?;
    if c.is_null() || c.is_undefined() {
        return Some((String::new(), None));
    }
    let line = Reflect::get(&c, &"candidate".into()).ok()?.as_string()?;
    let mid = Reflect::get(&c, &"sdpMid".into()).ok().and_then(|m| m.as_string());
    Some((line, mid))
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
