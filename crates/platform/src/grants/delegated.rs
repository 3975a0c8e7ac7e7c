//! What the user grants (password, refresh token) share: parsing `scope` (or v1 `resource`)
//! into one resource and its scopes, Entra's consent rule, and the token response.
//!
//! # Consent
//!
//! A delegated scope is usable when an `oauth2PermissionGrant` gives it to the client's
//! service principal on the resource, tenant-wide (`AllPrincipals`, what admin consent
//! creates) or for the signed-in user (`Principal`). `requiredResourceAccess` alone is only a
//! request for consent, as in Entra. The token's `scp` holds every consented scope (Entra
//! issues the union of what was consented, not only what was asked); a named scope not
//! consented is AADSTS65001, a scope the resource does not define AADSTS650053. The OpenID
//! scopes (`openid`, `profile`, `email`, `offline_access`) need no grant here.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::claims_mapping::{ClaimFacts, GroupFilter};
use cerulean_directory::{AppCredentials, GroupClaimKinds};
use cerulean_identity::user_tokens::{self, GroupsClaim, IdTokenRequest, UserFacts, UserTokenRequest};
use cerulean_identity::{ClientAuthMethod, MappedClaims, TokenVersion};
use cerulean_store::{ObjectRecord, RefreshTokenRecord, TenantRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::OAuthError;
use crate::resources::{self, GRAPH_APP_ID, Resource};
use crate::token::{Endpoint, TokenRequest};
use crate::{PlatformState, claims_policy};

const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// A parsed `scope` (or v1 `resource`).
#[derive(Debug, Clone)]
pub(crate) struct ScopeRequest {
    pub resource: Resource,
    /// Scope names on the resource, without its prefix; empty with `default`.
    pub names: Vec<String>,
    /// `{resource}/.default`, or a v1 `resource=`: every consented scope.
    pub default: bool,
    pub openid: bool,
    pub offline: bool,
    /// The OpenID scopes asked for, for `scp` and the response's `scope`.
    pub oidc: Vec<String>,
}

fn invalid_scope(scope: &str, why: &str) -> OAuthError {
    OAuthError::new(
        400,
        "invalid_scope",
        70011,
        format!(
            "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' is not valid. {why}"
        ),
    )
}

pub(crate) fn resource_not_found(resource: &str, tenant: &str) -> OAuthError {
    OAuthError::new(
        400,
        "invalid_resource",
        500011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        ),
    )
}

