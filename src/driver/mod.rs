//! The driver: owns the core's [`Machine`] and every browser resource of a link, feeds browser
//! events to the core as inputs, and applies its effects in order.
//!
//! Map: `mod.rs` holds the link's state and the entry points (`connect`, `reconnect`,
//! `disconnect`, `dispose`, `getSnapshot`) and applies the machine's effects; `timer.rs` keeps
//! the one timer at the earliest deadline of the machine, the control channel and the
//! telemetry; `connect.rs` is the connect sequence and the peer connection's and data
//! channel's listeners; `recover.rs` brings a session back as its protocol does; `teardown.rs`
//! is the one release path; `telemetry.rs` reads `getStats()` and the meters when the core says
//! so; `send.rs` hands app messages to the data channel through the core's outbox;
//! `control.rs` runs the control WebSocket; `events.rs` owns the app's listeners; `media.rs`
//! the browser resources of a connection; `view.rs` turns the snapshot into a frozen JS object.
//! Every browser listener is owned by the resource it listens to (`Peer`, `Channel`, `Socket`,
//! `PageLifecycle`) and removed when that resource is released; every decision is the core's.
//!
//! Re-entrancy rule: no `RefCell` borrow is held while JS runs (app listeners, promise
//! settlement, teardown steps) or across an `.await`. Effects are computed under a borrow and
//! applied after it is released.

mod config;
mod connect;
mod control;
mod devices;
mod events;
mod ice;
mod media;
mod prepare;
mod recover;
mod send;
mod teardown;
mod telemetry;
mod timer;
mod view;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

pub use config::{Config, TokenSource};
use events::Events;
use media::{Media, Pending};

use crate::core::mic::MicState;
use crate::core::outbox::Outbox;
use crate::core::telemetry::Telemetry;
use crate::core::{Effect, EndReason, ErrorCode, Input, LinkError, Machine, Snapshot, Status};
use crate::platform::page::{PageEvent, PageLifecycle};
use crate::platform::playback::Playback;
use crate::platform::{clock, js};

/// A link's state; one `RefCell`, borrowed briefly (see the re-entrancy rule above).
struct State {
    machine: Machine,
    /// The current connection's browser resources.
    media: Media,
    /// When to read stats and meters, and what they showed.
    telemetry: Telemetry,
    /// Messages sent while the data channel was not open.
    outbox: Outbox,
    /// The app's microphone choices: muted or not, which device.
    mic: MicState,
    /// The optional control WebSocket.
    control: Option<control::ControlLink>,
    /// Page lifecycle and network listeners: attached on the first `connect()`, removed by
    /// `dispose()`.
    page: Option<PageLifecycle>,
    /// `devicechange` on `navigator.mediaDevices`: the same lifetime.
    device_watch: Option<gloo_events::EventListener>,
    /// The one timer, and the deadline (absolute ms) it is armed for (`timer.rs`).
    timer: Option<(f64, Timeout)>,
    /// The pending `connect()` promise.
    connect_promise: Option<Pending>,
    /// The pending `reconnect()` promise.
    reconnect_promise: Option<Pending>,
    /// Settles when the last teardown's hang-up has settled.
    closing: Option<Promise>,
    /// The last session an offer made (a fresh offer after an outage tells an app's
    /// `signaling.offer` which session it replaces).
    last_session: Option<crate::core::Session>,
    /// What `prepare()` made, until a `connect()` takes it (`prepare.rs`).
    prepared: Option<prepare::Prepared>,
    /// The pending `prepare()` promise.
    preparing: Option<Promise>,
    /// When the prepared resources are released (a deadline of the one timer).
    warmup: crate::core::warmup::Warmup,
    /// The last snapshot, as the Rust value and the frozen JS object made of it.
    snapshot: Option<(Snapshot, JsValue)>,
    disposed: bool,
}

struct Inner {
    config: Config,
    state: RefCell<State>,
    events: Events,
}

/// A cloneable handle on one link.
#[derive(Clone)]
pub struct Link(Rc<Inner>);

impl Link {
    /// A new, idle link. Touches no browser API.
    #[inline(never)]
    pub fn new(config: Config) -> Link {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let options = &config.options;
        let state = State {
            machine: Machine::new(options, seed),
            media: Media::default(),
            telemetry: Telemetry::new(options),
            outbox: Outbox::new(options.outbox_capacity),
            mic: MicState::new(options),
            control: options.control.clone().map(|c| {
                control::ControlLink::new(crate::core::control::Control::new(c, seed.rotate_left(17) ^ 0x5bd1_e995))
            }),
            page: None,
            device_watch: None,
            timer: None,
            connect_promise: None,
            reconnect_promise: None,
            closing: None,
            last_session: None,
            prepared: None,
            preparing: None,
            warmup: Default::default(),
            snapshot: None,
            disposed: false,
        };
        Link(Rc::new(Inner { config, state: RefCell::new(state), events: Events::default() }))
    }

