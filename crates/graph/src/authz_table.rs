//! Which Microsoft Graph permissions allow which route: the authorization table.
//!
//! One [`RouteRule`] per method and path template that Cerulean serves, listing **every**
//! permission the official permission reference (`reference/graph-permissions/permissions.json`)
//! says allows that method and path, per scheme: `application` (app roles, the `roles` claim)
//! and `delegated` (scheme `DelegatedWork`, the `scp` claim). A request is allowed when its
//! token carries at least one permission of the matching list (and, for delegated calls, the
//! signed-in user's own rights allow it too). `crates/schema/tests/reference.rs` checks that
//! each rule equals the reference.
//!
//! Paths are written as in the reference: lower-case, `{id}` for every key segment, and without
//! the trailing `/$ref` of reference operations (the reference lists `POST /groups/{id}/owners`
//! and `DELETE /groups/{id}/owners/{id}` for `.../owners/$ref` and `.../owners/{id}/$ref`);
//! [`lookup`] accepts either form.
//!
//! Routes the reference does not list are deliberately absent (no permission is invented):
//! `GET /users/$count`, `GET /groups/$count`, `POST /groups/{id}/members/$ref`,
//! `GET /directory/deleteditems/microsoft.graph.user` (and `.group`),
//! `GET|DELETE /directory/deleteditems/{id}`, `DELETE /directoryobjects/{id}`, `PATCH /me`.
//!
//! This file depends on nothing but `std`.

/// The permissions that allow one method on one path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The path template, lower-case, `{id}` for key segments (`/users/{id}/memberof`).
    pub path: &'static str,
    /// Application permissions (app roles) any one of which allows the call.
    pub application: &'static [&'static str],
    /// Delegated (work or school) permissions any one of which allows the call.
    pub delegated: &'static [&'static str],
}

impl RouteRule {
    /// True when an app-only token with these roles may call the route.
    pub fn allows_application<'a>(&self, roles: impl IntoIterator<Item = &'a str>) -> bool {
        roles.into_iter().any(|r| self.application.iter().any(|p| p.eq_ignore_ascii_case(r)))
    }

    /// True when a delegated token with these scopes may call the route.
    pub fn allows_delegated<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> bool {
        scopes.into_iter().any(|s| self.delegated.iter().any(|p| p.eq_ignore_ascii_case(s)))
    }
}

/// Finds the rule for a method and path template. The method is matched case-insensitively;
/// the path segment by segment, case-insensitively, any `{...}` placeholder matching `{id}`,
/// and a trailing `/$ref` is ignored (`DELETE /groups/{id}/members/{id}/$ref` finds
/// `DELETE /groups/{id}/members/{id}`). A leading `/v1.0` or `/beta` is not expected.
pub fn lookup(method: &str, path_template: &str) -> Option<&'static RouteRule> {
    let path = path_template.trim_end_matches('/');
    let path = path.strip_suffix("/$ref").unwrap_or(path);
    RULES.iter().find(|r| r.method.eq_ignore_ascii_case(method) && same_template(r.path, path))
}

/// A function segment as the reference writes it: Graph SDKs call functions in their fully
/// qualified, parenthesised form (`/users/microsoft.graph.delta()`), the reference lists
/// `/users/delta`.
fn function_name(segment: &str) -> &str {
    match segment.strip_suffix("()") {
        Some(f) => f.strip_prefix("microsoft.graph.").unwrap_or(f),
        None => segment,
    }
}

pub(crate) fn same_template(rule: &str, path: &str) -> bool {
    let mut a = rule.split('/');
    let mut b = path.split('/').map(function_name);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                let placeholder = |s: &str| s.starts_with('{') && s.ends_with('}');
                if !(x.eq_ignore_ascii_case(y) || placeholder(x) && placeholder(y)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

const fn rule(
    method: &'static str,
    path: &'static str,
    application: &'static [&'static str],
    delegated: &'static [&'static str],
) -> RouteRule {
    RouteRule { method, path, application, delegated }
}