/// Parses the v2 `scope` or the v1 `resource` (+ optional `scope`) of a user grant.
pub(crate) fn parse_scopes(
    state: &PlatformState,
    req: &TokenRequest,
    fallback: Option<&str>,
) -> Result<ScopeRequest, OAuthError> {
    let scope_param = req.param("scope").or(fallback);
    let oidc_of = |scope: &str| -> Vec<String> {
        scope.split(' ').filter(|s| OIDC_SCOPES.contains(s)).map(str::to_string).collect::<Vec<_>>()
    };
    if req.endpoint == Endpoint::V1 {
        let resource_id = match req.param("resource") {
            Some(r) => r.to_string(),
            // A v1 refresh without `resource` continues with the token's own.
            None => fallback
                .and_then(|f| f.split(' ').find_map(|s| s.strip_suffix("/.default")).map(str::to_string))
                .ok_or_else(|| OAuthError::missing("resource"))?,
        };
        let resource = resources::resolve(&resource_id, &state.public_url)
            .ok_or_else(|| resource_not_found(&resource_id, &req.tenant))?;
        let oidc = oidc_of(req.param("scope").unwrap_or_default());
        return Ok(ScopeRequest {
            resource,
            names: Vec::new(),
            default: true,
            openid: oidc.iter().any(|s| s == "openid"),
            // The v1 endpoint always returns a refresh token to a user grant.
            offline: true,
            oidc,
        });
    }
    let scope = scope_param.ok_or_else(|| OAuthError::missing("scope"))?;
    let oidc = oidc_of(scope);
    let mut resource: Option<Resource> = None;
    let mut names = Vec::new();
    let mut default = false;
    for item in scope.split(' ').filter(|s| !s.is_empty() && !OIDC_SCOPES.contains(s)) {
        let (resource_id, name) = match item.rsplit_once('/') {
            Some((r, n)) if !r.is_empty() && !n.is_empty() => (r.to_string(), n.to_string()),
            Some(_) => return Err(invalid_scope(item, "")),
            // A bare scope name is a Microsoft Graph scope, as in Entra.
            None => (GRAPH_APP_ID.to_string(), item.to_string()),
        };
        let this = resources::resolve(&resource_id, &state.public_url)
            .ok_or_else(|| resource_not_found(&resource_id, &req.tenant))?;
        match &resource {
            Some(r) if !same_resource(r, &this) => {
                return Err(OAuthError::new(
                    400,
                    "invalid_scope",
                    28000,
                    format!(
                        "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."
                    ),
                ));
            }
            Some(_) => {}
            None => resource = Some(this),
        }
        if name == ".default" {
            default = true;
        } else {
            names.push(name);
        }
    }
    if default && !names.is_empty() {
        return Err(invalid_scope(scope, "The '.default' scope can't be combined with other resource scopes."));
    }
    let resource = match resource {
        Some(r) => r,
        None => resources::resolve(GRAPH_APP_ID, &state.public_url)
            .map(|r| Resource { audience: "https://graph.microsoft.com".into(), ..r })
            .ok_or_else(|| resource_not_found(GRAPH_APP_ID, &req.tenant))?,
    };
    Ok(ScopeRequest {
        resource,
        names,
        default,
        openid: oidc.iter().any(|s| s == "openid"),
        offline: oidc.iter().any(|s| s == "offline_access"),
        oidc,
    })
}

/// Microsoft Graph's baseline directory scopes: with the OpenID scopes, what Entra calls
/// "baseline scopes", evaluated by Conditional Access as directory access.
const BASELINE_SCOPES: &[&str] = &[
    "User.Read",
    "User.Read.All",
    "User.ReadBasic.All",
    "People.Read",
    "People.Read.All",
    "GroupMember.Read.All",
    "Member.Read.Hidden",
];

/// The target resource (`appId`) Conditional Access matches `conditions.applications`
/// against for a user sign-in asking for `scopes`: the resource the token is for, as in Entra,
/// where `includeApplications` names cloud apps (resources), not the client. A request for
/// baseline scopes only (OpenID scopes, optionally with Microsoft Graph's baseline directory
/// scopes, such as `openid profile User.Read`) is evaluated as directory access, with
/// "Windows Azure Active Directory" (Azure AD Graph) as the enforcement audience (Entra's
/// "improved enforcement for All resources policies with resource exclusions", 2026).
pub(crate) async fn ca_audience(
    state: &PlatformState,
    tenant: &TenantRecord,
    scopes: &ScopeRequest,
) -> Result<String, OAuthError> {
    let baseline = scopes.resource.app_id == GRAPH_APP_ID
        && !scopes.default
        && scopes.names.iter().all(|n| BASELINE_SCOPES.iter().any(|b| b.eq_ignore_ascii_case(n)));
    if baseline {
        return Ok(resources::AAD_GRAPH_APP_ID.to_string());
    }
    Ok(resources::bind(state, tenant.id, &tenant.display_name, &scopes.resource).await?.app_id)
}

/// Whether two parsed resources are the same application.
fn same_resource(a: &Resource, b: &Resource) -> bool {
    if a.is_bound() && b.is_bound() { a.app_id == b.app_id } else { a.audience.eq_ignore_ascii_case(&b.audience) }
}

