//! Reconnect backoff: exponential with full jitter and a spread floor.
//!
//! Attempt `n` (1-based) waits a uniformly random time in
//! `[0, min(cap, max(spread, base · 2^(n-1))))]` ("full jitter"). Base and cap follow seed
//! 004's 1 → 2 → 4 → 8 → 16 → 30 s schedule; the spread floor (default 5 s) widens the first
//! windows so that a fleet which lost its server at the same instant does not come back in
//! the same instant: with a 1 s window a tenth of the fleet lands in one 100 ms slot, with 5 s
//! about a fiftieth (`examples/herd.rs` measures it). The link sees an outage ~4 s sooner than
//! Chromium does, so the wider first window still brings a client back sooner than the seed's
//! detection alone would. The randomness is an input (a small seeded PRNG), so schedules are
//! reproducible in tests.

/// Default `reconnectSpreadMs`: 5000 ms.
pub const DEFAULT_SPREAD_MS: u32 = 5_000;

/// Backoff settings (`reconnectBaseMs`, `reconnectCapMs`, `reconnectAttempts`, `reconnectSpreadMs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Upper bound of the first wait, ms (default 1000).
    pub base_ms: u32,
    /// Largest wait, ms (default 30 000).
    pub cap_ms: u32,
    /// Attempts before giving up (default 10).
    pub attempts: u32,
    /// Smallest upper bound of any wait, ms (default 5000; 0 = the plain seed schedule).
    pub spread_ms: u32,
    /// `false`: wait exactly the upper bound (no jitter) — for comparison only.
    pub jitter: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_ms: 1_000, cap_ms: 30_000, attempts: 10, spread_ms: DEFAULT_SPREAD_MS, jitter: true }
    }
}

impl Backoff {
    /// The upper bound of attempt `n`'s wait (1-based), ms.
    pub fn ceiling_ms(&self, n: u32) -> u32 {
        let exp = n.saturating_sub(1).min(31);
        let raw = ((self.base_ms as u64) << exp).max(self.spread_ms as u64);
        raw.min(self.cap_ms as u64) as u32
    }

    /// Attempt `n`'s wait for a random `u` in `[0, 1)`, ms.
    pub fn delay_ms(&self, n: u32, u: f64) -> u32 {
        let ceiling = self.ceiling_ms(n);
        if !self.jitter {
            return ceiling;
        }
        (u.max(0.0).min(1.0) * ceiling as f64).floor() as u32
    }
}

/// xorshift64*: a tiny PRNG for jitter (not for anything secret).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next value in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_004_schedule_is_the_ceiling_above_the_spread_floor() {
        let seed = Backoff { spread_ms: 0, ..Backoff::default() };
        let ceilings: Vec<u32> = (1..=10).map(|n| seed.ceiling_ms(n)).collect();
        assert_eq!(ceilings, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000]);
        assert_eq!(seed.ceiling_ms(200), 30_000, "no overflow");
        let spread = Backoff::default();
        let ceilings: Vec<u32> = (1..=6).map(|n| spread.ceiling_ms(n)).collect();
        assert_eq!(ceilings, [5000, 5000, 5000, 8000, 16000, 30000]);
        let capped = Backoff { cap_ms: 2000, ..Backoff::default() };
        assert_eq!(capped.ceiling_ms(1), 2000, "the cap wins over the spread");
    }

    #[test]
    fn full_jitter_stays_in_range_and_spreads() {
        let b = Backoff { spread_ms: 0, ..Backoff::default() };
        let mut rng = Rng::new(42);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let d = b.delay_ms(1, rng.next_f64());
            assert!(d <= 1000);
            buckets[(d.min(999) / 100) as usize] += 1;
        }
        for (i, n) in buckets.iter().enumerate() {
            assert!((800..1200).contains(n), "bucket {i}: {n} of 10000 is not uniform");
        }
        let fixed = Backoff { jitter: false, ..b };
        assert_eq!(fixed.delay_ms(3, 0.1), 4000);
    }

    #[test]
    fn rng_is_reproducible_and_in_unit_interval() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
    }
}