/// Every route rule, grouped by resource.
pub static RULES: &[RouteRule] = &[
    rule("GET", "/users", USER_GET_APP, USER_LIST_DEL),
    rule("POST", "/users", USER_CREATE, USER_CREATE),
    rule("GET", "/users/delta", USER_READ_RELATED, USER_READ_RELATED),
    rule("GET", "/users/{id}", USER_GET_APP, USER_GET_DEL),
    rule("PATCH", "/users/{id}", USER_UPDATE_APP, USER_UPDATE_DEL),
    rule("DELETE", "/users/{id}", USER_DELETE_APP, USER_DELETE_DEL),
    rule("GET", "/users/{id}/memberof", MEMBER_OF_APP, MEMBER_OF_DEL),
    rule("GET", "/users/{id}/transitivememberof", USER_TRANSITIVE_MEMBER_OF_APP, USER_TRANSITIVE_MEMBER_OF_DEL),
    rule("GET", "/users/{id}/manager", USER_READ_RELATED, USER_READ_RELATED),
    rule("PUT", "/users/{id}/manager", MANAGER_WRITE, MANAGER_WRITE),
    rule("DELETE", "/users/{id}/manager", MANAGER_WRITE, MANAGER_WRITE),
    rule("GET", "/users/{id}/directreports", USER_READ_RELATED, USER_REPORTS_DEL),
    rule("GET", "/users/{id}/ownedobjects", USER_READ_RELATED, USER_REPORTS_DEL),
    rule("GET", "/users/{id}/registereddevices", USER_DEVICES_APP, USER_DEVICES_DEL),
    rule("GET", "/users/{id}/owneddevices", USER_DEVICES_APP, USER_DEVICES_DEL),
    rule("GET", "/users/{id}/createdobjects", USER_READ_RELATED, CREATED_OBJECTS_DEL),
    rule("POST", "/users/{id}/checkmembergroups", MEMBERSHIP_CHECK_APP, CHECK_MEMBER_GROUPS_DEL),
    rule("POST", "/users/{id}/getmembergroups", GET_MEMBER_GROUPS_APP, GET_MEMBER_GROUPS_DEL),
    rule("POST", "/users/{id}/checkmemberobjects", MEMBERSHIP_CHECK_APP, MEMBER_OBJECTS_DEL),
    rule("POST", "/users/{id}/getmemberobjects", MEMBERSHIP_CHECK_APP, MEMBER_OBJECTS_DEL),
    rule("GET", "/me", NONE, ME_GET_DEL),
    rule("GET", "/me/memberof", NONE, MEMBER_OF_DEL),
    rule("GET", "/me/transitivememberof", NONE, USER_TRANSITIVE_MEMBER_OF_DEL),
    rule("GET", "/me/manager", NONE, USER_READ_RELATED),
    rule("GET", "/me/directreports", NONE, USER_REPORTS_DEL),
    rule("GET", "/me/ownedobjects", NONE, USER_REPORTS_DEL),
    rule("GET", "/me/registereddevices", NONE, USER_DEVICES_DEL),
    rule("GET", "/me/owneddevices", NONE, USER_DEVICES_DEL),
    rule("GET", "/me/createdobjects", NONE, CREATED_OBJECTS_DEL),
    rule("POST", "/me/checkmembergroups", ME_MEMBERSHIP_APP, CHECK_MEMBER_GROUPS_DEL),
    rule("POST", "/me/getmembergroups", ME_MEMBERSHIP_APP, GET_MEMBER_GROUPS_DEL),
    rule("POST", "/me/checkmemberobjects", ME_MEMBERSHIP_APP, MEMBER_OBJECTS_DEL),
    rule("POST", "/me/getmemberobjects", ME_MEMBERSHIP_APP, MEMBER_OBJECTS_DEL),
    rule("POST", "/me/changepassword", NONE, &["User-PasswordProfile.ReadWrite.All"]),
    // Authentication methods (issue 3).
    rule("GET", "/users/{id}/authentication/methods", AUTH_METHODS_READ_APP, AUTH_METHODS_READ_DEL),
    rule("GET", "/users/{id}/authentication/methods/{id}", AUTH_METHODS_READ_APP, AUTH_METHODS_READ_DEL),
    rule(
        "POST",
        "/users/{id}/authentication/methods/{id}/resetpassword",
        NONE,
        &["UserAuthenticationMethod.ReadWrite.All"],
    ),
    rule("GET", "/users/{id}/authentication/passwordmethods", PASSWORD_METHODS_READ_APP, PASSWORD_METHODS_READ_DEL),
    rule(
        "GET",
        "/users/{id}/authentication/passwordmethods/{id}",
        PASSWORD_METHODS_READ_APP,
        PASSWORD_METHODS_READ_DEL,
    ),
    rule(
        "POST",
        "/users/{id}/authentication/passwordmethods/{id}/resetpassword",
        NONE,
        &["UserAuthMethod-Password.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"],
    ),
    rule("GET", "/users/{id}/authentication/softwareoathmethods", OATH_METHODS_READ_APP, OATH_METHODS_READ_DEL),
    rule("GET", "/users/{id}/authentication/softwareoathmethods/{id}", OATH_METHODS_READ_APP, OATH_METHODS_READ_DEL),
    rule(
        "DELETE",
        "/users/{id}/authentication/softwareoathmethods/{id}",
        OATH_METHODS_WRITE_APP,
        OATH_METHODS_WRITE_DEL,
    ),
    // fido2Methods: exactly as the reference has them (listing by application takes the
    // passkey permission only).
    rule("GET", "/users/{id}/authentication/fido2methods", &["UserAuthMethod-Passkey.Read.All"], FIDO2_LIST_DEL),
    rule("GET", "/users/{id}/authentication/fido2methods/{id}", FIDO2_GET_APP, FIDO2_GET_DEL),
    rule("DELETE", "/users/{id}/authentication/fido2methods/{id}", FIDO2_WRITE_APP, FIDO2_WRITE_DEL),
    rule("GET", "/me/authentication/fido2methods", NONE, FIDO2_ME_READ_DEL),
    rule("GET", "/me/authentication/fido2methods/{id}", NONE, FIDO2_ME_READ_DEL),
    rule("DELETE", "/me/authentication/fido2methods/{id}", NONE, FIDO2_ME_WRITE_DEL),
    rule("GET", "/users/{id}/authentication/operations/{id}", NONE, AUTH_METHODS_READ_DEL),
    rule("GET", "/me/authentication/methods", AUTH_METHODS_ME_APP, AUTH_METHODS_READ_DEL),
    rule("GET", "/me/authentication/methods/{id}", AUTH_METHODS_ME_APP, AUTH_METHODS_READ_DEL),
    rule("GET", "/me/authentication/passwordmethods", AUTH_METHODS_ME_APP, PASSWORD_METHODS_READ_DEL),
    rule("GET", "/me/authentication/passwordmethods/{id}", AUTH_METHODS_ME_APP, PASSWORD_METHODS_READ_DEL),
    rule("GET", "/me/authentication/softwareoathmethods", AUTH_METHODS_ME_APP, OATH_METHODS_READ_DEL),
    rule("GET", "/me/authentication/softwareoathmethods/{id}", AUTH_METHODS_ME_APP, OATH_METHODS_READ_DEL),
    rule(
        "DELETE",
        "/me/authentication/softwareoathmethods/{id}",
        &["UserAuthenticationMethod.ReadWrite.All"],
        OATH_METHODS_WRITE_DEL,
    ),
    rule("POST", "/me/revokesigninsessions", &["User.RevokeSessions.All"], REVOKE_SESSIONS),
    rule("POST", "/users/{id}/revokesigninsessions", REVOKE_SESSIONS, REVOKE_SESSIONS),
    rule("GET", "/groups", GROUP_LIST, GROUP_LIST),
    rule("POST", "/groups", GROUP_CREATE_APP, GROUP_CREATE_DEL),
    rule("GET", "/groups/delta", GROUP_DELTA, GROUP_DELTA),
    rule("GET", "/groups/{id}", GROUP_GET, GROUP_GET),
    rule("PATCH", "/groups/{id}", GROUP_UPDATE, GROUP_UPDATE),
    rule("DELETE", "/groups/{id}", GROUP_DELETE, GROUP_DELETE),
    rule("GET", "/groups/{id}/members", GROUP_MEMBERS_READ, GROUP_MEMBERS_READ),
    rule("DELETE", "/groups/{id}/members/{id}", GROUP_MEMBER_REMOVE, GROUP_MEMBER_REMOVE),
    rule("GET", "/groups/{id}/owners", GROUP_OWNERS_READ, GROUP_OWNERS_READ),
    rule("POST", "/groups/{id}/owners", GROUP_OWNERS_WRITE, GROUP_OWNERS_WRITE),
    rule("DELETE", "/groups/{id}/owners/{id}", GROUP_OWNERS_WRITE, GROUP_OWNERS_WRITE),
    rule("GET", "/groups/{id}/memberof", GROUP_MEMBER_OF, GROUP_MEMBER_OF),
    rule("GET", "/groups/{id}/transitivemembers", GROUP_MEMBERS_READ, GROUP_MEMBERS_READ),
    rule("GET", "/groups/{id}/transitivememberof", MEMBER_OF_APP, GROUP_MEMBER_OF),
    rule("POST", "/groups/{id}/checkmembergroups", MEMBERSHIP_CHECK_APP, CHECK_MEMBER_GROUPS_DEL),
    rule("POST", "/groups/{id}/getmembergroups", GET_MEMBER_GROUPS_APP, GET_MEMBER_GROUPS_DEL),
    rule("POST", "/groups/{id}/checkmemberobjects", MEMBERSHIP_CHECK_APP, MEMBER_OBJECTS_DEL),
    rule("POST", "/groups/{id}/getmemberobjects", MEMBERSHIP_CHECK_APP, MEMBER_OBJECTS_DEL),
    rule("POST", "/directory/deleteditems/{id}/restore", RESTORE_APP, RESTORE_DEL),
    rule("GET", "/directoryobjects/{id}", DIRECTORY_READ, DIRECTORY_READ),
    rule("POST", "/directoryobjects/getbyids", DIRECTORY_READ, DIRECTORY_READ),
    rule("POST", "/directoryobjects/validateproperties", VALIDATE_PROPERTIES_APP, VALIDATE_PROPERTIES_DEL),
    rule("POST", "/directoryobjects/{id}/checkmembergroups", MEMBERSHIP_CHECK_APP, CHECK_MEMBER_GROUPS_DEL),
    rule("POST", "/directoryobjects/{id}/getmembergroups", GET_MEMBER_GROUPS_APP, GET_MEMBER_GROUPS_DEL),
    rule("POST", "/directoryobjects/{id}/checkmemberobjects", MEMBERSHIP_CHECK_APP, MEMBER_OBJECTS_DEL),
    rule("POST", "/directoryobjects/{id}/getmemberobjects", MEMBERSHIP_CHECK_APP, MEMBER_OBJECTS_DEL),
    // Applications, service principals, app role assignments, delegated permission grants
    // (issue 3); the APPS_* sets are at the end of the file.
    rule("GET", "/applications", APPS_1, APPS_2),
    rule("POST", "/applications", APPS_3, APPS_4),
    rule("GET", "/applications/{id}", APPS_5, APPS_2),
    rule("PATCH", "/applications/{id}", APPS_6, APPS_7),
    rule("DELETE", "/applications/{id}", APPS_6, APPS_7),
    rule("GET", "/applications/{id}/owners", APPS_5, APPS_2),
    rule("POST", "/applications/{id}/owners", APPS_8, APPS_9),
    rule("DELETE", "/applications/{id}/owners/{id}", APPS_10, APPS_11),
    rule("POST", "/applications/{id}/addpassword", APPS_10, APPS_11),
    rule("POST", "/applications/{id}/removepassword", APPS_10, APPS_11),
    rule("POST", "/applications/{id}/addkey", APPS_10, APPS_11),
    rule("POST", "/applications/{id}/removekey", APPS_10, APPS_11),
    rule("POST", "/serviceprincipals/{id}/addkey", APPS_10, APPS_11),
    rule("POST", "/serviceprincipals/{id}/removekey", APPS_10, APPS_11),
    rule("GET", "/applications/{id}/federatedidentitycredentials", APPS_12, APPS_13),
    rule("POST", "/applications/{id}/federatedidentitycredentials", APPS_6, APPS_7),
    rule("GET", "/applications/{id}/federatedidentitycredentials/{id}", APPS_6, APPS_7),
    rule("PATCH", "/applications/{id}/federatedidentitycredentials/{id}", APPS_6, APPS_7),
    rule("DELETE", "/applications/{id}/federatedidentitycredentials/{id}", APPS_6, APPS_7),
    rule("GET", "/applications/delta", APPS_DELTA, APPS_2),
    rule("GET", "/serviceprincipals/delta", APPS_DELTA, APPS_2),
    rule("GET", "/devices/delta", DEVICES_DELTA, DEVICES_DELTA),
    rule("GET", "/contacts/delta", CONTACTS_DELTA, CONTACTS_DELTA),
    rule("GET", "/administrativeunits/delta", UNITS_DELTA, UNITS_DELTA),
    rule("GET", "/serviceprincipals", APPS_1, APPS_2),
    rule("POST", "/serviceprincipals", APPS_10, APPS_11),
    rule("GET", "/serviceprincipals/{id}", APPS_5, APPS_2),
    rule("PATCH", "/serviceprincipals/{id}", APPS_10, APPS_11),
    rule("DELETE", "/serviceprincipals/{id}", APPS_10, APPS_11),
    rule("GET", "/serviceprincipals/{id}/owners", APPS_5, APPS_2),
    rule("POST", "/serviceprincipals/{id}/owners", APPS_8, APPS_9),
    rule("DELETE", "/serviceprincipals/{id}/owners/{id}", APPS_10, APPS_11),
    rule("GET", "/serviceprincipals/{id}/approleassignedto", APPS_5, APPS_2),
    rule("POST", "/serviceprincipals/{id}/approleassignedto", APPS_14, APPS_14),
    rule("DELETE", "/serviceprincipals/{id}/approleassignedto/{id}", APPS_15, APPS_15),
    rule("GET", "/serviceprincipals/{id}/approleassignments", APPS_5, APPS_2),
    rule("POST", "/serviceprincipals/{id}/approleassignments", APPS_14, APPS_14),
    rule("DELETE", "/serviceprincipals/{id}/approleassignments/{id}", APPS_15, APPS_15),
    rule("GET", "/serviceprincipals/{id}/oauth2permissiongrants", APPS_16, APPS_16),
    rule("GET", "/users/{id}/approleassignments", APPS_17, APPS_17),
    rule("POST", "/users/{id}/approleassignments", APPS_18, APPS_18),
    rule("DELETE", "/users/{id}/approleassignments/{id}", APPS_18, APPS_18),
    rule("GET", "/groups/{id}/approleassignments", APPS_19, APPS_19),
    rule("POST", "/groups/{id}/approleassignments", APPS_18, APPS_18),
    rule("DELETE", "/groups/{id}/approleassignments/{id}", APPS_18, APPS_18),
    rule("GET", "/oauth2permissiongrants", APPS_16, APPS_16),
    rule("POST", "/oauth2permissiongrants", APPS_20, APPS_20),
    rule("GET", "/oauth2permissiongrants/{id}", APPS_16, APPS_16),
    rule("PATCH", "/oauth2permissiongrants/{id}", APPS_20, APPS_20),
    rule("DELETE", "/oauth2permissiongrants/{id}", APPS_20, APPS_20),
    // Devices, organizational contacts, administrative units (issue 4); the DIR_* sets are at
    // the end of the file.
    rule("GET", "/devices", DIR_1, DIR_2),
    rule("POST", "/devices", NONE, DIR_3),
    rule("GET", "/devices/{id}", DIR_1, DIR_2),
    rule("PATCH", "/devices/{id}", DIR_4, DIR_3),
    rule("DELETE", "/devices/{id}", DIR_5, DIR_3),
    rule("GET", "/devices/{id}/registeredowners", DIR_1, DIR_2),
    rule("POST", "/devices/{id}/registeredowners", NONE, DIR_3),
    rule("DELETE", "/devices/{id}/registeredowners/{id}", NONE, DIR_3),
    rule("GET", "/devices/{id}/registeredusers", DIR_1, DIR_2),
    rule("POST", "/devices/{id}/registeredusers", NONE, DIR_3),
    rule("DELETE", "/devices/{id}/registeredusers/{id}", NONE, DIR_3),
    rule("GET", "/devices/{id}/memberof", DIR_1, DIR_2),
    rule("GET", "/devices/{id}/transitivememberof", DIR_1, DIR_2),
    rule("POST", "/devices/{id}/checkmembergroups", DIR_6, DIR_7),
    rule("POST", "/devices/{id}/getmembergroups", DIR_8, DIR_9),
    rule("POST", "/devices/{id}/checkmemberobjects", DIR_6, DIR_10),
    rule("POST", "/devices/{id}/getmemberobjects", DIR_6, DIR_10),
    rule("GET", "/contacts", DIR_11, DIR_11),
    rule("GET", "/contacts/{id}", DIR_11, DIR_11),
    rule("GET", "/contacts/{id}/manager", DIR_12, DIR_12),
    rule("GET", "/contacts/{id}/directreports", DIR_12, DIR_12),
    rule("GET", "/contacts/{id}/memberof", DIR_12, DIR_12),
    rule("GET", "/contacts/{id}/transitivememberof", DIR_13, DIR_13),
    rule("POST", "/contacts/{id}/checkmembergroups", DIR_6, DIR_7),
    rule("POST", "/contacts/{id}/getmembergroups", DIR_8, DIR_9),
    rule("POST", "/contacts/{id}/checkmemberobjects", DIR_6, DIR_10),
    rule("POST", "/contacts/{id}/getmemberobjects", DIR_6, DIR_10),
    rule("GET", "/serviceprincipals/{id}/memberof", APPS_5, APPS_2),
    rule("GET", "/serviceprincipals/{id}/transitivememberof", APPS_2, APPS_2),
    rule("POST", "/serviceprincipals/{id}/checkmembergroups", DIR_6, DIR_7),
    rule("POST", "/serviceprincipals/{id}/getmembergroups", DIR_8, DIR_9),
    rule("POST", "/serviceprincipals/{id}/checkmemberobjects", DIR_6, DIR_10),
    rule("POST", "/serviceprincipals/{id}/getmemberobjects", DIR_6, DIR_10),
    rule("GET", "/directory/administrativeunits", DIR_14, DIR_14),
    rule("POST", "/directory/administrativeunits", DIR_15, DIR_15),
    rule("GET", "/directory/administrativeunits/{id}", DIR_14, DIR_14),
    rule("PATCH", "/directory/administrativeunits/{id}", DIR_15, DIR_15),
    rule("DELETE", "/directory/administrativeunits/{id}", DIR_15, DIR_15),
    rule("GET", "/directory/administrativeunits/{id}/members", DIR_14, DIR_14),
    rule("POST", "/directory/administrativeunits/{id}/members", DIR_16, DIR_17),
    rule("GET", "/directory/administrativeunits/{id}/members/{id}", DIR_14, DIR_14),
    rule("DELETE", "/directory/administrativeunits/{id}/members/{id}", DIR_15, DIR_15),
    // Directory roles and the unified RBAC API (issue 4).
    rule("GET", "/directoryroletemplates", ROLES_READ, ROLES_READ),
    rule("GET", "/directoryroletemplates/{id}", ROLES_READ, ROLES_READ),
    rule("GET", "/directoryroles", ROLES_READ, ROLES_READ),
    rule("POST", "/directoryroles", ROLES_WRITE, ROLES_WRITE),
    rule("GET", "/directoryroles/{id}", ROLES_READ, ROLES_READ),
    rule("GET", "/directoryroles/{id}/members", ROLES_READ, ROLES_READ),
    rule("POST", "/directoryroles/{id}/members", ROLES_WRITE, ROLES_WRITE),
    rule("DELETE", "/directoryroles/{id}/members/{id}", ROLES_WRITE, ROLES_WRITE),
    rule("GET", "/rolemanagement/directory/roledefinitions", RBAC_READ, RBAC_READ),
    rule("POST", "/rolemanagement/directory/roledefinitions", RBAC_DEFINE, RBAC_DEFINE),
    rule("GET", "/rolemanagement/directory/roledefinitions/{id}", RBAC_READ, RBAC_READ),
    rule("PATCH", "/rolemanagement/directory/roledefinitions/{id}", RBAC_DEFINE, RBAC_DEFINE),
    rule("DELETE", "/rolemanagement/directory/roledefinitions/{id}", RBAC_DEFINE, RBAC_DEFINE),
    rule("GET", "/rolemanagement/directory/roleassignments", ROLES_READ, RBAC_READ),
    rule("POST", "/rolemanagement/directory/roleassignments", ROLES_WRITE, ROLES_WRITE),
    rule("GET", "/rolemanagement/directory/roleassignments/{id}", ROLES_READ, RBAC_READ),
    rule("DELETE", "/rolemanagement/directory/roleassignments/{id}", ROLES_WRITE, ROLES_WRITE),
    // Token lifetime policies (issue 9).
    rule("GET", "/policies/tokenlifetimepolicies", APP_POLICY_READ, APP_POLICY_READ),
    rule("POST", "/policies/tokenlifetimepolicies", APP_POLICY_WRITE, APP_POLICY_WRITE),
    rule("GET", "/policies/tokenlifetimepolicies/{id}", APP_POLICY_READ, APP_POLICY_READ),
    rule("PATCH", "/policies/tokenlifetimepolicies/{id}", APP_POLICY_WRITE, APP_POLICY_WRITE),
    rule("DELETE", "/policies/tokenlifetimepolicies/{id}", APP_POLICY_WRITE, APP_POLICY_WRITE),
    rule("GET", "/policies/tokenlifetimepolicies/{id}/appliesto", APPLIES_TO_READ, APPLIES_TO_READ),
    rule("GET", "/applications/{id}/tokenlifetimepolicies", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("POST", "/applications/{id}/tokenlifetimepolicies", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("DELETE", "/applications/{id}/tokenlifetimepolicies/{id}", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("GET", "/serviceprincipals/{id}/tokenlifetimepolicies", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("POST", "/serviceprincipals/{id}/tokenlifetimepolicies", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("DELETE", "/serviceprincipals/{id}/tokenlifetimepolicies/{id}", SP_TLP_DELETE_APP, SP_TLP_DELETE_DELEGATED),
    rule("GET", "/policies/claimsmappingpolicies", APP_POLICY_READ, APP_POLICY_READ),
    rule("POST", "/policies/claimsmappingpolicies", APP_POLICY_WRITE, APP_POLICY_WRITE),
    rule("GET", "/policies/claimsmappingpolicies/{id}", APP_POLICY_READ, APP_POLICY_READ),
    rule("PATCH", "/policies/claimsmappingpolicies/{id}", APP_POLICY_WRITE, APP_POLICY_WRITE),
    rule("DELETE", "/policies/claimsmappingpolicies/{id}", APP_POLICY_WRITE, APP_POLICY_WRITE),
    rule("GET", "/policies/claimsmappingpolicies/{id}/appliesto", APPLIES_TO_READ, APPLIES_TO_READ),
    rule("GET", "/serviceprincipals/{id}/claimsmappingpolicies", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("POST", "/serviceprincipals/{id}/claimsmappingpolicies", APP_POLICY_APP, APP_POLICY_DELEGATED),
    rule("DELETE", "/serviceprincipals/{id}/claimsmappingpolicies/{id}", APP_POLICY_APP, APP_POLICY_DELEGATED),
    // Audit and sign-in logs (issue 7).
    rule("GET", "/auditlogs/directoryaudits", AUDIT_READ, AUDIT_READ),
    rule("GET", "/auditlogs/directoryaudits/{id}", AUDIT_READ, AUDIT_READ),
    rule("GET", "/auditlogs/signins", SIGN_INS_READ, SIGN_INS_READ),
    rule("GET", "/auditlogs/signins/{id}", SIGN_INS_READ, SIGN_INS_READ),
    // Identity Protection (issue 7).
    rule("GET", "/identityprotection/riskdetections", RISK_EVENT_READ, RISK_EVENT_READ),
    rule("GET", "/identityprotection/riskdetections/{id}", RISK_EVENT_READ, RISK_EVENT_READ),
    rule("GET", "/identityprotection/riskyusers", RISKY_USER_READ, RISKY_USER_READ),
    rule("GET", "/identityprotection/riskyusers/{id}", RISKY_USER_READ, RISKY_USER_READ),
    rule("GET", "/identityprotection/riskyusers/{id}/history", RISKY_USER_HISTORY, RISKY_USER_HISTORY),
    rule("GET", "/identityprotection/riskyusers/{id}/history/{id}", RISKY_USER_HISTORY, RISKY_USER_HISTORY),
    rule("POST", "/identityprotection/riskyusers/confirmcompromised", RISKY_USER_WRITE, RISKY_USER_WRITE),
    rule("POST", "/identityprotection/riskyusers/dismiss", RISKY_USER_WRITE, RISKY_USER_WRITE),
    rule("GET", "/identityprotection/serviceprincipalriskdetections", RISK_EVENT_READ, RISK_EVENT_READ),
    rule("GET", "/identityprotection/serviceprincipalriskdetections/{id}", RISK_EVENT_READ, RISK_EVENT_READ),
    rule("GET", "/identityprotection/riskyserviceprincipals", RISKY_SP_READ, RISKY_SP_READ),
    rule("GET", "/identityprotection/riskyserviceprincipals/{id}", RISKY_SP_READ, RISKY_SP_READ),
    rule("GET", "/identityprotection/riskyserviceprincipals/{id}/history", RISKY_SP_READ, RISKY_SP_READ),
    rule("POST", "/identityprotection/riskyserviceprincipals/confirmcompromised", RISKY_SP_WRITE, RISKY_SP_WRITE),
    rule("POST", "/identityprotection/riskyserviceprincipals/dismiss", RISKY_SP_WRITE, RISKY_SP_WRITE),
    // Profile photos; scoped role members of administrative units (issue 4).
    rule("GET", "/users/{id}/photo", PHOTO_USER_READ_APP, PHOTO_USER_READ_DEL),
    rule("PUT", "/users/{id}/photo", PHOTO_USER_WRITE_APP, PHOTO_USER_WRITE_DEL),
    rule("DELETE", "/users/{id}/photo", PHOTO_USER_WRITE_APP, PHOTO_USER_WRITE_DEL),
    rule("GET", "/users/{id}/photos", PHOTO_USER_LIST_APP, PHOTO_USER_READ_DEL),
    rule("GET", "/users/{id}/photos/{id}", PHOTO_USER_LIST_APP, PHOTO_USER_READ_DEL),
    rule("GET", "/groups/{id}/photo", PHOTO_GROUP_READ, PHOTO_GROUP_READ),
    rule("PUT", "/groups/{id}/photo", PHOTO_GROUP_WRITE, PHOTO_GROUP_WRITE),
    rule("DELETE", "/groups/{id}/photo", PHOTO_GROUP_WRITE, PHOTO_GROUP_WRITE),
    rule("GET", "/groups/{id}/photos", PHOTO_GROUP_READ, PHOTO_GROUP_READ),
    rule("GET", "/groups/{id}/photos/{id}", PHOTO_GROUP_READ, PHOTO_GROUP_READ),
    rule("GET", "/me/photo", NONE, PHOTO_USER_READ_DEL),
    rule("PUT", "/me/photo", NONE, PHOTO_USER_WRITE_DEL),
    rule("DELETE", "/me/photo", NONE, PHOTO_USER_WRITE_DEL),
    rule("GET", "/me/photos", NONE, PHOTO_USER_READ_DEL),
    rule("GET", "/me/photos/{id}", NONE, PHOTO_USER_READ_DEL),
    rule("GET", "/directory/administrativeunits/{id}/scopedrolemembers", SCOPED_ROLE_READ, SCOPED_ROLE_READ),
    rule("POST", "/directory/administrativeunits/{id}/scopedrolemembers", SCOPED_ROLE_WRITE, SCOPED_ROLE_WRITE),
    rule("GET", "/directory/administrativeunits/{id}/scopedrolemembers/{id}", SCOPED_ROLE_READ, SCOPED_ROLE_READ),
    rule("DELETE", "/directory/administrativeunits/{id}/scopedrolemembers/{id}", SCOPED_ROLE_WRITE, SCOPED_ROLE_WRITE),
    rule("GET", "/users/{id}/scopedrolememberof", SCOPED_ROLE_OF, SCOPED_ROLE_OF),
    rule("GET", "/me/scopedrolememberof", NONE, SCOPED_ROLE_OF),
    // --- licences (issue 4) ---
    rule("GET", "/subscribedskus", SKUS_LIST, SKUS_LIST),
    rule("GET", "/subscribedskus/{id}", SKUS_LIST, SKU_GET_DEL),
    rule("POST", "/users/{id}/assignlicense", USER_ASSIGN_LICENSE, USER_ASSIGN_LICENSE),
    rule("POST", "/groups/{id}/assignlicense", GROUP_ASSIGN_LICENSE, GROUP_ASSIGN_LICENSE),
    rule("GET", "/users/{id}/licensedetails", LICENSE_DETAILS_APP, LICENSE_DETAILS_DEL),
    rule("GET", "/me/licensedetails", NONE, LICENSE_DETAILS_DEL),
    // Organization and domains (issue 4); the ORG_* and DOMAIN_* sets are at the end of the file.
    rule("GET", "/organization", ORG_LIST_APP, ORG_LIST_DEL),
    rule("GET", "/organization/{id}", ORG_GET, ORG_GET),
    rule("PATCH", "/organization/{id}", ORG_UPDATE, ORG_UPDATE),
    rule("GET", "/domains", DOMAIN_READ, DOMAIN_READ),
    rule("POST", "/domains", DOMAIN_WRITE, DOMAIN_WRITE),
    rule("GET", "/domains/{id}", DOMAIN_READ, DOMAIN_READ),
    rule("PATCH", "/domains/{id}", DOMAIN_WRITE, DOMAIN_WRITE),
    rule("DELETE", "/domains/{id}", DOMAIN_WRITE, DOMAIN_WRITE),
    rule("POST", "/domains/{id}/verify", DOMAIN_WRITE, DOMAIN_WRITE),
    rule("POST", "/domains/{id}/forcedelete", DOMAIN_WRITE, DOMAIN_WRITE),
    rule("GET", "/domains/{id}/verificationdnsrecords", DOMAIN_RECORDS, DOMAIN_RECORDS),
    rule("GET", "/domains/{id}/serviceconfigurationrecords", DOMAIN_RECORDS, DOMAIN_RECORDS),
    rule("GET", "/domains/{id}/domainnamereferences", DOMAIN_RECORDS, DOMAIN_RECORDS),
    // Directory and schema extensions, invitations, contracts (issue 4).
    rule("GET", "/applications/{id}/extensionproperties", EXT_LIST_APP, EXT_LIST_DEL),
    rule("POST", "/applications/{id}/extensionproperties", APPS_10, APPS_11),
    rule("GET", "/applications/{id}/extensionproperties/{id}", EXT_GET_APP, EXT_GET_DEL),
    rule("DELETE", "/applications/{id}/extensionproperties/{id}", APPS_10, APPS_11),
    rule("POST", "/directoryobjects/getavailableextensionproperties", DIRECTORY_READ, DIRECTORY_READ),
    rule("GET", "/schemaextensions", SCHEMA_EXT_READ_APP, SCHEMA_EXT_READ_DEL),
    rule("POST", "/schemaextensions", APPS_11, APPS_7),
    rule("GET", "/schemaextensions/{id}", SCHEMA_EXT_READ_APP, SCHEMA_EXT_READ_DEL),
    rule("PATCH", "/schemaextensions/{id}", APPS_11, APPS_7),
    rule("DELETE", "/schemaextensions/{id}", APPS_11, APPS_7),
    // Custom security attribute sets and definitions (issue 9).
    rule("GET", "/directory/attributesets", CSA_DEF_READ, CSA_DEF_READ),
    rule("POST", "/directory/attributesets", CSA_DEF_WRITE, CSA_DEF_WRITE),
    rule("GET", "/directory/attributesets/{id}", CSA_DEF_READ, CSA_DEF_READ),
    rule("PATCH", "/directory/attributesets/{id}", CSA_DEF_WRITE, CSA_DEF_WRITE),
    rule("GET", "/directory/customsecurityattributedefinitions", CSA_DEF_READ, CSA_DEF_READ),
    rule("POST", "/directory/customsecurityattributedefinitions", CSA_DEF_WRITE, CSA_DEF_WRITE),
    rule("GET", "/directory/customsecurityattributedefinitions/{id}", CSA_DEF_READ, CSA_DEF_READ),
    rule("PATCH", "/directory/customsecurityattributedefinitions/{id}", CSA_DEF_WRITE, CSA_DEF_WRITE),
    rule("GET", "/directory/customsecurityattributedefinitions/{id}/allowedvalues", CSA_DEF_READ, CSA_DEF_READ),
    rule("POST", "/directory/customsecurityattributedefinitions/{id}/allowedvalues", CSA_DEF_WRITE, CSA_DEF_WRITE),
    rule("GET", "/directory/customsecurityattributedefinitions/{id}/allowedvalues/{id}", CSA_DEF_READ, CSA_DEF_READ),
    rule(
        "PATCH",
        "/directory/customsecurityattributedefinitions/{id}/allowedvalues/{id}",
        CSA_DEF_WRITE,
        CSA_DEF_WRITE,
    ),
    rule("POST", "/invitations", INVITE, INVITE),
    rule("GET", "/contracts", CONTRACTS_READ, CONTRACTS_READ),
    rule("GET", "/contracts/{id}", CONTRACTS_READ, CONTRACTS_READ),
    // Conditional Access (issue 7). The reference lists Policy.Read.All for the writes too, and
    // Application.Read.All for creating and updating policies; the table follows it.
    rule("GET", "/identity/conditionalaccess/namedlocations", CA_READ, CA_READ),
    rule("POST", "/identity/conditionalaccess/namedlocations", CA_WRITE, CA_WRITE),
    rule("GET", "/identity/conditionalaccess/namedlocations/{id}", CA_READ, CA_READ),
    rule("PATCH", "/identity/conditionalaccess/namedlocations/{id}", CA_WRITE, CA_WRITE),
    rule("DELETE", "/identity/conditionalaccess/namedlocations/{id}", CA_WRITE, CA_WRITE),
    rule("GET", "/identity/conditionalaccess/policies", CA_READ, CA_READ),
    rule("POST", "/identity/conditionalaccess/policies", CA_POLICY_WRITE, CA_POLICY_WRITE),
    rule("GET", "/identity/conditionalaccess/policies/{id}", CA_READ, CA_READ),
    rule("PATCH", "/identity/conditionalaccess/policies/{id}", CA_POLICY_WRITE, CA_POLICY_WRITE),
    rule("DELETE", "/identity/conditionalaccess/policies/{id}", CA_WRITE, CA_WRITE),
];

/// Application-configuration policies ("List tokenLifetimePolicies", "Create
/// tokenLifetimePolicy", ...).
const APP_POLICY_READ: &[&str] = &["Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"];
const APP_POLICY_WRITE: &[&str] = &["Policy.ReadWrite.ApplicationConfiguration"];
const APPLIES_TO_READ: &[&str] =
    &["Application.Read.All", "Directory.Read.All", "Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"];
/// Assigning a policy to an application: the reference pairs `Application.ReadWrite.*` with a
/// policy permission ("AlsoRequires"); the table lists either side.
const APP_POLICY_APP: &[&str] = &[
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Policy.Read.All",
    "Policy.ReadWrite.ApplicationConfiguration",
];
const APP_POLICY_DELEGATED: &[&str] =
    &["Application.ReadWrite.All", "Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"];
/// "Remove tokenLifetimePolicy" from a service principal: the reference lists
/// Policy.ReadWrite.ApplicationConfiguration (not Policy.Read.All) beside the application side.
const SP_TLP_DELETE_APP: &[&str] =
    &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Policy.ReadWrite.ApplicationConfiguration"];
const SP_TLP_DELETE_DELEGATED: &[&str] = &["Application.ReadWrite.All", "Policy.ReadWrite.ApplicationConfiguration"];

/// Conditional Access ("List namedLocations", "Create conditionalAccessPolicy", ...).
const CA_READ: &[&str] = &["Policy.Read.All"];
const CA_WRITE: &[&str] = &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"];
const CA_POLICY_WRITE: &[&str] = &["Application.Read.All", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"];

/// Licences ("List subscribedSkus", "Get subscribedSku", "user: assignLicense", "group:
/// assignLicense", "List licenseDetails").
const SKUS_LIST: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
];
const SKU_GET_DEL: &[&str] =
    &["Directory.Read.All", "Directory.ReadWrite.All", "LicenseAssignment.Read.All", "Organization.Read.All"];
const USER_ASSIGN_LICENSE: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.ReadWrite.All",
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
];
const GROUP_ASSIGN_LICENSE: &[&str] =
    &["Directory.ReadWrite.All", "Group.ReadWrite.All", "LicenseAssignment.ReadWrite.All"];
const LICENSE_DETAILS_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "User.Read.All",
    "User.ReadWrite.All",
];
const LICENSE_DETAILS_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "User.Read",
    "User.Read.All",
    "User.ReadWrite.All",
];

// Profile photos and scoped role members (issue 4).
const PHOTO_USER_READ_APP: &[&str] = &[
    "ProfilePhoto.Read.All",
    "ProfilePhoto.ReadWrite.All",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.CrossCloud",
];
const PHOTO_USER_READ_DEL: &[&str] =
    &["ProfilePhoto.Read.All", "ProfilePhoto.ReadWrite.All", "User.Read", "User.ReadBasic.All"];
const PHOTO_USER_LIST_APP: &[&str] =
    &["ProfilePhoto.Read.All", "ProfilePhoto.ReadWrite.All", "User.Read.All", "User.ReadBasic.All"];
const PHOTO_USER_WRITE_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "ProfilePhoto.ReadWrite.All",
    "User.ReadWrite.All",
];
const PHOTO_USER_WRITE_DEL: &[&str] = &["ProfilePhoto.ReadWrite.All", "User.ReadWrite"];
const PHOTO_GROUP_READ: &[&str] = &["Group.Read.All", "ProfilePhoto.Read.All", "ProfilePhoto.ReadWrite.All"];
const PHOTO_GROUP_WRITE: &[&str] = &["Group.ReadWrite.All", "ProfilePhoto.ReadWrite.All"];
const SCOPED_ROLE_READ: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
];
const SCOPED_ROLE_WRITE: &[&str] = &["RoleManagement.ReadWrite.Directory"];
const SCOPED_ROLE_OF: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All"];

const RISK_EVENT_READ: &[&str] = &["IdentityRiskEvent.Read.All"];
const RISKY_USER_READ: &[&str] = &["IdentityRiskyUser.Read.All"];
const RISKY_USER_HISTORY: &[&str] = &["IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All"];
const RISKY_USER_WRITE: &[&str] = &["IdentityRiskyUser.ReadWrite.All"];
const RISKY_SP_READ: &[&str] =
    &["IdentityRiskyServicePrincipal.Read.All", "IdentityRiskyServicePrincipal.ReadWrite.All"];
const RISKY_SP_WRITE: &[&str] = &["IdentityRiskyServicePrincipal.ReadWrite.All"];

const AUDIT_READ: &[&str] = &["AuditLog.Read.All", "Directory.Read.All"];

/// Reading directory roles, role templates and (application) role assignments.
const ROLES_READ: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
];

