"""Durability and operations of the embedded store.

- Every write the server acknowledged survives `kill -9` of the server under concurrent
  writes; nothing else appears except, at most, the requests in flight at the kill.
- `cerulean backup` taken while writes run restores (`cerulean restore`) to a consistent
  store: the server starts on it and every user in it reads back.
- The data-directory lock: a second `serve` and a `restore` on a running server's data
  directory fail fast with a clear message and change nothing.

Plain HTTP keeps the client side to the standard library.
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
from dataclasses import dataclass, field
from pathlib import Path

from conftest import GRAPH_SCOPE, cerulean_bin, free_port

PASSWORD = "xWwvJ]6NMw+bWH-d"
WRITERS = 6


class Node:
    """A `cerulean serve --http` process on a data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{data_dir.name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.boot: dict = {}
        self.token = ""

    def start(self) -> "Node":
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(cerulean_bin()), "serve", "--data-dir", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}", "--http"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL,
        )
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"cerulean exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        else:
            raise AssertionError(f"cerulean never became ready:\n{self.tail()}")
        self.boot = json.loads((self.data_dir / "bootstrap.json").read_text())
        self.token = self._token()
        return self

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "<no log>"

    def _token(self) -> str:
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": self.boot["clientId"],
            "client_secret": self.boot["clientSecret"], "scope": GRAPH_SCOPE,
        }).encode()
        url = f"{self.base}/{self.boot['tenantId']}/oauth2/v2.0/token"
        with urllib.request.urlopen(url, data=form, timeout=30) as r:
            return json.loads(r.read())["access_token"]

    def call(self, method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url if url.startswith("http") else f"{self.base}{url}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
                return r.status, json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def users(self) -> dict[str, str]:
        """id -> userPrincipalName of every user, through every page."""
        found: dict[str, str] = {}
        url = "/v1.0/users?$top=999&$select=id,userPrincipalName"
        while url:
            status, page = self.call("GET", url)
            assert status == 200, page
            found.update({u["id"]: u["userPrincipalName"] for u in page["value"]})
            url = page.get("@odata.nextLink")
        return found

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@dataclass
class Writers:
    """Threads creating users as fast as the server acknowledges them."""

    node: Node
    prefix: str
    acked: dict[str, str] = field(default_factory=dict)  # id -> UPN, only 201s
    unanswered: set[str] = field(default_factory=set)  # UPNs sent but never answered
    failures: list[str] = field(default_factory=list)  # unexpected answers while the server lived
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, count: int = WRITERS) -> "Writers":
        domain = self.node.boot["tenantDomain"]
        for t in range(count):
            th = threading.Thread(target=self._run, args=(t, domain), daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def _run(self, t: int, domain: str) -> None:
        i = 0
        while not self.stop.is_set():
            alias = f"{self.prefix}{t}n{i}"
            upn = f"{alias}@{domain}"
            i += 1
            body = {
                "accountEnabled": True, "displayName": f"Durable {alias}", "mailNickname": alias,
                "userPrincipalName": upn, "passwordProfile": {"password": PASSWORD},
            }
            try:
                status, got = self.node.call("POST", "/v1.0/users", body)
            except (urllib.error.URLError, ConnectionError, OSError):
                # The server died with this request in flight: it may or may not have committed.
                with self.lock:
                    self.unanswered.add(upn)
                return
            with self.lock:
                if status == 201:
                    self.acked[got["id"]] = upn
                else:
                    self.failures.append(f"{status} {got}")
                    return

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def snapshot(self) -> dict[str, str]:
        with self.lock:
            return dict(self.acked)

    def wait_for(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline and not self.failures:
            time.sleep(0.02)
        assert not self.failures, self.failures
        assert self.count() >= n, f"only {self.count()} writes acknowledged in {timeout}s"

    def join(self) -> None:
        for th in self.threads:
            th.join(timeout=60)
            assert not th.is_alive(), "a writer hung"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cerulean_bin()), *args], capture_output=True, text=True, timeout=120)


