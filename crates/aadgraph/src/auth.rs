//! Bearer authentication and per-route permissions for Azure AD Graph.
//!
//! A token is accepted when it was issued by this server for the tenant it names (`tid`), is
//! within its lifetime, and is meant for Azure AD Graph (`aud` `https://graph.windows.net` or
//! its app id `00000002-0000-0000-c000-000000000000`): a Microsoft Graph token is refused here,
//! as Entra refuses it, because the permissions it carries are another resource's. The checks
//! are the Graph front-end's (`crates/graph/src/auth.rs`), done by the same
//! [`TokenIssuer::verify`](cerulean_identity::TokenIssuer::verify).
//!
//! Permissions are the Azure AD Graph resource's own (`cerulean_schema::permissions::
//! aad_graph_all()`), decided per operation by [`RULES`]: an app token needs one of the rule's
//! application permissions in `roles`, a delegated token one of its delegated permissions in
//! `scp`. `X.ReadWrite.Y` includes `X.Read.Y`.

use axum::http::HeaderMap;
use cerulean_identity::{ClaimExpectations, IdentityError, JwtError};
use serde_json::Value;
use uuid::Uuid;

use crate::AadState;
use crate::error::AadError;

/// The app id of Azure AD Graph, also an accepted audience.
pub const AAD_GRAPH_APP_ID: &str = cerulean_schema::permissions::AAD_GRAPH_APP_ID;

/// The authenticated caller of a 1.6 request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Uuid,
    /// The service principal (app tokens) or the signed-in user (delegated tokens).
    pub object_id: Uuid,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub delegated: bool,
}

fn unauthorized(message: &str) -> AadError {
    AadError::new(401, "Authentication_MissingOrMalformed", message)
}

/// Reads `tid` without verifying anything: it only selects whose keys verify the token.
fn unverified_tenant(token: &str) -> Option<Uuid> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(claims.get("tid")?.as_str()?).ok()
}

/// Verifies the request's bearer token.
pub(crate) async fn authenticate(state: &AadState, headers: &HeaderMap) -> Result<Principal, AadError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Access Token missing or malformed."));
    };
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => t.trim(),
        _ => return Err(unauthorized("Access Token missing or malformed.")),
    };
    let invalid = || unauthorized("Access Token missing or malformed.");
    let tenant = unverified_tenant(token).ok_or_else(invalid)?;
    let public = state.public_url.as_ref();
    let expected = ClaimExpectations {
        issuers: vec![format!("{public}/{tenant}/"), format!("{public}/{tenant}/v2.0")],
        audiences: vec![
            "https://graph.windows.net".into(),
            "https://graph.windows.net/".into(),
            AAD_GRAPH_APP_ID.into(),
        ],
        tenant_id: Some(tenant.to_string()),
        ..ClaimExpectations::default()
    };
    let claims = state.tokens.verify(tenant, token, &expected).await.map_err(|e| match e {
        IdentityError::Jwt(JwtError::Expired) => AadError::new(
            401,
            "Authentication_ExpiredToken",
            "Your access token has expired. Please renew it before submitting the request.",
        ),
        IdentityError::Jwt(JwtError::InvalidAudience) => AadError::new(
            401,
            "Authentication_MissingOrMalformed",
            "Access Token missing or malformed: the token's audience is not https://graph.windows.net.",
        ),
        IdentityError::Jwt(_) => invalid(),
        other => {
            tracing::error!(error = %other, "token verification failed");
            AadError::internal()
        }
    })?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let object_id = text("oid").and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(invalid)?;
    let scopes: Vec<String> =
        text("scp").map(|s| s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default();
    let roles: Vec<String> = claims
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Principal {
        tenant,
        object_id,
        display_name: text("app_displayname").or_else(|| text("name")).map(str::to_string),
        delegated: text("scp").is_some(),
        roles,
        scopes,
    })
}

/// What an operation touches, for its permission rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    Users,
    Groups,
    /// Group membership checks (`isMemberOf`, `checkMemberGroups`, ...).
    Membership,
    Applications,
    /// Everything else: directory objects, tenant details, roles, grants.
    Directory,
    /// `me/changePassword`: the signed-in user's own password.
    OwnPassword,
    /// `GET`/`PATCH me`: the signed-in user's own profile (`User.Read`, `User.ReadWrite`).
    OwnProfile,
}

/// A read or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// One permission rule: the application and the delegated permissions that allow it.
pub(crate) struct Rule {
    pub area: Area,
    pub access: Access,
    pub application: &'static [&'static str],
    pub delegated: &'static [&'static str],
}

