"""Delta queries with the unmodified Microsoft Graph Python SDK: `users.delta.get()`, then the
`@odata.nextLink` / `@odata.deltaLink` URLs followed with `with_url(...)`, as the SDK docs
show ("Get incremental changes for users")."""

from __future__ import annotations

import uuid

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.directory_objects.delta.delta_request_builder import DeltaRequestBuilder as ObjectsDelta
from msgraph.generated.groups.delta.delta_request_builder import DeltaRequestBuilder as GroupsDelta
from msgraph.generated.models.group import Group
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder as UsersDelta

from test_graph_sdk import create_user, graph, run  # noqa: F401  (fixtures)

RUN = uuid.uuid4().hex[:6]


def delta_round(run, builder, first, page_size: int):
    """Follows a round from `first` (a coroutine) to its deltaLink: (items by id, pages, link)."""
    items: dict[str, object] = {}
    page = run(first)
    pages = 1
    while True:
        assert len(page.value) <= page_size
        for item in page.value:
            items[item.id] = item
        if page.odata_next_link:
            assert page.odata_delta_link is None
            assert "$skiptoken=" in page.odata_next_link
            page = run(builder.with_url(page.odata_next_link).get(request_configuration=prefer(page_size)))
            pages += 1
            continue
        assert page.odata_delta_link and "$deltatoken=" in page.odata_delta_link
        return items, pages, page.odata_delta_link


def prefer(page_size: int, query=None) -> RequestConfiguration:
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", f"odata.maxpagesize={page_size}")
    return config


def test_users_delta_first_and_later_round(graph, run, server):
    mine = [create_user(graph, run, server, f"Delta {RUN} {i}") for i in range(4)]
    query = UsersDelta.DeltaRequestBuilderGetQueryParameters(select=["displayName", "jobTitle"])
    first = graph.users.delta.get(request_configuration=prefer(2, query))
    items, pages, delta_link = delta_round(run, graph.users.delta, first, 2)
    assert pages >= 2
    for u in mine:
        assert items[u.id].display_name == u.display_name
        # Only the selected properties (and the id) come back.
        assert items[u.id].user_principal_name is None

    # Changes: one update, one new user, one soft delete.
    run(graph.users.by_user_id(mine[0].id).patch(User(job_title="Delta lead")))
    fresh = create_user(graph, run, server, f"Delta {RUN} fresh")
    run(graph.users.by_user_id(mine[1].id).delete())

    later = graph.users.delta.with_url(delta_link).get(request_configuration=prefer(50))
    items, _, next_link = delta_round(run, graph.users.delta, later, 50)
    assert set(items) == {mine[0].id, mine[1].id, fresh.id}
    assert items[mine[0].id].job_title == "Delta lead"
    assert items[fresh.id].display_name == f"Delta {RUN} fresh"
    assert items[mine[1].id].additional_data.get("@removed") == {"reason": "changed"}
    # The select travels in the token: still no UPN.
    assert items[fresh.id].user_principal_name is None

    # Nothing new since: an empty round.
    page = run(graph.users.delta.with_url(next_link).get())
    assert page.value == [] and page.odata_delta_link


def test_groups_delta_members(graph, run, server):
    group = run(
        graph.groups.post(
            Group(display_name=f"Delta {RUN}", mail_enabled=False, mail_nickname=f"d{RUN}", security_enabled=True)
        )
    )
    member = create_user(graph, run, server, f"Delta member {RUN}")
    query = GroupsDelta.DeltaRequestBuilderGetQueryParameters(select=["displayName", "members"])
    first = graph.groups.delta.get(request_configuration=prefer(100, query))
    items, _, delta_link = delta_round(run, graph.groups.delta, first, 100)
    assert items[group.id].display_name == f"Delta {RUN}"

    ref = ReferenceCreate(odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{member.id}")
    run(graph.groups.by_group_id(group.id).members.ref.post(ref))
    items, _, _ = delta_round(run, graph.groups.delta, graph.groups.delta.with_url(delta_link).get(), 100)
    assert set(items) == {group.id}
    # The SDK keeps annotations in additional_data (it parses the GUID-looking id as a UUID).
    members = items[group.id].additional_data.get("members@delta")
    assert [(m["@odata.type"], str(m["id"])) for m in members] == [("#microsoft.graph.user", member.id)]


def test_directory_objects_delta_over_users_and_groups(graph, run, server):
    """`directory_objects.delta` with `isof(...) or isof(...)`: one round over both types; the
    SDK deserialises each item as its own type from `@odata.type`."""
    user = create_user(graph, run, server, f"Objects delta {RUN}")
    group = run(
        graph.groups.post(
            Group(display_name=f"Objects {RUN}", mail_enabled=False, mail_nickname=f"o{RUN}", security_enabled=True)
        )
    )
    query = ObjectsDelta.DeltaRequestBuilderGetQueryParameters(
        filter="isof('microsoft.graph.user') or isof('microsoft.graph.group')"
    )
    first = graph.directory_objects.delta.get(request_configuration=prefer(2, query))
    items, pages, delta_link = delta_round(run, graph.directory_objects.delta, first, 2)
    assert pages >= 2
    assert isinstance(items[user.id], User) and isinstance(items[group.id], Group)
    assert items[group.id].display_name == f"Objects {RUN}"

    run(graph.users.by_user_id(user.id).patch(User(job_title="Objects")))
    run(graph.groups.by_group_id(group.id).delete())
    later = graph.directory_objects.delta.with_url(delta_link).get(request_configuration=prefer(50))
    items, _, _ = delta_round(run, graph.directory_objects.delta, later, 50)
    assert set(items) == {user.id, group.id}
    assert items[user.id].job_title == "Objects"
    assert isinstance(items[group.id], Group)
    assert items[group.id].additional_data.get("@removed") == {"reason": "deleted"}
