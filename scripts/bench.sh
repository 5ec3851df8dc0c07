#!/usr/bin/env bash
# Runs every benchmark (this is `npm run bench`) and merges the figures into
# bench/results.json. Builds like scripts/test.sh, then runs bench/run.mjs in a
# loopback-only network namespace with the dev peer on 127.0.0.1:7878.
#   scripts/bench.sh [NAME...]   only the benches bench/NAME.bench.mjs
#
#   VOICELINK_BROWSERS=chromium,firefox   (default: both, as scripts/test-browser.sh)
# The teardown, soak, connect and devices benches run in each listed browser, Chromium first;
# Firefox's keys end in ".firefox". Firefox's Web Audio needs a sound server: with Firefox
# in the list the benches run under scripts/with-pulse.sh (PulseAudio with a null sink,
# inside the loopback namespace, stopped when they end).
. "$(dirname "$0")/lib.sh"

read_browsers
pulse=()
if [ "$want_firefox" = 1 ]; then pulse=(scripts/with-pulse.sh); fi

t_all=$SECONDS
step "setup" scripts/setup.sh
step "build dev peer (release)" build_peer
step "build package (pkg/)" build_pkg
# The size bench compares with other libraries from npm: install them here, outside the
# loopback-only namespace the benches run in (it cannot reach the registry).
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -qx size; then
  step "install the libraries the size bench compares with" \
    node -e 'import("./bench/size.bench.mjs").then((m) => m.ensurePeers())'
fi
step "benchmarks (loopback namespace, dev peer on $TEST_PEER_URL; browsers $browsers)" \
  timeout --kill-after=30s "${BENCH_TIMEOUT:-30m}" scripts/netns.sh scripts/with-peer.sh "$TEST_PEER_PORT" target/dev-peer-bench.log \
  env VOICELINK_BROWSERS="$browsers" "${pulse[@]}" node bench/run.mjs "$@"
log "benchmarks done (total $((SECONDS - t_all)) s); figures in bench/results.json"
