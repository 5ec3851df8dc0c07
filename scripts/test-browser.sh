#!/usr/bin/env bash
# The in-namespace half of scripts/test.sh: expects the dev peer at
# $VOICELINK_PEER_URL (scripts/with-peer.sh starts it) and everything built.
# Runs every wasm-bindgen test binary in headless Chromium, then in headless
# Firefox, then the e2e tests (each test body once per browser). Every part
# runs even if an earlier one fails.
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

browsers="${VOICELINK_BROWSERS:-chromium,firefox}"
want_chromium=0 want_firefox=0
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

# One test file at a time: the files share the dev peer (and the CPU).
step "e2e tests ($browsers)" \
  env VOICELINK_BROWSERS="$browsers" node --test --test-concurrency=1 tests/e2e/*.test.mjs \
  || rc=1

exit "$rc"
