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
