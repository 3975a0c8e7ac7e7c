//! The Microsoft Graph permissions Cerulean knows: names, GUIDs and consent texts.
//!
//! Declared here, not loaded at run time. The names, GUIDs and texts are those of the official
//! permission reference (`reference/graph-permissions/permissions.json` for the texts and
//! `provisioningInfo.json` for the GUIDs, public cloud); `crates/schema/tests/reference.rs`
//! checks every entry against both files.
//!
//! A permission has up to two faces: an *app role* (scheme `Application`, granted to a client
//! by admin consent and put in `requiredResourceAccess` with `"type": "Role"`) and a *delegated
//! scope* (scheme `DelegatedWork`, an `oauth2PermissionScope`, `"type": "Scope"`).
//!
//! The OpenID Connect scopes `openid`, `profile`, `email` and `offline_access` are delegated
//! scopes of the Microsoft Graph application too, but the permission reference does not list
//! them; their GUIDs are the well-known ones every Entra tenant publishes.

use crate::permissions_graph::GRAPH_PERMISSIONS;

/// The application (client) id of Microsoft Graph: the `resourceAppId` of its permissions.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// One Microsoft Graph permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// `User.Read.All`
    pub name: &'static str,
    /// The GUID of the app role (scheme `Application`), if the permission has one.
    pub application_id: Option<&'static str>,
    /// The GUID of the delegated scope (scheme `DelegatedWork`), if the permission has one.
    pub delegated_id: Option<&'static str>,
    /// The admin consent title: of the delegated scope when there is one, else of the app role.
    pub admin_display_name: &'static str,
    /// The admin consent description, from the same scheme as `admin_display_name`.
    pub admin_description: &'static str,
    /// The user consent title of the delegated scope (empty when there is no delegated scope).
    pub user_display_name: &'static str,
    /// The user consent description of the delegated scope (empty when there is none).
    pub user_description: &'static str,
    /// Whether the delegated scope needs admin consent (app roles always do). For an
    /// application-only permission this is `true`.
    pub requires_admin_consent: bool,
    /// The app role's display name (`appRoles[].displayName`), if there is an app role.
    pub app_role_display_name: Option<&'static str>,
    /// The app role's description (`appRoles[].description`), if there is an app role.
    pub app_role_description: Option<&'static str>,
    /// `isEnabled` of the app role and scope in the reference: a disabled permission is
    /// published (so its GUID means the same thing) but cannot be consented to.
    pub enabled: bool,
}

impl Permission {
    /// True when the permission can be granted as an application permission (app role).
    pub fn is_app_role(&self) -> bool {
        self.application_id.is_some()
    }

    /// True when the permission can be granted as a delegated permission (scope).
    pub fn is_delegated(&self) -> bool {
        self.delegated_id.is_some()
    }
}

/// Every Microsoft Graph permission: the OpenID Connect scopes, then the generated catalogue
/// of the public cloud (`permissions_graph.rs`, about 1,100 permissions).
pub fn all() -> impl Iterator<Item = &'static Permission> + Clone {
    OIDC_PERMISSIONS.iter().chain(GRAPH_PERMISSIONS.iter())
}

/// Finds a permission by name, case-insensitively (scope strings arrive in any case).
pub fn by_name(name: &str) -> Option<&'static Permission> {
    all().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Finds the permission whose app role has this GUID (`requiredResourceAccess` `"Role"` ids).
pub fn by_app_role_id(id: &str) -> Option<&'static Permission> {
    all().find(|p| p.application_id.is_some_and(|a| a.eq_ignore_ascii_case(id)))
}

/// Finds the permission whose delegated scope has this GUID (`"Scope"` ids).
pub fn by_scope_id(id: &str) -> Option<&'static Permission> {
    all().find(|p| p.delegated_id.is_some_and(|a| a.eq_ignore_ascii_case(id)))
}

