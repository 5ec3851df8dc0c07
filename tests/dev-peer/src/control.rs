//! The control WebSocket (`GET /control`, RFC 6455) that voicelink may open
//! beside the media connection, and its test switches (`/_dev/control…`).
//!
//! The upgrade is answered through tiny_http (`Request::upgrade`); the
//! protocol is tungstenite's, over the stream tiny_http hands back. Each
//! connection lives on the thread of its upgrade request, so it holds up
//! nothing else. That one thread both reads and writes: the socket gets a
//! short read timeout ([`POLL`]) and between reads the thread carries out
//! what the switches asked (push, close, silence).
//!
//! Protocol (text frames, JSON): `{"type":"session_info","session_id":"X"}`
//! is answered `{"type":"session_confirmed","session_id":"X"}` and names the
//! connection's session; `{"type":"ping","ts":T}` is answered
//! `{"type":"pong","ts":T}`. Every message received is recorded.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use log::{debug, info, warn};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tiny_http::{Header, ReadWrite, Response, StatusCode};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocket};
use tungstenite::{Error as WsError, Message};

use crate::files::percent_decode;
use crate::http::{Reply, Req};
use crate::state::lock;

/// At most this many connections are kept in the report; the oldest closed
/// ones are dropped first, open ones never.
pub const MAX_KEPT_CONNECTIONS: usize = 500;

/// Read timeout of a connection's socket: how often its thread looks for
/// switch requests while the client is quiet.
const POLL: Duration = Duration::from_millis(10);

/// A write that blocks this long fails (the client stopped reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// After the server sent its close frame: how long the client has to answer
/// with its own before the TCP connection is closed anyway.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How long a switch waits for a connection's thread to act on it.
const SWITCH_WAIT: Duration = Duration::from_secs(3);

/// The close code recorded for a client close frame without a code (RFC 6455 §7.1.5).
const NO_STATUS: u16 = 1005;

/// One connection as `GET /_dev/control` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnReport {
    /// Connection number, from 1, in the order they were accepted.
    pub id: u64,
    /// The `session_id` of the last `session_info` received.
    pub session_id: Option<String>,
    /// Whether the connection is still up.
    pub open: bool,
    /// The code of the close frame the client sent (1005: one without a
    /// code); `null` while open, or when the connection ended without one.
    pub close_code: Option<u16>,
    /// Every message received, in order (text as is; binary as UTF-8 when
    /// valid, else base64).
    pub messages: Vec<String>,
}

/// The whole `GET /_dev/control` document.
#[derive(Debug, Clone, Serialize)]
pub struct ControlReport {
    /// Kept connections, oldest first.
    pub connections: Vec<ConnReport>,
}

/// What a test switch asks of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send each text as one text frame, in order.
    Push(Vec<String>),
    /// Send a close frame with this code and end the connection.
    Close(u16),
    /// Stop (`true`) or resume answering: while silenced nothing is sent but
    /// close frames.
    Silence(bool),
}

/// An [`Action`] on its way to a connection's thread.
#[derive(Debug)]
struct ConnCommand {
    action: Action,
    /// Signalled once the thread has acted on it.
    done: Sender<()>,
}

/// A connection as the hub holds it.
#[derive(Debug)]
struct Conn {
    report: Mutex<ConnReport>,
    commands: Mutex<Option<Sender<ConnCommand>>>,
}

impl Conn {
    fn update<R>(&self, f: impl FnOnce(&mut ConnReport) -> R) -> R {
        f(&mut lock(&self.report))
    }

    fn is_open(&self) -> bool {
        lock(&self.report).open
    }

    /// Whether the connection is open and announced `session_id`.
    fn is_open_for(&self, session_id: &str) -> bool {
        let report = lock(&self.report);
        report.open && report.session_id.as_deref() == Some(session_id)
    }

    /// Hand a command to the connection's thread; gives it back if the
    /// connection has ended.
    fn send(&self, cmd: ConnCommand) -> Result<(), ConnCommand> {
        match lock(&self.commands).as_ref() {
            Some(tx) => tx.send(cmd).map_err(|mpsc::SendError(cmd)| cmd),
            None => Err(cmd),
        }
    }

