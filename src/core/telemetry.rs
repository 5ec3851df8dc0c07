//! Telemetry of one connection, as deadlines: when to read `getStats()` (the outage signal and
//! quality) and the level meters, which readings change what the snapshot shows, and the byte
//! count the machine sees across peer connections. Pure: the driver reads the browser when
//! [`Telemetry::poll`] says a reading is due and hands the values back; the one driver timer is
//! armed at [`Telemetry::poll_timeout`] (with the machine's and the control channel's).

use crate::core::levels::Level;
use crate::core::quality::{Grader, QualitySample, RawStats};
use crate::core::Options;

/// Level meters are read every 50 ms (20 Hz) while a connection lives.
pub const METER_INTERVAL_MS: f64 = 50.0;
/// After an ICE-restart answer, `getStats()` is read every 25 ms …
pub const RESTORE_READ_MS: f64 = 25.0;
/// … for at most this long (ms), so the link is `connected` as soon as bytes flow again
/// instead of at the next regular read.
pub const RESTORE_WINDOW_MS: f64 = 1_000.0;

/// The readings due now.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Due {
    /// Read `getStats()` and hand it to [`Telemetry::stats`] (or [`Telemetry::stats_failed`]).
    pub stats: bool,
    /// Read the level meters and hand them to [`Telemetry::levels`].
    pub meter: bool,
}

/// What one `getStats()` reading changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsOutcome {
    /// Bytes received by this connection generation's transports in all (earlier peer
    /// connections included), for `Input::TransportSample`; `None` when the reading had no
    /// transport.
    pub bytes_received: Option<f64>,
    /// The quality the snapshot shows may have changed (a sample was graded).
    pub graded: bool,
}

/// The connection's telemetry schedule and state.
#[derive(Clone, Debug)]
pub struct Telemetry {
    /// `getStats()` cadence: `outageTimeoutMs / 4`, clamped to 50..=250 ms.
    read_every_ms: f64,
    /// Quality cadence: `statsIntervalMs`.
    grade_every_ms: f64,
    next_read_at: Option<f64>,
    /// Fast reads after an ICE-restart answer, until this time (ms).
    restore_until: Option<f64>,
    /// A `getStats()` is in flight: one at a time.
    reading: bool,
    next_meter_at: Option<f64>,
    /// The previous graded reading (loss is a delta) and when it was taken (ms).
    prev: Option<(f64, RawStats)>,
    grader: Grader,
    /// Bytes received by the earlier peer connections of this generation (Pipecat's reconnect
    /// replaces the peer connection; the machine sees one growing count), and the last total.
    rx_base: f64,
    rx_last: f64,
    mic: Level,
    remote: Level,
}

impl Telemetry {
    /// Idle telemetry for these options: nothing scheduled.
    pub fn new(options: &Options) -> Telemetry {
        let level = Level::new(options.speaking_threshold, options.speaking_hang_ms);
        Telemetry {
            read_every_ms: (options.outage_timeout_ms / 4).clamp(50, 250) as f64,
            grade_every_ms: options.stats_interval_ms as f64,
            next_read_at: None,
            restore_until: None,
            reading: false,
            next_meter_at: None,
            prev: None,
            grader: Grader::new(options.quality),
            rx_base: 0.0,
            rx_last: 0.0,
            mic: level.clone(),
            remote: level,
        }
    }

    /// A new connection generation starts at `now` (ms): everything is reset and the first
    /// readings are scheduled.
    pub fn start(&mut self, now: f64) {
        self.stop();
        self.grader.reset();
        self.prev = None;
        self.rx_base = 0.0;
        self.rx_last = 0.0;
        self.next_read_at = Some(now + self.read_every_ms);
        self.next_meter_at = Some(now + METER_INTERVAL_MS);
    }

    /// The connection's resources are gone: no more readings; the meters read 0.
    pub fn stop(&mut self) {
        self.next_read_at = None;
        self.next_meter_at = None;
        self.restore_until = None;
        self.reading = false;
        self.mic.reset();
        self.remote.reset();
    }

