#!/usr/bin/env bash
# Starts a private PulseAudio sound server with one null sink, runs CMD with
# VOICELINK_PULSE_DIR naming its runtime directory, then stops the server and
# removes the directory. Exits with CMD's status.
#
#   scripts/with-pulse.sh CMD [ARGS...]
#
# Why: Firefox's Web Audio needs a sound server. Without one an AudioContext
# stays "suspended", resume() never settles and every analyser reads 0 (checked
# with Firefox 153 ESR). The null sink plays into nothing. Firefox finds the
# server at $XDG_RUNTIME_DIR/pulse/native: start Firefox with
# XDG_RUNTIME_DIR=$VOICELINK_PULSE_DIR (scripts/test-browser.sh does for the
# wasm tests, scripts/firefox.mjs for the e2e tests). Chromium is not given it:
# it runs as before, without a sound server. Usually run inside
# scripts/netns.sh (a unix socket, no network).
#
# Bounded: the server must answer within PULSE_START_TIMEOUT_S (10) seconds; it
# is stopped with SIGTERM, then SIGKILL after 5 s. No daemon is left behind.
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: scripts/with-pulse.sh CMD [ARGS...]"
command -v pulseaudio >/dev/null || die "pulseaudio is missing: run scripts/setup.sh"

runtime="$(mktemp -d "${TMPDIR:-/tmp}/voicelink-pulse.XXXXXX")"
chmod 700 "$runtime"
server_cleanup() { rm -rf "$runtime"; }

# The loopback of a silent source into the null sink keeps the sink at low
# latency, as a desktop's sound server is. Alone, the null sink renders in 2 s
# blocks while no client asks for less, and each new Firefox audio stream waits
# for the next block: an AudioContext then stays "suspended" for up to ~2 s
# (measured: 1.97 s for every context after the first), and close() of such a
# context waits as long. With the loopback: "running" in ~30 ms.
#
# -n: no default.pa (only the modules named here, the socket last, so it
# appears once the sink is there); not daemonized, so $! is the
# server and it dies with us; never exits on idle. As root it logs warnings
# about D-Bus and runs anyway. HOME inside the runtime dir keeps its state out
# of the real home; auth-anonymous: no cookie to share (the socket's directory
# is private, mode 700).
exec_pulse() {
  XDG_RUNTIME_DIR="$runtime" HOME="$runtime" exec \
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
  --log-target=stderr --log-level=warning \
  -L "module-null-sink sink_name=null" \
  -L "module-null-source source_name=silence" \
  -L "module-loopback source=silence sink=null latency_msec=20" \
  -L "module-native-protocol-unix auth-anonymous=1"
}
# Its log is in the runtime directory (server_cleanup removes both at the end).
server_start pulseaudio "$runtime/pulseaudio.log" exec_pulse

server_wait "${PULSE_START_TIMEOUT_S:-10}" "open $runtime/pulse/native" test -S "$runtime/pulse/native"
log "pulseaudio up (null sink, VOICELINK_PULSE_DIR=$runtime, pid $server_pid)"

export VOICELINK_PULSE_DIR="$runtime"
server_run --quiet "$@"
