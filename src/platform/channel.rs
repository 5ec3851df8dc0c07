//! The data channel for app events, with its listeners — released on drop.

use gloo_events::EventListener;
use wasm_bindgen::JsValue;
use web_sys::{Event, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState, RtcPeerConnection};

use super::js;
use crate::core::outbox::{Sink, HIGH_WATER_BYTES};
use crate::core::{ErrorCode, LinkError};

/// An `RTCDataChannel` (ordered, reliable) with the listeners attached to it. Dropping it
/// removes the listeners and closes the channel.
pub struct Channel {
    dc: RtcDataChannel,
    /// The peer connection the channel belongs to (its `sctp.maxMessageSize`).
    pc: RtcPeerConnection,
    listeners: Vec<EventListener>,
}

impl Channel {
    /// Creates the channel on `pc` with `label` (must happen before the offer so the SDP
    /// carries the SCTP m-line). Errors: `peer-connection`.
    pub fn create(pc: &RtcPeerConnection, label: &str) -> Result<Channel, LinkError> {
        let init = RtcDataChannelInit::new();
        init.set_ordered(true);
        let dc = pc.create_data_channel_with_data_channel_dict(label, &init);
        if JsValue::from(&dc).is_undefined() {
            return Err(LinkError::new(ErrorCode::PeerConnection, "createDataChannel returned nothing"));
        }
        Ok(Channel { dc, pc: Clone::clone(pc), listeners: Vec::new() })
    }

    /// Listens to `event` (`open`, `message`, `close`, ...) for as long as this `Channel` lives.
    pub fn on(&mut self, event: &'static str, f: impl FnMut(&Event) + 'static) {
        self.listeners.push(EventListener::new(&self.dc, event, f));
    }

    /// Bytes queued in the channel, not yet handed to the network (`bufferedAmount`).
    pub fn buffered_amount(&self) -> u32 {
        self.dc.buffered_amount()
    }

    /// Sets `bufferedAmountLowThreshold` (bytes): `bufferedamountlow` fires when the queue
    /// drains below it.
    pub fn set_low_threshold(&self, bytes: u32) {
        self.dc.set_buffered_amount_low_threshold(bytes);
    }

    /// `true` when `readyState` is `connecting`.
    pub fn is_connecting(&self) -> bool {
        self.dc.ready_state() == RtcDataChannelState::Connecting
    }

    /// `true` when `readyState` is `open`.
    pub fn is_open(&self) -> bool {
        self.dc.ready_state() == RtcDataChannelState::Open
    }

    /// The largest message the peer accepts, bytes: `sctp.maxMessageSize` of the peer
    /// connection (W3C WebRTC §6.1.1, from the remote SDP's `a=max-message-size`, RFC 8841).
    /// `None` before the answer is applied (no SCTP transport yet) or when unbounded.
    pub fn max_message_size(&self) -> Option<f64> {
        let sctp = js_sys::Reflect::get(&self.pc, &"sctp".into()).ok().filter(|s| s.is_object())?;
        let size = js_sys::Reflect::get(&sctp, &"maxMessageSize".into()).ok()?.as_f64()?;
        (size.is_finite() && size > 0.0).then_some(size)
    }


    /// Removes the listeners (events after this reach nobody); the channel stays open.
    pub fn remove_listeners(&mut self) {
        self.listeners.clear();
    }

    /// Removes the listeners, then closes the channel if it is not closed yet.
    pub fn close(&mut self) -> Result<(), JsValue> {
        self.listeners.clear();
        match self.dc.ready_state() {
            RtcDataChannelState::Closed | RtcDataChannelState::Closing => Ok(()),
            _ => js::try_call(&self.dc, "close").map(|_| ()),
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The outbox's view of the channel ([`Outbox::send`](crate::core::outbox::Outbox::send) and
/// `flush` decide; this only reads and sends).
impl Sink for Channel {
    fn ready(&self) -> bool {
        self.is_open() && self.buffered_amount() < HIGH_WATER_BYTES
    }

    fn max_message_size(&self) -> Option<f64> {
        Channel::max_message_size(self)
    }

    /// Sends a text message. Errors: `not-connected` when the channel is not open (the message
    /// may wait for it), `send-failed` when `RTCDataChannel.send` threw (the message cannot go).
    fn send(&mut self, text: &str) -> Result<(), LinkError> {
        if !self.is_open() {
            return Err(LinkError::new(ErrorCode::NotConnected, "the data channel is not open: wait for status \"connected\""));
        }
        self.dc.send_with_str(text).map_err(|e| {
            LinkError::new(ErrorCode::SendFailed, ["the data channel refused a message: ", &js::error_message(&e)].concat())
        })
    }
}
