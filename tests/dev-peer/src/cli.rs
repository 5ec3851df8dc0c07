//! Command-line options.

use std::path::PathBuf;

use clap::Parser;

/// Development WHIP peer for voicelink: a real WebRTC server on loopback that
/// echoes the browser's audio and data-channel messages back to it.
#[derive(Debug, Clone, Parser)]
#[command(name = "voicelink-dev-peer", version, about)]
pub struct Args {
    /// Address to listen on (HTTP) and to bind each session's UDP socket to.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// HTTP port (0 picks a free one; the ready line says which).
    #[arg(long, default_value_t = 7878)]
    pub port: u16,

    /// Directory served at `/` (`GET /` serves its index.html).
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,

    /// Directory served at `/pkg/` (the built wasm package).
    #[arg(long, value_name = "DIR")]
    pub pkg: Option<PathBuf>,

    /// When set, `POST /whip` requires `Authorization: Bearer <TOKEN>`.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Seconds a session whose transport was lost stays "interrupted",
    /// waiting for an ICE restart (`PATCH`), before it ends as expired.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub grace_secs: u64,
}
