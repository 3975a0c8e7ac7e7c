#!/usr/bin/env python3
"""Small API helpers for scripts/bench.sh (Python stdlib, public API only).

  token        print an app-only Graph token of the bootstrap application
  probe        print the HTTP status of one request (to find which routes exist)
  delta        take a delta token "from now", make N changes (PATCH jobTitle of N users via
               $batch), check that one request of the delta link returns them all, and print
               the delta link's path and query (for wrk)
  wait-ready   poll /readyz until it answers 200; print milliseconds since --since-ns
  rss          print VmRSS and VmHWM of a pid, in MiB, as JSON
"""

import argparse
import http.client
import json
import ssl
import sys
import time
import urllib.parse


def connect(base, ca):
    u = urllib.parse.urlsplit(base)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(conn, method, path, body=None, headers=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    raw = r.read()
    try:
        return r.status, json.loads(raw) if raw else None
    except ValueError:
        return r.status, raw.decode(errors="replace")


def token(base, boot, ca):
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": boot["clientId"],
        "client_secret": boot["clientSecret"], "scope": "https://graph.microsoft.com/.default"})
    status, body = call(connect(base, ca), "POST", f"/{boot['tenantId']}/oauth2/v2.0/token", form,
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        sys.exit(f"api: token request failed: {status} {body}")
    return body["access_token"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["token", "probe", "delta", "wait-ready", "rss"])
    ap.add_argument("--base")
    ap.add_argument("--bootstrap")
    ap.add_argument("--ca")
    ap.add_argument("--token")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--path")
    ap.add_argument("--body")
    ap.add_argument("--ids", help="file of user ids (delta: the first N are changed)")
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--since-ns", type=int)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()

    if a.command == "rss":
        fields = {}
        for line in open(f"/proc/{a.pid}/status"):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                fields[k] = round(int(v.split()[0]) / 1024, 1)
        print(json.dumps({"rss_mib": fields["VmRSS"], "hwm_mib": fields["VmHWM"]}))
        return

    if a.command == "wait-ready":
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            try:
                c = connect(a.base, None)
                c.timeout = 2
                if call(c, "GET", "/readyz")[0] == 200:
                    print(round((time.time_ns() - a.since_ns) / 1e6, 1))
                    return
            except OSError:
                pass
            time.sleep(0.005)
        sys.exit("api: server not ready in time")

    boot = json.load(open(a.bootstrap)) if a.bootstrap else None
    ca = a.ca or (boot or {}).get("caCertificate")

    if a.command == "token":
        print(token(a.base, boot, ca))
        return

    auth = {"Authorization": f"Bearer {a.token}"}
    conn = connect(a.base, ca)

    if a.command == "probe":
        status, _ = call(conn, a.method, a.path, a.body, auth)
        print(status)
        return

    # delta
    status, body = call(conn, "GET", "/v1.0/users/delta?$deltatoken=latest", None, auth)
    if status != 200 or "@odata.deltaLink" not in body:
        sys.exit(f"api: delta (latest) failed: {status} {body}")
    link = body["@odata.deltaLink"]
    ids = [l.strip() for l in open(a.ids) if l.strip()][: a.changes]
    stamp = int(time.time())
    for k in range(0, len(ids), 20):
        reqs = [{"id": str(j), "method": "PATCH", "url": f"/users/{uid}",
                 "headers": {"Content-Type": "application/json"},
                 "body": {"jobTitle": f"Delta {stamp} {k + j}"}} for j, uid in enumerate(ids[k:k + 20])]
        status, resp = call(conn, "POST", "/v1.0/$batch", {"requests": reqs}, auth)
        bad = [r for r in (resp or {}).get("responses", []) if r["status"] >= 300]
        if status != 200 or bad:
            sys.exit(f"api: delta changes failed: {status} {bad[:1] or resp}")
    u = urllib.parse.urlsplit(link)
    path = u.path + "?" + u.query
    status, body = call(conn, "GET", path, None, dict(auth, Prefer="odata.maxpagesize=999"))
    if status != 200 or "@odata.deltaLink" not in body:
        sys.exit(f"api: delta round failed: {status} {str(body)[:300]}")
    if len(body["value"]) != len(ids):
        sys.exit(f"api: delta round returned {len(body['value'])} objects, expected {len(ids)}")
    print(path)


if __name__ == "__main__":
    main()
