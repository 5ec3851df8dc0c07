//! The outbox: app messages sent while the data channel is not open, kept in order and
//! delivered when it opens (seed 004: FIFO, bounded, oldest dropped first, dropped counted).

use std::collections::VecDeque;

/// Default `outboxCapacity`: 100 messages.
pub const DEFAULT_OUTBOX_CAPACITY: u32 = 100;

/// A bounded FIFO of text messages.
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: VecDeque<String>,
    capacity: usize,
    dropped: u64,
}

impl Outbox {
    /// An empty outbox holding at most `capacity` messages (0: nothing is buffered).
    pub fn new(capacity: u32) -> Outbox {
        Outbox { queue: VecDeque::new(), capacity: capacity as usize, dropped: 0 }
    }

    /// Queues `message`; when full, drops the oldest. Returns `true` when one was dropped.
    pub fn push(&mut self, message: String) -> bool {
        if self.capacity == 0 {
            self.dropped += 1;
            return true;
        }
        let dropped = if self.queue.len() >= self.capacity {
            self.queue.pop_front();
            self.dropped += 1;
            true
        } else {
            false
        };
        self.queue.push_back(message);
        dropped
    }

    /// The oldest message, without removing it.
    pub fn front(&self) -> Option<&String> {
        self.queue.front()
    }

    /// Removes the oldest message (after it was handed to the channel).
    pub fn pop(&mut self) -> Option<String> {
        self.queue.pop_front()
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// `true` when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Messages dropped because the outbox was full, since the link was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every waiting message (the link ended).
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_drop_oldest_and_count() {
        let mut o = Outbox::new(3);
        for i in 0..5 {
            o.push(format!("m{i}"));
        }
        assert_eq!(o.dropped(), 2);
        assert_eq!(o.len(), 3);
        let drained: Vec<String> = std::iter::from_fn(|| o.pop()).collect();
        assert_eq!(drained, ["m2", "m3", "m4"]);
        let mut none = Outbox::new(0);
        assert!(none.push("x".into()));
        assert!(none.is_empty());
        assert_eq!(none.dropped(), 1);
    }
}