def test_acknowledged_writes_survive_kill_9(workdir: Path):
    data = workdir / "durability-kill9"
    node = Node(data).start()
    before = node.users()
    writers = Writers(node, "k").start()
    try:
        writers.wait_for(300)
    finally:
        node.kill9()  # mid-stream: every writer has a request in flight or about to be
        writers.stop.set()
        writers.join()
    assert not writers.failures, writers.failures
    acked = writers.snapshot()

    node = Node(data).start()
    try:
        for uid, upn in acked.items():
            status, got = node.call("GET", f"/v1.0/users/{uid}")
            assert status == 200, f"acknowledged user {upn} ({uid}) lost after kill -9: {status} {got}"
            assert got["userPrincipalName"] == upn
        after = node.users()
        created = {uid: upn for uid, upn in after.items() if uid not in before}
        extra = {upn for uid, upn in created.items() if uid not in acked}
        assert extra <= writers.unanswered, f"users nobody asked for: {extra - writers.unanswered}"
        assert len(acked) <= len(created) <= len(acked) + len(writers.unanswered)
        print(
            f"kill -9: {len(acked)} acknowledged, 0 lost, {len(writers.unanswered)} in flight "
            f"({len(extra)} of them committed)"
        )
    finally:
        assert node.stop() == 0, node.tail()


def test_online_backup_restores_to_a_consistent_store_and_the_lock_holds(workdir: Path):
    data = workdir / "durability-backup"
    backup = workdir / "durability-backup.db"
    node = Node(data).start()
    before = node.users()
    writers = Writers(node, "b").start(3)
    try:
        writers.wait_for(15)
        settled = writers.snapshot()  # acknowledged before the backup began: must be in it
        made = _cli("backup", "--data-dir", str(data), str(backup))
        assert made.returncode == 0, made.stderr
        writers.wait_for(len(settled) + 10)  # writes went on during and after the backup
    finally:
        writers.stop.set()
        writers.join()
    assert not writers.failures, writers.failures
    acked = writers.snapshot()
    assert backup.exists() and (backup.stat().st_mode & 0o777) == 0o600

    again = _cli("backup", "--data-dir", str(data), str(backup))
    assert again.returncode != 0 and "--force" in again.stderr, again

    # The lock: neither a second server nor a restore touches a running server's data dir.
    second = subprocess.run(
        [str(cerulean_bin()), "serve", "--data-dir", str(data), "--listen", f"127.0.0.1:{free_port()}", "--http"],
        capture_output=True, text=True, timeout=30,
    )
    assert second.returncode != 0
    assert "in use by another cerulean process" in second.stderr, second.stderr
    refused = _cli("restore", "--data-dir", str(data), str(backup))
    assert refused.returncode != 0 and "stop the server before restoring" in refused.stderr, refused
    assert not (data / "cerulean.db.before-restore").exists()

    assert node.stop() == 0, node.tail()
    restored = _cli("restore", "--data-dir", str(data), str(backup))
    assert restored.returncode == 0, restored.stderr
    assert (data / "cerulean.db.before-restore").exists()

    node = Node(data).start()
    try:
        users = node.users()
        missing = {uid: upn for uid, upn in settled.items() if uid not in users}
        assert not missing, f"acknowledged before the backup began, missing from it: {missing}"
        new = {uid for uid in users if uid not in before}
        assert new <= set(acked), "the backup holds only acknowledged users"
        assert len(settled) <= len(new) <= len(acked)
        for uid, upn in users.items():
            status, got = node.call("GET", f"/v1.0/users/{uid}")
            assert status == 200 and got["userPrincipalName"] == upn, (status, got)
        # Uniqueness claims came along with the objects: a restored UPN is still taken.
        upn = next(iter(settled.values()))
        alias = upn.split("@")[0]
        status, got = node.call("POST", "/v1.0/users", {
            "accountEnabled": True, "displayName": "Dup", "mailNickname": alias + "dup",
            "userPrincipalName": upn, "passwordProfile": {"password": PASSWORD},
        })
        assert status in (400, 409), (status, got)
        print(f"backup: {len(settled)} acknowledged before it began, {len(new)} in it, {len(acked)} acknowledged in all")
    finally:
        assert node.stop() == 0, node.tail()