/// A delegated-only OpenID Connect scope that users may consent to themselves.
const fn oidc(
    name: &'static str,
    id: &'static str,
    admin: (&'static str, &'static str),
    user: (&'static str, &'static str),
) -> Permission {
    Permission {
        name,
        application_id: None,
        delegated_id: Some(id),
        admin_display_name: admin.0,
        admin_description: admin.1,
        user_display_name: user.0,
        user_description: user.1,
        requires_admin_consent: false,
        app_role_display_name: None,
        app_role_description: None,
        enabled: true,
    }
}

/// One row of the generated catalogue (`permissions_graph.rs`), kept positional so the table
/// stays compact: name, app-role GUID, scope GUID, admin texts, user texts, whether the scope
/// needs admin consent, app-role texts, enabled.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn g(
    name: &'static str,
    application_id: Option<&'static str>,
    delegated_id: Option<&'static str>,
    admin: (&'static str, &'static str),
    user: (&'static str, &'static str),
    requires_admin_consent: bool,
    app_role: Option<(&'static str, &'static str)>,
    enabled: bool,
) -> Permission {
    let (app_role_display_name, app_role_description) = match app_role {
        Some((d, t)) => (Some(d), Some(t)),
        None => (None, None),
    };
    Permission {
        name,
        application_id,
        delegated_id,
        admin_display_name: admin.0,
        admin_description: admin.1,
        user_display_name: user.0,
        user_description: user.1,
        requires_admin_consent,
        app_role_display_name,
        app_role_description,
        enabled,
    }
}

/// The OpenID Connect scopes, declared by hand: the permission reference does not list them.
static OIDC_PERMISSIONS: &[Permission] = &[
    oidc(
        "openid",
        "37f7f235-527c-4136-accd-4a02d197296e",
        (
            "Sign users in",
            "Allows users to sign in to the app with their work or school accounts and allows the app to see basic user profile information.",
        ),
        (
            "Sign you in",
            "Allows you to sign in to the app with your work or school account and allows the app to read your basic profile information.",
        ),
    ),
    oidc(
        "profile",
        "14dad69e-099b-42c9-810b-d002981feec1",
        (
            "View users' basic profile",
            "Allows the app to see your users' basic profile (e.g., name, picture, user name, email address)",
        ),
        (
            "View your basic profile",
            "Allows the app to see your basic profile (e.g., name, picture, user name, email address)",
        ),
    ),
    oidc(
        "email",
        "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        ("View users' email address", "Allows the app to read your users' primary email address"),
        ("View your email address", "Allows the app to read your primary email address"),
    ),
    oidc(
        "offline_access",
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        (
            "Maintain access to data you have given it access to",
            "Allows the app to see and update the data you gave it access to, even when users are not currently using the app. This does not give the app any additional permissions.",
        ),
        (
            "Maintain access to data you have given it access to",
            "Allows the app to see and update the data you gave it access to, even when you are not currently using the app. This does not give the app any additional permissions.",
        ),
    ),
];

/// The application (client) id of Azure AD Graph (`https://graph.windows.net`).
pub const AAD_GRAPH_APP_ID: &str = "00000002-0000-0000-c000-000000000000";

/// The permissions of the Azure AD Graph resource ("Windows Azure Active Directory"), a table of
/// their own: the same names carry other GUIDs there. GUIDs are those `provisioningInfo.json`
/// lists with `resourceAppId` `00000002-0000-0000-c000-000000000000` (public cloud, enabled,
/// not hidden), plus the classic permissions it does not list (`Directory.*`, `User.Read*`),
/// whose GUIDs are those every tenant's Azure AD Graph service principal publishes. Texts are
/// those of the Graph permission of the same name. Checked by `crates/schema/tests/reference.rs`.
pub fn aad_graph_all() -> &'static [Permission] {
    AAD_GRAPH_PERMISSIONS
}

