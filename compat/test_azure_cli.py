"""The Azure CLI (`az`, unmodified, from its own virtualenv .venv-azcli made by
scripts/compat.sh) against Cerulean, with exactly the commands README's walkthrough gives:

    az cloud register -n Cerulean --skip-endpoint-discovery --endpoint-active-directory ...
    az cloud set -n Cerulean
    az config set core.instance_discovery=false
    az login --service-principal -u <appId> -p <secret> --tenant <tenant> --allow-no-subscriptions
    az ad user list / az ad user show / az ad group create / az ad group list

Each test has its own AZURE_CONFIG_DIR; REQUESTS_CA_BUNDLE makes the CLI trust the server's CA.
`az login` asks the token service for a Resource Manager token and lists subscriptions at the
cloud's resource manager endpoint (this server's `/subscriptions`: none, hence
`--allow-no-subscriptions`); `az ad ...` calls Microsoft Graph at the cloud's Microsoft Graph
resource id (this server's root, so `/v1.0/...`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jwt
import pytest

from conftest import REPO_ROOT

ARM_RESOURCE = "https://management.core.windows.net/"


def az_path() -> Path:
    return Path(os.environ.get("CERULEAN_AZ", REPO_ROOT / ".venv-azcli" / "bin" / "az"))


@pytest.fixture(scope="module", autouse=True)
def az_installed():
    if not az_path().exists():
        pytest.fail(f"the Azure CLI is not at {az_path()}: run scripts/compat.sh (it creates .venv-azcli)")


class Az:
    """Runs `az` with a private configuration directory, trusting the server's CA."""

    def __init__(self, server, config_dir: Path):
        self.server = server
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(config_dir),
            "AZURE_CONFIG_DIR": str(config_dir),
            "REQUESTS_CA_BUNDLE": server.ca_path,
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(az_path()), *args], env=self.env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
        if check:
            assert proc.returncode == 0, f"az {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
        return proc

    def json(self, *args: str):
        return json.loads(self.run(*args, "--output", "json").stdout)

    def register_cloud(self):
        base = self.server.base_url
        self.run(
            "cloud", "register", "-n", "Cerulean", "--skip-endpoint-discovery",
            "--endpoint-active-directory", base,
            "--endpoint-active-directory-resource-id", ARM_RESOURCE,
            "--endpoint-resource-manager", f"{base}/",
            "--endpoint-microsoft-graph-resource-id", f"{base}/",
            "--endpoint-active-directory-graph-resource-id", "https://graph.windows.net/",
        )  # fmt: skip
        self.run("cloud", "set", "-n", "Cerulean")
        self.run("config", "set", "core.instance_discovery=false")

    def login(self, app_id: str, secret: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(
            "login", "--service-principal", "-u", app_id, "-p", secret, "--tenant", self.server.tenant_id,
            *extra, "--output", "json", check=check,
        )  # fmt: skip


@pytest.fixture
def az(server, tmp_path):
    cli = Az(server, tmp_path / "azure")
    cli.register_cloud()
    return cli


def test_cloud_points_at_the_server(server, az):
    cloud = az.json("cloud", "show", "-n", "Cerulean")
    assert cloud["isActive"] is True
    assert cloud["endpoints"]["activeDirectory"] == server.base_url
    assert cloud["endpoints"]["resourceManager"] == f"{server.base_url}/"
    assert cloud["endpoints"]["microsoftGraphResourceId"] == f"{server.base_url}/"


def test_service_principal_login_then_directory_commands(server, az):
    accounts = json.loads(az.login(server.client_id, server.client_secret, "--allow-no-subscriptions").stdout)
    # No subscriptions here: one tenant-level account, as for a real tenant without any.
    assert len(accounts) == 1, accounts
    [account] = accounts
    assert account["tenantId"] == server.tenant_id
    assert account["cloudName"] == "Cerulean"
    assert account["user"] == {"name": server.client_id, "type": "servicePrincipal"}
    assert account["name"] == "N/A(tenant level account)"

    shown = az.json("account", "show")
    assert shown["tenantId"] == server.tenant_id

    # The Resource Manager token the CLI holds is this server's, for ARM.
    token = az.json("account", "get-access-token", "--resource", ARM_RESOURCE)
    assert token["tenant"] == server.tenant_id
    claims = jwt.decode(token["accessToken"], options={"verify_signature": False})
    assert claims["aud"] == ARM_RESOURCE
    assert claims["iss"] == f"{server.base_url}/{server.tenant_id}/"
    assert claims["appid"] == server.client_id

    users = az.json("ad", "user", "list")
    upns = [u["userPrincipalName"] for u in users]
    assert f"admin@{server.tenant_domain}" in upns, upns

    admin = az.json("ad", "user", "show", "--id", f"admin@{server.tenant_domain}")
    assert admin["userPrincipalName"] == f"admin@{server.tenant_domain}"
    assert admin["id"] in [u["id"] for u in users]

    filtered = az.json("ad", "user", "list", "--filter", f"userPrincipalName eq 'admin@{server.tenant_domain}'")
    assert [u["id"] for u in filtered] == [admin["id"]]

    group = az.json("ad", "group", "create", "--display-name", "az cli group", "--mail-nickname", "az-cli-group")
    assert group["displayName"] == "az cli group"
    groups = az.json("ad", "group", "list", "--display-name", "az cli group")
    assert [g["id"] for g in groups] == [group["id"]]

    az.run("ad", "group", "member", "add", "--group", "az cli group", "--member-id", admin["id"])
    members = az.json("ad", "group", "member", "list", "--group", group["id"])
    assert [m["id"] for m in members] == [admin["id"]]


def test_login_without_subscriptions_needs_allow_no_subscriptions(server, az):
    proc = az.login(server.client_id, server.client_secret, check=False)
    assert proc.returncode != 0
    assert f"No subscriptions found for {server.client_id}" in proc.stderr, proc.stderr


def test_login_with_a_wrong_secret_fails(server, az):
    proc = az.login(server.client_id, "not-the-secret", "--allow-no-subscriptions", check=False)
    assert proc.returncode != 0
    assert "AADSTS7000215" in proc.stderr, proc.stderr
