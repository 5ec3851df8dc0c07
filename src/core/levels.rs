//! Audio levels for meters: RMS smoothed to 0..1, and "speaking" with a hang time.

/// Default `speakingThreshold`: smoothed RMS level at or above which the user is speaking.
pub const DEFAULT_SPEAKING_THRESHOLD: f64 = 0.02;
/// Default `speakingHangMs`: speaking stays true this long after the level drops, ms.
pub const DEFAULT_SPEAKING_HANG_MS: u32 = 300;
/// Levels are shown in steps of 0.01 so meters do not re-render for invisible changes.
pub const LEVEL_STEP: f64 = 0.01;

/// One meter: smoothed level (fast attack, slower release) and a speaking flag.
#[derive(Clone, Debug)]
pub struct Level {
    smoothed: f64,
    speaking: bool,
    loud_at_ms: f64,
    threshold: f64,
    hang_ms: f64,
}

impl Level {
    /// A silent meter.
    pub fn new(threshold: f64, hang_ms: u32) -> Level {
        Level { smoothed: 0.0, speaking: false, loud_at_ms: f64::NEG_INFINITY, threshold, hang_ms: hang_ms as f64 }
    }

    /// Feeds the RMS (0..1) of one analyser frame at `now_ms`.
    pub fn update(&mut self, rms: f64, now_ms: f64) {
        let x = if rms.is_finite() { rms.max(0.0).min(1.0) } else { 0.0 };
        // Attack at once, release by 20 % per frame.
        self.smoothed = if x >= self.smoothed { x } else { self.smoothed + 0.2 * (x - self.smoothed) };
        if self.smoothed >= self.threshold {
            self.speaking = true;
            self.loud_at_ms = now_ms;
        } else if self.speaking && now_ms - self.loud_at_ms > self.hang_ms {
            self.speaking = false;
        }
    }

    /// Back to silence.
    pub fn reset(&mut self) {
        *self = Level::new(self.threshold, self.hang_ms as u32);
    }

    /// The level, 0..1, in steps of [`LEVEL_STEP`].
    pub fn shown(&self) -> f64 {
        (self.smoothed / LEVEL_STEP).round() * LEVEL_STEP
    }

    /// `true` while above the threshold, and for the hang time after.
    pub fn speaking(&self) -> bool {
        self.speaking
    }
}

/// RMS of a frame of samples in -1..1, without allocating.
pub fn rms(frame: &[f32]) -> f64 {
    if frame.is_empty() {
        return 0.0;
    }
    let sum: f64 = frame.iter().map(|&s| (s as f64) * (s as f64)).sum();
    (sum / frame.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_of_a_full_scale_square_is_one() {
        assert_eq!(rms(&[1.0, -1.0, 1.0, -1.0]), 1.0);
        assert_eq!(rms(&[]), 0.0);
        assert!((rms(&[0.5; 64]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn speaking_holds_for_the_hang_time() {
        let mut l = Level::new(0.02, 300);
        l.update(0.2, 0.0);
        assert!(l.speaking());
        assert_eq!(l.shown(), 0.2);
        let mut t = 0.0;
        while l.shown() >= 0.02 {
            t += 50.0;
            l.update(0.0, t);
        }
        let quiet_at = t;
        assert!(l.speaking(), "still speaking right after the level drops");
        l.update(0.0, quiet_at + 301.0);
        assert!(!l.speaking(), "not speaking after the hang time");
        for i in 0..10 {
            l.update(f64::NAN, quiet_at + 400.0 + 50.0 * i as f64);
        }
        assert_eq!(l.shown(), 0.0, "a NaN frame counts as silence");
    }
}
