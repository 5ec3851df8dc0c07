//! voicelink dev peer: the WHIP (RFC 9725) server that voicelink's browser
//! tests and demo page talk to on loopback, which also speaks the offer
//! endpoints of OpenAI Realtime (`POST /v1/realtime/calls`) and Pipecat
//! SmallWebRTC (`POST|PATCH /api/offer`).
//!
//! A real WebRTC peer (str0m, ICE-lite, one UDP socket per session) that
//! echoes the browser's audio and data-channel messages, resumes sessions
//! by ICE restart (`PATCH`), plus test-only endpoints to inspect sessions
//! (`GET /_dev/state`) and inject faults (`POST /whip?fault=…&delay_ms=…`,
//! `POST /_dev/sessions/<id>/end|drop|delay`, `POST /_dev/faults`,
//! `POST /_dev/restart`), and serves the control WebSocket (`GET /control`,
//! inspected at `GET /_dev/control`, driven by `POST /_dev/control/…`).
//! `--dead-stun PORT` adds a UDP port that never answers (a dead STUN server).
//! HTTP is axum on tokio; each session runs on a thread of its own.
//! See the README next to this crate's Cargo.toml.

mod cli;
mod control;
mod deadstun;
mod delay;
mod faults;
mod http;
mod sdpfrag;
mod session;
mod state;

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use log::error;

use crate::cli::Args;
use crate::http::{App, Config, IceServer};
use crate::state::Registry;

/// After the `202` of a restart has been handed to hyper: time for it to
/// reach the socket before exec closes every descriptor.
const SENT_SLACK: Duration = Duration::from_millis(50);

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

/// Set by `POST /_dev/restart` for the re-executed image: `<down_ms>:<port>`
/// (stay down that long, then listen on that port if `--port` was 0).
const RESTART_ENV: &str = "VOICELINK_DEV_PEER_RESTART";

/// The restart this image is part of, if any (and clear it from the environment).
fn take_restart() -> Option<(Duration, u16)> {
    let value = std::env::var(RESTART_ENV).ok()?;
    // Still single-threaded here: nothing else reads the environment.
    std::env::remove_var(RESTART_ENV);
    let (ms, port) = value.split_once(':')?;
    Some((Duration::from_millis(ms.parse().ok()?), port.parse().ok()?))
}

/// Replace this process by a fresh run of the same binary with the same
/// arguments (same PID). Every socket closes on exec (std opens them
/// close-on-exec), which also ends every session; the new image stays down
/// for `down` before it listens again. Returns only if exec failed.
fn re_exec(down: Duration, port: u16) -> std::io::Error {
    let mut args = std::env::args_os();
    let arg0 = args
        .next()
        .unwrap_or_else(|| OsString::from("voicelink-dev-peer"));
    let rest: Vec<OsString> = args.collect();
    let env = format!("{}:{port}", down.as_millis());
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| p.exists())
        // Rebuilt meanwhile: the running image is still reachable here.
        .unwrap_or_else(|| "/proc/self/exe".into());
    Command::new(exe)
        .arg0(arg0)
        .args(rest)
        .env(RESTART_ENV, env)
        .exec()
}

/// Wait (up to 1 s) until connecting to `addr` is refused: the server's
/// accept loop drops its listener shortly after it is told to stop.
fn wait_refused(addr: SocketAddr) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    log::warn!("the HTTP listener on {addr} still accepts connections");
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let restarted = take_restart();
    if let Some((down, _)) = restarted {
        log::info!(
            "restarted (pid {}): every session is gone; listening again in {} ms",
            std::process::id(),
            down.as_millis()
        );
        thread::sleep(down);
    }
    // `--port 0` keeps the port it got on the first run.
    let port = match restarted {
        Some((_, p)) if args.port == 0 => p,
        _ => args.port,
    };

    str0m::crypto::from_feature_flags().install_process_default();

    let ip = match host_ip(&args.host, port) {
        Ok(ip) => ip,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    // std's listener: SO_REUSEADDR (so the re-executed image can listen on the
    // same port at once) and close-on-exec.
    let listener = match TcpListener::bind(SocketAddr::new(ip, port)) {
        Ok(l) => l,
        Err(e) => {
            error!("cannot listen on {ip}:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    let bound = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::new(ip, port));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("http")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };

    let (restart_tx, restart_rx) = tokio::sync::mpsc::unbounded_channel();
    let ice_servers = args
        .ice_servers
        .iter()
        .map(|url| IceServer {
            url: url.clone(),
            username: args.ice_username.clone(),
            credential: args.ice_credential.clone(),
        })
        .collect();
    let app = Arc::new(App {
        registry: Arc::new(Registry::new(Duration::from_secs(args.grace_secs))),
        config: Config {
            token: args.token.clone(),
            www: args.www.clone(),
            pkg: args.pkg.clone(),
            udp_ip: session::udp_bind_ip(ip),
            ice_servers,
        },
        control: control::Hub::new(),
        restart: restart_tx,
    });

    if let Some(port) = args.dead_stun {
        if let Err(e) = deadstun::spawn(&app.registry, port) {
            error!("cannot bind --dead-stun udp 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    }
    log::info!(
        "grace period for an interrupted session: {} s",
        app.registry.grace.as_secs()
    );
    for server in &app.config.ice_servers {
        log::info!("advertising ICE server: Link: {}", server.link());
    }
    let mut restarts = restart_rx;
    let served = runtime.block_on(async {
        let stop = http::spawn(listener, app)?;
        eprintln!("voicelink dev peer listening on http://{bound}");
        let restart = restarts.recv().await;
        // The accept loop ends and drops the listener.
        let _ = stop.send(());
        Ok::<_, std::io::Error>(restart)
    });
    let restart = match served {
        Ok(Some(restart)) => restart,
        Ok(None) => return ExitCode::FAILURE,
        Err(e) => {
            error!("cannot serve on {bound}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The listener is closing (new connections are refused from here on);
    // then let the 202 go out (the runtime keeps serving it); exec closes
    // the rest: open HTTP connections and every session's socket.
    wait_refused(bound);
    let _ = restart.closed.send(());
    if restart.sent.recv_timeout(Duration::from_secs(3)).is_ok() {
        thread::sleep(SENT_SLACK);
    }
    let down = restart.down;
    log::info!(
        "restarting: down for {} ms, then the same binary again (pid {})",
        down.as_millis(),
        std::process::id()
    );
    let e = re_exec(down, bound.port());
    error!("cannot re-execute {:?}: {e}", std::env::current_exe());
    ExitCode::FAILURE
}
