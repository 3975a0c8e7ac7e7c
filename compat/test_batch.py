"""JSON batching (`POST /v1.0/$batch`) with the unmodified msgraph-sdk batch helpers:
BatchRequestItem / BatchRequestContent built from the SDK's request information, sent with
`client.batch.post`, read with BatchResponseContent.

Three bugs of the pinned msgraph-core / kiota stack shape these tests. They are client bugs that
real Microsoft Graph shows too, and the server answers them as Graph does:

- BatchRequestItem keeps the request's absolute URL once the client has sent any request
  (msgraph-sdk-python#1015, msgraph-sdk-python-core#1116); Graph refuses absolute URLs with
  "Invalid batch payload format.". The workaround from #1015 (make `item.url` relative) is applied
  by `relative()`.
- msgraph-core writes dependencies as `depends_on`, which Graph ignores; Graph's property is
  `dependsOn` (msgraph-sdk-python-core PR #996). Sequencing needs the key corrected; the payload
  is still built and sent by the SDK (`send_with_depends_on`).
- BatchResponseItem reads `body` as base64 bytes, so a JSON object body (what Graph returns for
  JSON responses) reads as None (microsoft/kiota-python#737). Status codes and headers read fine.

msgraph-core 1.5.2 imports the `deprecated` package without declaring it; the suite's
requirements must list it for `msgraph_core.requests` to import.
"""

from __future__ import annotations

import json
import uuid

import pytest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.request_information import RequestInformation
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.requests.batch_response_content import BatchResponseContent

from test_graph_sdk import create_user, graph, new_user, run  # noqa: F401  (fixtures)

RUN = uuid.uuid4().hex[:6]


def relative(server, item: BatchRequestItem) -> BatchRequestItem:
    """msgraph-sdk-python#1015's workaround: the url relative to the version root."""
    prefix = f"{server.base_url}/v1.0"
    if item.url.startswith(prefix):
        item.url = item.url[len(prefix):]
    return item


def create_item(graph, server, request_id: str, display_name: str, nickname: str | None = None, **kw):
    info = graph.users.to_post_request_information(new_user(server, display_name, nickname))
    return relative(server, BatchRequestItem(info, id=request_id, **kw))


def get_item(graph, server, request_id: str, user: str, **kw):
    info = graph.users.by_user_id(user).to_get_request_information()
    return relative(server, BatchRequestItem(info, id=request_id, **kw))


def send_with_depends_on(graph, run, content: BatchRequestContent) -> BatchResponseContent:
    """Sends `content` as `client.batch.post` does, with Graph's `dependsOn` key in place of
    the SDK's `depends_on` (see the module docstring)."""
    info: RequestInformation = run(graph.batch.to_post_request_information(content))
    payload = json.loads(info.content)
    for request in payload["requests"]:
        request["dependsOn"] = request.pop("depends_on", [])
    info.content = json.dumps(payload).encode()
    response = run(graph.request_adapter.send_async(info, BatchResponseContent, {}))
    assert isinstance(response, BatchResponseContent)
    return response


def test_batch_of_creations_and_a_dependent_read(graph, run, server):
    nicks = [f"b{RUN}{i}" for i in range(3)]
    c0 = create_item(graph, server, "create0", f"Batch {RUN} 0", nicks[0])
    c1 = create_item(graph, server, "create1", f"Batch {RUN} 1", nicks[1], depends_on=[c0])
    c2 = create_item(graph, server, "create2", f"Batch {RUN} 2", nicks[2], depends_on=[c1])
    read = get_item(graph, server, "read", f"{nicks[2]}@{server.tenant_domain}", depends_on=[c2])
    content = BatchRequestContent({item.id: item for item in [c0, c1, c2, read]})

    result = send_with_depends_on(graph, run, content)

    assert result.get_response_status_codes() == {
        "create0": 201,
        "create1": 201,
        "create2": 201,
        "read": 200,
    }
    created = result.get_response_by_id("create0")
    headers = {k.lower(): v for k, v in (created.headers or {}).items()}
    assert headers["location"].startswith(f"{server.base_url}/v1.0/users/")
    assert created.content_type.startswith("application/json")

    # Every creation happened: the ordinary SDK calls see the users.
    for nick in nicks:
        user = run(graph.users.by_user_id(f"{nick}@{server.tenant_domain}").get())
        assert user.display_name.startswith(f"Batch {RUN}")


def test_batch_post_as_the_sdk_sends_it(graph, run, server):
    """`client.batch.post` unchanged: independent requests, answered per request."""
    nick = f"p{RUN}"
    create = create_item(graph, server, "create", f"Plain {RUN}", nick)
    missing = get_item(graph, server, "missing", f"nobody-{RUN}@{server.tenant_domain}")
    listing = relative(server, BatchRequestItem(graph.users.to_get_request_information(), id="list"))

    result = run(graph.batch.post(BatchRequestContent({"create": create, "missing": missing, "list": listing})))

    assert isinstance(result, BatchResponseContent)
    assert result.get_response_status_codes() == {"create": 201, "missing": 404, "list": 200}
    assert run(graph.users.by_user_id(f"{nick}@{server.tenant_domain}").get()).display_name == f"Plain {RUN}"


def test_failed_dependency_is_424(graph, run, server):
    taken = create_user(graph, run, server, f"Taken {RUN}")
    duplicate = create_item(graph, server, "dup", f"Dup {RUN}", taken.user_principal_name.split("@")[0])
    delete = relative(
        server,
        BatchRequestItem(
            graph.users.by_user_id(taken.id).to_delete_request_information(), id="delete", depends_on=[duplicate]
        ),
    )
    after = get_item(graph, server, "after", taken.id, depends_on=[delete])
    content = BatchRequestContent({item.id: item for item in [duplicate, delete, after]})

    result = send_with_depends_on(graph, run, content)

    assert result.get_response_status_codes() == {"dup": 400, "delete": 424, "after": 424}
    for request_id in ("dup", "delete", "after"):
        assert result.get_response_by_id(request_id).content_type.startswith("application/json"), request_id
    # The dependant never ran: the user is still there.
    assert run(graph.users.by_user_id(taken.id).get()).id == taken.id


def test_depends_on_as_the_sdk_writes_it_is_ignored(graph, run, server):
    """Graph ignores the SDK's `depends_on` key, so a dependant of a failed request still runs."""
    taken = create_user(graph, run, server, f"Taken2 {RUN}")
    duplicate = create_item(graph, server, "dup", f"Dup2 {RUN}", taken.user_principal_name.split("@")[0])
    read = get_item(graph, server, "read", taken.id, depends_on=[duplicate])
    result = run(graph.batch.post(BatchRequestContent({"dup": duplicate, "read": read})))
    assert result.get_response_status_codes() == {"dup": 400, "read": 200}


def test_absolute_urls_are_refused_as_graph_does(graph, run, server):
    create_user(graph, run, server, f"Warm {RUN}")  # the client now builds absolute URLs
    item = BatchRequestItem(graph.users.to_get_request_information(), id="list")
    assert item.url.startswith("https://"), item.url
    with pytest.raises(APIError) as excinfo:
        run(graph.batch.post(BatchRequestContent({"list": item})))
    assert excinfo.value.response_status_code == 400
