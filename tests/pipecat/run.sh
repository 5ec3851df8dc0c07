#!/usr/bin/env bash
# Starts the Pipecat SmallWebRTC echo bot (tests/pipecat/echo_bot.py, from the
# venv tests/pipecat/setup.sh made) on 127.0.0.1:PORT, waits until GET /health
# answers, runs CMD, then stops the bot. On failure it prints the tail of the
# bot's log. Exits with CMD's status.
#
#   tests/pipecat/run.sh PORT LOGFILE CMD [ARGS...]
#
# CMD sees VOICELINK_PIPECAT_URL=http://127.0.0.1:PORT. Usually run inside
# scripts/netns.sh. PIPECAT_START_TIMEOUT_S (default 30) bounds the start;
# PIPECAT_BOT_ARGS adds arguments to echo_bot.py (e.g. --stock-restart);
# PIPECAT_BOT_SCRIPT runs another script with the venv python instead (diagnostics).
. "$(dirname "$0")/../../scripts/lib.sh"

[ $# -ge 3 ] || die "usage: tests/pipecat/run.sh PORT LOGFILE CMD [ARGS...]"
port="$1"; logfile="$2"; shift 2

venv="${PIPECAT_VENV:-target/pipecat-venv}"
bot_py="$venv/bin/python"
[ -x "$bot_py" ] || die "$bot_py is missing: run tests/pipecat/setup.sh"

url="http://127.0.0.1:${port}"

# exec: $! is the python process itself, so the bot is signalled directly.
# shellcheck disable=SC2086
exec_bot() { exec "$bot_py" -u "${PIPECAT_BOT_SCRIPT:-tests/pipecat/echo_bot.py}" --port "$port" ${PIPECAT_BOT_ARGS:-}; }
server_start "pipecat bot" "$logfile" exec_bot
server_wait "${PIPECAT_START_TIMEOUT_S:-30}" "answer $url/health" http_ok "$url/health"
log "pipecat bot up at $url in $server_up_s s (pid $server_pid, log $logfile)"

export VOICELINK_PIPECAT_URL="$url"
server_run "$@"
