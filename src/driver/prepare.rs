//! `prepare()` (issue 16): the work of a connect that needs neither the microphone nor the
//! server's answer, done ahead — the token, the WHIP `OPTIONS` pre-flight when
//! `iceServersFromServer`, the peer connection with its audio transceiver and data channel, and
//! its offer set as local description, so gathering runs while the user is still moving
//! towards the button. `connect()` takes it ([`Link::take_prepared`]); `disconnect()`,
//! `dispose()` or the lifetime (`core::warmup`, a deadline of the one timer) release it.
//! Every connect goes through [`Link::warm`]; a prepared one only did it earlier.

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::connect::resolve_token;
use super::Link;
use crate::core::trickle::needs_relay;
use crate::core::LinkError;
use crate::platform::channel::Channel;
use crate::platform::peer::{self, Peer};
use crate::platform::signaling::{whip, Signaling};
use crate::platform::{clock, js};

/// What a connect needs before its microphone: a peer connection whose offer is set and
/// gathering, and the token.
pub(super) struct Prepared {
    pub(super) token: Option<String>,
    pub(super) peer: Peer,
    pub(super) channel: Channel,
    /// The offer must wait for a relay candidate (`core::trickle::needs_relay`).
    pub(super) needs_relay: bool,
    /// The WHIP server said in its `OPTIONS` answer that it takes trickle.
    pub(super) trickle_advertised: bool,
}

impl Link {
    /// `prepare()`: resolves once the token is resolved and the peer connection is gathering.
    /// While a link is active, or after `dispose()`, it does nothing (`disposed` rejects);
    /// a second call while preparing returns the same promise, one after it starts the
    /// lifetime over. Errors: `token-failed`, `unsupported`, `peer-connection`.
    pub fn prepare(&self) -> Promise {
        if let Err(e) = self.check_usable() {
            return Promise::reject(&js::js_error(&e));
        }
        {
            let mut st = self.state_mut();
            if let Some(p) = &st.preparing {
                return p.clone();
            }
            if st.machine.is_active() {
                return Promise::resolve(&JsValue::UNDEFINED);
            }
            if st.prepared.is_some() {
                st.warmup.start(clock::now_ms());
                drop(st);
                self.rearm();
                return Promise::resolve(&JsValue::UNDEFINED);
            }
        }
        let link = self.clone();
        let promise = crate::platform::js::promise(Box::pin(async move {
            let result = match resolve_token(&link.0.config.token).await {
                Ok(token) => link.warm(token).await,
                Err(e) => Err(e),
            };
            let stored = {
                let mut st = link.state_mut();
                st.preparing = None;
                match result {
                    Ok(p) if !st.disposed => {
                        let old = st.prepared.replace(p);
                        st.warmup.start(clock::now_ms());
                        Ok(old)
                    }
                    Ok(p) => Ok(Some(p)), // disposed meanwhile: released below
                    Err(e) => Err(e),
                }
            };
            link.rearm();
            match stored {
                Ok(old) => {
                    drop(old);
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => Err(js::js_error(&e)),
            }
        }));
        self.state_mut().preparing = Some(promise.clone());
        promise
    }

    /// The peer connection part of a connect: the `OPTIONS` pre-flight (WHIP with
    /// `iceServersFromServer`), the peer connection (`iceServers`, `iceTransportPolicy`), its
    /// audio transceiver and data channel, and its offer set as local description (gathering
    /// starts). Errors: `unsupported`, `peer-connection`.
    pub(super) async fn warm(&self, token: Option<String>) -> Result<Prepared, LinkError> {
        let config = &self.0.config;
        let options = &config.options;
        let (server_ice, trickle_advertised) = if options.ice_servers_from_server && matches!(*config.signaling, Signaling::Whip) {
            whip::options_preflight(&options.url, token.as_deref()).await
        } else {
            (Vec::new(), false)
        };
        let mut urls: Vec<String> = options.ice_servers.iter().flat_map(|s| s.urls.iter().cloned()).collect();
        for s in &server_ice {
            let u = js_sys::Reflect::get(s, &"urls".into()).ok().and_then(|u| u.as_string());
            urls.extend(u);
        }
        let peer = Peer::new(&config.ice_servers, options.relay_only)?;
        if !server_ice.is_empty() {
            peer::add_ice_servers(peer.connection(), &config.ice_servers, &server_ice);
        }
        peer.add_audio_transceiver()?;
        let channel = Channel::create(peer.connection(), &options.data_channel_label)?;
        peer::start_offer(peer.connection(), false).await?;
        Ok(Prepared { token, peer, channel, needs_relay: needs_relay(options.relay_only, &urls), trickle_advertised })
    }

    /// What `prepare()` made, for a `connect()`: waits for a `prepare()` still running (its
    /// error is `connect()`'s to meet again), then takes it. `None`: nothing prepared.
    pub(super) async fn take_prepared(&self) -> Option<Prepared> {
        let preparing = self.state().preparing.clone();
        if let Some(p) = preparing {
            let _ = JsFuture::from(p).await;
        }
        let taken = {
            let mut st = self.state_mut();
            st.warmup.clear();
            st.prepared.take()
        };
        self.rearm();
        taken
    }

    /// Releases what `prepare()` made (the peer connection closes), if anything.
    pub(super) fn release_prepared(&self) {
        let old = {
            let mut st = self.state_mut();
            st.warmup.clear();
            st.prepared.take()
        };
        drop(old);
    }

}
