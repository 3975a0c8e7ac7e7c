#!/usr/bin/env python3
"""Seeds a Cerulean tenant at scale through the public API only (no store access).

Every write goes through `POST /v1.0/$batch` (20 requests per batch) over several concurrent
HTTPS connections, authenticated with an app-only token of the bootstrap application:

  phase "groups" (first call only): M security groups in a hierarchy of depth 6. Level l holds
      a share of the groups proportional to 2^l (few roots, many leaf "teams"); every group
      below the roots is a member of one group of the level above (bound with
      `members@odata.bind` when the parent is created, leaves first).
  phase "users": users [start, start+N) with a realistic name, UPN and password; then
      memberships: each user joins one leaf group (so its transitive membership is 6 groups deep)
      and two other groups at random, added 20 at a time with
      `PATCH /groups/{id}` + `members@odata.bind` (400 memberships per batch).

Python stdlib only, so the suite costs no compile time; the client is not the bottleneck
(every user creation hashes a password with argon2id on the server, ~28 ms of CPU).

State (group ids per level, a sample of user ids) is kept in --state so that a later call
grows the same tenant. Prints one JSON line of figures (users/s, memberships/s, ...).
"""

import argparse
import http.client
import json
import queue
import random
import ssl
import sys
import threading
import time
import urllib.parse

FIRST = ("Adele Alex Allan Ben Bianca Carlos Chen Diego Dana Emma Ethan Fatima Grady Hana Henrietta "
         "Isaiah Ivan Johanna Joni Kenji Lee Lidia Lynne Megan Miriam Nestor Nina Omar Patti Pradeep "
         "Quinn Raul Rosa Sakura Sven Tara Uma Victor Wanda Xavier Yara Zoe").split()
LAST = ("Vance Wilber Deyoung Smith Adams Garcia Wang Lopez Holt Brown Patel Rahman Archie Suzuki "
        "Gonzalez Lee Petrov Jensen Sherman Tanaka Kim Sanders Fernandez Bowen Cruz Fuller "
        "Ahmed Fernandes Gupta Okafor Diaz Novak Rossi Berg Moreau Silva Weber Nguyen Kowalski").split()
PASSWORD = "Zq7#Xr9!mJ2$kWp"  # contains no seeded name (the policy refuses those)
LEVELS = 6


class Client:
    """One keep-alive HTTPS connection."""

    def __init__(self, base, token, ca):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.https = u.hostname, u.port, u.scheme == "https"
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca) if self.https else None
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        h = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            try:
                if self.conn is None:
                    if self.https:
                        self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=300)
                    else:
                        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.5)


def get_token(base, boot, ca):
    u = urllib.parse.urlsplit(base)
    ctx = ssl.create_default_context(cafile=ca) if u.scheme == "https" else None
    conn = (http.client.HTTPSConnection(u.hostname, u.port, context=ctx) if ctx
            else http.client.HTTPConnection(u.hostname, u.port))
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": boot["clientId"],
        "client_secret": boot["clientSecret"], "scope": "https://graph.microsoft.com/.default"})
    conn.request("POST", f"/{boot['tenantId']}/oauth2/v2.0/token", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    body = json.loads(r.read())
    if r.status != 200:
        sys.exit(f"seed: token request failed: {r.status} {body}")
    return body["access_token"]


def run_batches(clients, batches):
    """Sends each batch (a list of inner requests) and returns the inner responses by batch,
    in order. Stops at the first failed inner request."""
    results = [None] * len(batches)
    work = queue.Queue()
    for i, b in enumerate(batches):
        work.put(i)
    errors = []

    def worker(c):
        while not errors:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            reqs = [dict(r, id=str(k)) for k, r in enumerate(batches[i])]
            status, body = c.request("POST", "/v1.0/$batch", {"requests": reqs})
            if status != 200:
                errors.append(f"$batch answered {status}: {body}")
                return
            resp = sorted(body["responses"], key=lambda r: int(r["id"]))
            bad = [r for r in resp if r["status"] >= 300]
            if bad:
                errors.append(f"inner request failed: {bad[0]['status']} {json.dumps(bad[0].get('body'))[:400]}")
                return
            results[i] = resp

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"seed: {errors[0]}")
    return results


def chunks(xs, n):
    return [xs[i:i + n] for i in range(0, len(xs), n)]


