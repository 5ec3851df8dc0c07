#!/usr/bin/env bash
# Installs the real Pipecat SmallWebRTC server the e2e tests talk to: a Python
# venv at target/pipecat-venv with the exact versions of
# tests/pipecat/requirements.txt (+ constraints.txt), from PyPI.
#
#   tests/pipecat/setup.sh            # idempotent: skips when the venv already has every pin
#
# Needs network (PyPI), so run it before scripts/netns.sh. As root it installs
# python3-venv from apt when `python3 -m venv` cannot work; otherwise it says
# what is missing. PYTHON=/usr/bin/python3 picks the interpreter (default:
# python3 on PATH); PIPECAT_VENV moves the venv (default: target/pipecat-venv).
. "$(dirname "$0")/../../scripts/lib.sh"

t0=$SECONDS
venv="${PIPECAT_VENV:-target/pipecat-venv}"
python="${PYTHON:-python3}"
req=tests/pipecat/requirements.txt
cons=tests/pipecat/constraints.txt

# Prints nothing and succeeds when "$1" (a venv python) has every name==version
# pinned in requirements.txt and constraints.txt; else names what differs.
check_pins() {
  "$1" - "$req" "$cons" <<'PY'
import re, sys
from importlib import metadata

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

want = {}
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)", line)
        if m:
            want[norm(m.group(1))] = m.group(3)
bad = []
for name, version in sorted(want.items()):
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != version:
        bad.append(f"{name}: want {version}, have {have or 'nothing'}")
if bad:
    print("; ".join(bad[:8]) + (f" (+{len(bad) - 8} more)" if len(bad) > 8 else ""))
    sys.exit(1)
PY
}

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  if diff_msg="$(check_pins "$venv/bin/python")"; then
    log "pipecat venv $venv already has every pin of $req: nothing to do ($((SECONDS - t0)) s)"
    exit 0
  fi
  log "pipecat venv $venv differs from the pins: $diff_msg"
else
  [ ! -e "$venv" ] || { warn "$venv is not a working venv; recreating it"; rm -rf "$venv"; }
fi

# python3 with a working venv module (Debian splits ensurepip into python3-venv).
if ! command -v "$python" >/dev/null 2>&1 || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing python3 and python3-venv from apt"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
      || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv; }
    python=python3
  else
    die "$python with the venv module is missing: run 'apt-get install python3 python3-venv' as root"
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv with $("$python" --version 2>&1) ($(command -v "$python"))"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi

log "pip install -r $req into $venv (PyPI)"
t_pip=$SECONDS
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$req"
log "pip install: $((SECONDS - t_pip)) s"

diff_msg="$(check_pins "$venv/bin/python")" || die "after pip install, $venv still differs from the pins: $diff_msg"
import_out="$("$venv/bin/python" -c 'import pipecat.transports.smallwebrtc.request_handler, pipecat.transports.smallwebrtc.transport, uvicorn, aioice.ice' 2>&1)" \
  || { printf '%s\n' "$import_out" >&2; die "$venv cannot import the SmallWebRTC server modules"; }
log "pipecat venv ready: $venv ($((SECONDS - t0)) s in all)"
