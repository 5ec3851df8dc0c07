//! Small JS helpers: coded `Error` objects, guarded method calls, awaiting an event.

use std::cell::Cell;
use std::rc::Rc;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::EventTarget;

use crate::core::LinkError;

thread_local! {
    /// The JS class errors are made of: the package entry's `VoiceLinkError` (js/errors.js),
    /// registered once after the wasm is instantiated.
    static ERROR_CLASS: std::cell::RefCell<Option<Function>> = const { std::cell::RefCell::new(None) };
}

/// Registers the class [`js_error`] constructs, `new class(code, message, status)`.
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

/// The JS `Error` the library throws and rejects with: `name` `"VoiceLinkError"`, `message`,
/// a stable `code` (see `ErrorCode`), and `status` (HTTP status, `signaling-http` only). An
/// instance of the package's `VoiceLinkError` class once it is registered (the package entry
/// does that), else a plain `Error` of the same shape.
pub fn js_error(e: &LinkError) -> JsValue {
    let status = e.status.map_or(JsValue::UNDEFINED, JsValue::from);
    if let Some(class) = ERROR_CLASS.with(|c| c.borrow().clone()) {
        let args = js_sys::Array::of3(&e.code.as_str().into(), &e.message.as_str().into(), &status);
        if let Ok(err) = Reflect::construct(&class, &args) {
            return err;
        }
    }
    let err = js_sys::Error::new(&e.message);
    err.set_name("VoiceLinkError");
    let obj: &JsValue = err.as_ref();
    let _ = Reflect::set(obj, &"code".into(), &e.code.as_str().into());
    if let Some(status) = e.status {
        let _ = Reflect::set(obj, &"status".into(), &JsValue::from(status));
    }
    err.into()
}

/// The message of a thrown JS value: `Error.message` / `DOMException.message`, or its string form.
pub fn error_message(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    Reflect::get(v, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "unknown error".into())
}

/// The `name` of a thrown JS value (`"NotAllowedError"` for a `DOMException`, ...).
pub fn error_name(v: &JsValue) -> String {
    Reflect::get(v, &"name".into()).ok().and_then(|m| m.as_string()).unwrap_or_default()
}

/// Calls `target[method]()` and turns any throw into `Err` — teardown uses it so a step that
/// throws (a broken polyfill, a patched prototype) cannot unwind through the others.
pub fn try_call(target: &JsValue, method: &str) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &method.into())?.dyn_into()?;
    f.call0(target)
}

/// Calls `target[method](arg)` and turns any throw (or a missing method) into `Err`.
pub fn try_call1(target: &JsValue, method: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &method.into())?.dyn_into()?;
    f.call1(target, arg)
}

/// `target[key]` as a string (`None` when absent or not a string).
pub fn text(target: &JsValue, key: &str) -> Option<String> {
    Reflect::get(target, &key.into()).ok().and_then(|v| v.as_string())
}

/// Sets `target[key] = value`, turning a throw into `Err`.
pub fn try_set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(target, &key.into(), value).map(|_| ())
}

/// Waits until `done()` holds — checked now and after each `event` on `target` — or until
/// `timeout_ms` passes. The listener and timer are removed when this returns.
pub async fn until_event(target: &EventTarget, event: &'static str, timeout_ms: u32, done: impl Fn() -> bool + 'static) {
    if done() {
        return;
    }
    let mut resolve: Option<Function> = None;
    let promise = Promise::new(&mut |res, _rej| resolve = Some(res));
    let Some(resolve) = resolve else { return };
    let settled = Rc::new(Cell::new(false));
    let (r1, s1) = (resolve.clone(), settled.clone());
    let _listener = EventListener::new(target, event, move |_| {
        if !s1.get() && done() {
            s1.set(true);
            let _ = r1.call0(&JsValue::NULL);
        }
    });
    let _timer = Timeout::new(timeout_ms, move || {
        if !settled.get() {
            settled.set(true);
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Awaits a value that may be a Promise (or any thenable) or a plain value.
pub async fn settle(v: JsValue) -> Result<JsValue, JsValue> {
    let then = Reflect::get(&v, &"then".into()).unwrap_or(JsValue::UNDEFINED);
    if then.is_function() {
        JsFuture::from(Promise::resolve(&v)).await
    } else {
        Ok(v)
    }
}

/// A JS promise of a future's outcome. One non-generic instance for every caller (the future
/// is boxed), so each promise-returning method costs its body only, not another copy of
/// wasm-bindgen-futures' driver.
pub fn promise(f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>) -> Promise {
    wasm_bindgen_futures::future_to_promise(f)
}

/// Runs a future to completion on the page's event loop, boxed for the same reason as
/// [`promise`]: one instance of the task machinery for every caller.
pub fn spawn(f: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) {
    wasm_bindgen_futures::spawn_local(f)
}

/// A new `AbortController`. Errors: `unsupported` (a browser without it).
pub fn abort_controller() -> Result<web_sys::AbortController, LinkError> {
    web_sys::AbortController::new().map_err(|e| {
        LinkError::new(crate::core::ErrorCode::Unsupported, ["AbortController: ", &error_message(&e)].concat())
    })
}