/// The scopes the token carries after Entra's consent rule (see the module docs).
pub(crate) async fn consented_scopes(
    state: &PlatformState,
    tenant: &TenantRecord,
    client_sp: Uuid,
    client_id: &str,
    app_name: &str,
    user: Uuid,
    scopes: &ScopeRequest,
) -> Result<Vec<String>, OAuthError> {
    let bound = resources::bind(state, tenant.id, &tenant.display_name, &scopes.resource).await?;
    let resource = state
        .directory
        .token_service_principal(tenant.id, &bound.app_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| resource_not_found(&scopes.resource.audience, &tenant.display_name))?;
    let granted = state.directory.delegated_scopes(tenant.id, client_sp, resource.id, user).await.map_err(internal)?;
    let defined: Vec<&str> = resource
        .doc
        .get("oauth2PermissionScopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.get("value").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let not_consented = || {
        OAuthError::new(
            400,
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{client_id}' named '{app_name}'. Send an interactive authorization request for this user and resource."
            ),
        )
    };
    for name in &scopes.names {
        if !defined.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                650053,
                format!(
                    "The application '{app_name}' asked for scope '{name}' that doesn't exist on the resource '{}'. Contact the app vendor.",
                    bound.app_id
                ),
            ));
        }
        if !granted.iter().any(|g| g.eq_ignore_ascii_case(name)) {
            return Err(not_consented());
        }
    }
    if granted.is_empty() && (scopes.default || !scopes.names.is_empty()) {
        return Err(not_consented());
    }
    let mut scp = granted;
    if scopes.resource.app_id == GRAPH_APP_ID {
        for s in scopes.oidc.iter().filter(|s| *s != "offline_access") {
            if !scp.iter().any(|g| g.eq_ignore_ascii_case(s)) {
                scp.push(s.clone());
            }
        }
    }
    Ok(scp)
}

/// A completed user authentication, ready for tokens.
pub(crate) struct SignedIn<'a> {
    pub tenant: &'a TenantRecord,
    pub app: &'a AppCredentials,
    pub client_id: Uuid,
    pub client_auth: ClientAuthMethod,
    pub user: &'a ObjectRecord,
    /// Unix seconds of the authentication the session started with.
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The refresh-token family to continue (refresh grant) or `None` for a new sign-in.
    pub family: Option<Uuid>,
    /// The scope string a refresh token remembers.
    pub requested: String,
    /// The browser session the sign-in belongs to (`sid` in the ID token, which front-channel
    /// logout names); `None` for grants without a browser.
    pub sid: Option<String>,
}

/// What the authorize endpoint asks of tokens it sends through the browser (the hybrid and
/// implicit flows): an ID token whatever the scopes, hashed with the code or access token
/// it travels with, and `groups` within the fragment limit.
pub(crate) struct FrontChannel {
    pub code: Option<String>,
    pub with_access_token: bool,
}

