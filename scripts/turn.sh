#!/usr/bin/env bash
# Starts a TURN server (coturn's turnserver, from scripts/setup.sh) on
# 127.0.0.1:PORT only, UDP and TCP, waits until it answers, runs CMD, then
# stops the server. On failure it prints the tail of the server's log. Exits
# with CMD's status.
#
#   scripts/turn.sh PORT LOGFILE CMD [ARGS...]
#   scripts/netns.sh scripts/turn.sh 3478 target/turn.log node tests/turn/smoke.mjs
#
# CMD sees VOICELINK_TURN_URL=turn:127.0.0.1:PORT, VOICELINK_TURN_USERNAME and
# VOICELINK_TURN_CREDENTIAL (a static long-term credential, voicelink/voicelink,
# realm voicelink.test) — what an RTCIceServer needs — and TURN_MIN_PORT,
# TURN_MAX_PORT (the relay port range, below). Usually run inside
# scripts/netns.sh (loopback only).
#
# The server: no configuration file (-n: /etc/turnserver.conf is not read), no
# TLS/DTLS listeners, no CLI, listens and relays on 127.0.0.1 only, allows
# loopback peers (in the namespace every peer address is 127.0.0.1),
# relay ports TURN_MIN_PORT..TURN_MAX_PORT (default 30000..30199, below Linux's
# ephemeral range 32768..60999, so no browser socket holds one), its user
# database, pid file and nothing else in a temporary directory removed after.
# Ready = a STUN Binding request over UDP and one over TCP are answered, within
# TURN_START_TIMEOUT_S (default 10) seconds. Stopped with SIGTERM, then SIGKILL
# after 5 s.
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: scripts/turn.sh PORT LOGFILE CMD [ARGS...]"
port="$1"; logfile="$2"; shift 2
case "$port" in ''|*[!0-9]*) die "scripts/turn.sh: PORT must be a number, got '$port'" ;; esac

command -v turnserver >/dev/null || die "turnserver (coturn) is missing: run scripts/setup.sh"

user=voicelink
credential=voicelink
realm=voicelink.test
min_port="${TURN_MIN_PORT:-30000}"
max_port="${TURN_MAX_PORT:-30199}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/voicelink-turn.XXXXXX")"
server_cleanup() { rm -rf "$tmp"; }

# exec: $! is turnserver itself, so it is signalled directly.
exec_turn() {
  exec turnserver -n \
    --listening-ip=127.0.0.1 --listening-port="$port" \
    --relay-ip=127.0.0.1 --min-port="$min_port" --max-port="$max_port" \
    --allow-loopback-peers \
    --lt-cred-mech --user="$user:$credential" --realm="$realm" \
    --fingerprint \
    --no-tls --no-dtls --no-cli \
    --userdb="$tmp/turndb" --pidfile="$tmp/turnserver.pid" \
    --no-auth-pings --no-dynamic-ip-list --no-dynamic-realms \
    --log-file=stdout --simple-log
}
server_start turnserver "$logfile" exec_turn

# Wait (bounded) until a STUN Binding request is answered on UDP and on TCP.
stun_probe() {
  node - "$port" <<'JS'
const dgram = require("node:dgram");
const net = require("node:net");
const crypto = require("node:crypto");
const port = Number(process.argv[2]);
// RFC 8489 Binding request: type 0x0001, length 0, magic cookie, 96-bit transaction id.
const request = () => {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(0x2112a442, 4);
  crypto.randomBytes(12).copy(b, 8);
  return b;
};
const isSuccess = (req, res) => res.length >= 20 && res.readUInt16BE(0) === 0x0101 && res.subarray(8, 20).equals(req.subarray(8, 20));
const udp = () =>
  new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const req = request();
    const t = setTimeout(() => (s.close(), reject(new Error("udp: no answer"))), 500);
    s.on("message", (m) => (clearTimeout(t), s.close(), isSuccess(req, m) ? resolve() : reject(new Error("udp: not a Binding success"))));
    s.on("error", (e) => (clearTimeout(t), s.close(), reject(e)));
    s.send(req, port, "127.0.0.1");
  });
const tcp = () =>
  new Promise((resolve, reject) => {
    const req = request();
    const s = net.connect(port, "127.0.0.1", () => s.write(req));
    let got = Buffer.alloc(0);
    const t = setTimeout(() => (s.destroy(), reject(new Error("tcp: no answer"))), 500);
    s.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 20) (clearTimeout(t), s.destroy(), isSuccess(req, got) ? resolve() : reject(new Error("tcp: not a Binding success")));
    });
    s.on("error", (e) => (clearTimeout(t), reject(e)));
  });
Promise.all([udp(), tcp()]).then(() => process.exit(0), () => process.exit(1));
JS
}

server_wait "${TURN_START_TIMEOUT_S:-10}" "answer STUN on udp and tcp 127.0.0.1:$port" stun_probe
log "turnserver up at turn:127.0.0.1:$port (udp+tcp) in $server_up_s s (pid $server_pid, log $logfile)"

export VOICELINK_TURN_URL="turn:127.0.0.1:$port"
export VOICELINK_TURN_USERNAME="$user"
export VOICELINK_TURN_CREDENTIAL="$credential"
export TURN_MIN_PORT="$min_port" TURN_MAX_PORT="$max_port"
server_run "$@"
