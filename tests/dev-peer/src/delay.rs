//! The per-session latency switch (`POST /_dev/sessions/<id>/delay?ms=N`,
//! `POST /whip?delay_out_ms=N`): every datagram a session sends is held
//! back N ms, in order.
//!
//! [`DelayQueue`] is a FIFO of (due time, bytes, destination). The session
//! loop pushes what str0m transmits, sends what [`DelayQueue::pop_due`]
//! gives, and wakes for [`DelayQueue::next_due`]. The clock is passed in,
//! so the queue is tested without sleeping.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Largest delay accepted (ms).
pub const MAX_DELAY_OUT_MS: u64 = 5_000;

/// Parse a delay value in ms (`0..=5000`).
pub fn parse_delay_ms(value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= MAX_DELAY_OUT_MS)
        .ok_or_else(|| format!("ms must be 0..={MAX_DELAY_OUT_MS}, got {value:?}"))
}

/// The `POST /_dev/sessions/<id>/delay` query: exactly `ms=N` (`0..=5000`);
/// a missing `ms` or any other parameter is refused.
pub fn parse_delay_query(query: &str) -> Result<u64, String> {
    let mut ms = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "ms" => ms = Some(parse_delay_ms(value)?),
            other => return Err(format!("unknown parameter {other:?} (ms)")),
        }
    }
    ms.ok_or_else(|| format!("missing ms=N (0..={MAX_DELAY_OUT_MS})"))
}

/// One held-back datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// When it may go out.
    pub due: Instant,
    /// The datagram.
    pub contents: Vec<u8>,
    /// Where it goes.
    pub destination: SocketAddr,
}

/// Outgoing datagrams held back by the session's delay, oldest first.
///
/// A datagram pushed at `now` is due at `now + delay`, but never before the
/// one pushed ahead of it: a lowered delay (even to 0) leaves what is queued
/// alone, and later datagrams wait behind it. Nothing is ever reordered.
#[derive(Debug, Default)]
pub struct DelayQueue {
    delay: Duration,
    queue: VecDeque<Held>,
}

impl DelayQueue {
    /// An empty queue holding datagrams back by `delay`.
    pub fn new(delay: Duration) -> DelayQueue {
        DelayQueue {
            delay,
            queue: VecDeque::new(),
        }
    }

