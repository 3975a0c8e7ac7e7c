#!/usr/bin/env bash
# The project's test command: the Rust workspace tests (every store test on SQLite and on
# PostgreSQL), then the client-compatibility suite (scripts/compat.sh). Needs Rust
# (cargo-nextest if available), Python 3.11 + pip with PyPI reachable, and a PostgreSQL server:
# CERULEAN_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres, trust auth);
# a local cluster that is down is started. Each test creates and drops its own database.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# The server's own database URL must not leak into tests that start servers.
unset CERULEAN_DATABASE_URL

# Start the local PostgreSQL cluster when it is not answering (a machine of this kind has one).
if [[ -z "${CERULEAN_TEST_DATABASE_URL:-}" ]] && command -v pg_isready >/dev/null 2>&1 \
    && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
        echo "test: starting the local PostgreSQL cluster"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
fi

# Everything on the default engine (the store's own suite runs on both engines), then the
# HTTP-level suite again with every harness on a fresh PostgreSQL database.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace
    CERULEAN_TEST_ENGINE=postgres cargo nextest run -p cerulean --test api
else
    echo "test: cargo-nextest not found, using cargo test"
    cargo test --workspace
    CERULEAN_TEST_ENGINE=postgres cargo test -p cerulean --test api
fi

# The micro-benchmarks (crates/server/benches/micro.rs), each run once in test mode: they stay
# compiling and their setup and assertions hold; nothing is timed, so nothing can flake.
cargo test -p cerulean --benches

bash scripts/compat.sh
# The official clients again, against servers on PostgreSQL (tests that start their own
# servers for engine-specific reasons -- kill -9 of the embedded store, three nodes on
# PostgreSQL, the CLI contract -- ran above).
CERULEAN_COMPAT_ENGINE=postgres CERULEAN_SKIP_BUILD=1 \
    bash scripts/compat.sh --ignore=compat/test_durability.py --ignore=compat/test_multinode.py \
        --ignore=compat/test_cli.py
