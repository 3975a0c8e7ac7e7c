#!/usr/bin/env bash
# Client-compatibility suite: runs the unmodified official Microsoft Python clients
# (msal, azure-identity, msgraph-sdk) against a live `cerulean serve`.
#
# - creates/refreshes the virtualenv .venv-compat/ from PyPI with compat/requirements.txt
#   (reused while the requirements and the Python version are unchanged)
# - builds the server (`cargo build -p cerulean`) unless CERULEAN_BIN points elsewhere
#   or CERULEAN_SKIP_BUILD=1
# - runs pytest on compat/ (extra arguments are passed to pytest)
#
# Environment: PYTHON (interpreter to build the venv with; default python3.11, then python3),
# CERULEAN_BIN (server binary; default target/debug/cerulean), CERULEAN_COMPAT_KEEP=1 keeps
# the suite's temporary data directories and server logs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

venv="$repo_root/.venv-compat"
requirements="$repo_root/compat/requirements.txt"
stamp="$venv/.requirements.sha256"

if [[ -n "${PYTHON:-}" ]]; then
    python="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    python=python3.11
else
    python=python3
fi

want="$( { sha256sum "$requirements" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "compat: creating $venv ($("$python" --version 2>&1))"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # The venv ignores itself, so it never shows up in `git status`.
    printf '*\n' >"$venv/.gitignore"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        -r "$requirements"
    echo "$want" >"$stamp"
else
    echo "compat: reusing $venv"
fi

if [[ -z "${CERULEAN_BIN:-}" && "${CERULEAN_SKIP_BUILD:-0}" != "1" ]]; then
    cargo build -p cerulean
fi

# -rxX lists expected failures (documented server bugs) and unexpected passes.
exec "$venv/bin/python" -m pytest -q -rxX compat "$@"
