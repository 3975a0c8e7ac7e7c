"""User sign-in with the unmodified official clients: MSAL's username/password flow
(`PublicClientApplication.acquire_token_by_username_password`), `acquire_token_silent`
refreshing through a rotated refresh token, and azure-identity's `CertificateCredential`
with a certificate registered on an app through Graph."""

from __future__ import annotations

import base64
import datetime
import json
import urllib.error
import urllib.request

import jwt
import msal
import pytest
import requests
from azure.identity import CertificateCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import GRAPH_SCOPE

PASSWORD = "xWwvJ]6NMw+bWH-d"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


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


class PortKeepingSession(requests.Session):
    """MSAL builds its home-realm-discovery URL (`/common/userrealm/...`) from the authority's
    host name without its port; a real tenant's authority is on 443, this test server is not.
    MSAL's public `http_client` option takes this session, which puts the port back."""

    def __init__(self, server):
        super().__init__()
        self.verify = server.ca_path
        self._host = "https://127.0.0.1/"
        self._base = server.base_url + "/"

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(self._host):
            url = self._base + url[len(self._host):]
        return super().request(method, url, *args, **kwargs)


def public_app(server, app_id: str):
    return msal.PublicClientApplication(
        app_id,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        http_client=PortKeepingSession(server),
    )


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


@pytest.fixture(scope="module")
def public_client(server, admin_token):
    """A user, and a public client app consented tenant-wide for User.Read on Graph."""
    upn = f"compat-user@{server.tenant_domain}"
    status, user = graph(
        server,
        "POST",
        "/users",
        admin_token,
        {
            "accountEnabled": True,
            "displayName": "Compat User",
            "mailNickname": "compat-user",
            "userPrincipalName": upn,
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
        },
    )
    assert status == 201, user
    status, app = graph(
        server, "POST", "/applications", admin_token, {"displayName": "Compat public", "isFallbackPublicClient": True}
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


def test_username_password_then_silent_refresh(server, public_client):
    app = public_app(server, public_client["app_id"])
    scopes = ["https://graph.microsoft.com/User.Read"]
    result = app.acquire_token_by_username_password(public_client["upn"], PASSWORD, scopes=scopes)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == public_client["upn"]
    assert result["id_token_claims"]["oid"] == public_client["user_id"]
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["idtyp"] == "user" and "User.Read" in claims["scp"].split()
    assert claims["upn"] == public_client["upn"]

    status, me = graph(server, "GET", "/me", result["access_token"])
    assert status == 200, me
    assert me["id"] == public_client["user_id"]

    # MSAL knows the account (from client_info) and refreshes silently with the refresh token.
    accounts = app.get_accounts(username=public_client["upn"])
    assert len(accounts) == 1, accounts
    assert accounts[0]["home_account_id"] == f"{public_client['user_id']}.{server.tenant_id}"
    silent = app.acquire_token_silent(scopes, account=accounts[0], force_refresh=True)
    assert silent and "access_token" in silent, silent
    assert silent["access_token"] != result["access_token"]
    status, me = graph(server, "GET", "/me", silent["access_token"])
    assert status == 200, me
    # Twice: the rotated refresh token MSAL stored is the live one.
    again = app.acquire_token_silent(scopes, account=accounts[0], force_refresh=True)
    assert again and "access_token" in again, again


def test_wrong_password_is_refused(server, public_client):
    app = public_app(server, public_client["app_id"])
    result = app.acquire_token_by_username_password(
        public_client["upn"], "Not-The-Pa55word", scopes=["https://graph.microsoft.com/User.Read"]
    )
    assert result.get("error") == "invalid_grant", result
    assert 50126 in result.get("error_codes", []), result


def test_certificate_credential(server, admin_token, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cerulean-compat")])
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
    status, app = graph(server, "POST", "/applications", admin_token, {"displayName": "Compat certificate"})
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

    pem = tmp_path / "cert.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    credential = CertificateCredential(
        server.tenant_id,
        app["appId"],
        certificate_path=str(pem),
        authority=server.base_url,
        disable_instance_discovery=True,
        connection_verify=server.ca_path,
    )
    token = credential.get_token(GRAPH_SCOPE)
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["appid"] == app["appId"]
    assert claims["appidacr"] == "2"
    assert claims["idtyp"] == "app"
