//! Page lifecycle: Page Visibility (`visibilitychange`), `pagehide` and `freeze`.

use gloo_events::EventListener;

/// A page lifecycle change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    /// `document.visibilityState` is `hidden`.
    Hidden,
    /// `document.visibilityState` is `visible`.
    Visible,
    /// `pagehide` (navigation away, bfcache) or `freeze` (page lifecycle).
    Exit,
    /// `window`'s `online` (`true`) or `offline` (`false`) event.
    Network(bool),
}


/// The page lifecycle listeners. Dropping this removes all of them.
pub struct PageLifecycle {
    _listeners: Vec<EventListener>,
}

/// `true` when `document.visibilityState` is `hidden` now.
pub fn is_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

impl PageLifecycle {
    /// Listens on `document` (`visibilitychange`, `freeze`) and `window` (`pagehide`), calling
    /// `on_event` for each change. `None` outside a window (a worker).
    pub fn listen(on_event: impl Fn(PageEvent) + Clone + 'static) -> Option<PageLifecycle> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let f = on_event.clone();
        let visibility = EventListener::new(&document, "visibilitychange", move |_| {
            f(if is_hidden() { PageEvent::Hidden } else { PageEvent::Visible })
        });
        let f = on_event.clone();
        let freeze = EventListener::new(&document, "freeze", move |_| f(PageEvent::Exit));
        let f = on_event.clone();
        let pagehide = EventListener::new(&window, "pagehide", move |_| f(PageEvent::Exit));
        let f = on_event.clone();
        let online = EventListener::new(&window, "online", move |_| f(PageEvent::Network(true)));
        let offline = EventListener::new(&window, "offline", move |_| on_event(PageEvent::Network(false)));
        Some(PageLifecycle { _listeners: vec![visibility, freeze, pagehide, online, offline] })
    }
}

/// Resolves a relative URL against the page with the browser's URL parser (`/whip` →
/// `https://host/whip`); unchanged when there is no page or it does not parse.
pub fn absolute(url: String) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok());
    match base.and_then(|b| web_sys::Url::new_with_base(&url, &b).ok()) {
        Some(u) => u.href(),
        None => url,
    }
}
