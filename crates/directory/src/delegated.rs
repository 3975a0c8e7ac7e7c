//! (Shared by both front-ends: Graph v1.0 and Azure AD Graph 1.6 translate their paths to the
//! reference form below and ask [`Directory::user_may`], so the rules exist once.)
//!
//! What a signed-in user may do through a delegated token, on top of the token's scopes.
//!
//! Graph checks a delegated call twice: the app must hold a delegated permission for the route
//! (`scp`, [``cerulean_graph`'s permission table`]), and the user must be allowed the operation in the
//! directory. This module is the second check. Each operation needs a resource action
//! ([`need`], Entra's names, e.g. `microsoft.directory/users/create`); the user is allowed when
//! one of their role assignments (their own or their groups', read live from the directory, so
//! a removed role stops working at once) grants it — over the whole directory (`/`), or over an
//! administrative unit the target object is a member of:
//!
//! | operation | needs |
//! |---|---|
//! | reads (`GET`, and the read-only POST actions such as `checkMemberGroups`, `getByIds`) | nothing: every member may (Entra's default user permissions let members read users, groups, apps) |
//! | `PATCH /users/{self}`, `POST /users/{self}/revokeSignInSessions` | nothing for the user themself |
//! | `POST /groups`, `POST /applications` | nothing (default "users can create security groups" and "users can register applications") |
//! | other writes | the action of the operation (`users/basic/update`, `groups/members/update`, `roleAssignments/create`, ...) |
//! | reads of `/auditLogs` | `auditLogs/allProperties/read`, `signInReports/allProperties/read` for sign-ins |
//! | `/identityProtection` | `identityProtection/allProperties/read`, `.../update` for `confirmCompromised` and `dismiss` |
//! | `/identity/conditionalAccess` | `namedLocations/standard/read`, `conditionalAccessPolicies/standard/read`; `.../allProperties/allTasks` to write |
//! | domain writes; `PATCH /organization/{id}` | `domains/allProperties/allTasks`; `organization/basic/update` |
//! | writes to a role-assignable group (`PATCH`/`DELETE`, `members`, `owners`) | `groupsAssignableToRoles/allProperties/update` (`.../delete` to delete): Privileged Role Administrator or Global Administrator, never `groups/*` alone ([`role_assignable_need`]) |
//! | writes [`need`] does not know | Global Administrator |
//! | writes to a user holding a role beyond the limited administrator roles | Global Administrator ("who can perform sensitive actions") |
//!
//! Not modelled yet: group and application owners managing what they own (Entra lets them),
//! and the finer per-action columns of the sensitive-actions table (Privileged Authentication
//! Administrator resetting any password, Helpdesk Administrator's narrower reach).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::role_catalog::{GLOBAL_ADMINISTRATOR, LIMITED_ADMIN_ROLES};
use crate::roles::RoleGrant;
use crate::{Directory, DirectoryResult};

/// What an operation needs from the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Every member may.
    Member,
    /// The user on their own object, or anyone holding the action.
    SelfOr(String),
    /// One of these resource actions.
    Action(Vec<String>),
    /// The action, and never on the user's own object.
    NotSelf(String),
}

/// POST actions that only read.
const READ_ACTIONS: &[&str] = &[
    "checkmembergroups",
    "getmembergroups",
    "checkmemberobjects",
    "getmemberobjects",
    "getbyids",
    "validateproperties",
    "getavailableextensionproperties",
];

fn directory(action: &str) -> String {
    format!("microsoft.directory/{action}")
}

fn action(a: &str) -> Need {
    Need::Action(vec![directory(a)])
}

/// The resource action `method` on the route `path` (reference form: `/users/{id}/manager`)
/// needs.
pub fn need(method: &str, path: &str) -> Need {
    let method = method.to_ascii_uppercase();
    let path = path.strip_suffix("/$ref").unwrap_or(path);
    // Graph v1.0 serves administrative units under `/directory`.
    let path = path.strip_prefix("/directory").filter(|p| p.starts_with("/administrativeunits")).unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let first = segments.first().copied().unwrap_or_default();
    let last = segments.last().copied().unwrap_or_default();
    // The navigation or action segment after `/{set}/{id}`.
    let sub = segments.get(2).copied().unwrap_or_default();
    if first == "auditlogs" {
        return match segments.get(1).copied() {
            Some("signins") => action("signInReports/allProperties/read"),
            _ => action("auditLogs/allProperties/read"),
        };
    }
    // Identity Protection: Security Reader and Global Reader read; Security Operator and
    // Security Administrator (`allTasks`) also confirm and dismiss.
    if first == "identityprotection" {
        return if method == "GET" {
            action("identityProtection/allProperties/read")
        } else {
            action("identityProtection/allProperties/update")
        };
    }
    // Conditional Access (issue 7): readers of policies read; Conditional Access and Security
    // Administrators (`allTasks`) write.
    if first == "identity" {
        let what =
            if segments.get(2) == Some(&"namedlocations") { "namedLocations" } else { "conditionalAccessPolicies" };
        return if method == "GET" {
            action(&format!("{what}/standard/read"))
        } else {
            action(&format!("{what}/allProperties/allTasks"))
        };
    }
    // Custom security attribute sets and definitions: only the attribute roles, which Global
    // Administrator does not hold (the front-end checks reads against the same roles).
    if first == "directory" && matches!(segments.get(1), Some(&"attributesets" | &"customsecurityattributedefinitions"))
    {
        let what = if segments.get(1) == Some(&"attributesets") {
            "attributeSets"
        } else {
            "customSecurityAttributeDefinitions"
        };
        return if method == "GET" {
            action(&format!("{what}/allProperties/read"))
        } else {
            action(&format!("{what}/allProperties/allTasks"))
        };
    }
    // Authentication methods: the user's own, or an authentication administrator's; a password
    // reset is never on the caller's own account (that is `changePassword`).
    if first == "users" && sub == "authentication" {
        return match method.as_str() {
            "GET" => Need::SelfOr(directory("users/authenticationMethods/standard/read")),
            "POST" if last == "resetpassword" => Need::NotSelf(directory("users/password/update")),
            _ => Need::SelfOr(directory("users/authenticationMethods/delete")),
        };
    }
    if method == "GET" || (method == "POST" && READ_ACTIONS.contains(&last)) {
        return Need::Member;
    }
    let by_method = |create: &str, update: &str, delete: &str| match method.as_str() {
        "POST" => action(create),
        "DELETE" => action(delete),
        _ => action(update),
    };
    match (first, segments.len(), sub) {
        ("users", 1, _) => action("users/create"),
        ("users", 2, _) if method == "DELETE" => action("users/delete"),
        ("users", 2, _) => Need::SelfOr(directory("users/basic/update")),
        ("users", _, "revokesigninsessions") => Need::SelfOr(directory("users/invalidateAllRefreshTokens")),
        ("users", _, "manager") => action("users/manager/update"),
        ("users" | "groups", _, "approleassignments") => action("servicePrincipals/appRoleAssignedTo/update"),
        ("users", _, "assignlicense") => action("users/assignLicense"),
        // Members may change their own photo (Entra's default); others need the action.
        ("users", _, "photo") => Need::SelfOr(directory("users/photo/update")),
        // Open extensions: a user's own, or a user administrator's.
        ("users", _, "extensions") => Need::SelfOr(directory("users/basic/update")),
        ("users", _, _) => action("users/basic/update"),
        ("groups", 1, _) => Need::Member,
        ("groups", 2, _) => by_method("groups/create", "groups/basic/update", "groups/delete"),
        ("groups", _, "members") => action("groups/members/update"),
        ("groups", _, "owners") => action("groups/owners/update"),
        ("groups", _, "assignlicense") => action("groups/assignLicense"),
        ("groups", _, _) => action("groups/basic/update"),
        ("applications", 1, _) => Need::Member,
        ("applications", 2, _) => by_method("applications/create", "applications/basic/update", "applications/delete"),
        ("applications", _, "owners") => action("applications/owners/update"),
        ("applications", _, "extensionproperties") => action("applications/extensionProperties/update"),
        ("applications", _, _) => action("applications/credentials/update"),
        ("serviceprincipals", 1 | 2, _) => {
            by_method("servicePrincipals/create", "servicePrincipals/basic/update", "servicePrincipals/delete")
        }
        ("serviceprincipals", _, "owners") => action("servicePrincipals/owners/update"),
        ("serviceprincipals", _, "approleassignedto" | "approleassignments") => {
            action("servicePrincipals/appRoleAssignedTo/update")
        }
        ("serviceprincipals", _, _) => action("servicePrincipals/credentials/update"),
        ("oauth2permissiongrants", _, _) => action("oAuth2PermissionGrants/allProperties/allTasks"),
        ("directory", _, _) if last == "restore" => Need::Action(
            ["users", "groups", "applications", "servicePrincipals"]
                .iter()
                .map(|t| directory(&format!("deletedItems.{t}/restore")))
                .collect(),
        ),
        ("directory", _, _) => Need::Action(
            ["users", "groups", "applications", "servicePrincipals"]
                .iter()
                .map(|t| directory(&format!("deletedItems.{t}/delete")))
                .collect(),
        ),
        ("directoryroles", 1, _) => action("directoryRoles/create"),
        ("directoryroles", _, _) => action("directoryRoles/members/update"),
        ("rolemanagement", _, _) if path.contains("/roleassignments") => {
            by_method("roleAssignments/create", "roleAssignments/basic/update", "roleAssignments/delete")
        }
        ("rolemanagement", _, _) => {
            by_method("roleDefinitions/create", "roleDefinitions/basic/update", "roleDefinitions/delete")
        }
        ("administrativeunits", 1 | 2, _) => {
            by_method("administrativeUnits/create", "administrativeUnits/basic/update", "administrativeUnits/delete")
        }
        ("administrativeunits", _, "members") => action("administrativeUnits/members/update"),
        // A scoped role membership is a unit-scoped role assignment: either action allows it
        // (Privileged Role Administrator holds the role assignment actions).
        ("administrativeunits", _, "scopedrolemembers") => {
            let op = match method.as_str() {
                "POST" => "create",
                "DELETE" => "delete",
                _ => "basic/update",
            };
            Need::Action(vec![
                directory(&format!("scopedRoleMemberships/{op}")),
                directory(&format!("roleAssignments/{op}")),
            ])
        }
        ("devices", 1 | 2, _) => by_method("devices/create", "devices/basic/update", "devices/delete"),
        ("devices", _, "registeredowners") => action("devices/registeredOwners/update"),
        ("devices", _, "registeredusers") => action("devices/registeredUsers/update"),
        ("contacts", _, _) => by_method("contacts/create", "contacts/basic/update", "contacts/delete"),
        ("invitations", _, _) => Need::Member,
        // Organization and domains (issue 4): Domain Name Administrator's action for every
        // domain write (add, update, verify, delete, forceDelete).
        ("domains", _, _) => action("domains/allProperties/allTasks"),
        ("organization", _, _) => action("organization/basic/update"),
        _ => Need::Action(Vec::new()),
    }
}

/// What a write to a role-assignable group needs instead of [`need`]'s `groups/*` action, or
/// `None` when the route does not edit the group itself (`PATCH`/`DELETE /groups/{id}`, its
/// `members` and `owners`). Such a group carries directory roles to its members, so editing it
/// is a role assignment: Entra reserves it to the `groupsAssignableToRoles` actions (Privileged
/// Role Administrator, Global Administrator), which Groups Administrator does not hold.
pub fn role_assignable_need(method: &str, path: &str) -> Option<Need> {
    let method = method.to_ascii_uppercase();
    if method == "GET" {
        return None;
    }
    let path = path.strip_suffix("/$ref").unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["groups", _] if method == "DELETE" => Some(action("groupsAssignableToRoles/delete")),
        ["groups", _] if method == "PATCH" => Some(action("groupsAssignableToRoles/allProperties/update")),
        ["groups", _, "members" | "owners", ..] => Some(action("groupsAssignableToRoles/allProperties/update")),
        _ => None,
    }
}

/// The application permission Graph requires, on top of the group permission, to edit a
/// role-assignable group ("group: add members": apps also need it for such groups).
pub const ROLE_ASSIGNABLE_APP_PERMISSION: &str = "RoleManagement.ReadWrite.Directory";

/// The outcome of the role check before any administrative-unit lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
    /// Allowed if the target object is a member of one of these administrative units.
    IfTargetIn(Vec<Uuid>),
}

