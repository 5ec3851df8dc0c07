use super::*;


fn raw(url: &str) -> RawOptions {
    RawOptions { url: Some(url.into()), ..Default::default() }
}

#[test]
fn defaults_are_voice_friendly() {
    let o = Options::validate(&raw("https://example.com/whip")).unwrap();
    assert_eq!(o.audio, AudioOptions::default());
    assert!(o.audio.echo_cancellation && o.audio.noise_suppression && o.audio.auto_gain_control);
    assert_eq!(o.audio.channel_count, 1);
    assert_eq!(o.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
    assert_eq!(o.data_channel_label, "events");
}

#[test]
fn url_is_required_and_must_be_http() {
    let e = Options::validate(&RawOptions::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidOption);
    assert!(e.message.contains("options.url"));
    for bad in ["ftp://x/whip", "ws://x/whip", "whip", "", "http://", "https:///path"] {
        let e = Options::validate(&raw(bad)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidOption, "{bad}");
    }
    for good in ["http://127.0.0.1:7878/whip", "HTTPS://Example.com/v1/realtime?model=x"] {
        assert!(Options::validate(&raw(good)).is_ok(), "{good}");
    }
}

#[test]
fn timeout_bounds() {
    for bad in [0.0, -5.0, f64::NAN, f64::INFINITY, 600_001.0] {
        let r = RawOptions { connect_timeout_ms: Some(bad), ..raw("http://h/w") };
        let e = Options::validate(&r).unwrap_err();
        assert!(e.message.contains("connectTimeoutMs"), "{bad}: {}", e.message);
    }
    let r = RawOptions { connect_timeout_ms: Some(2500.4), ..raw("http://h/w") };
    assert_eq!(Options::validate(&r).unwrap().connect_timeout_ms, 2500);
}

#[test]
fn ice_servers_checked() {
    let stun = IceServer { urls: vec!["stun:stun.example.org:3478".into()], username: None, credential: None };
    let turn_no_cred = IceServer { urls: vec!["turn:t.example.org".into()], username: None, credential: None };
    let http = IceServer { urls: vec!["http://nope".into()], username: None, credential: None };
    let ok = RawOptions { ice_servers: Some(vec![stun.clone()]), ..raw("http://h/w") };
    assert_eq!(Options::validate(&ok).unwrap().ice_servers, vec![stun]);
    let bare = |u: &str| IceServer { urls: vec![u.into()], username: None, credential: None };
    for good in ["stun:1.2.3.4", "stuns:h.example:5349", "stun:[::1]:3478", "STUN:h"] {
        assert_eq!(ice_url_problem(good), None, "{good}");
    }
    assert_eq!(ice_url_problem("turn:t.example?transport=tcp"), None);
    for bad in ["stun:", "stun::3478", "stun:h:0", "stun:h:70000", "stun:h:x", "stun://h", "stun:h?transport=udp",
        "turn:h?transport=sctp", "stun:[::1", "stun:h o", "stun:u@h", "stun:[]"]
    {
        assert!(ice_url_problem(bad).is_some(), "{bad} accepted");
        let r = RawOptions { ice_servers: Some(vec![bare(bad)]), ..raw("http://h/w") };
        let e = Options::validate(&r).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidOption);
        assert!(e.message.contains("iceServers[0].urls"), "{}", e.message);
    }
    for bad in [turn_no_cred, http, IceServer { urls: vec![], username: None, credential: None }] {
        let r = RawOptions { ice_servers: Some(vec![bad]), ..raw("http://h/w") };
        let e = Options::validate(&r).unwrap_err();
        assert!(e.message.contains("iceServers[0]"), "{}", e.message);
    }
}

#[test]
fn fade_and_visibility() {
    let o = Options::validate(&raw("http://h/w")).unwrap();
    assert_eq!(o.fade_out_ms, 20);
    assert_eq!(o.visibility, VisibilityPolicy::default());
    let r = RawOptions {
        fade_out_ms: Some(0.0),
        visibility: Some("none".into()),
        visibility_grace_ms: Some(1500.0),
        resume_on_visible: Some(true),
        ..raw("http://h/w")
    };
    let o = Options::validate(&r).unwrap();
    assert_eq!(o.fade_out_ms, 0);
    assert_eq!(o.visibility, VisibilityPolicy { on_hidden: HiddenPolicy::None, grace_ms: 1500, resume_on_visible: true });
    let bad = RawOptions { visibility: Some("pause".into()), ..raw("http://h/w") };
    assert!(Options::validate(&bad).unwrap_err().message.contains("options.visibility"));
    let bad = RawOptions { fade_out_ms: Some(5000.0), ..raw("http://h/w") };
    assert!(Options::validate(&bad).unwrap_err().message.contains("fadeOutMs"));
    let bad = RawOptions { visibility_grace_ms: Some(-1.0), ..raw("http://h/w") };
    assert!(Options::validate(&bad).unwrap_err().message.contains("visibilityGraceMs"));
}

