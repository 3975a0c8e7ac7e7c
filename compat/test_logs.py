"""The audit and sign-in logs through the unmodified Microsoft Graph Python SDK:
`client.audit_logs.directory_audits.get()` and `client.audit_logs.sign_ins.get()` parse
Cerulean's `directoryAudit` and `signIn` shapes (enums, nested identities, modified
properties, statuses), with `$filter` and `$top`."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import httpx
import pytest
import requests
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)
from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
from msgraph.generated.models.operation_result import OperationResult
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User
from msgraph_core import GraphClientFactory

from conftest import GRAPH_SCOPE, Server, free_port

PASSWORD = "Cerulean!Passw0rd-2024"


@pytest.fixture(scope="module")
def graph(server, event_loop_runner):
    credential = ClientSecretCredential(
        server.tenant_id,
        server.client_id,
        server.client_secret,
        authority=server.base_url,
        disable_instance_discovery=True,
        connection_verify=server.ca_path,
    )
    auth_provider = AzureIdentityAuthenticationProvider(
        credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"]
    )
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=server.ca_path))
    )
    adapter = GraphRequestAdapter(auth_provider, client=http_client)
    adapter.base_url = f"{server.base_url}/v1.0"
    yield GraphServiceClient(request_adapter=adapter)
    event_loop_runner(http_client.aclose())
    credential.close()


def ropc(server, password: str, correlation: str) -> requests.Response:
    """A password-grant request of the bootstrap admin through the bootstrap app."""
    return requests.post(
        f"{server.base_url}/{server.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": server.client_id,
            "client_secret": server.client_secret,
            "username": server.bootstrap["adminUserPrincipalName"],
            "password": password,
            "scope": GRAPH_SCOPE,
        },
        headers={"client-request-id": correlation},
        verify=server.ca_path,
        timeout=10,
    )


def test_directory_audits_through_the_sdk(graph, server, event_loop_runner):
    nickname = f"log{uuid.uuid4().hex[:8]}"
    user = User(
        account_enabled=True,
        display_name=f"Logged {nickname}",
        mail_nickname=nickname,
        user_principal_name=f"{nickname}@{server.tenant_domain}",
        password_profile=PasswordProfile(force_change_password_next_sign_in=False, password=PASSWORD),
    )
    created = event_loop_runner(graph.users.post(user))
    assert created and created.id

    params = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
        filter=f"targetResources/any(t: t/id eq '{created.id}')", top=10
    )
    page = event_loop_runner(
        graph.audit_logs.directory_audits.get(RequestConfiguration(query_parameters=params))
    )
    assert page is not None and len(page.value) == 1
    audit = page.value[0]
    assert audit.activity_display_name == "Add user"
    assert audit.category == "UserManagement"
    assert audit.result == OperationResult.Success
    assert audit.logged_by_service == "Core Directory"
    assert audit.activity_date_time is not None
    assert audit.initiated_by.app.app_id == server.client_id
    target = audit.target_resources[0]
    assert target.id == created.id and target.type == "User"
    names = {p.display_name: p for p in target.modified_properties}
    assert names["displayName"].new_value == f'["Logged {nickname}"]'
    assert PASSWORD not in str([(p.old_value, p.new_value) for p in target.modified_properties])

    # The unfiltered list and one entry by id parse too.
    everything = event_loop_runner(graph.audit_logs.directory_audits.get())
    assert any(a.id == audit.id for a in everything.value)
    one = event_loop_runner(graph.audit_logs.directory_audits.by_directory_audit_id(audit.id).get())
    assert one.id == audit.id


def test_sign_ins_through_the_sdk(graph, server, event_loop_runner):
    run = uuid.uuid4().hex[:8]
    bad = ropc(server, "Not-The-Password-1!", f"bad-{run}")
    assert bad.status_code == 400
    code = bad.json()["error_codes"][0]
    good = ropc(server, server.bootstrap["adminPassword"], f"good-{run}")
    assert good.status_code == 200, good.text

    upn = server.bootstrap["adminUserPrincipalName"]
    params = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(
        filter=f"userPrincipalName eq '{upn}' and createdDateTime ge 2000-01-01T00:00:00Z", top=50
    )
    page = event_loop_runner(graph.audit_logs.sign_ins.get(RequestConfiguration(query_parameters=params)))
    assert page is not None
    mine = {s.correlation_id: s for s in page.value if s.correlation_id in (f"bad-{run}", f"good-{run}")}
    assert set(mine) == {f"bad-{run}", f"good-{run}"}
    assert mine[f"good-{run}"].status.error_code == 0
    assert mine[f"bad-{run}"].status.error_code == code
    assert mine[f"bad-{run}"].status.failure_reason
    s = mine[f"good-{run}"]
    assert s.app_id == server.client_id
    assert s.is_interactive is True
    assert s.ip_address == "127.0.0.1"
    assert s.resource_display_name == "Microsoft Graph"
    assert s.conditional_access_status is not None
    assert s.risk_level_during_sign_in is not None and s.risk_state is not None
    assert s.device_detail is not None and s.location is not None
    one = event_loop_runner(graph.audit_logs.sign_ins.by_sign_in_id(s.id).get())
    assert one.id == s.id

    unfiltered = event_loop_runner(graph.audit_logs.sign_ins.get())
    assert any(x.id == s.id for x in unfiltered.value)


def test_trusted_proxy_names_the_client(workdir: Path, trust_bundle: Path):
    """Through a real socket: `X-Forwarded-For` counts only from a `--trusted-proxy` peer. This
    server trusts loopback (the test client), the shared one trusts nobody."""
    srv = Server(
        data_dir=workdir / "proxied",
        port=free_port(),
        trust_bundle=trust_bundle,
        extra_args=["--trusted-proxy", "127.0.0.0/8"],
    ).start()
    try:
        run = uuid.uuid4().hex[:8]
        r = requests.post(
            f"{srv.base_url}/{srv.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": srv.client_id,
                "client_secret": srv.client_secret,
                "username": srv.bootstrap["adminUserPrincipalName"],
                "password": srv.bootstrap["adminPassword"],
                "scope": GRAPH_SCOPE,
            },
            headers={"client-request-id": f"xff-{run}", "X-Forwarded-For": "198.51.100.23"},
            verify=srv.ca_path,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        logs = requests.get(
            f"{srv.base_url}/v1.0/auditLogs/signIns",
            params={"$filter": f"correlationId eq 'xff-{run}'"},
            headers={"Authorization": f"Bearer {token}"},
            verify=srv.ca_path,
            timeout=10,
        )
        assert logs.status_code == 200, logs.text
        assert [s["ipAddress"] for s in logs.json()["value"]] == ["198.51.100.23"]
    finally:
        code = srv.stop()
        assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"
