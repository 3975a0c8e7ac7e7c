"""Three `cerulean serve` nodes on one PostgreSQL database behave as one directory.

The nodes share one public URL (as behind a load balancer), start at the same time on an
empty database (one bootstraps), and then: a token from one node is accepted by the others,
a write acknowledged by one is read at once on another, a next link from one node pages on
another, and writes acknowledged by a node killed mid-stream (kill -9) are all there. Browser
flows (authorization code with PKCE, SSO session, device code, refresh-token rotation) work
with each step on a different node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import cerulean_bin, free_port

PG_SERVER = os.environ.get("CERULEAN_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PUBLIC_URL = "http://cerulean.test"
PASSWORD = "xWwvJ]6NMw+bWH-d"


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_SERVER, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True, timeout=60)


@pytest.fixture
def database():
    if os.environ.get("CERULEAN_SKIP_POSTGRES") == "1":
        pytest.skip("CERULEAN_SKIP_POSTGRES=1")
    name = f"cerulean_multinode_{uuid.uuid4().hex}"
    _psql(f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(PG_SERVER)
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    try:
        yield url
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Node:
    def __init__(self, root: Path, index: int, database_url: str):
        self.dir = root / f"node{index}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = root / f"node{index}.log"
        self.database_url = database_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Node":
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [
                str(cerulean_bin()), "serve", "--data-dir", str(self.dir), "--listen", f"127.0.0.1:{self.port}",
                "--http", "--public-url", PUBLIC_URL, "--database-url", self.database_url,
            ],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL,
        )
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"node exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise AssertionError(f"node never ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def url(self, link: str) -> str:
        """A link issued under the shared public URL, sent to this node."""
        return link.replace(PUBLIC_URL, self.base, 1)

    def call(self, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path if path.startswith("http") else f"{self.base}{path}"), data=data, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                text = r.read()
                return r.status, json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


def _token(node: Node, boot: dict) -> str:
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": boot["clientId"], "client_secret": boot["clientSecret"],
        "scope": "https://graph.microsoft.com/.default",
    }).encode()
    with urllib.request.urlopen(f"{node.base}/{boot['tenantId']}/oauth2/v2.0/token", data=form, timeout=20) as r:
        return json.loads(r.read())["access_token"]


def _user(alias: str) -> dict:
    return {
        "accountEnabled": True, "displayName": f"Node user {alias}", "mailNickname": alias,
        "userPrincipalName": f"{alias}@contoso.onmicrosoft.com", "passwordProfile": {"password": PASSWORD},
    }


def test_three_nodes_behave_as_one(database: str, workdir: Path):
    root = workdir / f"multinode-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    nodes = [Node(root, i, database) for i in range(3)]
    try:
        for n in nodes:  # all at once, on an empty database
            n.start()
        for n in nodes:
            n.wait_ready()
        boots = [json.loads((n.dir / "bootstrap.json").read_text()) for n in nodes if (n.dir / "bootstrap.json").exists()]
        assert len(boots) == 1, "exactly one node bootstrapped"
        boot = boots[0]
        a, b, c = nodes

        # A token issued by one node is accepted by every node.
        token = _token(a, boot)
        for n in nodes:
            status, _ = n.call("GET", "/v1.0/users?$top=1", token)
            assert status == 200

        # Read-your-writes across nodes: acknowledged on B, visible on C at once.
        status, created = b.call("POST", "/v1.0/users", token, _user("crossnode"))
        assert status == 201, created
        status, got = c.call("GET", f"/v1.0/users/{created['id']}", token)
        assert status == 200 and got["userPrincipalName"] == "crossnode@contoso.onmicrosoft.com"
        status, _ = a.call("PATCH", f"/v1.0/users/{created['id']}", token, {"jobTitle": "Roaming"})
        assert status == 204
        assert b.call("GET", f"/v1.0/users/{created['id']}?$select=jobTitle", token)[1]["jobTitle"] == "Roaming"

        # A next link from one node pages on another.
        for i in range(5):
            assert a.call("POST", "/v1.0/users", token, _user(f"pager{i}"))[0] == 201
        status, page = a.call("GET", "/v1.0/users?$top=2", token)
        seen = [u["id"] for u in page["value"]]
        link = page.get("@odata.nextLink")
        hops = [b, c]
        while link:
            node = hops[len(seen) % 2]
            status, page = node.call("GET", link, token)
            assert status == 200, page
            seen += [u["id"] for u in page["value"]]
            link = page.get("@odata.nextLink")
        assert len(seen) == len(set(seen)) == 7, seen  # the admin, crossnode and 5 pagers

        # A delta round started on one node continues on another: pages, then the delta link.
        status, page = a.call("GET", "/v1.0/users/delta?$select=displayName", token)
        assert status == 200, page
        hop = 0
        while "@odata.nextLink" in page:
            hop += 1
            status, page = nodes[hop % 3].call("GET", page["@odata.nextLink"], token)
            assert status == 200, page
        delta_link = page["@odata.deltaLink"]
        status, later = c.call("POST", "/v1.0/users", token, _user("deltanode"))
        assert status == 201
        status, changes = b.call("GET", delta_link, token)
        assert status == 200, changes
        assert later["id"] in [u["id"] for u in changes["value"]], changes

        # Writes acknowledged by a node killed mid-stream are all kept.
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    status, body = b.call("POST", "/v1.0/users", token, _user(f"k{w}x{i}"))
                except (urllib.error.URLError, ConnectionError, OSError):
                    return
                if status == 201:
                    with lock:
                        acknowledged.append(body["id"])
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        b.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert acknowledged, "some writes were acknowledged before the kill"
        for user_id in acknowledged:
            status, _ = c.call("GET", f"/v1.0/users/{user_id}", token)
            assert status == 200, f"acknowledged user {user_id} lost"
        # The surviving nodes keep serving writes.
        assert a.call("POST", "/v1.0/users", token, _user("afterkill"))[0] == 201
    finally:
        for n in nodes:
            try:
                n.stop()
            except Exception:  # noqa: BLE001 - best-effort cleanup; the assertion above reports
                pass


REDIRECT_URI = "http://localhost:8765/callback"


def _hidden(page: str, name: str) -> str:
    import html
    import re

    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden field {name} in {page}"
    return html.unescape(m.group(1))


def _action(page: str, node: Node) -> str:
    """The form's action, sent to `node` (actions are issued under the shared public URL)."""
    import html
    import re

    m = re.search(r'<form method="post" action="([^"]*)"', page)
    assert m, page
    action = html.unescape(m.group(1))
    return node.url(action) if action.startswith("http") else f"{node.base}{action}"


