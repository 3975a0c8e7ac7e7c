"""MSAL for Node (`@azure/msal-node`, unmodified) against Cerulean.

A small Node driver (compat/msal-node/run.mjs, installed by scripts/compat.sh with `npm ci`)
runs msal-node's public API: `ConfidentialClientApplication` with a tenant authority on this
server and `knownAuthorities: ["127.0.0.1:<port>"]` (client secret and certificate), and
`PublicClientApplication.acquireTokenByUsernamePassword` then `acquireTokenSilent`. Node trusts
the server's CA through NODE_EXTRA_CA_CERTS. The tokens MSAL hands back are verified here:
signature against the tenant's JWKS, then the claims.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import GRAPH_SCOPE, REPO_ROOT

DRIVER_DIR = REPO_ROOT / "compat" / "msal-node"
PASSWORD = "r8G+kLp]3TzqW-vY"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_ROLES = {"Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All"}


@pytest.fixture(scope="module", autouse=True)
def driver_installed():
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH (msal-node needs Node 20 or later)")
    if not (DRIVER_DIR / "node_modules" / "@azure" / "msal-node").is_dir():
        pytest.fail("compat/msal-node/node_modules is missing: run scripts/compat.sh (it runs `npm ci` there)")


def run_node(server, trust_bundle: Path, request: dict) -> dict:
    """Runs the driver with `request` and returns its answer."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_EXTRA_CA_CERTS": str(trust_bundle),
        "HOME": str(trust_bundle.parent),
    }
    proc = subprocess.run(
        ["node", "run.mjs"],
        cwd=DRIVER_DIR,
        input=json.dumps(request).encode(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, f"node driver failed ({proc.returncode}):\n{proc.stderr.decode(errors='replace')}"
    return json.loads(proc.stdout)


def base_request(server, flow: str, client_id: str, authority: str | None = None) -> dict:
    return {
        "flow": flow,
        "authority": authority or f"{server.base_url}/{server.tenant_id}",
        "knownAuthorities": [f"127.0.0.1:{server.port}"],
        "clientId": client_id,
    }


def verify(server, token: str) -> dict:
    """Verifies `token`'s signature with the key its `kid` names in the tenant's JWKS, and its
    issuer, audience and lifetime; returns the claims."""
    header = jwt.get_unverified_header(token)
    unverified = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256", header
    config = server.get_json(f"{server.base_url}/{server.tenant_id}/v2.0/.well-known/openid-configuration")
    keys = server.get_json(config["jwks_uri"])["keys"]
    jwk = next((k for k in keys if k["kid"] == header.get("kid")), None)
    assert jwk is not None, (header, [k["kid"] for k in keys])
    claims = jwt.decode(
        token,
        key=jwt.PyJWK(jwk, algorithm="RS256").key,
        algorithms=["RS256"],
        audience=unverified["aud"],
        issuer=f"{server.base_url}/{server.tenant_id}/",
        leeway=60,
    )
    assert claims["tid"] == server.tenant_id
    return claims


def graph(server, method: str, path: str, token: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{server.graph_base_url}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=server.ssl_context(), timeout=10) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture(scope="module")
def admin_token(server):
    app = msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=server.client_secret,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        verify=server.ca_path,
    )
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    return result["access_token"]


@pytest.mark.parametrize("by", ["id", "domain"])
def test_client_credentials_with_secret(server, trust_bundle, by):
    authority = f"{server.base_url}/{server.tenant_id if by == 'id' else server.tenant_domain}"
    request = base_request(server, "client_credentials", server.client_id, authority)
    request.update(clientSecret=server.client_secret, scopes=[GRAPH_SCOPE], repeat=True)
    first, second = run_node(server, trust_bundle, request)["results"]
    assert "error" not in first, first
    assert first["fromCache"] is False
    assert first["tokenType"] == "Bearer"

    claims = verify(server, first["accessToken"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["appid"] == server.client_id
    assert claims["appidacr"] == "1"
    assert claims["idtyp"] == "app"
    assert claims["oid"] == claims["sub"]
    assert GRAPH_ROLES <= set(claims["roles"]), claims["roles"]
    assert "scp" not in claims

    # The token works on Graph.
    status, users = graph(server, "GET", "/users?$filter=startswith(userPrincipalName,'admin@')", first["accessToken"])
    assert status == 200, users
    assert [u["userPrincipalName"] for u in users["value"]] == [f"admin@{server.tenant_domain}"]

    # msal-node's in-memory cache answers the second call with the same token.
    assert "error" not in second, second
    assert second["fromCache"] is True
    assert second["accessToken"] == first["accessToken"]


def test_client_credentials_wrong_secret(server, trust_bundle):
    request = base_request(server, "client_credentials", server.client_id)
    request.update(clientSecret="not-the-secret", scopes=[GRAPH_SCOPE])
    [result] = run_node(server, trust_bundle, request)["results"]
    assert result["error"]["errorCode"] == "invalid_client", result
    assert "AADSTS7000215" in result["error"]["errorMessage"], result


def test_client_credentials_unknown_tenant(server, trust_bundle):
    authority = f"{server.base_url}/nowhere.onmicrosoft.com"
    request = base_request(server, "client_credentials", server.client_id, authority)
    request.update(clientSecret=server.client_secret, scopes=[GRAPH_SCOPE])
    [result] = run_node(server, trust_bundle, request)["results"]
    # The tenant's discovery document is 400 (AADSTS90002): msal-node cannot resolve the
    # authority's endpoints and stops there, before any token request.
    assert result.get("error", {}).get("errorCode") == "endpoints_resolution_error", result
    assert "accessToken" not in result


def test_client_credentials_with_certificate(server, trust_bundle, admin_token):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cerulean-compat-msal-node")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    status, app = graph(server, "POST", "/applications", admin_token, {"displayName": "Compat msal-node certificate"})
    assert status == 201, app
    status, body = graph(
        server,
        "PATCH",
        f"/applications/{app['id']}",
        admin_token,
        {"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode()}]},
    )
    assert status == 204, body
    status, sp = graph(server, "POST", "/servicePrincipals", admin_token, {"appId": app["appId"]})
    assert status == 201, sp

    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    request = base_request(server, "client_credentials", app["appId"])
    request.update(
        scopes=[GRAPH_SCOPE],
        certificate={
            "thumbprintSha256": hashlib.sha256(der).hexdigest(),
            "privateKey": private_pem,
            "x5c": cert.public_bytes(serialization.Encoding.PEM).decode(),
        },
    )
    [result] = run_node(server, trust_bundle, request)["results"]
    assert "error" not in result, result
    claims = verify(server, result["accessToken"])
    assert claims["appid"] == app["appId"]
    assert claims["appidacr"] == "2"  # a certificate, not a secret
    assert claims["oid"] == sp["id"]
    assert "roles" not in claims  # no app role was granted to this app

    # A certificate the app does not hold is refused.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request["certificate"]["privateKey"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    [result] = run_node(server, trust_bundle, request)["results"]
    assert result.get("error", {}).get("errorCode") == "invalid_client", result


@pytest.fixture(scope="module")
def public_client(server, admin_token):
    """A user, and a public client app consented tenant-wide for User.Read on Graph."""
    upn = f"msal-node-user@{server.tenant_domain}"
    status, user = graph(
        server,
        "POST",
        "/users",
        admin_token,
        {
            "accountEnabled": True,
            "displayName": "msal-node User",
            "mailNickname": "msal-node-user",
            "userPrincipalName": upn,
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
        },
    )
    assert status == 201, user
    status, app = graph(
        server, "POST", "/applications", admin_token, {"displayName": "Compat msal-node public", "isFallbackPublicClient": True}
    )
    assert status == 201, app
    status, sp = graph(server, "POST", "/servicePrincipals", admin_token, {"appId": app["appId"]})
    assert status == 201, sp
    status, graph_sp = graph(server, "GET", f"/servicePrincipals(appId='{GRAPH_APP_ID}')", admin_token)
    assert status == 200, graph_sp
    status, grant = graph(
        server,
        "POST",
        "/oauth2PermissionGrants",
        admin_token,
        {"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": "User.Read"},
    )
    assert status == 201, grant
    return {"upn": upn, "user_id": user["id"], "app_id": app["appId"]}


def test_username_password_then_silent_refresh(server, trust_bundle, public_client):
    request = base_request(server, "username_password", public_client["app_id"])
    request.update(
        scopes=["https://graph.microsoft.com/User.Read"],
        username=public_client["upn"],
        password=PASSWORD,
        refresh=True,
    )
    answer = run_node(server, trust_bundle, request)
    first, *silent = answer["results"]
    assert "error" not in first, first
    assert first["idTokenClaims"]["preferred_username"] == public_client["upn"]
    assert first["idTokenClaims"]["oid"] == public_client["user_id"]
    assert first["idTokenClaims"]["aud"] == public_client["app_id"]
    assert first["account"]["homeAccountId"] == f"{public_client['user_id']}.{server.tenant_id}"

    claims = verify(server, first["accessToken"])
    assert claims["idtyp"] == "user"
    assert "User.Read" in claims["scp"].split()
    assert claims["upn"] == public_client["upn"]
    assert claims["oid"] == public_client["user_id"]
    assert claims["appid"] == public_client["app_id"]
    status, me = graph(server, "GET", "/me", first["accessToken"])
    assert status == 200, me
    assert me["id"] == public_client["user_id"]

    # The account is in msal-node's cache; two forced silent refreshes go through the rotated
    # refresh token each time.
    assert answer["accounts"] == [
        {"homeAccountId": f"{public_client['user_id']}.{server.tenant_id}", "username": public_client["upn"]}
    ]
    assert len(silent) == 2, answer
    tokens = {first["accessToken"]}
    for result in silent:
        assert "error" not in result, result
        assert result["fromCache"] is False
        assert verify(server, result["accessToken"])["oid"] == public_client["user_id"]
        tokens.add(result["accessToken"])
    assert len(tokens) == 3


def test_username_password_wrong_password(server, trust_bundle, public_client):
    request = base_request(server, "username_password", public_client["app_id"])
    request.update(
        scopes=["https://graph.microsoft.com/User.Read"], username=public_client["upn"], password="Not-The-Pa55word"
    )
    [result] = run_node(server, trust_bundle, request)["results"]
    assert result["error"]["errorCode"] == "invalid_grant", result
    assert "AADSTS50126" in result["error"]["errorMessage"], result
