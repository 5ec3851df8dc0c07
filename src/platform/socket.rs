//! The control WebSocket, with its listeners — released on drop (closed with 1000).

use gloo_events::EventListener;
use wasm_bindgen::JsValue;
use web_sys::{Event, WebSocket};

use super::js;

/// An open or opening `WebSocket` with the listeners attached to it.
pub struct Socket {
    ws: WebSocket,
    listeners: Vec<EventListener>,
}

impl Socket {
    /// Opens a socket to `url`. Errors when the URL is refused by the browser.
    pub fn open(url: &str) -> Result<Socket, JsValue> {
        Ok(Socket { ws: WebSocket::new(url)?, listeners: Vec::new() })
    }

    /// Listens to `event` (`open`, `message`, `close`, `error`) for as long as this lives.
    pub fn on(&mut self, event: &'static str, f: impl FnMut(&Event) + 'static) {
        self.listeners.push(EventListener::new(&self.ws, event, f));
    }

    /// Sends text. Errors when the socket is not open.
    pub fn send(&self, text: &str) -> Result<(), JsValue> {
        self.ws.send_with_str(text)
    }

    /// Removes the listeners and closes with `code` (unless already closing or closed).
    pub fn close(&mut self, code: u16) -> Result<(), JsValue> {
        self.listeners.clear();
        match self.ws.ready_state() {
            WebSocket::CLOSING | WebSocket::CLOSED => Ok(()),
            _ => {
                let f = js_sys::Reflect::get(&self.ws, &"close".into())?;
                let f: js_sys::Function = wasm_bindgen::JsCast::dyn_into(f)?;
                f.call1(&self.ws, &JsValue::from(code)).map(|_| ()).inspect_err(|e| {
                    log::debug!("control socket close: {}", js::error_message(e));
                })
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.close(1000);
    }
}
