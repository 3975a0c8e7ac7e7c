//! What a signed-in user may do through a delegated token, on top of the token's scopes.
//!
//! Graph checks a delegated call twice: the app must hold a delegated permission for the route
//! (`scp`, [`crate::authz_table`]), and the user must be allowed the operation in the
//! directory. This module is the second check, as a small rule table over the user's directory
//! roles (the token's `wids`, role template ids as Entra defines them):
//!
//! | operation | allowed for |
//! |---|---|
//! | reads (`GET`, and the read-only POST actions such as `checkMemberGroups`, `getByIds`) | every member (Entra's default user permissions let members read users, groups, apps) |
//! | `PATCH /users/{self}`, `POST /users/{self}/revokeSignInSessions` | the user themself |
//! | other writes under `/users` | Global Administrator, User Administrator |
//! | `POST /groups` | every member (default "users can create security groups") |
//! | other writes under `/groups` | Global Administrator, Groups Administrator, User Administrator |
//! | `POST /applications` | every member (default "users can register applications") |
//! | other writes to applications, service principals, app role assignments and `oauth2PermissionGrants` | Global Administrator, Application Administrator, Cloud Application Administrator, Privileged Role Administrator |
//! | writes under `/directory/deletedItems` | Global Administrator, User Administrator, Groups Administrator, Application Administrator |
//! | any other write | Global Administrator |
//! | reads of `/auditLogs` | the log-reading roles of [`LOG_READERS`] |
//! | reads of `/identityProtection` / `confirmCompromised` and `dismiss` | [`RISK_READERS`] / [`RISK_ADMINS`] |
//! | reads under `/users/{id}/authentication` | the user themself, Global Reader, Authentication Administrator, Privileged Authentication Administrator, Global Administrator |
//! | deleting a method there | the user themself, Authentication Administrator, Privileged Authentication Administrator, Global Administrator |
//! | `resetPassword` | the password-resetting roles of [`PASSWORD_RESETTERS`], never on the caller's own account |
//!
//! Not modelled yet: group and application owners managing what they own (Entra lets them).

use crate::Principal;

pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
pub const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";

/// The directory roles whose holders may read the audit and sign-in logs (Entra's "least
/// privileged roles" for `auditLogs`): Reports Reader, Security Reader, Security Operator,
/// Security Administrator, Global Reader, Global Administrator. Members without one are
/// refused even with `AuditLog.Read.All` consented.
const LOG_READERS: &[&str] = &[
    "4a5d8f65-41da-4de4-8968-e035b65339cf",
    "5d6b6bb7-de71-4623-b4af-96380a352509",
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    GLOBAL_ADMINISTRATOR,
];

/// The roles that may read Identity Protection (Security Reader, Security Operator, Security
/// Administrator, Global Reader, Global Administrator), and those that may act on risky users
/// (Security Administrator, Global Administrator), as Entra documents.
const RISK_READERS: &[&str] = &[
    "5d6b6bb7-de71-4623-b4af-96380a352509",
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
    SECURITY_ADMINISTRATOR,
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    GLOBAL_ADMINISTRATOR,
];
const RISK_ADMINS: &[&str] = &[SECURITY_ADMINISTRATOR, GLOBAL_ADMINISTRATOR];
const SECURITY_ADMINISTRATOR: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";

pub const AUTHENTICATION_ADMINISTRATOR: &str = "c4e39bd9-1100-46d3-8c65-fb160da0071f";
pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

/// The roles Entra lets reset another user's password (Global, Privileged Authentication,
/// Authentication, Password, Helpdesk and User Administrator).
const PASSWORD_RESETTERS: &[&str] = &[
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    AUTHENTICATION_ADMINISTRATOR,
    "966707d0-3269-4727-9be2-8c3a10f19b9d",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    USER_ADMINISTRATOR,
];

/// POST actions that only read.
const READ_ACTIONS: &[&str] = &[
    "checkmembergroups",
    "getmembergroups",
    "checkmemberobjects",
    "getmemberobjects",
    "getbyids",
    "validateproperties",
];

/// Whether the signed-in user of `principal` may perform `method` on the route `path` (the
/// reference form, `/users/{id}`), called as `uri_path` (to tell the user's own object).
pub(crate) fn user_may(principal: &Principal, method: &str, path: &str, uri_path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    let holds = |roles: &[&str]| principal.wids.iter().any(|w| roles.iter().any(|r| w.eq_ignore_ascii_case(r)));
    if path.starts_with("/auditlogs") {
        return holds(LOG_READERS);
    }
    if path.starts_with("/identityprotection") {
        return if method.eq_ignore_ascii_case("GET") { holds(RISK_READERS) } else { holds(RISK_ADMINS) };
    }
    if path.starts_with("/users/{id}/authentication") {
        let auth_admins = [GLOBAL_ADMINISTRATOR, AUTHENTICATION_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR];
        let own = is_self(principal, uri_path);
        return if last == "resetpassword" {
            !own && holds(PASSWORD_RESETTERS)
        } else if method.eq_ignore_ascii_case("GET") {
            own || holds(&auth_admins) || holds(&[GLOBAL_READER])
        } else {
            own || holds(&auth_admins)
        };
    }
    if method.eq_ignore_ascii_case("GET") || (method.eq_ignore_ascii_case("POST") && READ_ACTIONS.contains(&last)) {
        return true;
    }
    if holds(&[GLOBAL_ADMINISTRATOR]) {
        return true;
    }
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    let post = method.eq_ignore_ascii_case("POST");
    match first {
        "users" => {
            let own = (path == "/users/{id}" && method.eq_ignore_ascii_case("PATCH"))
                || (path == "/users/{id}/revokesigninsessions" && post);
            (own && is_self(principal, uri_path)) || holds(&[USER_ADMINISTRATOR])
        }
        "groups" if post && path == "/groups" => true,
        "groups" => holds(&[GROUPS_ADMINISTRATOR, USER_ADMINISTRATOR]),
        "applications" if post && path == "/applications" => true,
        "applications" | "serviceprincipals" | "oauth2permissiongrants" => {
            holds(&[APPLICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR])
        }
        "directory" => holds(&[USER_ADMINISTRATOR, GROUPS_ADMINISTRATOR, APPLICATION_ADMINISTRATOR]),
        _ => false,
    }
}

