#!/usr/bin/env bash
# Starts the dev peer (already built) on 127.0.0.1:PORT serving www/ and pkg/,
# waits until GET /_dev/health answers, runs CMD, then stops the peer. On
# failure it prints the tail of the peer's log. Exits with CMD's status.
#
#   scripts/with-peer.sh PORT LOGFILE CMD [ARGS...]
#
# CMD sees VOICELINK_PEER_URL=http://127.0.0.1:PORT. The peer has a dead STUN server
# (--dead-stun 0, below). Usually run inside
# scripts/netns.sh.
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: scripts/with-peer.sh PORT LOGFILE CMD [ARGS...]"
port="$1"; logfile="$2"; shift 2

[ -x "$PEER_BIN" ] || die "$PEER_BIN is missing: cargo build --release -p voicelink-dev-peer"
[ -f pkg/index.js ] || die "pkg/index.js is missing: node scripts/build.mjs"

url="http://127.0.0.1:${port}"

# --dead-stun 0: a STUN server that never answers on a free UDP port (its port is
# `deadStunPort` in /_dev/state), for the tests and benches of a connect that must not wait
# for it (issue 16). VOICELINK_PEER_ARGS: more flags (word-split), e.g. "--token T".
# shellcheck disable=SC2086
exec_peer() {
  RUST_LOG="${RUST_LOG:-info}" exec "$PEER_BIN" --host 127.0.0.1 --port "$port" --www www --pkg pkg \
    --dead-stun 0 ${VOICELINK_PEER_ARGS:-}
}
server_start "dev peer" "$logfile" exec_peer
server_wait "${PEER_START_TIMEOUT_S:-30}" "answer $url/_dev/health" http_ok "$url/_dev/health"
log "dev peer up at $url (pid $server_pid, log $logfile)"

export VOICELINK_PEER_URL="$url"
server_run "$@"