def _form(node: Node, path: str, fields: dict) -> tuple[int, dict]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(f"{node.base}{path}", data=data, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_browser_flows_span_nodes(database: str, workdir: Path):
    """Authorization codes, SSO sessions, device codes and refresh tokens live in the database:
    each step of a browser flow may land on a different node, as behind a load balancer."""
    import base64
    import hashlib
    import secrets

    import requests

    root = workdir / f"multinode-browser-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    nodes = [Node(root, i, database) for i in range(3)]
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            n.wait_ready()
        boot = next(json.loads((n.dir / "bootstrap.json").read_text()) for n in nodes if (n.dir / "bootstrap.json").exists())
        a, b, c = nodes
        tenant = boot["tenantId"]
        token = _token(a, boot)

        # A public client app with a native redirect URI, consented tenant-wide (on node A).
        status, app = a.call("POST", "/v1.0/applications", token, {
            "displayName": "Multi-node browser app", "isFallbackPublicClient": True,
            "publicClient": {"redirectUris": [REDIRECT_URI]},
        })
        assert status == 201, app
        status, sp = a.call("POST", "/v1.0/servicePrincipals", token, {"appId": app["appId"]})
        assert status == 201, sp
        status, graph_sp = a.call("GET", "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", token)
        assert status == 200, graph_sp
        status, grant = a.call("POST", "/v1.0/oauth2PermissionGrants", token, {
            "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": "User.Read",
        })
        assert status == 201, grant

        browser = requests.Session()  # one cookie jar across the nodes (same host, other ports)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

        def authorize(node: Node) -> requests.Response:
            query = urllib.parse.urlencode({
                "client_id": app["appId"], "response_type": "code", "redirect_uri": REDIRECT_URI,
                "scope": "openid offline_access https://graph.microsoft.com/User.Read", "state": "s1",
                "code_challenge": challenge, "code_challenge_method": "S256",
            })
            return browser.get(f"{node.base}/{tenant}/oauth2/v2.0/authorize?{query}", allow_redirects=False, timeout=20)

        def code_of(response: requests.Response) -> str:
            assert response.status_code == 302, response.text
            location = response.headers["Location"]
            assert location.startswith(REDIRECT_URI), location
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]

        def redeem(node: Node, code: str) -> tuple[int, dict]:
            return _form(node, f"/{tenant}/oauth2/v2.0/token", {
                "grant_type": "authorization_code", "client_id": app["appId"], "code": code,
                "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
                "scope": "https://graph.microsoft.com/User.Read",
            })

        # The sign-in page comes from A, the password is posted to B, the code redeemed on C.
        page = authorize(a)
        assert page.status_code == 200 and '<label for="password">' in page.text, page.text
        done = browser.post(_action(page.text, b), data={
            "flow": _hidden(page.text, "flow"), "csrf": _hidden(page.text, "csrf"),
            "username": boot["adminUserPrincipalName"], "password": boot["adminPassword"], "action": "signin",
        }, allow_redirects=False, timeout=30)
        code = code_of(done)
        status, tokens = redeem(c, code)
        assert status == 200 and "refresh_token" in tokens, tokens
        status, me = b.call("GET", "/v1.0/me", tokens["access_token"])
        assert status == 200 and me["userPrincipalName"] == boot["adminUserPrincipalName"], me

        # A code is spent everywhere once redeemed anywhere (and its replay revokes what it
        # issued, on every node).
        status, replay = redeem(a, code)
        assert status == 400 and replay["error"] == "invalid_grant", replay
        status, revoked = _form(b, f"/{tenant}/oauth2/v2.0/token", {
            "grant_type": "refresh_token", "client_id": app["appId"], "refresh_token": tokens["refresh_token"],
        })
        assert status == 400 and revoked["error"] == "invalid_grant", revoked

        # The SSO session set by B lets a second authorize on C skip the password.
        code2 = code_of(authorize(c))
        status, tokens = redeem(a, code2)
        assert status == 200, tokens

        # The refresh token from A refreshes on C; the rotated-out one is refused on B.
        refresh = {"grant_type": "refresh_token", "client_id": app["appId"],
                   "scope": "https://graph.microsoft.com/User.Read"}
        status, refreshed = _form(c, f"/{tenant}/oauth2/v2.0/token", {**refresh, "refresh_token": tokens["refresh_token"]})
        assert status == 200 and refreshed["refresh_token"] != tokens["refresh_token"], refreshed
        status, reused = _form(b, f"/{tenant}/oauth2/v2.0/token", {**refresh, "refresh_token": tokens["refresh_token"]})
        assert status == 400 and reused["error"] == "invalid_grant", reused

        # Device code: requested on A, the user enters it on B, the client polls C.
        status, device = _form(a, f"/{tenant}/oauth2/v2.0/devicecode", {
            "client_id": app["appId"], "scope": "https://graph.microsoft.com/User.Read",
        })
        assert status == 200 and "user_code" in device, device
        poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": app["appId"],
                "device_code": device["device_code"]}
        status, pending = _form(c, f"/{tenant}/oauth2/v2.0/token", poll)
        assert status == 400 and pending["error"] == "authorization_pending", pending
        person = requests.Session()
        entry = person.get(b.url(device["verification_uri"]), timeout=20)
        assert entry.status_code == 200 and '<label for="otc">' in entry.text, entry.text
        signin = person.post(_action(entry.text, b), data={"csrf": _hidden(entry.text, "csrf"), "otc": device["user_code"]}, timeout=20)
        assert signin.status_code == 200 and '<label for="password">' in signin.text, signin.text
        finished = person.post(_action(signin.text, a), data={
            "flow": _hidden(signin.text, "flow"), "csrf": _hidden(signin.text, "csrf"),
            "username": boot["adminUserPrincipalName"], "password": boot["adminPassword"], "action": "signin",
        }, timeout=30)
        assert finished.status_code == 200 and "signed in" in finished.text, finished.text
        deadline = time.monotonic() + 30
        while True:
            status, polled = _form(c, f"/{tenant}/oauth2/v2.0/token", poll)
            if status == 200 or polled.get("error") not in ("authorization_pending", "slow_down") or time.monotonic() > deadline:
                break
            time.sleep(max(1, int(device.get("interval", 1))))
        assert status == 200 and "access_token" in polled, polled
    finally:
        for n in nodes:
            try:
                n.stop()
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass
