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
