//! The browser's `online`/`offline` events. Offline, a connected link's outage is declared at
//! once (no wait for `outageTimeoutMs` of silence) and the automatic policy holds its attempts
//! (an attempt cannot reach the server); back online, the automatic policy attempts at once
//! with its backoff reset, and the manual policy's snapshot says so (`networkOnline`), so the
//! reconnect button can read "Reconnect now".

use super::recovery;
use super::state::{Reconnecting, Retry, State};
use super::{Ctx, Effect, Step};

/// `Input::Network { online }` at `now`.
pub(super) fn on_network(ctx: &mut Ctx, state: State, now: f64, online: bool) -> Step {
    if online == ctx.online {
        return (state, Vec::new());
    }
    ctx.online = online;
    match (online, state) {
        (false, State::Connected(s)) => recovery::outage(ctx, s, now),
        (true, State::Reconnecting(Reconnecting { retry: Retry::Waiting { outage, conn, .. }, .. })) => {
            recovery::attempt_now(ctx, now, outage, conn)
        }
        (_, state) => (state, vec![Effect::Notify]),
    }
}
