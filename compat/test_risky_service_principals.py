"""Identity Protection for workload identities through the unmodified `msgraph-sdk`: a
client-credentials sign-in from a malicious address (given by a trusted proxy) becomes a
service principal risk detection and a risky service principal, which the SDK lists, reads,
follows into history, dismisses and confirms compromised."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import httpx
import requests
from azure.identity import ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.identity_protection.risky_service_principals.confirm_compromised.confirm_compromised_post_request_body import (
    ConfirmCompromisedPostRequestBody,
)
from msgraph.generated.identity_protection.risky_service_principals.dismiss.dismiss_post_request_body import (
    DismissPostRequestBody,
)
from msgraph.generated.models.risk_level import RiskLevel
from msgraph.generated.models.risk_state import RiskState
from msgraph_core import GraphClientFactory

from conftest import GRAPH_SCOPE, Server, free_port


def test_risky_service_principals_through_the_sdk(workdir: Path, trust_bundle: Path, event_loop_runner):
    malicious = workdir / "malicious.txt"
    malicious.write_text("192.0.2.0/24\n")
    srv = Server(
        data_dir=workdir / "sprisk",
        port=free_port(),
        trust_bundle=trust_bundle,
        extra_args=["--trusted-proxy", "127.0.0.0/8", "--malicious-ips", str(malicious)],
    ).start()
    http_client = None
    credential = None
    try:
        run = uuid.uuid4().hex[:8]
        r = requests.post(
            f"{srv.base_url}/{srv.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": srv.client_id,
                "client_secret": srv.client_secret,
                "scope": GRAPH_SCOPE,
            },
            headers={"client-request-id": f"bad-{run}", "X-Forwarded-For": "192.0.2.44"},
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

        page = event_loop_runner(graph.identity_protection.service_principal_risk_detections.get())
        assert page is not None and len(page.value) == 1
        d = page.value[0]
        assert d.risk_event_type == "investigationsThreatIntelligence"
        assert d.correlation_id == f"bad-{run}"
        assert d.ip_address == "192.0.2.44"
        assert d.app_id == srv.client_id
        assert d.risk_level == RiskLevel.High
        assert d.risk_state == RiskState.AtRisk
        assert d.detected_date_time is not None and d.additional_info
        one = event_loop_runner(
            graph.identity_protection.service_principal_risk_detections.by_service_principal_risk_detection_id(
                d.id
            ).get()
        )
        assert one.id == d.id and one.service_principal_id == d.service_principal_id

        sp = d.service_principal_id
        risky = event_loop_runner(graph.identity_protection.risky_service_principals.get())
        assert [x.id for x in risky.value] == [sp]
        x = event_loop_runner(graph.identity_protection.risky_service_principals.by_risky_service_principal_id(sp).get())
        assert x.risk_state == RiskState.AtRisk and x.risk_level == RiskLevel.High
        assert x.app_id == srv.client_id and x.is_enabled is True

        body = DismissPostRequestBody(service_principal_ids=[sp])
        event_loop_runner(graph.identity_protection.risky_service_principals.dismiss.post(body))
        x = event_loop_runner(graph.identity_protection.risky_service_principals.by_risky_service_principal_id(sp).get())
        assert x.risk_state == RiskState.Dismissed and x.risk_level == RiskLevel.None_

        history = event_loop_runner(
            graph.identity_protection.risky_service_principals.by_risky_service_principal_id(sp).history.get()
        )
        assert [h.risk_state for h in history.value] == [RiskState.Dismissed, RiskState.AtRisk]
        assert history.value[1].activity.risk_event_types == ["investigationsThreatIntelligence"]

        body = ConfirmCompromisedPostRequestBody(service_principal_ids=[sp])
        event_loop_runner(graph.identity_protection.risky_service_principals.confirm_compromised.post(body))
        x = event_loop_runner(graph.identity_protection.risky_service_principals.by_risky_service_principal_id(sp).get())
        assert x.risk_state == RiskState.ConfirmedCompromised and x.risk_level == RiskLevel.High
    finally:
        if http_client is not None:
            event_loop_runner(http_client.aclose())
        if credential is not None:
            credential.close()
        code = srv.stop()
        assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"
