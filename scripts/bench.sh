#!/usr/bin/env bash
# The benchmark suite: builds the release binary, starts `cerulean serve` on a loopback port
# (HTTPS, as the budgets are stated), seeds a tenant through the public API ($batch), runs the
# scenarios with wrk (64 keep-alive connections), and writes BENCHMARKS.md plus raw outputs
# under bench/results/<timestamp>/.
#
#   scripts/bench.sh [--quick] [--engine sqlite|postgres|both] [--users N] [--users-small N]
#                    [--groups N] [--duration SECONDS] [--port PORT]
#
# --quick: 1k then 4k users, 5 s per scenario (a few minutes per engine). Full (default): 10k
# then 30k users, 15 s per scenario (~12 minutes per engine on a quiet 2-core machine; seeding
# is bound by argon2id, see BENCHMARKS.md). --users 100000 gives the scale of DESIGN.md's
# budgets, at ~25 minutes of seeding per engine.
# PostgreSQL: CERULEAN_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names a server where the role may CREATE DATABASE; the suite creates and drops its own.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
unset CERULEAN_DATABASE_URL

quick=0
engine=sqlite
users_large=""
users_small=""
groups=""
duration=""
port=18443
connections=64
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --engine) engine="$2"; shift ;;
        --users) users_large="$2"; shift ;;
        --users-small) users_small="$2"; shift ;;
        --groups) groups="$2"; shift ;;
        --duration) duration="$2"; shift ;;
        --port) port="$2"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
case "$engine" in
    sqlite) engines=(sqlite) ;;
    postgres) engines=(postgres) ;;
    both) engines=(sqlite postgres) ;;
    *) echo "bench: --engine sqlite|postgres|both" >&2; exit 2 ;;
esac
if [[ $quick == 1 ]]; then
    users_small=${users_small:-1000}; users_large=${users_large:-4000}; duration=${duration:-5}
else
    users_small=${users_small:-10000}; users_large=${users_large:-30000}; duration=${duration:-15}
fi
groups=${groups:-$((users_large / 10))}
if (( users_large <= users_small )); then echo "bench: --users must exceed --users-small" >&2; exit 2; fi

pg_base="${CERULEAN_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
base="https://127.0.0.1:$port"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$repo_root/bench/results/$stamp"
mkdir -p "$results"
ln -sfn "$stamp" "$repo_root/bench/results/latest"
commands="$results/commands.txt"
export BENCH_LUA_DIR="$repo_root/bench/wrk"

log() { echo "bench: $*" >&2; }
# Runs a command, recording it in commands.txt.
run() { printf '%q ' "$@" >>"$commands"; echo >>"$commands"; "$@"; }

# --- tools -----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (Debian)"
    apt-get update && apt-get install -y wrk
fi
for tool in python3 curl openssl cargo; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool is required"; exit 1; }
done
if [[ " ${engines[*]} " == *" postgres "* ]] && ! command -v psql >/dev/null 2>&1; then
    log "psql is required for --engine postgres"; exit 1
fi

# --- machine ---------------------------------------------------------------------------------
{
    echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "cores=$(nproc)"
    echo "memory_mib=$(awk '/MemTotal/ {printf "%d", $2/1024}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "wrk=$(wrk --version 2>&1 | head -1 | awk '{print $2}')"
    echo "openssl=$(openssl version | awk '{print $2}')"
    echo "rustc=$(rustc --version 2>/dev/null | awk '{print $2}')"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
    echo "mode=$([[ $quick == 1 ]] && echo quick || echo full)"
    echo "users_small=$users_small"
    echo "users_large=$users_large"
    echo "groups=$groups"
    echo "duration_s=$duration"
    echo "connections=$connections"
    echo "started=$stamp"
} >"$results/machine.env"

# --- build -----------------------------------------------------------------------------------
log "building the release binary"
run cargo build --release -p cerulean
bin="$repo_root/target/release/cerulean"

# --- server lifecycle ------------------------------------------------------------------------
server_pid=""
pg_db=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    if [[ -n "$pg_db" ]]; then psql -q "$pg_base" -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# start_server <dir> <engine> [extra args]: starts the server (pid in server_pid) and sets
# ready_ms to the milliseconds from launch to /readyz answering 200.
start_server() {
    local dir="$1" eng="$2"; shift 2
    local args=(serve --data-dir "$dir/data" --listen "127.0.0.1:$port" "$@")
    [[ "$eng" == postgres ]] && args+=(--database-url "$pg_url")
    local scheme=https
    [[ " $* " == *" --http "* ]] && scheme=http
    echo "$bin ${args[*]}" | sed 's#postgres://[^ ]*#$CERULEAN_BENCH_DB#' >>"$commands"
    local t0
    t0=$(date +%s%N)
    RUST_LOG=warn "$bin" "${args[@]}" >>"$dir/server.log" 2>&1 &
    server_pid=$!
    ready_ms=$(python3 bench/api.py wait-ready --base "$scheme://127.0.0.1:$port" --since-ns "$t0")
}