/// The permission table. Azure AD Graph's own permissions, as its permission reference
/// describes them: `Directory.Read.All` reads everything, `Directory.ReadWrite.All` writes
/// everything but deletions of privileged objects, `Directory.AccessAsUser.All` acts as the
/// signed-in user, and the narrower `User.*`, `Group.*`, `Application.*` permissions cover their
/// own objects.
pub(crate) static RULES: &[Rule] = &[
    // Acting as the user: Graph's `changePassword` documents Directory.AccessAsUser.All. The
    // application entry is never used (`me` refuses app tokens) but keeps every rule complete.
    Rule {
        area: Area::OwnPassword,
        access: Access::Write,
        application: &["Directory.ReadWrite.All"],
        delegated: &["Directory.AccessAsUser.All"],
    },
    // The signed-in user's own profile: `User.Read` signs in and reads it. Azure AD Graph's
    // permission catalogue has no `User.ReadWrite` (that is Microsoft Graph's), so updating it
    // takes `Directory.AccessAsUser.All` (the application entries are never used: `me` refuses
    // app tokens).
    Rule {
        area: Area::OwnProfile,
        access: Access::Read,
        application: &["Directory.Read.All"],
        delegated: &[
            "User.Read",
            "User.Read.All",
            "User.ReadBasic.All",
            "Directory.Read.All",
            "Directory.AccessAsUser.All",
        ],
    },
    Rule {
        area: Area::OwnProfile,
        access: Access::Write,
        application: &["Directory.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Users,
        access: Access::Read,
        application: &["Directory.Read.All"],
        delegated: &["User.Read.All", "User.ReadBasic.All", "Directory.Read.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Users,
        access: Access::Write,
        application: &["Directory.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Groups,
        access: Access::Read,
        application: &["Directory.Read.All", "Group.Read.All"],
        delegated: &["Directory.Read.All", "Group.Read.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Groups,
        access: Access::Write,
        application: &["Directory.ReadWrite.All", "Group.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Group.ReadWrite.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Membership,
        access: Access::Read,
        application: &["Directory.Read.All", "Group.Read.All", "GroupMember.ReadBasic.All"],
        delegated: &["Directory.Read.All", "Group.Read.All", "GroupMember.ReadBasic.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Applications,
        access: Access::Read,
        application: &["Directory.Read.All", "Application.Read.All"],
        delegated: &["Directory.Read.All", "Application.Read.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Applications,
        access: Access::Write,
        application: &["Directory.ReadWrite.All", "Application.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Application.ReadWrite.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Directory,
        access: Access::Read,
        application: &["Directory.Read.All"],
        delegated: &["Directory.Read.All", "Directory.AccessAsUser.All"],
    },
    Rule {
        area: Area::Directory,
        access: Access::Write,
        application: &["Directory.ReadWrite.All"],
        delegated: &["Directory.ReadWrite.All", "Directory.AccessAsUser.All"],
    },
];

/// Refuses the request unless the principal holds a permission the operation's rule accepts.
pub(crate) fn require(principal: &Principal, area: Area, access: Access) -> Result<(), AadError> {
    let held = if principal.delegated { &principal.scopes } else { &principal.roles };
    let allowed = RULES
        .iter()
        .filter(|r| r.area == area && r.access == access)
        .flat_map(|r| if principal.delegated { r.delegated } else { r.application }.iter());
    let mut allowed = allowed.peekable();
    if allowed.peek().is_none() {
        return Err(AadError::internal());
    }
    if allowed.any(|a| held.iter().any(|h| implies(h, a))) {
        Ok(())
    } else {
        Err(AadError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
    }
}

/// 1.6 functions and actions that only read (or act on the caller's own password): every
/// member may call them, as on Graph v1.0.
const MEMBER_ACTIONS: &[&str] = &[
    "ismemberof",
    "checkmembergroups",
    "getmembergroups",
    "getmemberobjects",
    "getobjectsbyobjectids",
    "getavailableextensionproperties",
    "changepassword",
];

/// The Graph v1.0 reference form of a 1.6 resource path, which the directory's delegated rules
/// ([`cerulean_directory::delegated`]) are written against: lower case, keys as `{id}`,
/// `$links/{property}` as the property, `tenantDetails` as `organization`.
pub(crate) fn reference_path(segments: &[String]) -> String {
    let mut out = String::new();
    let mut position = 0;
    for segment in segments {
        let lower = segment.to_ascii_lowercase();
        if lower == "$links" || lower.starts_with("microsoft.directoryservices.") {
            continue;
        }
        out.push('/');
        match position {
            0 if lower == "tenantdetails" => out.push_str("organization"),
            // The key of the resource and of a `$links` target.
            1 | 3 => out.push_str("{id}"),
            _ => out.push_str(&lower),
        }
        position += 1;
    }
    out
}

/// The second check of a delegated write: the signed-in user must be allowed the operation in
/// the directory (their role assignments, read live), by the same rules as Graph v1.0 — a
/// consented `Directory.AccessAsUser.All` only lets the app do what the user may.
pub(crate) async fn user_may(ctx: &crate::Ctx, segments: &[String]) -> Result<(), AadError> {
    let principal = &ctx.principal;
    let method = ctx.method.as_str();
    if !principal.delegated || method == "GET" {
        return Ok(());
    }
    let last = segments.last().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    if method == "POST" && MEMBER_ACTIONS.contains(&last.as_str()) {
        return Ok(());
    }
    let path = reference_path(segments);
    let set = segments.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let key = segments.get(1).map(String::as_str);
    let object_type = match set.as_str() {
        "users" => Some("user"),
        "groups" => Some("group"),
        _ => None,
    };
    let target = object_type.zip(key);
    let is_self = match (set.as_str(), key) {
        ("users", Some(key)) if Uuid::parse_str(key).ok() == Some(principal.object_id) => true,
        ("users", Some(key)) => {
            ctx.state.directory.find(principal.tenant, "user", key).await.ok().map(|o| o.id)
                == Some(principal.object_id)
        }
        _ => false,
    };
    // A user update needs the actions of the properties it sets (1.6 names them as v1.0 does:
    // passwordProfile, accountEnabled, userPrincipalName, usageLocation).
    let body = if method == "PATCH" && path == "/users/{id}" {
        Some(serde_json::from_slice::<serde_json::Map<String, Value>>(&ctx.body).unwrap_or_default())
    } else {
        None
    };
    let call =
        cerulean_directory::delegated::DelegatedCall { method, path: &path, is_self, target, body: body.as_ref() };
    if ctx.state.directory.user_may(principal.tenant, principal.object_id, &call).await? {
        Ok(())
    } else {
        Err(AadError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
    }
}

/// Whether holding `held` grants `wanted`: the same permission, or its read-write form.
fn implies(held: &str, wanted: &str) -> bool {
    if held.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let mut h = held.split('.');
    let mut w = wanted.split('.');
    match (h.next(), h.next(), w.next(), w.next()) {
        (Some(hr), Some(hm), Some(wr), Some(wm)) => {
            hr.eq_ignore_ascii_case(wr)
                && hm.eq_ignore_ascii_case("ReadWrite")
                && wm.eq_ignore_ascii_case("Read")
                && h.map(str::to_ascii_lowercase).eq(w.map(str::to_ascii_lowercase))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_real_aad_graph_permissions() {
        let catalogue = cerulean_schema::permissions::aad_graph_all();
        for rule in RULES {
            for name in rule.application {
                let p = catalogue.iter().find(|p| p.name == *name).unwrap_or_else(|| panic!("{name}"));
                assert!(p.application_id.is_some(), "{name} is no application permission");
            }
            for name in rule.delegated {
                let p = catalogue.iter().find(|p| p.name == *name).unwrap_or_else(|| panic!("{name}"));
                assert!(p.delegated_id.is_some(), "{name} is no delegated permission");
            }
        }
    }

    #[test]
    fn paths_map_to_the_reference_form() {
        let path = |p: &str| reference_path(&p.split('/').map(str::to_string).collect::<Vec<_>>());
        assert_eq!(path("users"), "/users");
        assert_eq!(path("users/a@b.com/assignLicense"), "/users/{id}/assignlicense");
        assert_eq!(path("users/x/$links/manager"), "/users/{id}/manager");
        assert_eq!(path("groups/x/$links/members/y"), "/groups/{id}/members/{id}");
        assert_eq!(path("directoryRoles/x/$links/members"), "/directoryroles/{id}/members");
        assert_eq!(path("tenantDetails/x"), "/organization/{id}");
        assert_eq!(path("domains"), "/domains");
    }

    #[test]
    fn read_write_includes_read() {
        let p = Principal {
            tenant: Uuid::nil(),
            object_id: Uuid::nil(),
            display_name: None,
            roles: vec!["Directory.ReadWrite.All".into()],
            scopes: vec![],
            delegated: false,
        };
        assert!(require(&p, Area::Users, Access::Read).is_ok());
        assert!(require(&p, Area::Groups, Access::Write).is_ok());
        let reader = Principal { roles: vec!["Directory.Read.All".into()], ..p };
        assert!(require(&reader, Area::Users, Access::Write).is_err());
    }
}