    /// The connection has ended: no more commands.
    fn finish(&self) {
        lock(&self.commands).take();
        self.update(|r| r.open = false);
    }
}

#[derive(Debug, Default)]
struct HubInner {
    conns: VecDeque<Arc<Conn>>,
    created: u64,
}

/// Every control connection (the last [`MAX_KEPT_CONNECTIONS`]).
#[derive(Debug, Default)]
pub struct Hub {
    inner: Mutex<HubInner>,
}

impl Hub {
    /// No connection yet.
    pub fn new() -> Hub {
        Hub::default()
    }

    /// Register a new open connection, reached through `commands`.
    fn add(&self, commands: Sender<ConnCommand>) -> Arc<Conn> {
        let mut inner = lock(&self.inner);
        inner.created += 1;
        let conn = Arc::new(Conn {
            report: Mutex::new(ConnReport {
                id: inner.created,
                session_id: None,
                open: true,
                close_code: None,
                messages: Vec::new(),
            }),
            commands: Mutex::new(Some(commands)),
        });
        inner.conns.push_back(conn.clone());
        let mut excess = inner.conns.len().saturating_sub(MAX_KEPT_CONNECTIONS);
        if excess > 0 {
            inner.conns.retain(|c| {
                if excess == 0 || c.is_open() {
                    return true;
                }
                excess -= 1;
                false
            });
        }
        conn
    }

    /// The `GET /_dev/control` document.
    pub fn report(&self) -> ControlReport {
        let conns: Vec<Arc<Conn>> = lock(&self.inner).conns.iter().cloned().collect();
        ControlReport {
            connections: conns.iter().map(|c| lock(&c.report).clone()).collect(),
        }
    }

    /// The open connections announced with `session_id`.
    fn open_for(&self, session_id: &str) -> Vec<Arc<Conn>> {
        lock(&self.inner)
            .conns
            .iter()
            .filter(|c| c.is_open_for(session_id))
            .cloned()
            .collect()
    }
}

/// Check a `GET /control` request for a WebSocket upgrade (RFC 6455 §4.2.1);
/// `Ok` is the `Sec-WebSocket-Accept` value, `Err` the reply to send
/// instead. Any `Origin` is accepted.
pub fn handshake(req: &Req) -> Result<String, Reply> {
    let has_token = |name: &str, token: &str| {
        req.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("Upgrade", "websocket") || !has_token("Connection", "upgrade") {
        return Err(
            Reply::text(426, "GET /control takes a WebSocket upgrade only")
                .with("Upgrade", "websocket"),
        );
    }
    if req.header("Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err(Reply::text(426, "Sec-WebSocket-Version must be 13")
            .with("Sec-WebSocket-Version", "13"));
    }
    let key = req.header("Sec-WebSocket-Key").map(str::trim).unwrap_or("");
    let nonce = base64::engine::general_purpose::STANDARD.decode(key);
    if !nonce.is_ok_and(|n| n.len() == 16) {
        return Err(Reply::text(
            400,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ));
    }
    Ok(derive_accept_key(key.as_bytes()))
}

