//! A session's socket: what str0m transmits goes out (now, or held back by
//! the latency switch), what arrives goes in.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use log::debug;
use str0m::net::{Protocol as NetProtocol, Receive};
use str0m::{Input, Output};

use super::Session;

impl Session {
    /// Poll str0m until it asks to wait: send datagrams, handle events.
    /// Returns when str0m next wants a timeout, or why the transport is gone.
    pub(super) fn drain_output(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Ok(t),
                Ok(Output::Transmit(_)) if self.dropped => {}
                Ok(Output::Transmit(t)) if self.outgoing.holds() => {
                    self.outgoing
                        .push(Instant::now(), t.contents.into(), t.destination);
                }
                Ok(Output::Transmit(t)) => self.send(&t.contents, t.destination),
                Ok(Output::Event(e)) => self.handle_event(e)?,
                Err(e) => return Err(format!("rtc error: {e}")),
            }
        }
    }

    /// Send one datagram now.
    pub(super) fn send(&self, contents: &[u8], destination: SocketAddr) {
        if let Err(e) = self.socket.send_to(contents, destination) {
            // One lost datagram is no reason to end; a dead path shows up as
            // the idle timeout.
            debug!("session {}: send to {destination}: {e}", self.entry.id);
        }
    }

    /// Send the held-back datagrams that are due at `now`, oldest first.
    pub(super) fn send_due(&mut self, now: Instant) {
        while let Some(held) = self.outgoing.pop_due(now) {
            self.send(&held.contents, held.destination);
        }
    }

    /// Wait up to `wait` for one datagram and hand it to str0m (or tell str0m
    /// the time if none came). Errors end the session.
    pub(super) fn receive(&mut self, wait: Duration) -> Result<(), String> {
        self.socket
            .set_read_timeout(Some(wait))
            .map_err(|e| format!("socket timeout: {e}"))?;
        self.buf.resize(2000, 0);
        let input = match self.socket.recv_from(&mut self.buf) {
            // The black hole: as if the datagram never came.
            Ok(_) if self.dropped => Input::Timeout(Instant::now()),
            Ok((n, source)) => {
                self.last_recv = Instant::now();
                let Ok(contents) = self.buf[..n].try_into() else {
                    debug!(
                        "session {}: ignoring unknown datagram from {source}",
                        self.entry.id
                    );
                    return Ok(());
                };
                Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: NetProtocol::Udp,
                        source,
                        destination: self.local,
                        contents,
                    },
                )
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Input::Timeout(Instant::now())
            }
            Err(e) => return Err(format!("socket receive: {e}")),
        };
        self.rtc
            .handle_input(input)
            .map_err(|e| format!("rtc input: {e}"))
    }
}
