"""The on-behalf-of flow with unmodified MSAL: a user signs in to a front end for a web API
(`PublicClientApplication`), and the web API exchanges that token for a Microsoft Graph
token for the same user (`ConfidentialClientApplication.acquire_token_on_behalf_of`)."""

from __future__ import annotations

import jwt
import msal
import pytest

from conftest import GRAPH_SCOPE
from test_user_tokens import PASSWORD, graph, public_app

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ACCESS_AS_USER = "0f3f5b0a-8a6e-4a0e-9a4a-7c3e2b1d0c9f"


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


def grant(server, token, client_sp, resource_sp, scope):
    status, body = graph(
        server,
        "POST",
        "/oauth2PermissionGrants",
        token,
        {"clientId": client_sp, "consentType": "AllPrincipals", "resourceId": resource_sp, "scope": scope},
    )
    assert status == 201, body


@pytest.fixture(scope="module")
def obo_setup(server, admin_token):
    upn = f"obo-user@{server.tenant_domain}"
    status, user = graph(
        server,
        "POST",
        "/users",
        admin_token,
        {
            "accountEnabled": True,
            "displayName": "OBO User",
            "mailNickname": "obo-user",
            "userPrincipalName": upn,
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
        },
    )
    assert status == 201, user
    # The web API: api://{appId}, one delegated scope, a secret, v2 tokens.
    status, api = graph(server, "POST", "/applications", admin_token, {"displayName": "OBO API"})
    assert status == 201, api
    status, body = graph(
        server,
        "PATCH",
        f"/applications/{api['id']}",
        admin_token,
        {
            "identifierUris": [f"api://{api['appId']}"],
            "api": {
                "requestedAccessTokenVersion": 2,
                "oauth2PermissionScopes": [
                    {
                        "id": ACCESS_AS_USER,
                        "value": "access_as_user",
                        "type": "User",
                        "isEnabled": True,
                        "adminConsentDisplayName": "Access the API",
                        "adminConsentDescription": "Access the API as the signed-in user.",
                    }
                ],
            },
        },
    )
    assert status == 204, body
    status, secret = graph(server, "POST", f"/applications/{api['id']}/addPassword", admin_token, {})
    assert status == 200, secret
    status, api_sp = graph(server, "POST", "/servicePrincipals", admin_token, {"appId": api["appId"]})
    assert status == 201, api_sp
    # The front end: a public client consented to the API.
    status, front = graph(
        server, "POST", "/applications", admin_token, {"displayName": "OBO front end", "isFallbackPublicClient": True}
    )
    assert status == 201, front
    status, front_sp = graph(server, "POST", "/servicePrincipals", admin_token, {"appId": front["appId"]})
    assert status == 201, front_sp
    grant(server, admin_token, front_sp["id"], api_sp["id"], "access_as_user")
    status, graph_sp = graph(server, "GET", f"/servicePrincipals(appId='{GRAPH_APP_ID}')", admin_token)
    assert status == 200, graph_sp
    # The API's own consent to call Graph as the user.
    grant(server, admin_token, api_sp["id"], graph_sp["id"], "User.Read")
    return {
        "upn": upn,
        "user_id": user["id"],
        "front_id": front["appId"],
        "api_id": api["appId"],
        "api_secret": secret["secretText"],
    }


def api_app(server, setup):
    return msal.ConfidentialClientApplication(
        setup["api_id"],
        client_credential=setup["api_secret"],
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        verify=server.ca_path,
    )


def test_acquire_token_on_behalf_of(server, obo_setup):
    front = public_app(server, obo_setup["front_id"])
    signed_in = front.acquire_token_by_username_password(
        obo_setup["upn"], PASSWORD, scopes=[f"api://{obo_setup['api_id']}/access_as_user"]
    )
    assert "access_token" in signed_in, signed_in
    user_token = signed_in["access_token"]
    claims = jwt.decode(user_token, options={"verify_signature": False})
    assert claims["aud"] == obo_setup["api_id"] and claims["ver"] == "2.0", claims

    result = api_app(server, obo_setup).acquire_token_on_behalf_of(
        user_token, scopes=["https://graph.microsoft.com/User.Read"]
    )
    assert "access_token" in result, result
    downstream = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert downstream["appid"] == obo_setup["api_id"]
    assert downstream["oid"] == obo_setup["user_id"]
    status, me = graph(server, "GET", "/me", result["access_token"])
    assert status == 200, me
    assert me["userPrincipalName"] == obo_setup["upn"]


def test_on_behalf_of_refuses_assertions_not_meant_for_the_api(server, obo_setup):
    front = public_app(server, obo_setup["front_id"])
    signed_in = front.acquire_token_by_username_password(
        obo_setup["upn"], PASSWORD, scopes=[f"api://{obo_setup['api_id']}/access_as_user"]
    )
    api = api_app(server, obo_setup)
    downstream = api.acquire_token_on_behalf_of(
        signed_in["access_token"], scopes=["https://graph.microsoft.com/User.Read"]
    )
    assert "access_token" in downstream, downstream
    # A Graph token is not an assertion for the API: AADSTS500131.
    result = api.acquire_token_on_behalf_of(
        downstream["access_token"], scopes=["https://graph.microsoft.com/User.Read"]
    )
    assert result.get("error") == "invalid_grant", result
    assert 500131 in result.get("error_codes", []), result
    result = api.acquire_token_on_behalf_of("not-a-jwt", scopes=["https://graph.microsoft.com/User.Read"])
    assert result.get("error") == "invalid_grant", result
    assert 50027 in result.get("error_codes", []), result
