#!/usr/bin/env bash
# The in-namespace half of scripts/test.sh: expects the dev peer at
# $VOICELINK_PEER_URL (scripts/with-peer.sh starts it) and everything built.
# Runs every wasm-bindgen test binary in headless Chromium, then in headless
# Firefox, then the e2e tests (each test body once per browser), then
# tests/e2e/pipecat.test.mjs against the real Pipecat bot (tests/pipecat/run.sh
# on 127.0.0.1:${TEST_PIPECAT_PORT:-7880}; its venv comes from scripts/setup.sh).
# Every part runs even if an earlier one fails.
#
#   VOICELINK_BROWSERS=chromium,firefox   (default: both; a comma list narrows a
#                                          local run; CI runs both)
#
# wasm-bindgen-test-runner picks its browser from the first of GECKODRIVER,
# SAFARIDRIVER, CHROMEDRIVER, MSEDGEDRIVER that is set (else the first such
# binary on PATH, geckodriver before chromedriver): each run sets its own and
# unsets the other. Both read webdriver.json: goog:chromeOptions for Chromium,
# moz:firefoxOptions (binary and prefs) for Firefox; the runner adds -headless.
#
# Firefox needs a sound server for Web Audio: with Firefox in the list this
# script runs itself under scripts/with-pulse.sh (PulseAudio with a null sink,
# stopped when this ends) and starts Firefox with XDG_RUNTIME_DIR pointing at it.
. "$(dirname "$0")/lib.sh"

: "${VOICELINK_PEER_URL:?VOICELINK_PEER_URL must be set (run via scripts/with-peer.sh)}"

read_browsers

# A TURN server on loopback for tests/fast.rs's relay-only test (coturn from scripts/setup.sh,
# scripts/turn.sh; its VOICELINK_TURN_* reach the test binaries at compile time).
if [ -z "${VOICELINK_TURN_URL:-}" ]; then
  exec scripts/turn.sh "${TEST_TURN_PORT:-3478}" target/turn-test.log "$0" "$@"
fi

if [ "$want_firefox" = 1 ] && [ -z "${VOICELINK_PULSE_DIR:-}" ]; then
  exec scripts/with-pulse.sh "$0" "$@"
fi

rc=0
timeout_s="${WASM_BINDGEN_TEST_TIMEOUT:-120}"

if [ "$want_chromium" = 1 ]; then
  step "wasm tests in headless Chromium ($(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))" \
    env -u GECKODRIVER CHROMEDRIVER=/usr/bin/chromedriver \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        WASM_BINDGEN_TEST_TIMEOUT="$timeout_s" \
        cargo test --target wasm32-unknown-unknown --tests --no-fail-fast -p voicelink \
    || rc=1
fi

if [ "$want_firefox" = 1 ]; then
  geckodriver="$(command -v geckodriver || true)"
  [ -n "$geckodriver" ] || die "geckodriver is not on PATH: run scripts/setup.sh"
  step "wasm tests in headless Firefox ($(/usr/bin/firefox-esr --version 2>/dev/null | awk '{print $3}'))" \
    env -u CHROMEDRIVER GECKODRIVER="$geckodriver" XDG_RUNTIME_DIR="$VOICELINK_PULSE_DIR" \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        WASM_BINDGEN_TEST_TIMEOUT="$timeout_s" \
        cargo test --target wasm32-unknown-unknown --tests --no-fail-fast -p voicelink \
    || rc=1
fi

# One test file at a time: the files share the dev peer (and the CPU). pipecat.test.mjs runs
# on its own below, with the Pipecat bot up only for it.
e2e_files=()
for f in tests/e2e/*.test.mjs; do
  [ "$f" = tests/e2e/pipecat.test.mjs ] || e2e_files+=("$f")
done
step "e2e tests ($browsers)" \
  env VOICELINK_BROWSERS="$browsers" node --test --test-concurrency=1 "${e2e_files[@]}" \
  || rc=1

# The real Pipecat SmallWebRTC server (pipecat-ai from PyPI, in the venv scripts/setup.sh made
# outside the namespace) on 127.0.0.1:$pipecat_port, started and stopped around this one file
# (~5 s to start). VOICELINK_REQUIRE_PIPECAT=1: a missing bot fails the test instead of
# skipping it; a missing venv already fails run.sh.
pipecat_port="${TEST_PIPECAT_PORT:-7880}"
step "e2e tests against a real Pipecat server ($browsers, bot on 127.0.0.1:$pipecat_port)" \
  tests/pipecat/run.sh "$pipecat_port" target/pipecat-test.log \
  env VOICELINK_BROWSERS="$browsers" VOICELINK_REQUIRE_PIPECAT=1 node --test tests/e2e/pipecat.test.mjs \
  || rc=1

exit "$rc"
