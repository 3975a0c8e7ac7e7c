"""Identity Protection through the unmodified `msgraph-sdk`: a sign-in from an anonymizer's
address (given by a trusted proxy) becomes a risk detection, a risky user and a risky sign-in
log row, which the SDK lists, reads, follows into history, dismisses and confirms compromised."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import httpx
import requests
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
from msgraph.generated.identity_protection.risk_detections.risk_detections_request_builder import (
    RiskDetectionsRequestBuilder,
)
from msgraph.generated.identity_protection.risky_users.confirm_compromised.confirm_compromised_post_request_body import (
    ConfirmCompromisedPostRequestBody,
)
from msgraph.generated.identity_protection.risky_users.dismiss.dismiss_post_request_body import (
    DismissPostRequestBody,
)
from msgraph.generated.models.risk_level import RiskLevel
from msgraph.generated.models.risk_state import RiskState
from msgraph_core import GraphClientFactory

from conftest import GRAPH_SCOPE, Server, free_port


def test_risk_detections_and_risky_users_through_the_sdk(workdir: Path, trust_bundle: Path, event_loop_runner):
    anonymizers = workdir / "anonymizers.txt"
    anonymizers.write_text("192.0.2.0/24\n")
    srv = Server(
        data_dir=workdir / "risk",
        port=free_port(),
        trust_bundle=trust_bundle,
        extra_args=["--trusted-proxy", "127.0.0.0/8", "--anonymizer-ips", str(anonymizers)],
    ).start()
    http_client = None
    credential = None
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
            headers={"client-request-id": f"tor-{run}", "X-Forwarded-For": "192.0.2.44"},
            verify=srv.ca_path,
            timeout=10,
        )
        assert r.status_code == 200, r.text

        credential = ClientSecretCredential(
            srv.tenant_id,
            srv.client_id,
            srv.client_secret,
            authority=srv.base_url,
            disable_instance_discovery=True,
            connection_verify=srv.ca_path,
        )
        auth_provider = AzureIdentityAuthenticationProvider(
            credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"]
        )
        http_client = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=srv.ca_path))
        )
        adapter = GraphRequestAdapter(auth_provider, client=http_client)
        adapter.base_url = f"{srv.base_url}/v1.0"
        graph = GraphServiceClient(request_adapter=adapter)

        params = RiskDetectionsRequestBuilder.RiskDetectionsRequestBuilderGetQueryParameters(
            filter="riskEventType eq 'anonymizedIPAddress'", top=10
        )
        page = event_loop_runner(
            graph.identity_protection.risk_detections.get(RequestConfiguration(query_parameters=params))
        )
        assert page is not None and len(page.value) == 1
        d = page.value[0]
        assert d.correlation_id == f"tor-{run}"
        assert d.ip_address == "192.0.2.44"
        assert d.risk_level == RiskLevel.Medium
        assert d.risk_state == RiskState.AtRisk
        assert d.user_principal_name == srv.bootstrap["adminUserPrincipalName"]
        assert d.detected_date_time is not None and d.additional_info
        one = event_loop_runner(graph.identity_protection.risk_detections.by_risk_detection_id(d.id).get())
        assert one.id == d.id

        users = event_loop_runner(graph.identity_protection.risky_users.get())
        assert [u.id for u in users.value] == [d.user_id]
        u = event_loop_runner(graph.identity_protection.risky_users.by_risky_user_id(d.user_id).get())
        assert u.risk_state == RiskState.AtRisk and u.risk_level == RiskLevel.Medium
        assert u.risk_last_updated_date_time is not None and u.is_deleted is False

        body = DismissPostRequestBody(user_ids=[d.user_id])
        event_loop_runner(graph.identity_protection.risky_users.dismiss.post(body))
        u = event_loop_runner(graph.identity_protection.risky_users.by_risky_user_id(d.user_id).get())
        assert u.risk_state == RiskState.Dismissed and u.risk_level == RiskLevel.None_

        history = event_loop_runner(
            graph.identity_protection.risky_users.by_risky_user_id(d.user_id).history.get()
        )
        assert [h.risk_state for h in history.value] == [RiskState.Dismissed, RiskState.AtRisk]
        assert history.value[0].activity.risk_event_types == []

        # The sign-in log row of the risky sign-in, linked to its detection.
        params = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(filter=f"correlationId eq 'tor-{run}'")
        rows = event_loop_runner(graph.audit_logs.sign_ins.get(RequestConfiguration(query_parameters=params)))
        assert rows is not None and len(rows.value) == 1
        s = rows.value[0]
        assert s.id == d.request_id and s.ip_address == "192.0.2.44"
        assert s.risk_level_during_sign_in == RiskLevel.Medium
        assert s.risk_event_types_v2 == ["anonymizedIPAddress"]

        # Confirmed compromised: high, with the administrator's own detection.
        body = ConfirmCompromisedPostRequestBody(user_ids=[d.user_id])
        event_loop_runner(graph.identity_protection.risky_users.confirm_compromised.post(body))
        u = event_loop_runner(graph.identity_protection.risky_users.by_risky_user_id(d.user_id).get())
        assert u.risk_state == RiskState.ConfirmedCompromised and u.risk_level == RiskLevel.High
        params = RiskDetectionsRequestBuilder.RiskDetectionsRequestBuilderGetQueryParameters(
            filter="riskEventType eq 'adminConfirmedUserCompromised'"
        )
        page = event_loop_runner(
            graph.identity_protection.risk_detections.get(RequestConfiguration(query_parameters=params))
        )
        assert [x.user_id for x in page.value] == [d.user_id]
        assert page.value[0].risk_state == RiskState.ConfirmedCompromised
    finally:
        if http_client is not None:
            event_loop_runner(http_client.aclose())
        if credential is not None:
            credential.close()
        code = srv.stop()
        assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"
