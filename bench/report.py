#!/usr/bin/env python3
"""Writes BENCHMARKS.md (to stdout) from one results directory of scripts/bench.sh.

Usage: bench/report.py bench/results/<timestamp>   (BENCH_NOTE: an extra paragraph, markdown)
"""

import json
import os
import sys

ENGINES = ("sqlite", "postgres")

# Scenarios whose CPU split is reported (bench/cpu.py), and those profiled with perf.
CPU_SCENARIOS = (
    ("ceiling", "`GET /healthz` (ceiling)"),
    ("ceiling-c1", "`GET /healthz`, 1 connection"),
    ("get-user-c1", "`GET /v1.0/users/{id}`, 1 connection"),
    ("transitive-member-of-c1", "`transitiveMemberOf`, 1 connection"),
    ("get-user", "`GET /v1.0/users/{id}`"),
    ("filter", "`$filter` + `$top` + `$count`"),
    ("member-of", "`memberOf`"),
    ("transitive-member-of", "`transitiveMemberOf`"),
    ("check-member-groups", "`checkMemberGroups`"),
    ("token", "client-credentials token"),
    ("ropc", "password sign-in (ROPC)"),
    ("http-ceiling", "`GET /healthz`, plain HTTP"),
    ("http-get-user", "`GET /v1.0/users/{id}`, plain HTTP"),
)
PROFILED = (
    ("get-user", "`GET /v1.0/users/{id}`"),
    ("filter", "`$filter` + `$top` + `$count`"),
    ("transitive-member-of", "`transitiveMemberOf`"),
    ("token", "client-credentials token"),
)


