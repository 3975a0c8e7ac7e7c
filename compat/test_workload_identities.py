"""Workload identities with the unmodified official clients: azure-identity's
ManagedIdentityCredential in Python and in JavaScript (`@azure/identity`, driven by
compat/msal-node/run.mjs; App Service protocol and IMDS) and MSAL Python with a federated
client assertion (workload identity federation).

The server runs with `--imds-host vm1`, `--federation-ca-file` naming its own CA and
`--allow-private-fetch` (the issuer is on loopback, which outbound fetches refuse by default), so
that one of its tenants can serve as the external OIDC issuer: the "external" token is a v2 access
token Cerulean issues for `api://AzureADTokenExchange`, verified against the keys its own
discovery document publishes over HTTPS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request

import msal
import pytest
import requests
from azure.identity import ManagedIdentityCredential

from conftest import GRAPH_SCOPE, REPO_ROOT

NODE_DRIVER = REPO_ROOT / "compat" / "msal-node"

USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MI_ENV = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
)


@pytest.fixture(scope="module")
def srv(make_server, workdir):
    data = workdir / "workload-identities"
    server = make_server(data).start()
    # Now that its CA exists, restart trusting it for federation.
    assert server.stop() == 0
    server.extra_args = ["--imds-host", "vm1", "--federation-ca-file", server.ca_path, "--allow-private-fetch"]
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(srv):
    app = msal.ConfidentialClientApplication(
        srv.client_id,
        client_credential=srv.client_secret,
        authority=f"{srv.base_url}/{srv.tenant_id}",
        instance_discovery=False,
        verify=srv.ca_path,
    )
    token = app.acquire_token_for_client([GRAPH_SCOPE])["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.verify = srv.ca_path
    return session


def call(session, method, url, body=None, expect=(200, 201, 204)):
    r = session.request(method, url, json=body)
    assert r.status_code in expect, r.text
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def host(srv, admin):
    """A system-assigned identity with Graph's User.Read.All, bound to the host `vm1`."""
    mi = call(admin, "POST", f"{srv.base_url}/cerulean/admin/managedIdentities", {"name": "vm1", "type": "SystemAssigned"})
    graph = call(admin, "GET", f"{srv.base_url}/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")
    call(
        admin,
        "POST",
        f"{srv.base_url}/v1.0/servicePrincipals/{graph['id']}/appRoleAssignedTo",
        {"principalId": mi["id"], "resourceId": graph["id"], "appRoleId": USER_READ_ALL},
    )
    bound = call(admin, "POST", f"{srv.base_url}/cerulean/admin/managedIdentityHosts", {"name": "vm1", "identities": [mi["id"]]})
    return mi, bound


def graph_users(srv, token: str) -> list:
    r = requests.get(f"{srv.base_url}/v1.0/users", headers={"Authorization": f"Bearer {token}"}, verify=srv.ca_path)
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_managed_identity_credential_app_service(srv, host, monkeypatch):
    mi, bound = host
    for k in MI_ENV:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", bound["environment"]["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", bound["environment"]["IDENTITY_HEADER"])
    token = ManagedIdentityCredential().get_token(GRAPH_SCOPE)
    assert token.token and token.expires_on > 0
    assert graph_users(srv, token.token)
    # A user-assigned selector that is not bound to the host fails.
    with pytest.raises(Exception):
        ManagedIdentityCredential(client_id="11111111-1111-1111-1111-111111111111").get_token(GRAPH_SCOPE)


def test_managed_identity_credential_imds(srv, host, monkeypatch):
    mi, _ = host
    for k in MI_ENV:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", srv.base_url)
    token = ManagedIdentityCredential().get_token(GRAPH_SCOPE)
    assert token.token
    claims = json.loads(_b64(token.token.split(".")[1]))
    assert claims["oid"] == mi["id"]
    assert graph_users(srv, token.token)
    token = ManagedIdentityCredential(client_id=mi["appId"]).get_token(GRAPH_SCOPE)
    assert json.loads(_b64(token.token.split(".")[1]))["appid"] == mi["appId"]