/// Activating roles, changing their members, role assignments.
const ROLES_WRITE: &[&str] = &["RoleManagement.ReadWrite.Directory"];

/// Reading role definitions (and delegated reads of role assignments).
const RBAC_READ: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "RoleManagement.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
];

/// Creating, updating and deleting custom role definitions.
const RBAC_DEFINE: &[&str] = &["Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory"];

const SIGN_INS_READ: &[&str] = &["AuditLog.Read.All"];

// The permission sets, sorted by name. Several routes share a set.

const USER_GET_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.Read.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.Read.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "User.ReadWrite.CrossCloud",
];

const USER_LIST_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.Read.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.Read.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
];

const USER_CREATE: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
];

const USER_READ_RELATED: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

const USER_GET_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.Read.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.Read.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
];

const USER_UPDATE_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.ReadWrite.All",
    "User-Mail.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    "User-Phone.ReadWrite.All",
    "User.EnableDisableAccount.All",
    "User.ManageIdentities.All",
    "User.ReadWrite.All",
    "User.ReadWrite.CrossCloud",
];

const USER_UPDATE_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.ReadWrite.All",
    "User-Mail.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    "User-Phone.ReadWrite.All",
    "User.EnableDisableAccount.All",
    "User.ManageIdentities.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
];

const USER_DELETE_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "User.DeleteRestore.All",
    "User.ReadWrite.All",
    "User.ReadWrite.CrossCloud",
];

