//! `--dead-stun PORT`: a UDP socket on 127.0.0.1 that reads every datagram
//! and answers none, so a client can be given `stun:127.0.0.1:PORT` as a
//! STUN server that never answers (its server-reflexive gathering times
//! out). Each datagram is counted (`deadStunDatagrams`).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::thread;

use log::{debug, info, warn};

use crate::state::Registry;

/// Bind 127.0.0.1:`port` (0: any free port) and drop what arrives, on a
/// thread of its own, counting in `registry`. Returns the bound port.
pub fn spawn(registry: &Arc<Registry>, port: u16) -> io::Result<u16> {
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))?;
    let bound = socket.local_addr()?.port();
    registry.set_dead_stun_port(bound);
    let registry = registry.clone();
    thread::Builder::new()
        .name("dead-stun".into())
        .spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        registry.dead_stun_datagram();
                        debug!("dead STUN: dropped {n} bytes from {from}");
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        warn!("dead STUN socket: {e}; no longer counting");
                        return;
                    }
                }
            }
        })?;
    info!("dead STUN server (never answers) on udp 127.0.0.1:{bound}");
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn counts_and_never_answers() {
        let registry = Arc::new(Registry::new(Duration::from_secs(1)));
        assert_eq!(registry.report().dead_stun_port, None);
        let port = spawn(&registry, 0).expect("bound");
        assert_ne!(port, 0);
        let client = UdpSocket::bind("127.0.0.1:0").expect("client");
        client
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        // A STUN binding request (RFC 5389 header, no attributes).
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(&[7; 12]);
        for _ in 0..3 {
            client.send_to(&request, ("127.0.0.1", port)).expect("sent");
        }
        let t = Instant::now();
        while registry.report().dead_stun_datagrams < 3 && t.elapsed() < Duration::from_secs(3) {
            thread::sleep(Duration::from_millis(5));
        }
        let json = serde_json::to_value(registry.report()).expect("serializes");
        assert_eq!(json["deadStunDatagrams"], 3);
        assert_eq!(json["deadStunPort"], port);
        let mut buf = [0u8; 64];
        assert!(client.recv_from(&mut buf).is_err(), "no answer");
        // The port is taken: a second socket on it fails.
        assert!(spawn(&registry, port).is_err());
    }
}
