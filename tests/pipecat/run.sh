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
mkdir -p "$(dirname "$logfile")"
: >"$logfile"

bot_pid=""
stop_bot() {
  if [ -n "$bot_pid" ] && kill -0 "$bot_pid" 2>/dev/null; then
    kill "$bot_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$bot_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$bot_pid" 2>/dev/null || true
    wait "$bot_pid" 2>/dev/null || true
  fi
  bot_pid=""
}
bot_log_tail() {
  echo "----- pipecat bot log (last 60 lines of $logfile) -----" >&2
  tail -n 60 "$logfile" >&2 || true
  echo "----- end of pipecat bot log -----" >&2
}
trap stop_bot EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# exec: $! is the python process itself, so stop_bot signals the bot directly.
# shellcheck disable=SC2086
exec_bot() { exec "$bot_py" -u "${PIPECAT_BOT_SCRIPT:-tests/pipecat/echo_bot.py}" --port "$port" ${PIPECAT_BOT_ARGS:-}; }
exec_bot >>"$logfile" 2>&1 &
bot_pid=$!

# Wait (bounded) for the health endpoint.
t0=$SECONDS
deadline=$((SECONDS + ${PIPECAT_START_TIMEOUT_S:-30}))
until node -e '
  fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
' "$url/health" 2>/dev/null; do
  if ! kill -0 "$bot_pid" 2>/dev/null; then
    bot_log_tail
    die "pipecat bot exited before answering $url/health"
  fi
  if [ $SECONDS -ge $deadline ]; then
    bot_log_tail
    die "pipecat bot did not answer $url/health within ${PIPECAT_START_TIMEOUT_S:-30} s"
  fi
  sleep 0.2
done
log "pipecat bot up at $url in $((SECONDS - t0)) s (pid $bot_pid, log $logfile)"

export VOICELINK_PIPECAT_URL="$url"
set +e
"$@"
rc=$?
set -e

if [ "$rc" != 0 ]; then
  bot_log_tail
fi
if ! kill -0 "$bot_pid" 2>/dev/null; then
  warn "the pipecat bot had exited before the command finished"
  [ "$rc" != 0 ] || { bot_log_tail; rc=1; }
fi
exit "$rc"
