//! What a signed-in user may do through a delegated token, on top of the token's scopes.
//!
//! The rules live in [`cerulean_directory::delegated`] (shared with Azure AD Graph 1.6); this
//! module turns a Graph request into the call the directory decides.
//!
//! Graph checks a delegated call twice: the app must hold a delegated permission for the route
//! (`scp`, [`crate::authz_table`]), and the user must be allowed the operation in the
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
//! | domain writes; `PATCH /organization/{id}` | `domains/allProperties/allTasks`; `organization/basic/update` |
//! | writes [`need`] does not know | Global Administrator |
//! | writes to a user holding a role beyond the limited administrator roles | Global Administrator ("who can perform sensitive actions") |
//!
//! Not modelled yet: group and application owners managing what they own (Entra lets them),
//! and the finer per-action columns of the sensitive-actions table (Privileged Authentication
//! Administrator resetting any password, Helpdesk Administrator's narrower reach).

use cerulean_directory::delegated::DelegatedCall;

use crate::error::GraphError;
use crate::{GraphState, Principal};

/// Whether the signed-in user of `principal` may perform `method` on the route `path` (the
/// reference form, `/users/{id}`), called as `uri_path` (to tell the user's own object and the
/// target of an administrative-unit-scoped role). `body` is the JSON object of a user update,
/// whose properties decide what it needs.
pub(crate) async fn user_may(
    state: &GraphState,
    principal: &Principal,
    method: &str,
    path: &str,
    uri_path: &str,
    body: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<bool, GraphError> {
    let key = set_and_key(uri_path).map(|(set, key)| (set, percent_decode(key)));
    let target = key.as_ref().and_then(|(set, key)| match *set {
        "users" => Some(("user", key.as_str())),
        "groups" => Some(("group", key.as_str())),
        _ => None,
    });
    let call = DelegatedCall { method, path, is_self: is_self(principal, uri_path), target, body };
    Ok(state.directory.user_may(principal.tenant, principal.object_id, &call).await?)
}

/// Whether an application (not a signed-in user) may make a write its group permission
/// already allows: editing a role-assignable group (`PATCH`/`DELETE`, `members`, `owners`)
/// also needs `RoleManagement.ReadWrite.Directory` (Graph's "group: add members" note), so
/// that `GroupMember.ReadWrite.All` alone cannot put a principal into a group holding roles.
pub(crate) async fn app_may(
    state: &GraphState,
    principal: &Principal,
    method: &str,
    path: &str,
    uri_path: &str,
) -> Result<bool, GraphError> {
    use cerulean_directory::delegated::{ROLE_ASSIGNABLE_APP_PERMISSION, role_assignable_need};
    if principal.delegated || role_assignable_need(method, path).is_none() {
        return Ok(true);
    }
    let Some(("groups", key)) = set_and_key(uri_path) else { return Ok(true) };
    let key = percent_decode(key);
    let editing =
        state.directory.role_assignable_write(principal.tenant, method, path, Some(("group", key.as_str()))).await?;
    Ok(editing.is_none() || principal.roles.iter().any(|r| r.eq_ignore_ascii_case(ROLE_ASSIGNABLE_APP_PERMISSION)))
}

/// Whether the `{id}` of a `/users/{id}...` request names the signed-in user (by id or UPN).
fn is_self(principal: &Principal, uri_path: &str) -> bool {
    let key = match set_and_key(uri_path) {
        Some(("users", key)) => key,
        _ => return false,
    };
    let key = percent_decode(key);
    key.eq_ignore_ascii_case(&principal.object_id.to_string())
        || principal.upn.as_deref().is_some_and(|upn| upn.eq_ignore_ascii_case(&key))
}

/// The entity set and key of a request path, with or without its version prefix (a nested
/// router sees `/users/{key}/...`, the outer one `/v1.0/users/{key}/...`).
fn set_and_key(uri_path: &str) -> Option<(&str, &str)> {
    let path = uri_path.trim_start_matches('/');
    let path = path.strip_prefix("v1.0/").or_else(|| path.strip_prefix("beta/")).unwrap_or(path);
    let mut segments = path.split('/');
    match (segments.next(), segments.next()) {
        (Some(set), Some(key)) if !key.is_empty() => Some((set, key)),
        _ => None,
    }
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
    use uuid::Uuid;

    #[test]
    fn self_is_recognised_by_id_and_upn() {
        let id = Uuid::new_v4();
        let p = Principal {
            tenant: Uuid::new_v4(),
            object_id: id,
            app_id: Arc::from("app"),
            display_name: None,
            roles: Arc::from(Vec::<String>::new()),
            scopes: Arc::from(vec!["User.ReadWrite.All".to_string()]),
            delegated: true,
            expires_at: 0,
            wids: Arc::from(Vec::<String>::new()),
            upn: Some(Arc::from("me@contoso.com")),
        };
        assert!(is_self(&p, &format!("/v1.0/users/{id}")));
        assert!(is_self(&p, "/v1.0/users/ME%40contoso.com"));
        assert!(!is_self(&p, "/v1.0/users/other@contoso.com"));
        assert!(is_self(&p, &format!("/users/{id}/revokeSignInSessions")));
        assert!(!is_self(&p, &format!("/groups/{id}")));
    }
}