/// Decides from the user's role grants (pure: see [`user_may`] for the lookups).
pub fn decide(need: &Need, grants: &[RoleGrant], is_self: bool) -> Decision {
    let wanted: &[String] = match need {
        Need::Member => return Decision::Allowed,
        Need::SelfOr(_) if is_self => return Decision::Allowed,
        Need::SelfOr(a) => std::slice::from_ref(a),
        Need::NotSelf(_) if is_self => return Decision::Denied,
        Need::NotSelf(a) => std::slice::from_ref(a),
        Need::Action(list) => list,
    };
    // A Global Administrator may do everything, including what [`need`] does not know, except
    // what only the custom security attribute roles grant (Entra gives them to no other role).
    let global =
        grants.iter().any(|g| g.scope == "/" && g.role_definition_id.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR));
    let attributes = wanted.iter().any(|w| {
        ["/attributeSets/", "/customSecurityAttributeDefinitions/", "/customSecurityAttributes/"]
            .iter()
            .any(|part| w.contains(part))
    });
    if global && !attributes {
        return Decision::Allowed;
    }
    let granting = grants.iter().filter(|g| wanted.iter().any(|w| g.allows(w)));
    let mut units = Vec::new();
    for g in granting {
        match g.administrative_unit() {
            None if g.scope == "/" => return Decision::Allowed,
            Some(unit) => units.push(unit),
            None => {}
        }
    }
    if units.is_empty() { Decision::Denied } else { Decision::IfTargetIn(units) }
}

/// What a `PATCH /users/{id}` needs, by the properties it sets: the password, enablement and
/// user principal name each have their own action (a role that may edit basic properties may
/// not reset passwords); everything else is `users/basic/update`, or the user themself.
pub fn user_update_needs(body: &Map<String, Value>) -> Vec<Need> {
    let basic = Need::SelfOr(directory("users/basic/update"));
    let mut needs = Vec::new();
    for (key, value) in body {
        let need = match key.to_ascii_lowercase().as_str() {
            "passwordprofile" => action("users/password/update"),
            "accountenabled" if value.as_bool() == Some(false) => action("users/disable"),
            "accountenabled" => action("users/enable"),
            "userprincipalname" => action("users/userPrincipalName/update"),
            "usagelocation" => action("users/usageLocation/update"),
            _ => basic.clone(),
        };
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    if needs.is_empty() {
        needs.push(basic);
    }
    needs
}

/// Whether one of the grants is a directory-wide Global Administrator assignment.
fn is_global_administrator(grants: &[RoleGrant]) -> bool {
    grants.iter().any(|g| g.scope == "/" && g.role_definition_id.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR))
}

/// Whether a user holds a role beyond the limited administrator roles (see
/// [`LIMITED_ADMIN_ROLES`]); custom roles count as privileged.
pub fn holds_privileged_role(grants: &[RoleGrant]) -> bool {
    grants.iter().any(|g| !LIMITED_ADMIN_ROLES.iter().any(|r| r.eq_ignore_ascii_case(&g.role_definition_id)))
}

/// One delegated operation, as the front-end saw it.
#[derive(Debug, Clone, Copy)]
pub struct DelegatedCall<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The route in reference form, lower case: `/users/{id}/manager`.
    pub path: &'a str,
    /// Whether the `{id}` of a `/users/{id}...` route names the signed-in user.
    pub is_self: bool,
    /// The object type (`user`, `group`) and key the route acts on, for administrative-unit
    /// scoped roles and the sensitive-actions rule.
    pub target: Option<(&'a str, &'a str)>,
    /// The JSON object of a user update, whose properties decide what it needs.
    pub body: Option<&'a Map<String, Value>>,
}

