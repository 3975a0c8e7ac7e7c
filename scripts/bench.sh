#!/usr/bin/env bash
# The benchmark suite: builds the release binary, starts `cerulean serve` on a loopback port
# (HTTPS, as the budgets are stated), seeds a tenant (a generated fixture loaded with
# `cerulean import`, or with --seed-with api through the public API's $batch), runs the
# scenarios with wrk (64 keep-alive connections), and writes BENCHMARKS.md plus raw outputs
# under bench/results/<timestamp>/.
#
#   scripts/bench.sh [--quick] [--engine sqlite|postgres|both] [--users N] [--users-small N]
#                    [--groups N] [--duration SECONDS] [--port PORT] [--seed-with import|api]
#                    [--no-profile]
#
# Every scenario also reports where the CPU went (server, PostgreSQL, the rest; bench/cpu.py),
# and the scenarios whose budget is a ratio or a tail run once more under a system-wide
# `perf record` (skipped with --no-profile or without perf) for the profile behind a verdict.
# --quick: 1k then 4k users, 5 s per scenario (a few minutes per engine). Full (default): 10k
# then 100k users and 10k groups (DESIGN.md's scale), 15 s per scenario. Seeding (default
# `import`): fixtures/generate.py writes the tenant (groups nested 6 deep, each user in one leaf
# and two other groups, no passwords but for five users) and `cerulean import` loads it with
# the server stopped, in large transactions; its users per second is a reported figure.
# `--seed-with api` seeds through `$batch` instead (bound by argon2id, ~85 users/s; full
# default then 30k users).
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
seed_with=import
profile=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --no-profile) profile=0 ;;
        --engine) engine="$2"; shift ;;
        --users) users_large="$2"; shift ;;
        --users-small) users_small="$2"; shift ;;
        --groups) groups="$2"; shift ;;
        --duration) duration="$2"; shift ;;
        --port) port="$2"; shift ;;
        --seed-with) seed_with="$2"; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
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
    full_large=100000
    [[ "$seed_with" == api ]] && full_large=30000
    users_small=${users_small:-10000}; users_large=${users_large:-$full_large}; duration=${duration:-15}
fi
case "$seed_with" in import|api) ;; *) echo "bench: --seed-with import|api" >&2; exit 2 ;; esac
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

# seed_import <dir> <engine> <users> [generate.py options...]: with the server stopped, writes a
# benchmark fixture of <users> more users (fixtures/generate.py bench, state in
# <dir>/seed-state.json) and loads it with `cerulean import`; prints the figures as one JSON line.
seed_import() {
    local dir="$1" eng="$2" users="$3"; shift 3
    local domain
    domain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantDomain"])' "$dir/data/bootstrap.json")
    python3 fixtures/generate.py bench --users "$users" "$@" --state "$dir/seed-state.json" --domain "$domain" \
        --tag "b${stamp:9:6}" >"$dir/fixture.json"
    local args=(import --data-dir "$dir/data" "$dir/fixture.json")
    [[ "$eng" == postgres ]] && args+=(--database-url "$pg_url")
    echo "python3 fixtures/generate.py bench --users $users $* --state seed-state.json --domain $domain > fixture.json" >>"$commands"
    echo "$bin ${args[*]}" | sed 's#postgres://[^ ]*#$CERULEAN_BENCH_DB#' >>"$commands"
    RUST_LOG=warn "$bin" "${args[@]}" >"$dir/import.txt" 2>&1 || { cat "$dir/import.txt" >&2; return 1; }
    cat "$dir/import.txt" >&2
    python3 - "$dir/import.txt" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
created = {k: int(n) for n, k in re.findall(r"(\d+) (users|groups)\b", text.split(";")[0])}
links = int(re.search(r"(\d+) links added", text).group(1))
secs = float(re.search(r"in ([0-9.]+) s", text).group(1))
print(json.dumps({"method": "import", "users": created.get("users", 0), "users_seconds": secs,
                  "users_per_s": round(created.get("users", 0) / max(secs, 1e-9), 1),
                  "groups": created.get("groups", 0), "memberships": links, "memberships_seconds": secs}))
PY
}