def env_file(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            k, sep, v = line.rstrip("\n").partition("=")
            if sep:
                out[k] = v
    return out


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def num(x, digits=0):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def ms(x):
    return "—" if x is None else (f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms")


def errors(w):
    return sum(w.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout", "errors_status"))


def main():
    res = sys.argv[1]
    m = env_file(os.path.join(res, "machine.env"))
    small, large = int(m.get("users_small", 0)), int(m.get("users_large", 0))
    rows, scalars, notes = [], [], []
    token_by_engine = {}

    for eng in ENGINES:
        d = os.path.join(res, eng)
        if not os.path.isdir(d):
            continue
        f = env_file(os.path.join(d, "figures.env"))
        w = {n[:-5]: load(os.path.join(d, n)) for n in os.listdir(d) if n.endswith(".json") and not n.startswith("seed")}
        ceiling = (w.get("ceiling") or {}).get("rps")

        def row(name, label, budget="—", verdict="—"):
            x = w.get(name)
            if not x:
                rows.append((label, eng, "not run", "—", "—", budget, "—"))
                return
            err = errors(x)
            v = verdict
            if err:
                v += f" ({err:,} errors/non-2xx of {x['requests']:,})"
            rows.append((label, eng, f"{num(x['rps'])}/s", ms(x["p50_ms"]), ms(x["p99_ms"]), budget, v))

        def p99_under(name, limit):
            x = w.get(name)
            if not x:
                return "—"
            if x["p99_ms"] < limit and not errors(x):
                return "met"
            # At 64 connections the static route's own p99 is the floor of every route's: when it
            # is already over the limit, no route can meet it on this machine at that concurrency.
            conns = next((s for s in ("-c1", "-c4") if name.endswith(s)), "")
            c = w.get("ceiling" + conns)
            if c and c["p99_ms"] >= limit:
                return f"**missed** (the static route's own p99 at this concurrency is {ms(c['p99_ms'])})"
            return "**missed**"

        at = f" ({large:,} users)"
        row("ceiling", "`GET /healthz` (ceiling)", "reference")
        gu = w.get("get-user")
        v = "—"
        if gu and ceiling:
            ratio = gu["rps"] / ceiling
            ok = ratio >= 0.6 and gu["p99_ms"] < 5 and not errors(gu)
            v = f"{'met' if ok else '**missed**'}: {ratio:.2f} of ceiling"
        row("get-user", "`GET /v1.0/users/{id}`", "≥ 0.6 of ceiling, p99 < 5 ms", v)
        row("filter", "`GET /v1.0/users?$filter=startswith(displayName,'Adele')&$top=100&$count=true`" + at,
            "p99 < 20 ms (at 100k)", p99_under("filter", 20))
        row("member-of", "`GET /v1.0/users/{id}/memberOf`" + at, "p99 < 2 ms", p99_under("member-of", 2))
        if f.get("transitive_member_of_missing"):
            rows.append(("`GET /v1.0/users/{id}/transitiveMemberOf`", eng, "route not served yet", "—", "—", "p99 < 2 ms", "—"))
        else:
            row("transitive-member-of", "`GET /v1.0/users/{id}/transitiveMemberOf`" + at, "p99 < 2 ms",
                p99_under("transitive-member-of", 2))
        if f.get("check_member_groups_missing"):
            rows.append(("`POST /v1.0/users/{id}/checkMemberGroups`", eng, "route not served yet", "—", "—", "p99 < 2 ms", "—"))
        else:
            row("check-member-groups", "`POST /v1.0/users/{id}/checkMemberGroups`" + at, "p99 < 2 ms",
                p99_under("check-member-groups", 2))
        # Low concurrency: what one request costs when it does not queue behind 63 others.
        for c in (1, 4):
            if f"ceiling-c{c}" in w:
                row(f"ceiling-c{c}", f"`GET /healthz` (ceiling), {c} connection{'s' if c > 1 else ''}",
                    "reference: the floor of a tail at this concurrency")
            row(f"get-user-c{c}", f"`GET /v1.0/users/{{id}}`, {c} connection{'s' if c > 1 else ''}",
                "p99 < 5 ms", p99_under(f"get-user-c{c}", 5))
            if f"filter-c{c}" in w:
                row(f"filter-c{c}", f"`$filter` + `$top=100` + `$count`{at}, {c} connection{'s' if c > 1 else ''}",
                    "p99 < 20 ms", p99_under(f"filter-c{c}", 20))
            for name, label in (("member-of", "`GET /v1.0/users/{id}/memberOf`"),
                                ("transitive-member-of", "`GET /v1.0/users/{id}/transitiveMemberOf`"),
                                ("check-member-groups", "`POST /v1.0/users/{id}/checkMemberGroups`")):
                key = f"{name}-c{c}"
                if key in w:
                    row(key, f"{label}{at}, {c} connection{'s' if c > 1 else ''}", "p99 < 2 ms", p99_under(key, 2))
        ds, dl = w.get("delta-small"), w.get("delta-large")
        row("delta-small", f"delta round after 100 changes, {small:,} users", "reference")
        v = "—"
        if ds and dl:
            r = ds["rps"] / dl["rps"]
            v = f"{'met' if r <= 1.5 else '**missed**'}: {r:.2f}× the cost at {small:,}"
        row("delta-large", f"delta round after 100 changes, {large:,} users", "≤ 1.5× the cost at the small size", v)
        sign = float(f["rs256_sign_per_s"]) if f.get("rs256_sign_per_s") else None
        tk = w.get("token")
        v = "—"
        if tk and sign:
            r = tk["rps"] / sign
            v = f"{'met' if r >= 0.75 and not errors(tk) else '**missed**'}: {r:.2f} of {num(sign)} RS256 signs/s"
        row("token", "client-credentials token (`POST /{tenant}/oauth2/v2.0/token`)",
            "≥ 0.75 of `openssl speed -multi` rsa2048 sign/s", v)
        rate = load(os.path.join(d, "argon2id-rate.json"))
        rp = w.get("ropc")
        v = "reported"
        if rp and rate:
            cores = int(m.get("cores", 1) or 1)
            per_core = rp["rps"] / cores
            v = (f"{num(per_core, 1)} sign-ins/s per core; argon2id {num(rate['per_s_per_core'], 1)}/s per core "
                 f"({rate['phc_parameters']}): {per_core / rate['per_s_per_core']:.2f} of the hashing rate")
        row("ropc", "password sign-in (ROPC, `grant_type=password`)", "bound by argon2id", v)
        if tk:
            token_by_engine[eng] = tk
        row("mixed-patch", "mixed 90/10: `GET /users/{id}` + `PATCH /users/{id}`", "—", "reported")
        row("mixed-post", "mixed 90/10: `GET /users/{id}` + `POST /users` (argon2id per write)", "—", "reported")
        row("http-ceiling", "`GET /healthz` over plain HTTP (`--http`)", "reference")
        row("http-get-user", "`GET /v1.0/users/{id}` over plain HTTP (`--http`)", "reference")

        seed = [load(os.path.join(d, n)) for n in ("seed-small.json", "seed-large.json")]
        seed = [s for s in seed if s]
        if seed:
            users = sum(s["users"] for s in seed)
            secs = sum(s["users_seconds"] for s in seed)
            mem = sum(s["memberships"] for s in seed)
            msecs = sum(s["memberships_seconds"] for s in seed)
            g = seed[0].get("groups", 0)
            if seed[0].get("method") == "import":
                scalars.append((eng, "seeding: `cerulean import` of a generated fixture (users, groups, memberships)",
                                f"{num(users / secs, 1)} users/s",
                                f"{users:,} users, {g:,} groups, {mem:,} memberships in {secs:,.1f} s"))
                seed = []
        if seed:
            scalars.append((eng, "seeding: users created through `$batch`", f"{num(users / secs, 1)} users/s",
                            f"{users:,} users in {secs:,.0f} s, {seed[0].get('connections', '?')} connections"))
            scalars.append((eng, "seeding: memberships (`members@odata.bind`, 20 per PATCH)",
                            f"{num(mem / msecs)} /s", f"{mem:,} memberships in {msecs:,.1f} s"))
            if g:
                scalars.append((eng, "seeding: groups (depth 6)", f"{num(seed[0]['groups_per_s'])} groups/s",
                                f"{g:,} groups in {seed[0]['groups_seconds']} s"))

        def scalar(key, label, unit, budget=None, ok=None):
            if key not in f:
                return
            val = float(f[key])
            verdict = "—" if ok is None else ("met" if ok(val) else "**missed**")
            scalars.append((eng, label, f"{val:,.1f} {unit}", (budget + ": " + verdict) if budget else ""))

        scalar("idle_rss_mib_empty", "idle RSS, fresh tenant", "MiB", "< 40 MB", lambda v: v < 40 * 1e6 / 2**20)
        scalar("idle_rss_mib_seeded", f"idle RSS after restart, {large:,}+ users", "MiB", "< 40 MB", lambda v: v < 40 * 1e6 / 2**20)
        scalar("rss_mib_seeded", f"RSS after seeding {large:,} users (before the load runs)", "MiB")
        scalar("peak_rss_mib", "peak RSS (VmHWM) through the runs", "MiB")
        scalar("graph_load_ms", f"first membership query after start, {large:,} users (builds the membership graph; "
               "one curl, TLS handshake included)", "ms")
        scalar("ready_ms_empty", "start to `/readyz`, fresh data directory", "ms")
        scalar("ready_ms_seeded", f"start to `/readyz`, {large:,}+ users in the store", "ms",
               "< 300 ms (at 100k)", lambda v: v < 300)
        if f.get("load_at_end"):
            notes.append(f"{eng}: load average when its runs ended: {f['load_at_end'].replace('/', ' ')}")

    out = []
    out.append("# Benchmarks\n")
    out.append(f"Generated by `scripts/bench.sh` ({m.get('mode', '?')} run, started {m.get('started', '?')}, "
               f"commit {m.get('commit', '?')}); raw outputs were in `bench/results/{m.get('started', '')}/` "
               "(not committed). Budgets are DESIGN.md's \"Performance budgets\". Re-run with "
               "`scripts/bench.sh --engine both` on a quiet machine for figures worth comparing.\n")
    note = os.environ.get("BENCH_NOTE")
    if note:
        out.append(note.strip() + "\n")
    out.append("## Machine\n")
    out.append(f"- CPU: {m.get('cpu_model', '?')}, {m.get('cores', '?')} cores; memory {int(m.get('memory_mib', 0)):,} MiB; "
               f"Linux {m.get('kernel', '?')}")
    out.append(f"- wrk {m.get('wrk', '?')}, OpenSSL {m.get('openssl', '?')}, rustc {m.get('rustc', '?')}; "
               "server and load generator share the machine")
    out.append(f"- load average at start: {m.get('loadavg_at_start', '?')}; at end: {m.get('loadavg_at_end', '?')}")
    for n in notes:
        out.append(f"- {n}")
    out.append(f"- scale: {small:,} then {large:,} users, {int(m.get('groups', 0)):,} groups in 6 levels, "
               f"each user in 3 groups (one leaf); wrk `-t1 -c{m.get('connections', 64)} -d{m.get('duration_s', '?')}s`, "
               "HTTPS with keep-alive unless the row says otherwise\n")
    out.append("## Throughput and latency\n")
    out.append("| scenario | engine | throughput | p50 | p99 | budget | verdict |")
    out.append("|---|---|---|---|---|---|---|")
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    out.append("")
    peers_dir = os.path.join(res, "peers")
    if os.path.isdir(peers_dir):
        out.append("## Peers: client-credentials issuance in the same run\n")
        out.append(f"oidc-provider {m.get('oidc_provider', '?')} (JWT access tokens, RS256, `client_secret_post`) and "
                   f"oauth2-mock-server {m.get('oauth2_mock_server', '?')} (RS256; checks no secret), Node "
                   f"{m.get('node', '?')}, each over HTTPS with one worker per core (`bench/peers/`), driven by the "
                   "same wrk script and connections. Budget: Cerulean ahead of both.\n")
        out.append("| issuer | throughput | p50 | p99 | Cerulean (engine) ÷ peer | verdict |")
        out.append("|---|---|---|---|---|---|")
        pw = {n[:-5]: load(os.path.join(peers_dir, n)) for n in os.listdir(peers_dir) if n.endswith(".json")}
        for eng, tk in token_by_engine.items():
            out.append(f"| Cerulean ({eng}) | {num(tk['rps'])}/s | {ms(tk['p50_ms'])} | {ms(tk['p99_ms'])} | — | — |")
        for peer in ("oidc-provider", "oauth2-mock-server"):
            x = pw.get(f"token-{peer}")
            if not x:
                out.append(f"| {peer} | not run | — | — | — | — |")
                continue
            ratios = ", ".join(f"{tk['rps'] / x['rps']:.2f}× ({eng})" for eng, tk in token_by_engine.items())
            ahead = all(tk["rps"] > x["rps"] for tk in token_by_engine.values()) and token_by_engine
            err = errors(x)
            verdict = ("met" if ahead else "**missed**") + (f" (peer: {err:,} errors/non-2xx)" if err else "")
            out.append(f"| {peer} | {num(x['rps'])}/s | {ms(x['p50_ms'])} | {ms(x['p99_ms'])} | {ratios or '—'} | {verdict} |")
        out.append("")
    cpu_rows, profiles = [], []
    for eng in ENGINES:
        d = os.path.join(res, eng)
        for name, label in CPU_SCENARIOS:
            c = load(os.path.join(d, "cpu", f"{name}.json"))
            if c:
                cpu_rows.append((label, eng, c))
        pdir = os.path.join(d, "profiles")
        for name, label in PROFILED:
            parts = []
            for kind, title in (("by-process", "by process and library"), ("server", "the server's hottest functions")):
                path = os.path.join(pdir, f"{name}.{kind}.txt")
                if os.path.exists(path) and os.path.getsize(path):
                    parts.append((title, open(path).read().rstrip()))
            if parts:
                profiles.append((label, eng, parts))
    if cpu_rows:
        out.append("## Where the CPU went, per request\n")
        out.append("Microseconds of CPU per completed request during each measured run (`bench/cpu.py`: clock "
                   "ticks of the server process, of every PostgreSQL process, and of the rest of the machine — "
                   "wrk, the kernel's network work — divided by the requests wrk completed), and the share of "
                   "the machine left idle. On two shared cores a route's throughput is bounded by its total: "
                   "a route can reach 0.6 of the static route only if it costs at most ~1.7× its CPU.\n")
        out.append("| scenario | engine | server | PostgreSQL | rest (wrk, kernel) | total | idle |")
        out.append("|---|---|---|---|---|---|---|")
        for label, eng, c in cpu_rows:
            total = c["server_us"] + c["postgres_us"] + c["other_us"]
            out.append(f"| {label} | {eng} | {c['server_us']:.1f} µs | {c['postgres_us']:.1f} µs | "
                       f"{c['other_us']:.1f} µs | {total:.1f} µs | {c['idle_share'] * 100:.0f}% |")
        out.append("")
    if profiles:
        out.append("## Profiles\n")
        out.append("Each scenario run again (after the measured run) under `perf record -a -F 499` for the "
                   "run's duration: the share of all samples by process and library, then the server's hottest "
                   "functions (share of the server's samples; release build, symbols without debug info).\n")
        for label, eng, parts in profiles:
            out.append(f"### {label} ({eng})\n")
            for title, text in parts:
                out.append(f"{title}:\n")
                out.append("```")
                out.append(text)
                out.append("```")
            out.append("")
    out.append("## Seeding, memory, start-up\n")
    out.append("| figure | engine | value | budget / detail |")
    out.append("|---|---|---|---|")
    for eng, label, val, detail in scalars:
        out.append(f"| {label} | {eng} | {val} | {detail} |")
    out.append("")
    out.append("## How each figure is taken\n")
    out.append("""- Seeding: by default `fixtures/generate.py bench` writes the tenant (same shape as below; no
  passwords but for five users) and `cerulean import` loads it with the server stopped; with
  `--seed-with api`, `bench/seed.py` uses the public API only, `POST /v1.0/$batch` with 20 inner
  requests, 8 connections. Groups first (leaves first, each parent binding its children with
  `members@odata.bind`: 6 levels, level l holding a share ∝ 2^l), then users (each `POST /users`
  hashes its password with argon2id on the server), then memberships (each user joins one leaf group
  and two random groups; `PATCH /groups/{id}` with 20 `members@odata.bind`, 20 per batch).
- Reads rotate over 1,000 seeded user ids (`bench/wrk/ids.lua`); `$filter` uses one prefix that
  matches ~1/42 of the users, so `$count` counts thousands at full scale.
- Delta: `GET /users/delta?$deltatoken=latest`, then 100 `PATCH`es, then the delta link (checked to
  return exactly the 100 changed users in one page, `Prefer: odata.maxpagesize=999`) fetched
  repeatedly by wrk; cost compared by throughput at the two sizes.
- Token issuance: `bench/wrk/token.lua` (client_secret_post); the machine's signing rate is
  `openssl speed -multi $(nproc) rsa2048` run just before it, server idle.
- Password sign-in: `bench/wrk/ropc.lua` signs the bootstrap administrator in with ROPC (one
  argon2id verification each); the hashing rate is `cerulean hash-rate` (the same library and
  parameters, one thread per core, server idle) run just before it.
- Peers: `bench/peers/` (npm packages pinned in its `package.json`), installed on first use.
- Mixed: 9 of 10 requests `GET /users/{id}`, 1 of 10 a write; `PATCH` changes `jobTitle`, `POST`
  creates a user with a unique UPN (and so costs one argon2id hash).
- RSS from `/proc/<pid>/status` (VmRSS, VmHWM for the peak), 2 s after ready; time to ready from
  launching the process to the first 200 of `/readyz`, polled every 5 ms.
""")
    out.append("""## Not covered yet

- The micro-benchmarks (OData parser, rule evaluator, signing/verification, membership check
  on a generated 100k-user / 10k-group / depth-6 graph, in-process requests) are a separate
  command: `cargo bench -p cerulean --bench micro` (divan); their figures are not part of this table.
- DESIGN.md's 100k users / 10k groups unless the run says so (`--users 100000`): seeding goes
  through the public API, and every `POST /users` hashes a password with argon2id (~28 ms of CPU),
  so the API path tops out near 40 users per second per core (85/s on 2 cores here, SQLite).
""")
    cmds = os.path.join(res, "commands.txt")
    if os.path.exists(cmds):
        out.append("## Exact commands\n")
        out.append("`$TOKEN` is an app-only token of the bootstrap application (`bench/api.py token`), `$SECRET` its "
                   "client secret, `$CERULEAN_BENCH_DB` the per-run PostgreSQL database.\n")
        out.append("```sh")
        seen = set()
        repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for line in open(cmds):
            line = line.rstrip().replace(repo_root + "/", "")
            if line not in seen:
                seen.add(line)
                out.append(line)
        out.append("```")
    print("\n".join(out))


if __name__ == "__main__":
    main()
