#!/usr/bin/env bash
# Installs what building and testing voicelink needs. Idempotent: each part is
# skipped when it is already there, so a second run takes a second or two.
#
#   scripts/setup.sh               everything (tests, benches)
#   scripts/setup.sh --no-browser  no browsers, drivers, iproute2, Pipecat venv,
#                                  coturn (the demo)
#   VOICELINK_SETUP_BROWSER=0      same as --no-browser
#
# Parts:
#   1. rust target wasm32-unknown-unknown           (rustup)
#   2. chromium, chromium-driver, iproute2          (apt, only if missing)
#   3. firefox-esr, pulseaudio (no recommends)      (apt, only if missing)
#   4. geckodriver 0.37.1                           (cargo install, ~4-6 min cold;
#                                                    its build folder is deleted)
#   5. wasm-bindgen CLI, same version as Cargo.lock (cargo install, no --locked)
#   6. node_modules                                 (npm ci / npm install)
#   7. the Pipecat test server's Python venv        (tests/pipecat/setup.sh: PyPI,
#      target/pipecat-venv, python3-venv from apt    ~70 s cold, <1 s when every
#      if missing)                                   pin is already there)
#   8. coturn (turnserver, for scripts/turn.sh)     (apt, only if missing)
. "$(dirname "$0")/lib.sh"

browser="${VOICELINK_SETUP_BROWSER:-1}"
for arg in "$@"; do
  case "$arg" in
    --no-browser) browser=0 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "setup.sh: unknown argument '$arg' (try --help)" ;;
  esac
done

t_setup=$SECONDS
for tool in cargo rustup node npm; do
  command -v "$tool" >/dev/null || die "'$tool' is not on PATH; install it first (rustup for Rust, Node.js >= 20 with npm)."
done

# 1. wasm32 target -----------------------------------------------------------
if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
  log "setup: rust target wasm32-unknown-unknown present"
else
  log "setup: rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# apt-get as root or through sudo; `apt-get update` once per run, before the first install.
apt_updated=0
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install $*"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    $sudo apt-get update
    apt_updated=1
  fi
  $sudo apt-get install -y "$@"
}

# apt_tool CMD PACKAGE: CMD on PATH, else apt-get install --no-install-recommends PACKAGE (which
# must provide it).
apt_tool() {
  if command -v "$1" >/dev/null; then
    log "setup: $1 present"
  else
    log "setup: apt-get install --no-install-recommends $2"
    apt_install --no-install-recommends "$2"
    command -v "$1" >/dev/null || die "apt installed $2 but '$1' is missing"
  fi
}

# 2. Chromium, chromedriver, ip (tests only) ---------------------------------
if [ "$browser" = 1 ]; then
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && command -v ip >/dev/null; then
    log "setup: chromium, chromedriver, ip present"
  else
    log "setup: apt-get install chromium chromium-driver iproute2"
    apt_install chromium chromium-driver iproute2
    [ -x /usr/bin/chromium ] || die "apt installed chromium but /usr/bin/chromium is missing"
    [ -x /usr/bin/chromedriver ] || die "apt installed chromium-driver but /usr/bin/chromedriver is missing"
    command -v ip >/dev/null || die "apt installed iproute2 but 'ip' is missing"
  fi

  # 3. Firefox ESR and PulseAudio (tests only) -------------------------------
  # PulseAudio: Firefox's Web Audio needs a sound server (scripts/with-pulse.sh
  # runs one with a null sink during the tests); without recommends it is ~10 MB.
  if [ -x /usr/bin/firefox-esr ]; then
    log "setup: firefox-esr present"
  else
    log "setup: apt-get install firefox-esr (~430 MB)"
    apt_install firefox-esr
    [ -x /usr/bin/firefox-esr ] || die "apt installed firefox-esr but /usr/bin/firefox-esr is missing"
  fi
  apt_tool pulseaudio pulseaudio

  # 4. geckodriver (wasm-bindgen-test-runner drives Firefox through it) -------
  gd_version=0.37.1
  have_gd="$(geckodriver --version 2>/dev/null | awk 'NR==1 {print $2}' || true)"
  if [ "$have_gd" = "$gd_version" ]; then
    log "setup: geckodriver $gd_version present"
  else
    log "setup: cargo install geckodriver --version $gd_version (have: ${have_gd:-none}; ~4-6 min cold)"
    # Built in a folder of our own, deleted afterwards whatever happens (~390 MB).
    gd_build="$(mktemp -d "${TMPDIR:-/tmp}/geckodriver-build.XXXXXX")"
    trap 'rm -rf "$gd_build"' EXIT
    rc=0
    cargo install geckodriver --version "$gd_version" --force --target-dir "$gd_build" || rc=$?
    rm -rf "$gd_build"
    trap - EXIT
    [ "$rc" = 0 ] || die "cargo install geckodriver --version $gd_version failed (exit $rc)"
    got="$(geckodriver --version | awk 'NR==1 {print $2}')"
    [ "$got" = "$gd_version" ] || die "installed geckodriver reports '$got', wanted '$gd_version' (is ~/.cargo/bin first on PATH?)"
  fi