# figure <dir> <key> <value>: a scalar result.
figure() { echo "$2=$3" >>"$1/figures.env"; }

# wrk_run <dir> <name> <script> [wrk env assignments...]: one scenario; summary JSON in <name>.json.
# WRK_CONNECTIONS overrides the connection count for one run (the low-concurrency rows).
wrk_run() {
    local dir="$1" name="$2" script="$3"; shift 3
    local url="${WRK_URL:-$base}" conns="${WRK_CONNECTIONS:-$connections}"
    { printf 'env BENCH_LUA_DIR=bench/wrk BENCH_TOKEN=$TOKEN '; printf '%q ' "$@"
      echo "wrk -t1 -c$conns -d${duration}s --timeout 10s --latency -s bench/wrk/$script $url"; } \
        | sed -E 's/BENCH_CLIENT_SECRET=[^ ]*/BENCH_CLIENT_SECRET=$SECRET/' >>"$commands"
    log "  $name"
    # Where the CPU went (server, PostgreSQL, the rest): ticks around the run (bench/cpu.py).
    local cpu_pid="${server_pid:-${CPU_PID:-0}}"
    mkdir -p "$dir/cpu"
    python3 bench/cpu.py snap "$cpu_pid" >"$dir/cpu/$name.before"
    env "$@" BENCH_OUT="$dir/$name.json" \
        wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s --latency -s "bench/wrk/$script" "$url" \
        >"$dir/$name.txt" 2>&1 || log "  wrk failed for $name (see $dir/$name.txt)"
    python3 bench/cpu.py snap "$cpu_pid" >"$dir/cpu/$name.after"
    [[ -f "$dir/$name.json" ]] && python3 bench/cpu.py diff "$dir/cpu/$name.before" "$dir/cpu/$name.after" \
        "$dir/$name.json" >"$dir/cpu/$name.json" 2>/dev/null || true
}