impl Directory {
    /// Whether the signed-in `user` may perform `call` (see the module documentation): the
    /// second check of every delegated write, on every front-end.
    pub async fn user_may(&self, tenant: Uuid, user: Uuid, call: &DelegatedCall<'_>) -> DirectoryResult<bool> {
        let needs = match call.body {
            Some(body) => user_update_needs(body),
            None => match self.role_assignable_write(tenant, call.method, call.path, call.target).await? {
                Some(need) => vec![need],
                None => vec![need(call.method, call.path)],
            },
        };
        if needs.iter().all(|n| *n == Need::Member) {
            return Ok(true);
        }
        let grants = self.role_grants(tenant, user).await?;
        let own = call.is_self;
        let mut target_id = None;
        for need in &needs {
            let allowed = match decide(need, &grants, own) {
                Decision::Allowed => true,
                Decision::Denied => false,
                Decision::IfTargetIn(units) => {
                    if target_id.is_none() {
                        target_id = self.delegated_target(tenant, call).await;
                    }
                    let Some(target) = target_id else {
                        return Ok(false);
                    };
                    let mut inside = false;
                    for unit in units {
                        if self.in_administrative_unit(tenant, unit, target).await? {
                            inside = true;
                            break;
                        }
                    }
                    inside
                }
            };
            if !allowed {
                return Ok(false);
            }
        }
        let only_self = own && needs.iter().all(|n| matches!(n, Need::SelfOr(_) | Need::Member));
        if only_self || is_global_administrator(&grants) || !call.path.starts_with("/users/{id}") {
            return Ok(true);
        }
        // Sensitive actions on a user who holds a privileged role: Global Administrator only.
        let Some(target) = self.delegated_target(tenant, call).await else {
            return Ok(true);
        };
        let target_grants = self.role_grants(tenant, target).await?;
        Ok(!holds_privileged_role(&target_grants))
    }

