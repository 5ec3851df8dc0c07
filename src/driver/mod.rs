//! The driver: owns the core [`Machine`] and every browser resource, feeds browser events to
//! the machine as inputs, and applies its effects in order.
//!
//! Re-entrancy rule: no `RefCell` borrow is held while JS runs (app listeners, promise
//! settlement, teardown steps) or across an `.await`. Effects are computed under a borrow and
//! applied after it is released.

mod connect;
mod control;
mod recover;
mod teardown;
mod view;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::AbortController;

use crate::core::outbox::Outbox;
use crate::core::levels::Level;
use crate::core::quality::{Grader, QualitySample, RawStats};
use crate::platform::audio::AudioGraph;
use crate::core::{Effect, EndReason, ErrorCode, Input, LinkError, Machine, Options, Snapshot, Status};
use crate::platform::channel::Channel;
use crate::platform::mic::Microphone;
use crate::platform::page::{PageEvent, PageLifecycle};
use crate::platform::peer::Peer;
use crate::platform::playback::Playback;
use crate::platform::{clock, js};

/// The outbox stops handing messages to the data channel while its `bufferedAmount` is at or
/// above this many bytes (1 MiB), and resumes on `bufferedamountlow`.
pub const HIGH_WATER_BYTES: u32 = 1 << 20;
/// The data channel's `bufferedAmountLowThreshold`, in bytes (256 KiB).
pub const LOW_WATER_BYTES: u32 = 1 << 18;

/// Level meters are read every 50 ms (20 Hz) while connected and visible.
pub const METER_INTERVAL_MS: u32 = 50;

/// The `invalid-argument` error of a message over the peer's `sctp.maxMessageSize`.
fn too_large(bytes: usize, max: f64) -> LinkError {
    LinkError::new(
        ErrorCode::InvalidArgument,
        [
            "send(): the message is ",
            &bytes.to_string(),
            " bytes (UTF-8), over the data channel's limit of ",
            &crate::core::error::num(max),
            " bytes (sctp.maxMessageSize): split it",
        ]
        .concat(),
    )
}

/// Where the bearer token comes from.
pub enum TokenSource {
    /// No `Authorization` header.
    None,
    /// A fixed token.
    Static(String),
    /// A function returning a token or a promise of one, called on every connect (ephemeral
    /// tokens).
    Provider(Function),
}

/// Everything the link is configured with: validated options plus the JS values that cannot
/// live in the pure core.
pub struct Config {
    /// Validated options.
    pub options: Options,
    /// Token source.
    pub token: TokenSource,
    /// The app's `iceServers` array as given (validated), or `undefined`.
    pub ice_servers: JsValue,
    /// How offers reach the server, and what reconnect and hang-up mean there (shared with
    /// the hang-ups still in flight).
    pub signaling: Rc<crate::platform::signaling::Signaling>,
}

/// Browser resources of the current connection. Teardown takes them out and releases them in
/// order; each one also releases itself on drop.
#[derive(Default)]
struct Resources {
    /// Reads `getStats()` (outage signal, quality) while the peer connection lives.
    sampler: Option<Interval>,
    /// Reads the level meters (every [`METER_INTERVAL_MS`]).
    meter: Option<Interval>,
    /// The connection's `AudioContext` and the meters' analysers.
    audio: Option<AudioGraph>,
    signaling_abort: Option<AbortController>,
    mic: Option<Microphone>,
    playback: Option<Playback>,
    channel: Option<Channel>,
    peer: Option<Peer>,
}

/// A promise handed to the app, with the functions that settle it.
struct Pending {
    promise: Promise,
    resolve: Function,
    reject: Function,
}

impl Pending {
    fn new() -> Option<Pending> {
        let mut handles: Option<(Function, Function)> = None;
        let promise = Promise::new(&mut |resolve, reject| handles = Some((resolve, reject)));
        handles.map(|(resolve, reject)| Pending { promise, resolve, reject })
    }

