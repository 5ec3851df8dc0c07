//! Connecting fast when STUN or TURN is slow or blocked (issue 16): the offer goes with what
//! the connection needs (no wait for a STUN server that never answers; a relay candidate when
//! only relay may be used), later candidates are trickled where the server takes them and
//! refused gracefully where it does not, and `prepare()` does the peer connection ahead. The
//! real wasm in a headless browser against the dev peer (started with `--dead-stun 0` by
//! scripts/with-peer.sh); the TURN test needs scripts/turn.sh around the run (coturn on
//! loopback: VOICELINK_TURN_URL/USERNAME/CREDENTIAL at compile time).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use voicelink::api::VoiceLink;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
/** Records every fetch with its method, URL, If-Match, body and, for a POST, the
 * iceGatheringState of the newest peer connection at that moment. */
function rec() {
  if (globalThis.__fast) return globalThis.__fast;
  const r = { fetches: [] };
  const orig = globalThis.fetch.bind(globalThis);
  globalThis.fetch = async (url, init = {}) => {
    const h = new Headers(init.headers || {});
    const pc = globalThis.__voicelinkProbe && globalThis.__voicelinkProbe.peerConnections.at(-1);
    const e = { method: init.method || "GET", url: String(url), ifMatch: h.get("If-Match"), body: typeof init.body === "string" ? init.body : "",
      gathering: pc ? pc.iceGatheringState : null, status: 0, etag: null };
    r.fetches.push(e);
    const res = await orig(url, init);
    e.status = res.status;
    e.etag = res.headers.get("ETag");
    return res;
  };
  globalThis.__fast = r;
  return r;
}
export function fast_install() { rec(); }
export function fast_mark() { return rec().fetches.length; }
/** The fetches since `mark` with this method whose URL contains `part`. */
export function fast_fetches(mark, method, part) {
  return rec().fetches.slice(mark).filter((e) => e.method === method && e.url.includes(part));
}
/** Fires an icecandidate event on the newest peer connection, as the browser does for a
 * candidate gathered after the offer (`line` empty: the end-of-gathering null candidate). */
export function fire_candidate(line) {
  const pc = globalThis.__voicelinkProbe.peerConnections.at(-1);
  const candidate = line ? new RTCIceCandidate({ candidate: line, sdpMid: "0", sdpMLineIndex: 0 }) : null;
  pc.dispatchEvent(new RTCPeerConnectionIceEvent("icecandidate", { candidate }));
}
/** The local candidate type of the newest peer connection's selected candidate pair. */
export async function selected_local_type() {
  const pc = globalThis.__voicelinkProbe.peerConnections.at(-1);
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  let pair = pairId ? stats.get(pairId) : null;
  if (!pair) stats.forEach((s) => { if (s.type === "candidate-pair" && (s.selected || s.nominated) && s.state === "succeeded") pair = s; });
  const local = pair ? stats.get(pair.localCandidateId) : null;
  return local ? local.candidateType : null;
}
export async function set_faults(base, query) {
  const r = await fetch(base + "/_dev/faults?" + query, { method: "POST" });
  return r.status;
}
"#)]
extern "C" {
    fn fast_install();
    fn fast_mark() -> u32;
    fn fast_fetches(mark: u32, method: &str, part: &str) -> js_sys::Array;
    fn fire_candidate(line: &str);
    fn selected_local_type() -> js_sys::Promise;
    fn set_faults(base: &str, query: &str) -> js_sys::Promise;
}

/// A late candidate the tests fire (a valid host candidate line: str0m takes it).
const LATE: &str = "candidate:4242 1 udp 2122260223 127.0.0.1 9 typ host generation 0";

async fn report() -> JsValue {
    JsFuture::from(peer_report(PEER)).await.expect("dev peer /_dev/state")
}