/// Signs the access token (and, when due, the ID token) of a user grant; returns them with
/// the resource they are for.
pub(crate) async fn issue_tokens(
    state: &PlatformState,
    req: &TokenRequest,
    s: &SignedIn<'_>,
    scopes: &ScopeRequest,
    scp: &[String],
    front: Option<&FrontChannel>,
) -> Result<(user_tokens::IssuedUserTokens, Resource), OAuthError> {
    let text = |k: &str| s.user.doc.get(k).and_then(Value::as_str).map(str::to_string);
    let facts = UserFacts {
        object_id: s.user.id,
        user_principal_name: text("userPrincipalName").unwrap_or_default(),
        display_name: text("displayName"),
        given_name: text("givenName"),
        surname: text("surname"),
    };
    let wids = state.directory.user_role_templates(s.tenant.id, s.user).await.map_err(internal)?;
    let created = time::OffsetDateTime::parse(&s.tenant.created_at, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp());
    let app_name = s.app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let resource = resources::bind(state, s.tenant.id, &s.tenant.display_name, &scopes.resource).await?;
    // The app signed in to, then the API the token is for: each may require assignment, and
    // each token carries the roles of its audience.
    let id_roles = assigned_roles(state, s.tenant, s.user, s.app.service_principal.as_ref()).await?;
    let resource_sp = state.directory.token_service_principal(s.tenant.id, &resource.app_id).await.map_err(internal)?;
    let access_roles = assigned_roles(state, s.tenant, s.user, resource_sp.as_deref()).await?;
    // The resource's own registration (an API of the tenant), whose `optionalClaims` shape
    // its access tokens; Microsoft Graph and Azure AD Graph have none here.
    let resource_app = if [GRAPH_APP_ID, resources::AAD_GRAPH_APP_ID].contains(&resource.app_id.as_str()) {
        None
    } else {
        state.directory.application_by_resource_identifier(s.tenant.id, &resource.app_id).await.map_err(internal)?
    };
    // Token lifetime and claims mapping policies (read once per tenant change): the resource's
    // for the access token, the client's for the ID token (its audience).
    let policies = state.directory.token_policies(s.tenant.id).await.map_err(internal)?;
    let access_secs = policies.lifetime_for(&resource.app_id);
    let id_secs = policies.lifetime_for(&s.client_id.to_string());
    let access_mapping =
        claims_policy::policy_for(state, s.tenant, &policies, &resource.app_id, &scopes.resource.audience).await?;
    let access_facts = ClaimFacts {
        user: Some(s.user),
        assigned_roles: &access_roles,
        application: s.app.service_principal.as_ref(),
        resource: resource_sp.as_deref(),
        audience: resource_sp.as_deref(),
        tenant_country: None,
    };
    let access_mapped = claims_policy::mapped_claims(state, s.tenant, access_mapping.as_deref(), access_facts).await?;
    let access_filter = access_mapping.as_ref().and_then(|m| m.group_filter.as_ref());
    let access_groups = resource_groups_claim(state, s, &resource, access_filter).await?;
    let access = UserTokenRequest {
        tenant_id: s.tenant.id,
        issuer: resources::access_token_issuer(&state.public_url, s.tenant.id, resource.version),
        audience: resource.audience.clone(),
        version: resource.version,
        groups: access_groups,
        app_id: s.client_id,
        app_display_name: app_name,
        client_auth: s.client_auth,
        user: facts.clone(),
        scopes: scp.to_vec(),
        wids,
        amr: s.amr.clone(),
        ip_address: None,
        lifetime_secs: access_secs.unwrap_or(state.tokens.lifetimes().access_secs),
        tenant_created_at: created,
        roles: access_roles,
        optional_claims: match &resource_app {
            Some(app) => optional_claims(app, "accessToken", s),
            None => Map::new(),
        },
        mapped: access_mapped,
    };
    let version = match req.endpoint {
        Endpoint::V2 => TokenVersion::V2,
        Endpoint::V1 => TokenVersion::V1,
    };
    let wants_id = scopes.openid || front.is_some();
    let id_mapping = match wants_id {
        true => {
            let client_id = s.client_id.to_string();
            claims_policy::policy_for(state, s.tenant, &policies, &client_id, &client_id).await?
        }
        false => None,
    };
    let id_groups = if wants_id {
        let kinds = GroupClaimKinds::parse(s.app.application.doc.get("groupMembershipClaims").and_then(Value::as_str));
        let sp = s.app.service_principal.as_ref().map(|sp| sp.id);
        let filter = id_mapping.as_ref().and_then(|m| m.group_filter.as_ref());
        groups_claim(state, s, kinds, sp, filter, front.is_some()).await?
    } else {
        GroupsClaim::None
    };
    let id_mapped = if wants_id {
        let id_facts = ClaimFacts {
            user: Some(s.user),
            assigned_roles: &id_roles,
            application: s.app.service_principal.as_ref(),
            resource: resource_sp.as_deref(),
            audience: s.app.service_principal.as_ref(),
            tenant_country: None,
        };
        claims_policy::mapped_claims(state, s.tenant, id_mapping.as_deref(), id_facts).await?
    } else {
        MappedClaims::default()
    };
    let id = wants_id.then(|| IdTokenRequest {
        tenant_id: s.tenant.id,
        issuer: match version {
            TokenVersion::V2 => format!("{}/{}/v2.0", state.public_url, s.tenant.id),
            TokenVersion::V1 => format!("{}/{}/", state.public_url, s.tenant.id),
        },
        client_id: s.client_id,
        user: facts,
        nonce: req.param("nonce").map(str::to_string),
        amr: s.amr.clone(),
        version,
        lifetime_secs: id_secs.unwrap_or(state.tokens.lifetimes().id_secs),
        groups: id_groups,
        code: front.and_then(|f| f.code.clone()),
        hash_access_token: front.is_some_and(|f| f.with_access_token),
        roles: id_roles,
        optional_claims: optional_claims(&s.app.application, "idToken", s),
        sid: s.sid.clone(),
        mapped: id_mapped,
    });
    let issued = state.tokens.issue_user_tokens(&access, id.as_ref()).await.map_err(internal)?;
    Ok((issued, resource))
}

