//! `send()` and the outbox flush: the pacing is decided by the core's [`Outbox`]
//! (`core/outbox.rs`); this hands it the data channel and tells the app what happened.
//!
//! [`Outbox`]: crate::core::outbox::Outbox

use super::Link;
use crate::core::outbox::Sent;
use crate::core::{ErrorCode, LinkError, Status};

impl Link {
    /// Sends `text` on the data channel; while the channel is not open (connecting, interrupted,
    /// reconnecting) it waits in the outbox and goes out in order once the channel opens.
    /// Errors: `not-connected` (idle, disconnected or failed), `invalid-argument` (longer than
    /// the peer's `sctp.maxMessageSize`, in UTF-8 bytes: nothing is queued), `disposed`. When
    /// the browser refuses a message it had to take, that is reported on `on("error")` as
    /// `send-failed` and the message is dropped.
    pub fn send_text(&self, text: &str) -> Result<(), LinkError> {
        self.check_usable()?;
        let sent = {
            let mut st = self.state_mut();
            let st = &mut *st;
            if !st.machine.is_active() {
                return Err(LinkError::new(
                    ErrorCode::NotConnected,
                    "not connected: call connect() (messages are buffered only while connecting or recovering)",
                ));
            }
            let connected = st.machine.status() == Status::Connected;
            st.outbox.send(text, connected, st.media.channel.as_mut())?
        };
        match sent {
            Sent::Now => {}
            Sent::Queued => self.notify(),
            Sent::Refused(e) => self.report(&e),
        }
        Ok(())
    }

    /// Hands the outbox to the open data channel (on `open`, on `bufferedamountlow`, and when
    /// the link is connected again); refused messages are reported on `on("error")`.
    pub(crate) fn flush_outbox(&self) {
        let flushed = {
            let mut st = self.state_mut();
            let st = &mut *st;
            if st.machine.status() != Status::Connected {
                return;
            }
            let Some(channel) = st.media.channel.as_mut() else { return };
            st.outbox.flush(channel)
        };
        for e in &flushed.refused {
            self.report(e);
        }
        if flushed.sent > 0 || !flushed.refused.is_empty() {
            self.notify();
        }
    }
}
