//! Connection quality from `getStats()` (W3C webrtc-stats), graded on the client.
//!
//! Seed 003 graded the candidate pair's `currentRoundTripTime` against 50/100 — but that value
//! is in seconds, so every call read "excellent". Here raw stats keep the spec's units
//! ([`RawStats`]); [`seconds_to_ms`] is the one place seconds become milliseconds; each metric
//! is smoothed (EWMA) and graded with hysteresis, so noise around a threshold does not flip the
//! grade back and forth while a real change shows within a few samples.

use ts_rs::TS;

/// Seconds (W3C webrtc-stats: `currentRoundTripTime`, `roundTripTime`, `jitter`) to
/// milliseconds. The only conversion in the crate.
pub fn seconds_to_ms(seconds: f64) -> f64 {
    seconds * 1000.0
}

/// The figures of one `getStats()` report that quality needs, in the spec's units.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RawStats {
    /// The selected candidate pair's `currentRoundTripTime`, seconds (falls back to the
    /// nominated, succeeded pair).
    pub candidate_pair_rtt_s: Option<f64>,
    /// `remote-inbound-rtp` `roundTripTime` (from RTCP), seconds.
    pub remote_inbound_rtt_s: Option<f64>,
    /// Audio `inbound-rtp` `packetsReceived` (cumulative).
    pub packets_received: Option<f64>,
    /// Audio `inbound-rtp` `packetsLost` (cumulative; may be negative with duplicates).
    pub packets_lost: Option<f64>,
    /// Audio `inbound-rtp` `jitter`, seconds.
    pub jitter_s: Option<f64>,
}

/// One quality sample, in milliseconds and percent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QualitySample {
    /// Round-trip time, ms: candidate pair, else `remote-inbound-rtp`.
    pub rtt_ms: Option<f64>,
    /// Packet loss since the previous report, % of packets expected.
    pub loss_pct: Option<f64>,
    /// Inbound audio jitter, ms.
    pub jitter_ms: Option<f64>,
}

impl QualitySample {
    /// The sample between two consecutive reports (`prev` is `None` for the first one: no
    /// loss figure yet).
    pub fn between(prev: Option<&RawStats>, cur: &RawStats) -> QualitySample {
        let loss_pct = prev.and_then(|p| {
            let lost = cur.packets_lost? - p.packets_lost?;
            let received = cur.packets_received? - p.packets_received?;
            let expected = lost.max(0.0) + received.max(0.0);
            (expected > 0.0).then(|| (100.0 * lost.max(0.0) / expected).min(100.0))
        });
        QualitySample {
            rtt_ms: cur.candidate_pair_rtt_s.or(cur.remote_inbound_rtt_s).map(seconds_to_ms),
            loss_pct,
            jitter_ms: cur.jitter_s.map(seconds_to_ms),
        }
    }
}

/// The quality grade: the snapshot's `quality.grade` (lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, TS)]
#[ts(rename = "VoiceLinkGrade", rename_all = "lowercase")]
pub enum Grade {
    /// No sample yet.
    Unknown,
    /// Every metric below its first threshold.
    Excellent,
    /// Every metric below its second threshold.
    Good,
    /// A metric at or above its second threshold.
    Poor,
    /// Not connected, or no stats.
    Lost,
}

js_names!(Grade {
    Unknown => "unknown",
    Excellent => "excellent",
    Good => "good",
    Poor => "poor",
    Lost => "lost",
});

/// A graded metric: an entry of the snapshot's `quality.limitedBy` (`"rtt"`, `"packetLoss"`,
/// `"jitter"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, TS)]
#[ts(rename = "VoiceLinkMetric", rename_all = "camelCase")]
pub enum Metric {
    /// Round-trip time.
    Rtt,
    /// Packet loss.
    PacketLoss,
    /// Jitter.
    Jitter,
}

js_names!(Metric {
    Rtt => "rtt",
    PacketLoss => "packetLoss",
    Jitter => "jitter",
});