else
  log "setup: browser part skipped (--no-browser)"
fi

# 5. wasm-bindgen CLI at exactly the crate's wasm-bindgen version -------------
# Cargo.lock's [[package]] name = "wasm-bindgen" entry, else Cargo.toml's "=X" pin.
wb_version=""
if [ -f Cargo.lock ]; then
  wb_version="$(awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = / { name = $3; gsub(/"/, "", name) }
    /^version = / && name == "wasm-bindgen" { v = $3; gsub(/"/, "", v); print v; exit }
  ' Cargo.lock)"
fi
if [ -z "$wb_version" ]; then
  wb_version="$(sed -n 's/^wasm-bindgen *= *"=\([0-9][0-9.]*\)".*/\1/p' Cargo.toml | head -n1)"
fi
[ -n "$wb_version" ] || die "cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml (expected wasm-bindgen = \"=X.Y.Z\")"

have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
have_runner=0
command -v wasm-bindgen-test-runner >/dev/null && have_runner=1
if [ "$have_wb" = "$wb_version" ] && [ "$have_runner" = 1 ]; then
  log "setup: wasm-bindgen CLI $wb_version present"
else
  log "setup: cargo install wasm-bindgen-cli --version $wb_version (have: ${have_wb:-none}; ~2.5 min cold)"
  # No --locked: the CLI's own lockfile wants a crate version the registry does not serve.
  cargo install wasm-bindgen-cli --version "$wb_version" --force
  got="$(wasm-bindgen --version | awk '{print $2}')"
  [ "$got" = "$wb_version" ] || die "installed wasm-bindgen CLI reports '$got', wanted '$wb_version' (is ~/.cargo/bin first on PATH?)"
fi

# 6. node_modules ------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install; compare with it.
if [ -f package-lock.json ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "setup: npm ci"
    npm ci --no-audit --no-fund
  else
    log "setup: node_modules up to date with package-lock.json"
  fi
else
  log "setup: npm install (no package-lock.json yet)"
  npm install --no-audit --no-fund
fi
[ -x node_modules/.bin/wasm-opt ] || die "node_modules/.bin/wasm-opt missing after npm install (devDependency 'binaryen')"

if [ "$browser" = 1 ]; then
  # 7. The Pipecat SmallWebRTC server the e2e tests talk to (tests/e2e/pipecat.test.mjs) --
  # A venv from PyPI: it must be made here, outside scripts/netns.sh's namespace, which
  # cannot reach PyPI. Debian splits the venv module (ensurepip) into python3-venv.
  py="${PYTHON:-python3}"
  if command -v "$py" >/dev/null && "$py" -c 'import venv, ensurepip' 2>/dev/null; then
    :
  else
    log "setup: apt-get install --no-install-recommends python3 python3-venv"
    apt_install --no-install-recommends python3 python3-venv
  fi
  t_pc=$SECONDS
  tests/pipecat/setup.sh || die "tests/pipecat/setup.sh failed (the Pipecat test server's venv)"
  log "setup: pipecat venv ok ($((SECONDS - t_pc)) s)"

  # 8. coturn: a TURN server on loopback (scripts/turn.sh), tests only ---------
  # Debian's package does not start it (TURNSERVER_ENABLED is off in
  # /etc/default/coturn); scripts/turn.sh runs its own on 127.0.0.1.
  apt_tool turnserver coturn
fi

log "setup: done ($((SECONDS - t_setup)) s)"
