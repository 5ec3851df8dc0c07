//! The driver's one timer. The machine, the control channel, the telemetry and `prepare()`'s
//! lifetime (`core::warmup`) each say when they next need time to pass (`poll_timeout()`,
//! absolute ms on the page's clock); the timer is armed at the earliest of them and, when it fires, feeds `Timeout` to whichever is
//! due and takes the due readings. Connect and ICE-restart timeouts, the backoff wait, the
//! visibility grace delay, countdown refreshes, the control heartbeat and retry, `getStats()`
//! and the level meters are all deadlines; nothing else in the driver keeps a timer (the
//! teardown's fade is awaited inside its own future).

use gloo_timers::callback::Timeout;

use super::Link;
use crate::core::control::ControlInput;
use crate::core::Input;
use crate::platform::clock;

/// The earlier of two optional deadlines.
fn earliest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Link {
    /// Keeps the timer armed at the next deadline (none: disarmed). Re-armed only when the
    /// deadline moved.
    pub(super) fn rearm(&self) {
        let want = {
            let st = self.state();
            if st.disposed {
                None
            } else {
                let control = st.control.as_ref().and_then(|c| c.machine.poll_timeout());
                let prepared = st.warmup.poll_timeout();
                earliest(earliest(earliest(st.machine.poll_timeout(), control), st.telemetry.poll_timeout()), prepared)
            }
        };
        if want == self.state().timer.as_ref().map(|(at, _)| *at) {
            return;
        }
        let timer = want.map(|at| {
            // Rounded up: a timer that fires before the deadline finds nothing due.
            let ms = (at - clock::now_ms()).ceil().clamp(0.0, u32::MAX as f64) as u32;
            let weak = self.weak();
            (at, Timeout::new(ms, move || {
                if let Some(link) = Link::from_weak(&weak) {
                    link.on_timer();
                }
            }))
        });
        let old = std::mem::replace(&mut self.state_mut().timer, timer);
        drop(old);
    }

    /// The timer fired: every part whose deadline has passed gets its turn, then the timer is
    /// armed at the next one.
    fn on_timer(&self) {
        let now = clock::now_ms();
        let (machine, control, due) = {
            let mut st = self.state_mut();
            // This timer is spent: forget it, so the next one is armed even when no deadline
            // moved (it fired a hair early).
            let spent = st.timer.take();
            drop(spent);
            let passed = |at: Option<f64>| at.is_some_and(|at| at <= now);
            let control = passed(st.control.as_ref().and_then(|c| c.machine.poll_timeout()));
            (passed(st.machine.poll_timeout()), control, st.telemetry.poll(now))
        };
        if self.state_mut().warmup.on_timeout(now) {
            self.release_prepared();
        }
        if machine {
            self.dispatch(Input::Timeout);
        }
        if control {
            self.control(ControlInput::Timeout);
        }
        if due.stats {
            self.read_stats();
        }
        if due.meter {
            self.read_meter();
        }
        self.rearm();
    }
}