async fn faults(query: &str) {
    let status = JsFuture::from(set_faults(PEER, query)).await.unwrap().as_f64();
    assert_eq!(status, Some(200.0), "POST /_dev/faults?{query}");
}

fn ice(urls: &str, user: Option<&str>, credential: Option<&str>) -> JsValue {
    let mut pairs = vec![("urls", JsValue::from_str(urls))];
    if let (Some(u), Some(c)) = (user, credential) {
        pairs.push(("username", u.into()));
        pairs.push(("credential", c.into()));
    }
    js_sys::Array::of1(&obj(&pairs)).into()
}

/// A STUN server that never answers, no TURN: the offer goes without waiting for gathering
/// to finish (it is still running when the POST leaves), and the call connects.
#[wasm_bindgen_test]
async fn dead_stun_without_turn_connects_without_waiting_for_it() {
    install_spies();
    fast_install();
    let port = get(&report().await, "deadStunPort").as_f64().expect("the dev peer runs with --dead-stun (scripts/with-peer.sh)");
    let before = get(&report().await, "deadStunDatagrams").as_f64().unwrap_or(0.0);
    let mark = fast_mark();
    let l = link(&[("iceServers", ice(&format!("stun:127.0.0.1:{port}"), None, None))], "");
    JsFuture::from(l.connect()).await.expect("connects");
    assert_eq!(snap(&l, "status").as_deref(), Some("connected"));
    let posts = fast_fetches(mark, "POST", "/whip");
    assert_eq!(posts.length(), 1);
    let post = posts.get(0);
    assert_eq!(get_str(&post, "gathering").as_deref(), Some("gathering"), "the offer left while the dead STUN server was still asked");
    assert!(get_str(&post, "body").unwrap().contains("typ host"), "the offer carries the host candidates");
    // From the offer phase to ICE: the offer waited for nothing but the host candidates (a wait
    // for the dead server's gathering takes its bound, 2 s: this reads ≥ 2000 then). A generous
    // bound, not a speed figure (that is `connect.dead_stun_ms_p50` in the bench).
    let signaling_ms = get(&l.get_snapshot(), "connectTimings.signalingMs").as_f64().unwrap();
    assert!(signaling_ms < 1_000.0, "the offer did not wait for the dead STUN server: {signaling_ms} ms from offer to ICE");
    let after = get(&report().await, "deadStunDatagrams").as_f64().unwrap_or(0.0);
    assert!(after > before, "the browser did ask the dead STUN server ({before} → {after})");
    l.dispose();
    assert_nothing_left("dead stun", 2_000).await;
}

