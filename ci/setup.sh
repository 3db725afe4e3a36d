#!/usr/bin/env bash
# Set-up shared by ci/run-suite and ci/run-tests, idempotent and quiet when nothing is to do:
#   1. a virtual environment in .venv with the project and its dev dependencies (reinstalled when
#      pyproject.toml changes);
#   2. a Docker engine (ci/ensure-docker.sh: installs and starts one as root when none answers);
#   3. the images, an image per release of each MTA (harness/mta/*/releases.py: Postfix 3.7 and 3.10, Exim 4.96
#      and 4.98, on bookworm and trixie), each Debian base built offline from its packages when no registry answers;
#      unchanged ones are kept.
# Sourced, so the caller gets $PY.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ ! -x .venv/bin/python ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: installing python3-venv (apt-get)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
      echo "setup: python3's venv module is missing; install python3-venv (sudo apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
PY="$root/.venv/bin/python"
stamp=.venv/.mailharness-installed
want=$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the project and its dependencies into .venv (pip)"
  "$PY" -m pip install -q --disable-pip-version-check -e ".[dev]"
  echo "$want" > "$stamp"
fi
# pip compiles a wheel's modules when it installs them; an editable install compiles nothing, and where
# PYTHONDONTWRITEBYTECODE is set (the reference machine sets it) Python never writes the cache either: every
# process (the main job starts one per xdist worker) would compile the harness's ~100 modules again, about 0.3 s
# of CPU each. Compile them here as pip would. compileall skips what is up to date; a file edited later is
# compiled at import, as always (Python checks each file's time stamp against its cache).
"$PY" -m compileall -q harness suites tests benchmarks conftest.py

bash ci/ensure-docker.sh
"$PY" -m harness.cli images build
export PY
