//! The control WebSocket through the server: the upgrade over a real
//! socket (hyper), the protocol, the switches, both closes.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpStream;

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocket};
use tungstenite::{Error as WsError, Message};

use super::*;

/// Connect to `/control` with RFC 6455's example key; returns the socket
/// after the `101` (checked).
fn upgrade(addr: SocketAddr) -> WebSocket<TcpStream> {
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
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(reader.buffer().is_empty());
    tcp.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    WebSocket::from_raw_socket(tcp, Role::Client, None)
}

fn read_text(ws: &mut WebSocket<TcpStream>) -> String {
    match ws.read().expect("a message") {
        Message::Text(t) => t.as_str().to_string(),
        other => panic!("unexpected {other:?}"),
    }
}

/// Read until the server closes the TCP connection.
fn read_to_close(ws: &mut WebSocket<TcpStream>) {
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(WsError::ConnectionClosed) => break,
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
}

/// The connection's report once it is closed.
fn closed_report(a: &Arc<App>, id: u64) -> crate::control::ConnReport {
    let find = || {
        a.control
            .report()
            .connections
            .into_iter()
            .find(|c| c.id == id)
            .expect("reported")
    };
    assert!(eventually(3000, || !find().open), "still open");
    find()
}

fn switch(a: &Arc<App>, url: &str, body: &str) -> u16 {
    route(a, &req("POST", url, &[], body)).status
}

/// A real connection over loopback: the handshake bytes, the protocol, a
/// push, silence and a client close, driven by tungstenite's client.
#[test]
fn over_a_socket() {
    let a = app(None);
    let (addr, _stop) = serve(&a);
    let mut ws = upgrade(addr);
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
    // A protocol ping is answered by tungstenite and not recorded.
    ws.send(Message::Ping(b"p".to_vec().into())).expect("ping");
    assert!(matches!(ws.read().expect("pong"), Message::Pong(_)));

    let body = r#"[{"type":"transcript","text":"hello"},"not json"]"#;
    assert_eq!(switch(&a, "/_dev/control/push?session_id=S1", body), 200);
    assert_eq!(
        read_text(&mut ws),
        r#"{"type":"transcript","text":"hello"}"#
    );
    assert_eq!(read_text(&mut ws), "not json");

    assert_eq!(
        switch(&a, "/_dev/control/silence?session_id=S1&on=1", ""),
        200
    );
    ws.send(Message::text(r#"{"type":"ping","ts":8}"#))
        .expect("send");
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    assert!(ws.read().is_err(), "silenced: no pong");
    assert_eq!(
        switch(&a, "/_dev/control/push?session_id=S1", "[\"x\"]"),
        200
    );
    assert!(ws.read().is_err(), "silenced: no push");

    ws.close(None).expect("close");
    read_to_close(&mut ws);
    let c = closed_report(&a, 1);
    assert_eq!(c.session_id.as_deref(), Some("S1"));
    assert_eq!(c.close_code, Some(1005));
    assert_eq!(
        c.messages,
        [
            r#"{"type":"session_info","session_id":"S1"}"#,
            r#"{"type":"ping","ts":7}"#,
            r#"{"type":"ping","ts":8}"#
        ]
    );
    assert_eq!(switch(&a, "/_dev/control/push?session_id=S1", "[]"), 404);
    let v = json(&route(&a, &req("GET", "/_dev/control", &[], "")));
    assert_eq!(v["connections"][0]["open"], false);
}

/// The server's close: a close frame with the code; the client's answer is recorded.
#[test]
fn server_close() {
    let a = app(None);
    let (addr, _stop) = serve(&a);
    let mut ws = upgrade(addr);
    ws.send(Message::text(
        r#"{"type":"session_info","session_id":"S2"}"#,
    ))
    .expect("send");
    read_text(&mut ws);
    assert_eq!(
        switch(&a, "/_dev/control/close?session_id=S2&code=4001", ""),
        200
    );
    match ws.read().expect("a close frame") {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::from(4001)),
        other => panic!("unexpected {other:?}"),
    }
    // tungstenite echoes the close; then the server ends the connection.
    read_to_close(&mut ws);
    let c = closed_report(&a, 1);
    assert_eq!((c.close_code, c.open), (Some(4001), false));
}

/// Requests that are no proper upgrade, through the router.
#[test]
fn not_an_upgrade() {
    let a = app(None);
    let r = route(&a, &req("GET", "/control", &[], ""));
    assert_eq!((r.status, header(&r, "Upgrade")), (426, Some("websocket")));
    let mut upgrade = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "12"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let r = route(&a, &req("GET", "/control", &upgrade, ""));
    assert_eq!(
        (r.status, header(&r, "Sec-WebSocket-Version")),
        (426, Some("13"))
    );
    upgrade[2].1 = "13";
    upgrade[3].1 = "c2hvcnQ=";
    assert_eq!(route(&a, &req("GET", "/control", &upgrade, "")).status, 400);
    assert_eq!(route(&a, &req("POST", "/control", &[], "")).status, 404);
    assert_eq!(
        route(&a, &req("POST", "/_dev/control/nope?session_id=s", &[], "")).status,
        404
    );
}