static AAD_GRAPH_PERMISSIONS: &[Permission] = &[
    // provisioningInfo.json
    Permission {
        name: "AgentIdUser.ReadWrite.All",
        enabled: true,
        application_id: Some("d0ca41aa-9212-8ec6-8bee-d30600b82eda"),
        delegated_id: Some("c3da4fc2-a3f7-fb10-b270-15dd66d000b6"),
        admin_display_name: "Read and write all agent ID users' full profiles",
        admin_description: "Allows the app to create agent users, read and write the full set of profile properties, reports, and managers of agent ID users, delete and restore agent users in your organization, and read basic company properties, on behalf of the signed-in user.",
        user_display_name: "Read and write all agent ID users' full profiles",
        user_description: "Allows the app to create agent users, read and write the full set of profile properties, reports, and managers of agent ID users, delete and restore agent users in your organization, and read basic company properties, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write all agent ID users' full profiles"),
        app_role_description: Some(
            "Allows the app to create agent users, read and update agent ID user profiles and read basic company properties, delete and restore agent users without a signed in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "AgentIdUser.ReadWrite.IdentityParentedBy",
        enabled: true,
        application_id: Some("b289933a-7ef7-c0d0-dedf-17468cb8aaf4"),
        delegated_id: Some("a1943f6a-e709-4b6c-baf0-25f7912a03bf"),
        admin_display_name: "Read and write full profiles of agent ID users under an agent blueprint",
        admin_description: "Allows the app to create agent users, read and write the full set of profile properties, reports, and managers of agent ID users in your organization, delete and restore agent users under an agent blueprint, and read basic company properties, on behalf of the signed-in user.",
        user_display_name: "Read and write full profiles of agent ID users under an agent blueprint",
        user_description: "Allows the app to create agent users, read and write the full set of profile properties, reports, and managers of agent ID users in your organization, delete and restore agent users under an agent blueprint, and read basic company properties, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write full profiles of agent ID users under an agent blueprint"),
        app_role_description: Some(
            "Allows the app to create agent users, read and update agent ID user profiles, delete and restore agent users under an agent blueprint, and read basic company properties without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "AppRoleAssignment.ReadWrite.All",
        enabled: true,
        application_id: Some("06b708a9-e830-4db3-a914-8e69da51d44f"),
        delegated_id: Some("84bccea3-f856-4a8a-967b-dbe0a3d53a64"),
        admin_display_name: "Manage app permission grants and app role assignments",
        admin_description: "Allows the app to manage permission grants for application permissions to any API (including Microsoft Graph) and application assignments for any app, on behalf of the signed-in user.",
        user_display_name: "Manage app permission grants and app role assignments",
        user_description: "Allows the app to manage permission grants for application permissions to any API (including Microsoft Graph) and application assignments for any app, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Manage app permission grants and app role assignments"),
        app_role_description: Some(
            "Allows the app to manage permission grants for application permissions to any API (including Microsoft Graph) and application assignments for any app, without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Application-RemoteDesktopConfig.ReadWrite.All",
        enabled: true,
        application_id: Some("3be0012a-cc4e-426b-895b-f9c836bf6381"),
        delegated_id: Some("ffa91d43-2ad8-45cc-b592-09caddeb24bb"),
        admin_display_name: "Read and write the remote desktop security configuration for all apps",
        admin_description: "Allows the app to read and write other apps' remote desktop security configuration, on behalf of the signed-in user.",
        user_display_name: "Read and write the remote desktop security configuration for apps",
        user_description: "Allows the app to read and write other apps' remote desktop security configuration, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write the remote desktop security configuration for all apps"),
        app_role_description: Some(
            "Allows the app to read and write the remote desktop security configuration for all apps in your organization, without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Application.Read.All",
        enabled: true,
        application_id: Some("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
        delegated_id: Some("c79f8feb-a9db-4090-85f9-90d820caa0eb"),
        admin_display_name: "Read applications",
        admin_description: "Allows the app to read applications and service principals on behalf of the signed-in user.",
        user_display_name: "Read applications",
        user_description: "Allows the app to read applications and service principals on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read all applications"),
        app_role_description: Some(
            "Allows the app to read all applications and service principals without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Application.ReadWrite.All",
        enabled: true,
        application_id: Some("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"),
        delegated_id: Some("bdfbf15f-ee85-4955-8675-146e8e5296b5"),
        admin_display_name: "Read and write all applications",
        admin_description: "Allows the app to create, read, update and delete applications and service principals on behalf of the signed-in user. Allows management of app role assignments, except those exposed by Microsoft Graph. Does not allow management of delegated permission grants.",
        user_display_name: "Read and write applications",
        user_description: "Allows the app to create, read, update and delete applications and service principals on your behalf. Allows management of app role assignments, except those exposed by Microsoft Graph. Does not allow management of delegated permission grants.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write all applications"),
        app_role_description: Some(
            "Allows the app to create, read, update and delete applications and service principals without a signed-in user. Allows management of app role assignments, except those exposed by Microsoft Graph. Does not allow management of delegated permission grants.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Application.ReadWrite.OwnedBy",
        enabled: true,
        application_id: Some("18a4783c-866b-4cc7-a460-3d5e5662c884"),
        delegated_id: None,
        admin_display_name: "Manage apps that this app creates or owns",
        admin_description: "Allows the app to create other applications, and fully manage those applications (read, update, update application secrets and delete), without a signed-in user.  It cannot update any apps that it is not an owner of.",
        user_display_name: "",
        user_description: "",
        requires_admin_consent: true,
        app_role_display_name: Some("Manage apps that this app creates or owns"),
        app_role_description: Some(
            "Allows the app to create other applications, and fully manage those applications (read, update, update application secrets and delete), without a signed-in user.  It cannot update any apps that it is not an owner of.",
        ),
    },
    // well-known (not in provisioningInfo.json)
    Permission {
        name: "Directory.AccessAsUser.All",
        enabled: true,
        application_id: None,
        delegated_id: Some("a42657d6-7f20-40e3-b6f0-cee03008a62a"),
        admin_display_name: "Access directory as the signed in user",
        admin_description: "Allows the app to have the same access to information in the directory as the signed-in user.",
        user_display_name: "Access the directory as you",
        user_description: "Allows the app to have the same access to information in your work or school directory as you do.",
        requires_admin_consent: true,
        app_role_display_name: None,
        app_role_description: None,
    },
    // well-known (not in provisioningInfo.json)
    Permission {
        name: "Directory.Read.All",
        enabled: true,
        application_id: Some("5778995a-e1bf-45b8-affa-663a9f3f4d04"),
        delegated_id: Some("5778995a-e1bf-45b8-affa-663a9f3f4d04"),
        admin_display_name: "Read directory data",
        admin_description: "Allows the app to read data in your organization's directory, such as users, groups and apps.",
        user_display_name: "Read directory data",
        user_description: "Allows the app to read data in your organization's directory.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read directory data"),
        app_role_description: Some(
            "Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user.",
        ),
    },
    // well-known (not in provisioningInfo.json)
    Permission {
        name: "Directory.ReadWrite.All",
        enabled: true,
        application_id: Some("78c8a3c8-a07e-4b9e-af1b-b5ccab50a175"),
        delegated_id: Some("78c8a3c8-a07e-4b9e-af1b-b5ccab50a175"),
        admin_display_name: "Read and write directory data",
        admin_description: "Allows the app to read and write data in your organization's directory, such as users, and groups.  It does not allow the app to delete users or groups, or reset user passwords but it does allow modification of recovery properties that may lead to account takeover.",
        user_display_name: "Read and write directory data",
        user_description: "Allows the app to read and write data in your organization's directory, such as other users, groups.  It does not allow the app to delete users or groups, or reset user passwords but it does allow modification of recovery properties that may lead to account takeover.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write directory data"),
        app_role_description: Some(
            "Allows the app to read and write data in your organization's directory, such as users, and groups, without a signed-in user.  It does not allow user or group deletion.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Group.Create",
        enabled: true,
        application_id: Some("bf7b1a76-6e77-406b-b258-bf5c7720e98f"),
        delegated_id: None,
        admin_display_name: "Create groups",
        admin_description: "Allows the app to create groups without a signed-in user.",
        user_display_name: "",
        user_description: "",
        requires_admin_consent: true,
        app_role_display_name: Some("Create groups"),
        app_role_description: Some("Allows the app to create groups without a signed-in user."),
    },
    // provisioningInfo.json
    Permission {
        name: "Group.ManageProtection.All",
        enabled: true,
        application_id: Some("60f8cea0-2476-45c9-ab18-70e79e60ad14"),
        delegated_id: Some("36263ed6-285e-4f84-b25a-62ec2ba17d29"),
        admin_display_name: "Manage the Microsoft Information Protection (MIP) label for M365 and security groups.",
        admin_description: "Allows the app to list groups, and to read their basic properties and manage the MIP label for all label enabled groups on behalf of the signed-in user. ",
        user_display_name: "Manage group label.",
        user_description: "Allows the app to list groups, to read their properties, and manage the MIP label on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some(
            "Manage the Microsoft Information Protection (MIP) label for M365 and security groups.",
        ),
        app_role_description: Some(
            "Allows the app to list groups, and to read their basic properties and manage the MIP label for all label enabled groups without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Group.Read.All",
        enabled: true,
        application_id: Some("5b567255-7703-4780-807c-7be8301ae99b"),
        delegated_id: Some("5f8c59db-677d-491f-a6b8-5f174b11ec1d"),
        admin_display_name: "Read all groups",
        admin_description: "Allows the app to list groups, and to read their properties and all group memberships on behalf of the signed-in user.  Also allows the app to read calendar, conversations, files, and other group content for all groups the signed-in user can access. ",
        user_display_name: "Read all groups",
        user_description: "Allows the app to list groups, and to read their properties and all group memberships on your behalf.  Also allows the app to read calendar, conversations, files, and other group content for all groups you can access.  ",
        requires_admin_consent: true,
        app_role_display_name: Some("Read all groups"),
        app_role_description: Some(
            "Allows the app to read group properties and memberships, and read conversations for all groups, without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Group.ReadBasic.All",
        enabled: true,
        application_id: Some("07d67222-3a10-4d3b-9ddc-b8aa43198a00"),
        delegated_id: Some("ba1917bc-a64b-4c71-b66d-229d4a520e66"),
        admin_display_name: "Read all groups' basic property",
        admin_description: "Allows the app to read all group basic properties on behalf of the signed-in user.",
        user_display_name: "Read all groups' basic property",
        user_description: "Allows the app to read all group basic properties on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read all groups' basic property"),
        app_role_description: Some(
            "Allows the app to read all group basic properties. All of these operations can be performed by the app without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Group.ReadWrite.All",
        enabled: true,
        application_id: Some("62a82d76-70ea-41e2-9197-370581804d09"),
        delegated_id: Some("4e46008b-f24c-477d-8fff-7bb4ec7aafe0"),
        admin_display_name: "Read and write all groups",
        admin_description: "Allows the app to create groups and read all group properties and memberships on behalf of the signed-in user.  Additionally allows group owners to manage their groups and allows group members to update group content.",
        user_display_name: "Read and write all groups",
        user_description: "Allows the app to create groups and read all group properties and memberships on your behalf.  Additionally allows the app to manage your groups and to update group content for groups you are a member of.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write all groups"),
        app_role_description: Some(
            "Allows the app to create groups, read all group properties and memberships, update group properties and memberships, and delete groups. Also allows the app to read and write conversations. All of these operations can be performed by the app without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "GroupMember.ReadBasic.All",
        enabled: true,
        application_id: Some("8222c640-cae5-4860-8d11-b32cfad95e03"),
        delegated_id: Some("28539367-358c-4ed9-b7f0-793eccb8fd34"),
        admin_display_name: "Read group memberships",
        admin_description: "Allows the app to read basic group memberships that you have access to in the organization, on behalf of the signed-in user.",
        user_display_name: "Read group memberships",
        user_description: "Allows the app to read basic group memberships that you have access to in the organization, on behalf of the signed-in user.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read all group memberships"),
        app_role_description: Some(
            "Allows the app to read all basic group memberships in the organization, without signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Policy.ReadWrite.FedTokenValidation",
        enabled: true,
        application_id: Some("90bbca0b-227c-4cdc-8083-1c6cfb95bac6"),
        delegated_id: Some("be1be369-4540-4ac9-8928-79de99f70d8f"),
        admin_display_name: "Read and write your organization's federated token validation policy",
        admin_description: "Allows the app to read and write your organization's federated token validation policy on behalf of the signed-in user.",
        user_display_name: "Read and write your organization's federated token validation policy",
        user_description: "Allows the app to read and write your organization's federated token validation policy on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write your organization's federated token validation policy"),
        app_role_description: Some(
            "Allows the app to read and write your organization's federated token validation policy without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "Policy.ReadWrite.SecurityDefaults",
        enabled: true,
        application_id: Some("1c6e93a6-28e2-4cbb-9f64-1a46a821124d"),
        delegated_id: Some("0b2a744c-2abf-4f1e-ad7e-17a087e2be99"),
        admin_display_name: "Read and write your organization's security defaults policy",
        admin_description: "Allows the app to read and write your organization's security defaults policy without a signed-in user.",
        user_display_name: "Read and write your organization's security defaults policy",
        user_description: "Allows the app to read and write your organization's security defaults policy on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Read and write your organization's security defaults policy"),
        app_role_description: Some(
            "Allows the app to read and write your organization's security defaults policy without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "User-Mail.ReadWrite.All",
        enabled: true,
        application_id: Some("280d0935-0796-47d1-8d26-273470a3f17a"),
        delegated_id: Some("6166886a-9576-433b-8544-658177bdef1d"),
        admin_display_name: "Update other mails property for all users",
        admin_description: "Allows the app to update other mails property for all users for all users, on behalf of the signed-in user.",
        user_display_name: "Update other mails property for all users",
        user_description: "Allows the app to Update other mails property for all users, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Update other mails property for all users"),
        app_role_description: Some(
            "Allows the app to update other mails property for all users, without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "User-PasswordProfile.ReadWrite.All",
        enabled: true,
        application_id: Some("cc117bb9-00cf-4eb8-b580-ea2a878fe8f7"),
        delegated_id: Some("56760768-b641-451f-8906-e1b8ab31bca7"),
        admin_display_name: "Update password profile property and reset password for all users",
        admin_description: "Allows the app to update password profile property and reset password for all users for all users, on behalf of the signed-in user.",
        user_display_name: "Update password profile property and reset password for all users",
        user_description: "Allows the app to update password profile property and reset password for all users, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Update password profile property and reset password for all users"),
        app_role_description: Some(
            "Allows the app to update password profile property and reset password for all users, without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "User-Phone.ReadWrite.All",
        enabled: true,
        application_id: Some("86ceff06-c822-49ff-989a-d912845ffe69"),
        delegated_id: Some("e29d5979-5b06-4a7f-ae24-6a9348d2e1ff"),
        admin_display_name: "Update business phones and mobile phone properties for all users",
        admin_description: "Allows the app to update business phones and mobile phone properties for all users, on behalf of the signed-in user.",
        user_display_name: "Update business phones and mobile phone properties for all users",
        user_description: "Allows the app to update business phones and mobile phone properties for all users, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Update business phones and mobile phone properties for all users"),
        app_role_description: Some(
            "Allows the app to update business phones and mobile phone properties for all users, without a signed-in user.",
        ),
    },
    // provisioningInfo.json
    Permission {
        name: "User.DeleteRestore.All",
        enabled: true,
        application_id: Some("eccc023d-eccf-4e7b-9683-8813ab36cecc"),
        delegated_id: Some("4bb440cd-2cf2-4f90-8004-aa2acd2537c5"),
        admin_display_name: "Delete and restore user accounts",
        admin_description: "Allows the app to delete and restore users' accounts, on behalf of the signed-in user.",
        user_display_name: "Delete and restore user accounts",
        user_description: "Allows the app to delete and restore users' accounts, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: Some("Delete and restore user accounts"),
        app_role_description: Some("Allows the app to delete and restore users' accounts, without a signed-in user."),
    },
    // well-known (not in provisioningInfo.json)
    Permission {
        name: "User.Read",
        enabled: true,
        application_id: None,
        delegated_id: Some("311a71cc-e848-46a1-bdf8-97ff7156d8e6"),
        admin_display_name: "Sign in and read user profile",
        admin_description: "Allows users to sign-in to the app, and allows the app to read the profile of signed-in users. It also allows the app to read basic company information of signed-in users.",
        user_display_name: "Sign you in and read your profile",
        user_description: "Allows you to sign in to the app with your organizational account and let the app read your profile. It also allows the app to read basic company information.",
        requires_admin_consent: false,
        app_role_display_name: None,
        app_role_description: None,
    },
    // well-known (not in provisioningInfo.json)
    Permission {
        name: "User.Read.All",
        enabled: true,
        application_id: None,
        delegated_id: Some("c582532d-9d9e-43bd-a97c-2667a28ce295"),
        admin_display_name: "Read all users' full profiles and company properties",
        admin_description: "Allows the app to read the full set of user properties of all users in the organization and read company properties, on behalf of the signed-in user.",
        user_display_name: "Read all users' full profiles and company properties",
        user_description: "Allows the app to read the full set of user properties of all users in the organization and read company properties, on your behalf.",
        requires_admin_consent: true,
        app_role_display_name: None,
        app_role_description: None,
    },
    // well-known (not in provisioningInfo.json)
    Permission {
        name: "User.ReadBasic.All",
        enabled: true,
        application_id: None,
        delegated_id: Some("cba73afc-7f69-4d86-8450-4978e04ecd1a"),
        admin_display_name: "Read all users' basic profiles",
        admin_description: "Allows the app to read a basic set of profile properties of other users in your organization on behalf of the signed-in user. This includes display name, first and last name, email address, photo, id and security identifier. Also allows the app to read the full profile of the signed-in user.",
        user_display_name: "Read all users' basic profiles",
        user_description: "Allows the app to read a basic set of profile properties of other users in your organization on your behalf. Includes display name, first and last name, email address, photo, id and security identifier. Also allows the app to read the full profile of the signed-in user.",
        requires_admin_consent: false,
        app_role_display_name: None,
        app_role_description: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let p = by_name("user.read.all").unwrap();
        assert_eq!(p.name, "User.Read.All");
        assert_eq!(by_app_role_id(p.application_id.unwrap()).unwrap().name, "User.Read.All");
        assert_eq!(by_scope_id(p.delegated_id.unwrap()).unwrap().name, "User.Read.All");
        assert!(by_name("Nope.Read").is_none());
        assert!(by_app_role_id("00000000-0000-0000-0000-000000000000").is_none());
        assert_eq!(by_name("openid").unwrap().delegated_id, Some("37f7f235-527c-4136-accd-4a02d197296e"));
        assert!(by_name("User.Read").unwrap().application_id.is_none());
        assert!(by_name("Application.ReadWrite.OwnedBy").unwrap().delegated_id.is_none());
    }

    #[test]
    fn names_and_ids_are_unique_guids() {
        let mut names: Vec<_> = all().map(|p| p.name.to_ascii_lowercase()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len());
        // Unique per face: one permission (User.Export.All) has the same GUID for both.
        let mut app_ids: Vec<_> = all().filter_map(|p| p.application_id).collect();
        let mut scope_ids: Vec<_> = all().filter_map(|p| p.delegated_id).collect();
        for ids in [&mut app_ids, &mut scope_ids] {
            let n = ids.len();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(n, ids.len());
        }
        for id in app_ids.into_iter().chain(scope_ids) {
            let parts: Vec<_> = id.split('-').map(str::len).collect();
            assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
        for p in all() {
            assert!(p.is_app_role() || p.is_delegated(), "{}", p.name);
            assert_eq!(p.is_app_role(), p.app_role_display_name.is_some(), "{}", p.name);
            assert!(!p.admin_display_name.is_empty(), "{}", p.name);
        }
    }

    #[test]
    fn covers_the_bootstrap_set() {
        for name in [
            "Directory.ReadWrite.All",
            "User.ReadWrite.All",
            "Group.ReadWrite.All",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "RoleManagement.ReadWrite.Directory",
            "Policy.ReadWrite.ConditionalAccess",
            "AuditLog.Read.All",
            "IdentityRiskyUser.ReadWrite.All",
        ] {
            assert!(by_name(name).is_some_and(Permission::is_app_role), "{name}");
        }
    }
}
