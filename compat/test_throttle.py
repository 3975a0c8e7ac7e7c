"""Graph throttling against the unmodified Microsoft Graph Python SDK: with a tiny
resource-unit budget the server answers 429 with Retry-After, and the SDK's default
middleware (kiota's RetryHandler) waits and retries, so every SDK call succeeds.

Needs the `--throttle-ru-per-10s <N>` option of `cerulean serve`; the test skips when the
binary does not offer it. A budget of 10 RU per 10 s refills 1 RU per second, so a 1 RU
request refused on an empty bucket is told `Retry-After: 1`.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory

from conftest import GRAPH_SCOPE, Server, cerulean_bin, free_port

FLAG = "--throttle-ru-per-10s"
BUDGET = "10"


def supports_throttling() -> bool:
    out = subprocess.run(
        [str(cerulean_bin()), "serve", "--help"], capture_output=True, text=True, timeout=30
    )
    return FLAG in out.stdout


class RecordingTransport(httpx.AsyncBaseTransport):
    """The innermost transport: sees every attempt, including those the middleware retries."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[int, str | None, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.seen.append(
            (response.status_code, response.headers.get("retry-after"), request.headers.get("retry-attempt"))
        )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def throttled_server(workdir: Path, trust_bundle: Path):
    if not supports_throttling():
        pytest.skip(f"`cerulean serve` has no {FLAG} option yet")
    srv = Server(
        data_dir=workdir / "throttled", port=free_port(), trust_bundle=trust_bundle, extra_args=[FLAG, BUDGET]
    ).start()
    yield srv
    code = srv.stop()
    assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"


def test_retry_handler_recovers_from_429(throttled_server: Server, event_loop_runner):
    srv = throttled_server
    credential = ClientSecretCredential(
        srv.tenant_id,
        srv.client_id,
        srv.client_secret,
        authority=srv.base_url,
        disable_instance_discovery=True,
        connection_verify=srv.ca_path,
    )
    recorder = RecordingTransport(
        httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=srv.ca_path))
    )
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=recorder)
    )
    adapter = GraphRequestAdapter(
        AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"]),
        client=http_client,
    )
    adapter.base_url = f"{srv.base_url}/v1.0"
    client = GraphServiceClient(request_adapter=adapter)
    # GET users costs 2 RU, 1 with $select.
    config = RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=["id"])
    )
    try:
        for _ in range(40):
            page = event_loop_runner(client.users.get(request_configuration=config))
            assert page is not None and page.value, "every SDK call succeeds"
            if any(status == 429 for status, _, _ in recorder.seen):
                break
        throttled = [i for i, (status, _, _) in enumerate(recorder.seen) if status == 429]
        assert throttled, f"the budget was never exhausted: {recorder.seen}"
        first = throttled[0]
        assert recorder.seen[first][1] == "1", recorder.seen
        # The SDK waited and retried the same request, marked with Retry-Attempt, and won.
        retried = recorder.seen[first + 1 :]
        assert retried and retried[-1][0] == 200 and retried[-1][2] is not None, recorder.seen
    finally:
        event_loop_runner(http_client.aclose())
        credential.close()