    /// A new peer connection replaced the old one in the same generation: its transport counts
    /// bytes from 0, on top of what the old one received.
    pub fn new_transport(&mut self) {
        self.rx_base = self.rx_last;
    }

    /// An ICE-restart answer was applied at `now`: read every [`RESTORE_READ_MS`] for
    /// [`RESTORE_WINDOW_MS`].
    pub fn restart_answered(&mut self, now: f64) {
        if self.next_read_at.is_some() {
            self.restore_until = Some(now + RESTORE_WINDOW_MS);
            self.next_read_at = Some(now + RESTORE_READ_MS);
        }
    }

    /// The earliest time (ms) a reading is due; `None` when nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<f64> {
        let read = self.next_read_at.filter(|_| !self.reading);
        match (read, self.next_meter_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The readings due at `now`; each one is rescheduled (a `getStats()` is marked in flight
    /// until its outcome arrives).
    pub fn poll(&mut self, now: f64) -> Due {
        let mut due = Due::default();
        if let Some(at) = self.next_meter_at.filter(|at| *at <= now) {
            due.meter = true;
            // Never a burst after a throttled timer: the next read is a full period away.
            self.next_meter_at = Some((at + METER_INTERVAL_MS).max(now + 1.0));
        }
        if !self.reading && self.next_read_at.is_some_and(|at| at <= now) {
            due.stats = true;
            self.reading = true;
            self.restore_until = self.restore_until.filter(|until| now < *until);
            let every = if self.restore_until.is_some() { RESTORE_READ_MS } else { self.read_every_ms };
            self.next_read_at = Some(now + every);
        }
        due
    }

    /// A `getStats()` reading taken at `now` (ms): `bytes` the transport's bytes received,
    /// `raw` the quality counters; `connected`: the link is connected (quality is graded only
    /// then, every `statsIntervalMs`).
    pub fn stats(&mut self, now: f64, bytes: Option<f64>, raw: RawStats, connected: bool) -> StatsOutcome {
        self.reading = false;
        let bytes_received = bytes.map(|b| {
            self.rx_last = self.rx_base + b;
            self.rx_last
        });
        let due = self.prev.as_ref().is_none_or(|(at, _)| now - at >= self.grade_every_ms - 1.0);
        let graded = connected && due && self.next_read_at.is_some();
        if graded {
            let sample = QualitySample::between(self.prev.as_ref().map(|(_, r)| r), &raw);
            self.grader.sample(&sample);
            self.prev = Some((now, raw));
        }
        StatsOutcome { bytes_received, graded }
    }

    /// The `getStats()` in flight gave nothing (no peer connection, or it failed).
    pub fn stats_failed(&mut self) {
        self.reading = false;
    }

    /// A meter reading at `now` (ms): RMS levels 0..=1 of the microphone and the remote audio,
    /// or `None` when the meters are not live (hidden page, not connected, no Web Audio: both
    /// then read 0). Returns `true` when what the snapshot shows changed.
    pub fn levels(&mut self, now: f64, levels: Option<(f64, f64)>) -> bool {
        let before = self.shown();
        match levels {
            Some((mic, remote)) => {
                self.mic.update(mic, now);
                self.remote.update(remote, now);
            }
            None => {
                self.mic.reset();
                self.remote.reset();
            }
        }
        self.shown() != before
    }

    fn shown(&self) -> (f64, f64, bool) {
        (self.mic.shown(), self.remote.shown(), self.mic.speaking())
    }

    /// The quality grader.
    pub fn grader(&self) -> &Grader {
        &self.grader
    }
    /// The microphone's level meter.
    pub fn mic(&self) -> &Level {
        &self.mic
    }
    /// The remote audio's level meter.
    pub fn remote(&self) -> &Level {
        &self.remote
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::options::RawOptions;

    /// Defaults: `outageTimeoutMs` 1_500 (reads every 250 ms), `statsIntervalMs` 1_000.
    fn options() -> Options {
        Options::validate(&RawOptions { url: Some("http://h/whip".into()), ..Default::default() }).unwrap()
    }

    fn raw(rtt_s: f64) -> RawStats {
        RawStats { candidate_pair_rtt_s: Some(rtt_s), ..RawStats::default() }
    }

    #[test]
    fn nothing_is_scheduled_until_a_connection_starts_and_after_it_stops() {
        let mut t = Telemetry::new(&options());
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(t.poll(1e9), Due::default());
        t.start(1_000.0);
        assert_eq!(t.poll_timeout(), Some(1_050.0));
        t.stop();
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn reads_stats_at_a_quarter_of_the_outage_timeout_one_at_a_time() {
        let mut t = Telemetry::new(&options());
        t.start(0.0);
        assert_eq!(t.poll(249.0), Due { stats: false, meter: true });
        assert!(t.poll(250.0).stats);
        // In flight: not due again, and not in the timeout, until its outcome arrives.
        assert!(!t.poll(600.0).stats);
        assert_eq!(t.poll_timeout(), Some(601.0), "only the meter is pending");
        t.stats(610.0, Some(10.0), raw(0.05), true);
        assert_eq!(t.poll_timeout(), Some(500.0), "the overdue read comes at once");
        assert!(t.poll(610.0).stats);
    }

    #[test]
    fn grades_quality_every_stats_interval_and_only_while_connected() {
        let mut t = Telemetry::new(&options());
        t.start(0.0);
        assert!(!t.stats(250.0, Some(1.0), raw(0.05), false).graded, "not connected");
        assert!(t.stats(500.0, Some(2.0), raw(0.05), true).graded);
        assert!(!t.stats(750.0, Some(3.0), raw(0.05), true).graded, "250 ms later");
        assert!(t.stats(1_500.0, Some(4.0), raw(0.05), true).graded);
        assert_eq!(t.grader().quality().rtt_ms, Some(50.0));
    }

    #[test]
    fn bytes_add_up_across_peer_connections_of_one_generation() {
        let mut t = Telemetry::new(&options());
        t.start(0.0);
        assert_eq!(t.stats(250.0, Some(900.0), raw(0.05), true).bytes_received, Some(900.0));
        t.new_transport();
        assert_eq!(t.stats(500.0, Some(100.0), raw(0.05), true).bytes_received, Some(1_000.0));
        t.start(600.0);
        assert_eq!(t.stats(850.0, Some(5.0), raw(0.05), true).bytes_received, Some(5.0), "a new generation counts from 0");
    }

    #[test]
    fn reads_fast_for_a_second_after_an_ice_restart_answer() {
        let mut t = Telemetry::new(&options());
        t.start(0.0);
        t.restart_answered(100.0);
        assert!(t.poll(125.0).stats);
        t.stats_failed();
        assert_eq!(t.next_read_at, Some(150.0));
        assert!(t.poll(1_200.0).stats);
        t.stats_failed();
        assert_eq!(t.next_read_at, Some(1_450.0), "back to 250 ms after the window");
    }

    #[test]
    fn meters_change_the_snapshot_only_when_what_it_shows_changes() {
        let mut t = Telemetry::new(&options());
        t.start(0.0);
        assert!(t.poll(50.0).meter);
        assert!(!t.levels(50.0, None), "silence stays silence");
        assert!(t.levels(100.0, Some((0.5, 0.2))));
        assert!(!t.levels(150.0, Some((0.5, 0.2))), "the same levels");
        assert!(t.levels(200.0, None), "hidden: back to 0");
        // A throttled timer reads once, then a full period later.
        assert!(t.poll(10_000.0).meter);
        assert!(!t.poll(10_000.5).meter);
        assert_eq!(t.poll_timeout().map(|at| at <= 10_050.0), Some(true));
    }
}
