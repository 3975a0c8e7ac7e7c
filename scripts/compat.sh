#!/usr/bin/env bash
# Client-compatibility suite: runs the unmodified official Microsoft clients (Python msal,
# azure-identity, msgraph-sdk; Node @azure/msal-node; the Azure CLI) against a live
# `cerulean serve`.
#
# - creates/refreshes the virtualenv .venv-compat/ from PyPI with compat/requirements.txt
#   (reused while the requirements and the Python version are unchanged)
# - installs @azure/msal-node and @azure/identity into compat/msal-node/node_modules with `npm ci` from its
#   package-lock.json (reused while the lock file and the Node version are unchanged)
# - creates/refreshes the separate virtualenv .venv-azcli/ with the Azure CLI pinned in
#   compat/azcli-requirements.txt (its own pins would fight the clients above)
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

# @azure/msal-node, for compat/test_msal_node.py (needs Node 20 or later and npm).
node_dir="$repo_root/compat/msal-node"
node_stamp="$node_dir/node_modules/.package-lock.sha256"
node_want="$( { sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1; node --version; } | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$node_stamp" || "$(cat "$node_stamp")" != "$node_want" ]]; then
    echo "compat: installing @azure/msal-node and @azure/identity ($(node --version))"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$node_want" >"$node_stamp"
else
    echo "compat: reusing compat/msal-node/node_modules"
fi

# The Azure CLI, for compat/test_azure_cli.py, in a virtualenv of its own.
azvenv="$repo_root/.venv-azcli"
azrequirements="$repo_root/compat/azcli-requirements.txt"
azstamp="$azvenv/.requirements.sha256"
azwant="$( { sha256sum "$azrequirements" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$azvenv/bin/az" || ! -f "$azstamp" || "$(cat "$azstamp")" != "$azwant" ]]; then
    echo "compat: creating $azvenv (the Azure CLI)"
    rm -rf "$azvenv"
    "$python" -m venv "$azvenv"
    printf '*\n' >"$azvenv/.gitignore"
    "$azvenv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        -r "$azrequirements"
    echo "$azwant" >"$azstamp"
else
    echo "compat: reusing $azvenv"
fi
export CERULEAN_AZ="${CERULEAN_AZ:-$azvenv/bin/az}"

if [[ -z "${CERULEAN_BIN:-}" && "${CERULEAN_SKIP_BUILD:-0}" != "1" ]]; then
    cargo build -p cerulean
fi

# -rxX lists expected failures (documented server bugs) and unexpected passes.
exec "$venv/bin/python" -m pytest -q -rxX compat "$@"