/// The `scope` of a token response: the resource's scopes qualified by its identifier, then
/// the OpenID scopes.
pub(crate) fn response_scope(resource: &Resource, scopes: &ScopeRequest, scp: &[String]) -> String {
    let prefix = match resource.app_id.as_str() {
        GRAPH_APP_ID => "https://graph.microsoft.com/".to_string(),
        // The identifier the client asked with, as Entra echoes it.
        _ => format!("{}/", scopes.resource.audience.trim_end_matches('/')),
    };
    let mut scope_words: Vec<String> =
        scp.iter().filter(|s| !OIDC_SCOPES.contains(&s.as_str())).map(|s| format!("{prefix}{s}")).collect();
    scope_words.extend(scopes.oidc.iter().filter(|s| *s != "offline_access").cloned());
    scope_words.join(" ")
}

/// Issues the tokens of a user grant and renders Entra's token response.
pub(crate) async fn respond(
    state: &PlatformState,
    req: &TokenRequest,
    s: &SignedIn<'_>,
    scopes: &ScopeRequest,
    scp: Vec<String>,
) -> Result<Response, OAuthError> {
    let (issued, resource) = issue_tokens(state, req, s, scopes, &scp, None).await?;

    // A refresh token for a new offline sign-in, and always a successor on refresh (the old
    // one is spent).
    let refresh_token = if scopes.offline || s.family.is_some() {
        let token = user_tokens::new_refresh_token(s.tenant.id).map_err(internal)?;
        let now = cerulean_store::clock::now();
        let record = RefreshTokenRecord {
            hash: user_tokens::refresh_token_hash(&token),
            family_id: s.family.unwrap_or_else(Uuid::new_v4),
            user_id: s.user.id,
            client_id: s.client_id.to_string(),
            scopes: s.requested.clone(),
            data: json!({"auth_time": s.auth_time, "amr": s.amr}),
            created_at: cerulean_directory::validate::format_datetime(now),
            expires_at: cerulean_directory::validate::format_datetime(
                now + time::Duration::days(state.tokens.lifetimes().refresh_days),
            ),
            used_at: None,
            revoked_at: None,
        };
        state.directory.put_refresh_token(s.tenant.id, &record).await.map_err(internal)?;
        Some(token)
    } else {
        None
    };

    let mut body = match req.endpoint {
        Endpoint::V2 => json!({
            "token_type": "Bearer",
            "scope": response_scope(&resource, scopes, &scp),
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }),
        Endpoint::V1 => json!({
            "token_type": "Bearer",
            "scope": scp.join(" "),
            "expires_in": issued.expires_in.to_string(),
            "ext_expires_in": issued.expires_in.to_string(),
            "expires_on": issued.expires_on.to_string(),
            "not_before": issued.not_before.to_string(),
            "resource": scopes.resource.audience,
            "access_token": issued.access_token,
        }),
    };
    if let Some(obj) = body.as_object_mut() {
        if let Some(rt) = refresh_token {
            obj.insert("refresh_token".into(), json!(rt));
        }
        if let Some(id) = issued.id_token {
            obj.insert("id_token".into(), json!(id));
        }
        if req.param("client_info") == Some("1") {
            obj.insert("client_info".into(), json!(user_tokens::client_info(s.user.id, s.tenant.id)));
        }
    }
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// The `groups` claim of the signed-in user for an application with `kinds` (see
/// `cerulean_directory::GroupClaimKinds`), past 200 ids an overage pointing at the user's
/// `getMemberObjects` on this server's Graph; in a token sent in a URL fragment (`fragment`:
/// the implicit and hybrid flows) past five ids, `hasgroups`. `filter` is the `GroupFilter`
/// of the token audience's claims mapping policy, applied before those limits.
async fn groups_claim(
    state: &PlatformState,
    s: &SignedIn<'_>,
    kinds: GroupClaimKinds,
    app_sp: Option<Uuid>,
    filter: Option<&GroupFilter>,
    fragment: bool,
) -> Result<GroupsClaim, OAuthError> {
    if !kinds.any() {
        return Ok(GroupsClaim::None);
    }
    let ids = state.directory.group_claim_ids(s.tenant.id, s.user.id, kinds, app_sp, filter).await.map_err(internal)?;
    Ok(GroupsClaim::limited(ids, fragment, || {
        format!("{}/v1.0/users/{}/getMemberObjects", state.public_url, s.user.id)
    }))
}

/// The optional claims Cerulean honours, those of `app.optionalClaims.<token>` (`idToken` or
/// `accessToken`) it can fill: `email` (the user's `mail`, else the first of `otherMails`),
/// `upn`, `family_name`, `given_name` and `login_hint` (opaque: base64url of the user's object
/// id, tenant and UPN, which a later authorize request can send back). `groups` follows
/// `groupMembershipClaims` (see `groups_claim`); other names are ignored, as Entra ignores
/// claims that do not apply.
fn optional_claims(app: &ObjectRecord, token: &str, s: &SignedIn<'_>) -> Map<String, Value> {
    let mut out = Map::new();
    let names = app
        .doc
        .get("optionalClaims")
        .and_then(|o| o.get(token))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).collect::<Vec<_>>())
        .unwrap_or_default();
    let text = |k: &str| s.user.doc.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_string);
    let upn = text("userPrincipalName").unwrap_or_default();
    for name in names {
        let value = match name {
            "email" => text("mail").or_else(|| {
                s.user
                    .doc
                    .get("otherMails")
                    .and_then(Value::as_array)
                    .and_then(|m| m.first())
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            "upn" => Some(upn.clone()),
            "family_name" => text("surname"),
            "given_name" => text("givenName"),
            "login_hint" => Some(base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                json!({"oid": s.user.id.to_string(), "tid": s.tenant.id.to_string(), "upn": upn}).to_string(),
            )),
            _ => None,
        };
        if let Some(v) = value {
            out.insert(name.to_string(), Value::String(v));
        }
    }
    out
}

