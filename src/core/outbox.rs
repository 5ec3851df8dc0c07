//! The outbox: app messages sent while the data channel is not open, kept in order and
//! delivered when it opens (seed 004: FIFO, bounded, oldest dropped first, dropped counted),
//! and the pacing that hands them to the channel ([`Outbox::send`], [`Outbox::flush`]) without
//! flooding its send buffer.

use std::collections::VecDeque;

use crate::core::error::{num, ErrorCode, LinkError};

/// The outbox stops handing messages to the data channel while its `bufferedAmount` is at or
/// above this many bytes (1 MiB), and resumes on `bufferedamountlow`.
pub const HIGH_WATER_BYTES: u32 = 1 << 20;
/// The data channel's `bufferedAmountLowThreshold`, in bytes (256 KiB).
pub const LOW_WATER_BYTES: u32 = 1 << 18;

/// The data channel, as far as pacing needs it.
pub trait Sink {
    /// Open, with `bufferedAmount` below [`HIGH_WATER_BYTES`].
    fn ready(&self) -> bool;
    /// The peer's `sctp.maxMessageSize` in bytes, when known.
    fn max_message_size(&self) -> Option<f64>;
    /// Hands one message over: `not-connected` when the channel is not open (the message
    /// stays queued), `send-failed` when the browser refused it (it is dropped).
    fn send(&mut self, text: &str) -> Result<(), LinkError>;
}

/// What [`Outbox::send`] did with a message.
#[derive(Debug, PartialEq)]
pub enum Sent {
    /// Handed to the channel.
    Now,
    /// Queued, in order, for when the channel opens or drains.
    Queued,
    /// The channel refused it (`send-failed`): dropped, to be reported.
    Refused(LinkError),
}

/// What [`Outbox::flush`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Flushed {
    /// Messages handed to the channel.
    pub sent: usize,
    /// Messages dropped because the channel refused them, in order.
    pub refused: Vec<LinkError>,
}