/// Candidates gathered after the offer reach the WHIP session as trickle PATCHes with the
/// session's ETag in `If-Match`, batched after the answer, the end of gathering as
/// `a=end-of-candidates`; a server that refuses them (405, 422, 501) turns trickle off for the
/// session without failing it; one that did not advertise trickle gets none.
#[wasm_bindgen_test]
async fn trickle_patches_carry_the_etag_and_a_refusal_is_graceful() {
    install_spies();
    fast_install();
    for mode in ["accept", "405", "422", "501", "unadvertised"] {
        faults(&format!("trickle={mode}")).await;
        let mark = fast_mark();
        // The POST answers after 300 ms: the candidates fired meanwhile wait for the answer.
        let l = link(&[], "?delay_ms=300");
        let pending = JsFuture::from(l.connect());
        assert!(eventually(5_000, || snap(&l, "phase").as_deref() == Some("signaling")).await, "{mode}: signaling");
        fire_candidate(LATE);
        fire_candidate("");
        pending.await.expect("connects whatever the server thinks of trickle");
        let id = snap(&l, "sessionId").unwrap();
        let etag = get_str(&fast_fetches(mark, "POST", "/whip").get(0), "etag").expect("the 201 has an ETag");
        // Let the trickle requests settle, then fire one more: after a refusal nothing goes.
        assert!(eventually(2_000, || fast_fetches(mark, "PATCH", &id).length() >= 1 || mode == "unadvertised").await, "{mode}: a PATCH");
        wait_ms(200).await;
        let patches = fast_fetches(mark, "PATCH", &id);
        let session = peer_session(&id).await;
        let n = |k: &str| get(&session, k).as_f64().unwrap_or(-1.0);
        match mode {
            "accept" => {
                assert_eq!(patches.length(), 1, "one batch: the candidate and the end together");
                let p = patches.get(0);
                assert_eq!(get_str(&p, "ifMatch"), Some(etag.clone()), "If-Match is the session's ETag");
                let body = get_str(&p, "body").unwrap();
                assert!(body.contains(&format!("a={LATE}")) && body.contains("a=end-of-candidates") && body.contains("a=ice-ufrag:"), "{body}");
                assert_eq!(get(&p, "status").as_f64(), Some(204.0));
                // The fired candidate, plus any real one the browser gathered after the offer
                // (the batch waits for the answer): the dev peer took every one that was sent.
                let sent = body.lines().filter(|l| l.starts_with("a=candidate:")).count() as f64;
                assert!(sent >= 1.0, "{body}");
                assert_eq!(n("trickledCandidates"), sent, "{body}");
                assert_eq!(n("trickleBadEtag"), 0.0);
                assert_eq!(get(&session, "endOfCandidates").as_bool(), Some(true));
            }
            "unadvertised" => {
                assert_eq!(patches.length(), 0, "no Accept-Patch, no trickle");
                assert_eq!(n("trickledCandidates"), 0.0);
            }
            refused => {
                assert_eq!(patches.length(), 1, "{refused}: one try, then trickle is off");
                assert_eq!(get(&patches.get(0), "status").as_f64(), refused.parse().ok());
                assert_eq!(n("trickleRefused"), 1.0, "{refused}");
                fire_candidate("candidate:4343 1 udp 2122260223 127.0.0.1 10 typ host");
                wait_ms(200).await;
                assert_eq!(fast_fetches(mark, "PATCH", &id).length(), 1, "{refused}: nothing more after the refusal");
            }
        }
        assert_eq!(snap(&l, "status").as_deref(), Some("connected"), "{mode}: the call goes on");
        assert!(get(&l.get_snapshot(), "error").is_null(), "{mode}: no error");
        l.dispose();
    }
    faults("trickle=accept").await;
    assert_nothing_left("trickle", 2_000).await;
}

