"""MSAL Python (unmodified) with instance discovery ON (`validate_authority` at its default).

What msal 1.39 does, read from its source (`msal/authority.py`, `msal/application.py`):

- With the default `instance_discovery=None` (or `True`), an authority whose host is not one
  of Microsoft's (`WELL_KNOWN_AUTHORITY_HOSTS`) is validated by asking
  `https://login.microsoftonline.com/common/discovery/instance` (`_get_instance_discovery_endpoint`
  maps every unknown host to `login.microsoftonline.com`). MSAL never asks the authority's own
  host, so no server can serve that discovery for itself: Microsoft answers `invalid_instance`
  for a host it does not know, and without a route to Microsoft the construction fails with a
  connection error. Cerulean cannot change this; the test below shows the request MSAL makes.
- `instance_discovery` also takes a URL (`Authority._initialize_entra_authority`: anything but
  None/True/False is used as the instance-discovery endpoint). With Cerulean's
  `/common/discovery/instance` there, discovery stays on and is served by Cerulean: MSAL
  validates the authority against it, takes `tenant_discovery_endpoint` from its answer, and
  gets tokens (client credentials, password, refresh) without talking to Microsoft.
  MSAL sends the authorization endpoint without the port (it keeps only the host name), which
  Cerulean accepts as its own host.
- One path still ignores that URL: `ClientApplication._get_instance_metadata`, the authority
  alias lookup, always asks `login.microsoftonline.com` (api-version 1.1). MSAL calls it when a
  cache lookup finds nothing for the authority's host, e.g. `get_accounts()` on an empty
  cache; offline that call raises. With a token cache holding the account it is not reached.

The HTTP session given to MSAL (its public `http_client` option) records every request and
refuses any host but the test server, so this suite never talks to Microsoft; it also puts the
port back on MSAL's port-less home-realm-discovery URL (see `PortKeepingSession`).
"""

from __future__ import annotations

from urllib.parse import urlparse

import msal
import pytest
import requests

from conftest import GRAPH_SCOPE
from test_user_tokens import PortKeepingSession

MICROSOFT_DISCOVERY = "https://login.microsoftonline.com/common/discovery/instance"


class RecordingSession(PortKeepingSession):
    """Records what MSAL asks for; only the test server is reachable."""

    def __init__(self, server):
        super().__init__(server)
        self.requests: list[tuple[str, str, dict | None]] = []
        self._allowed = server.base_url + "/"

    def request(self, method, url, *args, **kwargs):
        self.requests.append((method, url, kwargs.get("params")))
        if isinstance(url, str) and url.startswith(self._host):
            url = self._base + url[len(self._host):]
        if not (isinstance(url, str) and url.startswith(self._allowed)):
            raise requests.ConnectionError(f"the compat suite does not leave the test server: {url}")
        return super().request(method, url, *args, **kwargs)

    def urls(self) -> list[str]:
        return [u for _, u, _ in self.requests]


def discovery_url(server) -> str:
    return f"{server.base_url}/common/discovery/instance"


def authority(server) -> str:
    return f"{server.base_url}/{server.tenant_id}"


@pytest.mark.parametrize("setting", [{}, {"instance_discovery": True}])
def test_default_instance_discovery_asks_microsoft_for_any_other_host(server, setting):
    session = RecordingSession(server)
    with pytest.raises((requests.ConnectionError, ValueError)):
        msal.ConfidentialClientApplication(
            server.client_id,
            client_credential=server.client_secret,
            authority=authority(server),
            http_client=session,
            **setting,
        )
    method, url, params = session.requests[0]
    assert (method, url) == ("GET", MICROSOFT_DISCOVERY), session.requests
    # The authorize endpoint MSAL asks about: the authority's host name, without the port.
    assert params["authorization_endpoint"] == f"https://127.0.0.1/{server.tenant_id}/oauth2/v2.0/authorize"
    assert not any(u.startswith(server.base_url) for u in session.urls()), "MSAL never asked Cerulean"


def test_instance_discovery_served_by_cerulean_gets_tokens(server):
    session = RecordingSession(server)
    app = msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=server.client_secret,
        authority=authority(server),
        instance_discovery=discovery_url(server),
        http_client=session,
    )
    # Validated against Cerulean's instance discovery, then its OpenID configuration.
    method, url, params = session.requests[0]
    assert (method, url) == ("GET", discovery_url(server)), session.requests
    assert params["authorization_endpoint"] == f"https://127.0.0.1/{server.tenant_id}/oauth2/v2.0/authorize"
    assert session.urls()[1] == f"{authority(server)}/v2.0/.well-known/openid-configuration", session.urls()
    assert app.authority.token_endpoint == f"{authority(server)}/oauth2/v2.0/token"

    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result

    upn = server.bootstrap["adminUserPrincipalName"]
    user = app.acquire_token_by_username_password(
        upn, server.bootstrap["adminPassword"], scopes=["https://graph.microsoft.com/User.Read"]
    )
    assert "access_token" in user, user
    accounts = app.get_accounts(username=upn)
    assert len(accounts) == 1, accounts
    refreshed = app.acquire_token_silent(
        ["https://graph.microsoft.com/User.Read"], account=accounts[0], force_refresh=True
    )
    assert refreshed and "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != user["access_token"]
    hosts = {urlparse(u).hostname for u in session.urls()}
    assert hosts == {"127.0.0.1"}, session.urls()


def test_an_authority_on_another_host_is_an_unknown_instance(server):
    # The same server under another name: Cerulean's discovery knows only its public URL's host.
    session = RecordingSession(server)
    with pytest.raises(ValueError, match="invalid_instance"):
        msal.ConfidentialClientApplication(
            server.client_id,
            client_credential=server.client_secret,
            authority=f"https://localhost:{server.port}/{server.tenant_id}",
            instance_discovery=discovery_url(server),
            http_client=session,
        )
    assert session.urls() == [discovery_url(server)], session.urls()


def test_the_alias_lookup_ignores_the_discovery_url(server):
    # MSAL's authority-alias lookup (`_get_instance_metadata`) always asks Microsoft: an empty
    # cache makes `get_accounts()` reach it.
    session = RecordingSession(server)
    app = msal.PublicClientApplication(
        server.client_id,
        authority=authority(server),
        instance_discovery=discovery_url(server),
        http_client=session,
    )
    with pytest.raises(requests.ConnectionError, match="login.microsoftonline.com"):
        app.get_accounts()
    assert session.urls()[-1] == MICROSOFT_DISCOVERY, session.urls()