/// The access token's `groups` claim, per the resource application's `groupMembershipClaims`
/// (Microsoft Graph and Azure AD Graph ask for none).
async fn resource_groups_claim(
    state: &PlatformState,
    s: &SignedIn<'_>,
    resource: &Resource,
    filter: Option<&GroupFilter>,
) -> Result<GroupsClaim, OAuthError> {
    if [GRAPH_APP_ID, resources::AAD_GRAPH_APP_ID].contains(&resource.app_id.as_str()) {
        return Ok(GroupsClaim::None);
    }
    let Some(app) =
        state.directory.application_by_resource_identifier(s.tenant.id, &resource.app_id).await.map_err(internal)?
    else {
        return Ok(GroupsClaim::None);
    };
    let kinds = GroupClaimKinds::parse(app.doc.get("groupMembershipClaims").and_then(Value::as_str));
    let sp = state.directory.token_service_principal(s.tenant.id, &resource.app_id).await.map_err(internal)?;
    groups_claim(state, s, kinds, sp.map(|sp| sp.id), filter, false).await
}

/// The `value`s of the app roles of the service principal `sp` assigned to `user` (directly
/// or through groups). When `sp` has `appRoleAssignmentRequired`, a user without any
/// assignment may not sign in to it: AADSTS50105, as Entra answers at the authorize endpoint
/// and for every grant (password, device code, code redemption, refresh).
pub(crate) async fn assigned_roles(
    state: &PlatformState,
    tenant: &TenantRecord,
    user: &ObjectRecord,
    sp: Option<&ObjectRecord>,
) -> Result<Vec<String>, OAuthError> {
    let Some(sp) = sp else {
        return Ok(Vec::new());
    };
    let found = state.directory.user_app_role_assignments(tenant.id, user.id, sp).await.map_err(internal)?;
    let required = sp.doc.get("appRoleAssignmentRequired").and_then(Value::as_bool) == Some(true);
    if required && !found.assigned {
        let text = |d: &serde_json::Map<String, Value>, k: &str| {
            d.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
        };
        return Err(OAuthError::new(
            400,
            "invalid_grant",
            50105,
            format!(
                "Your administrator has configured the application {} ('{}') to block users unless they are specifically granted ('assigned') access to the application. The signed in user '{}' is blocked because they are not a member of a group with access, nor had access directly assigned by an administrator. Please contact your administrator to assign access to this application.",
                text(&sp.doc, "displayName"),
                text(&sp.doc, "appId"),
                text(&user.doc, "userPrincipalName"),
            ),
        ));
    }
    Ok(found.roles)
}

