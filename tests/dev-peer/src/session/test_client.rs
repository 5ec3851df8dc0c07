//! A WebRTC client for tests: a str0m `Rtc` (full ICE, controlling) on its
//! own UDP socket, with a sendrecv audio m-line and one data channel, that
//! connects to a session over loopback and collects what the server sends
//! on the channel.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

/// A client peer connection.
pub struct TestClient {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    channel: Option<ChannelId>,
    audio_mid: Mid,
    /// RTP time of the next audio packet sent (48 kHz).
    rtp_time: u64,
    /// Whether ICE/DTLS came up.
    pub connected: bool,
    /// Text messages received on the data channel, in order.
    pub received: Vec<String>,
}

impl TestClient {
    /// A client whose data channel is labelled `label`, and its SDP offer.
    pub fn new(label: &str) -> (TestClient, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
        let local = socket.local_addr().expect("addr");
        let mut rtc = RtcConfig::new().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"))
            .expect("candidate taken");
        let mut api = rtc.sdp_api();
        let audio_mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        api.add_channel(label.into());
        let (offer, pending) = api.apply().expect("an offer");
        let client = TestClient {
            rtc,
            socket,
            local,
            pending: Some(pending),
            channel: None,
            audio_mid,
            rtp_time: 0,
            connected: false,
            received: Vec::new(),
        };
        (client, offer.to_sdp_string())
    }

    /// Take the server's SDP answer.
    pub fn accept(&mut self, answer_sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(answer_sdp).expect("an SDP answer");
        let pending = self.pending.take().expect("an offer pending");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
    }

    /// Drive the connection until `done` holds (true) or `timeout` passes (false).
    pub fn run_until(&mut self, timeout: Duration, done: impl Fn(&TestClient) -> bool) -> bool {
        let start = Instant::now();
        let mut buf = vec![0; 2000];
        while start.elapsed() < timeout {
            if done(self) {
                return true;
            }
            let deadline = loop {
                match self.rtc.poll_output().expect("rtc output") {
                    Output::Timeout(t) => break t,
                    Output::Transmit(t) => {
                        let _ = self.socket.send_to(&t.contents, t.destination);
                    }
                    Output::Event(e) => self.event(e),
                }
            };
            let now = Instant::now();
            let wait = deadline
                .saturating_duration_since(now)
                .clamp(Duration::from_millis(1), Duration::from_millis(10));
            self.socket.set_read_timeout(Some(wait)).expect("timeout");
            let input = match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => match buf[..n].try_into() {
                    Ok(contents) => Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: self.local,
                            contents,
                        },
                    ),
                    Err(_) => continue,
                },
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    Input::Timeout(Instant::now())
                }
                Err(e) => panic!("client socket: {e}"),
            };
            self.rtc.handle_input(input).expect("rtc input");
        }
        done(self)
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connected => self.connected = true,
            Event::ChannelOpen(cid, _) => self.channel = Some(cid),
            Event::ChannelData(d) => self
                .received
                .push(String::from_utf8_lossy(&d.data).into_owned()),
            _ => {}
        }
    }

    /// Whether the data channel is open.
    pub fn channel_open(&self) -> bool {
        self.channel.is_some()
    }

    /// Send a text message on the data channel.
    pub fn send(&mut self, text: &str) {
        let cid = self.channel.expect("an open channel");
        let mut channel = self.rtc.channel(cid).expect("the channel");
        channel.write(false, text.as_bytes()).expect("written");
    }

    /// Send one 20 ms audio packet with this payload, carrying the RFC 6464
    /// level extension when `level_dbov` is given (-127..=0), and let it go out.
    pub fn send_audio(&mut self, level_dbov: Option<i8>, payload: &[u8]) {
        let writer = self.rtc.writer(self.audio_mid).expect("an audio writer");
        let pt = writer.payload_params().next().expect("a codec").pt();
        let writer = match level_dbov {
            Some(level) => writer.audio_level(level, level > -50),
            None => writer,
        };
        let time = MediaTime::new(self.rtp_time, Frequency::FORTY_EIGHT_KHZ);
        self.rtp_time += 960;
        writer
            .write(pt, Instant::now(), time, payload.to_vec())
            .expect("written");
        self.run_until(Duration::from_millis(2), |_| false);
    }

    /// Connect and open the channel (up to 5 s); panics if it does not.
    pub fn connect(&mut self, answer_sdp: &str) {
        self.accept(answer_sdp);
        assert!(
            self.run_until(Duration::from_secs(5), |c| c.connected && c.channel_open()),
            "the client did not connect"
        );
    }
}