/// A WHIP ICE restart starts a new trickle generation: what the browser gathers after the
/// restart offer — later candidates and the end of gathering — reaches the session as trickle
/// `PATCH`es with the restart's ICE credentials and, in `If-Match`, the ETag the restart answer
/// carried (RFC 9725 §4.3.1), and the dev peer takes them. (Real candidates: a candidate fired
/// by hand after the browser's own end of gathering would rightly be ignored, and Firefox ends
/// gathering on loopback within a few ms.)
#[wasm_bindgen_test]
async fn after_an_ice_restart_later_candidates_trickle_with_the_new_credentials_and_etag() {
    install_spies();
    fast_install();
    faults("trickle=accept").await;
    let l = link(&[], "");
    JsFuture::from(l.connect()).await.expect("connects");
    let id = snap(&l, "sessionId").unwrap();
    let trickled = |s: &JsValue| get(s, "trickledCandidates").as_f64().unwrap_or(0.0);
    let before = trickled(&peer_session(&id).await);
    let dropped = JsFuture::from(peer_post(&format!("{PEER}/_dev/sessions/{id}/drop"))).await.unwrap().as_f64();
    assert_eq!(dropped, Some(200.0), "the dev peer dropped the transport");
    assert!(eventually(4_000, || snap(&l, "status").as_deref() == Some("interrupted")).await, "outage seen");
    let mark = fast_mark();
    JsFuture::from(l.reconnect()).await.expect("the ICE restart brings the session back");
    assert_eq!(snap(&l, "sessionId").as_deref(), Some(id.as_str()), "the same session");
    let restart = fast_fetches(mark, "PATCH", &id).get(0);
    assert_eq!(get_str(&restart, "ifMatch").as_deref(), Some("\"*\""), "the first PATCH is the ICE restart");
    let new_etag = get_str(&restart, "etag").expect("the restart answer carries an ETag");
    let ufrag_of = |body: &str| body.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:").map(str::to_string));
    let restart_ufrag = ufrag_of(&get_str(&restart, "body").unwrap()).expect("the restart fragment has a ufrag");

    let trickles = || fast_fetches(mark, "PATCH", &id).iter().skip(1).collect::<Vec<JsValue>>();
    let ends = |p: &JsValue| get_str(p, "body").is_some_and(|b| b.contains("a=end-of-candidates"));
    assert!(eventually(5_000, || trickles().iter().any(ends)).await, "the restart generation's end of gathering is trickled");
    assert!(eventually(2_000, || trickles().iter().all(|p| get(p, "status").as_f64() == Some(204.0))).await, "the dev peer took them");
    let mut sent = 0.0;
    for p in trickles() {
        let body = get_str(&p, "body").unwrap();
        assert_eq!(get_str(&p, "ifMatch").as_deref(), Some(new_etag.as_str()), "If-Match is the restart answer's ETag: {body}");
        assert_eq!(ufrag_of(&body).as_deref(), Some(restart_ufrag.as_str()), "the restart's credentials: {body}");
        sent += body.lines().filter(|l| l.starts_with("a=candidate:")).count() as f64;
    }
    let session = peer_session(&id).await;
    assert_eq!(trickled(&session), before + sent, "the dev peer added every candidate sent after the restart");
    assert_eq!(get(&session, "trickleBadEtag").as_f64(), Some(0.0));
    l.dispose();
    assert_nothing_left("trickle after restart", 2_000).await;
}

/// Pipecat's trickle: `PATCH` of the offer URL with `{ pc_id, candidates }`.
#[wasm_bindgen_test]
async fn pipecat_trickles_candidates_with_its_pc_id() {
    install_spies();
    fast_install();
    let mark = fast_mark();
    let l = VoiceLink::new(obj(&[("url", format!("{PEER}/api/offer?delay_ms=300").into()), ("signaling", "pipecat".into())])).unwrap();
    let pending = JsFuture::from(l.connect());
    assert!(eventually(5_000, || snap(&l, "phase").as_deref() == Some("signaling")).await);
    fire_candidate(LATE);
    pending.await.expect("connects");
    let pc_id = snap(&l, "sessionId").unwrap();
    assert!(eventually(2_000, || fast_fetches(mark, "PATCH", "/api/offer").length() == 1).await, "one PATCH");
    let body: JsValue = js_sys::JSON::parse(&get_str(&fast_fetches(mark, "PATCH", "/api/offer").get(0), "body").unwrap()).unwrap();
    assert_eq!(get_str(&body, "pc_id").as_deref(), Some(pc_id.as_str()));
    let candidates = js_sys::Array::from(&get(&body, "candidates"));
    assert!(candidates.iter().any(|c| get_str(&c, "candidate").as_deref() == Some(LATE)), "the fired candidate is in the batch");
    let mut taken = None;
    for _ in 0..40 {
        taken = get(&peer_session(&pc_id).await, "trickledCandidates").as_f64();
        if taken.is_some_and(|n| n >= 1.0) {
            break;
        }
        wait_ms(50).await;
    }
    // Ours, and any the browser gathered after the offer.
    assert!(taken.is_some_and(|n| n >= 1.0), "the dev peer took it: {taken:?}");
    l.dispose();
    assert_nothing_left("pipecat trickle", 2_000).await;
}

