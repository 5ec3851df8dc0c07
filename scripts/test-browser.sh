#!/usr/bin/env bash
# The in-namespace half of scripts/test.sh: expects the dev peer at
# $VOICELINK_PEER_URL (scripts/with-peer.sh starts it) and everything built.
# Runs the wasm-bindgen tests in headless Chromium, then the e2e tests; both
# run even if the first fails.
. "$(dirname "$0")/lib.sh"

: "${VOICELINK_PEER_URL:?VOICELINK_PEER_URL must be set (run via scripts/with-peer.sh)}"
rc=0

step "wasm tests in headless Chromium" \
  env CHROMEDRIVER=/usr/bin/chromedriver \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
      WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}" \
      cargo test --target wasm32-unknown-unknown --tests --no-fail-fast -p voicelink \
  || rc=1

step "e2e tests (playwright-core)" node --test tests/e2e/*.test.mjs || rc=1

exit "$rc"