def run_js_credential(srv, env: dict, client_id: str | None = None) -> dict:
    """`new ManagedIdentityCredential(...).getToken(scope)` of the unmodified @azure/identity,
    in a Node process whose only environment is `env` (plus PATH and the server's CA)."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH (@azure/identity needs Node 20 or later)")
    if not (NODE_DRIVER / "node_modules" / "@azure" / "identity").is_dir():
        pytest.fail("compat/msal-node/node_modules is missing: run scripts/compat.sh (it runs `npm ci` there)")
    request = {"flow": "managed_identity", "scopes": GRAPH_SCOPE}
    if client_id:
        request["clientId"] = client_id
    proc = subprocess.run(
        ["node", "run.mjs"],
        cwd=NODE_DRIVER,
        input=json.dumps(request).encode(),
        capture_output=True,
        env={"PATH": os.environ.get("PATH", ""), "NODE_EXTRA_CA_CERTS": str(srv.ca_path), **env},
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)["results"][0]


def test_js_managed_identity_credential_app_service(srv, host):
    mi, bound = host
    env = {k: bound["environment"][k] for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    got = run_js_credential(srv, env)
    assert "error" not in got, got
    claims = json.loads(_b64(got["accessToken"].split(".")[1]))
    assert claims["oid"] == mi["id"]
    assert graph_users(srv, got["accessToken"])
    # A user-assigned selector that is not bound to the host is refused by the server.
    refused = run_js_credential(srv, env, client_id="11111111-1111-1111-1111-111111111111")
    assert "error" in refused, refused
    assert refused["error"]["errorCode"] in ("CredentialUnavailableError", "AuthenticationError"), refused


def test_js_managed_identity_credential_imds(srv, host):
    mi, _ = host
    got = run_js_credential(srv, {"AZURE_POD_IDENTITY_AUTHORITY_HOST": srv.base_url})
    assert "error" not in got, got
    assert json.loads(_b64(got["accessToken"].split(".")[1]))["oid"] == mi["id"]
    got = run_js_credential(srv, {"AZURE_POD_IDENTITY_AUTHORITY_HOST": srv.base_url}, client_id=mi["appId"])
    assert "error" not in got, got
    assert json.loads(_b64(got["accessToken"].split(".")[1]))["appid"] == mi["appId"]


def test_imds_refuses_without_metadata_header(srv, host):
    req = urllib.request.Request(f"{srv.base_url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://graph.microsoft.com")
    try:
        urllib.request.urlopen(req, context=srv.ssl_context(), timeout=10)
        raise AssertionError("IMDS answered without the Metadata header")
    except urllib.error.HTTPError as e:
        assert e.code == 400
        assert json.loads(e.read())["error"] == "bad_request_102"


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_msal_with_a_federated_assertion(srv, admin):
    base = srv.base_url
    # The "external" issuer's token: a v2 access token of this tenant for the token exchange
    # audience, obtained by the bootstrap app (the workload).
    exchange = call(
        admin,
        "POST",
        f"{base}/v1.0/applications",
        {"displayName": "Token exchange", "identifierUris": ["api://AzureADTokenExchange"], "api": {"requestedAccessTokenVersion": 2}},
    )
    call(admin, "POST", f"{base}/v1.0/servicePrincipals", {"appId": exchange["appId"]})
    workload = msal.ConfidentialClientApplication(
        srv.client_id, client_credential=srv.client_secret, authority=f"{base}/{srv.tenant_id}",
        instance_discovery=False, verify=srv.ca_path,
    )
    external = workload.acquire_token_for_client(["api://AzureADTokenExchange/.default"])
    assert "access_token" in external, external
    ext_claims = json.loads(_b64(external["access_token"].split(".")[1]))
    assert ext_claims["iss"] == f"{base}/{srv.tenant_id}/v2.0"

    # The deployer app trusts that issuer and subject.
    deployer = call(admin, "POST", f"{base}/v1.0/applications", {"displayName": "Deployer"})
    sp = call(admin, "POST", f"{base}/v1.0/servicePrincipals", {"appId": deployer["appId"]})
    graph = call(admin, "GET", f"{base}/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')")
    call(admin, "POST", f"{base}/v1.0/servicePrincipals/{graph['id']}/appRoleAssignedTo",
         {"principalId": sp["id"], "resourceId": graph["id"], "appRoleId": USER_READ_ALL})
    call(
        admin,
        "POST",
        f"{base}/v1.0/applications/{deployer['id']}/federatedIdentityCredentials",
        {"name": "workload", "issuer": ext_claims["iss"], "subject": ext_claims["sub"], "audiences": [ext_claims["aud"]]},
    )

    app = msal.ConfidentialClientApplication(
        deployer["appId"],
        client_credential={"client_assertion": external["access_token"]},
        authority=f"{base}/{srv.tenant_id}",
        instance_discovery=False,
        verify=srv.ca_path,
    )
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    claims = json.loads(_b64(result["access_token"].split(".")[1]))
    assert claims["appid"] == deployer["appId"]
    assert graph_users(srv, result["access_token"])

    # The credential deleted: MSAL gets Entra's refusal.
    call(admin, "DELETE", f"{base}/v1.0/applications/{deployer['id']}/federatedIdentityCredentials/workload")
    again = msal.ConfidentialClientApplication(
        deployer["appId"],
        client_credential={"client_assertion": external["access_token"]},
        authority=f"{base}/{srv.tenant_id}",
        instance_discovery=False,
        verify=srv.ca_path,
    ).acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" not in again
    assert 70021 in again.get("error_codes", []), again