const USER_DELETE_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "User.DeleteRestore.All",
    "User.ReadWrite.All",
];

const MEMBER_OF_APP: &[&str] =
    &["Directory.Read.All", "Directory.ReadWrite.All", "Group.ReadBasic.All", "GroupMember.ReadBasic.All"];

const MEMBER_OF_DEL: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.ReadBasic.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read",
];

const USER_TRANSITIVE_MEMBER_OF_APP: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
];

const USER_TRANSITIVE_MEMBER_OF_DEL: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read",
    "User.Read.All",
];

const MANAGER_WRITE: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
];

const USER_REPORTS_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read",
    "User.Read.All",
    "User.ReadWrite.All",
];

const USER_DEVICES_APP: &[&str] =
    &["Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All", "User.ReadWrite.All"];

const USER_DEVICES_DEL: &[&str] =
    &["Directory.Read.All", "Directory.ReadWrite.All", "User.Read", "User.Read.All", "User.ReadWrite.All"];

const CREATED_OBJECTS_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read",
    "User.Read.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
];

const MEMBERSHIP_CHECK_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

const CHECK_MEMBER_GROUPS_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

const GET_MEMBER_GROUPS_APP: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
];

const GET_MEMBER_GROUPS_DEL: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
];

const MEMBER_OBJECTS_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read",
    "User.Read.All",
    "User.ReadWrite.All",
];