/// Two thresholds of one metric: below `excellent` is excellent, below `good` is good, else
/// poor. Units as the metric (ms or %).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Upper bound of "excellent".
    pub excellent: f64,
    /// Upper bound of "good".
    pub good: f64,
}

/// The grading settings (`qualityRttMs`, `qualityLossPct`, `qualityJitterMs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualityThresholds {
    /// RTT, ms (default 50 / 100, seed 003).
    pub rtt_ms: Thresholds,
    /// Packet loss, % (default 1 / 5).
    pub loss_pct: Thresholds,
    /// Jitter, ms (default 20 / 50).
    pub jitter_ms: Thresholds,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        QualityThresholds {
            rtt_ms: Thresholds { excellent: 50.0, good: 100.0 },
            loss_pct: Thresholds { excellent: 1.0, good: 5.0 },
            jitter_ms: Thresholds { excellent: 20.0, good: 50.0 },
        }
    }
}

/// EWMA weight of a new sample, for the figures shown (`rttMs`, ...) and the value graded
/// alike, so a shown figure and its grade agree except inside the hysteresis band. The graded
/// value is clamped to 1.5 × the `good` threshold first: past "clearly poor" the size of a
/// spike does not matter for the grade, and clamping lets the grade recover within a few
/// samples after a 2 s spike.
pub const SMOOTHING: f64 = 0.5;
/// Hysteresis: a grade changes only once the smoothed value is this fraction past the
/// threshold (10 %).
pub const HYSTERESIS: f64 = 0.1;

#[derive(Clone, Copy, Debug, Default)]
struct Track {
    /// Shown: EWMA of the raw values.
    smoothed: Option<f64>,
    /// Graded: EWMA of the clamped values.
    graded: Option<f64>,
    level: Option<Grade>,
}

fn ewma(prev: Option<f64>, x: f64, weight: f64) -> f64 {
    match prev {
        Some(s) => s + weight * (x - s),
        None => x,
    }
}

impl Track {
    fn update(&mut self, value: Option<f64>, t: Thresholds) {
        let Some(x) = value.filter(|v| v.is_finite()) else { return };
        self.smoothed = Some(ewma(self.smoothed, x, SMOOTHING));
        let s = ewma(self.graded, x.max(0.0).min(1.5 * t.good), SMOOTHING);
        self.graded = Some(s);
        let raw = level_of(s, t, 0.0);
        self.level = Some(match self.level {
            None => raw,
            // Worse: only once clearly past the boundary; better: only once clearly below it.
            Some(cur) if raw > cur => level_of(s, t, -HYSTERESIS).max(cur),
            Some(cur) if raw < cur => level_of(s, t, HYSTERESIS).min(cur),
            Some(cur) => cur,
        });
    }
}

/// The level of `v` against `t`, with thresholds moved by `shift` (a fraction): a negative
/// shift raises them (harder to get worse), a positive one lowers them (harder to get better).
fn level_of(v: f64, t: Thresholds, shift: f64) -> Grade {
    let k = 1.0 - shift;
    if v < t.excellent * k {
        Grade::Excellent
    } else if v < t.good * k {
        Grade::Good
    } else {
        Grade::Poor
    }
}

/// Smooths samples and grades them.
#[derive(Clone, Debug)]
pub struct Grader {
    thresholds: QualityThresholds,
    rtt: Track,
    loss: Track,
    jitter: Track,
    lost: bool,
}

/// The snapshot's `quality`: from `getStats()`, smoothed (EWMA) and graded with hysteresis.
#[derive(Clone, Debug, PartialEq, TS)]
#[ts(rename = "VoiceLinkQuality", rename_all = "camelCase")]
pub struct Quality {
    /// The grade, with hysteresis: `"unknown"` before the first sample and while connecting,
    /// `"lost"` while interrupted, reconnecting or ended; else from the thresholds
    /// (`qualityRttMs`, `qualityLossPct`, `qualityJitterMs`).
    pub grade: Grade,
    /// RTT in milliseconds, smoothed (EWMA) and rounded to 0.1 ms: the selected candidate
    /// pair's `currentRoundTripTime` (seconds, W3C webrtc-stats), else remote-inbound-rtp
    /// `roundTripTime`; `null` before the first sample.
    pub rtt_ms: Option<f64>,
    /// Jitter in milliseconds, smoothed and rounded to 0.1 ms: inbound-rtp `jitter` (seconds,
    /// W3C webrtc-stats); `null` before the first sample.
    pub jitter_ms: Option<f64>,
    /// Packet loss in %, smoothed and rounded to 0.01: inbound-rtp `packetsLost` over the
    /// packets expected (`packetsLost` + `packetsReceived`) between two samples; `null` before
    /// the second sample.
    pub packet_loss: Option<f64>,
    /// The metrics that set a `"good"` or `"poor"` grade (those at the worst level); empty
    /// otherwise.
    pub limited_by: Vec<Metric>,
}

