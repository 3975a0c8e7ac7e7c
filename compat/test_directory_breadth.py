"""Administrative units, devices and organizational contacts through the unmodified Microsoft
Graph Python SDK: the SDK's request builders, its typed models (deserialised by
`@odata.type`) and its error type against Cerulean's wire shapes."""

from __future__ import annotations

import uuid

import pytest
from msgraph.generated.models.administrative_unit import AdministrativeUnit
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User

from test_graph_sdk import create_user, graph, run  # noqa: F401  (pytest fixtures)

RUN = uuid.uuid4().hex[:6]


def test_administrative_units_with_the_sdk(graph, run, server):  # noqa: F811
    units = graph.directory.administrative_units
    created = run(
        units.post(AdministrativeUnit(display_name=f"Unit {RUN}", description="Seattle", visibility="HiddenMembership"))
    )
    assert created.id and created.visibility == "HiddenMembership"
    unit = units.by_administrative_unit_id(created.id)

    user = create_user(graph, run, server, f"Unit member {RUN}")
    run(unit.members.ref.post(ReferenceCreate(odata_id=f"{server.graph_base_url}/directoryObjects/{user.id}")))
    members = run(unit.members.get())
    assert [m.id for m in members.value] == [user.id]
    assert isinstance(members.value[0], User)

    # A user's memberOf holds the unit, typed as one.
    member_of = run(graph.users.by_user_id(user.id).member_of.get())
    units_of_user = [o for o in member_of.value if isinstance(o, AdministrativeUnit)]
    assert [u.id for u in units_of_user] == [created.id]
    assert units_of_user[0].display_name == f"Unit {RUN}"

    # Adding the same member twice is Graph's error, surfaced as an ODataError.
    with pytest.raises(ODataError) as excinfo:
        run(unit.members.ref.post(ReferenceCreate(odata_id=f"{server.graph_base_url}/directoryObjects/{user.id}")))
    assert excinfo.value.response_status_code == 400
    assert excinfo.value.error.code == "Request_BadRequest"

    run(unit.patch(AdministrativeUnit(description="Redmond")))
    assert run(unit.get()).description == "Redmond"
    run(unit.members.by_directory_object_id(user.id).ref.delete())
    assert run(unit.members.get()).value == []
    run(unit.delete())
    with pytest.raises(ODataError) as excinfo:
        run(unit.get())
    assert excinfo.value.response_status_code == 404


def test_devices_and_contacts_collections_with_the_sdk(graph, run):  # noqa: F811
    # Applications read devices and contacts (registering devices needs a delegated token).
    devices = run(graph.devices.get())
    assert devices.value == [] or all(d.id for d in devices.value)
    contacts = run(graph.contacts.get())
    assert contacts.value == [] or all(c.id for c in contacts.value)
    with pytest.raises(ODataError) as excinfo:
        run(graph.devices.by_device_id(str(uuid.uuid4())).get())
    assert excinfo.value.response_status_code == 404
    assert excinfo.value.error.code == "Request_ResourceNotFound"
