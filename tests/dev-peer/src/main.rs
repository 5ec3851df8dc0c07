//! voicelink dev peer: the WHIP (RFC 9725) server that voicelink's browser
//! tests and demo page talk to on loopback.
//!
//! A real WebRTC peer (str0m, ICE-lite, one UDP socket per session) that
//! echoes the browser's audio and data-channel messages, plus test-only
//! endpoints to inspect sessions (`GET /_dev/state`) and inject faults
//! (`POST /whip?fault=…&delay_ms=…`, `POST /_dev/sessions/<id>/end`).
//! See the README next to this crate's Cargo.toml.

mod cli;
mod files;
mod http;
mod session;
mod state;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use log::error;

use crate::cli::Args;
use crate::http::{App, Config};
use crate::state::Registry;

/// The IP address `--host` names (an address, or a name resolved once).
fn host_ip(host: &str, port: u16) -> Result<IpAddr, String> {
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(ip);
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve --host {host}: {e}"))?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| format!("--host {host} resolves to no address"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    str0m::crypto::from_feature_flags().install_process_default();

    let ip = match host_ip(&args.host, args.port) {
        Ok(ip) => ip,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    let server = match tiny_http::Server::http(SocketAddr::new(ip, args.port)) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot listen on {ip}:{}: {e}", args.port);
            return ExitCode::from(1);
        }
    };
    let bound = server
        .server_addr()
        .to_ip()
        .unwrap_or_else(|| SocketAddr::new(ip, args.port));

    let app = Arc::new(App {
        registry: Arc::new(Registry::new(Duration::from_secs(args.grace_secs))),
        config: Config {
            token: args.token.clone(),
            www: args.www.clone(),
            pkg: args.pkg.clone(),
            udp_ip: session::udp_bind_ip(ip),
        },
    });

    log::info!(
        "grace period for a lost transport: {} s (stored; resuming comes with ICE restart)",
        app.registry.grace.as_secs()
    );
    eprintln!("voicelink dev peer listening on http://{bound}");
    http::run(server, app);
    ExitCode::SUCCESS
}
