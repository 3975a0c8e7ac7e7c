//! Permission rules for routes Cerulean serves that the official permission reference
//! (`permissions.json`) does not list. Each rule cites the Graph API page it comes from; the
//! reference-derived table in [`crate::authz_table`] always wins where it has a rule.
//!
//! Segments that only shape the response (`/$count`, a type cast) need what the collection
//! they apply to needs, so they map onto that collection's reference rule.

/// A supplementary rule: the permissions for a method and reference-style path.
pub struct SupplementRule {
    pub method: &'static str,
    pub path: &'static str,
    pub application: &'static [&'static str],
    pub delegated: &'static [&'static str],
}

/// "Add members" (group-post-members): GroupMember.ReadWrite.All least privileged, then
/// Group.ReadWrite.All, Directory.ReadWrite.All.
/// "List deletedItems" / "Get deleted item" / "Permanently delete an item" (directory-deleteditems-*):
/// per type; the union is required at the route, the directory checks nothing further.
pub static RULES: &[SupplementRule] = &[
    // "directoryObject: delta" (directoryobject-delta): per tracked type, that type's read
    // permission (user User.Read.All, group Group.Read.All, application and servicePrincipal
    // Application.Read.All, device Device.Read.All, orgContact OrgContact.Read.All,
    // administrativeUnit AdministrativeUnit.Read.All). The route needs one of them; the handler
    // then requires, for each type the round tracks, a permission of that type's own delta route.
    SupplementRule {
        method: "GET",
        path: "/directoryobjects/delta",
        application: DIRECTORY_OBJECTS_DELTA,
        delegated: DIRECTORY_OBJECTS_DELTA,
    },
    // "administrativeUnit: delta": the reference lists the root path; the set itself is served
    // under `/directory` in v1.0, so its delta is too, with the same permissions.
    SupplementRule {
        method: "GET",
        path: "/directory/administrativeunits/delta",
        application: &[
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        delegated: &[
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    },
    // "Update user" (user-update) for the signed-in user: User.ReadWrite least privileged,
    // then User.ReadWrite.All, Directory.ReadWrite.All (delegated only; app tokens have no
    // `/me`). The reference lists no rule for `PATCH /me`.
    SupplementRule {
        method: "PATCH",
        path: "/me",
        application: &[],
        delegated: &["User.ReadWrite", "User.ReadWrite.All", "Directory.ReadWrite.All"],
    },
    // "user: changePassword" (user-changepassword) documents Directory.AccessAsUser.All for
    // delegated work accounts; the reference lists only User-PasswordProfile.ReadWrite.All.
    SupplementRule {
        method: "POST",
        path: "/me/changepassword",
        application: &[],
        delegated: &["Directory.AccessAsUser.All"],
    },
    // "List deletedItems" (directory-deleteditems-list) for applications and service
    // principals: Application.Read.All least privileged, then Application.ReadWrite.All,
    // Directory.Read.All, Directory.ReadWrite.All. Restoring and purging them
    // (directory-deleteditems-restore, directory-deleteditems-delete): Application.ReadWrite.All.
    SupplementRule {
        method: "GET",
        path: "/directory/deleteditems/microsoft.graph.application",
        application: &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        delegated: &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    },
    SupplementRule {
        method: "GET",
        path: "/directory/deleteditems/microsoft.graph.serviceprincipal",
        application: &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        delegated: &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    },
    SupplementRule {
        method: "POST",
        path: "/groups/{id}/members/$ref",
        application: &["GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"],
        delegated: &["GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"],
    },
    SupplementRule {
        method: "GET",
        path: "/directory/deleteditems/microsoft.graph.user",
        application: &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
        delegated: &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    },
    SupplementRule {
        method: "GET",
        path: "/directory/deleteditems/microsoft.graph.group",
        application: &["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
        delegated: &["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    },
    SupplementRule {
        method: "GET",
        path: "/directory/deleteditems/{id}",
        application: &[
            "User.Read.All",
            "User.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
        ],
        delegated: &[
            "User.Read.All",
            "User.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
        ],
    },
    SupplementRule {
        method: "DELETE",
        path: "/directory/deleteditems/{id}",
        application: &[
            "User.DeleteRestore.All",
            "User.ReadWrite.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
            "AdministrativeUnit.ReadWrite.All",
        ],
        delegated: &[
            "User.DeleteRestore.All",
            "User.ReadWrite.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
            "AdministrativeUnit.ReadWrite.All",
        ],
    },
    // Restoring a group needs Group.ReadWrite.All (directory-deleteditems-restore), an
    // administrative unit AdministrativeUnit.ReadWrite.All; the reference lists only the user
    // permissions for this path.
    SupplementRule {
        method: "POST",
        path: "/directory/deleteditems/{id}/restore",
        application: &[
            "Group.ReadWrite.All",
            "Application.ReadWrite.All",
            "Directory.ReadWrite.All",
            "AdministrativeUnit.ReadWrite.All",
        ],
        delegated: &[
            "Group.ReadWrite.All",
            "Application.ReadWrite.All",
            "Directory.ReadWrite.All",
            "AdministrativeUnit.ReadWrite.All",
        ],
    },
    // "List deletedItems" (directory-deleteditems-list) for administrative units:
    // AdministrativeUnit.Read.All least privileged, then AdministrativeUnit.ReadWrite.All,
    // Directory.Read.All, Directory.ReadWrite.All. Getting, restoring and purging one is allowed by
    // the unit permissions too (the rules of `/directory/deleteditems/{id}` above include them).
    SupplementRule {
        method: "GET",
        path: "/directory/deleteditems/microsoft.graph.administrativeunit",
        application: &[
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        delegated: &[
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    },
    // "Update entity in contacts" / "Delete entity from contacts" (Update-MgContact,
    // Remove-MgContact, Microsoft Graph PowerShell v1.0): writing organizational contacts is a
    // directory write, Directory.ReadWrite.All (OrgContact has no ReadWrite permission). The
    // reference lists no rule for either.
    SupplementRule {
        method: "PATCH",
        path: "/contacts/{id}",
        application: &["Directory.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All"],
    },
    SupplementRule {
        method: "DELETE",
        path: "/contacts/{id}",
        application: &["Directory.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All"],
    },
    // Open extensions ("Create openTypeExtension", "Get openTypeExtension", "Update
    // openTypeExtension", "Delete openTypeExtension"): on a user, User.Read(.All) to read and
    // User.ReadWrite(.All) to write, or Directory.*; on a group, Group.Read.All /
    // Group.ReadWrite.All, or Directory.*. The reference lists only `/me/extensions`.
    SupplementRule {
        method: "GET",
        path: "/users/{id}/extensions",
        application: &["Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All"],
        delegated: &[
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "User.Read",
            "User.Read.All",
            "User.ReadWrite",
            "User.ReadWrite.All",
        ],
    },
    SupplementRule {
        method: "POST",
        path: "/users/{id}/extensions",
        application: &["Directory.ReadWrite.All", "User.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "User.ReadWrite", "User.ReadWrite.All"],
    },
    SupplementRule {
        method: "GET",
        path: "/users/{id}/extensions/{id}",
        application: &["Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All"],
        delegated: &[
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "User.Read",
            "User.Read.All",
            "User.ReadWrite",
            "User.ReadWrite.All",
        ],
    },
    SupplementRule {
        method: "PATCH",
        path: "/users/{id}/extensions/{id}",
        application: &["Directory.ReadWrite.All", "User.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "User.ReadWrite", "User.ReadWrite.All"],
    },
    SupplementRule {
        method: "DELETE",
        path: "/users/{id}/extensions/{id}",
        application: &["Directory.ReadWrite.All", "User.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "User.ReadWrite", "User.ReadWrite.All"],
    },
    SupplementRule {
        method: "GET",
        path: "/groups/{id}/extensions",
        application: &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All"],
        delegated: &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All"],
    },
    SupplementRule {
        method: "POST",
        path: "/groups/{id}/extensions",
        application: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
    },
    SupplementRule {
        method: "GET",
        path: "/groups/{id}/extensions/{id}",
        application: &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All"],
        delegated: &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All"],
    },
    SupplementRule {
        method: "PATCH",
        path: "/groups/{id}/extensions/{id}",
        application: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
    },
    SupplementRule {
        method: "DELETE",
        path: "/groups/{id}/extensions/{id}",
        application: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
    },
];

const DIRECTORY_OBJECTS_DELTA: &[&str] = &[
    "AdministrativeUnit.Read.All",
    "AdministrativeUnit.ReadWrite.All",
    "AgentIdUser.ReadWrite.All",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "OrgContact.Read.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

/// Paths whose permission is that of another (reference) path.
pub static ALIASES: &[(&str, &str)] = &[
    // "Get licenseDetails" (licensedetails-get) documents the permissions of the list.
    ("/users/{id}/licensedetails/{id}", "/users/{id}/licensedetails"),
    // The Graph SDKs call functions in their qualified, parenthesised form.
    ("/directoryobjects/delta()", "/directoryobjects/delta"),
    ("/directoryobjects/microsoft.graph.delta()", "/directoryobjects/delta"),
    ("/applications/$count", "/applications"),
    ("/serviceprincipals/$count", "/serviceprincipals"),
    ("/users/$count", "/users"),
    ("/groups/$count", "/groups"),
    ("/users/{id}/memberof/$count", "/users/{id}/memberof"),
    ("/groups/{id}/members/$count", "/groups/{id}/members"),
    ("/groups/{id}/members/microsoft.graph.user", "/groups/{id}/members"),
    ("/groups/{id}/members/microsoft.graph.group", "/groups/{id}/members"),
    ("/users/{id}/memberof/microsoft.graph.group", "/users/{id}/memberof"),
    ("/groups/{id}/owners/$count", "/groups/{id}/owners"),
    ("/groups/{id}/memberof/$count", "/groups/{id}/memberof"),
    ("/directory/deleteditems/microsoft.graph.user/$count", "/directory/deleteditems/microsoft.graph.user"),
    ("/directory/deleteditems/microsoft.graph.group/$count", "/directory/deleteditems/microsoft.graph.group"),
    ("/groups/{id}/memberof/microsoft.graph.group", "/groups/{id}/memberof"),
    ("/groups/{id}/owners/microsoft.graph.user", "/groups/{id}/owners"),
    // The remaining transitive casts (issue 4) read the uncast collection.
    ("/users/{id}/transitivememberof/microsoft.graph.directoryrole", "/users/{id}/transitivememberof"),
    ("/users/{id}/transitivememberof/microsoft.graph.directoryrole/$count", "/users/{id}/transitivememberof"),
    ("/users/{id}/transitivememberof/microsoft.graph.administrativeunit", "/users/{id}/transitivememberof"),
    ("/users/{id}/transitivememberof/microsoft.graph.administrativeunit/$count", "/users/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/microsoft.graph.directoryrole", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/microsoft.graph.directoryrole/$count", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/microsoft.graph.administrativeunit", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/microsoft.graph.administrativeunit/$count", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivemembers/microsoft.graph.device", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.device/$count", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.orgcontact", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.orgcontact/$count", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.serviceprincipal", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.serviceprincipal/$count", "/groups/{id}/transitivemembers"),
    ("/devices/{id}/transitivememberof/microsoft.graph.group/$count", "/devices/{id}/transitivememberof"),
    ("/contacts/{id}/transitivememberof/microsoft.graph.group/$count", "/contacts/{id}/transitivememberof"),
    ("/users/{id}/transitivememberof/$count", "/users/{id}/transitivememberof"),
    ("/users/{id}/transitivememberof/microsoft.graph.group", "/users/{id}/transitivememberof"),
    ("/users/{id}/transitivememberof/microsoft.graph.group/$count", "/users/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/$count", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/microsoft.graph.group", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivememberof/microsoft.graph.group/$count", "/groups/{id}/transitivememberof"),
    ("/groups/{id}/transitivemembers/$count", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.user", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.user/$count", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.group", "/groups/{id}/transitivemembers"),
    ("/groups/{id}/transitivemembers/microsoft.graph.group/$count", "/groups/{id}/transitivemembers"),
    // Devices, organizational contacts, administrative units (issue 4).
    ("/users/{id}/memberof/microsoft.graph.administrativeunit", "/users/{id}/memberof"),
    ("/users/{id}/memberof/microsoft.graph.directoryrole", "/users/{id}/memberof"),
    ("/users/{id}/memberof/microsoft.graph.directoryrole/$count", "/users/{id}/memberof"),
    ("/groups/{id}/memberof/microsoft.graph.directoryrole", "/groups/{id}/memberof"),
    ("/groups/{id}/memberof/microsoft.graph.directoryrole/$count", "/groups/{id}/memberof"),
    ("/serviceprincipals/{id}/memberof/microsoft.graph.directoryrole", "/serviceprincipals/{id}/memberof"),
    ("/serviceprincipals/{id}/memberof/microsoft.graph.directoryrole/$count", "/serviceprincipals/{id}/memberof"),
    ("/groups/{id}/memberof/microsoft.graph.administrativeunit", "/groups/{id}/memberof"),
    ("/devices/{id}/memberof/microsoft.graph.administrativeunit", "/devices/{id}/memberof"),
    (
        "/directory/deleteditems/microsoft.graph.administrativeunit/$count",
        "/directory/deleteditems/microsoft.graph.administrativeunit",
    ),
    ("/groups/{id}/members/microsoft.graph.device", "/groups/{id}/members"),
    ("/groups/{id}/members/microsoft.graph.orgcontact", "/groups/{id}/members"),
    ("/groups/{id}/members/microsoft.graph.serviceprincipal", "/groups/{id}/members"),
    ("/devices/$count", "/devices"),
    ("/devices/{id}/registeredowners/$count", "/devices/{id}/registeredowners"),
    ("/devices/{id}/registeredowners/microsoft.graph.user", "/devices/{id}/registeredowners"),
    ("/devices/{id}/registeredusers/$count", "/devices/{id}/registeredusers"),
    ("/devices/{id}/registeredusers/microsoft.graph.user", "/devices/{id}/registeredusers"),
    ("/devices/{id}/memberof/$count", "/devices/{id}/memberof"),
    ("/devices/{id}/memberof/microsoft.graph.group", "/devices/{id}/memberof"),
    ("/devices/{id}/transitivememberof/$count", "/devices/{id}/transitivememberof"),
    ("/devices/{id}/transitivememberof/microsoft.graph.group", "/devices/{id}/transitivememberof"),
    ("/contacts/$count", "/contacts"),
    ("/contacts/{id}/memberof/$count", "/contacts/{id}/memberof"),
    ("/contacts/{id}/memberof/microsoft.graph.group", "/contacts/{id}/memberof"),
    ("/contacts/{id}/transitivememberof/$count", "/contacts/{id}/transitivememberof"),
    ("/contacts/{id}/transitivememberof/microsoft.graph.group", "/contacts/{id}/transitivememberof"),
    ("/directory/administrativeunits/$count", "/directory/administrativeunits"),
    ("/directory/administrativeunits/{id}/members/$count", "/directory/administrativeunits/{id}/members"),
    ("/directory/administrativeunits/{id}/members/microsoft.graph.user", "/directory/administrativeunits/{id}/members"),
    (
        "/directory/administrativeunits/{id}/members/microsoft.graph.user/$count",
        "/directory/administrativeunits/{id}/members",
    ),
    (
        "/directory/administrativeunits/{id}/members/microsoft.graph.group",
        "/directory/administrativeunits/{id}/members",
    ),
    (
        "/directory/administrativeunits/{id}/members/microsoft.graph.group/$count",
        "/directory/administrativeunits/{id}/members",
    ),
    (
        "/directory/administrativeunits/{id}/members/microsoft.graph.device",
        "/directory/administrativeunits/{id}/members",
    ),
    (
        "/directory/administrativeunits/{id}/members/microsoft.graph.device/$count",
        "/directory/administrativeunits/{id}/members",
    ),
    // Profile photos: the reference lists the media resource under the photo's path.
    ("/users/{id}/photo/$value", "/users/{id}/photo"),
    ("/groups/{id}/photo/$value", "/groups/{id}/photo"),
    ("/me/photo/$value", "/me/photo"),
    // Service principals' membership collections: `/$count` and the group cast shape the response.
    ("/serviceprincipals/{id}/memberof/$count", "/serviceprincipals/{id}/memberof"),
    ("/serviceprincipals/{id}/memberof/microsoft.graph.group", "/serviceprincipals/{id}/memberof"),
    ("/serviceprincipals/{id}/transitivememberof/$count", "/serviceprincipals/{id}/transitivememberof"),
    ("/serviceprincipals/{id}/transitivememberof/microsoft.graph.group", "/serviceprincipals/{id}/transitivememberof"),
    (
        "/serviceprincipals/{id}/transitivememberof/microsoft.graph.group/$count",
        "/serviceprincipals/{id}/transitivememberof",
    ),
    // Conditional Access collections (issue 7): `/$count` needs what the list needs.
    ("/identity/conditionalaccess/namedlocations/$count", "/identity/conditionalaccess/namedlocations"),
    ("/identity/conditionalaccess/policies/$count", "/identity/conditionalaccess/policies"),
];

/// Finds the supplementary rule for a method and path template, matched as
/// [`crate::authz_table::lookup`] matches (placeholders, function-call forms such as
/// `delta()` and `microsoft.graph.delta()`, case).
pub fn lookup(method: &str, path: &str) -> Option<&'static SupplementRule> {
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/$ref").unwrap_or(path);
    RULES.iter().find(|r| {
        let rule = r.path.strip_suffix("/$ref").unwrap_or(r.path);
        r.method.eq_ignore_ascii_case(method) && crate::authz_table::same_template(rule, path)
    })
}

pub fn alias(path: &str) -> Option<&'static str> {
    ALIASES.iter().find(|(from, _)| from.eq_ignore_ascii_case(path)).map(|(_, to)| *to)
}
