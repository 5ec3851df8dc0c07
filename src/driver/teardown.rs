//! The one teardown path. Used by `disconnect()`, `dispose()`, a failed `connect()`, a
//! timeout and a server-ended session. Order: microphone first (synchronously — the mic
//! indicator is off before the caller regains control), then playback (muted before it is
//! paused), the pending WHIP request, the data channel, the peer connection, timers, and last
//! the WHIP `DELETE`. Each step is isolated: one that throws is logged and the rest still run.
//! Idempotent: resources are taken out of the state, so a second teardown finds nothing.

use wasm_bindgen::JsValue;

use super::Link;
use crate::platform::{js, signaling};

impl Link {
    pub(super) fn teardown(&self, delete_session: bool) {
        let (mut res, session_url) = {
            let mut st = self.0.state.borrow_mut();
            let res = std::mem::take(&mut st.res);
            let url = if delete_session { st.machine.session().and_then(|s| s.url.clone()) } else { None };
            (res, url)
        };

        let step = |name: &str, result: Result<(), JsValue>| match result {
            Ok(()) => log::debug!("teardown: {name} released"),
            Err(e) => log::warn!("teardown: {name} failed: {}", js::error_message(&e)),
        };

        if let Some(mic) = res.mic.take() {
            step("microphone", mic.stop());
        }
        if let Some(mut playback) = res.playback.take() {
            step("playback", playback.stop());
        }
        if let Some(abort) = res.signaling_abort.take() {
            abort.abort();
            step("signaling request", Ok(()));
        }
        if let Some(mut channel) = res.channel.take() {
            step("data channel", channel.close());
        }
        if let Some(mut peer) = res.peer.take() {
            step("peer connection", peer.close());
        }
        if res.connect_timer.take().is_some() {
            step("connect timer", Ok(()));
        }
        let token = res.token.take();

        if let Some(url) = session_url {
            let promise = wasm_bindgen_futures::future_to_promise(async move {
                match signaling::delete_session(&url, token.as_deref(), false).await {
                    Ok(status) => log::debug!("teardown: WHIP DELETE answered {status}"),
                    Err(e) => log::warn!("teardown: WHIP DELETE failed: {}", js::error_message(&e)),
                }
                Ok(JsValue::UNDEFINED)
            });
            self.0.state.borrow_mut().closing = Some(promise);
        }
    }
}