/// A duplicate of this process's TCP socket that is connected to `peer`
/// (the one tiny_http accepted the upgrade request on), found among the
/// open descriptors: tiny_http does not hand its socket out, and the
/// connection's thread needs a read timeout on it.
fn socket_to(peer: SocketAddr) -> io::Result<TcpStream> {
    for entry in fs::read_dir("/proc/self/fd")?.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        let is_socket = fs::read_link(entry.path())
            .is_ok_and(|t| t.as_os_str().as_encoded_bytes().starts_with(b"socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: `fd` was open when listed and is only borrowed to be
        // duplicated at once. The socket we look for stays open (its request
        // is alive); another descriptor closed (and maybe reused) meanwhile
        // at worst yields a duplicate of something else, which the address
        // check below rejects (dropping it closes only the duplicate).
        let Ok(owned) = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned() else {
            continue;
        };
        let stream = TcpStream::from(owned);
        if stream.peer_addr().is_ok_and(|a| a == peer) {
            return Ok(stream);
        }
    }
    Err(io::Error::new(
        ErrorKind::NotFound,
        format!("no TCP socket connected to {peer}"),
    ))
}

/// Set the socket options a connection's thread relies on.
fn tune(peer: Option<SocketAddr>) -> io::Result<()> {
    let peer = peer.ok_or_else(|| io::Error::new(ErrorKind::NotFound, "no peer address"))?;
    let socket = socket_to(peer)?;
    // Options belong to the socket, so they hold for tiny_http's descriptors too.
    socket.set_read_timeout(Some(POLL))?;
    socket.set_write_timeout(Some(WRITE_TIMEOUT))?;
    socket.set_nodelay(true)
}

/// Answer `101 Switching Protocols` and run the connection on this thread
/// until it ends. Returns the log line for the request.
pub fn serve(hub: &Hub, request: tiny_http::Request, accept_key: &str) -> String {
    if let Err(e) = tune(request.remote_addr().copied()) {
        warn!("GET /control: cannot set up the socket: {e}");
        let response = Response::from_string(format!("cannot set up the socket: {e}"))
            .with_status_code(StatusCode(500));
        let _ = request.respond(response);
        return "GET /control -> 500".into();
    }
    let mut response = Response::empty(StatusCode(101));
    match Header::from_bytes(&b"Sec-WebSocket-Accept"[..], accept_key.as_bytes()) {
        Ok(h) => response.add_header(h),
        Err(()) => warn!("bad Sec-WebSocket-Accept {accept_key:?}"),
    }
    let stream = request.upgrade("websocket", response);
    let (tx, rx) = mpsc::channel();
    let conn = hub.add(tx);
    let id = lock(&conn.report).id;
    info!("GET /control -> 101: control connection #{id} open");
    let started = Instant::now();
    let why = run(&conn, stream, &rx);
    let report = lock(&conn.report).clone();
    format!(
        "control connection #{id} (session {}) ended after {} ms: {why}; close code {:?}, {} messages",
        report.session_id.as_deref().unwrap_or("-"),
        started.elapsed().as_millis(),
        report.close_code,
        report.messages.len()
    )
}

/// Drive one connection until it ends; returns why it ended.
fn run(conn: &Conn, stream: Box<dyn ReadWrite + Send>, commands: &Receiver<ConnCommand>) -> String {
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, None);
    let mut silenced = false;
    let mut closing: Option<Instant> = None;
    let why = loop {
        while let Ok(ConnCommand { action, done }) = commands.try_recv() {
            match action {
                Action::Push(texts) if !silenced => {
                    for text in texts {
                        write(&mut ws, Message::text(text));
                    }
                    flush(&mut ws);
                }
                Action::Push(texts) => {
                    debug!("silenced: {} pushed messages not sent", texts.len());
                }
                Action::Close(code) => {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: "".into(),
                    };
                    if let Err(e) = ws.close(Some(frame)) {
                        debug!("close frame: {e}");
                    }
                    closing.get_or_insert_with(Instant::now);
                }
                Action::Silence(on) => silenced = on,
            }
            let _ = done.send(());
        }
        if closing.is_some_and(|t| t.elapsed() >= CLOSE_WAIT) {
            break "the client did not answer the close frame".to_string();
        }
        match ws.read() {
            Ok(Message::Text(text)) => {
                let text = text.as_str();
                let answer = answer(text);
                conn.update(|r| {
                    r.messages.push(text.to_string());
                    if let Some(id) = &answer.session_id {
                        r.session_id = Some(id.clone());
                    }
                });
                if let Some(id) = &answer.session_id {
                    info!("control connection announced session {id}");
                }
                if let Some(reply) = answer.reply.filter(|_| !silenced) {
                    write(&mut ws, Message::text(reply));
                    flush(&mut ws);
                }
            }
            Ok(Message::Binary(bytes)) => {
                let text = match std::str::from_utf8(&bytes) {
                    Ok(s) => s.to_string(),
                    Err(_) => base64::engine::general_purpose::STANDARD.encode(&bytes),
                };
                conn.update(|r| r.messages.push(text));
            }
            Ok(Message::Close(frame)) => {
                let code = frame.map_or(NO_STATUS, |f| u16::from(f.code));
                conn.update(|r| r.close_code = Some(code));
                // tungstenite answers it on the next read; that read ends the loop.
            }
            Ok(_) => {}
            Err(WsError::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => break "closed".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    // Dropping tiny_http's stream shuts the socket down.
    drop(ws);
    conn.finish();
    why
}

/// Queue a message (a full write buffer or a timed-out write only delays it).
fn write(ws: &mut WebSocket<Box<dyn ReadWrite + Send>>, message: Message) {
    if let Err(e) = ws.write(message) {
        debug!("control write: {e}");
    }
}

fn flush(ws: &mut WebSocket<Box<dyn ReadWrite + Send>>) {
    if let Err(e) = ws.flush() {
        debug!("control flush: {e}");
    }
}

/// What the server makes of a text message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// A `session_info`'s session id.
    pub session_id: Option<String>,
    /// The reply to send (unless silenced).
    pub reply: Option<String>,
}

/// The server's side of the protocol: `session_info` is confirmed, `ping`
/// is answered by `pong` (with the same `ts` when given); anything else
/// (other types, not JSON) gets no answer.
pub fn answer(text: &str) -> Answer {
    let Ok(Value::Object(msg)) = serde_json::from_str::<Value>(text) else {
        return Answer::default();
    };
    match msg.get("type").and_then(Value::as_str) {
        Some("session_info") => match msg.get("session_id") {
            Some(Value::String(id)) => Answer {
                session_id: Some(id.clone()),
                reply: Some(format!(
                    r#"{{"type":"session_confirmed","session_id":{}}}"#,
                    Value::String(id.clone())
                )),
            },
            _ => Answer::default(),
        },
        Some("ping") => Answer {
            session_id: None,
            reply: Some(match msg.get("ts") {
                Some(ts) => format!(r#"{{"type":"pong","ts":{ts}}}"#),
                None => r#"{"type":"pong"}"#.to_string(),
            }),
        },
        _ => Answer::default(),
    }
}

/// The query parameters, percent-decoded; any name not in `allowed` is an error.
fn params(query: &str, allowed: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&key) {
            return Err(format!(
                "unknown parameter {key:?} ({})",
                allowed.join(", ")
            ));
        }
        let value = percent_decode(value).ok_or_else(|| format!("{key}: bad percent-encoding"))?;
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// The last value of parameter `name`, if any.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The body of `POST /_dev/control/push`: a JSON array; a string element
/// is sent as its content, any other as its JSON text, exactly as written
/// (key order kept).
pub fn parse_push_body(body: &[u8]) -> Result<Vec<String>, String> {
    let items: Vec<Box<RawValue>> =
        serde_json::from_slice(body).map_err(|e| format!("the body must be a JSON array: {e}"))?;
    items
        .into_iter()
        .map(|item| {
            if item.get().starts_with('"') {
                serde_json::from_str::<String>(item.get()).map_err(|e| e.to_string())
            } else {
                Ok(item.get().to_string())
            }
        })
        .collect()
}

/// A switch request: `action` (`push`, `close`, `silence`), its query and
/// body. Returns the session id and what to do.
pub fn parse_switch(action: &str, query: &str, body: &[u8]) -> Result<(String, Action), String> {
    let allowed: &[&str] = match action {
        "push" => &["session_id"],
        "close" => &["session_id", "code"],
        "silence" => &["session_id", "on"],
        other => return Err(format!("unknown switch {other:?}")),
    };
    let params = params(query, allowed)?;
    let session_id = param(&params, "session_id")
        .filter(|s| !s.is_empty())
        .ok_or("session_id is required")?
        .to_string();
    let action = match action {
        "push" => Action::Push(parse_push_body(body)?),
        "close" => {
            let value = param(&params, "code").unwrap_or("");
            let code = value
                .parse::<u16>()
                .ok()
                .filter(|c| *c == 1000 || (3000..=4999).contains(c))
                .ok_or_else(|| format!("code must be 1000 or 3000..=4999, got {value:?}"))?;
            Action::Close(code)
        }
        _ => Action::Silence(match param(&params, "on") {
            Some("1" | "true") => true,
            Some("0" | "false") => false,
            other => return Err(format!("on must be 1 or 0, got {other:?}")),
        }),
    };
    Ok((session_id, action))
}

/// `POST /_dev/control/<push|close|silence>?session_id=X…`: `200` once
/// every open connection announced with X has acted on it, `404` if there
/// is none, `400` for bad parameters.
pub fn switch(hub: &Hub, req: &Req, action: &str) -> Reply {
    if !matches!(action, "push" | "close" | "silence") {
        return Reply::text(404, "not found");
    }
    let (session_id, action) = match parse_switch(action, &req.query, &req.body) {
        Ok(v) => v,
        Err(reason) => return Reply::text(400, reason),
    };
    let mut reached = 0;
    for conn in hub.open_for(&session_id) {
        let (done, acted) = mpsc::channel();
        let cmd = ConnCommand {
            action: action.clone(),
            done,
        };
        if conn.send(cmd).is_ok() && acted.recv_timeout(SWITCH_WAIT).is_ok() {
            reached += 1;
        }
    }
    if reached == 0 {
        return Reply::text(
            404,
            format!("no open control connection announced session {session_id:?}"),
        );
    }
    info!("control switch {action:?} for session {session_id}: {reached} connection(s)");
    Reply::text(200, format!("{reached} connection(s)"))
}

/// `GET /_dev/control`.
pub fn report(hub: &Hub) -> Reply {
    match serde_json::to_vec(&hub.report()) {
        Ok(json) => Reply::new(200, "application/json", json).with("Cache-Control", "no-store"),
        Err(e) => Reply::text(500, format!("cannot serialize the report: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(headers: &[(&str, &str)]) -> Req {
        Req {
            method: "GET".into(),
            path: "/control".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    const UPGRADE: [(&str, &str); 4] = [
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        // RFC 6455 §1.3's example.
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn handshake_checks() {
        assert_eq!(
            handshake(&get(&UPGRADE)).map_err(|r| r.status),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_string())
        );
        let mut with_origin = UPGRADE.to_vec();
        with_origin.push(("Origin", "http://127.0.0.1:40000"));
        assert!(handshake(&get(&with_origin)).is_ok(), "any Origin");
        assert_eq!(handshake(&get(&[])).map_err(|r| r.status), Err(426));
        let mut v12 = UPGRADE.to_vec();
        v12[2].1 = "12";
        assert_eq!(handshake(&get(&v12)).map_err(|r| r.status), Err(426));
        let mut bad_key = UPGRADE.to_vec();
        bad_key[3].1 = "c2hvcnQ=";
        assert_eq!(handshake(&get(&bad_key)).map_err(|r| r.status), Err(400));
    }

    #[test]
    fn protocol_answers() {
        assert_eq!(
            answer(r#"{"type":"session_info","session_id":"abc\"d"}"#),
            Answer {
                session_id: Some("abc\"d".into()),
                reply: Some(r#"{"type":"session_confirmed","session_id":"abc\"d"}"#.into()),
            }
        );
        assert_eq!(
            answer(r#"{"type":"ping","ts":1712.5}"#).reply.as_deref(),
            Some(r#"{"type":"pong","ts":1712.5}"#)
        );
        assert_eq!(
            answer(r#"{"type":"ping"}"#).reply.as_deref(),
            Some(r#"{"type":"pong"}"#)
        );
        assert_eq!(answer(r#"{"type":"session_info"}"#), Answer::default());
        assert_eq!(answer(r#"{"type":"app","n":1}"#), Answer::default());
        assert_eq!(answer("not json"), Answer::default());
        assert_eq!(answer("[1]"), Answer::default());
    }

    #[test]
    fn push_body() {
        let body = br#"[{"type":"transcript","text":"hello"}, "not json",3,null,["x"],"\u00e9\n"]"#;
        assert_eq!(
            parse_push_body(body).expect("parses"),
            [
                r#"{"type":"transcript","text":"hello"}"#,
                "not json",
                "3",
                "null",
                r#"["x"]"#,
                "\u{e9}\n"
            ]
        );
        assert_eq!(parse_push_body(b"[]"), Ok(Vec::new()));
        assert!(parse_push_body(b"{\"type\":\"x\"}").is_err());
        assert!(parse_push_body(b"not json").is_err());
        assert!(parse_push_body(b"").is_err());
    }

    #[test]
    fn switch_queries() {
        assert_eq!(
            parse_switch("push", "session_id=abc", b"[\"x\"]"),
            Ok(("abc".into(), Action::Push(vec!["x".into()])))
        );
        assert_eq!(
            parse_switch("close", "session_id=a%20b&code=4001", b""),
            Ok(("a b".into(), Action::Close(4001)))
        );
        assert_eq!(
            parse_switch("close", "code=1000&session_id=s", b""),
            Ok(("s".into(), Action::Close(1000)))
        );
        assert_eq!(
            parse_switch("silence", "session_id=s&on=1", b""),
            Ok(("s".into(), Action::Silence(true)))
        );
        assert_eq!(
            parse_switch("silence", "session_id=s&on=0", b""),
            Ok(("s".into(), Action::Silence(false)))
        );
        for (action, query, body) in [
            ("push", "", &b"[]"[..]),
            ("push", "session_id=", b"[]"),
            ("push", "session_id=s", b"{}"),
            ("push", "session_id=s&x=1", b"[]"),
            ("close", "session_id=s", b""),
            ("close", "session_id=s&code=1001", b""),
            ("close", "session_id=s&code=2999", b""),
            ("close", "session_id=s&code=5000", b""),
            ("close", "session_id=s&code=x", b""),
            ("silence", "session_id=s", b""),
            ("silence", "session_id=s&on=2", b""),
            ("silence", "session_id=%zz&on=1", b""),
            ("nope", "session_id=s", b""),
        ] {
            assert!(
                parse_switch(action, query, body).is_err(),
                "accepted {action} {query}"
            );
        }
    }

    #[test]
    fn report_and_routing() {
        let hub = Hub::new();
        assert_eq!(
            serde_json::to_value(hub.report()).expect("json"),
            serde_json::json!({"connections": []})
        );
        let (tx, rx) = mpsc::channel();
        let a = hub.add(tx);
        let (tx2, _rx2) = mpsc::channel();
        let b = hub.add(tx2);
        a.update(|r| {
            r.session_id = Some("S".into());
            r.messages.push("hi".into());
        });
        b.update(|r| r.session_id = Some("T".into()));
        b.finish();
        b.update(|r| r.close_code = Some(1000));
        let json = serde_json::to_value(hub.report()).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"connections": [
                {"id": 1, "sessionId": "S", "open": true, "closeCode": null, "messages": ["hi"]},
                {"id": 2, "sessionId": "T", "open": false, "closeCode": 1000, "messages": []},
            ]})
        );
        assert_eq!(hub.open_for("S").len(), 1);
        assert!(hub.open_for("T").is_empty(), "closed ones are not reached");

        let post = |url: &str, body: &str| {
            let (path, query) = url.split_once('?').unwrap_or((url, ""));
            Req {
                method: "POST".into(),
                path: path.into(),
                query: query.into(),
                headers: Vec::new(),
                body: body.as_bytes().to_vec(),
            }
        };
        assert_eq!(
            switch(&hub, &post("x?session_id=T", "[]"), "push").status,
            404
        );
        assert_eq!(
            switch(&hub, &post("x?session_id=S", "{}"), "push").status,
            400
        );
        assert_eq!(
            switch(&hub, &post("x?session_id=S", "[]"), "nope").status,
            404
        );
        // A thread stands in for the connection's.
        let responder = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let cmd = rx.recv().expect("a command");
                seen.push(cmd.action);
                cmd.done.send(()).expect("done");
            }
            seen
        });
        let r = switch(&hub, &post("x?session_id=S", r#"["a",{"b":1}]"#), "push");
        assert_eq!(r.status, 200);
        let r = switch(&hub, &post("x?session_id=S&code=4001", ""), "close");
        assert_eq!(r.status, 200);
        assert_eq!(
            responder.join().expect("responder"),
            [
                Action::Push(vec!["a".into(), r#"{"b":1}"#.into()]),
                Action::Close(4001)
            ]
        );
        // Its thread is gone: no longer reached.
        let r = switch(&hub, &post("x?session_id=S&on=1", ""), "silence");
        assert_eq!(r.status, 404);
    }

    #[test]
    fn keeps_open_connections_and_caps_closed() {
        let hub = Hub::new();
        let (tx, _rx) = mpsc::channel();
        let first = hub.add(tx.clone());
        for _ in 0..MAX_KEPT_CONNECTIONS + 10 {
            hub.add(tx.clone()).finish();
        }
        let report = hub.report();
        assert_eq!(report.connections.len(), MAX_KEPT_CONNECTIONS);
        assert_eq!(report.connections[0].id, 1);
        assert!(first.is_open());
        assert_eq!(report.connections[1].id, 13);
        assert_eq!(report.connections.last().map(|c| c.id), Some(511));
    }

    /// A real connection over loopback: handshake bytes, the protocol, a
    /// push and a client close, driven by tungstenite's client.
    #[test]
    fn over_a_socket() {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tiny_http::Server::from_listener(listener, None).expect("server");
        let hub = Arc::new(Hub::new());
        let h = hub.clone();
        let serving = std::thread::spawn(move || {
            let request = server.recv().expect("a request");
            let headers = crate::http::header_pairs(&request);
            let req = Req {
                method: "GET".into(),
                path: "/control".into(),
                query: String::new(),
                headers,
                body: Vec::new(),
            };
            let key = handshake(&req).expect("an upgrade");
            serve(&h, request, &key)
        });

        let mut tcp = TcpStream::connect(addr).expect("connect");
        write!(
            tcp,
            "GET /control HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Origin: http://example.test\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        .expect("request");
        let mut reader = BufReader::new(tcp.try_clone().expect("clone"));
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("line");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
        assert!(reader.buffer().is_empty());
        let mut ws = WebSocket::from_raw_socket(tcp, Role::Client, None);
        let read_text = |ws: &mut WebSocket<TcpStream>| match ws.read().expect("a message") {
            Message::Text(t) => t.as_str().to_string(),
            other => panic!("unexpected {other:?}"),
        };
        ws.send(Message::text(
            r#"{"type":"session_info","session_id":"S1"}"#,
        ))
        .expect("send");
        assert_eq!(
            read_text(&mut ws),
            r#"{"type":"session_confirmed","session_id":"S1"}"#
        );
        ws.send(Message::text(r#"{"type":"ping","ts":7}"#))
            .expect("send");
        assert_eq!(read_text(&mut ws), r#"{"type":"pong","ts":7}"#);

        let push = Req {
            method: "POST".into(),
            path: "/_dev/control/push".into(),
            query: "session_id=S1".into(),
            headers: Vec::new(),
            body: br#"[{"type":"transcript","text":"hello"},"not json"]"#.to_vec(),
        };
        assert_eq!(switch(&hub, &push, "push").status, 200);
        assert_eq!(
            read_text(&mut ws),
            r#"{"type":"transcript","text":"hello"}"#
        );
        assert_eq!(read_text(&mut ws), "not json");

        let silence = Req {
            query: "session_id=S1&on=1".into(),
            body: Vec::new(),
            ..push.clone()
        };
        assert_eq!(switch(&hub, &silence, "silence").status, 200);
        ws.send(Message::text(r#"{"type":"ping","ts":8}"#))
            .expect("send");
        ws.get_mut()
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        assert!(ws.read().is_err(), "silenced: no pong");

        ws.close(None).expect("close");
        loop {
            match ws.read() {
                Ok(_) => {}
                Err(WsError::ConnectionClosed) => break,
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        let line = serving.join().expect("server thread");
        assert!(line.contains("close code Some(1005)"), "{line}");
        let report = hub.report();
        let c = &report.connections[0];
        assert_eq!(c.session_id.as_deref(), Some("S1"));
        assert!(!c.open);
        assert_eq!(c.close_code, Some(1005));
        assert_eq!(
            c.messages,
            [
                r#"{"type":"session_info","session_id":"S1"}"#,
                r#"{"type":"ping","ts":7}"#,
                r#"{"type":"ping","ts":8}"#
            ]
        );
    }
}
