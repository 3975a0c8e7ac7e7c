"""Azure AD Graph (api-version 1.6) with the unmodified legacy `azure-graphrbac` client:
users (listed through several pages, created, read by id and UPN, updated, deleted), groups
(created, members added and removed through `$links`, `isMemberOf`, `get_group_members`) and
`getObjectsByObjectIds`, applications and service principals (created, listed, deleted) and
`signed_in_user` with a delegated token, against the same directory Microsoft Graph serves.

The client is configured only through its public options: a bearer token that msal obtains
for `https://graph.windows.net/.default` (msrest's `BasicTokenAuthentication`), the tenant id,
and `base_url` pointing at the server."""

from __future__ import annotations

import uuid

import msal
import pytest
import requests
from azure.graphrbac import GraphRbacManagementClient
from azure.graphrbac.models import (
    ApplicationCreateParameters,
    CheckGroupMembershipParameters,
    GetObjectsParameters,
    GraphErrorException,
    GroupCreateParameters,
    PasswordProfile,
    ServicePrincipalCreateParameters,
    UserCreateParameters,
    UserUpdateParameters,
)
from msrest.authentication import BasicTokenAuthentication

AAD_GRAPH_SCOPE = "https://graph.windows.net/.default"
AAD_GRAPH_APP_ID = "00000002-0000-0000-c000-000000000000"
PASSWORD = "xWwvJ]6NMw+bWH-d"
# More than two pages of AAD Graph's default page size (100).
PAGED_USERS = 205


@pytest.fixture(scope="module")
def rbac(server):
    app = msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=server.client_secret,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        verify=server.ca_path,
    )
    result = app.acquire_token_for_client(scopes=[AAD_GRAPH_SCOPE])
    assert "access_token" in result, result
    credentials = BasicTokenAuthentication({"access_token": result["access_token"]})
    client = GraphRbacManagementClient(credentials, server.tenant_id, base_url=server.base_url)
    client.config.connection.verify = server.ca_path
    return client


def new_user(server, display_name: str) -> UserCreateParameters:
    nickname = f"rbac{uuid.uuid4().hex[:10]}"
    return UserCreateParameters(
        account_enabled=True,
        display_name=display_name,
        mail_nickname=nickname,
        user_principal_name=f"{nickname}@{server.tenant_domain}",
        password_profile=PasswordProfile(password=PASSWORD, force_change_password_next_login=False),
    )


def test_users_create_get_update_delete(server, rbac):
    params = new_user(server, "Rbac Alex")
    user = rbac.users.create(params)
    assert user.object_id and user.object_type == "User"
    assert user.display_name == "Rbac Alex"
    assert user.user_principal_name == params.user_principal_name

    by_id = rbac.users.get(user.object_id)
    by_upn = rbac.users.get(params.user_principal_name)
    assert by_id.object_id == by_upn.object_id == user.object_id
    assert by_upn.mail_nickname == params.mail_nickname

    rbac.users.update(user.object_id, UserUpdateParameters(display_name="Rbac Alex Wu", given_name="Alex"))
    updated = rbac.users.get(user.object_id)
    assert updated.display_name == "Rbac Alex Wu"
    assert updated.given_name == "Alex"
    # A password reset through 1.6 (`forceChangePasswordNextLogin`) is accepted.
    rbac.users.update(
        user.object_id,
        UserUpdateParameters(
            password_profile=PasswordProfile(password=PASSWORD + "y", force_change_password_next_login=True)
        ),
    )

    rbac.users.delete(user.object_id)
    with pytest.raises(GraphErrorException) as err:
        rbac.users.get(user.object_id)
    assert err.value.response.status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"


def test_users_list_through_several_pages(server, rbac):
    prefix = f"rbacpage-{uuid.uuid4().hex[:6]}"
    created = {rbac.users.create(new_user(server, f"{prefix}-{i:03}")).object_id for i in range(PAGED_USERS)}
    listed = [u.object_id for u in rbac.users.list(filter=f"startswith(displayName,'{prefix}')")]
    assert len(listed) == PAGED_USERS
    assert set(listed) == created
    # The whole directory, unfiltered, also pages to the end.
    everyone = {u.object_id for u in rbac.users.list()}
    assert created <= everyone


def test_groups_members_and_is_member_of(server, rbac):
    group = rbac.groups.create(GroupCreateParameters(display_name="Rbac Sales", mail_nickname=f"rbac{uuid.uuid4().hex[:8]}"))
    assert group.object_id and group.object_type == "Group"
    assert group.security_enabled is True and group.mail_enabled is False
    outer = rbac.groups.create(GroupCreateParameters(display_name="Rbac All", mail_nickname=f"rbac{uuid.uuid4().hex[:8]}"))
    user = rbac.users.create(new_user(server, "Rbac Member"))

    member_url = f"{server.base_url}/{server.tenant_id}/directoryObjects/{user.object_id}"
    rbac.groups.add_member(group.object_id, member_url)
    group_url = f"https://graph.windows.net/{server.tenant_id}/directoryObjects/{group.object_id}"
    rbac.groups.add_member(outer.object_id, group_url)

    members = list(rbac.groups.get_group_members(group.object_id))
    assert [m.object_id for m in members] == [user.object_id]
    assert members[0].object_type == "User"
    assert members[0].display_name == "Rbac Member"

    check = CheckGroupMembershipParameters(group_id=group.object_id, member_id=user.object_id)
    assert rbac.groups.is_member_of(check).value is True
    # Transitive, through the nested group.
    nested = CheckGroupMembershipParameters(group_id=outer.object_id, member_id=user.object_id)
    assert rbac.groups.is_member_of(nested).value is True
    groups_of_user = set(rbac.users.get_member_groups(user.object_id, security_enabled_only=False))
    assert groups_of_user == {group.object_id, outer.object_id}

    rbac.groups.remove_member(group.object_id, user.object_id)
    assert rbac.groups.is_member_of(check).value is False
    assert list(rbac.groups.get_group_members(group.object_id)) == []

    fetched = rbac.groups.get(group.object_id)
    assert fetched.display_name == "Rbac Sales"
    rbac.groups.delete(outer.object_id)
    rbac.groups.delete(group.object_id)
    with pytest.raises(GraphErrorException):
        rbac.groups.get(group.object_id)