const NONE: &[&str] = &[];

// Authentication methods.
const AUTH_METHODS_READ_APP: &[&str] = &["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"];
const AUTH_METHODS_ME_APP: &[&str] = AUTH_METHODS_READ_APP;
const AUTH_METHODS_READ_DEL: &[&str] = &[
    "UserAuthenticationMethod.Read",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite",
    "UserAuthenticationMethod.ReadWrite.All",
];
const PASSWORD_METHODS_READ_APP: &[&str] = &[
    "UserAuthMethod-Password.Read.All",
    "UserAuthMethod-Password.ReadWrite.All",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];
const PASSWORD_METHODS_READ_DEL: &[&str] = &[
    "UserAuthMethod-Password.Read",
    "UserAuthMethod-Password.Read.All",
    "UserAuthMethod-Password.ReadWrite",
    "UserAuthMethod-Password.ReadWrite.All",
    "UserAuthenticationMethod.Read",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite",
    "UserAuthenticationMethod.ReadWrite.All",
];
const OATH_METHODS_READ_APP: &[&str] = &[
    "UserAuthMethod-SoftwareOATH.Read.All",
    "UserAuthMethod-SoftwareOATH.ReadWrite.All",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];
const OATH_METHODS_READ_DEL: &[&str] = &[
    "UserAuthMethod-SoftwareOATH.Read",
    "UserAuthMethod-SoftwareOATH.Read.All",
    "UserAuthMethod-SoftwareOATH.ReadWrite",
    "UserAuthMethod-SoftwareOATH.ReadWrite.All",
    "UserAuthenticationMethod.Read",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite",
    "UserAuthenticationMethod.ReadWrite.All",
];
const OATH_METHODS_WRITE_APP: &[&str] =
    &["UserAuthMethod-SoftwareOATH.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"];
