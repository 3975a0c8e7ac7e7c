"""The Microsoft Graph Python SDK (msgraph-sdk + azure-identity + kiota), unmodified,
against Cerulean's Graph endpoint."""

from __future__ import annotations

import ssl
import uuid

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import HeadersInspectionHandlerOption
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator

from conftest import GRAPH_SCOPE

PASSWORD = "Cerulean!Passw0rd-2024"
# One random tag per session keeps display names unique to this run's objects.
RUN = uuid.uuid4().hex[:6]

Q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters


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
    client = GraphServiceClient(request_adapter=adapter)
    yield client
    event_loop_runner(http_client.aclose())
    credential.close()


@pytest.fixture(scope="module")
def run(event_loop_runner):
    return event_loop_runner


def new_user(server, display_name: str, nickname: str | None = None, **extra) -> User:
    nickname = nickname or f"u{uuid.uuid4().hex[:10]}"
    return User(
        account_enabled=True,
        display_name=display_name,
        mail_nickname=nickname,
        user_principal_name=f"{nickname}@{server.tenant_domain}",
        password_profile=PasswordProfile(
            force_change_password_next_sign_in=False, password=PASSWORD
        ),
        **extra,
    )


def create_user(graph, run, server, display_name: str, **extra) -> User:
    created = run(graph.users.post(new_user(server, display_name, **extra)))
    assert created is not None and created.id
    return created


def odata_error(excinfo) -> ODataError:
    err = excinfo.value
    assert isinstance(err, ODataError), repr(err)
    return err


def users_config(**params) -> RequestConfiguration:
    return RequestConfiguration(query_parameters=Q(**params))


def test_create_and_get_user(graph, run, server):
    user = new_user(server, f"Created {RUN}", job_title="Engineer")
    created = run(graph.users.post(user))
    assert created.id
    uuid.UUID(created.id)
    assert created.user_principal_name == user.user_principal_name
    assert created.display_name == user.display_name
    assert created.odata_type in (None, "#microsoft.graph.user")

    by_id = run(graph.users.by_user_id(created.id).get())
    assert by_id.id == created.id
    assert by_id.user_principal_name == user.user_principal_name
    assert by_id.job_title == "Engineer"

    by_upn = run(graph.users.by_user_id(user.user_principal_name).get())
    assert by_upn.id == created.id
    assert by_upn.display_name == user.display_name


def test_paging_with_top_and_next_link(graph, run, server):
    prefix = f"Pager {RUN}"
    created = {create_user(graph, run, server, f"{prefix} {i:02d}").id for i in range(11)}

    # All users, 4 per page, following @odata.nextLink with with_url.
    page = run(graph.users.get(users_config(top=4)))
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert len(page.value) <= 4
        seen.extend(u.id for u in page.value)
        if not page.odata_next_link:
            break
        assert page.odata_next_link.startswith(f"{server.base_url}/v1.0/users"), page.odata_next_link
        page = run(graph.users.with_url(page.odata_next_link).get())
        assert pages < 100, "paging does not terminate"
    assert len(seen) == len(set(seen)), "duplicates across pages"
    assert created <= set(seen), "gaps: created users missing from the paged listing"
    assert pages >= 3

    # One page with $top=999 equals the one-shot listing (no gaps, no duplicates).
    everything = run(graph.users.get(users_config(top=999)))
    assert everything.odata_next_link is None
    assert sorted(seen) == sorted(u.id for u in everything.value)

    # The SDK's PageIterator over a filtered query with $top=3.
    first = run(
        graph.users.get(users_config(top=3, filter=f"startswith(displayName,'{prefix}')"))
    )
    assert first.odata_next_link
    collected: list[str] = []

    def collect(u) -> bool:
        collected.append(u.id)
        return True

    iterator = PageIterator(first, graph.request_adapter)
    run(iterator.iterate(collect))
    assert len(collected) == len(set(collected)) == 11
    assert set(collected) == created


def test_filter_startswith(graph, run, server):
    alpha = f"Alpha{RUN}"
    ids = {create_user(graph, run, server, f"{alpha} {i}").id for i in range(3)}
    create_user(graph, run, server, f"Beta{RUN} 0")

    resp = run(graph.users.get(users_config(filter=f"startswith(displayName,'{alpha}')")))
    assert {u.id for u in resp.value} == ids
    assert all(u.display_name.startswith(alpha) for u in resp.value)

    none = run(graph.users.get(users_config(filter=f"startswith(displayName,'Gamma{RUN}')")))
    assert none.value == []

    # Equality filter on userPrincipalName.
    one = next(iter(ids))
    upn = run(graph.users.by_user_id(one).get()).user_principal_name
    eq = run(graph.users.get(users_config(filter=f"userPrincipalName eq '{upn}'")))
    assert [u.id for u in eq.value] == [one]


