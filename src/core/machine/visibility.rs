//! The page: hidden/visible (Page Visibility API) with the `visibility` policy and its grace
//! delay, and `pagehide`/`freeze`.

use super::connect::{end, on_connect};
use super::state::{Ended, Outcome, State};
use super::{is_active, Ctx, Effect, EndReason, Step};
use crate::core::options::HiddenPolicy;

/// Whether the page is hidden, and when hiding ends the link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Page {
    Visible,
    /// `disconnect_at`: when the visibility grace delay ends and the link disconnects, ms;
    /// `None` when hiding does not end it (policy `none`, or nothing was active when hidden).
    Hidden { disconnect_at: Option<f64> },
}

impl Page {
    /// The link ended: hiding has nothing left to end.
    pub(super) fn drop_deadline(&mut self) {
        if let Page::Hidden { disconnect_at } = self {
            *disconnect_at = None;
        }
    }

    /// When hiding ends the link, ms.
    pub(super) fn deadline(&self) -> Option<f64> {
        match self {
            Page::Hidden { disconnect_at } => *disconnect_at,
            Page::Visible => None,
        }
    }
}

/// `Input::PageHidden`: with the `"disconnect"` policy, ends an active link now or after the
/// grace delay.
pub(super) fn on_hidden(ctx: &mut Ctx, state: State, now: f64) -> Step {
    ctx.page = Page::Hidden { disconnect_at: None };
    if ctx.cfg.visibility.on_hidden != HiddenPolicy::Disconnect || !is_active(&state) {
        return (state, Vec::new());
    }
    match ctx.cfg.visibility.grace_ms {
        0 => end(ctx, state, EndReason::Hidden),
        ms => {
            ctx.page = Page::Hidden { disconnect_at: Some(now + ms as f64) };
            (state, Vec::new())
        }
    }
}

/// The visibility grace delay passed while hidden (the deadline exists only while hidden).
pub(super) fn grace_elapsed(ctx: &mut Ctx, state: State) -> Step {
    ctx.page.drop_deadline();
    if ctx.cfg.visibility.on_hidden != HiddenPolicy::Disconnect || !is_active(&state) {
        return (state, Vec::new());
    }
    end(ctx, state, EndReason::Hidden)
}

/// `Input::PageVisible`: cancels the grace delay; with `resumeOnVisible`, reconnects a link
/// that hiding ended.
pub(super) fn on_visible(ctx: &mut Ctx, state: State, now: f64) -> Step {
    ctx.page = Page::Visible;
    let ended_by_hiding =
        matches!(&state, State::Ended(Ended { outcome: Outcome::Disconnected(EndReason::Hidden), .. }));
    if ctx.cfg.visibility.resume_on_visible && ended_by_hiding {
        return on_connect(ctx, state, now);
    }
    (state, Vec::new())
}

/// `Input::PageHide`: the page is going away or frozen: release everything, no fade,
/// `keepalive` DELETE — whatever the policy.
pub(super) fn on_page_hide(ctx: &mut Ctx, state: State) -> Step {
    if !is_active(&state) {
        return (state, vec![Effect::Teardown { delete_session: None, page_exit: true }]);
    }
    let (state, mut effects) = end(ctx, state, EndReason::PageHide);
    for e in &mut effects {
        if let Effect::Teardown { page_exit, .. } = e {
            *page_exit = true;
        }
    }
    (state, effects)
}
