"""Session fixtures for the client-compatibility suite.

The suite starts the real `cerulean` binary (env CERULEAN_BIN, default
target/debug/cerulean relative to the repository root) on a free loopback port
with a fresh data directory, waits for /readyz over HTTPS (trusting the CA the
server generated), reads bootstrap.json, and stops the server with SIGTERM at the
end, asserting that it exits 0 within 10 seconds.

The official Microsoft clients are configured only through their public options.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def cerulean_bin() -> Path:
    raw = os.environ.get("CERULEAN_BIN", "target/debug/cerulean")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.exists():
        pytest.exit(
            f"cerulean binary not found at {path}; run `cargo build -p cerulean` "
            "or set CERULEAN_BIN",
            returncode=2,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# CERULEAN_COMPAT_ENGINE=postgres runs the servers of this suite on PostgreSQL: each data
# directory gets its own database (the same one again when a test restarts on that data
# directory), created on the server of CERULEAN_TEST_DATABASE_URL and dropped at the end.
PG_SERVER = os.environ.get("CERULEAN_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
_databases: dict[str, str] = {}


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_SERVER, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True, timeout=60)


def database_url_for(data_dir: Path) -> str | None:
    """The PostgreSQL database of a data directory, when the suite runs on PostgreSQL."""
    if os.environ.get("CERULEAN_COMPAT_ENGINE") != "postgres":
        return None
    key = str(data_dir)
    if key not in _databases:
        name = f"cerulean_compat_{uuid.uuid4().hex}"
        _psql(f"CREATE DATABASE {name}")
        _databases[key] = name
    parts = urllib.parse.urlsplit(PG_SERVER)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{_databases[key]}", parts.query, ""))


def drop_databases() -> None:
    for name in _databases.values():
        try:
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass
    _databases.clear()


@dataclass
class Server:
    """A running `cerulean serve` process and what it told us."""

    data_dir: Path
    port: int
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    bootstrap: dict = field(default_factory=dict)
    trust_bundle: Path | None = None
    # Further `cerulean serve` options (for example throttling).
    extra_args: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> str:
        return str(self.data_dir / "tls" / "ca.pem")

    @property
    def tenant_id(self) -> str:
        return self.bootstrap["tenantId"]

    @property
    def tenant_domain(self) -> str:
        return self.bootstrap["tenantDomain"]

    @property
    def client_id(self) -> str:
        return self.bootstrap["clientId"]

    @property
    def client_secret(self) -> str:
        return self.bootstrap["clientSecret"]

    @property
    def graph_base_url(self) -> str:
        return self.bootstrap["graphBaseUrl"]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return "<no server log>"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def start(self) -> "Server":
        assert self.proc is None, "server already started"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server-{self.port}.log"
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        self.proc = subprocess.Popen(
            [
                str(cerulean_bin()),
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--log-format",
                "text",
                *(["--database-url", url] if (url := database_url_for(self.data_dir)) else []),
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self._wait_ready()
        if self.trust_bundle is not None:
            with open(self.trust_bundle, "a") as bundle:
                bundle.write((self.data_dir / "tls" / "ca.pem").read_text())
        self.bootstrap = json.loads((self.data_dir / "bootstrap.json").read_text())
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        ca = self.data_dir / "tls" / "ca.pem"
        last_err: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"cerulean exited with {self.proc.returncode} before becoming ready:\n"
                    + self.log_tail()
                )
            if ca.exists():
                try:
                    ctx = ssl.create_default_context(cafile=str(ca))
                    with urllib.request.urlopen(
                        f"{self.base_url}/readyz", context=ctx, timeout=2
                    ) as resp:
                        if resp.status == 200 and (self.data_dir / "bootstrap.json").exists():
                            return
                except (urllib.error.URLError, ConnectionError, ssl.SSLError, OSError) as e:
                    last_err = e
            time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError(
            f"cerulean not ready within {READY_TIMEOUT_S}s (last error: {last_err}):\n"
            + self.log_tail()
        )

    def stop(self) -> int:
        """SIGTERM the server and return its exit code (asserting it stops in time)."""
        assert self.proc is not None
        proc, self.proc = self.proc, None
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(
                f"cerulean did not exit within {STOP_TIMEOUT_S}s of SIGTERM:\n" + self.log_tail()
            )

    def get_json(self, url: str) -> dict:
        with urllib.request.urlopen(url, context=self.ssl_context(), timeout=10) as resp:
            return json.loads(resp.read())


TRUST_ENV_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def sdk_client(srv: "Server"):
    """An unmodified `msgraph-sdk` client of `srv` signed in as its bootstrap application, with
    the credential and the HTTP client the caller closes afterwards."""
    import httpx
    from azure.identity import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    credential = ClientSecretCredential(
        srv.tenant_id,
        srv.client_id,
        srv.client_secret,
        authority=srv.base_url,
        disable_instance_discovery=True,
        connection_verify=srv.ca_path,
    )
    auth_provider = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"])
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=srv.ca_path))
    )
    adapter = GraphRequestAdapter(auth_provider, client=http_client)
    adapter.base_url = f"{srv.base_url}/v1.0"
    return GraphServiceClient(request_adapter=adapter), credential, http_client


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="cerulean-compat-"))
    yield d
    drop_databases()
    if os.environ.get("CERULEAN_COMPAT_KEEP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def trust_bundle(workdir: Path):
    """A PEM bundle of the CAs of every server this session started.

    `requests` (used by msal and azure-identity) lets REQUESTS_CA_BUNDLE /
    CURL_CA_BUNDLE override a session's `verify=` setting, and CI machines often set
    them to the system bundle; point them at our bundle for the session.
    """
    bundle = workdir / "trusted-cas.pem"
    bundle.write_text("")
    saved = {k: os.environ.get(k) for k in TRUST_ENV_VARS}
    for k in TRUST_ENV_VARS:
        os.environ[k] = str(bundle)
    yield bundle
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def server(workdir: Path, trust_bundle: Path):
    """The shared server for the whole session: fresh data dir, free port."""
    srv = Server(data_dir=workdir / "data", port=free_port(), trust_bundle=trust_bundle).start()
    yield srv
    code = srv.stop()
    assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"


@pytest.fixture(scope="session")
def make_server(workdir: Path, trust_bundle: Path):
    """Factory for extra servers that a test starts and stops itself."""
    started: list[Server] = []

    def make(data_dir: Path, port: int | None = None) -> Server:
        srv = Server(data_dir=data_dir, port=port or free_port(), trust_bundle=trust_bundle)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        if srv.proc is not None:
            srv.proc.kill()
            srv.proc.wait()


@pytest.fixture(scope="session")
def event_loop_runner():
    """One event loop for the session, so async HTTP clients can be shared."""
    loop = asyncio.new_event_loop()

    def run(coro):
        return loop.run_until_complete(coro)

    yield run
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def pytest_runtest_makereport(item, call):
    # Attach the shared server's log tail to failing tests for diagnosis.
    if call.when == "call" and call.excinfo is not None:
        srv = item.funcargs.get("server") if hasattr(item, "funcargs") else None
        if isinstance(srv, Server):
            item.add_report_section("call", "cerulean log (tail)", srv.log_tail(40))
