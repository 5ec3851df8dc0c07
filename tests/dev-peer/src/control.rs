//! The control WebSocket (`GET /control`, RFC 6455) that voicelink may open
//! beside the media connection, and its test switches (`/_dev/control…`).
//!
//! The upgrade is axum's (`WebSocketUpgrade`, tokio-tungstenite underneath),
//! after [`handshake`] has checked the request. Each connection is a tokio
//! task ([`serve`]) that waits for whichever comes first: a frame from the
//! client, or what a switch asks (push, close, silence; sent by
//! [`switch`], which waits until the task has acted on it).
//!
//! Protocol (text frames, JSON): `{"type":"session_info","session_id":"X"}`
//! is answered `{"type":"session_confirmed","session_id":"X"}` and names the
//! connection's session; `{"type":"ping","ts":T}` is answered
//! `{"type":"pong","ts":T}`. Every message received is recorded.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use base64::Engine as _;
use log::{debug, info};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::http::files::percent_decode;
use crate::http::{Reply, Req};
use crate::state::lock;

/// At most this many connections are kept in the report; the oldest closed
/// ones are dropped first, open ones never.
pub const MAX_KEPT_CONNECTIONS: usize = 500;

/// A write that blocks this long ends the connection (the client stopped reading).
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
    /// Signalled once the connection's task has acted on it.
    done: Sender<()>,
}

/// A connection as the hub holds it.
#[derive(Debug)]
struct Conn {
    report: Mutex<ConnReport>,
    commands: Mutex<Option<UnboundedSender<ConnCommand>>>,
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

    /// Hand a command to the connection's task; gives it back if the
    /// connection has ended.
    fn send(&self, cmd: ConnCommand) -> Result<(), ConnCommand> {
        match lock(&self.commands).as_ref() {
            Some(tx) => tx.send(cmd).map_err(|e| e.0),
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
    fn add(&self, commands: UnboundedSender<ConnCommand>) -> Arc<Conn> {
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
/// `Err` is the reply to send instead. Any `Origin` is accepted.
pub fn handshake(req: &Req) -> Result<(), Reply> {
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
    Ok(())
}

/// Run an upgraded connection until it ends. Returns the log line for it.
pub async fn serve(hub: &Hub, mut ws: WebSocket) -> String {
    let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel();
    let conn = hub.add(tx);
    let id = lock(&conn.report).id;
    info!("GET /control -> 101: control connection #{id} open");
    let started = Instant::now();
    let why = run(&conn, &mut ws, &mut commands).await;
    // Dropping the socket closes the TCP connection.
    drop(ws);
    conn.finish();
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
async fn run(
    conn: &Conn,
    ws: &mut WebSocket,
    commands: &mut UnboundedReceiver<ConnCommand>,
) -> String {
    let mut silenced = false;
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        let cut_off = async {
            match closing {
                Some(since) => tokio::time::sleep_until(since + CLOSE_WAIT).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(ConnCommand { action, done }) = commands.recv() => {
                match action {
                    Action::Push(texts) if !silenced => {
                        for text in texts {
                            if let Err(why) = send(ws, Message::text(text)).await {
                            return why;
                        }
                        }
                    }
                    Action::Push(texts) => {
                        debug!("silenced: {} pushed messages not sent", texts.len());
                    }
                    Action::Close(code) => {
                        let frame = CloseFrame {
                            code,
                            reason: "".into(),
                        };
                        if let Err(why) = send(ws, Message::Close(Some(frame))).await {
                            return why;
                        }
                        closing.get_or_insert_with(tokio::time::Instant::now);
                    }
                    Action::Silence(on) => silenced = on,
                }
                let _ = done.send(());
            }
            () = cut_off => return "the client did not answer the close frame".to_string(),
            message = ws.recv() => match message {
                Some(Ok(Message::Text(text))) => {
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
                        if let Err(why) = send(ws, Message::text(reply)).await {
                            return why;
                        }
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let text = match std::str::from_utf8(&bytes) {
                        Ok(s) => s.to_string(),
                        Err(_) => base64::engine::general_purpose::STANDARD.encode(&bytes),
                    };
                    conn.update(|r| r.messages.push(text));
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(NO_STATUS, |f| f.code);
                    conn.update(|r| r.close_code = Some(code));
                    // tungstenite answers it; the next read ends the loop.
                }
                // Pings are answered by tungstenite.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(e)) => return e.to_string(),
                None => return "closed".to_string(),
            },
        }
    }
}

/// Send one message. A failed send (e.g. after a close) is only logged; one
/// that blocks longer than [`WRITE_TIMEOUT`] (the client stopped reading)
/// ends the connection: the `Err` is why.
async fn send(ws: &mut WebSocket, message: Message) -> Result<(), String> {
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            debug!("control write: {e}");
            Ok(())
        }
        Err(_) => Err(format!("a write blocked for {WRITE_TIMEOUT:?}")),
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

#[cfg(test)]
mod tests;
