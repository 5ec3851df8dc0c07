#!/usr/bin/env bash
# Runs the demo (this is `npm start`): builds the dev peer and the package,
# then serves the demo page (www/) and the package (pkg/) with the dev peer on
# http://127.0.0.1:8080/ in the foreground. Ctrl-C stops it.
#   PORT=9000 npm start    another port
#   HOST=0.0.0.0 npm start listen on all interfaces (default 127.0.0.1)
# Needs no Chromium: open the page in your own browser.
. "$(dirname "$0")/lib.sh"

port="${PORT:-8080}"
host="${HOST:-127.0.0.1}"

step "setup (no browser)" scripts/setup.sh --no-browser
step "build dev peer (release)" build_peer
step "build package (pkg/)" build_pkg

"$PEER_BIN" --host "$host" --port "$port" --www www --pkg pkg &
peer_pid=$!
trap 'kill "$peer_pid" 2>/dev/null || true; wait "$peer_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

shown_host="$host"
[ "$host" = "0.0.0.0" ] && shown_host="127.0.0.1"
url="http://${shown_host}:${port}"
deadline=$((SECONDS + 30))
until node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$url/_dev/health" 2>/dev/null; do
  kill -0 "$peer_pid" 2>/dev/null || die "the dev peer exited (is port $port in use? try PORT=9000 npm start)"
  [ $SECONDS -lt $deadline ] || die "the dev peer did not answer $url/_dev/health within 30 s"
  sleep 0.2
done

printf '\n%svoicelink demo is running (Ctrl-C to stop).\nOpen %s/%s\n\n' "$_b" "$url" "$_n"
set +e
wait "$peer_pid"
rc=$?
peer_pid=""
exit "$rc"