def test_select(graph, run, server):
    created = create_user(graph, run, server, f"Select {RUN}", job_title="Selected")
    resp = run(
        graph.users.get(
            users_config(
                select=["id", "displayName"],
                filter=f"startswith(displayName,'Select {RUN}')",
            )
        )
    )
    assert len(resp.value) == 1
    u = resp.value[0]
    assert u.id == created.id
    assert u.display_name == f"Select {RUN}"
    assert u.user_principal_name is None
    assert u.job_title is None
    assert not (u.additional_data or {}).keys() & {"userPrincipalName", "jobTitle", "mail"}

    item = run(
        graph.users.by_user_id(created.id).get(
            RequestConfiguration(
                query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                    select=["jobTitle"]
                )
            )
        )
    )
    assert item.job_title == "Selected"
    assert item.display_name is None


def test_count_with_consistency_level(graph, run, server):
    prefix = f"Counted{RUN}"
    for i in range(5):
        create_user(graph, run, server, f"{prefix} {i}")
    config = users_config(count=True, top=2, filter=f"startswith(displayName,'{prefix}')")
    config.headers.add("ConsistencyLevel", "eventual")
    resp = run(graph.users.get(config))
    assert resp.odata_count == 5
    assert len(resp.value) == 2
    assert resp.odata_next_link


def test_count_segment(graph, run, server):
    config = RequestConfiguration()
    config.headers.add("ConsistencyLevel", "eventual")
    total = run(graph.users.count.get(config))
    listed = run(graph.users.get(users_config(top=999)))
    assert total == len(listed.value)


def test_update_user(graph, run, server):
    created = create_user(graph, run, server, f"Patch {RUN}")
    result = run(
        graph.users.by_user_id(created.id).patch(
            User(display_name=f"Patched {RUN}", job_title="Manager", office_location="B42")
        )
    )
    # PATCH answers 204 No Content; the SDK returns None or an empty User.
    assert result is None or result.id in (None, created.id)
    got = run(graph.users.by_user_id(created.id).get())
    assert got.display_name == f"Patched {RUN}"
    assert got.job_title == "Manager"
    assert got.office_location == "B42"
    assert got.user_principal_name == created.user_principal_name


def test_delete_and_restore_user(graph, run, server):
    created = create_user(graph, run, server, f"Deleted {RUN}")
    run(graph.users.by_user_id(created.id).delete())

    with pytest.raises(ODataError) as exc:
        run(graph.users.by_user_id(created.id).get())
    assert odata_error(exc).response_status_code == 404
    assert exc.value.error.code == "Request_ResourceNotFound"

    one = run(graph.directory.deleted_items.by_directory_object_id(created.id).get())
    assert one.id == created.id
    assert one.odata_type == "#microsoft.graph.user"

    restored = run(graph.directory.deleted_items.by_directory_object_id(created.id).restore.post())
    assert restored.id == created.id

    back = run(graph.users.by_user_id(created.id).get())
    assert back.display_name == f"Deleted {RUN}"
    with pytest.raises(ODataError) as exc:
        run(graph.directory.deleted_items.by_directory_object_id(created.id).get())
    assert odata_error(exc).response_status_code == 404


def test_soft_deleted_upn_is_reusable_and_restore_conflicts(graph, run, server):
    first = create_user(graph, run, server, f"Reuse {RUN}")
    run(graph.users.by_user_id(first.id).delete())

    # The UPN of a soft-deleted user is free again ...
    nickname = first.user_principal_name.split("@")[0]
    second = run(graph.users.post(new_user(server, f"Reuse2 {RUN}", nickname=nickname)))
    assert second.id != first.id
    assert second.user_principal_name == first.user_principal_name

    # ... and restoring the old one then conflicts.
    with pytest.raises(ODataError) as exc:
        run(graph.directory.deleted_items.by_directory_object_id(first.id).restore.post())
    assert odata_error(exc).response_status_code == 400
    assert exc.value.error.code == "Request_BadRequest"


def test_deleted_items_list_users(graph, run, server):
    created = create_user(graph, run, server, f"Binned {RUN}")
    run(graph.users.by_user_id(created.id).delete())

    deleted = run(graph.directory.deleted_items.graph_user.get())
    match = [u for u in deleted.value if u.id == created.id]
    assert len(match) == 1, [u.id for u in deleted.value]
    assert match[0].deleted_date_time is not None
    assert match[0].display_name == f"Binned {RUN}"

    run(graph.directory.deleted_items.by_directory_object_id(created.id).restore.post())
    deleted = run(graph.directory.deleted_items.graph_user.get())
    assert created.id not in {u.id for u in deleted.value}


