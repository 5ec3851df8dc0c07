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

    /// An ICE server advertised in a `Link` header on the `201` of
    /// `POST /whip` (RFC 9725 §4.6): a stun:, stuns:, turn: or turns: URL.
    /// Repeatable.
    #[arg(long = "ice-server", value_name = "URL", value_parser = parse_ice_url)]
    pub ice_servers: Vec<String>,

    /// Username advertised with every turn:/turns: `--ice-server`.
    #[arg(long, value_name = "NAME", requires = "ice_credential")]
    pub ice_username: Option<String>,

    /// Password advertised with every turn:/turns: `--ice-server`.
    #[arg(long, value_name = "SECRET", requires = "ice_username")]
    pub ice_credential: Option<String>,

    /// A UDP port on 127.0.0.1 that reads and drops every datagram: a STUN
    /// server that never answers (`stun:127.0.0.1:PORT`; 0 picks a free
    /// port, shown as `deadStunPort` in `/_dev/state`).
    #[arg(long, value_name = "PORT")]
    pub dead_stun: Option<u16>,
}

/// An ICE server URL (RFC 7064/7065): `stun:`, `stuns:`, `turn:` or
/// `turns:` (any case) and a host, no spaces, quotes or angle brackets
/// (it goes between `<` and `>` in a `Link` header).
pub fn parse_ice_url(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once(':')
        .ok_or_else(|| format!("{url:?} is not a stun:/stuns:/turn:/turns: URL"))?;
    let known = ["stun", "stuns", "turn", "turns"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme));
    if !known || rest.is_empty() {
        return Err(format!("{url:?} is not a stun:/stuns:/turn:/turns: URL"));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c))
    {
        return Err(format!("{url:?} has a space, quote or angle bracket"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_server_options() {
        let args = Args::try_parse_from([
            "voicelink-dev-peer",
            "--ice-server",
            "stun:127.0.0.1:3478",
            "--ice-server",
            "turn:127.0.0.1:3478?transport=udp",
            "--ice-username",
            "u",
            "--ice-credential",
            "c",
        ])
        .expect("parses");
        assert_eq!(
            args.ice_servers,
            ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"]
        );
        assert_eq!(
            (args.ice_username.as_deref(), args.ice_credential.as_deref()),
            (Some("u"), Some("c"))
        );
        let none = Args::try_parse_from(["voicelink-dev-peer"]).expect("parses");
        assert!(none.ice_servers.is_empty());
        assert_eq!(none.dead_stun, None);
        let dead = Args::try_parse_from(["voicelink-dev-peer", "--dead-stun", "3479"]);
        assert_eq!(dead.expect("parses").dead_stun, Some(3479));
        assert!(Args::try_parse_from(["voicelink-dev-peer", "--dead-stun", "x"]).is_err());
        for bad in ["http://x", "stun:", "turn", "stun:a b", "turn:<x>"] {
            assert!(parse_ice_url(bad).is_err(), "accepted {bad}");
        }
        assert!(parse_ice_url("TURNS:turn.example.net:443").is_ok());
        // A username needs a credential and the other way round.
        assert!(Args::try_parse_from(["voicelink-dev-peer", "--ice-username", "u"]).is_err());
        assert!(Args::try_parse_from(["voicelink-dev-peer", "--ice-credential", "c"]).is_err());
    }
}