/// `common` or `organizations` with nothing naming a tenant (AADSTS50059 from [`tenant_of`]):
/// the tenant where the client application `client_id` is registered, so the sign-in page (or
/// the device code) can be served before the user's name is known; home-realm discovery
/// happens when the user submits it. Any other outcome of `found` is returned as it is.
pub(crate) async fn tenant_or_client_home(
    state: &PlatformState,
    found: Result<TenantRecord, OAuthError>,
    client_id: Option<&str>,
) -> Result<(TenantRecord, bool), OAuthError> {
    let e = match found {
        Ok(t) => return Ok((t, false)),
        Err(e) if e.code == 50059 => e,
        Err(e) => return Err(e),
    };
    let Some(client_id) = client_id else {
        return Err(e);
    };
    for tenant in state.directory.tenants().await.map_err(internal)? {
        if state.directory.app_credentials(tenant.id, client_id).await.map_err(internal)?.is_some() {
            return Ok((tenant, true));
        }
    }
    Err(e)
}

/// The tenant of a user grant. `common` and `organizations` resolve by `hint` (the domain of
/// the user name, or the tenant a refresh token names); `consumers` has no work accounts.
pub(crate) async fn tenant_of(
    state: &PlatformState,
    req: &TokenRequest,
    hint: Option<&str>,
) -> Result<TenantRecord, OAuthError> {
    let multi = ["common", "organizations"].iter().any(|t| t.eq_ignore_ascii_case(&req.tenant));
    let name = if req.tenant.eq_ignore_ascii_case("consumers") {
        return Err(OAuthError::tenant_not_found(&req.tenant));
    } else if multi {
        hint.ok_or_else(|| {
            OAuthError::new(
                400,
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials.",
            )
        })?
    } else {
        req.tenant.as_str()
    };
    state.directory.resolve_tenant(name).await.map_err(internal)?.ok_or_else(|| OAuthError::tenant_not_found(name))
}

/// The client application of a user grant and its service principal in the tenant.
pub(crate) async fn client_app(
    state: &PlatformState,
    tenant: &TenantRecord,
    client_id: &str,
) -> Result<(AppCredentials, ObjectRecord), OAuthError> {
    let not_found = || {
        OAuthError::new(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                tenant.display_name
            ),
        )
    };
    let app = state.directory.app_credentials(tenant.id, client_id).await.map_err(internal)?.ok_or_else(not_found)?;
    let sp = app.service_principal.clone().ok_or_else(not_found)?;
    if sp.doc.get("accountEnabled").and_then(Value::as_bool) == Some(false) {
        let name = sp.doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
        return Err(OAuthError::new(
            400,
            "unauthorized_client",
            7000112,
            format!("Application '{client_id}'({name}) is disabled."),
        ));
    }
    Ok((app, sp))
}

/// AADSTS50057, shared by sign-in and refresh.
pub(crate) fn user_disabled() -> OAuthError {
    OAuthError::new(400, "invalid_grant", 50057, "The user account is disabled.")
}

pub(crate) fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token endpoint failure");
    OAuthError::new(500, "temporarily_unavailable", 90100, "An internal error occurred; retry the request.")
}
