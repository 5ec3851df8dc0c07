#!/usr/bin/env bash
# Runs every test (this is `npm test` and what CI runs):
#   setup → core unit tests (native), clippy → build dev peer, package, wasm tests →
#   in a loopback-only network namespace, with a TURN server (coturn, scripts/turn.sh) on
#   127.0.0.1:3478 and the dev peer on 127.0.0.1:7878:
#   wasm-bindgen tests in headless Chromium and in headless Firefox, then the
#   e2e tests in both, then the e2e test against the real Pipecat server
#   (scripts/test-browser.sh; VOICELINK_BROWSERS=chromium or =firefox narrows a
#   local run, default both).
# Exits non-zero if any part fails. Build failures stop the run; test failures
# are collected and the remaining tests still run.
. "$(dirname "$0")/lib.sh"

t_all=$SECONDS
failed=()

step "setup" scripts/setup.sh

step "core unit tests (native)" cargo test -p voicelink --lib || failed+=("core unit tests")

# clippy.toml forbids web-sys's MediaStream::clone / MediaStreamTrack::clone (JS clone(): a new
# capture track nobody stops); README "Tests" promises this check.
step "clippy (wasm32, -D warnings)" cargo clippy --target wasm32-unknown-unknown -p voicelink -- -D warnings \
  || failed+=("clippy")

step "build dev peer (release)" build_peer
step "build package (pkg/)" build_pkg

# The wasm tests read VOICELINK_PEER_URL at compile time (option_env!): the
# --no-run build and the run below must see the same value, or cargo rebuilds
# inside the namespace, where it is offline.
export VOICELINK_PEER_URL="$TEST_PEER_URL"
# The TURN test (tests/fast.rs) reads the TURN server at compile time too: coturn on loopback,
# started by scripts/turn.sh inside the namespace with these same values.
TEST_TURN_PORT="${TEST_TURN_PORT:-3478}"
export VOICELINK_TURN_URL="turn:127.0.0.1:$TEST_TURN_PORT" VOICELINK_TURN_USERNAME=voicelink VOICELINK_TURN_CREDENTIAL=voicelink
step "build wasm tests" cargo test --target wasm32-unknown-unknown --tests --no-run -p voicelink

# Bounded, so a hang cannot eat CI's 90 minutes (timeout signals the whole group).
step "browser tests (loopback namespace, dev peer on $TEST_PEER_URL)" \
  timeout --kill-after=30s "${BROWSER_TESTS_TIMEOUT:-40m}" \
  scripts/netns.sh scripts/turn.sh "$TEST_TURN_PORT" target/turn-test.log \
  scripts/with-peer.sh "$TEST_PEER_PORT" target/dev-peer-test.log \
  scripts/test-browser.sh || failed+=("browser tests")

if [ ${#failed[@]} -gt 0 ]; then
  printf '%s==> FAILED: %s (total %s s)%s\n' "$_r" "$(IFS=','; echo "${failed[*]}")" "$((SECONDS - t_all))" "$_n" >&2
  exit 1
fi
log "all tests passed (total $((SECONDS - t_all)) s)"