/// `prepare()` makes the peer connection (no microphone), `connect()` uses it: one
/// `RTCPeerConnection` in total. `dispose()` — or `disconnect()` — after `prepare()` leaves
/// nothing behind.
#[wasm_bindgen_test]
async fn prepare_then_connect_uses_the_prepared_peer_connection() {
    install_spies();
    let pcs = peer_connection_count();
    let l = link(&[("token", delayed_token(50, "t").into())], "");
    JsFuture::from(l.prepare()).await.expect("prepare resolves");
    assert_eq!(peer_connection_count(), pcs + 1, "prepare() made the peer connection");
    assert_eq!(live_capture_tracks(), 0, "prepare() opens no microphone");
    assert_eq!(snap(&l, "status").as_deref(), Some("idle"), "nothing is shown as connecting");
    JsFuture::from(l.connect()).await.expect("connects");
    assert_eq!(peer_connection_count(), pcs + 1, "connect() used it: one RTCPeerConnection in total");
    assert_eq!(snap(&l, "status").as_deref(), Some("connected"));
    l.dispose();
    assert_nothing_left("prepare + connect", 2_000).await;

    for end in ["dispose", "disconnect"] {
        let pcs = peer_connection_count();
        let l = link(&[], "");
        JsFuture::from(l.prepare()).await.expect("prepare resolves");
        assert_eq!((peer_connection_count(), open_peer_connections()), (pcs + 1, 1), "{end}: one open");
        if end == "dispose" {
            l.dispose();
        } else {
            JsFuture::from(l.disconnect()).await.unwrap();
        }
        assert_nothing_left(&format!("prepare + {end}"), 1_500).await;
        l.dispose();
    }
}

/// `iceServersFromServer`: an `OPTIONS` pre-flight of the WHIP endpoint before the offer.
#[wasm_bindgen_test]
async fn ice_servers_from_server_asks_options_first() {
    install_spies();
    fast_install();
    let before = get(&report().await, "optionsRequests").as_f64().unwrap_or(-1.0);
    let mark = fast_mark();
    let l = link(&[("iceServersFromServer", true.into())], "");
    JsFuture::from(l.connect()).await.expect("connects");
    assert_eq!(get(&report().await, "optionsRequests").as_f64(), Some(before + 1.0), "one OPTIONS /whip");
    assert_eq!(fast_fetches(mark, "OPTIONS", "/whip").length(), 1);
    l.dispose();
    assert_nothing_left("options", 2_000).await;
}

/// TURN reachable only as relay (coturn on loopback, `iceTransportPolicy: "relay"`): the
/// offer carries a relay candidate (and no host one) and the call connects over it.
#[wasm_bindgen_test]
async fn relay_only_offers_a_relay_candidate_and_connects_over_turn() {
    let (Some(url), Some(user), Some(credential)) =
        (option_env!("VOICELINK_TURN_URL"), option_env!("VOICELINK_TURN_USERNAME"), option_env!("VOICELINK_TURN_CREDENTIAL"))
    else {
        console_log!("SKIPPED: no TURN server (build the tests under scripts/turn.sh: VOICELINK_TURN_URL)");
        return;
    };
    install_spies();
    fast_install();
    let mark = fast_mark();
    let l = link(&[("iceServers", ice(url, Some(user), Some(credential))), ("iceTransportPolicy", "relay".into())], "");
    JsFuture::from(l.connect()).await.expect("connects over TURN");
    let offer = get_str(&fast_fetches(mark, "POST", "/whip").get(0), "body").unwrap();
    assert!(offer.contains("typ relay"), "the offer carries a relay candidate: {offer}");
    assert!(!offer.contains("typ host"), "and no host one (relay only)");
    let kind = JsFuture::from(selected_local_type()).await.unwrap().as_string();
    assert_eq!(kind.as_deref(), Some("relay"), "the selected pair's local candidate is the relay");
    l.dispose();
    assert_nothing_left("relay", 2_000).await;
}