def level_sizes(m):
    weights = [2 ** l for l in range(LEVELS)]
    sizes = [max(1, m * w // sum(weights)) for w in weights]
    sizes[-1] += m - sum(sizes)
    return sizes


def seed_groups(clients, m, tag, domain):
    sizes = level_sizes(m)
    ids = [[] for _ in range(LEVELS)]
    # Leaves first, so that each parent binds its (already created) children on creation.
    for level in range(LEVELS - 1, -1, -1):
        children = [[] for _ in range(sizes[level])]
        if level + 1 < LEVELS:
            for j, cid in enumerate(ids[level + 1]):
                children[j % sizes[level]].append(cid)
        reqs = []
        for j in range(sizes[level]):
            nick = f"{tag}-g{level}-{j}"
            body = {"displayName": f"Bench L{level} group {j}", "mailNickname": nick,
                    "mailEnabled": False, "securityEnabled": True}
            # at most 20 binds at creation; the rest (rare) are added by PATCH below
            first, rest = children[j][:20], children[j][20:]
            if first:
                body["members@odata.bind"] = [f"https://graph.microsoft.com/v1.0/directoryObjects/{c}" for c in first]
            reqs.append({"method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"},
                         "body": body, "_rest": rest})
        rests = [r.pop("_rest") for r in reqs]
        out = run_batches(clients, chunks(reqs, 20))
        ids[level] = [r["body"]["id"] for batch in out for r in batch]
        extra = [(ids[level][j], rest) for j, rest in enumerate(rests) if rest]
        add_members(clients, [(g, m) for g, ms in extra for m in ms])
    return ids


def add_members(clients, pairs):
    """pairs: (group id, member id); 20 members per PATCH, 20 PATCHes per batch."""
    by_group = {}
    for g, m in pairs:
        by_group.setdefault(g, []).append(m)
    reqs = []
    for g, ms in by_group.items():
        for part in chunks(ms, 20):
            reqs.append({"method": "PATCH", "url": f"/groups/{g}", "headers": {"Content-Type": "application/json"},
                         "body": {"members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{m}" for m in part]}})
    random.shuffle(reqs)
    if reqs:
        run_batches(clients, chunks(reqs, 20))
    return len(pairs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="e.g. https://127.0.0.1:18443")
    ap.add_argument("--bootstrap", required=True, help="the server's bootstrap.json")
    ap.add_argument("--ca", help="CA certificate (default: caCertificate of bootstrap.json)")
    ap.add_argument("--state", required=True, help="JSON state file, created or grown")
    ap.add_argument("--users", type=int, required=True, help="users to add in this call")
    ap.add_argument("--groups", type=int, default=0, help="groups to create (first call only)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    boot = json.load(open(a.bootstrap))
    ca = a.ca or boot["caCertificate"]
    try:
        state = json.load(open(a.state))
    except FileNotFoundError:
        state = {"tag": f"b{int(time.time()) % 100000}", "next_user": 0, "groups": None, "sample_users": []}
    rnd = random.Random(a.seed + state["next_user"])
    token = get_token(a.base, boot, ca)
    clients = [Client(a.base, token, ca) for _ in range(a.connections)]
    domain = boot["tenantDomain"]
    figures = {}

    if state["groups"] is None:
        t = time.monotonic()
        state["groups"] = seed_groups(clients, a.groups, state["tag"], domain)
        dt = time.monotonic() - t
        n = sum(len(l) for l in state["groups"])
        figures.update(groups=n, groups_seconds=round(dt, 2), groups_per_s=round(n / dt, 1))

    start = state["next_user"]
    reqs = []
    for i in range(start, start + a.users):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        nick = f"{state['tag']}.u{i}"
        reqs.append({"method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
                     "body": {"accountEnabled": True, "displayName": f"{first} {last} {i}",
                              "givenName": first, "surname": last, "mailNickname": nick,
                              "userPrincipalName": f"{nick}@{domain}", "jobTitle": "Engineer",
                              "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False}}})
    t = time.monotonic()
    out = run_batches(clients, chunks(reqs, 20))
    dt = time.monotonic() - t
    user_ids = [r["body"]["id"] for batch in out for r in batch]
    figures.update(users=len(user_ids), users_seconds=round(dt, 2), users_per_s=round(len(user_ids) / max(dt, 1e-9), 1))

    groups = state["groups"]
    leaves, everything = groups[-1], [g for l in groups for g in l]
    pairs = []
    for uid in user_ids:
        picks = {rnd.choice(leaves)}
        while len(picks) < min(3, len(everything)):
            picks.add(rnd.choice(everything))
        pairs += [(g, uid) for g in picks]
    t = time.monotonic()
    n = add_members(clients, pairs)
    dt = time.monotonic() - t
    figures.update(memberships=n, memberships_seconds=round(dt, 2), memberships_per_s=round(n / max(dt, 1e-9), 1))

    state["next_user"] = start + a.users
    sample = state["sample_users"] + user_ids[: max(0, 1000 - len(state["sample_users"]))]
    state["sample_users"] = sample
    state["total_users"] = state["next_user"]
    json.dump(state, open(a.state, "w"))
    figures["total_users"] = state["next_user"]
    figures["connections"] = a.connections
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
