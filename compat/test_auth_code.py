"""Browser sign-in with the unmodified official client: MSAL's authorization code flow with
PKCE (`PublicClientApplication.initiate_auth_code_flow` / `acquire_token_by_auth_code_flow`)
and the device code flow (`initiate_device_flow` / `acquire_token_by_device_flow`). The user
is a script: python `requests` reading the server-rendered pages and posting their forms, as
a browser without JavaScript would."""

from __future__ import annotations

import html
import re
import threading
import urllib.parse

import jwt
import msal
import pytest
import requests

from test_user_tokens import PASSWORD, GRAPH_APP_ID, graph, admin_token  # noqa: F401  (fixture)

REDIRECT_URI = "http://localhost:8765/callback"
SCOPES = ["https://graph.microsoft.com/User.Read"]


def hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden field {name} in {page}"
    return html.unescape(m.group(1))


def form_action(page: str, base_url: str) -> str:
    m = re.search(r'<form method="post" action="([^"]*)"', page)
    assert m, page
    return urllib.parse.urljoin(base_url + "/", html.unescape(m.group(1)))


class User:
    """A person at a browser: a cookie jar, the server's CA, and a password."""

    def __init__(self, server, upn: str):
        self.server = server
        self.upn = upn
        self.http = requests.Session()
        self.http.verify = server.ca_path

    def sign_in(self, page: requests.Response) -> requests.Response:
        assert page.status_code == 200, page.text
        assert "<label for=\"password\">" in page.text
        return self.http.post(
            form_action(page.text, self.server.base_url),
            data={
                "flow": hidden(page.text, "flow"),
                "csrf": hidden(page.text, "csrf"),
                "username": self.upn,
                "password": PASSWORD,
                "action": "signin",
            },
            allow_redirects=False,
            timeout=10,
        )


@pytest.fixture(scope="module")
def browser_app(server, admin_token):  # noqa: F811
    """A user, and a public client app with a native redirect URI, consented tenant-wide."""
    upn = f"browser-user@{server.tenant_domain}"
    status, user = graph(
        server,
        "POST",
        "/users",
        admin_token,
        {
            "accountEnabled": True,
            "displayName": "Browser User",
            "mailNickname": "browser-user",
            "userPrincipalName": upn,
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
        },
    )
    assert status == 201, user
    status, app = graph(
        server,
        "POST",
        "/applications",
        admin_token,
        {
            "displayName": "Compat browser app",
            "isFallbackPublicClient": True,
            "publicClient": {"redirectUris": [REDIRECT_URI]},
        },
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


def msal_app(server, app_id: str) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        app_id,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        verify=server.ca_path,
    )


def test_auth_code_flow_with_pkce(server, browser_app):
    app = msal_app(server, browser_app["app_id"])
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=browser_app["upn"])
    assert "code_challenge=" in flow["auth_uri"] and "code_challenge_method=S256" in flow["auth_uri"]

    user = User(server, browser_app["upn"])
    page = user.http.get(flow["auth_uri"], timeout=10)
    assert "Contoso" in page.text, "the tenant's name is on the sign-in page"
    done = user.sign_in(page)
    assert done.status_code == 302, done.text
    location = done.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    auth_response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert "access_token" in result, result
    assert result["id_token_claims"]["oid"] == browser_app["user_id"]
    assert result["id_token_claims"]["preferred_username"] == browser_app["upn"]
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["idtyp"] == "user" and "User.Read" in claims["scp"].split()
    status, me = graph(server, "GET", "/me", result["access_token"])
    assert status == 200 and me["id"] == browser_app["user_id"], me

    # MSAL knows the account and refreshes silently with the refresh token it was given.
    accounts = app.get_accounts(username=browser_app["upn"])
    assert len(accounts) == 1, accounts
    silent = app.acquire_token_silent(SCOPES, account=accounts[0], force_refresh=True)
    assert silent and "access_token" in silent, silent

    # The SSO session: a second flow needs no password.
    flow2 = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    again = user.http.get(flow2["auth_uri"], allow_redirects=False, timeout=10)
    assert again.status_code == 302, again.text
    response2 = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(again.headers["Location"]).query))
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow2, response2)


def test_auth_code_replay_and_wrong_redirect_are_refused(server, browser_app):
    app = msal_app(server, browser_app["app_id"])
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    user = User(server, browser_app["upn"])
    done = user.sign_in(user.http.get(flow["auth_uri"], timeout=10))
    auth_response = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(done.headers["Location"]).query))
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), auth_response)
    replay = app.acquire_token_by_auth_code_flow(dict(flow), auth_response)
    assert replay.get("error") == "invalid_grant" and 54005 in replay.get("error_codes", []), replay

    bad = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://localhost:9999/elsewhere")
    page = user.http.get(bad["auth_uri"], allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "AADSTS50011" in page.text


def test_device_code_flow(server, browser_app):
    app = msal_app(server, browser_app["app_id"])
    flow = app.initiate_device_flow(scopes=SCOPES)
    assert "user_code" in flow, flow
    assert flow["verification_uri"].startswith(server.base_url)

    outcome: dict = {}
    poller = threading.Thread(target=lambda: outcome.update(app.acquire_token_by_device_flow(flow)), daemon=True)
    poller.start()

    user = User(server, browser_app["upn"])
    entry = user.http.get(flow["verification_uri"], timeout=10)
    assert entry.status_code == 200 and '<label for="otc">' in entry.text, entry.text
    page = user.http.post(
        form_action(entry.text, server.base_url),
        data={"csrf": hidden(entry.text, "csrf"), "otc": flow["user_code"]},
        timeout=10,
    )
    done = user.sign_in(page)
    assert done.status_code == 200 and "signed in" in done.text, done.text

    poller.join(timeout=60)
    assert not poller.is_alive(), "MSAL kept polling after the user signed in"
    assert "access_token" in outcome, outcome
    assert outcome["id_token_claims"]["oid"] == browser_app["user_id"]
