//! Tests of the fault queries and the broken answers.

use super::*;

#[test]
fn request_faults() {
    assert_eq!(parse_faults(""), Ok(Faults::default()));
    let f = parse_faults("delay_ms=200&fault=500").expect("parses");
    assert_eq!(f.delay, Some(Duration::from_millis(200)));
    assert_eq!(f.fault, Some(AnswerFault::Fail500));
    for (value, fault) in [
        ("garbage", AnswerFault::Garbage),
        ("html", AnswerFault::Html),
        ("empty", AnswerFault::Empty),
        ("notsdp", AnswerFault::NotSdp),
        ("nofingerprint", AnswerFault::NoFingerprint),
    ] {
        let f = parse_faults(&format!("fault={value}")).expect(value);
        assert_eq!(f.fault, Some(fault), "{value}");
    }
    // The last one counts.
    let f = parse_faults("fault=500&fault=empty").expect("parses");
    assert_eq!(f.fault, Some(AnswerFault::Empty));
    assert!(parse_faults("delay_ms=60001").is_err());
    assert!(parse_faults("delay_ms=x").is_err());
    let e = parse_faults("fault=nope").expect_err("unknown");
    assert_eq!(
        e,
        "unknown fault \"nope\" (500, html, garbage, empty, notsdp, nofingerprint)"
    );
    assert!(parse_faults("fault=").is_err());
    assert!(parse_faults("fault=HTML").is_err());
    assert_eq!(parse_faults("").expect("parses").delay_out_ms, 0);
    let f = parse_faults("delay_out_ms=150&delay_ms=5").expect("parses");
    assert_eq!(
        (f.delay_out_ms, f.delay),
        (150, Some(Duration::from_millis(5)))
    );
    assert_eq!(
        parse_faults("delay_out_ms=5000")
            .expect("parses")
            .delay_out_ms,
        5000
    );
    for bad in ["delay_out_ms=5001", "delay_out_ms=", "delay_out_ms=-3"] {
        let e = parse_faults(bad).expect_err(bad);
        assert!(e.starts_with("delay_out_ms must be"), "{e}");
    }
}

#[test]
fn answer_bodies() {
    let sdp = "v=0\r\na=fingerprint:sha-256 AB:CD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
               a=mid:0\r\na=fingerprint:sha-256 EF:01\r\na=setup:passive\r\n";
    let stripped = AnswerFault::NoFingerprint.answer_body(sdp.into());
    assert_eq!(
        stripped,
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=setup:passive\r\n"
    );
    assert_eq!(AnswerFault::Empty.answer_body(sdp.into()), "");
    assert_eq!(AnswerFault::NotSdp.answer_body(sdp.into()), NOT_SDP_ANSWER);
    assert_eq!(AnswerFault::Garbage.answer_body(sdp.into()), GARBAGE_ANSWER);
    let page = html_error_page();
    assert!(page.len() >= 4096, "{}", page.len());
    assert!(page.starts_with("<!DOCTYPE html>\n<html"));
    assert!(page.contains("<title>500 Internal Server Error</title>"));
    assert!(page.contains("<h1>Internal Server Error</h1>"));
    assert!(page.trim_end().ends_with("</html>"));
}