# profile_run <dir> <name> <script> [wrk env assignments...]: the scenario again, under a
# system-wide `perf record` (every process: server, PostgreSQL, wrk), for the profile behind a
# missed budget: shares by process and library, and the server's hottest functions. Runs after
# the measured run, so the sampling does not touch the reported figures. Needs `perf`.
profile_run() {
    local dir="$1" name="$2"
    command -v perf >/dev/null 2>&1 || return 0
    [[ "$profile" == 1 ]] || return 0
    mkdir -p "$dir/profiles"
    perf record -a -F 499 -o "$dir/profiles/$name.data" -- sleep "$duration" >/dev/null 2>&1 &
    local perf_pid=$!
    wrk_run "$dir/profiles" "${@:2}"
    wait "$perf_pid" 2>/dev/null || true
    echo "perf record -a -F 499 -- sleep ${duration}  # during the $name scenario" >>"$commands"
    perf report -i "$dir/profiles/$name.data" --stdio --no-children --sort comm,dso --percent-limit 2 \
        2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 >"$dir/profiles/$name.by-process.txt" || true
    perf report -i "$dir/profiles/$name.data" --stdio --no-children --pid "$server_pid" --sort sym \
        --percent-limit 1.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 >"$dir/profiles/$name.server.txt" || true
    rm -f "$dir/profiles/$name.data"
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
    log "[$eng] seeding $users_small users and $groups groups (depth 6) with $seed_with"
    if [[ "$seed_with" == import ]]; then
        stop_server
        seed_import "$dir" "$eng" "$users_small" --groups "$groups" >"$dir/seed-small.json"
        start_server "$dir" "$eng"
    else
        run python3 bench/seed.py --base "$base" --bootstrap "$boot" --ca "$ca" --state "$dir/seed-state.json" \
            --users "$users_small" --groups "$groups" >"$dir/seed-small.json"
    fi
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
    if [[ "$seed_with" == import ]]; then
        stop_server
        seed_import "$dir" "$eng" "$((users_large - users_small))" >"$dir/seed-large.json"
        start_server "$dir" "$eng"
    else
        run python3 bench/seed.py --base "$base" --bootstrap "$boot" --ca "$ca" --state "$dir/seed-state.json" \
            --users "$((users_large - users_small))" >"$dir/seed-large.json"
    fi
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
    # The first membership query after a start builds the tenant's membership graph (one read of
    # every membership edge): timed on its own, so that the measured runs show the steady state.
    figure "$dir" graph_load_ms "$(curl -s -o /dev/null -w '%{time_total}' --cacert "$ca" \
        -H "Authorization: Bearer $token" "$base/v1.0/users/$uid/memberOf" | awk '{printf "%.1f", $1 * 1000}')"
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

    # The same reads at low concurrency: at 64 connections on 2 cores (shared with wrk) a
    # request's latency is mostly its wait in the queue; at 1 and 4 connections the p99 shows
    # what one request costs.
    for c in 1 4; do
        WRK_CONNECTIONS=$c wrk_run "$dir" "ceiling-c$c" get.lua BENCH_PATH=/healthz BENCH_TOKEN=
        WRK_CONNECTIONS=$c wrk_run "$dir" "get-user-c$c" ids.lua BENCH_PATH='/v1.0/users/{id}' BENCH_IDS="$ids"
        WRK_CONNECTIONS=$c wrk_run "$dir" "filter-c$c" get.lua \
            BENCH_PATH="/v1.0/users?\$filter=startswith(displayName,'Adele')&\$top=100&\$count=true" \
            BENCH_HEADER="ConsistencyLevel: eventual"
        WRK_CONNECTIONS=$c wrk_run "$dir" "member-of-c$c" ids.lua BENCH_PATH='/v1.0/users/{id}/memberOf' BENCH_IDS="$ids"
        WRK_CONNECTIONS=$c wrk_run "$dir" "transitive-member-of-c$c" ids.lua \
            BENCH_PATH='/v1.0/users/{id}/transitiveMemberOf' BENCH_IDS="$ids"
        WRK_CONNECTIONS=$c wrk_run "$dir" "check-member-groups-c$c" check_member_groups.lua \
            BENCH_IDS="$ids" BENCH_GROUPS="$dir/group-ids.txt"
    done

    # Token issuance next to the raw RS256 signing rate of this machine, same run.
    log "  openssl speed -multi $(nproc) rsa2048"
    echo "openssl speed -multi $(nproc) -seconds $duration rsa2048" >>"$commands"
    openssl speed -multi "$(nproc)" -seconds "$duration" rsa2048 >"$dir/openssl-speed.txt" 2>&1
    figure "$dir" rs256_sign_per_s "$(awk '/^rsa 2048 bits/ {print $6}' "$dir/openssl-speed.txt" | tail -1)"
    wrk_run "$dir" token token.lua BENCH_TENANT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantId"])' "$boot")" \
        BENCH_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientId"])' "$boot")" \
        BENCH_CLIENT_SECRET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientSecret"])' "$boot")"

    # Password sign-in (ROPC), bound by argon2id: next to this machine's argon2id rate with the
    # same library and parameters (`cerulean hash-rate`), server idle.
    log "  cerulean hash-rate"
    echo "$bin hash-rate --seconds $duration" >>"$commands"
    "$bin" hash-rate --seconds "$duration" >"$dir/argon2id-rate.json"
    wrk_run "$dir" ropc ropc.lua BENCH_TENANT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantId"])' "$boot")" \
        BENCH_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientId"])' "$boot")" \
        BENCH_CLIENT_SECRET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientSecret"])' "$boot")" \
        BENCH_USERNAME="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["adminUserPrincipalName"])' "$boot")" \
        BENCH_PASSWORD="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["adminPassword"])' "$boot")"

    # Mixed 90/10: writes that update (no password hash), then writes that create users.
    local domain
    domain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantDomain"])' "$boot")
    wrk_run "$dir" mixed-patch mixed.lua BENCH_IDS="$ids" BENCH_WRITE=patch BENCH_TAG="p$stamp"
    wrk_run "$dir" mixed-post mixed.lua BENCH_IDS="$ids" BENCH_WRITE=post BENCH_DOMAIN="$domain" BENCH_TAG="$(date +%s)"
    # Profiles of the scenarios whose budget is a ratio or a tail (after the measured runs).
    profile_run "$dir" get-user ids.lua BENCH_PATH='/v1.0/users/{id}' BENCH_IDS="$ids"
    profile_run "$dir" filter get.lua \
        BENCH_PATH="/v1.0/users?\$filter=startswith(displayName,'Adele')&\$top=100&\$count=true" \
        BENCH_HEADER="ConsistencyLevel: eventual"
    profile_run "$dir" transitive-member-of ids.lua BENCH_PATH='/v1.0/users/{id}/transitiveMemberOf' BENCH_IDS="$ids"
    profile_run "$dir" token token.lua BENCH_TENANT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenantId"])' "$boot")" \
        BENCH_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientId"])' "$boot")" \
        BENCH_CLIENT_SECRET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clientSecret"])' "$boot")"
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

# --- peers -----------------------------------------------------------------------------------
# Client-credentials issuance against oidc-provider (JWT access tokens, RS256) and
# oauth2-mock-server, from npm, configured by bench/peers/*.mjs: HTTPS with a throwaway
# certificate, one worker per core, the same wrk script and connections as Cerulean's run.
bench_peers() {
    local dir="$results/peers"
    mkdir -p "$dir"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        log "peers: node and npm are required; skipped"; echo "skipped=node missing" >"$dir/figures.env"; return
    fi
    if [[ ! -d bench/peers/node_modules/oidc-provider || ! -d bench/peers/node_modules/oauth2-mock-server ]]; then
        log "peers: installing oidc-provider and oauth2-mock-server (npm)"
        run npm install --prefix bench/peers --no-audit --no-fund --loglevel=error
    fi
    echo "node=$(node --version)" >>"$results/machine.env"
    echo "oidc_provider=$(node -p 'require("./bench/peers/node_modules/oidc-provider/package.json").version')" >>"$results/machine.env"
    echo "oauth2_mock_server=$(node -p 'require("./bench/peers/node_modules/oauth2-mock-server/package.json").version')" >>"$results/machine.env"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 \
        -subj /CN=127.0.0.1 >/dev/null 2>&1
    local peer pid secret
    secret="peer-bench-$(date +%s)"
    for peer in oidc-provider oauth2-mock-server; do
        log "peer: $peer"
        case "$peer" in
            oidc-provider) node bench/peers/oidc_provider.mjs "$port" "$dir/key.pem" "$dir/cert.pem" bench-client "$secret" \
                >"$dir/$peer.log" 2>&1 & ;;
            oauth2-mock-server) node bench/peers/mock_server.mjs "$port" "$dir/key.pem" "$dir/cert.pem" \
                >"$dir/$peer.log" 2>&1 & ;;
        esac
        pid=$!
        echo "node bench/peers/$( [[ $peer == oidc-provider ]] && echo oidc_provider || echo mock_server ).mjs $port key.pem cert.pem ..." >>"$commands"
        for _ in $(seq 1 100); do grep -q "ready on" "$dir/$peer.log" && break; sleep 0.1; done
        WRK_URL="https://127.0.0.1:$port" wrk_run "$dir" "token-$peer" token.lua BENCH_TOKEN_PATH=/token \
            BENCH_SCOPE=api.read BENCH_CLIENT_ID=bench-client BENCH_CLIENT_SECRET="$secret"
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pkill -f "bench/peers/.*\.mjs $port" 2>/dev/null || true
        sleep 0.5
    done
}
bench_peers
echo "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/machine.env"
echo "finished=$(date -u +%Y%m%dT%H%M%SZ)" >>"$results/machine.env"

python3 bench/report.py "$results" >"$repo_root/BENCHMARKS.md"
log "wrote BENCHMARKS.md (raw outputs in bench/results/$stamp)"