    /// The link's state, borrowed mutably. Every borrow goes through here (not inlined), so
    /// the already-borrowed check and its panic location exist once in the wasm instead of at
    /// each of ~80 call sites.
    #[inline(never)]
    fn state_mut(&self) -> std::cell::RefMut<'_, State> {
        self.0.state.borrow_mut()
    }

    /// The link's state, borrowed shared (see [`Link::state_mut`]).
    #[inline(never)]
    fn state(&self) -> std::cell::Ref<'_, State> {
        self.0.state.borrow()
    }

    fn weak(&self) -> Weak<Inner> {
        Rc::downgrade(&self.0)
    }

    fn from_weak(w: &Weak<Inner>) -> Option<Link> {
        w.upgrade().map(Link)
    }

    /// Feeds an input to the machine and applies the resulting effects.
    pub(crate) fn dispatch(&self, input: Input) {
        let effects = {
            let mut st = self.state_mut();
            st.machine.handle(clock::now_ms(), input)
        };
        for e in effects {
            self.apply(e);
        }
        self.sync_control();
        self.rearm();
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::StartConnect { conn } => {
                self.state_mut().telemetry.start(clock::now_ms());
                let link = self.clone();
                crate::platform::js::spawn(Box::pin(async move { link.run_connect(conn).await }));
            }
            Effect::Teardown { delete_session, page_exit } => self.teardown(delete_session, page_exit),
            Effect::IceRestart { conn, seq, session } => {
                let link = self.clone();
                crate::platform::js::spawn(Box::pin(async move { link.run_ice_restart(conn, seq, session).await }));
            }
            Effect::SettleReconnect(result) => {
                let pending = self.state_mut().reconnect_promise.take();
                if let Some(p) = pending {
                    p.settle(result);
                }
            }
            Effect::FlushOutbox => self.flush_outbox(),
            Effect::ClearOutbox => {
                let mut st = self.state_mut();
                if !st.outbox.is_empty() {
                    st.outbox.clear();
                }
            }
            Effect::DeleteOrphan(session) => {
                let (signaling, url) = (Rc::clone(&self.0.config.signaling), self.0.config.options.url.clone());
                crate::platform::js::spawn(Box::pin(async move { signaling.hangup(&url, &session, false).await }));
            }
            Effect::SettleConnect(result) => {
                let pending = self.state_mut().connect_promise.take();
                if let Some(p) = pending {
                    p.settle(result);
                }
            }
            Effect::Notify => self.notify(),
        }
    }

    /// An event listener body that calls `f` with this link and the event, unless the link is
    /// gone (listeners hold only a weak handle, so they never keep a link alive).
    pub(super) fn listener(&self, f: impl Fn(&Link, &web_sys::Event) + 'static) -> impl FnMut(&web_sys::Event) + 'static {
        let weak = self.weak();
        move |ev| {
            if let Some(link) = Link::from_weak(&weak) {
                f(&link, ev);
            }
        }
    }

    fn check_usable(&self) -> Result<(), LinkError> {
        if self.state().disposed {
            return Err(LinkError::new(ErrorCode::Disposed, "this VoiceLink was disposed: create a new one"));
        }
        Ok(())
    }

    /// `connect()`: a promise that resolves when connected. While connecting, returns the
    /// same promise; while connected, a resolved one; during an outage (interrupted or
    /// reconnecting) it is `reconnect()`.
    pub fn connect(&self) -> Promise {
        let recovering = matches!(self.state().machine.status(), Status::Interrupted | Status::Reconnecting);
        self.begin(if recovering { Input::Reconnect } else { Input::Connect })
    }

    /// `reconnect()` (the reconnect button): brings the link back after an outage — an ICE
    /// restart of the same session, or a fresh session when the server forgot it. While
    /// connected, resolves at once; while connecting, returns `connect()`'s promise; while an
    /// attempt runs, returns the same promise.
    pub fn reconnect(&self) -> Promise {
        self.begin(Input::Reconnect)
    }

    /// Starts `input` (`Connect` or `Reconnect`) and returns the promise that settles with its
    /// outcome — or the promise already pending for the same outcome.
    fn begin(&self, input: Input) -> Promise {
        if let Err(e) = self.check_usable() {
            return Promise::reject(&js::js_error(&e));
        }
        {
            let st = self.state();
            let existing = match st.machine.status() {
                Status::Connected => return Promise::resolve(&JsValue::UNDEFINED),
                Status::Connecting => st.connect_promise.as_ref(),
                Status::Interrupted | Status::Reconnecting => st.reconnect_promise.as_ref(),
                _ => None,
            };
            if let Some(p) = existing {
                return p.promise.clone();
            }
        }
        self.watch_page();
        let Some(pending) = Pending::new() else { return Promise::resolve(&JsValue::UNDEFINED) };
        let promise = pending.promise.clone();
        {
            let mut st = self.state_mut();
            let slot = if input == Input::Connect { &mut st.connect_promise } else { &mut st.reconnect_promise };
            *slot = Some(pending);
        }
        self.dispatch(input);
        promise
    }

    /// Attaches the page lifecycle listeners once (they live until `dispose()`), so that
    /// hidden/pagehide/freeze reach the machine.
    fn watch_page(&self) {
        if self.state().page.is_some() {
            return;
        }
        let weak = self.weak();
        let page = PageLifecycle::listen(move |event| {
            if let Some(link) = Link::from_weak(&weak) {
                link.dispatch(match event {
                    PageEvent::Hidden => Input::PageHidden,
                    PageEvent::Visible => Input::PageVisible,
                    PageEvent::Exit => Input::PageHide,
                    PageEvent::Network(online) => Input::Network { online },
                });
            }
        });
        let devices = crate::platform::devices::watch(self.listener(|link, _| link.on_device_change()));
        {
            let mut st = self.state_mut();
            st.page = page;
            st.device_watch = devices;
        }
    }

    /// `resumeAudio()`: starts remote audio the autoplay policy blocked. Call it from a user
    /// gesture (a click). Resolves `true` when audio plays afterwards.
    pub fn resume_audio(&self) -> Promise {
        let (handles, conn) = {
            let st = self.state();
            (st.media.playback.as_ref().map(|p| p.resume_handles()), st.machine.conn())
        };
        let link = self.clone();
        crate::platform::js::promise(Box::pin(async move {
            let Some((ctx, el)) = handles else { return Ok(JsValue::FALSE) };
            let playing = Playback::resume(ctx, el).await;
            link.dispatch(if playing { Input::AudioPlaying { conn } } else { Input::AudioBlocked { conn } });
            Ok(JsValue::from_bool(playing))
        }))
    }

    /// Ends the link for `reason`. The microphone is stopped before this returns; the returned
    /// promise settles once the WHIP `DELETE` has settled.
    pub fn end(&self, reason: EndReason) -> Promise {
        self.release_prepared();
        self.dispatch(Input::Disconnect { reason });
        let closing = self.state().closing.clone();
        closing.unwrap_or_else(|| Promise::resolve(&JsValue::UNDEFINED))
    }

    /// `dispose()`: ends the link and forgets every app listener; later calls fail with
    /// `disposed`. Idempotent.
    pub fn dispose(&self) {
        if self.state().disposed {
            return;
        }
        // Ending the link also stops the control channel (`sync_control`).
        let _ = self.end(EndReason::Disposed);
        let held = {
            let mut st = self.state_mut();
            st.disposed = true;
            (st.page.take(), st.device_watch.take(), st.timer.take(), st.control.take())
        };
        drop(held);
        self.0.events.clear();
    }

    /// The snapshot as a frozen JS object — the same object until something changes.
    pub fn snapshot(&self) -> JsValue {
        let mut st = self.state_mut();
        let mut snap = Snapshot::of(&st.machine, &st.outbox, &st.telemetry, &st.mic);
        snap.control = Link::control_view(&st).map(|(state, queued, dropped, reconnects)| {
            crate::core::snapshot::ControlView { state, queued_messages: queued, dropped_messages: dropped, reconnects }
        });
        // Change detection on the Rust value: the same JS object while nothing shown changed.
        if let Some((last, obj)) = &st.snapshot {
            if *last == snap {
                return obj.clone();
            }
        }
        let obj = view::to_js(&snap);
        st.snapshot = Some((snap, obj.clone()));
        obj
    }

    fn is_current(&self, conn: u32) -> bool {
        self.state().machine.is_current(conn)
    }
}
