"""Smart lockout seen through MSAL Python (unmodified): the password grant against a server
started with `--lockout-threshold 3`. Distinct wrong passwords count, the third locks the
account, and then even the right password gets AADSTS50053 until the lockout ends."""

from __future__ import annotations

import time
from pathlib import Path

import msal

from conftest import GRAPH_SCOPE, Server, free_port
from test_user_tokens import PortKeepingSession


def test_msal_password_grant_hits_the_lockout(workdir: Path, trust_bundle: Path):
    srv = Server(
        data_dir=workdir / "lockout",
        port=free_port(),
        trust_bundle=trust_bundle,
        extra_args=["--lockout-threshold", "3", "--lockout-duration-seconds", "2"],
    ).start()
    try:
        def new_app():
            return msal.ConfidentialClientApplication(
                srv.client_id,
                client_credential=srv.client_secret,
                authority=f"{srv.base_url}/{srv.tenant_id}",
                instance_discovery=False,
                http_client=PortKeepingSession(srv),
            )

        app = new_app()
        upn = srv.bootstrap["adminUserPrincipalName"]
        for wrong in ["Wrong-Pa55-1", "Wrong-Pa55-1", "Wrong-Pa55-2"]:
            r = app.acquire_token_by_username_password(upn, wrong, scopes=[GRAPH_SCOPE])
            assert r.get("error") == "invalid_grant" and r.get("error_codes") == [50126], r
        r = app.acquire_token_by_username_password(upn, "Wrong-Pa55-3", scopes=[GRAPH_SCOPE])
        assert r.get("error_codes") == [50053], r
        assert r["error_description"].startswith("AADSTS50053: The account is locked"), r
        r = app.acquire_token_by_username_password(upn, srv.bootstrap["adminPassword"], scopes=[GRAPH_SCOPE])
        assert r.get("error_codes") == [50053], "locked even with the right password"
        time.sleep(2.2)
        # A new application object: MSAL replays a refused request's answer from its own
        # throttling cache for a while, without asking the server again.
        r = new_app().acquire_token_by_username_password(upn, srv.bootstrap["adminPassword"], scopes=[GRAPH_SCOPE])
        assert "access_token" in r, r
    finally:
        code = srv.stop()
        assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"
