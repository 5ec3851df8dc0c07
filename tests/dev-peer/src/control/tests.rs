//! Tests of the control channel's protocol, switches and report.

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
    assert_eq!(handshake(&get(&UPGRADE)).map_err(|r| r.status), Ok(()));
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
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let a = hub.add(tx);
    let (tx2, _rx2) = tokio::sync::mpsc::unbounded_channel();
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
            let cmd = rx.blocking_recv().expect("a command");
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
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
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
