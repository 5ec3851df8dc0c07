//! The TypeScript declarations of the JS surface, generated from the Rust types with ts-rs.
//! `js/types.d.ts` (shipped as `pkg/types.d.ts`) is this module's output, byte for byte:
//! `cargo test -p voicelink --lib` fails when the file is stale, and
//! `VOICELINK_WRITE_TYPES=1 cargo test -p voicelink --lib types` rewrites it.

use ts_rs::{Config, TS};

use super::control::ControlState;
use super::error::ErrorCode;
use super::machine::{ConnectPhase, ConnectTimings, EndReason, Status};
use super::options::{IceServer, RawAudio, RawControl, RawOptions};
use super::quality::{Grade, Metric, Quality};
use super::snapshot::{ControlView, ErrorInfo, Snapshot};

/// Where the generated declarations live, relative to the crate root.
pub const TYPES_PATH: &str = "js/types.d.ts";

fn declare<T: TS>(cfg: &Config, out: &mut String) {
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

/// Every exported declaration, in reading order (options, snapshot, its parts, codes).
pub fn declarations() -> String {
    let cfg = Config::new();
    let mut out = String::from(
        "// Generated from the Rust types by ts-rs (src/core/types.rs). Do not edit: change the Rust\n\
         // type, then run `VOICELINK_WRITE_TYPES=1 cargo test -p voicelink --lib types`.\n\n\
         import type { VoiceLinkSignaling } from \"./signaling.js\";\n\n",
    );
    declare::<RawOptions>(&cfg, &mut out);
    declare::<RawAudio>(&cfg, &mut out);
    declare::<IceServer>(&cfg, &mut out);
    declare::<RawControl>(&cfg, &mut out);
    declare::<Snapshot>(&cfg, &mut out);
    declare::<Status>(&cfg, &mut out);
    declare::<ConnectPhase>(&cfg, &mut out);
    declare::<EndReason>(&cfg, &mut out);
    declare::<ConnectTimings>(&cfg, &mut out);
    declare::<ErrorInfo>(&cfg, &mut out);
    declare::<Quality>(&cfg, &mut out);
    declare::<Grade>(&cfg, &mut out);
    declare::<Metric>(&cfg, &mut out);
    declare::<ControlView>(&cfg, &mut out);
    declare::<ControlState>(&cfg, &mut out);
    declare::<ErrorCode>(&cfg, &mut out);
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The union a `js_names!` enum must have in TypeScript.
    fn union(names: impl Iterator<Item = &'static str>) -> String {
        names.map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(" | ")
    }

    #[test]
    fn string_forms_match_the_typescript_unions() {
        let cfg = Config::new();
        let checks = [
            (Status::decl(&cfg), union(Status::ALL.iter().map(|s| s.as_str()))),
            (ConnectPhase::decl(&cfg), union(ConnectPhase::ALL.iter().map(|s| s.as_str()))),
            (EndReason::decl(&cfg), union(EndReason::ALL.iter().map(|s| s.as_str()))),
            (ControlState::decl(&cfg), union(ControlState::ALL.iter().map(|s| s.as_str()))),
            (Grade::decl(&cfg), union(Grade::ALL.iter().map(|s| s.as_str()))),
            (Metric::decl(&cfg), union(Metric::ALL.iter().map(|s| s.as_str()))),
            (ErrorCode::decl(&cfg), union(ErrorCode::ALL.iter().map(|s| s.as_str()))),
        ];
        for (decl, expected) in checks {
            assert!(decl.contains(&format!("= {expected};")), "{decl}\nexpected the union {expected}");
        }
    }

    #[test]
    fn types_file_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(TYPES_PATH);
        let generated = declarations();
        if std::env::var_os("VOICELINK_WRITE_TYPES").is_some() {
            std::fs::write(&path, &generated).expect("write js/types.d.ts");
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{TYPES_PATH} is stale: run `VOICELINK_WRITE_TYPES=1 cargo test -p voicelink --lib types` and commit it"
        );
    }
}
