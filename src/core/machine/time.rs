//! Deadlines, str0m-style: the state holds absolute times (ms, the clock of `now_ms`);
//! [`super::Machine::poll_timeout`] is the earliest, and [`super::Input::Timeout`] fires every
//! one that is due, earliest first.
//!
//! The deadlines: the connect or ICE-restart timeout (`connectTimeoutMs` after the attempt
//! began), the automatic policy's backoff wait, the visibility grace delay (only while the
//! link is active), and the countdown refresh: while interrupted or reconnecting with a
//! countdown moving (`graceRemainingMs`, `nextRetryInMs`), a [`super::Effect::Notify`] every
//! [`DISPLAY_MS`] from the outage, until one at or after the countdown's end has shown it at 0.

use super::state::{Reconnecting, Retry, State};
use super::{connect, is_active, recovery, visibility, Ctx, Effect, Step};

/// The countdown refresh period while interrupted or reconnecting: 500 ms.
pub(super) const DISPLAY_MS: f64 = 500.0;

/// At most this many deadlines fire in one `Timeout` (each one fired moves the state on or
/// its deadline forward; this only bounds a clock gone wrong, e.g. `now_ms` = infinity).
const MAX_FIRES: usize = 16;

/// Which deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Due {
    /// The visibility grace delay.
    Visibility,
    /// The connect or ICE-restart timeout.
    Attempt,
    /// The automatic policy's next attempt.
    Retry,
    /// The countdown refresh.
    Display,
}

/// The earliest deadline of `state` and the page, and which one it is.
pub(super) fn next(ctx: &Ctx, state: &State) -> Option<(f64, Due)> {
    let mut best: Option<(f64, Due)> = None;
    let mut offer = |at: Option<f64>, due: Due| {
        if let Some(at) = at {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, due));
            }
        }
    };
    if is_active(state) {
        offer(ctx.page.deadline(), Due::Visibility);
    }
    match state {
        State::Connecting(s) => offer(Some(s.deadline), Due::Attempt),
        State::Reconnecting(s) => {
            offer(s.retry.deadline(), Due::Attempt);
            // Offline, the automatic policy holds its attempts until `online`.
            if let Retry::Waiting { due_at, .. } = s.retry {
                offer(Some(due_at).filter(|_| ctx.online), Due::Retry);
            }
        }
        _ => {}
    }
    offer(display_deadline(ctx, state), Due::Display);
    best
}

/// The next countdown refresh, while a countdown moves or has not yet been shown at its end.
fn display_deadline(ctx: &Ctx, state: &State) -> Option<f64> {
    let outage = state.outage()?;
    let grace_end = outage.at + ctx.cfg.session_grace_ms as f64;
    let retry_end = match state {
        State::Reconnecting(Reconnecting { retry: Retry::Waiting { due_at, .. }, .. }) => *due_at,
        _ => f64::NEG_INFINITY,
    };
    // The previous refresh was before the end: one more shows the countdown at (or past) it.
    (outage.display_at - DISPLAY_MS < grace_end.max(retry_end)).then_some(outage.display_at)
}

/// `Input::Timeout` at `now`: fires every deadline at or before `now`, earliest first. One
/// [`Effect::Notify`] at most, after the other effects.
pub(super) fn on_timeout(ctx: &mut Ctx, mut state: State, now: f64) -> Step {
    let mut effects = Vec::new();
    for _ in 0..MAX_FIRES {
        let Some((_, due)) = next(ctx, &state).filter(|(at, _)| *at <= now) else { break };
        let (s, fx) = fire(ctx, state, now, due);
        state = s;
        effects.extend(fx);
    }
    if effects.contains(&Effect::Notify) {
        effects.retain(|e| *e != Effect::Notify);
        effects.push(Effect::Notify);
    }
    (state, effects)
}

fn fire(ctx: &mut Ctx, state: State, now: f64, due: Due) -> Step {
    match (due, state) {
        (Due::Visibility, state) => visibility::grace_elapsed(ctx, state),
        (Due::Attempt, State::Connecting(s)) => connect::connect_timed_out(ctx, s),
        (Due::Attempt, State::Reconnecting(s)) => recovery::attempt_timed_out(ctx, s, now),
        (Due::Retry, State::Reconnecting(s)) => recovery::retry_due(ctx, s, now),
        (Due::Display, mut state) => {
            if let Some(outage) = state.outage_mut() {
                let mut at = outage.display_at + DISPLAY_MS;
                if at <= now {
                    at = now + DISPLAY_MS;
                }
                outage.display_at = at;
            }
            (state, vec![Effect::Notify])
        }
        (_, state) => (state, Vec::new()),
    }
}
