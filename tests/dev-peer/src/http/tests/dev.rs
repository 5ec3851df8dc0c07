//! The `/_dev` routes: per-session switches, global faults, restart.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::http::dev::parse_down_ms;
use crate::state::Command;

#[test]
fn delay_route() {
    use crate::state::SessionEntry;
    let a = app(None);
    assert_eq!(
        route(&a, &req("POST", "/_dev/sessions/nope/delay?ms=10", &[], "")).status,
        404
    );
    let (tx, rx) = mpsc::channel();
    let e = Arc::new(SessionEntry::new(tx));
    a.registry.insert(e.clone());
    let url = format!("/_dev/sessions/{}/delay", e.id);
    for bad in ["", "?ms=5001", "?ms=x", "?ms=1&foo=2"] {
        let r = route(&a, &req("POST", &format!("{url}{bad}"), &[], ""));
        assert_eq!(r.status, 400, "{bad}");
    }
    assert_eq!(route(&a, &req("GET", &url, &[], "")).status, 404);
    // Nothing reached the session so far.
    assert!(rx.try_recv().is_err());
    let responder = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..2 {
            match rx.recv().expect("a command") {
                Command::Delay { ms, done } => {
                    seen.push(ms);
                    done.send(()).expect("done");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        seen
    });
    let r = route(&a, &req("POST", &format!("{url}?ms=150"), &[], ""));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"delay 150 ms"[..]));
    assert_eq!(
        route(&a, &req("POST", &format!("{url}?ms=0"), &[], "")).status,
        200
    );
    assert_eq!(responder.join().expect("responder"), [150, 0]);
    // A session that no longer answers (its thread is gone): 404.
    let r = route(&a, &req("POST", &format!("{url}?ms=1"), &[], ""));
    assert_eq!(r.status, 404);
    e.mark_ended(crate::state::EndedBy::Delete);
    let r = route(&a, &req("POST", &format!("{url}?ms=1"), &[], ""));
    assert_eq!(r.status, 404);
}

#[test]
fn global_faults_routes() {
    let a = app(Some("s3cret"));
    let sdp = [("Content-Type", "application/sdp")];
    let r = route(&a, &req("POST", "/_dev/faults?refuse_new=1", &[], ""));
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(
        (v["refuseNew"].clone(), v["failPost"].clone()),
        (true.into(), 0.into())
    );
    // Refused before the token is looked at; no session created.
    let r = route(&a, &req("POST", "/whip", &sdp, "v=0"));
    assert_eq!((r.status, header(&r, "Retry-After")), (503, Some("1")));
    // fail_post wins over refuse_new.
    route(&a, &req("POST", "/_dev/faults?fail_post=500", &[], ""));
    assert_eq!(route(&a, &req("POST", "/whip", &sdp, "v=0")).status, 500);
    let r = route(&a, &req("GET", "/_dev/faults", &[], ""));
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["failPost"], 500);
    assert_eq!(
        route(&a, &req("POST", "/_dev/faults?fail_post=1", &[], "")).status,
        400
    );
    route(
        &a,
        &req("POST", "/_dev/faults?fail_post=0&refuse_new=0", &[], ""),
    );
    assert_eq!(route(&a, &req("POST", "/whip", &sdp, "v=0")).status, 401);
    assert_eq!(a.registry.report().sessions_created, 0);
    let r = route(&a, &req("GET", "/_dev/state", &[], ""));
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["faults"]["failPost"], 0);

    // The new switches: reported, reset by their off values; typos refused.
    let r = route(
        &a,
        &req(
            "POST",
            "/_dev/faults?restart_status=422&delete_token=t0k",
            &[],
            "",
        ),
    );
    assert_eq!(r.status, 200);
    let v = json(&r);
    assert_eq!(
        (v["restartStatus"].clone(), v["deleteToken"].clone()),
        (422.into(), "t0k".into())
    );
    for typo in [
        "restart_status=200",
        "restartStatus=422",
        "delete_token=a%20b",
        "delete-token=x",
    ] {
        let r = route(&a, &req("POST", &format!("/_dev/faults?{typo}"), &[], ""));
        assert_eq!(r.status, 400, "{typo}");
    }
    let v = json(&route(&a, &req("POST", "/_dev/faults", &[], "")));
    assert_eq!(
        (v["restartStatus"].clone(), v["deleteToken"].clone()),
        (422.into(), "t0k".into())
    );
    route(
        &a,
        &req(
            "POST",
            "/_dev/faults?restart_status=0&delete_token=",
            &[],
            "",
        ),
    );
    let v = json(&route(&a, &req("GET", "/_dev/faults", &[], "")));
    assert_eq!(
        (v["restartStatus"].clone(), v["deleteToken"].clone()),
        (0.into(), "".into())
    );
    let v = json(&route(&a, &req("GET", "/_dev/state", &[], "")));
    assert_eq!(v["faults"]["restartStatus"], 0);
    assert_eq!(
        (
            v["restartsRefused"].clone(),
            v["deletesUnauthorized"].clone()
        ),
        (0.into(), 0.into())
    );
}

