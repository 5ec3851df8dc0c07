//! The app's listeners: `subscribe()` (snapshot changes) and `on("message" | "control" |
//! "error")`. Each list is owned by the link; `dispose()` clears them all, and the function
//! `subscribe`/`on` return removes one (idempotent). A listener that throws is logged and the
//! others still run.

use std::cell::{Cell, RefCell};

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::Link;
use crate::core::{ErrorCode, LinkError};
use crate::platform::js;

type List = RefCell<Vec<(u32, Function)>>;

/// The app's listener lists.
#[derive(Default)]
pub(super) struct Events {
    subscribers: List,
    message: List,
    control: List,
    error: List,
    device: List,
    next_id: Cell<u32>,
}

impl Events {
    /// Forgets every listener (`dispose()`).
    pub(super) fn clear(&self) {
        for list in [&self.subscribers, &self.message, &self.control, &self.error, &self.device] {
            list.borrow_mut().clear();
        }
    }
}

impl Link {
    fn add_listener(&self, list: fn(&Events) -> &List, f: Function) -> Result<Function, LinkError> {
        self.check_usable()?;
        let events = &self.0.events;
        let id = events.next_id.get().wrapping_add(1);
        events.next_id.set(id);
        list(events).borrow_mut().push((id, f));
        let weak = self.weak();
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                list(&inner.events).borrow_mut().retain(|(i, _)| *i != id);
            }
        });
        Ok(off.into_js_value().unchecked_into())
    }

    /// Adds a change listener; returns the function that removes it (idempotent).
    pub fn subscribe(&self, f: Function) -> Result<Function, LinkError> {
        self.add_listener(|e| &e.subscribers, f)
    }

    /// Adds a listener for `event`: `"message"` (data channel), `"control"` (control socket),
    /// `"error"` (non-fatal problems) or `"device"` (the microphone changed by itself); returns
    /// the function that removes it. Errors:
    /// `invalid-argument` for another event name, `disposed`.
    pub fn on(&self, event: &str, f: Function) -> Result<Function, LinkError> {
        match event {
            "message" => self.add_listener(|e| &e.message, f),
            "control" => self.add_listener(|e| &e.control, f),
            "error" => self.add_listener(|e| &e.error, f),
            "device" => self.add_listener(|e| &e.device, f),
            other => Err(LinkError::new(
                ErrorCode::InvalidArgument,
                [
                    "on(\"",
                    &other.chars().take(40).collect::<String>(),
                    "\"): unknown event, expected \"message\", \"control\", \"error\" or \"device\"",
                ]
                .concat(),
            )),
        }
    }

    /// Calls every listener of a list with `value` (none: no argument); a listener that throws
    /// is logged.
    fn emit(&self, list: fn(&Events) -> &List, value: Option<&JsValue>) {
        let listeners: Vec<Function> = list(&self.0.events).borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            let result = match value {
                Some(v) => f.call1(&JsValue::UNDEFINED, v),
                None => f.call0(&JsValue::UNDEFINED),
            };
            if let Err(e) = result {
                log::warn!("a voicelink listener threw: {}", js::error_message(&e));
            }
        }
    }

    /// Tells the `subscribe()` listeners that the snapshot may have changed.
    pub(super) fn notify(&self) {
        self.emit(|e| &e.subscribers, None);
    }

    /// Reports a non-fatal problem to the `on("error")` listeners as `{ code, message }`
    /// (`code`: an [`ErrorCode`] string).
    pub(crate) fn report(&self, e: &LinkError) {
        let event = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&event, &"code".into(), &e.code.as_str().into());
        let _ = js_sys::Reflect::set(&event, &"message".into(), &e.message.as_str().into());
        self.emit(|e| &e.error, Some(&event.into()));
    }

    /// Hands a data-channel message to the `on("message")` listeners — parsed when it is JSON
    /// text, else as received — and returns that value.
    pub(super) fn emit_message(&self, data: JsValue) -> JsValue {
        let value = match data.as_string() {
            Some(s) => js_sys::JSON::parse(&s).unwrap_or(data),
            None => data,
        };
        self.emit(|e| &e.message, Some(&value));
        value
    }

    /// Tells the `on("device")` listeners `{ kind, deviceId, replacedBy }`: `kind` `"mic-lost"`
    /// when the capture track ended from outside; `deviceId` the lost device, `replacedBy` the
    /// device now captured (`null`: none could take over; the call goes on muted).
    pub(super) fn emit_device(&self, kind: &str, device_id: Option<String>, replaced_by: Option<String>) {
        let event = js_sys::Object::new();
        let text = |v: Option<String>| v.map_or(JsValue::NULL, |s| JsValue::from_str(&s));
        let _ = js_sys::Reflect::set(&event, &"kind".into(), &kind.into());
        let _ = js_sys::Reflect::set(&event, &"deviceId".into(), &text(device_id));
        let _ = js_sys::Reflect::set(&event, &"replacedBy".into(), &text(replaced_by));
        self.emit(|e| &e.device, Some(&event.into()));
    }

    /// Hands a control-socket message to the `on("control")` listeners as `{ type, data }`.
    pub(super) fn emit_control(&self, kind: Option<String>, data: &JsValue) {
        let event = js_sys::Object::new();
        let kind = kind.map_or(JsValue::NULL, |t| JsValue::from_str(&t));
        let _ = js_sys::Reflect::set(&event, &"type".into(), &kind);
        let _ = js_sys::Reflect::set(&event, &"data".into(), data);
        self.emit(|e| &e.control, Some(&event.into()));
    }
}
