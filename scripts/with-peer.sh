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
mkdir -p "$(dirname "$logfile")"
: >"$logfile"

peer_pid=""
stop_peer() {
  if [ -n "$peer_pid" ] && kill -0 "$peer_pid" 2>/dev/null; then
    kill "$peer_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$peer_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
  fi
  peer_pid=""
}
peer_log_tail() {
  echo "----- dev peer log (last 60 lines of $logfile) -----" >&2
  tail -n 60 "$logfile" >&2 || true
  echo "----- end of dev peer log -----" >&2
}
trap stop_peer EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --dead-stun 0: a STUN server that never answers on a free UDP port (its port is
# `deadStunPort` in /_dev/state), for the tests and benches of a connect that must not wait
# for it (issue 16). VOICELINK_PEER_ARGS: more flags (word-split), e.g. "--token T".
# shellcheck disable=SC2086
RUST_LOG="${RUST_LOG:-info}" "$PEER_BIN" --host 127.0.0.1 --port "$port" --www www --pkg pkg \
  --dead-stun 0 ${VOICELINK_PEER_ARGS:-} \
  >>"$logfile" 2>&1 &
peer_pid=$!

# Wait (bounded) for the health endpoint.
deadline=$((SECONDS + ${PEER_START_TIMEOUT_S:-30}))
until node -e '
  fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
' "$url/_dev/health" 2>/dev/null; do
  if ! kill -0 "$peer_pid" 2>/dev/null; then
    peer_log_tail
    die "dev peer exited before answering $url/_dev/health"
  fi
  if [ $SECONDS -ge $deadline ]; then
    peer_log_tail
    die "dev peer did not answer $url/_dev/health within ${PEER_START_TIMEOUT_S:-30} s"
  fi
  sleep 0.2
done
log "dev peer up at $url (pid $peer_pid, log $logfile)"

export VOICELINK_PEER_URL="$url"
set +e
"$@"
rc=$?
set -e

if [ "$rc" != 0 ]; then
  peer_log_tail
fi
if ! kill -0 "$peer_pid" 2>/dev/null; then
  warn "the dev peer had exited before the command finished"
  [ "$rc" != 0 ] || { peer_log_tail; rc=1; }
fi
exit "$rc"
