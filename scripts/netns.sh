#!/usr/bin/env bash
# Runs a command inside a fresh network namespace that has only loopback (lo
# up, 127.0.0.1 and ::1), so every byte of test traffic stays on this machine.
#
#   scripts/netns.sh CMD [ARGS...]
#   scripts/netns.sh ip addr          # shows only lo
#
# Nothing outside is reachable from inside: build first. Cargo runs offline
# there (CARGO_NET_OFFLINE=true). Chromium needs
# --allow-loopback-in-peer-connection there to gather ICE candidates
# (webdriver.json has it).
#
# VOICELINK_NETNS=0 runs CMD directly instead (for a machine where namespaces
# are not allowed; traffic then still targets 127.0.0.1 only).
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: scripts/netns.sh CMD [ARGS...]" >&2; exit 2; }

export CARGO_NET_OFFLINE=true

if [ "${VOICELINK_NETNS:-1}" = 0 ]; then
  echo "netns.sh: VOICELINK_NETNS=0, running without a namespace" >&2
  exec "$@"
fi

command -v unshare >/dev/null || { echo "netns.sh: 'unshare' (util-linux) is missing" >&2; exit 1; }
command -v ip >/dev/null || { echo "netns.sh: 'ip' (iproute2) is missing; run scripts/setup.sh" >&2; exit 1; }

# As root a plain network namespace; otherwise inside a user namespace where
# we are root (needs unprivileged user namespaces).
if [ "$(id -u)" = 0 ]; then
  ns=(unshare --net)
else
  ns=(unshare --map-root-user --net)
fi

# shellcheck disable=SC2016
exec "${ns[@]}" -- sh -c 'ip link set lo up || exit 1; exec "$@"' netns "$@"
