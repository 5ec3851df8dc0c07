//! Reading the browser when the core's [`Telemetry`] says a reading is due: `getStats()` of
//! the current peer connection (the outage signal and quality) and the level meters.
//!
//! [`Telemetry`]: crate::core::telemetry::Telemetry

use super::Link;
use crate::core::{Input, Snapshot, Status};
use crate::platform::{clock, page, stats};

impl Link {
    /// Reads `getStats()` of the current peer connection (one at a time: the core does not ask
    /// again until this outcome is in). A reading that comes back after the connection
    /// generation changed is ignored.
    pub(super) fn read_stats(&self) {
        let (pc, conn) = {
            let mut st = self.state_mut();
            let pc = st.media.peer.as_ref().map(|p| p.connection().clone());
            if pc.is_none() {
                st.telemetry.stats_failed();
            }
            (pc, st.machine.conn())
        };
        let Some(pc) = pc else { return };
        let weak = self.weak();
        crate::platform::js::spawn(Box::pin(async move {
            let reading = stats::read_timed(&pc).await;
            let Some(link) = Link::from_weak(&weak).filter(|l| l.is_current(conn)) else { return };
            link.on_stats(conn, reading);
        }));
    }

    fn on_stats(&self, conn: u32, reading: Option<(stats::Reading, f64)>) {
        let Some((r, started)) = reading else {
            self.state_mut().telemetry.stats_failed();
            return self.rearm();
        };
        let (outcome, quality_changed) = {
            let mut st = self.state_mut();
            let st = &mut *st;
            let before = Snapshot::quality_of(&st.machine, st.telemetry.grader());
            let connected = st.machine.status() == Status::Connected;
            let outcome = st.telemetry.stats(clock::now_ms(), r.transport_bytes_received, r.raw, connected);
            (outcome, outcome.graded && Snapshot::quality_of(&st.machine, st.telemetry.grader()) != before)
        };
        match outcome.bytes_received {
            Some(bytes_received) => self.dispatch(Input::TransportSample { conn, bytes_received }),
            None => self.rearm(),
        }
        if quality_changed {
            self.notify();
        }
        if self.0.config.options.profile {
            clock::measure("voicelink:stats-tick", started);
        }
    }

    /// Reads the level meters: live only while connected and visible (else they read 0).
    /// Subscribers hear only when what the snapshot shows changed.
    pub(super) fn read_meter(&self) {
        let started = clock::now_ms();
        let changed = {
            let mut st = self.state_mut();
            let st = &mut *st;
            let live = st.machine.status() == Status::Connected && !page::is_hidden();
            let levels = st.media.audio.as_mut().filter(|_| live).map(|a| {
                let (mic, remote) = a.levels();
                (mic.unwrap_or(0.0), remote.unwrap_or(0.0))
            });
            st.telemetry.levels(clock::now_ms(), levels)
        };
        if changed {
            self.notify();
        }
        if self.0.config.options.profile {
            clock::measure("voicelink:meter-tick", started);
        }
    }
}
