#!/usr/bin/env bash
# Installs what `make run` / `make test` need, once: a virtualenv with the Python
# packages, PostgreSQL's server binaries and (for the tests) Debian's Chromium and CJK
# fonts. Re-running it is cheap: each step is skipped when already done.
#
#   scripts/bootstrap.sh run     packages for running the product
#   scripts/bootstrap.sh test    the same plus the test packages and Chromium
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="${1:-run}"
VENV="$ROOT/.venv"
say() { echo "bootstrap: $*" >&2; }

apt_install() {
    # apt_install PACKAGE... : install Debian packages as root, or with sudo when available.
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            say "please install these Debian packages once: sudo apt-get install -y $*"; exit 1; fi
    fi
    say "installing with apt-get: $*"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

# 1. Python 3.11+ and a virtualenv.
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || { say "Python 3.11 or newer is needed ($PY is $("$PY" -V 2>&1))"; exit 1; }
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$PY" -m venv "$VENV"; }
fi

# 2. Python packages, reinstalled only when pyproject.toml changed.
EXTRA=""; [[ "$MODE" == test ]] && EXTRA="[test]"
STAMP="$VENV/.installed-$MODE"
if [[ ! -f "$STAMP" || "$ROOT/pyproject.toml" -nt "$STAMP" ]]; then
    say "installing Python packages into .venv"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$EXTRA" >&2
    touch "$STAMP"
fi

# 3. PostgreSQL server binaries (scripts/pg.sh starts a private cluster, no system service).
bash "$ROOT/scripts/pg.sh" ensure

# 4. For the tests: Debian's Chromium (driven by Playwright) and CJK fonts for Chinese names.
if [[ "$MODE" == test ]]; then
    need=()
    command -v chromium >/dev/null || need+=(chromium)
    [[ -n "$(fc-list 2>/dev/null | grep -i 'noto.*cjk' | head -n1)" ]] || need+=(fonts-noto-cjk)
    if ((${#need[@]})); then apt_install "${need[@]}"; fi
fi
