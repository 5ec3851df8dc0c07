//! The time source of the core: `performance.now()` in milliseconds.
//! (`std::time::Instant::now()` panics on wasm32.)

/// Milliseconds since the page's time origin (`performance.now()`), or `Date.now()` where
/// there is no `performance`.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Records a User Timing measure `name` from `start_ms` to now (`performance.measure`, User
/// Timing Level 3), shown by browser profilers. Best effort: a browser without it records
/// nothing.
pub fn measure(name: &str, start_ms: f64) {
    use wasm_bindgen::{JsCast, JsValue};
    let Some(perf) = web_sys::window().and_then(|w| w.performance()) else { return };
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"start".into(), &JsValue::from_f64(start_ms));
    let _ = js_sys::Reflect::set(&opts, &"end".into(), &JsValue::from_f64(perf.now()));
    if let Ok(f) = js_sys::Reflect::get(&perf, &"measure".into()).and_then(|f| f.dyn_into::<js_sys::Function>()) {
        let _ = f.call2(&perf, &JsValue::from_str(name), &opts);
    }
}
