//! The control WebSocket (issue 7, seed 003) beside the media connection: applies the pure
//! [`Control`] machine's effects with a [`Socket`]; its heartbeat and retry are deadlines on the
//! driver's one timer. It follows the link ([`Control::follow`]): it opens once the media
//! session exists, announces it, and closes (1000) when the link ends.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent};

use super::Link;
use crate::core::control::{Control, ControlEffect, ControlInput, ControlState, Incoming, Outgoing};
use crate::core::Status;
use crate::platform::socket::Socket;
use crate::platform::{clock, js};

/// The control channel's machine and browser handles.
pub(super) struct ControlLink {
    pub(super) machine: Control,
    socket: Option<Socket>,
}

impl ControlLink {
    pub(super) fn new(machine: Control) -> ControlLink {
        ControlLink { machine, socket: None }
    }
}

impl Link {
    /// Feeds an input to the control machine and applies its effects.
    pub(super) fn control(&self, input: ControlInput) {
        self.control_with(input, &JsValue::UNDEFINED);
    }

    /// [`Link::control`] for an input that carries a message: `data` is what `Deliver` hands to
    /// the app.
    fn control_with(&self, input: ControlInput, data: &JsValue) {
        let effects = {
            let mut st = self.state_mut();
            match st.control.as_mut() {
                Some(c) => c.machine.handle(clock::now_ms(), input),
                None => return,
            }
        };
        for e in effects {
            self.apply_control(e, data);
        }
        self.rearm();
    }

    /// Keeps the control channel in step with the link: started (or re-announced) when the
    /// link is connected on a session, stopped when the link has ended.
    pub(super) fn sync_control(&self) {
        let effects = {
            let mut st = self.state_mut();
            let status = st.machine.status();
            let connected_on = (status == Status::Connected).then(|| st.machine.session().and_then(|s| s.id.clone()));
            let ended = matches!(status, Status::Disconnected | Status::Failed | Status::Idle);
            let Some(c) = st.control.as_mut() else { return };
            c.machine.follow(clock::now_ms(), connected_on, ended)
        };
        for e in effects {
            self.apply_control(e, &JsValue::UNDEFINED);
        }
    }

    fn apply_control(&self, effect: ControlEffect, data: &JsValue) {
        match effect {
            ControlEffect::Open { generation } => self.open_control_socket(generation),
            ControlEffect::Send(message) => {
                let text = serialize(message);
                let result = self.state().control.as_ref().and_then(|c| c.socket.as_ref().map(|s| s.send(&text)));
                if let Some(Err(e)) = result {
                    log::debug!("control send failed: {}", js::error_message(&e));
                }
            }
            ControlEffect::Close { code } => {
                let socket = self.state_mut().control.as_mut().and_then(|c| c.socket.take());
                if let Some(mut s) = socket {
                    let _ = s.close(code);
                }
            }
            ControlEffect::Deliver => self.emit_control(message_type(data), data),
            ControlEffect::Report(e) => self.report(&e),
            ControlEffect::Notify => {
                self.notify();
            }
        }
    }

    fn open_control_socket(&self, generation: u32) {
        let url = match self.state().control.as_ref() {
            Some(c) => c.machine.options().url.clone(),
            None => return,
        };
        let mut socket = match Socket::open(&url) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("control socket could not open: {}", js::error_message(&e));
                // Handled like an abnormal close: the machine schedules a retry.
                self.control(ControlInput::Closed { generation, code: 1006 });
                return;
            }
        };
        socket.on("open", self.listener(move |link, _| {
            link.control(ControlInput::Opened { generation });
        }));
        socket.on("message", self.listener(move |link, ev| {
            if let Some(text) = ev.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                // Parsed once, here at the edge; the machine gets the one field it needs.
                let (message, data) = match js_sys::JSON::parse(&text) {
                    Ok(data) => (Incoming::Json { kind: message_type(&data) }, data),
                    Err(_) => (Incoming::NotJson, JsValue::UNDEFINED),
                };
                link.control_with(ControlInput::Message { generation, message }, &data);
            }
        }));
        socket.on("close", self.listener(move |link, ev| {
            let code = ev.dyn_ref::<CloseEvent>().map(|c| c.code()).unwrap_or(1006);
            link.control(ControlInput::Closed { generation, code });
        }));
        let old = self.state_mut().control.as_mut().and_then(|c| c.socket.replace(socket));
        drop(old);
    }

    /// `sendControl()`: sends on the control socket, or buffers while it is down.
    pub fn send_control(&self, text: String) -> Result<(), crate::core::LinkError> {
        self.check_usable()?;
        if self.state().control.is_none() {
            return Err(crate::core::LinkError::new(
                crate::core::ErrorCode::InvalidArgument,
                "sendControl(): no control channel is configured (options.control)",
            ));
        }
        self.control(ControlInput::Send { text });
        Ok(())
    }

    /// The control channel's state for the snapshot.
    pub(super) fn control_view(st: &super::State) -> Option<(ControlState, usize, u64, u32)> {
        st.control.as_ref().map(|c| (c.machine.state(), c.machine.queued(), c.machine.dropped(), c.machine.reconnects()))
    }
}

/// The `type` of a parsed message: a string `type` property of an object, else `None`.
fn message_type(data: &JsValue) -> Option<String> {
    if !data.is_object() {
        return None;
    }
    js_sys::Reflect::get(data, &"type".into()).ok().and_then(|t| t.as_string())
}

/// The wire text of an outgoing control message, made with `JSON.stringify` (app messages are
/// already serialized).
fn serialize(message: Outgoing) -> String {
    let o = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&o, &k.into(), &v);
    };
    match message {
        Outgoing::App(text) => return text,
        Outgoing::SessionInfo { session_id } => {
            set("type", "session_info".into());
            set("session_id", session_id.map_or(JsValue::NULL, |id| JsValue::from_str(&id)));
        }
        Outgoing::Ping { ts_ms } => {
            set("type", "ping".into());
            set("ts", JsValue::from_f64(ts_ms as f64));
        }
    }
    js_sys::JSON::stringify(&o).ok().and_then(|s| s.as_string()).unwrap_or_default()
}