#[test]
fn down_ms_query() {
    assert_eq!(parse_down_ms(""), Ok(Duration::from_millis(2000)));
    assert_eq!(parse_down_ms("down_ms=0"), Ok(Duration::ZERO));
    assert_eq!(
        parse_down_ms("down_ms=1500"),
        Ok(Duration::from_millis(1500))
    );
    assert!(parse_down_ms("down_ms=60001").is_err());
    assert!(parse_down_ms("down_ms=-1").is_err());
}

/// The restart's handshake in process: the handler asks, waits for the
/// listener to be closed, answers `202` and tells when its body is out.
#[test]
fn restart_route() {
    let (a, mut restarts) = app_with(None, Vec::new());
    let main = thread::spawn(move || {
        let mut downs = Vec::new();
        for _ in 0..2 {
            let Restart { down, closed, sent } = restarts.blocking_recv().expect("asked");
            downs.push(down);
            closed.send(()).expect("closed");
            sent.recv_timeout(Duration::from_secs(3))
                .expect("the 202 is out");
        }
        downs
    });
    let r = route(&a, &req("POST", "/_dev/restart?down_ms=1500", &[], ""));
    assert_eq!(
        (r.status, text(&r).as_str()),
        (202, "restarting: down for 1500 ms")
    );
    assert_eq!(header(&r, "Connection"), Some("close"));
    assert_eq!(header(&r, "Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(
        route(&a, &req("POST", "/_dev/restart", &[], "")).status,
        202
    );
    assert_eq!(
        main.join().expect("main"),
        [Duration::from_millis(1500), Duration::from_millis(2000)]
    );
    let r = route(&a, &req("POST", "/_dev/restart?down_ms=70000", &[], ""));
    assert_eq!(r.status, 400);
    assert_eq!(route(&a, &req("GET", "/_dev/restart", &[], "")).status, 404);
}

/// Over a socket, as `main` runs it: once the restart is asked for, the
/// listener closes (connections refused) before the `202` goes out, and
/// the `202` still reaches the client.
#[test]
fn restart_over_a_socket() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let (a, mut restarts) = app_with(None, Vec::new());
    let (addr, stop) = serve(&a);
    let client = thread::spawn(move || {
        let mut tcp = TcpStream::connect(addr).expect("connect");
        write!(
            tcp,
            "POST /_dev/restart?down_ms=0 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
        )
        .expect("request");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("read to the end");
        answer
    });
    let restart = restarts.blocking_recv().expect("asked");
    assert_eq!(restart.down, Duration::ZERO);
    stop.send(()).expect("stopping");
    assert!(
        eventually(1000, || TcpStream::connect(addr).is_err()),
        "the listener still accepts"
    );
    restart.closed.send(()).expect("closed");
    restart
        .sent
        .recv_timeout(Duration::from_secs(3))
        .expect("the 202 is out");
    let answer = client.join().expect("client");
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.ends_with("restarting: down for 0 ms"), "{answer}");
}

#[test]
fn unauthorized_switch_route() {
    let a = app(None);
    let v = json(&route(&a, &req("GET", "/_dev/faults", &[], "")));
    assert_eq!(
        v,
        serde_json::json!({"refuseNew":false,"failPost":0,"holdDeleteMs":0,"restartStatus":0,
            "deleteToken":"","unauthorized":false,"trickle":"accept"})
    );
    let v = json(&route(
        &a,
        &req("POST", "/_dev/faults?unauthorized=1", &[], ""),
    ));
    assert_eq!(v["unauthorized"], true);
    assert_eq!(
        json(&route(&a, &req("GET", "/_dev/state", &[], "")))["faults"]["unauthorized"],
        true
    );
    assert_eq!(
        route(&a, &req("POST", "/_dev/faults?unauthorized=yes", &[], "")).status,
        400
    );
    let v = json(&route(
        &a,
        &req("POST", "/_dev/faults?unauthorized=0", &[], ""),
    ));
    assert_eq!(v["unauthorized"], false);
}
