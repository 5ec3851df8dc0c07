//! The uplink's audio level: how much of what the browser sends is audible,
//! from the RFC 6464 client-to-mixer audio level header extension
//! (`urn:ietf:params:rtp-hdrext:ssrc-audio-level`) the session negotiates.
//!
//! Times are wall-clock (milliseconds since the UNIX epoch), so a browser on
//! the same machine can compare them with `Date.now()`.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// A packet whose RFC 6464 level (0 = 0 dBov, the loudest; 127 = -127 dBov,
/// silence) is below this is audible: louder than -50 dBov.
pub const AUDIBLE_LEVEL: u8 = 50;

/// Without the level extension, a packet whose payload is longer than this
/// many bytes counts as audible (Opus silence and comfort-noise frames are
/// a few bytes; speech or a tone at 20 ms takes tens).
pub const AUDIBLE_PAYLOAD_BYTES: usize = 20;

/// Two consecutive audible packets further apart than this (ms) make a
/// silent gap.
pub const SILENT_GAP_MS: f64 = 60.0;

/// The last this many silent gaps are kept.
pub const MAX_SILENT_GAPS: usize = 16;

/// Now, in milliseconds since the UNIX epoch (microsecond resolution).
pub fn epoch_ms() -> f64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    since.as_micros() as f64 / 1000.0
}

/// A stretch without audible uplink audio: from the last audible packet
/// before it to the first one after it (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SilentGap {
    /// When the last audible packet before the gap arrived.
    pub start_ms: f64,
    /// When the audible packet that ended the gap arrived.
    pub end_ms: f64,
}

/// A session's uplink audio, as `GET /_dev/state` shows it (flattened into
/// the session's report).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UplinkReport {
    /// RTP packets received that were audible: a level louder than -50 dBov
    /// or, without the extension, a payload over 20 bytes.
    pub rtp_audible_packets_in: u64,
    /// When the last RTP packet arrived (epoch ms).
    pub last_rtp_in_at_ms: Option<f64>,
    /// When the last audible RTP packet arrived (epoch ms).
    pub last_audible_in_at_ms: Option<f64>,
    /// The last [`MAX_SILENT_GAPS`] gaps of over [`SILENT_GAP_MS`] between
    /// two consecutive audible packets, oldest first.
    pub uplink_silent_gaps: VecDeque<SilentGap>,
    /// The level of the last packet that carried the extension (dBov, -127..=0).
    pub uplink_level_dbov: Option<i16>,
}

impl UplinkReport {
    /// Take one RTP packet that arrived at `at_ms` (epoch ms), with its level
    /// as str0m reads it (`-127..=0`, dBov) if it carried the extension, and
    /// its payload length.
    pub fn packet(&mut self, at_ms: f64, level_dbov: Option<i8>, payload_len: usize) {
        self.last_rtp_in_at_ms = Some(at_ms);
        let audible = match level_dbov {
            Some(level) => {
                self.uplink_level_dbov = Some(i16::from(level));
                i16::from(level).unsigned_abs() < u16::from(AUDIBLE_LEVEL)
            }
            None => payload_len > AUDIBLE_PAYLOAD_BYTES,
        };
        if !audible {
            return;
        }
        self.rtp_audible_packets_in += 1;
        if let Some(last) = self.last_audible_in_at_ms {
            if at_ms - last > SILENT_GAP_MS {
                if self.uplink_silent_gaps.len() == MAX_SILENT_GAPS {
                    self.uplink_silent_gaps.pop_front();
                }
                self.uplink_silent_gaps.push_back(SilentGap {
                    start_ms: last,
                    end_ms: at_ms,
                });
            }
        }
        self.last_audible_in_at_ms = Some(at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_gaps() {
        let mut u = UplinkReport::default();
        let json = serde_json::to_value(&u).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"rtpAudiblePacketsIn":0,"lastRtpInAtMs":null,
                "lastAudibleInAtMs":null,"uplinkSilentGaps":[],"uplinkLevelDbov":null})
        );
        // -49 dBov is audible, -50 is not; silence (-127) is not.
        u.packet(1000.0, Some(-30), 3);
        u.packet(1020.0, Some(-49), 3);
        u.packet(1040.0, Some(-50), 100);
        u.packet(1060.0, Some(-127), 100);
        assert_eq!(u.rtp_audible_packets_in, 2);
        assert_eq!(u.uplink_level_dbov, Some(-127));
        assert_eq!(
            (u.last_rtp_in_at_ms, u.last_audible_in_at_ms),
            (Some(1060.0), Some(1020.0))
        );
        // 60 ms between audible packets is no gap; 60.5 is.
        u.packet(1080.0, Some(0), 3);
        assert!(u.uplink_silent_gaps.is_empty());
        u.packet(1140.5, Some(-10), 3);
        assert_eq!(
            u.uplink_silent_gaps,
            [SilentGap {
                start_ms: 1080.0,
                end_ms: 1140.5
            }]
        );
        // Without the extension: the payload's size decides; the level stays.
        u.packet(1160.0, None, 20);
        u.packet(1300.0, None, 21);
        assert_eq!(u.rtp_audible_packets_in, 5);
        assert_eq!(u.uplink_level_dbov, Some(-10));
        assert_eq!(u.uplink_silent_gaps.len(), 2);
        assert_eq!(u.last_rtp_in_at_ms, Some(1300.0));
        // Only the last 16 gaps are kept.
        for i in 0..20 {
            u.packet(2000.0 + 100.0 * f64::from(i), Some(-20), 3);
        }
        assert_eq!(u.uplink_silent_gaps.len(), MAX_SILENT_GAPS);
        let last = u.uplink_silent_gaps.back().expect("a gap");
        assert_eq!((last.start_ms, last.end_ms), (3800.0, 3900.0));
        let json = serde_json::to_value(&u).expect("serializes");
        assert_eq!(json["uplinkSilentGaps"][15]["endMs"], 3900.0);
        assert_eq!(json["uplinkLevelDbov"], -20);
        let now = epoch_ms();
        assert!(now > 1.7e12 && now < 1e14, "{now}");
    }
}
