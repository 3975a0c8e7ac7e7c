"""MSAL Python (unmodified) against Cerulean's token service."""

from __future__ import annotations

import jwt
import msal
import pytest

from conftest import GRAPH_SCOPE

GRAPH_ROLES = {"Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All"}


def confidential_app(server, authority: str, secret: str | None = None):
    return msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=secret if secret is not None else server.client_secret,
        authority=authority,
        instance_discovery=False,
        verify=server.ca_path,
    )


def jwks(server, authority: str) -> dict:
    config = server.get_json(f"{authority}/v2.0/.well-known/openid-configuration")
    return server.get_json(config["jwks_uri"])


@pytest.fixture(scope="module")
def authority_by_id(server):
    return f"{server.base_url}/{server.tenant_id}"


@pytest.fixture(scope="module")
def authority_by_domain(server):
    return f"{server.base_url}/{server.tenant_domain}"


def test_bootstrap_authority_matches(server, authority_by_id):
    assert server.bootstrap["authority"] == authority_by_id
    assert server.tenant_domain == "contoso.onmicrosoft.com"
    assert server.graph_base_url == f"{server.base_url}/v1.0"


def test_discovery_document(server, authority_by_id):
    config = server.get_json(f"{authority_by_id}/v2.0/.well-known/openid-configuration")
    assert config["token_endpoint"] == f"{authority_by_id}/oauth2/v2.0/token"
    assert config["issuer"].startswith(server.base_url)
    assert server.tenant_id in config["issuer"]
    assert config["jwks_uri"].startswith(server.base_url)


@pytest.mark.parametrize("authority_fixture", ["authority_by_id", "authority_by_domain"])
def test_acquire_token_for_client(server, request, authority_fixture):
    authority = request.getfixturevalue(authority_fixture)
    app = confidential_app(server, authority)
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    assert result["token_type"].lower() == "bearer"
    assert int(result["expires_in"]) > 300

    token = result["access_token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert header.get("kid")
    assert claims["aud"] in ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
    assert claims["tid"] == server.tenant_id
    assert claims["idtyp"] == "app"
    assert GRAPH_ROLES <= set(claims["roles"]), claims["roles"]
    assert claims.get("appid", claims.get("azp")) == server.client_id
    assert claims["oid"] == claims["sub"]
    assert claims["exp"] > claims["iat"]

    # The signing key is published in the tenant's JWKS; verify the signature with it.
    keys = jwks(server, authority)["keys"]
    kids = [k["kid"] for k in keys]
    assert header["kid"] in kids, (header["kid"], kids)
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    key = jwt.PyJWK(jwk, algorithm="RS256").key
    verified = jwt.decode(
        token,
        key=key,
        algorithms=["RS256"],
        audience=claims["aud"],
        issuer=claims["iss"],
        leeway=60,
    )
    assert verified["tid"] == server.tenant_id

    # A second call is served from MSAL's in-memory token cache.
    again = app.acquire_token_for_client([GRAPH_SCOPE])
    assert again.get("access_token") == token
    assert again.get("token_source") == "cache"


def test_token_by_domain_and_by_id_agree(server, authority_by_id, authority_by_domain):
    a = confidential_app(server, authority_by_id).acquire_token_for_client([GRAPH_SCOPE])
    b = confidential_app(server, authority_by_domain).acquire_token_for_client([GRAPH_SCOPE])
    ca = jwt.decode(a["access_token"], options={"verify_signature": False})
    cb = jwt.decode(b["access_token"], options={"verify_signature": False})
    assert ca["tid"] == cb["tid"] == server.tenant_id
    assert ca["oid"] == cb["oid"]


def test_wrong_secret_is_rejected(server, authority_by_id):
    app = confidential_app(server, authority_by_id, secret="not-the-secret")
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" not in result, result
    assert result.get("error") == "invalid_client", result
    assert 7000215 in result.get("error_codes", []), result
    assert "AADSTS7000215" in result.get("error_description", ""), result


def test_unknown_client_is_rejected(server, authority_by_id):
    app = msal.ConfidentialClientApplication(
        "00000000-1111-2222-3333-444444444444",
        client_credential="whatever",
        authority=authority_by_id,
        instance_discovery=False,
        verify=server.ca_path,
    )
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" not in result, result
    # Entra answers AADSTS700016 (application not found in the directory).
    assert result.get("error") in ("unauthorized_client", "invalid_client"), result
    assert 700016 in result.get("error_codes", []), result
