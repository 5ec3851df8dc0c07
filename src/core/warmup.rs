//! `prepare()`'s lifetime, as a deadline (issue 16): a prepared peer connection and token are
//! kept for [`PREPARE_TTL_MS`] for a `connect()` to take; then they are released. The driver's
//! one timer feeds [`Warmup::on_timeout`] at [`Warmup::poll_timeout`].

/// How long a `prepare()` is kept for a `connect()` to use, ms. An ephemeral token is often
/// valid for a minute; the peer connection's gathered candidates age too.
pub const PREPARE_TTL_MS: f64 = 30_000.0;

/// Whether something is prepared, and until when.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Warmup {
    expires_at: Option<f64>,
}

impl Warmup {
    /// Something was prepared at `now_ms` (again: the lifetime starts over).
    pub fn start(&mut self, now_ms: f64) {
        self.expires_at = Some(now_ms + PREPARE_TTL_MS);
    }

    /// It was taken by a `connect()`, or released.
    pub fn clear(&mut self) {
        self.expires_at = None;
    }

    /// When it must be released (absolute ms), if anything is prepared.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.expires_at
    }

    /// Time passed: `true` when the prepared resources must be released now.
    pub fn on_timeout(&mut self, now_ms: f64) -> bool {
        match self.expires_at {
            Some(at) if at <= now_ms => {
                self.expires_at = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_after_the_ttl_not_before_and_restarted_by_a_second_prepare() {
        let mut w = Warmup::default();
        assert_eq!(w.poll_timeout(), None);
        w.start(1_000.0);
        assert_eq!(w.poll_timeout(), Some(1_000.0 + PREPARE_TTL_MS));
        assert!(!w.on_timeout(1_000.0 + PREPARE_TTL_MS - 1.0));
        w.start(5_000.0);
        assert!(!w.on_timeout(1_000.0 + PREPARE_TTL_MS));
        assert!(w.on_timeout(5_000.0 + PREPARE_TTL_MS));
        assert_eq!(w.poll_timeout(), None, "once");
        w.start(0.0);
        w.clear();
        assert!(!w.on_timeout(f64::INFINITY), "taken by connect(): nothing to release");
    }
}
