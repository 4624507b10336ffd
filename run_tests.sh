#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then runs pytest
# inside a virtual environment of its own (never the machine's site-packages, so a package
# installed by hand cannot hide a missing declaration).
#   - Debian packages: chromium (browser tests, headless), redis-server (scaled-mode store tests),
#     fonts-nanum (Korean road names in screenshots; without it they render as empty boxes)
#   - Python packages: requirements-test.txt (the app's requirements plus pytest, pytest-xdist,
#     hypothesis, playwright, pillow) in .venv-test/, rebuilt from scratch whenever a
#     requirements file changes
# No browser download: Playwright drives Debian's /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -d /usr/share/fonts/truetype/nanum ] || need_apt+=(fonts-nanum)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

VENV=.venv-test
stamp=$(cat requirements.txt requirements-test.txt | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "building a fresh virtual environment in $VENV (requirements changed or none yet)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.txt
  echo "$stamp" > "$VENV/.requirements-stamp"
fi

# Several pytest-xdist workers: most tests wait (on a browser's software WebGL, a server, a
# subprocess), so more workers than cores pays. Tests that share a module's fixture run on one
# worker (tests/conftest.py groups them; --dist loadgroup). VT_TEST_WORKERS=0 runs in-process;
# arguments after run_tests.sh come last and win (for example `-n 0`, `-m "not slow"`).
workers="${VT_TEST_WORKERS:-4}"
exec "$VENV/bin/python" -m pytest -n "$workers" --dist loadgroup "$@"