const OATH_METHODS_WRITE_DEL: &[&str] = &[
    "UserAuthMethod-SoftwareOATH.ReadWrite",
    "UserAuthMethod-SoftwareOATH.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite",
    "UserAuthenticationMethod.ReadWrite.All",
];
const FIDO2_LIST_DEL: &[&str] = &[
    "UserAuthMethod-Passkey.Read",
    "UserAuthMethod-Passkey.Read.All",
    "UserAuthMethod-Passkey.ReadWrite",
    "UserAuthenticationMethod.Read",
    "UserAuthenticationMethod.ReadWrite",
];
const FIDO2_GET_APP: &[&str] = &[
    "UserAuthMethod-Passkey.Read.All",
    "UserAuthMethod-Passkey.ReadWrite.All",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];
const FIDO2_GET_DEL: &[&str] = &[
    "UserAuthMethod-Passkey.Read",
    "UserAuthMethod-Passkey.Read.All",
    "UserAuthMethod-Passkey.ReadWrite",
    "UserAuthMethod-Passkey.ReadWrite.All",
    "UserAuthenticationMethod.Read",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite",
    "UserAuthenticationMethod.ReadWrite.All",
];
const FIDO2_WRITE_APP: &[&str] = &["UserAuthMethod-Passkey.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"];
const FIDO2_WRITE_DEL: &[&str] = &[
    "UserAuthMethod-Passkey.ReadWrite",
    "UserAuthMethod-Passkey.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite",
    "UserAuthenticationMethod.ReadWrite.All",
];
const FIDO2_ME_READ_DEL: &[&str] = &[
    "UserAuthMethod-Passkey.Read",
    "UserAuthMethod-Passkey.ReadWrite",
    "UserAuthenticationMethod.Read",
    "UserAuthenticationMethod.ReadWrite",
];
const FIDO2_ME_WRITE_DEL: &[&str] = &["UserAuthMethod-Passkey.ReadWrite", "UserAuthenticationMethod.ReadWrite"];