fn round(v: Option<f64>, step: f64) -> Option<f64> {
    v.map(|x| (x / step).round() * step)
}

impl Grader {
    /// A grader with no sample yet (`unknown`).
    pub fn new(thresholds: QualityThresholds) -> Grader {
        Grader { thresholds, rtt: Track::default(), loss: Track::default(), jitter: Track::default(), lost: false }
    }

    /// Adds a sample.
    pub fn sample(&mut self, s: &QualitySample) {
        self.lost = false;
        let t = self.thresholds;
        self.rtt.update(s.rtt_ms, t.rtt_ms);
        self.loss.update(s.loss_pct, t.loss_pct);
        self.jitter.update(s.jitter_ms, t.jitter_ms);
    }

    /// The connection is lost (or gave no stats): grade `lost` until the next sample.
    pub fn set_lost(&mut self) {
        self.lost = true;
    }

    /// Forgets everything (`unknown`), for a new connection.
    pub fn reset(&mut self) {
        *self = Grader::new(self.thresholds);
    }

    /// The current grade.
    pub fn grade(&self) -> Grade {
        if self.lost {
            return Grade::Lost;
        }
        [self.rtt.level, self.loss.level, self.jitter.level].into_iter().flatten().max().unwrap_or(Grade::Unknown)
    }

