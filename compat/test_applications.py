"""Applications and service principals with the unmodified msgraph-sdk, and the new
application's secret used with msal: create an application, add a password, create its
service principal, grant it a Microsoft Graph app role, sign in with the new secret."""

from __future__ import annotations

import base64
import json
import uuid

import msal
import pytest
from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
    AddPasswordPostRequestBody,
)
from msgraph.generated.applications.item.remove_password.remove_password_post_request_body import (
    RemovePasswordPostRequestBody,
)
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.application import Application
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.models.service_principal import ServicePrincipal

from conftest import GRAPH_SCOPE
from test_graph_sdk import graph, run  # noqa: F401  (module fixtures)

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_with(server, client_id: str, secret: str) -> dict:
    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        verify=server.ca_path,
    )
    return app.acquire_token_for_client(scopes=[GRAPH_SCOPE])


def test_new_application_signs_in_with_its_new_secret(server, graph, run):  # noqa: F811
    name = f"compat-app-{uuid.uuid4().hex[:8]}"
    app = run(graph.applications.post(Application(display_name=name, sign_in_audience="AzureADMyOrg")))
    assert app.app_id and app.id
    assert app.display_name == name

    # Creating an application does not create its service principal.
    found = run(graph.service_principals.get())
    assert not [sp for sp in found.value if sp.app_id == app.app_id]

    credential = run(
        graph.applications.by_application_id(app.id).add_password.post(
            AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="compat"))
        )
    )
    assert credential.secret_text and credential.hint == credential.secret_text[:3]

    sp = run(graph.service_principals.post(ServicePrincipal(app_id=app.app_id)))
    assert sp.app_id == app.app_id

    graph_sp = run(graph.service_principals_with_app_id(GRAPH_APP_ID).get())
    assert any(str(r.id) == USER_READ_ALL and r.value == "User.Read.All" for r in graph_sp.app_roles)
    assignment = run(
        graph.service_principals.by_service_principal_id(graph_sp.id).app_role_assigned_to.post(
            AppRoleAssignment(principal_id=uuid.UUID(sp.id), resource_id=uuid.UUID(graph_sp.id), app_role_id=uuid.UUID(USER_READ_ALL))
        )
    )
    assert assignment.principal_type == "ServicePrincipal"

    result = token_with(server, app.app_id, credential.secret_text)
    assert "access_token" in result, result
    assert claims(result["access_token"])["roles"] == ["User.Read.All"]

    run(
        graph.applications.by_application_id(app.id).remove_password.post(
            RemovePasswordPostRequestBody(key_id=credential.key_id)
        )
    )
    result = token_with(server, app.app_id, credential.secret_text)
    assert result.get("error") == "invalid_client", result

    run(graph.applications.by_application_id(app.id).delete())
    with pytest.raises(Exception):
        run(graph.applications.by_application_id(app.id).get())
