# Shared shell helpers for scripts/*.sh. Source it; do not run it.
#   . "$(dirname "$0")/lib.sh"
# Sets REPO (the repository root) and cds there.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# cargo-installed tools (wasm-bindgen, wasm-bindgen-test-runner) live here.
if [ -d "$HOME/.cargo/bin" ]; then
  case ":$PATH:" in
    *":$HOME/.cargo/bin:"*) ;;
    *) export PATH="$HOME/.cargo/bin:$PATH" ;;
  esac
fi

# The dev peer binary and the address the wasm tests, e2e tests and benches use.
PEER_BIN="${VOICELINK_PEER_BIN:-$REPO/target/release/voicelink-dev-peer}"
TEST_PEER_PORT="${TEST_PEER_PORT:-7878}"
TEST_PEER_URL="http://127.0.0.1:${TEST_PEER_PORT}"

if [ -t 2 ]; then _b=$'\033[1m' _r=$'\033[31m' _y=$'\033[33m' _n=$'\033[0m'; else _b="" _r="" _y="" _n=""; fi
log() { printf '%s==> %s%s\n' "$_b" "$*" "$_n" >&2; }
warn() { printf '%swarning:%s %s\n' "$_y" "$_n" "$*" >&2; }
die() { printf '%serror:%s %s\n' "$_r" "$_n" "$*" >&2; exit 1; }

# step NAME CMD... : run CMD, print how long it took, fail with NAME.
step() {
  local name="$1"; shift
  local t0=$SECONDS
  log "$name"
  if "$@"; then
    log "$name: ok ($((SECONDS - t0)) s)"
  else
    local rc=$?
    printf '%s==> %s: FAILED (exit %s, %s s)%s\n' "$_r" "$name" "$rc" "$((SECONDS - t0))" "$_n" >&2
    return "$rc"
  fi
}

# The builds every browser-facing script needs: the dev peer and pkg/.
build_peer() { cargo build --release -p voicelink-dev-peer; }
build_pkg() { node scripts/build.mjs; }

# read_browsers: VOICELINK_BROWSERS (a comma list of chromium, firefox; default both) into
# $browsers, $want_chromium and $want_firefox (0/1); dies on an unknown or empty list.
read_browsers() {
  browsers="${VOICELINK_BROWSERS:-chromium,firefox}"
  want_chromium=0 want_firefox=0
  local _list b
  IFS=',' read -r -a _list <<<"$browsers"
  for b in "${_list[@]}"; do
    b="$(echo "$b" | tr -d '[:space:]' | tr '[:upper:]' '[:lower:]')"
    case "$b" in
      chromium) want_chromium=1 ;;
      firefox) want_firefox=1 ;;
      "") ;;
      *) die "VOICELINK_BROWSERS: unknown browser '$b' (known: chromium, firefox)" ;;
    esac
  done
  [ "$want_chromium$want_firefox" != 00 ] || die "VOICELINK_BROWSERS='$browsers' names no browser"
}

# A server beside a command (scripts/with-peer.sh, turn.sh, with-pulse.sh,
# tests/pipecat/run.sh): start it in the background, wait (bounded) until it
# answers, run the command, stop it. One server per script.
#
#   server_start NAME LOGFILE FN [ARGS...]  runs FN ARGS (which should exec the server, so
#                                          $! is the server itself) >>LOGFILE 2>&1 in the
#                                          background; on exit it is stopped (SIGTERM, SIGKILL
#                                          after 5 s) and server_cleanup (if defined) runs
#   server_wait TIMEOUT_S WHAT PROBE...     until PROBE succeeds (every 0.2 s); dies with the
#                                          log's tail if the server exits or TIMEOUT_S passes
#   server_run [--quiet] CMD...            runs CMD and exits with its status; prints the
#                                          log's tail when CMD failed (not with --quiet: a
#                                          server whose log says nothing of CMD), and fails if
#                                          the server had died meanwhile
server_pid=""
server_name=""
server_log=""
server_stop() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
  if declare -F server_cleanup >/dev/null; then server_cleanup; fi
}
server_log_tail() {
  echo "----- $server_name log (last 60 lines of $server_log) -----" >&2
  tail -n 60 "$server_log" >&2 || true
  echo "----- end of $server_name log -----" >&2
}
server_start() {
  server_name="$1" server_log="$2"; shift 2
  mkdir -p "$(dirname "$server_log")"
  : >"$server_log"
  trap server_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  "$@" >>"$server_log" 2>&1 &
  server_pid=$!
}
server_wait() {
  local timeout_s="$1" what="$2"; shift 2
  local t0=$SECONDS deadline=$((SECONDS + timeout_s))
  until "$@" 2>/dev/null; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      server_log_tail
      die "$server_name exited before it could $what"
    fi
    if [ $SECONDS -ge $deadline ]; then
      server_log_tail
      die "$server_name did not $what within $timeout_s s"
    fi
    sleep 0.2
  done
  server_up_s=$((SECONDS - t0))
}
server_run() {
  local rc quiet=0
  if [ "${1:-}" = --quiet ]; then quiet=1; shift; fi
  set +e
  "$@"
  rc=$?
  set -e
  if [ "$rc" != 0 ] && [ "$quiet" = 0 ]; then
    server_log_tail
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    warn "the $server_name had exited before the command finished"
    [ "$rc" != 0 ] || { server_log_tail; rc=1; }
  fi
  exit "$rc"
}

# http_ok URL: GET URL answers 2xx (node's fetch; bounded by the OS connect timeout on loopback).
http_ok() {
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' "$1"
}
