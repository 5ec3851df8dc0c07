//! Random input sequences: no panic, and time never runs backwards.

use proptest::prelude::*;

use super::*;

/// One step of a random run; `stale` tags the input with the previous connection.
#[derive(Clone, Debug)]
enum Op {
    Connect,
    Reconnect,
    Disconnect,
    Hidden,
    Visible,
    PageHide,
    /// `Timeout` at the current time.
    Timeout,
    /// `Timeout` at `poll_timeout()` (what the driver's timer does).
    AtDeadline,
    Phase(u8),
    Session(bool),
    Peer(u8, bool),
    Ice(u8, bool),
    Open(bool),
    Closed(bool),
    Failed(bool),
    ServerEnded(bool),
    Audio(bool, bool),
    Sample(bool, bool),
    Answered(bool),
    RestartFailed(bool, bool),
    TeardownFailed,
    /// The live connection comes up: session, `connected`, channel open, bytes.
    Up,
    /// The live connection's transport drops (`disconnected` or `failed`).
    Down(bool),
    /// The ICE restart in flight is answered and media flows.
    Answer,
}

fn op() -> impl Strategy<Value = Op> {
    let b = any::<bool>;
    prop_oneof![
        4 => Just(Op::Connect),
        4 => Just(Op::Reconnect),
        1 => Just(Op::Disconnect),
        1 => Just(Op::Hidden),
        1 => Just(Op::Visible),
        1 => Just(Op::PageHide),
        1 => Just(Op::Timeout),
        3 => Just(Op::AtDeadline),
        1 => (0u8..5).prop_map(Op::Phase),
        1 => b().prop_map(Op::Session),
        2 => (0u8..6, b()).prop_map(|(s, x)| Op::Peer(s, x)),
        1 => (0u8..6, b()).prop_map(|(s, x)| Op::Ice(s, x)),
        2 => b().prop_map(Op::Open),
        1 => b().prop_map(Op::Closed),
        1 => b().prop_map(Op::Failed),
        1 => b().prop_map(Op::ServerEnded),
        1 => (b(), b()).prop_map(|(x, y)| Op::Audio(x, y)),
        3 => (b(), b()).prop_map(|(x, y)| Op::Sample(x, y)),
        1 => b().prop_map(Op::Answered),
        1 => (b(), b()).prop_map(|(x, y)| Op::RestartFailed(x, y)),
        1 => Just(Op::TeardownFailed),
        6 => Just(Op::Up),
        3 => any::<bool>().prop_map(Op::Down),
        3 => Just(Op::Answer),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (any::<bool>(), 0usize..3, any::<bool>(), any::<bool>(), 0usize..3, 0usize..3, 1u32..6).prop_map(
        |(auto_policy, vis_grace, hide_policy, resume, grace, timeout, attempts)| Options {
            reconnect: if auto_policy { ReconnectPolicy::Auto } else { ReconnectPolicy::Manual },
            visibility: VisibilityPolicy {
                on_hidden: if hide_policy { HiddenPolicy::Disconnect } else { HiddenPolicy::None },
                grace_ms: [0, 300, 3000][vis_grace],
                resume_on_visible: resume,
            },
            session_grace_ms: [0, 4000, 300_000][grace],
            backoff: Backoff { attempts, base_ms: 100, cap_ms: 2000, spread_ms: 0, jitter: true },
            ..opts([1, 3000, 5000][timeout])
        },
    )
}

const STATES: [PeerState; 6] =
    [PeerState::New, PeerState::Connecting, PeerState::Connected, PeerState::Disconnected, PeerState::Failed, PeerState::Closed];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_never_panic_and_deadlines_never_go_back(
        o in options(),
        seed in any::<u64>(),
        steps in proptest::collection::vec((op(), prop_oneof![4 => 0u32..300, 1 => 0u32..6000]), 1..120),
    ) {
        let mut m = Machine::new(&o, seed);
        let mut t = 0.0;
        let mut seq = 0u32;
        let mut bytes = 0.0;
        for (op, dt) in steps {
            t += dt as f64;
            let c = m.conn();
            let rare = dt % 4 == 0;
            let tag = |stale: bool| if stale && rare { c.wrapping_sub(1) } else { c };
            let poll = m.poll_timeout();
            let inputs = match op {
                Op::Up => {
                    bytes += 100.0;
                    vec![
                        Input::SessionCreated { conn: c, session: session("x") },
                        Input::PeerState { conn: c, state: PeerState::Connected },
                        Input::ChannelOpen { conn: c },
                        Input::TransportSample { conn: c, bytes_received: bytes },
                    ]
                }
                Op::Down(failed) => {
                    let state = if failed { PeerState::Failed } else { PeerState::Disconnected };
                    vec![Input::PeerState { conn: c, state }]
                }
                Op::Answer => {
                    bytes += 100.0;
                    vec![
                        Input::RestartAnswered { conn: c, seq },
                        Input::PeerState { conn: c, state: PeerState::Connected },
                        Input::ChannelOpen { conn: c },
                        Input::TransportSample { conn: c, bytes_received: bytes },
                    ]
                }
                op => vec![match op {
                Op::Connect => Input::Connect,
                Op::Reconnect => Input::Reconnect,
                Op::Disconnect => Input::Disconnect { reason: EndReason::User },
                Op::Hidden => Input::PageHidden,
                Op::Visible => Input::PageVisible,
                Op::PageHide => Input::PageHide,
                Op::Timeout => Input::Timeout,
                Op::AtDeadline => {
                    t = t.max(poll.unwrap_or(t));
                    Input::Timeout
                }
                Op::Phase(p) => Input::Phase { conn: c, phase: ConnectPhase::ALL[p as usize % 5] },
                Op::Session(s) => Input::SessionCreated { conn: tag(s), session: session("x") },
                Op::Peer(p, s) => Input::PeerState { conn: tag(s), state: STATES[p as usize] },
                Op::Ice(p, s) => Input::IceState { conn: tag(s), state: STATES[p as usize] },
                Op::Open(s) => Input::ChannelOpen { conn: tag(s) },
                Op::Closed(s) => Input::ChannelClosed { conn: tag(s) },
                Op::Failed(s) => Input::Failed { conn: tag(s), error: LinkError::http(500, "") },
                Op::ServerEnded(s) => Input::ServerEnded { conn: tag(s) },
                Op::Audio(blocked, s) => {
                    if blocked { Input::AudioBlocked { conn: tag(s) } } else { Input::AudioPlaying { conn: tag(s) } }
                }
                Op::Sample(grow, s) => {
                    if grow {
                        bytes += 100.0;
                    }
                    Input::TransportSample { conn: tag(s), bytes_received: bytes }
                }
                Op::Answered(s) => Input::RestartAnswered { conn: c, seq: if s { seq.wrapping_sub(1) } else { seq } },
                Op::RestartFailed(fresh, s) => Input::RestartFailed {
                    conn: c,
                    seq: if s { seq.wrapping_sub(1) } else { seq },
                    error: LinkError::http(503, ""),
                    needs_fresh_session: fresh,
                },
                Op::TeardownFailed => Input::TeardownFailed { steps: vec!["peer connection"] },
                Op::Up | Op::Down(_) | Op::Answer => Input::Timeout,
            }],
            };
            for input in inputs {
            let before = m.poll_timeout();
            let is_timeout = input == Input::Timeout;
            let fx = m.handle(t, input);
            let now = m.now_ms();
            if let Some((_, s)) = restart(&fx) {
                seq = s;
            }
            let after = m.poll_timeout();
            if is_timeout {
                // Every due deadline fired: the next one is later than now.
                prop_assert!(after.is_none_or(|a| a > now), "after Timeout at {now}: {after:?}");
            }
            // New deadlines are never before now; one before now is an old one not yet fired.
            prop_assert!(
                after.is_none_or(|a| a >= now || before.is_some_and(|b| a >= b)),
                "deadline went back: {before:?} → {after:?} at {now}"
            );
            if m.is_current(m.conn()) {
                prop_assert!(m.is_active());
            }
            if !m.is_active() {
                prop_assert_eq!(after, None, "nothing pending once ended or idle");
            }
            prop_assert!(m.grace_remaining_ms(now).is_none_or(|g| g >= 0.0));
            prop_assert!(m.next_retry_in_ms(now).is_none_or(|r| r >= 0.0));
            prop_assert!(fx.iter().filter(|e| **e == Effect::Notify).count() <= 1, "one Notify at most: {:?}", fx);
            let _ = view(&m);
            }
        }
    }
}