# figure <dir> <key> <value>: a scalar result.
figure() { echo "$2=$3" >>"$1/figures.env"; }

# wrk_run <dir> <name> <script> [wrk env assignments...]: one scenario; summary JSON in <name>.json.
wrk_run() {
    local dir="$1" name="$2" script="$3"; shift 3
    local url="${WRK_URL:-$base}"
    { printf 'env BENCH_LUA_DIR=bench/wrk BENCH_TOKEN=$TOKEN '; printf '%q ' "$@"
      echo "wrk -t1 -c$connections -d${duration}s --timeout 10s --latency -s bench/wrk/$script $url"; } \
        | sed -E 's/BENCH_CLIENT_SECRET=[^ ]*/BENCH_CLIENT_SECRET=$SECRET/' >>"$commands"
    log "  $name"
    env "$@" BENCH_OUT="$dir/$name.json" \
        wrk -t1 -c"$connections" -d"${duration}s" --timeout 10s --latency -s "bench/wrk/$script" "$url" \
        >"$dir/$name.txt" 2>&1 || log "  wrk failed for $name (see $dir/$name.txt)"
}

# --- one engine ------------------------------------------------------------------------------
bench_engine() {
    local eng="$1" dir="$results/$1"
    mkdir -p "$dir"
    if [[ "$eng" == postgres ]]; then
        pg_db="cerulean_bench_$(date +%s)"
        run psql -q "$pg_base" -c "CREATE DATABASE $pg_db" >/dev/null
        pg_url="${pg_base%/*}/$pg_db"
    fi
    log "[$eng] starting the server (empty store)"
    start_server "$dir" "$eng"
    figure "$dir" ready_ms_empty "$ready_ms"
    sleep 2
    local boot="$dir/data/bootstrap.json" ca="$dir/data/tls/ca.pem"
    figure "$dir" idle_rss_mib_empty "$(python3 bench/api.py rss --pid "$server_pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_mib"])')"

    # Seeding, in two steps so that the delta round is measured at two sizes.
    log "[$eng] seeding $users_small users and $groups groups (depth 6)"
    run python3 bench/seed.py --base "$base" --bootstrap "$boot" --ca "$ca" --state "$dir/seed-state.json" \
        --users "$users_small" --groups "$groups" >"$dir/seed-small.json"
    cat "$dir/seed-small.json" >&2
    local token
    token=$(python3 bench/api.py token --base "$base" --bootstrap "$boot" --ca "$ca")
    export BENCH_TOKEN="$token"
    python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["sample_users"]))' \
        "$dir/seed-state.json" >"$dir/user-ids.txt"
    local dpath
    dpath=$(python3 bench/api.py delta --base "$base" --bootstrap "$boot" --ca "$ca" --token "$token" --ids "$dir/user-ids.txt")
    wrk_run "$dir" delta-small get.lua BENCH_PATH="$dpath" BENCH_HEADER="Prefer: odata.maxpagesize=999"

    log "[$eng] growing to $users_large users"
    run python3 bench/seed.py --base "$base" --bootstrap "$boot" --ca "$ca" --state "$dir/seed-state.json" \
        --users "$((users_large - users_small))" >"$dir/seed-large.json"
    cat "$dir/seed-large.json" >&2
    dpath=$(python3 bench/api.py delta --base "$base" --bootstrap "$boot" --ca "$ca" --token "$token" --ids "$dir/user-ids.txt")
    wrk_run "$dir" delta-large get.lua BENCH_PATH="$dpath" BENCH_HEADER="Prefer: odata.maxpagesize=999"
    sleep 2
    figure "$dir" rss_mib_seeded "$(python3 bench/api.py rss --pid "$server_pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_mib"])')"

    # Reads.
    local ids="$dir/user-ids.txt" uid
    uid=$(head -1 "$ids")
    python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"]; print("\n".join(g[0][:10] + g[-1][:10]))' \
        "$dir/seed-state.json" >"$dir/group-ids.txt"
    log "[$eng] scenarios"
    wrk_run "$dir" warmup get.lua BENCH_PATH=/healthz BENCH_TOKEN=
    wrk_run "$dir" ceiling get.lua BENCH_PATH=/healthz BENCH_TOKEN=
    wrk_run "$dir" get-user ids.lua BENCH_PATH='/v1.0/users/{id}' BENCH_IDS="$ids"
    wrk_run "$dir" filter get.lua \
        BENCH_PATH="/v1.0/users?\$filter=startswith(displayName,'Adele')&\$top=100&\$count=true" \
        BENCH_HEADER="ConsistencyLevel: eventual"
    wrk_run "$dir" member-of ids.lua BENCH_PATH='/v1.0/users/{id}/memberOf' BENCH_IDS="$ids"
    # Routes that may not exist yet: measured when they answer 200.
    if [[ $(python3 bench/api.py probe --base "$base" --ca "$ca" --token "$token" --path "/v1.0/users/$uid/transitiveMemberOf") == 200 ]]; then
        wrk_run "$dir" transitive-member-of ids.lua BENCH_PATH='/v1.0/users/{id}/transitiveMemberOf' BENCH_IDS="$ids"
    else
        figure "$dir" transitive_member_of_missing 1
    fi
    if [[ $(python3 bench/api.py probe --base "$base" --ca "$ca" --token "$token" --method POST \
            --path "/v1.0/users/$uid/checkMemberGroups" --body "{\"groupIds\": [\"$(head -1 "$dir/group-ids.txt")\"]}") == 200 ]]; then
        wrk_run "$dir" check-member-groups check_member_groups.lua BENCH_IDS="$ids" BENCH_GROUPS="$dir/group-ids.txt"
    else
        figure "$dir" check_member_groups_missing 1
    fi

    # Token issuance next to the raw RS256 signing rate of this machine, same run.
    log "  openssl speed -multi $(nproc) rsa2048"
    echo "openssl speed -multi $(nproc) -seconds $duration rsa2048" >>"$commands"
    openssl speed -multi "$(nproc)" -seconds "$duration" rsa2048 >"$dir/openssl-speed.txt" 2>&1
    figure "$dir" rs256_sign_per_s "$(awk '/^rsa 2048 bits/ {print $6}' "$dir/openssl-speed.txt" | tail -1)"
    wrk_run "$dir" token token.lua BENCH_TENANT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantId"])' "$boot")" \
        BENCH_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientId"])' "$boot")" \
        BENCH_CLIENT_SECRET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientSecret"])' "$boot")"

    # Mixed 90/10: writes that update (no password hash), then writes that create users.
    local domain
    domain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantDomain"])' "$boot")
    wrk_run "$dir" mixed-patch mixed.lua BENCH_IDS="$ids" BENCH_WRITE=patch BENCH_TAG="p$stamp"
    wrk_run "$dir" mixed-post mixed.lua BENCH_IDS="$ids" BENCH_WRITE=post BENCH_DOMAIN="$domain" BENCH_TAG="$(date +%s)"
    figure "$dir" peak_rss_mib "$(python3 bench/api.py rss --pid "$server_pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hwm_mib"])')"

    # Restart with the seeded store: time to /readyz, idle RSS.
    log "[$eng] restart: time to ready with the seeded store"
    stop_server
    start_server "$dir" "$eng"
    figure "$dir" ready_ms_seeded "$ready_ms"
    sleep 2
    figure "$dir" idle_rss_mib_seeded "$(python3 bench/api.py rss --pid "$server_pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_mib"])')"
    stop_server

    # The same server over plain HTTP (--http), for reference: what TLS costs.
    log "[$eng] plain HTTP (--http), for reference"
    start_server "$dir" "$eng" --http
    # The issuer follows the public URL (http:// now), so this server wants a token of its own.
    local http_token
    http_token=$(python3 bench/api.py token --base "http://127.0.0.1:$port" --bootstrap "$boot")
    WRK_URL="http://127.0.0.1:$port" wrk_run "$dir" http-ceiling get.lua BENCH_PATH=/healthz BENCH_TOKEN=
    WRK_URL="http://127.0.0.1:$port" wrk_run "$dir" http-get-user ids.lua BENCH_PATH='/v1.0/users/{id}' BENCH_IDS="$ids" \
        BENCH_TOKEN="$http_token"
    stop_server
    figure "$dir" load_at_end "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"

    if [[ -n "$pg_db" ]]; then
        psql -q "$pg_base" -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null || true
        pg_db=""
    fi
    unset BENCH_TOKEN
}

for eng in "${engines[@]}"; do
    bench_engine "$eng"
done
echo "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/machine.env"
echo "finished=$(date -u +%Y%m%dT%H%M%SZ)" >>"$results/machine.env"

python3 bench/report.py "$results" >"$repo_root/BENCHMARKS.md"
log "wrote BENCHMARKS.md (raw outputs in bench/results/$stamp)"