/// The `invalid-argument` error of a message of `bytes` (UTF-8) over the peer's
/// `sctp.maxMessageSize` (`max`, bytes).
pub fn too_large(bytes: usize, max: f64) -> LinkError {
    LinkError::new(
        ErrorCode::InvalidArgument,
        [
            "send(): the message is ",
            &bytes.to_string(),
            " bytes (UTF-8), over the data channel's limit of ",
            &num(max),
            " bytes (sctp.maxMessageSize): split it",
        ]
        .concat(),
    )
}

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

    /// Sends `text` now when the link is `connected`, nothing waits before it and the channel
    /// is ready; else queues it. Errors (nothing queued): `invalid-argument` when it is longer
    /// than the peer's `sctp.maxMessageSize` (UTF-8 bytes).
    pub fn send<S: Sink>(&mut self, text: &str, connected: bool, sink: Option<&mut S>) -> Result<Sent, LinkError> {
        if let Some(max) = sink.as_ref().and_then(|s| s.max_message_size()) {
            if text.len() as f64 > max {
                return Err(too_large(text.len(), max));
            }
        }
        let direct = connected && self.queue.is_empty();
        match sink.filter(|s| direct && s.ready()).map(|s| s.send(text)) {
            Some(Ok(())) => Ok(Sent::Now),
            Some(Err(e)) if e.code == ErrorCode::SendFailed => Ok(Sent::Refused(e)),
            _ => {
                self.push(text.to_string());
                Ok(Sent::Queued)
            }
        }
    }

    /// Hands the queue to `sink` in order while it is ready (the channel's
    /// `bufferedamountlow` calls this again). A message the channel refuses — over
    /// `sctp.maxMessageSize`, or `send` threw — is dropped and reported; the rest still go.
    pub fn flush<S: Sink>(&mut self, sink: &mut S) -> Flushed {
        let mut out = Flushed::default();
        let max = sink.max_message_size();
        while sink.ready() {
            let Some(next) = self.queue.front() else { break };
            let result = match max {
                Some(max) if next.len() as f64 > max => Err(too_large(next.len(), max)),
                _ => sink.send(next),
            };
            match result {
                Ok(()) => out.sent += 1,
                Err(e) if e.code == ErrorCode::NotConnected => break,
                Err(e) => out.refused.push(e),
            }
            self.queue.pop_front();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data channel: `room` messages fit before `bufferedAmount` reaches the high-water mark;
    /// messages equal to "refuse" make `send` throw.
    struct Fake {
        open: bool,
        room: usize,
        max: Option<f64>,
        sent: Vec<String>,
    }

    impl Sink for Fake {
        fn ready(&self) -> bool {
            self.open && self.sent.len() < self.room
        }
        fn max_message_size(&self) -> Option<f64> {
            self.max
        }
        fn send(&mut self, text: &str) -> Result<(), LinkError> {
            if !self.open {
                return Err(LinkError::new(ErrorCode::NotConnected, "closed"));
            }
            if text == "refuse" {
                return Err(LinkError::new(ErrorCode::SendFailed, "refused"));
            }
            self.sent.push(text.to_string());
            Ok(())
        }
    }

    fn fake(open: bool, room: usize) -> Fake {
        Fake { open, room, max: Some(8.0), sent: Vec::new() }
    }

    #[test]
    fn sends_directly_only_when_connected_nothing_waits_and_the_channel_has_room() {
        let mut o = Outbox::new(10);
        let mut ch = fake(true, 1);
        assert_eq!(o.send("a", true, Some(&mut ch)), Ok(Sent::Now));
        assert_eq!(o.send("b", true, Some(&mut ch)), Ok(Sent::Queued), "the channel is full");
        ch.room = 10;
        assert_eq!(o.send("c", true, Some(&mut ch)), Ok(Sent::Queued), "b waits: order kept");
        assert_eq!(o.send("d", false, Some(&mut fake(true, 9))), Ok(Sent::Queued), "not connected");
        assert_eq!(o.send("e", true, None::<&mut Fake>), Ok(Sent::Queued), "no channel yet");
        assert_eq!(o.flush(&mut ch), Flushed { sent: 4, refused: vec![] });
        assert_eq!(ch.sent, ["a", "b", "c", "d", "e"]);
        let mut o = Outbox::new(10);
        assert!(matches!(o.send("refuse", true, Some(&mut ch)), Ok(Sent::Refused(e)) if e.code == ErrorCode::SendFailed));
        assert!(o.is_empty(), "a refused message is not queued");
    }

    #[test]
    fn too_large_is_refused_up_front_and_dropped_when_it_waited() {
        let mut o = Outbox::new(10);
        let e = o.send("123456789", true, Some(&mut fake(true, 9))).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.contains("9 bytes") && e.message.contains("limit of 8"), "{}", e.message);
        assert!(o.is_empty());
        // Queued before the limit was known (no channel yet): dropped and reported at flush.
        for m in ["a", "123456789", "refuse", "b"] {
            o.send(m, false, None::<&mut Fake>).unwrap();
        }
        let mut ch = fake(true, 10);
        let out = o.flush(&mut ch);
        assert_eq!(out.sent, 2);
        assert_eq!(out.refused.iter().map(|e| e.code).collect::<Vec<_>>(), [ErrorCode::InvalidArgument, ErrorCode::SendFailed]);
        assert_eq!(ch.sent, ["a", "b"]);
    }

    #[test]
    fn flush_stops_at_the_high_water_mark_and_when_the_channel_closes() {
        let mut o = Outbox::new(10);
        for m in ["a", "b", "c"] {
            o.push(m.into());
        }
        let mut ch = fake(true, 2);
        assert_eq!(o.flush(&mut ch).sent, 2);
        assert_eq!(o.len(), 1, "c waits for bufferedamountlow");
        assert_eq!(o.flush(&mut fake(false, 9)).sent, 0);
        assert_eq!(o.len(), 1, "a closed channel keeps the queue");
    }

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
