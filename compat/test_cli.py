"""The `cerulean serve` contract: plain HTTP, --public-url, JSON logs, a supplied
certificate, the bootstrap file's mode, and a clear refusal of what is not built."""

from __future__ import annotations

import json
import os
import signal
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import cerulean_bin, free_port


def _start(args: list[str], log: Path) -> subprocess.Popen:
    out = open(log, "wb")
    return subprocess.Popen([str(cerulean_bin()), "serve", *args], stdout=out, stderr=out, stdin=subprocess.DEVNULL)


def _wait(url: str, context: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def _get(url: str, context: ssl.SSLContext | None = None) -> dict:
    with urllib.request.urlopen(url, context=context, timeout=10) as resp:
        return json.loads(resp.read())


def test_http_public_url_and_json_logs(workdir: Path):
    data = workdir / "cli-http"
    port = free_port()
    public = "https://login.cerulean.example"
    log = workdir / "cli-http.log"
    proc = _start(
        ["--data-dir", str(data), "--listen", f"127.0.0.1:{port}", "--http", "--public-url", public, "--log-format", "json"],
        log,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/readyz")
        boot = json.loads((data / "bootstrap.json").read_text())
        # The credentials file is the owner's alone.
        assert stat.S_IMODE(os.stat(data / "bootstrap.json").st_mode) == 0o600
        assert boot["authority"] == f"{public}/{boot['tenantId']}"
        assert boot["graphBaseUrl"] == f"{public}/v1.0"
        assert boot["caCertificate"] is None, "no TLS material in --http mode"
        assert not (data / "tls").exists()
        config = _get(f"http://127.0.0.1:{port}/{boot['tenantId']}/v2.0/.well-known/openid-configuration")
        assert config["issuer"] == f"{public}/{boot['tenantId']}/v2.0"
        assert config["token_endpoint"] == f"{public}/{boot['tenantId']}/oauth2/v2.0/token"
    finally:
        assert _stop(proc) == 0
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines, log.read_text()
    records = [json.loads(line) for line in lines]
    assert any(r.get("message") == "listening" for r in records), records
    assert all("level" in r and "timestamp" in r for r in records)
    assert all(boot["clientSecret"] not in line for line in lines), "no secret in the logs"


def test_supplied_certificate(workdir: Path):
    # A first server generates a CA and a server certificate; a second serves that
    # certificate through --tls-cert/--tls-key and generates no TLS material of its own.
    first_dir = workdir / "cli-tls-first"
    port = free_port()
    proc = _start(["--data-dir", str(first_dir), "--listen", f"127.0.0.1:{port}"], workdir / "cli-tls-first.log")
    ca = first_dir / "tls" / "ca.pem"
    try:
        deadline = time.monotonic() + 30
        while not ca.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _wait(f"https://127.0.0.1:{port}/readyz", ssl.create_default_context(cafile=str(ca)))
    finally:
        assert _stop(proc) == 0
    second_dir = workdir / "cli-tls-second"
    port = free_port()
    proc = _start(
        [
            "--data-dir", str(second_dir), "--listen", f"127.0.0.1:{port}",
            "--tls-cert", str(first_dir / "tls" / "server.pem"), "--tls-key", str(first_dir / "tls" / "server-key.pem"),
        ],
        workdir / "cli-tls-second.log",
    )
    try:
        context = ssl.create_default_context(cafile=str(ca))
        _wait(f"https://localhost:{port}/readyz", context)
        assert not (second_dir / "tls").exists(), "a supplied certificate replaces the generated one"
        boot = json.loads((second_dir / "bootstrap.json").read_text())
        assert _get(f"https://127.0.0.1:{port}/{boot['tenantId']}/discovery/v2.0/keys", context)["keys"]
    finally:
        assert _stop(proc) == 0


def test_unusable_options_fail_clearly(workdir: Path):
    # Half a certificate pair is a usage error.
    result = subprocess.run(
        [str(cerulean_bin()), "serve", "--data-dir", str(workdir / "cli-bad"), "--tls-cert", "/nonexistent.pem"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "--tls-key" in result.stderr
    # A certificate file that does not exist is reported with its path.
    result = subprocess.run(
        [
            str(cerulean_bin()), "serve", "--data-dir", str(workdir / "cli-bad2"), "--listen", f"127.0.0.1:{free_port()}",
            "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent-key.pem",
        ],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "/nonexistent.pem" in result.stderr