def test_get_objects_by_object_ids(server, rbac):
    user = rbac.users.create(new_user(server, "Rbac Object"))
    group = rbac.groups.create(GroupCreateParameters(display_name="Rbac Objects", mail_nickname=f"rbac{uuid.uuid4().hex[:8]}"))
    found = list(
        rbac.objects.get_objects_by_object_ids(
            GetObjectsParameters(object_ids=[user.object_id, group.object_id], include_directory_object_references=True)
        )
    )
    by_id = {o.object_id: o for o in found}
    assert set(by_id) == {user.object_id, group.object_id}
    assert by_id[user.object_id].object_type == "User"
    assert by_id[user.object_id].display_name == "Rbac Object"
    assert by_id[group.object_id].object_type == "Group"
    only_users = list(
        rbac.objects.get_objects_by_object_ids(
            GetObjectsParameters(object_ids=[user.object_id, group.object_id], types=["User"])
        )
    )
    assert [o.object_id for o in only_users] == [user.object_id]


def test_applications_and_service_principals(server, rbac):
    name = f"Rbac App {uuid.uuid4().hex[:6]}"
    app = rbac.applications.create(
        ApplicationCreateParameters(
            display_name=name,
            available_to_other_tenants=False,
            homepage="https://rbac.example/home",
            reply_urls=["https://rbac.example/callback"],
        )
    )
    assert app.object_id and app.app_id
    assert app.available_to_other_tenants is False
    assert app.reply_urls == ["https://rbac.example/callback"]
    listed = [a.object_id for a in rbac.applications.list(filter=f"displayName eq '{name}'")]
    assert listed == [app.object_id]
    assert rbac.applications.get(app.object_id).display_name == name

    sp = rbac.service_principals.create(ServicePrincipalCreateParameters(app_id=app.app_id, account_enabled=True))
    assert sp.object_id and sp.app_id == app.app_id
    assert [s.object_id for s in rbac.service_principals.list(filter=f"appId eq '{app.app_id}'")] == [sp.object_id]

    rbac.service_principals.delete(sp.object_id)
    with pytest.raises(GraphErrorException) as err:
        rbac.service_principals.get(sp.object_id)
    assert err.value.response.status_code == 404
    rbac.applications.delete(app.object_id)
    assert list(rbac.applications.list(filter=f"displayName eq '{name}'")) == []


class PortKeepingSession(requests.Session):
    """MSAL builds its home-realm-discovery URL from the authority's host without its port (a
    real tenant is on 443); MSAL's public `http_client` option takes this session, which puts the
    test server's port back."""

    def __init__(self, server):
        super().__init__()
        self.verify = server.ca_path
        self._host = "https://127.0.0.1/"
        self._base = server.base_url + "/"

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(self._host):
            url = self._base + url[len(self._host):]
        return super().request(method, url, *args, **kwargs)


def test_signed_in_user(server, rbac):
    """`signed_in_user` with a delegated token: a user signs in (MSAL username/password) to a
    public client consented for Azure AD Graph's Directory.AccessAsUser.All."""
    user = rbac.users.create(new_user(server, "Rbac Signed In"))
    app = rbac.applications.create(
        ApplicationCreateParameters(display_name=f"Rbac Public {uuid.uuid4().hex[:6]}", public_client=True)
    )
    sp = rbac.service_principals.create(ServicePrincipalCreateParameters(app_id=app.app_id, account_enabled=True))
    aad_graph = next(iter(rbac.service_principals.list(filter=f"appId eq '{AAD_GRAPH_APP_ID}'")))
    # Tenant-wide consent, given through Microsoft Graph (the same directory).
    admin = msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=server.client_secret,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        verify=server.ca_path,
    ).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert "access_token" in admin, admin
    grant = requests.post(
        f"{server.graph_base_url}/oauth2PermissionGrants",
        json={
            "clientId": sp.object_id,
            "consentType": "AllPrincipals",
            "resourceId": aad_graph.object_id,
            "scope": "Directory.AccessAsUser.All",
        },
        headers={"Authorization": f"Bearer {admin['access_token']}"},
        verify=server.ca_path,
        timeout=10,
    )
    assert grant.status_code == 201, grant.text
    public = msal.PublicClientApplication(
        app.app_id,
        authority=f"{server.base_url}/{server.tenant_id}",
        instance_discovery=False,
        http_client=PortKeepingSession(server),
    )
    result = public.acquire_token_by_username_password(
        user.user_principal_name, PASSWORD, scopes=["https://graph.windows.net/Directory.AccessAsUser.All"]
    )
    assert "access_token" in result, result
    credentials = BasicTokenAuthentication({"access_token": result["access_token"]})
    client = GraphRbacManagementClient(credentials, server.tenant_id, base_url=server.base_url)
    client.config.connection.verify = server.ca_path
    me = client.signed_in_user.get()
    assert me.object_id == user.object_id
    assert me.user_principal_name == user.user_principal_name
    assert list(client.signed_in_user.list_owned_objects()) == []