    fn settle(self, result: Result<(), LinkError>) {
        let _ = match result {
            Ok(()) => self.resolve.call0(&JsValue::UNDEFINED),
            Err(e) => self.reject.call1(&JsValue::UNDEFINED, &js::js_error(&e)),
        };
    }
}

struct State {
    machine: Machine,
    res: Resources,
    /// Page lifecycle listeners: attached on the first `connect()`, removed by `dispose()`.
    page: Option<PageLifecycle>,
    /// The one timer: armed at the machine's `poll_timeout()` (absolute ms), it feeds
    /// `Input::Timeout` — connect and ICE-restart timeouts, the backoff wait, the visibility
    /// grace delay and the countdown refresh are all deadlines in the machine.
    deadline: Option<(f64, Timeout)>,
    /// The pending `connect()` promise.
    pending: Option<Pending>,
    /// The pending `reconnect()` promise.
    reconnecting: Option<Pending>,
    /// Settles when the last teardown's WHIP `DELETE` has settled.
    closing: Option<Promise>,
    /// Messages sent while the data channel was not open.
    outbox: Outbox,
    /// Smooths and grades quality samples.
    grader: Grader,
    /// The previous quality report (loss is a delta) and when it was taken (ms).
    prev_stats: Option<(f64, RawStats)>,
    /// Bytes received by the earlier peer connections of this connection generation (Pipecat's
    /// reconnect replaces the peer connection; the machine sees one growing count), and the
    /// last count reported.
    rx_base: f64,
    rx_last: f64,
    /// The last session an offer made (a fresh offer after an outage tells an app's
    /// `signaling.offer` which session it replaces).
    last_session: Option<crate::core::Session>,
    mic_level: Level,
    remote_level: Level,
    /// The optional control WebSocket.
    control: Option<control::ControlLink>,
    /// The last snapshot, as the Rust value and the frozen JS object made of it.
    snapshot: Option<(Snapshot, JsValue)>,
    disposed: bool,
}

type Listeners = RefCell<Vec<(u32, Function)>>;

struct Inner {
    config: Config,
    state: RefCell<State>,
    subscribers: Listeners,
    message_listeners: Listeners,
    control_listeners: Listeners,
    error_listeners: Listeners,
    next_listener_id: std::cell::Cell<u32>,
}

/// A cloneable handle on one link.
#[derive(Clone)]
pub struct Link(Rc<Inner>);

