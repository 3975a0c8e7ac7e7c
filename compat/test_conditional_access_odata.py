"""OData query options on the Conditional Access collections through the unmodified `msgraph-sdk`
(issue 7): `$filter` with `isof()` (the form Graph's documentation shows for named locations)
and on a property, `$select` of a derived type's property, `$top` with the SDK's paging, and
`/$count` with `ConsistencyLevel: eventual`."""

from __future__ import annotations

from pathlib import Path

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.identity.conditional_access.named_locations.count.count_request_builder import (
    CountRequestBuilder,
)
from msgraph.generated.identity.conditional_access.named_locations.named_locations_request_builder import (
    NamedLocationsRequestBuilder,
)
from msgraph.generated.identity.conditional_access.policies.policies_request_builder import (
    PoliciesRequestBuilder,
)
from msgraph.generated.models.conditional_access_applications import ConditionalAccessApplications
from msgraph.generated.models.conditional_access_condition_set import ConditionalAccessConditionSet
from msgraph.generated.models.conditional_access_grant_control import ConditionalAccessGrantControl
from msgraph.generated.models.conditional_access_grant_controls import ConditionalAccessGrantControls
from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
from msgraph.generated.models.conditional_access_policy_state import ConditionalAccessPolicyState
from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
from msgraph.generated.models.country_named_location import CountryNamedLocation
from msgraph.generated.models.ip_named_location import IpNamedLocation
from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange

from conftest import Server, free_port, sdk_client


def test_conditional_access_query_options_through_the_sdk(workdir: Path, trust_bundle: Path, event_loop_runner):
    srv = Server(data_dir=workdir / "conditional-access-odata", port=free_port(), trust_bundle=trust_bundle).start()
    http_client = None
    credential = None
    try:
        graph, credential, http_client = sdk_client(srv)
        ca = graph.identity.conditional_access
        for name, trusted in [("HQ", True), ("Branch", False)]:
            event_loop_runner(
                ca.named_locations.post(
                    IpNamedLocation(
                        display_name=name,
                        is_trusted=trusted,
                        ip_ranges=[IPv4CidrRange(cidr_address="203.0.113.0/24")],
                    )
                )
            )
        event_loop_runner(
            ca.named_locations.post(CountryNamedLocation(display_name="Nordics", countries_and_regions=["NO"]))
        )

        def locations(**query):
            params = NamedLocationsRequestBuilder.NamedLocationsRequestBuilderGetQueryParameters(**query)
            return event_loop_runner(ca.named_locations.get(RequestConfiguration(query_parameters=params)))

        ips = locations(filter="isof('microsoft.graph.ipNamedLocation')")
        assert sorted(l.display_name for l in ips.value) == ["Branch", "HQ"]
        assert all(isinstance(l, IpNamedLocation) for l in ips.value)

        hq = locations(filter="displayName eq 'HQ'", select=["displayName", "isTrusted"])
        assert len(hq.value) == 1 and isinstance(hq.value[0], IpNamedLocation)
        assert hq.value[0].is_trusted is True and hq.value[0].ip_ranges is None

        page = locations(top=2)
        assert len(page.value) == 2 and page.odata_next_link
        rest = event_loop_runner(ca.named_locations.with_url(page.odata_next_link).get())
        assert len(rest.value) == 1 and rest.odata_next_link is None

        count_config = RequestConfiguration(
            query_parameters=CountRequestBuilder.CountRequestBuilderGetQueryParameters(
                filter="isof('microsoft.graph.countryNamedLocation')"
            )
        )
        count_config.headers.add("ConsistencyLevel", "eventual")
        assert event_loop_runner(ca.named_locations.count.get(count_config)) == 1

        for name, state in [("On", ConditionalAccessPolicyState.Enabled), ("Off", ConditionalAccessPolicyState.Disabled)]:
            event_loop_runner(
                ca.policies.post(
                    ConditionalAccessPolicy(
                        display_name=name,
                        state=state,
                        conditions=ConditionalAccessConditionSet(
                            users=ConditionalAccessUsers(include_users=["All"]),
                            applications=ConditionalAccessApplications(include_applications=["All"]),
                        ),
                        grant_controls=ConditionalAccessGrantControls(
                            operator="OR", built_in_controls=[ConditionalAccessGrantControl.Mfa]
                        ),
                    )
                )
            )
        params = PoliciesRequestBuilder.PoliciesRequestBuilderGetQueryParameters(
            filter="state eq 'disabled'", select=["displayName", "state"]
        )
        off = event_loop_runner(ca.policies.get(RequestConfiguration(query_parameters=params)))
        assert [(p.display_name, p.state) for p in off.value] == [("Off", ConditionalAccessPolicyState.Disabled)]
        assert off.value[0].conditions is None
    finally:
        if http_client is not None:
            event_loop_runner(http_client.aclose())
        if credential is not None:
            credential.close()
        code = srv.stop()
        assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"