const REVOKE_SESSIONS: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
    "User.RevokeSessions.All",
];

const ME_GET_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
];

const ME_MEMBERSHIP_APP: &[&str] =
    &["Application.Read.All", "Application.ReadWrite.All", "Device.Read.All", "Device.ReadWrite.All"];

const GROUP_LIST: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group-NestingSupport.ReadWrite.All",
    "Group-PreferredDataLocation.ReadWrite.All",
    "Group.ManageProtection.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
];

const GROUP_CREATE_APP: &[&str] =
    &["Directory.ReadWrite.All", "Group-PreferredDataLocation.ReadWrite.All", "Group.Create", "Group.ReadWrite.All"];

const GROUP_CREATE_DEL: &[&str] =
    &["Directory.ReadWrite.All", "Group-PreferredDataLocation.ReadWrite.All", "Group.ReadWrite.All"];

const GROUP_DELTA: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group-NestingSupport.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
];

const GROUP_GET: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group-NestingSupport.ReadWrite.All",
    "Group-PreferredDataLocation.ReadWrite.All",
    "Group-XTenantIdentitySync.Read.All",
    "Group.ManageProtection.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
];

const GROUP_UPDATE: &[&str] = &[
    "Directory.ReadWrite.All",
    "Group-NestingSupport.ReadWrite.All",
    "Group-PreferredDataLocation.ReadWrite.All",
    "Group.ManageProtection.All",
    "Group.ReadWrite.All",
];

const GROUP_DELETE: &[&str] = &["Group.ReadWrite.All"];

const GROUP_MEMBERS_READ: &[&str] = &[
    "Directory.Read.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "GroupMember.ReadWrite.All",
];

const GROUP_MEMBER_REMOVE: &[&str] = &["Directory.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"];

