#!/usr/bin/env bash
# The project's test command: the Rust workspace tests, then the client-compatibility
# suite (scripts/compat.sh). Needs Rust (cargo-nextest if available) and Python 3.11 + pip
# with PyPI reachable; no PostgreSQL (the embedded SQLite store is used throughout).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# PostgreSQL-backed tests are opt-in; make sure nothing picks up a stray URL.
unset CERULEAN_DATABASE_URL

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace
else
    echo "test: cargo-nextest not found, using cargo test"
    cargo test --workspace
fi

bash scripts/compat.sh
