//! What str0m tells a session: connection state (connected, ICE lost or
//! back, closed), media (echoed) and data-channel events.

use std::sync::mpsc;
use std::time::Instant;

use log::{debug, info};
use str0m::media::MediaData;
use str0m::{Event, IceConnectionState};

use super::Session;
use crate::state::{epoch_ms, Command, EndedBy, SessionState};

impl Session {
    pub(super) fn handle_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Connected => {
                let now = Instant::now();
                self.connected_at = Some(now);
                self.last_recv = now;
                self.entry.update(|r| {
                    if r.state == SessionState::Connecting {
                        r.state = SessionState::Connected;
                    }
                });
                self.resume("connected");
                info!(
                    "session {} connected in {} ms",
                    self.entry.id,
                    now.saturating_duration_since(self.created).as_millis()
                );
                if let Some(old) = self.replaces.take() {
                    info!(
                        "session {}: closing peer connection {} it replaces",
                        self.entry.id, old.id
                    );
                    let (done, _) = mpsc::channel();
                    let _ = old.send(Command::Close {
                        by: EndedBy::Replaced,
                        done,
                    });
                }
            }
            Event::IceConnectionStateChange(s) => {
                debug!("session {}: ice {s:?}", self.entry.id);
                match s {
                    IceConnectionState::Disconnected if self.connected_at.is_some() => {
                        self.interrupt(Instant::now(), "ICE disconnected");
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        self.resume("ICE connected");
                    }
                    _ => {}
                }
            }
            // DTLS close_notify or SCTP association lost: nothing to resume.
            Event::Closed => return Err("the peer closed DTLS/SCTP".into()),
            Event::MediaData(data) => {
                self.resume("media");
                self.echo_media(data);
            }
            Event::ChannelOpen(cid, label) => self.channel_opened(cid, label),
            Event::ChannelData(data) => {
                self.resume("data channel");
                self.channel_message(data);
            }
            Event::ChannelClose(cid) if self.channel == Some(cid) => {
                info!(
                    "session {}: data channel closed by the client",
                    self.entry.id
                );
                self.channel = None;
                self.entry.update(|r| r.channel_open = false);
            }
            _ => {}
        }
        Ok(())
    }

    /// Write an audio packet from the browser back on the same m-line.
    fn echo_media(&mut self, data: MediaData) {
        let (level, len) = (data.ext_vals.audio_level, data.data.len());
        self.entry.update(|r| {
            r.rtp_packets_in += 1;
            r.uplink.packet(epoch_ms(), level, len);
        });
        let Some(writer) = self.rtc.writer(data.mid) else {
            return;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return;
        };
        match writer.write(pt, data.network_time, data.time, data.data) {
            Ok(()) => self.entry.update(|r| r.rtp_packets_out += 1),
            Err(e) => debug!("session {}: echo write: {e}", self.entry.id),
        }
    }
}