#[test]
fn reconnect_options() {
    let o = Options::validate(&raw("http://h/w")).unwrap();
    assert_eq!(o.reconnect, ReconnectPolicy::Manual);
    assert_eq!(o.backoff, Backoff::default());
    assert_eq!((o.session_grace_ms, o.outage_timeout_ms, o.outbox_capacity), (300_000, 1_500, 100));
    let r = RawOptions {
        reconnect: Some("auto".into()),
        reconnect_base_ms: Some(500.0),
        reconnect_cap_ms: Some(8000.0),
        reconnect_attempts: Some(3.0),
        ..raw("http://h/w")
    };
    let o = Options::validate(&r).unwrap();
    assert_eq!(o.reconnect, ReconnectPolicy::Auto);
    assert_eq!(o.backoff, Backoff { base_ms: 500, cap_ms: 8000, attempts: 3, ..Backoff::default() });
    for (bad, field) in [
        (RawOptions { reconnect: Some("sometimes".into()), ..raw("http://h/w") }, "options.reconnect"),
        (RawOptions { reconnect_attempts: Some(2.5), ..raw("http://h/w") }, "reconnectAttempts"),
        (RawOptions { reconnect_base_ms: Some(5000.0), reconnect_cap_ms: Some(1000.0), ..raw("http://h/w") }, "reconnectCapMs"),
        (RawOptions { outage_timeout_ms: Some(10.0), ..raw("http://h/w") }, "outageTimeoutMs"),
        (RawOptions { outbox_capacity: Some(-1.0), ..raw("http://h/w") }, "outboxCapacity"),
    ] {
        let e = Options::validate(&bad).unwrap_err();
        assert!(e.message.contains(field), "{field}: {}", e.message);
    }
}

#[test]
fn quality_options() {
    let o = Options::validate(&raw("http://h/w")).unwrap();
    assert_eq!(o.quality, QualityThresholds::default());
    assert_eq!(o.stats_interval_ms, 1000);
    let r = RawOptions { quality_rtt_ms: Some(vec![30.0, 80.0]), stats_interval_ms: Some(500.0), ..raw("http://h/w") };
    let o = Options::validate(&r).unwrap();
    assert_eq!(o.quality.rtt_ms, Thresholds { excellent: 30.0, good: 80.0 });
    for bad in [vec![100.0, 50.0], vec![50.0], vec![0.0, 10.0], vec![1.0, f64::NAN]] {
        let r = RawOptions { quality_rtt_ms: Some(bad), ..raw("http://h/w") };
        assert!(Options::validate(&r).unwrap_err().message.contains("qualityRttMs"));
    }
}

#[test]
fn control_options() {
    assert_eq!(Options::validate(&raw("http://h/w")).unwrap().control, None, "no control channel unless asked");
    let c = RawControl { url: Some("ws://h/control".into()), ..Default::default() };
    let o = Options::validate(&RawOptions { control: Some(c), ..raw("http://h/w") }).unwrap().control.unwrap();
    assert_eq!((o.heartbeat_ms, o.heartbeat_timeout_ms, o.backoff.base_ms), (30_000, 65_000, 5_000));
    for (bad, field) in [
        (RawControl::default(), "control.url"),
        (RawControl { url: Some("http://h/c".into()), ..Default::default() }, "control.url"),
        (RawControl { url: Some("ws://h".into()), heartbeat_ms: Some(5.0), ..Default::default() }, "heartbeatMs"),
    ] {
        let e = Options::validate(&RawOptions { control: Some(bad), ..raw("http://h/w") }).unwrap_err();
        assert!(e.message.contains(field), "{field}: {}", e.message);
    }
}

#[test]
fn channel_count_is_one_or_two() {
    let audio = |c| Some(RawAudio { channel_count: Some(c), ..Default::default() });
    let r = RawOptions { audio: audio(3.0), ..raw("http://h/w") };
    let e = Options::validate(&r).unwrap_err();
    assert!(e.message.contains("channelCount") && e.message.ends_with("got 3"), "{}", e.message);
    let r = RawOptions { audio: audio(2.0), ..raw("http://h/w") };
    assert_eq!(Options::validate(&r).unwrap().audio.channel_count, 2);
}

#[test]
fn ice_transport_policy_and_servers_from_server() {
    let o = |r: RawOptions| Options::validate(&r);
    assert!(!o(raw("http://h/w")).unwrap().relay_only);
    let relay = RawOptions { ice_transport_policy: Some("relay".into()), ..raw("http://h/w") };
    assert!(o(relay).unwrap().relay_only);
    let bad = RawOptions { ice_transport_policy: Some("none".into()), ..raw("http://h/w") };
    assert!(o(bad).unwrap_err().message.contains("iceTransportPolicy"));
    let from = RawOptions { ice_servers_from_server: Some(true), ..raw("http://h/w") };
    assert!(o(from).unwrap().ice_servers_from_server);
    let openai = RawOptions {
        ice_servers_from_server: Some(true),
        signaling: Some(RawSignaling::Name("openai".into())),
        ..raw("http://h/w")
    };
    assert!(o(openai).unwrap_err().message.contains("iceServersFromServer"));
}

#[test]
fn a_static_token_must_fit_an_authorization_header() {
    for bad in ["", "two words", "line\nbreak", "caf\u{e9}", "tab\there"] {
        let r = RawOptions { token: Some(RawToken::Text(bad.into())), ..raw("http://h/w") };
        let e = Options::validate(&r).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidOption, "{bad:?}");
        assert!(e.message.starts_with("options.token "), "{bad:?}: {}", e.message);
        assert!(!e.message.contains(bad) || bad.is_empty(), "the token itself is not echoed: {}", e.message);
    }
    for good in ["ek_68af2b3c9d", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "abc+/=="] {
        let r = RawOptions { token: Some(RawToken::Text(good.into())), ..raw("http://h/w") };
        assert!(Options::validate(&r).is_ok(), "{good}");
    }
}