const GROUP_OWNERS_READ: &[&str] = &[
    "Directory.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
];

const GROUP_OWNERS_WRITE: &[&str] = &["Directory.ReadWrite.All", "Group.ReadWrite.All"];

const GROUP_MEMBER_OF: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
];

const RESTORE_APP: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "AgentIdentity.DeleteRestore.All",
    "AgentIdentityBlueprint.DeleteRestore.All",
    "AgentIdentityBlueprintPrincipal.DeleteRestore.All",
    "User.DeleteRestore.All",
    "User.ReadWrite.All",
    "User.ReadWrite.CrossCloud",
];

const RESTORE_DEL: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "AgentIdentity.DeleteRestore.All",
    "AgentIdentityBlueprint.DeleteRestore.All",
    "AgentIdentityBlueprintPrincipal.DeleteRestore.All",
    "User.DeleteRestore.All",
    "User.ReadWrite.All",
];

const DIRECTORY_READ: &[&str] = &["Directory.Read.All"];
const VALIDATE_PROPERTIES_APP: &[&str] =
    &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All"];
const VALIDATE_PROPERTIES_DEL: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All"];

// Applications, service principals, app role assignments, delegated permission grants.

const APPS_1: &[&str] =
    &["Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All"];

const APPS_DELTA: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

const DEVICES_DELTA: &[&str] = &["Device.Read.All"];

const CONTACTS_DELTA: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All", "OrgContact.Read.All"];

const UNITS_DELTA: &[&str] = &[
    "AdministrativeUnit.Read.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

const APPS_2: &[&str] =
    &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

const APPS_3: &[&str] = &["AppRegistration.Create", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];

const APPS_4: &[&str] = &["AppRegistration.Create", "Application.ReadWrite.All"];

const APPS_5: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

const APPS_6: &[&str] = &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];

const APPS_7: &[&str] = &["Application.ReadWrite.All"];

const APPS_8: &[&str] =
    &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"];

const APPS_9: &[&str] = &["Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

const APPS_10: &[&str] = &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"];

const APPS_11: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];

const APPS_12: &[&str] = &["Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];

const APPS_13: &[&str] = &["Application.Read.All", "Application.ReadWrite.All"];

const APPS_14: &[&str] =
    &["AppRoleAssignment.ReadWrite.All", "Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"];

const APPS_15: &[&str] = &["AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All"];

const APPS_16: &[&str] = &["DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

const APPS_17: &[&str] = &["AppRoleAssignment.ReadWrite.All", "Directory.Read.All"];

const APPS_18: &[&str] = &["AppRoleAssignment.ReadWrite.All"];

const APPS_19: &[&str] = &["AppRoleAssignment.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

const APPS_20: &[&str] = &["DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"];

// Devices, organizational contacts, administrative units.

const DIR_1: &[&str] = &["Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

const DIR_2: &[&str] = &["Device.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"];

const DIR_3: &[&str] = &["Directory.AccessAsUser.All"];

const DIR_4: &[&str] = &["Device.ReadWrite.All", "Directory.ReadWrite.All"];

const DIR_5: &[&str] = &["Device.ReadWrite.All"];

const DIR_6: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

const DIR_7: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

const DIR_8: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
];

const DIR_9: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read.All",
];

const DIR_10: &[&str] = &[
    "AgentIdUser.ReadWrite.All",
    "AgentIdUser.ReadWrite.IdentityParentedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadBasic.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadBasic.All",
    "User.Read",
    "User.Read.All",
    "User.ReadWrite.All",
];

const DIR_11: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All", "OrgContact.Read.All"];

const DIR_12: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "OrgContact.Read.All"];

const DIR_13: &[&str] = &["Directory.Read.All", "Group.Read.All", "OrgContact.Read.All"];

const DIR_14: &[&str] = &[
    "AdministrativeUnit.Read.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

const DIR_15: &[&str] = &["AdministrativeUnit.ReadWrite.All"];

const DIR_16: &[&str] =
    &["AdministrativeUnit.ReadWrite.All", "Directory.ReadWrite.All", "Group.Create", "Group.ReadWrite.All"];

const DIR_17: &[&str] = &[
    "AdministrativeUnit.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "Directory.ReadWrite.All",
    "Group.ReadWrite.All",
];

// Organization and domains (issue 4), as the reference lists them (`GET /organization/{id}`
// lists neither Organization.* nor Directory.* there).
const ORG_LIST_APP: &[&str] = &[
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementServiceConfig.Read.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "User.Read.All",
];
const ORG_LIST_DEL: &[&str] = &[
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementServiceConfig.Read.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "User.Read",
    "User.Read.All",
];
const ORG_GET: &[&str] = &[
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementServiceConfig.Read.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "User.Read.All",
];
const ORG_UPDATE: &[&str] = &[
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "Organization.ReadWrite.All",
];
const DOMAIN_READ: &[&str] = &["Directory.Read.All", "Domain.Read.All", "Domain.ReadWrite.All"];
const DOMAIN_WRITE: &[&str] = &["Domain.ReadWrite.All"];
const DOMAIN_RECORDS: &[&str] = &["Domain.Read.All", "Domain.ReadWrite.All"];
// Directory and schema extensions, invitations, contracts (issue 4).
const EXT_LIST_APP: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const EXT_LIST_DEL: &[&str] =
    &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const EXT_GET_APP: &[&str] = &["Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];
const EXT_GET_DEL: &[&str] = &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"];
const SCHEMA_EXT_READ_APP: &[&str] = &["Application.Read.All"];
const SCHEMA_EXT_READ_DEL: &[&str] = &["Application.Read.All", "User.Read"];
const CSA_DEF_READ: &[&str] = &["CustomSecAttributeDefinition.Read.All", "CustomSecAttributeDefinition.ReadWrite.All"];
const CSA_DEF_WRITE: &[&str] = &["CustomSecAttributeDefinition.ReadWrite.All"];
const INVITE: &[&str] = &["Directory.ReadWrite.All", "User.Invite.All", "User.ReadWrite.All"];
const CONTRACTS_READ: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_normalises() {
        let r = lookup("get", "/Users/{user-id}/memberOf").unwrap();
        assert_eq!(r.path, "/users/{id}/memberof");
        assert_eq!(lookup("DELETE", "/groups/{id}/members/{id}/$ref").unwrap().method, "DELETE");
        assert_eq!(lookup("POST", "/groups/{id}/owners/$ref").unwrap().path, "/groups/{id}/owners");
        assert!(lookup("GET", "/users/{id}/nothing").is_none());
        assert!(lookup("PATCH", "/users").is_none());
        assert!(lookup("GET", "/users/{id}/memberof/extra").is_none());
    }

    #[test]
    fn allows() {
        let r = lookup("GET", "/users").unwrap();
        assert!(r.allows_application(["User.Read.All"]));
        assert!(!r.allows_application(["User.Read"]));
        assert!(lookup("GET", "/me").unwrap().allows_delegated(["openid", "user.read"]));
        assert!(!lookup("GET", "/me").unwrap().allows_application(["User.Read.All"]));
    }

    #[test]
    fn rules_are_unique_and_well_formed() {
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.path, r.path.to_ascii_lowercase());
            assert!(r.path.starts_with('/') && !r.path.ends_with('/'));
            assert!(["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&r.method));
            assert!(!RULES[..i].iter().any(|o| o.method == r.method && o.path == r.path));
            for set in [r.application, r.delegated] {
                assert!(set.windows(2).all(|w| w[0] < w[1]), "{} {}", r.method, r.path);
            }
        }
    }
}
