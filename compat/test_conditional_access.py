"""Conditional Access through the unmodified `msgraph-sdk`: named locations and policies are
created, listed, read, updated and deleted with the SDK's models; a sign-in blocked by a policy
(the User-Agent's platform) is then read back through `audit_logs.sign_ins` with its
`appliedConditionalAccessPolicies`."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
from msgraph.generated.models.applied_conditional_access_policy_result import (
    AppliedConditionalAccessPolicyResult,
)
from msgraph.generated.models.conditional_access_applications import ConditionalAccessApplications
from msgraph.generated.models.conditional_access_client_app import ConditionalAccessClientApp
from msgraph.generated.models.conditional_access_condition_set import ConditionalAccessConditionSet
from msgraph.generated.models.conditional_access_device_platform import (
    ConditionalAccessDevicePlatform,
)
from msgraph.generated.models.conditional_access_grant_control import ConditionalAccessGrantControl
from msgraph.generated.models.conditional_access_grant_controls import ConditionalAccessGrantControls
from msgraph.generated.models.conditional_access_platforms import ConditionalAccessPlatforms
from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
from msgraph.generated.models.conditional_access_policy_state import ConditionalAccessPolicyState
from msgraph.generated.models.conditional_access_status import ConditionalAccessStatus
from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
from msgraph.generated.models.country_named_location import CountryNamedLocation
from msgraph.generated.models.ip_named_location import IpNamedLocation
from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange

from conftest import GRAPH_SCOPE, Server, free_port, sdk_client

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def test_named_locations_policies_and_a_blocked_sign_in_through_the_sdk(
    workdir: Path, trust_bundle: Path, event_loop_runner
):
    srv = Server(data_dir=workdir / "conditional-access", port=free_port(), trust_bundle=trust_bundle).start()
    http_client = None
    credential = None
    try:
        graph, credential, http_client = sdk_client(srv)
        ca = graph.identity.conditional_access

        office = event_loop_runner(
            ca.named_locations.post(
                IpNamedLocation(
                    display_name="Office",
                    is_trusted=True,
                    ip_ranges=[IPv4CidrRange(cidr_address="198.51.100.0/24")],
                )
            )
        )
        assert isinstance(office, IpNamedLocation) and office.id and office.is_trusted is True
        assert office.ip_ranges[0].cidr_address == "198.51.100.0/24"
        nordics = event_loop_runner(
            ca.named_locations.post(CountryNamedLocation(display_name="Nordics", countries_and_regions=["NO", "SE"]))
        )
        assert isinstance(nordics, CountryNamedLocation) and nordics.countries_and_regions == ["NO", "SE"]
        listed = event_loop_runner(ca.named_locations.get())
        assert {type(l).__name__ for l in listed.value} == {"IpNamedLocation", "CountryNamedLocation"}
        event_loop_runner(
            ca.named_locations.by_named_location_id(office.id).patch(IpNamedLocation(display_name="HQ"))
        )
        again = event_loop_runner(ca.named_locations.by_named_location_id(office.id).get())
        assert again.display_name == "HQ" and isinstance(again, IpNamedLocation)

        policy = event_loop_runner(
            ca.policies.post(
                ConditionalAccessPolicy(
                    display_name="Block Android",
                    state=ConditionalAccessPolicyState.Enabled,
                    conditions=ConditionalAccessConditionSet(
                        users=ConditionalAccessUsers(include_users=["All"]),
                        applications=ConditionalAccessApplications(include_applications=["All"]),
                        client_app_types=[ConditionalAccessClientApp.All],
                        platforms=ConditionalAccessPlatforms(
                            include_platforms=[ConditionalAccessDevicePlatform.Android]
                        ),
                    ),
                    grant_controls=ConditionalAccessGrantControls(
                        operator="OR", built_in_controls=[ConditionalAccessGrantControl.Block]
                    ),
                )
            )
        )
        assert policy.id and policy.state == ConditionalAccessPolicyState.Enabled
        assert policy.conditions.platforms.include_platforms == [ConditionalAccessDevicePlatform.Android]
        policies = event_loop_runner(ca.policies.get())
        assert [p.id for p in policies.value] == [policy.id]

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
            headers={"client-request-id": f"android-{run}", "User-Agent": ANDROID},
            verify=srv.ca_path,
            timeout=10,
        )
        assert r.status_code == 400, r.text
        assert r.json()["error_codes"] == [53003], r.text

        params = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(
            filter=f"correlationId eq 'android-{run}'", top=5
        )
        rows = event_loop_runner(graph.audit_logs.sign_ins.get(RequestConfiguration(query_parameters=params)))
        assert rows is not None and len(rows.value) == 1
        row = rows.value[0]
        assert row.status.error_code == 53003
        assert row.conditional_access_status == ConditionalAccessStatus.Failure
        applied = row.applied_conditional_access_policies
        assert [(a.id, a.display_name, a.result) for a in applied] == [
            (policy.id, "Block Android", AppliedConditionalAccessPolicyResult.Failure)
        ]
        assert applied[0].enforced_grant_controls == ["block"]
        assert row.device_detail.operating_system == "Android"

        event_loop_runner(
            ca.policies.by_conditional_access_policy_id(policy.id).patch(
                ConditionalAccessPolicy(state=ConditionalAccessPolicyState.Disabled)
            )
        )
        got = event_loop_runner(ca.policies.by_conditional_access_policy_id(policy.id).get())
        assert got.state == ConditionalAccessPolicyState.Disabled
        event_loop_runner(ca.policies.by_conditional_access_policy_id(policy.id).delete())
        event_loop_runner(ca.named_locations.by_named_location_id(office.id).delete())
        event_loop_runner(ca.named_locations.by_named_location_id(nordics.id).delete())
        assert event_loop_runner(ca.policies.get()).value == []
        assert event_loop_runner(ca.named_locations.get()).value == []
    finally:
        if http_client is not None:
            event_loop_runner(http_client.aclose())
        if credential is not None:
            credential.close()
        code = srv.stop()
        assert code == 0, f"cerulean exited with {code} after SIGTERM:\n{srv.log_tail()}"