    /// What a write needs when it edits a role-assignable group (see [`role_assignable_need`]),
    /// or `None` for every other call (a group that does not exist is left to the handler's 404).
    pub async fn role_assignable_write(
        &self,
        tenant: Uuid,
        method: &str,
        path: &str,
        target: Option<(&str, &str)>,
    ) -> DirectoryResult<Option<Need>> {
        let Some(need) = role_assignable_need(method, path) else { return Ok(None) };
        let Some(("group", key)) = target else { return Ok(None) };
        // Only a missing group falls back to the ordinary rule; a store failure is an error,
        // never a way around the boundary.
        let group = match self.find(tenant, "group", key).await {
            Ok(group) => group,
            Err(crate::DirectoryError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let assignable = group.doc.get("isAssignableToRole").and_then(Value::as_bool) == Some(true);
        Ok(assignable.then_some(need))
    }

    /// The object a call acts on, if it exists.
    async fn delegated_target(&self, tenant: Uuid, call: &DelegatedCall<'_>) -> Option<Uuid> {
        let (object_type, key) = call.target?;
        self.find(tenant, object_type, key).await.ok().map(|o| o.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role_catalog::{
        GLOBAL_READER, GROUPS_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, USER_ADMINISTRATOR, built_in,
    };

    fn grant(role: &str, scope: &str) -> RoleGrant {
        RoleGrant {
            role_definition_id: role.into(),
            actions: built_in(role).map(|r| r.actions.iter().map(|a| a.to_string()).collect()).unwrap_or_default(),
            scope: scope.into(),
        }
    }

    fn allowed(method: &str, path: &str, grants: &[RoleGrant]) -> bool {
        decide(&need(method, path), grants, false) == Decision::Allowed
    }

    #[test]
    fn members_read_and_create_groups_and_apps() {
        assert!(allowed("GET", "/users/{id}", &[]));
        assert!(allowed("POST", "/users/{id}/checkmembergroups", &[]));
        assert!(allowed("POST", "/groups", &[]));
        assert!(allowed("POST", "/applications", &[]));
        assert!(!allowed("POST", "/users", &[]));
        assert!(!allowed("PATCH", "/groups/{id}", &[]));
        assert!(!allowed("POST", "/oauth2permissiongrants", &[]));
        assert!(!allowed("GET", "/auditlogs/signins", &[]));
        assert_eq!(decide(&need("PATCH", "/users/{id}"), &[], true), Decision::Allowed);
        assert_eq!(decide(&need("DELETE", "/users/{id}"), &[], true), Decision::Denied);
    }

    #[test]
    fn roles_grant_their_actions() {
        let ua = [grant(USER_ADMINISTRATOR, "/")];
        assert!(allowed("POST", "/users", &ua));
        assert!(allowed("PATCH", "/groups/{id}", &ua));
        assert!(allowed("POST", "/groups/{id}/members/$ref", &ua));
        assert!(!allowed("POST", "/rolemanagement/directory/roleassignments", &ua));
        assert!(!allowed("POST", "/directoryroles/{id}/members/$ref", &ua));
        let reader = [grant(GLOBAL_READER, "/")];
        assert!(allowed("GET", "/auditlogs/directoryaudits", &reader));
        assert!(!allowed("PATCH", "/users/{id}", &reader));
        let pra = [grant(PRIVILEGED_ROLE_ADMINISTRATOR, "/")];
        assert!(allowed("POST", "/rolemanagement/directory/roleassignments", &pra));
        assert!(allowed("DELETE", "/directoryroles/{id}/members/{id}/$ref", &pra));
        assert!(!allowed("POST", "/users", &pra));
        assert!(allowed("POST", "/directory/administrativeunits/{id}/scopedrolemembers", &pra));
        assert!(allowed("DELETE", "/directory/administrativeunits/{id}/scopedrolemembers/{id}", &pra));
        assert!(!allowed("POST", "/directory/administrativeunits/{id}/scopedrolemembers", &ua));
        let groups = [grant(GROUPS_ADMINISTRATOR, "/")];
        assert!(allowed("POST", "/directory/deleteditems/{id}/restore", &groups));
        assert!(!allowed("PATCH", "/users/{id}", &groups));
        // Unknown writes: Global Administrator only.
        assert!(!allowed("POST", "/schemaextensions", &ua));
        assert!(allowed("POST", "/schemaextensions", &[grant(GLOBAL_ADMINISTRATOR, "/")]));
    }

    #[test]
    fn user_updates_need_the_actions_of_their_properties() {
        let body = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let basic = Need::SelfOr(directory("users/basic/update"));
        assert_eq!(user_update_needs(&body(serde_json::json!({"jobTitle": "x"}))), vec![basic.clone()]);
        let needs = user_update_needs(&body(serde_json::json!({"passwordProfile": {}, "accountEnabled": false})));
        assert_eq!(needs.len(), 2, "{needs:?}");
        assert!(needs.contains(&action("users/password/update")) && needs.contains(&action("users/disable")));
        let custom = [RoleGrant {
            role_definition_id: Uuid::new_v4().to_string(),
            actions: vec![directory("users/basic/update")],
            scope: "/".into(),
        }];
        assert_eq!(decide(&action("users/password/update"), &custom, false), Decision::Denied);
        assert_eq!(
            decide(&action("users/password/update"), &[grant(USER_ADMINISTRATOR, "/")], false),
            Decision::Allowed
        );
        assert_eq!(decide(&basic, &custom, false), Decision::Allowed);
    }

    #[test]
    fn role_assignable_groups_need_their_own_actions() {
        let needs = |m: &str, p: &str| role_assignable_need(m, p);
        let update = Some(action("groupsAssignableToRoles/allProperties/update"));
        assert_eq!(needs("POST", "/groups/{id}/members/$ref"), update);
        assert_eq!(needs("DELETE", "/groups/{id}/owners/{id}/$ref"), update);
        assert_eq!(needs("PATCH", "/groups/{id}"), update);
        assert_eq!(needs("DELETE", "/groups/{id}"), Some(action("groupsAssignableToRoles/delete")));
        assert_eq!(needs("GET", "/groups/{id}/members"), None);
        assert_eq!(needs("POST", "/groups"), None);
        assert_eq!(needs("POST", "/groups/{id}/assignlicense"), None);
        let Some(update) = update else { return };
        assert_eq!(decide(&update, &[grant(GROUPS_ADMINISTRATOR, "/")], false), Decision::Denied);
        assert_eq!(decide(&update, &[grant(PRIVILEGED_ROLE_ADMINISTRATOR, "/")], false), Decision::Allowed);
        assert_eq!(decide(&update, &[grant(GLOBAL_ADMINISTRATOR, "/")], false), Decision::Allowed);
    }

    #[test]
    fn privileged_targets() {
        assert!(!holds_privileged_role(&[]));
        assert!(!holds_privileged_role(&[grant(USER_ADMINISTRATOR, "/")]));
        assert!(holds_privileged_role(&[grant(GLOBAL_READER, "/")]));
        assert!(holds_privileged_role(&[grant(GLOBAL_ADMINISTRATOR, "/")]));
    }

    #[test]
    fn scoped_roles_depend_on_the_target() {
        let unit = Uuid::new_v4();
        let scoped = [grant(USER_ADMINISTRATOR, &format!("/administrativeUnits/{unit}"))];
        assert_eq!(decide(&need("PATCH", "/users/{id}"), &scoped, false), Decision::IfTargetIn(vec![unit]));
        assert_eq!(
            decide(&need("POST", "/rolemanagement/directory/roledefinitions"), &scoped, false),
            Decision::Denied
        );
    }
}