    /// The delay applied to datagrams pushed from now on.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Change the delay for datagrams pushed from now on.
    pub fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
    }

    /// Whether a datagram transmitted now must be queued: a delay is set, or
    /// datagrams are still waiting (which it must not overtake). When not, it
    /// can go out directly.
    pub fn holds(&self) -> bool {
        !self.delay.is_zero() || !self.queue.is_empty()
    }

    /// Queue a datagram transmitted at `now`.
    pub fn push(&mut self, now: Instant, contents: Vec<u8>, destination: SocketAddr) {
        let mut due = now + self.delay;
        if let Some(last) = self.queue.back() {
            due = due.max(last.due);
        }
        self.queue.push_back(Held {
            due,
            contents,
            destination,
        });
    }

    /// The oldest datagram, if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Held> {
        if self.queue.front()?.due <= now {
            self.queue.pop_front()
        } else {
            None
        }
    }

    /// When the oldest datagram is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|h| h.due)
    }

    /// Forget every queued datagram (a black hole sends nothing).
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Datagrams waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Everything due at `now`, as (first byte, destination port).
    fn drain(q: &mut DelayQueue, now: Instant) -> Vec<(u8, u16)> {
        std::iter::from_fn(|| q.pop_due(now))
            .map(|h| (h.contents[0], h.destination.port()))
            .collect()
    }

    #[test]
    fn zero_delay_passes_through() {
        let t0 = Instant::now();
        let mut q = DelayQueue::default();
        assert!(!q.holds());
        assert_eq!(q.next_due(), None);
        assert_eq!(q.pop_due(t0), None);
        q.push(t0, vec![1], addr(1));
        assert_eq!(q.next_due(), Some(t0));
        assert_eq!(drain(&mut q, t0), [(1, 1)]);
        assert!(!q.holds());
    }

    #[test]
    fn holds_back_in_order() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new(ms(150));
        assert!(q.holds());
        q.push(t0, vec![1], addr(1));
        q.push(t0 + ms(10), vec![2], addr(2));
        q.push(t0 + ms(20), vec![3], addr(1));
        assert_eq!(q.len(), 3);
        assert_eq!(q.next_due(), Some(t0 + ms(150)));
        assert_eq!(drain(&mut q, t0 + ms(149)), []);
        assert_eq!(drain(&mut q, t0 + ms(150)), [(1, 1)]);
        assert_eq!(q.next_due(), Some(t0 + ms(160)));
        assert_eq!(drain(&mut q, t0 + ms(175)), [(2, 2), (3, 1)]);
        assert_eq!(q.next_due(), None);
        assert!(q.holds(), "a delay is still set");
    }

    #[test]
    fn lowering_the_delay_never_reorders() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new(ms(150));
        q.push(t0, vec![1], addr(1));
        q.push(t0 + ms(50), vec![2], addr(1));
        // Off: what is queued keeps its due time; new datagrams wait behind it.
        q.set_delay(Duration::ZERO);
        assert_eq!(q.delay(), Duration::ZERO);
        assert!(q.holds(), "must not overtake the queue");
        q.push(t0 + ms(60), vec![3], addr(1));
        assert_eq!(drain(&mut q, t0 + ms(60)), []);
        assert_eq!(drain(&mut q, t0 + ms(150)), [(1, 1)]);
        assert_eq!(drain(&mut q, t0 + ms(199)), []);
        assert_eq!(drain(&mut q, t0 + ms(200)), [(2, 1), (3, 1)]);
        assert!(!q.holds(), "empty and off: direct again");

        // Lowered, not off: max(now + delay, the previous due time).
        q.set_delay(ms(500));
        q.push(t0 + ms(1000), vec![4], addr(1));
        q.set_delay(ms(100));
        q.push(t0 + ms(1100), vec![5], addr(1));
        q.push(t0 + ms(1450), vec![6], addr(1));
        let due: Vec<Instant> = q.queue.iter().map(|h| h.due).collect();
        assert_eq!(due, [t0 + ms(1500), t0 + ms(1500), t0 + ms(1550)]);
        assert_eq!(drain(&mut q, t0 + ms(1500)), [(4, 1), (5, 1)]);
        assert_eq!(drain(&mut q, t0 + ms(1550)), [(6, 1)]);
    }

    #[test]
    fn raising_the_delay_applies_to_later_datagrams() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new(ms(10));
        q.push(t0, vec![1], addr(1));
        q.set_delay(ms(300));
        q.push(t0 + ms(1), vec![2], addr(1));
        assert_eq!(drain(&mut q, t0 + ms(10)), [(1, 1)]);
        assert_eq!(drain(&mut q, t0 + ms(300)), []);
        assert_eq!(drain(&mut q, t0 + ms(301)), [(2, 1)]);
    }

    #[test]
    fn clear_forgets_everything() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new(ms(100));
        q.push(t0, vec![1], addr(1));
        q.clear();
        assert_eq!((q.len(), q.next_due()), (0, None));
        assert_eq!(q.delay(), ms(100), "the delay stays");
    }

    #[test]
    fn query_parsing() {
        assert_eq!(parse_delay_query("ms=150"), Ok(150));
        assert_eq!(parse_delay_query("ms=0"), Ok(0));
        assert_eq!(parse_delay_query("ms=5000"), Ok(5000));
        for bad in [
            "",
            "ms=",
            "ms",
            "ms=5001",
            "ms=-1",
            "ms=1.5",
            "ms=x",
            "ms=10&x=1",
            "delay=10",
        ] {
            assert!(parse_delay_query(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(parse_delay_ms("42"), Ok(42));
        assert!(parse_delay_ms("99999999999999999999").is_err());
    }
}