    /// The snapshot view.
    pub fn quality(&self) -> Quality {
        let grade = self.grade();
        let mut limited_by = Vec::new();
        if matches!(grade, Grade::Good | Grade::Poor) {
            for (m, track) in [(Metric::Rtt, &self.rtt), (Metric::PacketLoss, &self.loss), (Metric::Jitter, &self.jitter)] {
                if track.level == Some(grade) {
                    limited_by.push(m);
                }
            }
        }
        Quality {
            grade,
            rtt_ms: round(self.rtt.smoothed, 0.1),
            jitter_ms: round(self.jitter.smoothed, 0.1),
            packet_loss: round(self.loss.smoothed, 0.01),
            limited_by,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rtt(ms: f64) -> QualitySample {
        QualitySample { rtt_ms: Some(ms), ..Default::default() }
    }

    #[test]
    fn seconds_from_the_spec_become_milliseconds_once() {
        // Seed 003's bug: 0.045 s compared with 50 reads "excellent" whatever the RTT.
        let raw = RawStats { candidate_pair_rtt_s: Some(0.180), jitter_s: Some(0.004), ..Default::default() };
        let s = QualitySample::between(None, &raw);
        assert_eq!(s.rtt_ms, Some(180.0));
        assert_eq!(s.jitter_ms, Some(4.0));
        let mut g = Grader::new(QualityThresholds::default());
        g.sample(&s);
        assert_eq!(g.grade(), Grade::Poor, "180 ms is poor, not excellent");
        assert_eq!(g.quality().limited_by, vec![Metric::Rtt]);
        let raw = RawStats { remote_inbound_rtt_s: Some(0.02), ..Default::default() };
        assert_eq!(QualitySample::between(None, &raw).rtt_ms, Some(20.0), "remote-inbound-rtp as fallback");
    }

    #[test]
    fn the_figure_shown_agrees_with_the_grade_outside_the_hysteresis_band() {
        let mut g = Grader::new(QualityThresholds::default());
        for ms in [2.0, 2.0, 185.0, 185.0, 185.0, 185.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] {
            g.sample(&rtt(ms));
            let q = g.quality();
            let shown = q.rtt_ms.unwrap();
            match q.grade {
                Grade::Poor => assert!(shown >= 90.0, "poor at {shown} ms"),
                Grade::Excellent => assert!(shown < 55.0, "excellent at {shown} ms"),
                Grade::Good => assert!((45.0..110.0).contains(&shown), "good at {shown} ms"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn loss_is_from_deltas() {
        let a = RawStats { packets_received: Some(1000.0), packets_lost: Some(10.0), ..Default::default() };
        let b = RawStats { packets_received: Some(1095.0), packets_lost: Some(15.0), ..Default::default() };
        assert_eq!(QualitySample::between(Some(&a), &b).loss_pct, Some(5.0));
        assert_eq!(QualitySample::between(None, &b).loss_pct, None, "no loss figure from one report");
        assert_eq!(QualitySample::between(Some(&b), &b).loss_pct, None, "nothing expected, no figure");
    }

    #[test]
    fn unknown_then_lost() {
        let mut g = Grader::new(QualityThresholds::default());
        assert_eq!(g.grade(), Grade::Unknown);
        g.sample(&QualitySample::default());
        assert_eq!(g.grade(), Grade::Unknown, "a sample without figures grades nothing");
        g.sample(&rtt(10.0));
        assert_eq!(g.grade(), Grade::Excellent);
        g.set_lost();
        assert_eq!(g.grade(), Grade::Lost);
        g.reset();
        assert_eq!(g.grade(), Grade::Unknown);
    }

    /// Grades of `series`, one per sample.
    fn grades(series: &[f64]) -> Vec<Grade> {
        let mut g = Grader::new(QualityThresholds::default());
        series
            .iter()
            .map(|&ms| {
                g.sample(&rtt(ms));
                g.grade()
            })
            .collect()
    }

    fn changes(gs: &[Grade]) -> usize {
        gs.windows(2).filter(|w| w[0] != w[1]).count()
    }

    proptest! {
        /// Noise of ±8 % around a threshold changes the grade at most once.
        #[test]
        fn noise_around_a_threshold_changes_the_grade_at_most_once(
            threshold in prop_oneof![Just(50.0), Just(100.0)],
            noise in proptest::collection::vec(-0.08f64..0.08, 20..200),
        ) {
            let series: Vec<f64> = noise.iter().map(|n| threshold * (1.0 + n)).collect();
            let gs = grades(&series);
            prop_assert!(changes(&gs) <= 1, "{} changes: {:?}", changes(&gs), gs);
        }

        /// A step from a clearly excellent RTT to a clearly poor one (and back, even after a
        /// 2 s spike) shows within 5 samples.
        #[test]
        fn a_real_step_shows_within_five_samples(
            low in 1.0f64..40.0,
            high in 130.0f64..2000.0,
            before in 1usize..30,
        ) {
            let mut series = vec![low; before];
            series.extend(std::iter::repeat_n(high, 5));
            let gs = grades(&series);
            prop_assert_eq!(gs[before - 1], Grade::Excellent);
            prop_assert_eq!(*gs.last().unwrap(), Grade::Poor);
            let mut back = series.clone();
            back.extend(std::iter::repeat_n(low, 5));
            prop_assert_eq!(*grades(&back).last().unwrap(), Grade::Excellent);
        }

        /// Thresholds respect units: an RTT given in seconds by the spec grades like the same
        /// RTT in milliseconds.
        #[test]
        fn thresholds_respect_units(seconds in 0.001f64..1.0) {
            let raw = RawStats { candidate_pair_rtt_s: Some(seconds), ..Default::default() };
            let mut a = Grader::new(QualityThresholds::default());
            a.sample(&QualitySample::between(None, &raw));
            let ms = seconds * 1000.0;
            let expected = if ms < 50.0 { Grade::Excellent } else if ms < 100.0 { Grade::Good } else { Grade::Poor };
            prop_assert_eq!(a.grade(), expected);
        }
    }
}
