"""A second start on the same data directory reuses the tenant and its signing key."""

from __future__ import annotations

import json
import urllib.request

import jwt
import msal

from conftest import GRAPH_SCOPE


def _token(srv) -> str:
    app = msal.ConfidentialClientApplication(
        srv.client_id,
        client_credential=srv.client_secret,
        authority=f"{srv.base_url}/{srv.tenant_id}",
        instance_discovery=False,
        verify=srv.ca_path,
    )
    result = app.acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    return result["access_token"]


def _kids(srv) -> set[str]:
    config = srv.get_json(f"{srv.base_url}/{srv.tenant_id}/v2.0/.well-known/openid-configuration")
    return {k["kid"] for k in srv.get_json(config["jwks_uri"])["keys"]}


def _get_users(srv, token: str) -> dict:
    req = urllib.request.Request(
        f"{srv.base_url}/v1.0/users", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, context=srv.ssl_context(), timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def test_second_start_reuses_tenant(make_server, workdir):
    data_dir = workdir / "restart-data"

    first = make_server(data_dir).start()
    try:
        token1 = _token(first)
        kids1 = _kids(first)
        boot1 = dict(first.bootstrap)
        users1 = {u["id"] for u in _get_users(first, token1)["value"]}
    finally:
        assert first.stop() == 0, first.log_tail()

    second = make_server(data_dir, port=first.port).start()
    try:
        boot2 = second.bootstrap
        assert boot2["tenantId"] == boot1["tenantId"]
        assert boot2["clientId"] == boot1["clientId"]
        kids2 = _kids(second)
        assert kids2 == kids1

        # The credentials from the first start still work and sign with the same key.
        second.bootstrap = dict(boot1)
        token2 = _token(second)
        assert jwt.get_unverified_header(token2)["kid"] == jwt.get_unverified_header(token1)["kid"]
        assert jwt.decode(token2, options={"verify_signature": False})["tid"] == boot1["tenantId"]

        # A token minted before the restart is still accepted, and the directory persisted.
        users2 = {u["id"] for u in _get_users(second, token1)["value"]}
        assert users1 <= users2
    finally:
        assert second.stop() == 0, second.log_tail()
