//! Herd simulation: N clients lose their server at the same instant (a restart) and make their
//! first reconnect attempt per the automatic policy. Prints, as JSON, the largest share of the
//! fleet whose first attempt falls in any 100 ms window, for the default backoff (seed 004's
//! schedule, full jitter, 5 s spread floor), the plain seed schedule with full jitter, and no
//! jitter at all.
//!
//! Each client sees the outage after `outageTimeoutMs` (1500 ms) plus the phase of its stats
//! sampler (uniform in [0, 250) ms, started at its own connect time), then waits its first
//! backoff delay. `cargo run --release --example herd [CLIENTS]` (default 10000).

use voicelink::core::backoff::{Backoff, Rng};

fn max_share_in_window(mut times: Vec<f64>, window_ms: f64) -> f64 {
    times.sort_by(f64::total_cmp);
    let (mut best, mut lo) = (0usize, 0usize);
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= window_ms {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best as f64 / times.len() as f64
}

fn first_attempts(backoff: &Backoff, clients: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..clients)
        .map(|_| {
            let detected = 1_500.0 + rng.next_f64() * 250.0;
            detected + backoff.delay_ms(1, rng.next_f64()) as f64
        })
        .collect()
}

fn main() {
    let clients: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let default = Backoff::default();
    let seed_jitter = Backoff { spread_ms: 0, ..default };
    let no_jitter = Backoff { spread_ms: 0, jitter: false, ..default };
    let share = |b: &Backoff| max_share_in_window(first_attempts(b, clients, 0x5EED), 100.0);
    println!(
        "{{\"herd.clients\": {clients}, \"herd.max_share_100ms\": {:.4}, \"herd.max_share_100ms_seed_jitter\": {:.4}, \"herd.max_share_100ms_no_jitter\": {:.4}}}",
        share(&default),
        share(&seed_jitter),
        share(&no_jitter)
    );
}
