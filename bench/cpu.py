#!/usr/bin/env python3
"""CPU accounting around one benchmark scenario: where the machine's CPU time went.

  bench/cpu.py snap <server-pid>            prints a JSON snapshot (clock ticks)
  bench/cpu.py diff <before.json> <after.json> <wrk-summary.json>   prints µs per request

A snapshot holds the machine's busy and idle ticks (/proc/stat), the server process's
user+system ticks and the sum over every PostgreSQL process (`postgres` by name: the
backends serving the server's pool and the background workers). What is neither the server
nor PostgreSQL is the load generator (wrk), the kernel's softirq work and everything else.
Per request = ticks ÷ requests completed, in microseconds of CPU; this is the process-level
profile behind a ratio: a bearer GET that costs 3x a static route's CPU cannot reach 0.6 of
its throughput on the same cores.
"""

import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def snap(server_pid):
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + (cpu[4] if len(cpu) > 4 else 0)
    busy = sum(cpu[:8]) - idle
    pg = sum(proc_ticks(p) for p in os.listdir("/proc") if p.isdigit() and comm(p) == "postgres")
    return {"busy": busy, "idle": idle, "server": proc_ticks(server_pid), "postgres": pg}


def diff(before, after, wrk):
    b, a = json.load(open(before)), json.load(open(after))
    w = json.load(open(wrk))
    n = max(int(w.get("requests", 0)), 1)
    per = lambda k: (a[k] - b[k]) * 1e6 / TICK / n
    busy, server, pg = per("busy"), per("server"), per("postgres")
    idle = (a["idle"] - b["idle"]) / max((a["idle"] - b["idle"]) + (a["busy"] - b["busy"]), 1)
    return {"requests": n, "server_us": round(server, 1), "postgres_us": round(pg, 1),
            "other_us": round(max(busy - server - pg, 0.0), 1), "idle_share": round(idle, 3)}


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        print(json.dumps(snap(sys.argv[2])))
    elif sys.argv[1] == "diff":
        print(json.dumps(diff(*sys.argv[2:5])))
    else:
        sys.exit(__doc__)