#[test]
fn global_faults_query() {
    assert_eq!(parse_global_faults(""), Ok(GlobalFaultsUpdate::default()));
    let u = parse_global_faults("refuse_new=1").expect("parses");
    assert_eq!(u.refuse_new, Some(true));
    let u = parse_global_faults("refuse_new=false&fail_post=503").expect("parses");
    assert_eq!((u.refuse_new, u.fail_post), (Some(false), Some(503)));
    let u = parse_global_faults("fail_post=0").expect("parses");
    assert_eq!(u.fail_post, Some(0));
    let u = parse_global_faults("hold_delete_ms=8000").expect("parses");
    assert_eq!(u.hold_delete_ms, Some(8000));
    let u = parse_global_faults("restart_status=422").expect("parses");
    assert_eq!(
        u,
        GlobalFaultsUpdate {
            restart_status: Some(422),
            ..Default::default()
        }
    );
    let u = parse_global_faults("restart_status=0&delete_token=").expect("parses");
    assert_eq!(
        (u.restart_status, u.delete_token.as_deref()),
        (Some(0), Some(""))
    );
    for (query, token) in [
        ("delete_token=s3cret", "s3cret"),
        ("delete_token=a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="),
        ("delete_token=ab%2Bcd%3D", "ab+cd="),
    ] {
        let u = parse_global_faults(query).expect(query);
        assert_eq!(u.delete_token.as_deref(), Some(token), "{query}");
    }
    for bad in [
        "refuse_new=2",
        "fail_post=200",
        "fail_post=x",
        "fail_post=600",
        "hold_delete_ms=-1",
        "restart_status=200",
        "restart_status=600",
        "restart_status=",
        "restart_status=x",
        "delete_token=a%20b",
        "delete_token=a b",
        "delete_token=%zz",
        "delete_token=%4",
        "delete_token===",
        "delete_token=a=b",
        "nope=1",
        "restart=422",
        "deletetoken=x",
    ] {
        assert!(parse_global_faults(bad).is_err(), "accepted {bad}");
    }
    let e = parse_global_faults("nope=1").expect_err("unknown");
    assert!(
        e.contains("restart_status, delete_token, unauthorized, trickle"),
        "{e}"
    );
    for (query, on) in [
        ("unauthorized=1", true),
        ("unauthorized=true", true),
        ("unauthorized=0", false),
        ("unauthorized=false", false),
    ] {
        let u = parse_global_faults(query).expect(query);
        assert_eq!(u.unauthorized, Some(on), "{query}");
    }
    for bad in ["unauthorized=", "unauthorized=2", "unauthorised=1"] {
        assert!(parse_global_faults(bad).is_err(), "accepted {bad}");
    }

    let mut f = GlobalFaults::default();
    parse_global_faults("restart_status=405&delete_token=t0k&fail_post=500")
        .expect("parses")
        .apply(&mut f);
    assert_eq!(
        (f.restart_status, f.delete_token.as_str(), f.fail_post),
        (405, "t0k", 500)
    );
    // Absent ones stay; the reset values turn them off.
    parse_global_faults("hold_delete_ms=10")
        .expect("parses")
        .apply(&mut f);
    assert_eq!((f.restart_status, f.delete_token.as_str()), (405, "t0k"));
    parse_global_faults("restart_status=0&delete_token=")
        .expect("parses")
        .apply(&mut f);
    assert_eq!((f.restart_status, f.delete_token.as_str()), (0, ""));
    assert_eq!((f.fail_post, f.hold_delete_ms), (500, 10));
}

#[test]
fn trickle_switch() {
    for (query, trickle, shown) in [
        ("trickle=accept", Trickle::Accept, "accept"),
        (
            "trickle=unadvertised",
            Trickle::Unadvertised,
            "unadvertised",
        ),
        ("trickle=422", Trickle::Refuse(422), "422"),
        ("trickle=405", Trickle::Refuse(405), "405"),
        ("trickle=501", Trickle::Refuse(501), "501"),
    ] {
        let u = parse_global_faults(query).expect(query);
        assert_eq!(u.trickle, Some(trickle), "{query}");
        let mut f = GlobalFaults::default();
        u.apply(&mut f);
        assert_eq!(f.trickle, trickle);
        let json = serde_json::to_value(&f).expect("serializes");
        assert_eq!(json["trickle"], shown, "{query}");
    }
    assert_eq!(
        serde_json::to_value(GlobalFaults::default()).expect("serializes")["trickle"],
        "accept"
    );
    for bad in [
        "trickle=",
        "trickle=0",
        "trickle=200",
        "trickle=600",
        "trickle=Accept",
        "trickle=refuse",
    ] {
        let e = parse_global_faults(bad).expect_err(bad);
        assert!(e.starts_with("trickle must be"), "{e}");
    }
    assert!(Trickle::Refuse(422).advertised() && Trickle::Accept.advertised());
    assert!(!Trickle::Unadvertised.advertised());
    assert_eq!(Trickle::Refuse(501).refusal(), Some(501));
    assert_eq!(Trickle::Unadvertised.refusal(), None);
    // Absent: unchanged.
    let mut f = GlobalFaults {
        trickle: Trickle::Refuse(405),
        ..GlobalFaults::default()
    };
    parse_global_faults("fail_post=0")
        .expect("parses")
        .apply(&mut f);
    assert_eq!(f.trickle, Trickle::Refuse(405));
}