impl Link {
    /// A new, idle link. Touches no browser API.
    #[inline(never)]
    pub fn new(config: Config) -> Link {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let machine = Machine::new(&config.options, seed);
        let outbox = Outbox::new(config.options.outbox_capacity);
        let grader = Grader::new(config.options.quality);
        let level = Level::new(config.options.speaking_threshold, config.options.speaking_hang_ms);
        let control = config.options.control.clone().map(|c| {
            control::ControlLink::new(crate::core::control::Control::new(c, seed.rotate_left(17) ^ 0x5bd1_e995))
        });
        Link(Rc::new(Inner {
            config,
            state: RefCell::new(State {
                machine,
                res: Resources::default(),
                page: None,
                deadline: None,
                pending: None,
                reconnecting: None,
                closing: None,
                outbox,
                grader,
                prev_stats: None,
                rx_base: 0.0,
                rx_last: 0.0,
                last_session: None,
                mic_level: level.clone(),
                remote_level: level,
                control,
                snapshot: None,
                disposed: false,
            }),
            subscribers: RefCell::new(Vec::new()),
            message_listeners: RefCell::new(Vec::new()),
            control_listeners: RefCell::new(Vec::new()),
            error_listeners: RefCell::new(Vec::new()),
            next_listener_id: std::cell::Cell::new(1),
        }))
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
            let mut st = self.0.state.borrow_mut();
            st.machine.handle(clock::now_ms(), input)
        };
        for e in effects {
            self.apply(e);
        }
        self.rearm();
        self.sync_control();
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::StartConnect { conn } => {
                {
                    let mut st = self.0.state.borrow_mut();
                    st.grader.reset();
                    st.prev_stats = None;
                    st.rx_base = 0.0;
                    st.rx_last = 0.0;
                    st.mic_level.reset();
                    st.remote_level.reset();
                }
                let link = self.clone();
                wasm_bindgen_futures::spawn_local(async move { link.run_connect(conn).await });
            }
            Effect::Teardown { delete_session, page_exit } => self.teardown(delete_session, page_exit),
            Effect::IceRestart { conn, seq, session } => {
                let link = self.clone();
                wasm_bindgen_futures::spawn_local(async move { link.run_ice_restart(conn, seq, session).await });
            }
            Effect::SettleReconnect(result) => {
                let pending = self.0.state.borrow_mut().reconnecting.take();
                if let Some(p) = pending {
                    p.settle(result);
                }
            }
            Effect::FlushOutbox => self.flush_outbox(),
            Effect::ClearOutbox => {
                let mut st = self.0.state.borrow_mut();
                if !st.outbox.is_empty() {
                    st.outbox.clear();
                }
            }
            Effect::DeleteOrphan(session) => {
                let (signaling, url) = (Rc::clone(&self.0.config.signaling), self.0.config.options.url.clone());
                wasm_bindgen_futures::spawn_local(async move { signaling.hangup(&url, &session, false).await });
            }
            Effect::SettleConnect(result) => {
                let pending = self.0.state.borrow_mut().pending.take();
                if let Some(p) = pending {
                    p.settle(result);
                }
            }
            Effect::Notify => self.notify(),
        }
    }

    /// A timer that calls `f` with this link after `ms`, unless the link is gone or the timer
    /// is dropped first (dropping cancels it).
    pub(super) fn after(&self, ms: u32, f: impl FnOnce(&Link) + 'static) -> Timeout {
        let weak = self.weak();
        Timeout::new(ms, move || {
            if let Some(link) = Link::from_weak(&weak) {
                f(&link);
            }
        })
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

    /// An interval that calls `f` with this link every `ms` until dropped.
    pub(super) fn every(&self, ms: u32, f: impl Fn(&Link) + 'static) -> Interval {
        let weak = self.weak();
        Interval::new(ms, move || {
            if let Some(link) = Link::from_weak(&weak) {
                f(&link);
            }
        })
    }

    /// Keeps the one timer armed at the machine's next deadline (none: disarmed). Re-armed
    /// only when the deadline moved.
    fn rearm(&self) {
        let want = {
            let st = self.0.state.borrow();
            if st.disposed {
                None
            } else {
                st.machine.poll_timeout()
            }
        };
        let current = self.0.state.borrow().deadline.as_ref().map(|(at, _)| *at);
        if want == current {
            return;
        }
        let timer = want.map(|at| {
            // Rounded up: a timer that fires before the deadline finds nothing due.
            let ms = (at - clock::now_ms()).ceil().max(0.0).min(u32::MAX as f64) as u32;
            (at, self.after(ms, |link| {
                // This timer is spent: forget it, so the dispatch below arms the next one even
                // when the machine's deadline did not move (it fired a hair early).
                let spent = link.0.state.borrow_mut().deadline.take();
                drop(spent);
                link.dispatch(Input::Timeout);
            }))
        });
        let old = std::mem::replace(&mut self.0.state.borrow_mut().deadline, timer);
        drop(old);
    }

    fn notify(&self) {
        let listeners: Vec<Function> = self.0.subscribers.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            if let Err(e) = f.call0(&JsValue::UNDEFINED) {
                log::warn!("a subscribe() listener threw: {}", js::error_message(&e));
            }
        }
    }

    fn check_usable(&self) -> Result<(), LinkError> {
        if self.0.state.borrow().disposed {
            return Err(LinkError::new(ErrorCode::Disposed, "this VoiceLink was disposed: create a new one"));
        }
        Ok(())
    }

    /// `connect()`: a promise that resolves when connected. While connecting, returns the
    /// same promise; while connected, a resolved one; during an outage (interrupted or
    /// reconnecting) it is `reconnect()`.
    pub fn connect(&self) -> Promise {
        let recovering = matches!(self.0.state.borrow().machine.status(), Status::Interrupted | Status::Reconnecting);
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
            let st = self.0.state.borrow();
            let existing = match st.machine.status() {
                Status::Connected => return Promise::resolve(&JsValue::UNDEFINED),
                Status::Connecting => st.pending.as_ref(),
                Status::Interrupted | Status::Reconnecting => st.reconnecting.as_ref(),
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
            let mut st = self.0.state.borrow_mut();
            let slot = if input == Input::Connect { &mut st.pending } else { &mut st.reconnecting };
            *slot = Some(pending);
        }
        self.dispatch(input);
        promise
    }

    /// Attaches the page lifecycle listeners once (they live until `dispose()`), so that
    /// hidden/pagehide/freeze reach the machine.
    fn watch_page(&self) {
        if self.0.state.borrow().page.is_some() {
            return;
        }
        let weak = self.weak();
        let page = PageLifecycle::listen(move |event| {
            if let Some(link) = Link::from_weak(&weak) {
                link.dispatch(match event {
                    PageEvent::Hidden => Input::PageHidden,
                    PageEvent::Visible => Input::PageVisible,
                    PageEvent::Exit => Input::PageHide,
                });
            }
        });
        self.0.state.borrow_mut().page = page;
    }

    /// `resumeAudio()`: starts remote audio the autoplay policy blocked. Call it from a user
    /// gesture (a click). Resolves `true` when audio plays afterwards.
    pub fn resume_audio(&self) -> Promise {
        let (handles, conn) = {
            let st = self.0.state.borrow();
            (st.res.playback.as_ref().map(|p| p.resume_handles()), st.machine.conn())
        };
        let link = self.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let Some((ctx, el)) = handles else { return Ok(JsValue::FALSE) };
            let playing = Playback::resume(ctx, el).await;
            link.dispatch(if playing { Input::AudioPlaying { conn } } else { Input::AudioBlocked { conn } });
            Ok(JsValue::from_bool(playing))
        })
    }

    /// Ends the link for `reason`. The microphone is stopped before this returns; the returned
    /// promise settles once the WHIP `DELETE` has settled.
    pub fn end(&self, reason: EndReason) -> Promise {
        self.dispatch(Input::Disconnect { reason });
        let closing = self.0.state.borrow().closing.clone();
        closing.unwrap_or_else(|| Promise::resolve(&JsValue::UNDEFINED))
    }

    /// `dispose()`: ends the link and forgets every app listener; later calls fail with
    /// `disposed`. Idempotent.
    pub fn dispose(&self) {
        if self.0.state.borrow().disposed {
            return;
        }
        let _ = self.end(EndReason::Disposed);
        self.control(crate::core::control::ControlInput::Stop);
        let held = {
            let mut st = self.0.state.borrow_mut();
            st.disposed = true;
            (st.page.take(), st.deadline.take(), st.control.take())
        };
        drop(held);
        for list in [&self.0.subscribers, &self.0.message_listeners, &self.0.control_listeners, &self.0.error_listeners] {
            list.borrow_mut().clear();
        }
    }

    /// Sends `text` on the data channel; while the channel is not open (connecting, interrupted,
    /// reconnecting) it waits in the outbox and goes out in order once the channel opens.
    /// Errors: `not-connected` (idle, disconnected or failed), `invalid-argument` (longer than
    /// the peer's `sctp.maxMessageSize`, in UTF-8 bytes: nothing is queued), `disposed`. When
    /// the browser refuses a message it had to take, that is reported on `on("error")` as
    /// `send-failed` and the message is dropped.
    pub fn send_text(&self, text: &str) -> Result<(), LinkError> {
        self.check_usable()?;
        let refused = {
            let mut st = self.0.state.borrow_mut();
            let st = &mut *st;
            let status = st.machine.status();
            if !st.machine.is_active() {
                return Err(LinkError::new(
                    ErrorCode::NotConnected,
                    "not connected: call connect() (messages are buffered only while connecting or recovering)",
                ));
            }
            if let Some(max) = st.res.channel.as_ref().and_then(Channel::max_message_size) {
                if text.len() as f64 > max {
                    return Err(too_large(text.len(), max));
                }
            }
            let direct = status == Status::Connected
                && st.outbox.is_empty()
                && st.res.channel.as_ref().is_some_and(|c| c.is_open() && c.buffered_amount() < HIGH_WATER_BYTES);
            match st.res.channel.as_ref().filter(|_| direct).map(|c| c.send(text)) {
                Some(Ok(())) => return Ok(()),
                Some(Err(e)) if e.code == ErrorCode::SendFailed => Some(e),
                _ => {
                    st.outbox.push(text.to_string());
                    None
                }
            }
        };
        match refused {
            Some(e) => self.report(&e),
            None => self.notify(),
        }
        Ok(())
    }

    /// Sends the outbox in order while the channel is open and its `bufferedAmount` is below
    /// [`HIGH_WATER_BYTES`]; the channel's `bufferedamountlow` event calls this again. A
    /// message the channel refuses (too large for the peer, or `send` threw) is dropped and
    /// reported on `on("error")`; the rest still go.
    pub(crate) fn flush_outbox(&self) {
        let mut sent = 0;
        let mut refused = Vec::new();
        {
            let mut st = self.0.state.borrow_mut();
            let st = &mut *st;
            if st.machine.status() != Status::Connected {
                return;
            }
            let Some(channel) = st.res.channel.as_ref() else { return };
            let max = channel.max_message_size();
            while channel.is_open() && channel.buffered_amount() < HIGH_WATER_BYTES {
                let Some(next) = st.outbox.front() else { break };
                let result = match max {
                    Some(max) if next.len() as f64 > max => Err(too_large(next.len(), max)),
                    _ => channel.send(next),
                };
                match result {
                    Ok(()) => sent += 1,
                    Err(e) if e.code == ErrorCode::NotConnected => break,
                    Err(e) => refused.push(e),
                }
                st.outbox.pop();
            }
        }
        for e in &refused {
            self.report(e);
        }
        if sent > 0 || !refused.is_empty() {
            self.notify();
        }
    }

    /// Reports a non-fatal problem to the `on("error")` listeners as `{ code, message }`
    /// (`code`: an [`ErrorCode`] string).
    pub(crate) fn report(&self, e: &LinkError) {
        let event = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&event, &"code".into(), &e.code.as_str().into());
        let _ = js_sys::Reflect::set(&event, &"message".into(), &e.message.as_str().into());
        self.emit(|i| &i.error_listeners, &event.into());
    }

    /// The snapshot as a frozen JS object — the same object until something changes.
    pub fn snapshot(&self) -> JsValue {
        let mut st = self.0.state.borrow_mut();
        let mut snap = Snapshot::of(&st.machine, &st.outbox, &st.grader, &st.mic_level, &st.remote_level);
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

    fn add_listener(&self, list: fn(&Inner) -> &Listeners, f: Function) -> Result<Function, LinkError> {
        self.check_usable()?;
        let id = self.0.next_listener_id.get();
        self.0.next_listener_id.set(id.wrapping_add(1));
        list(&self.0).borrow_mut().push((id, f));
        let weak = self.weak();
        let off = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                list(&inner).borrow_mut().retain(|(i, _)| *i != id);
            }
        });
        Ok(off.into_js_value().unchecked_into())
    }

    /// Adds a change listener; returns the function that removes it (idempotent).
    pub fn subscribe(&self, f: Function) -> Result<Function, LinkError> {
        self.add_listener(|i| &i.subscribers, f)
    }

    /// Adds a listener for `event`: `"message"` (data channel), `"control"` (control socket)
    /// or `"error"` (non-fatal problems); returns the function that removes it.
    pub fn on(&self, event: &str, f: Function) -> Result<Function, LinkError> {
        match event {
            "message" => self.add_listener(|i| &i.message_listeners, f),
            "control" => self.add_listener(|i| &i.control_listeners, f),
            "error" => self.add_listener(|i| &i.error_listeners, f),
            other => Err(LinkError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "on(\"{}\"): unknown event, expected \"message\", \"control\" or \"error\"",
                    other.chars().take(40).collect::<String>()
                ),
            )),
        }
    }

    /// Calls every listener of a list with `value`; a listener that throws is logged.
    fn emit(&self, list: fn(&Inner) -> &Listeners, value: &JsValue) {
        let listeners: Vec<Function> = list(&self.0).borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, value) {
                log::warn!("an event listener threw: {}", js::error_message(&e));
            }
        }
    }

    /// Hands a data-channel message to the app's listeners; returns the parsed value.
    fn emit_message(&self, data: JsValue) -> JsValue {
        let value = match data.as_string() {
            Some(s) => js_sys::JSON::parse(&s).unwrap_or(data),
            None => data,
        };
        self.emit(|i| &i.message_listeners, &value);
        value
    }

    /// Feeds one `getStats()` reading of `conn` taken at `now` (ms): the transport bytes to
    /// the machine (outage signal), and every `statsIntervalMs` a quality sample to the grader.
    /// Subscribers hear about quality only when what the snapshot shows of it changes.
    pub(crate) fn on_stats(&self, conn: u32, now: f64, bytes: Option<f64>, raw: RawStats) {
        if let Some(bytes) = bytes {
            let bytes_received = {
                let mut st = self.0.state.borrow_mut();
                st.rx_last = st.rx_base + bytes;
                st.rx_last
            };
            self.dispatch(Input::TransportSample { conn, bytes_received });
        }
        let changed = {
            let mut st = self.0.state.borrow_mut();
            let st = &mut *st;
            if !st.machine.is_current(conn) || st.machine.status() != Status::Connected {
                return;
            }
            let due = st.prev_stats.is_none_or(|(at, _)| now - at >= self.0.config.options.stats_interval_ms as f64 - 1.0);
            if !due {
                return;
            }
            let before = Snapshot::quality_of(&st.machine, &st.grader);
            let sample = QualitySample::between(st.prev_stats.as_ref().map(|(_, r)| r), &raw);
            st.grader.sample(&sample);
            st.prev_stats = Some((now, raw));
            Snapshot::quality_of(&st.machine, &st.grader) != before
        };
        if changed {
            self.notify();
        }
    }

    /// One level-meter reading: skipped while hidden or not connected (the meters then read 0).
    /// Allocates nothing unless what the snapshot shows changes.
    pub(crate) fn on_meter_tick(&self) {
        let started = clock::now_ms();
        let changed = {
            let mut st = self.0.state.borrow_mut();
            let st = &mut *st;
            let before = (st.mic_level.shown(), st.remote_level.shown(), st.mic_level.speaking());
            let live = st.machine.status() == Status::Connected && !crate::platform::page::is_hidden();
            match st.res.audio.as_mut().filter(|_| live) {
                Some(audio) => {
                    let now = clock::now_ms();
                    let (mic, remote) = audio.levels();
                    st.mic_level.update(mic.unwrap_or(0.0), now);
                    st.remote_level.update(remote.unwrap_or(0.0), now);
                }
                None => {
                    st.mic_level.reset();
                    st.remote_level.reset();
                }
            }
            (st.mic_level.shown(), st.remote_level.shown(), st.mic_level.speaking()) != before
        };
        if changed {
            self.notify();
        }
        if self.0.config.options.profile {
            clock::measure("voicelink:meter-tick", started);
        }
    }

    fn is_current(&self, conn: u32) -> bool {
        self.0.state.borrow().machine.is_current(conn)
    }
}