def test_group_membership(graph, run, server):
    member = create_user(graph, run, server, f"Member {RUN}")
    other = create_user(graph, run, server, f"Other {RUN}")
    group = run(
        graph.groups.post(
            Group(
                display_name=f"Security {RUN}",
                mail_enabled=False,
                mail_nickname=f"sec{RUN}",
                security_enabled=True,
                description="compat suite",
            )
        )
    )
    assert group.id
    assert group.security_enabled is True
    assert group.mail_enabled is False

    got = run(graph.groups.by_group_id(group.id).get())
    assert got.display_name == f"Security {RUN}"

    members = graph.groups.by_group_id(group.id).members
    run(members.ref.post(ReferenceCreate(odata_id=f"{server.graph_base_url}/directoryObjects/{member.id}")))
    # The documented form uses the public Graph host; Entra accepts it too.
    run(
        members.ref.post(
            ReferenceCreate(odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{other.id}")
        )
    )

    listed = run(members.get())
    assert {m.id for m in listed.value} == {member.id, other.id}
    assert all(m.odata_type == "#microsoft.graph.user" for m in listed.value)

    # Adding the same member twice is a 400 with "One or more added object references already exist".
    with pytest.raises(ODataError) as exc:
        run(members.ref.post(ReferenceCreate(odata_id=f"{server.graph_base_url}/directoryObjects/{member.id}")))
    assert odata_error(exc).response_status_code == 400
    assert exc.value.error.code == "Request_BadRequest"

    run(members.by_directory_object_id(member.id).ref.delete())
    listed = run(members.get())
    assert {m.id for m in listed.value} == {other.id}

    run(members.by_directory_object_id(other.id).ref.delete())
    listed = run(members.get())
    assert listed.value == []


def test_group_members_cast_to_user(graph, run, server):
    member = create_user(graph, run, server, f"Cast {RUN}")
    group = run(
        graph.groups.post(
            Group(
                display_name=f"Cast {RUN}",
                mail_enabled=False,
                mail_nickname=f"cast{RUN}",
                security_enabled=True,
            )
        )
    )
    members = graph.groups.by_group_id(group.id).members
    run(members.ref.post(ReferenceCreate(odata_id=f"{server.graph_base_url}/directoryObjects/{member.id}")))
    users = run(members.graph_user.get())
    assert [u.id for u in users.value] == [member.id]
    assert users.value[0].user_principal_name == member.user_principal_name


def test_request_id_headers(graph, run):
    client_request_id = str(uuid.uuid4())
    inspect = HeadersInspectionHandlerOption(inspect_response_headers=True)
    config = users_config(top=1)
    config.headers.add("client-request-id", client_request_id)
    config.options = [inspect]
    run(graph.users.get(config))
    headers = inspect.response_headers
    assert headers.get("request-id"), headers.get_all()
    assert headers.get("client-request-id") == {client_request_id}, headers.get_all()


def test_duplicate_upn_is_bad_request(graph, run, server):
    created = create_user(graph, run, server, f"Dup {RUN}")
    dup = new_user(server, f"Dup2 {RUN}", nickname=created.user_principal_name.split("@")[0])
    with pytest.raises(ODataError) as exc:
        run(graph.users.post(dup))
    err = odata_error(exc)
    assert err.response_status_code == 400
    assert err.error.code == "Request_BadRequest"
    assert err.error.message
    assert err.error.inner_error is not None
    assert err.error.inner_error.request_id


def test_unknown_user_is_not_found(graph, run):
    missing = str(uuid.uuid4())
    with pytest.raises(ODataError) as exc:
        run(graph.users.by_user_id(missing).get())
    err = odata_error(exc)
    assert err.response_status_code == 404
    assert err.error.code == "Request_ResourceNotFound"
    assert missing in err.error.message

    with pytest.raises(ODataError) as exc:
        run(graph.users.by_user_id(missing).delete())
    assert odata_error(exc).response_status_code == 404
    assert exc.value.error.code == "Request_ResourceNotFound"

    with pytest.raises(ODataError) as exc:
        run(graph.users.by_user_id(missing).patch(User(job_title="Ghost")))
    assert odata_error(exc).response_status_code == 404
    assert exc.value.error.code == "Request_ResourceNotFound"

    with pytest.raises(ODataError) as exc:
        run(graph.groups.by_group_id(missing).get())
    assert odata_error(exc).response_status_code == 404
    assert exc.value.error.code == "Request_ResourceNotFound"