/// Whether the `{id}` of a `/users/{id}...` request names the signed-in user (by id or UPN).
fn is_self(principal: &Principal, uri_path: &str) -> bool {
    let mut segments = uri_path.trim_start_matches('/').split('/').peekable();
    // `/v1.0/users/{key}/...`, or `/users/{key}/...` as the version's nested router sees it.
    if segments.peek().is_some_and(|s| *s == "v1.0" || *s == "beta") {
        segments.next();
    }
    let key = match (segments.next(), segments.next()) {
        (Some("users"), Some(key)) => key,
        _ => return false,
    };
    let key = percent_decode(key);
    key.eq_ignore_ascii_case(&principal.object_id.to_string())
        || principal.upn.as_deref().is_some_and(|upn| upn.eq_ignore_ascii_case(&key))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn user(wids: &[&str]) -> Principal {
        let id = uuid::Uuid::new_v4();
        Principal {
            tenant: uuid::Uuid::new_v4(),
            object_id: id,
            app_id: Arc::from("app"),
            display_name: None,
            roles: Arc::from(Vec::<String>::new()),
            scopes: Arc::from(vec!["User.ReadWrite.All".to_string()]),
            delegated: true,
            expires_at: 0,
            wids: wids.iter().map(|w| w.to_string()).collect::<Vec<_>>().into(),
            upn: Some(Arc::from("me@contoso.com")),
        }
    }

    #[test]
    fn authentication_methods_are_the_users_own_or_admins() {
        let member = user(&[]);
        // As the nested version router sees the path (no `/v1.0`).
        let own = format!("/users/{}/authentication/methods", member.object_id);
        let m = "/users/{id}/authentication/methods";
        assert!(user_may(&member, "GET", m, &own));
        assert!(!user_may(&member, "GET", m, "/users/other@contoso.com/authentication/methods"));
        assert!(user_may(&user(&[AUTHENTICATION_ADMINISTRATOR]), "GET", m, "/users/x/authentication/methods"));
        let reset = "/users/{id}/authentication/methods/{id}/resetpassword";
        assert!(!user_may(&member, "POST", reset, "/users/x/authentication/methods/p/resetPassword"));
        let admin = user(&[GLOBAL_ADMINISTRATOR]);
        assert!(user_may(&admin, "POST", reset, "/users/x/authentication/methods/p/resetPassword"));
        let admin_own = format!("/users/{}/authentication/methods/p/resetPassword", admin.object_id);
        assert!(!user_may(&admin, "POST", reset, &admin_own), "not one's own password");
    }

    #[test]
    fn members_read_and_edit_themselves_admins_write() {
        let member = user(&[]);
        let own = format!("/v1.0/users/{}", member.object_id);
        assert!(user_may(&member, "GET", "/users/{id}", "/v1.0/users/x"));
        assert!(user_may(&member, "POST", "/users/{id}/checkmembergroups", "/v1.0/users/x/checkMemberGroups"));
        assert!(user_may(&member, "PATCH", "/users/{id}", &own));
        assert!(user_may(&member, "PATCH", "/users/{id}", "/v1.0/users/ME%40contoso.com"));
        assert!(!user_may(&member, "PATCH", "/users/{id}", "/v1.0/users/other@contoso.com"));
        assert!(!user_may(&member, "DELETE", "/users/{id}", &own));
        assert!(!user_may(&member, "POST", "/users", "/v1.0/users"));
        assert!(user_may(&member, "POST", "/groups", "/v1.0/groups"));
        assert!(!user_may(&member, "PATCH", "/groups/{id}", "/v1.0/groups/g"));
        assert!(!user_may(&member, "POST", "/oauth2permissiongrants", "/v1.0/oauth2permissiongrants"));

        let admin = user(&[USER_ADMINISTRATOR]);
        assert!(user_may(&admin, "POST", "/users", "/v1.0/users"));
        assert!(user_may(&admin, "PATCH", "/groups/{id}", "/v1.0/groups/g"));
        assert!(!user_may(&admin, "POST", "/oauth2permissiongrants", "/v1.0/oauth2permissiongrants"));
        assert!(user_may(&user(&[GLOBAL_ADMINISTRATOR]), "POST", "/oauth2permissiongrants", "/v1.0/x"));
    }
}
