//! The consent page of the authorize flow.
//!
//! Before a code is issued, the permissions the application asks for on the resource (the
//! named scopes, or for `.default` the delegated permissions of its `requiredResourceAccess`)
//! are compared with what the user (`Principal` grant) or an administrator (`AllPrincipals`)
//! consented. When some are missing, or `prompt=consent` asks, and the user may consent to
//! them, a page lists them with the resource's official texts (`userConsentDisplayName` /
//! `userConsentDescription` of its `oauth2PermissionScopes`, the admin texts when the user
//! texts are empty). Accepting records an `oauth2PermissionGrant` for the user and continues
//! to the code; cancelling sends the application `access_denied` (AADSTS65004).
//!
//! Who may consent: any member to permissions of type `User`; only a Global Administrator to
//! those of type `Admin`. Otherwise no page is shown and the application hears AADSTS65001.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use cerulean_directory::{AppCredentials, Caller, GLOBAL_ADMIN_TEMPLATE};
use cerulean_store::{Actor, FlowRecord, FlowRedemption, ObjectRecord, TenantRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PlatformState;
use crate::authorize::{AuthorizeFailure as Failure, Authz};
use crate::error::OAuthError;
use crate::grants::delegated::{self, internal};
use crate::pages::{self, esc};
use crate::session::{self, hash, random_secret, same_secret};
use crate::token::{Endpoint, TokenRequest};

pub(crate) const CONSENT_KIND: &str = "consent";
/// The consent form's CSRF cookie (its own: the sign-in POST clears the sign-in one).
pub(crate) const CONSENT_CSRF_COOKIE: &str = "cerulean_consent_csrf";
const CONSENT_LIFETIME_SECS: i64 = 900;

/// A permission as the consent page shows it.
#[derive(Debug, Clone)]
pub(crate) struct Permission {
    pub value: String,
    pub title: String,
    pub description: String,
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// The scope definition `name` of a resource service principal.
fn scope_def<'a>(resource: &'a ObjectRecord, name: &str) -> Option<&'a Value> {
    resource
        .doc
        .get("oauth2PermissionScopes")
        .and_then(Value::as_array)?
        .iter()
        .find(|s| text(s, "value").eq_ignore_ascii_case(name))
}

/// The official texts of a scope: the user's, else the admin's.
pub(crate) fn describe(def: &Value) -> Permission {
    let pick = |user: &str, admin: &str| {
        let u = text(def, user);
        if u.is_empty() { text(def, admin).to_string() } else { u.to_string() }
    };
    Permission {
        value: text(def, "value").to_string(),
        title: pick("userConsentDisplayName", "adminConsentDisplayName"),
        description: pick("userConsentDescription", "adminConsentDescription"),
    }
}

/// The permission values `app` lists in `requiredResourceAccess` for `resource`: delegated
/// ones for `kind` `Scope`, application ones (app roles) for `Role`.
pub(crate) fn required_scopes(app: &AppCredentials, resource: &ObjectRecord, kind: &str) -> Vec<String> {
    let resource_app = text(&Value::Object(resource.doc.clone()), "appId").to_ascii_lowercase();
    let defs_key = if kind == "Scope" { "oauth2PermissionScopes" } else { "appRoles" };
    let defs = resource.doc.get(defs_key).and_then(Value::as_array).cloned().unwrap_or_default();
    app.application
        .doc
        .get("requiredResourceAccess")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| text(r, "resourceAppId").eq_ignore_ascii_case(&resource_app))
        .flat_map(|r| r.get("resourceAccess").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter(|a| text(a, "type") == kind)
        .filter_map(|a| defs.iter().find(|d| text(d, "id").eq_ignore_ascii_case(text(&a, "id"))))
        .map(|d| text(d, "value").to_string())
        .collect()
}

/// Whether the user holds the Global Administrator role.
pub(crate) async fn is_global_admin(
    state: &PlatformState,
    tenant: &TenantRecord,
    user: &ObjectRecord,
) -> Result<bool, OAuthError> {
    let wids = state.directory.user_role_templates(tenant.id, user).await.map_err(internal)?;
    Ok(wids.iter().any(|w| w.eq_ignore_ascii_case(GLOBAL_ADMIN_TEMPLATE)))
}

/// The consent page when the request needs consent the user may give (see the module docs),
/// else `None` (the caller then issues the code, or reports AADSTS65001).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn page_if_needed(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    sp: &ObjectRecord,
    a: &Authz,
    user: &ObjectRecord,
    auth_time: i64,
    amr: &[String],
    device: Option<&str>,
) -> Result<Option<Response>, Failure> {
    let endpoint = if a.v1 { Endpoint::V1 } else { Endpoint::V2 };
    let req = TokenRequest {
        endpoint,
        tenant: tenant.id.to_string(),
        params: vec![("scope".into(), a.scope.clone()), ("resource".into(), a.resource.clone())],
        basic: None,
        platform: None,
    };
    let scopes = delegated::parse_scopes(state, &req, None)?;
    let Ok(bound) = crate::resources::bind(state, tenant.id, &tenant.display_name, &scopes.resource).await else {
        return Ok(None);
    };
    let Some(resource) =
        state.directory.service_principal_by_app_id(tenant.id, &bound.app_id).await.map_err(internal)?
    else {
        return Ok(None);
    };
    let requested = if scopes.default { required_scopes(app, &resource, "Scope") } else { scopes.names.clone() };
    let granted = state.directory.delegated_scopes(tenant.id, sp.id, resource.id, user.id).await.map_err(internal)?;
    let missing: Vec<String> =
        requested.iter().filter(|r| !granted.iter().any(|g| g.eq_ignore_ascii_case(r))).cloned().collect();
    let to_show = if a.prompt_consent { requested } else { missing };
    if to_show.is_empty() {
        return Ok(None);
    }
    let admin = is_global_admin(state, tenant, user).await?;
    let mut shown = Vec::new();
    for name in &to_show {
        let Some(def) = scope_def(&resource, name) else {
            return Ok(None); // an unknown scope: AADSTS650053 from the consent check
        };
        if text(def, "type") != "User" && !admin {
            return Ok(None); // admin consent required: AADSTS65001
        }
        shown.push(describe(def));
    }
    let flow = random_secret(32)?;
    let csrf = random_secret(32)?;
    let (created_at, expires_at) = session::expiry(CONSENT_LIFETIME_SECS);
    let mut authz = a.clone();
    authz.prompt_consent = false;
    let record = FlowRecord {
        kind: CONSENT_KIND.into(),
        key: hash(&flow),
        lookup: None,
        data: json!({
            "authz": authz, "user": user.id, "auth_time": auth_time, "amr": amr,
            "client_sp": sp.id, "resource_sp": resource.id,
            "scopes": shown.iter().map(|p| p.value.clone()).collect::<Vec<_>>(),
            "csrf": hash(&csrf),
            "device": device,
        }),
        created_at,
        expires_at,
        used_at: None,
    };
    state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
    let resource_name = text(&Value::Object(resource.doc.clone()), "displayName").to_string();
    let app_name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
    let mut res = consent_page(&ConsentPage {
        tenant_name: &tenant.display_name,
        app_name,
        resource_name: &resource_name,
        action: &format!("/{}/oauth2/v2.0/consent", tenant.id),
        flow: &flow,
        csrf: &csrf,
        permissions: &shown,
        for_organization: false,
    });
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CONSENT_CSRF_COOKIE, &csrf, None));
    Ok(Some(res))
}

/// What a consent page shows.
pub(crate) struct ConsentPage<'a> {
    pub tenant_name: &'a str,
    pub app_name: &'a str,
    pub resource_name: &'a str,
    pub action: &'a str,
    pub flow: &'a str,
    pub csrf: &'a str,
    pub permissions: &'a [Permission],
    /// Admin consent: granted for everyone in the organization.
    pub for_organization: bool,
}

/// The consent page: the permissions with their official texts, Accept and Cancel.
pub(crate) fn consent_page(p: &ConsentPage<'_>) -> Response {
    let items: String = p
        .permissions
        .iter()
        .map(|perm| {
            format!(
                "<li><strong>{}</strong> <code>{}</code><br>{}</li>",
                esc(&perm.title),
                esc(&perm.value),
                esc(&perm.description)
            )
        })
        .collect();
    let whom = if p.for_organization {
        "<p>Accepting grants these permissions for all users in your organization.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Permissions requested</h1><p><strong>{app}</strong> would like to access {resource}:</p>\
<ul>{items}</ul>{whom}<p>Accept only if you trust {app}.</p>\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" name=\"action\" value=\"accept\">Accept</button> \
<button type=\"submit\" name=\"action\" value=\"cancel\" class=\"secondary\">Cancel</button></form>",
        app = esc(p.app_name),
        resource = esc(p.resource_name),
        action = esc(p.action),
        flow = esc(p.flow),
        csrf = esc(p.csrf),
    );
    pages::page(StatusCode::OK, "Permissions requested", p.tenant_name, &body)
}

/// The fields of a consent form.
#[derive(Debug, Deserialize)]
pub(crate) struct ConsentPost {
    #[serde(default)]
    pub flow: String,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub action: String,
}

fn flow_expired() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_request",
        50089,
        "Authentication failed due to flow token expired. Sign in again from the application.",
    )
}

/// Reads and spends the consent flow a form names, after the CSRF check.
pub(crate) async fn take_flow(
    state: &PlatformState,
    tenant: &TenantRecord,
    headers: &HeaderMap,
    form: &ConsentPost,
) -> Result<FlowRecord, OAuthError> {
    let key = hash(&form.flow);
    let record = state
        .directory
        .flow(tenant.id, CONSENT_KIND, &key)
        .await
        .map_err(internal)?
        .filter(|r| r.used_at.is_none() && r.expires_at.as_str() > cerulean_directory::validate::now().as_str())
        .ok_or_else(flow_expired)?;
    let cookie = session::cookie(headers, CONSENT_CSRF_COOKIE).unwrap_or_default();
    let stored = record.data.get("csrf").and_then(Value::as_str).unwrap_or_default();
    if form.csrf.is_empty() || !same_secret(&form.csrf, &cookie) || !same_secret(&hash(&form.csrf), stored) {
        return Err(flow_expired());
    }
    match state.directory.redeem_flow(tenant.id, CONSENT_KIND, &key).await.map_err(internal)? {
        FlowRedemption::Redeemed(_) => Ok(record),
        _ => Err(flow_expired()),
    }
}

fn uuid_of(data: &Value, k: &str) -> Option<Uuid> {
    data.get(k).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

/// The user as the audit log names them.
pub(crate) fn user_caller(tenant: Uuid, user: &ObjectRecord) -> Caller {
    Caller {
        tenant,
        actor: Actor {
            kind: "user".into(),
            id: Some(user.id),
            display_name: user.doc.get("userPrincipalName").and_then(Value::as_str).map(str::to_string),
        },
        correlation_id: None,
    }
}

fn strings(data: &Value, k: &str) -> Vec<String> {
    data.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The consent page of a device-code sign-in was answered: accepting records the grant and
/// approves the device code; cancelling declines it, and the polling device hears
/// `authorization_declined` (AADSTS65004).
async fn device_decided(
    state: &PlatformState,
    tenant: &TenantRecord,
    record: &FlowRecord,
    device: &str,
    accepted: bool,
) -> Result<Response, OAuthError> {
    let authz: Authz =
        record.data.get("authz").and_then(|v| serde_json::from_value(v.clone()).ok()).ok_or_else(flow_expired)?;
    let (app, _) = delegated::client_app(state, tenant, &authz.client_id).await?;
    let app_name = crate::authorize::app_name(&app);
    if !accepted {
        crate::device::decide(state, tenant, device, None, true).await.map_err(Failure::into_oauth)?;
        return Ok(pages::device_done(&tenant.display_name, &app_name, false));
    }
    let user_id = uuid_of(&record.data, "user").ok_or_else(flow_expired)?;
    let user = state.directory.get(tenant.id, user_id).await.map_err(internal)?.ok_or_else(flow_expired)?;
    let (client_sp, resource_sp) = (
        uuid_of(&record.data, "client_sp").ok_or_else(flow_expired)?,
        uuid_of(&record.data, "resource_sp").ok_or_else(flow_expired)?,
    );
    let scopes = strings(&record.data, "scopes");
    state
        .directory
        .record_consent(&user_caller(tenant.id, &user), client_sp, resource_sp, Some(user.id), &scopes)
        .await
        .map_err(internal)?;
    let auth_time = record.data.get("auth_time").and_then(Value::as_i64).unwrap_or_default();
    let amr = strings(&record.data, "amr");
    crate::device::decide(state, tenant, device, Some((&user, auth_time, &amr)), false)
        .await
        .map_err(Failure::into_oauth)?;
    Ok(pages::device_done(&tenant.display_name, &app_name, true))
}

/// `POST /{tenant}/oauth2/v2.0/consent`: the user accepted or cancelled.
pub(crate) async fn consent_post(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let trace = headers.get("request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let tenant = match state.directory.resolve_tenant(&segment).await {
        Ok(Some(t)) => t,
        Ok(None) => return crate::authorize::render_failure(&segment, &OAuthError::tenant_not_found(&segment), &trace),
        Err(e) => return crate::authorize::render_failure(&segment, &internal(e), &trace),
    };
    let outcome = async {
        let form: ConsentPost = serde_urlencoded::from_bytes(&body).map_err(|_| flow_expired())?;
        let record = take_flow(&state, &tenant, &headers, &form).await?;
        if record.data.get("adminconsent").is_some() {
            return crate::admin_consent::decided(&state, &tenant, &record, form.action == "accept").await;
        }
        if let Some(device) = record.data.get("device").and_then(Value::as_str) {
            return device_decided(&state, &tenant, &record, device, form.action == "accept").await;
        }
        let authz: Authz =
            record.data.get("authz").and_then(|v| serde_json::from_value(v.clone()).ok()).ok_or_else(flow_expired)?;
        if form.action != "accept" {
            let e = OAuthError::new(400, "access_denied", 65004, "User declined to consent to access the app.");
            return Ok(crate::authorize::error_to_app(&authz, &e, &trace));
        }
        let user_id = uuid_of(&record.data, "user").ok_or_else(flow_expired)?;
        let user = state.directory.get(tenant.id, user_id).await.map_err(internal)?.ok_or_else(flow_expired)?;
        let (client_sp, resource_sp) = (
            uuid_of(&record.data, "client_sp").ok_or_else(flow_expired)?,
            uuid_of(&record.data, "resource_sp").ok_or_else(flow_expired)?,
        );
        let scopes: Vec<String> = record
            .data
            .get("scopes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        state
            .directory
            .record_consent(&user_caller(tenant.id, &user), client_sp, resource_sp, Some(user.id), &scopes)
            .await
            .map_err(internal)?;
        let (app, sp) = delegated::client_app(&state, &tenant, &authz.client_id).await?;
        let auth_time = record.data.get("auth_time").and_then(Value::as_i64).unwrap_or_default();
        let amr: Vec<String> = record
            .data
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        match crate::authorize::complete(&state, &tenant, &app, &sp, &authz, &user, auth_time, &amr, false).await {
            Ok(res) => Ok(res),
            Err(f) => Ok(crate::authorize::error_to_app(&authz, &f.into_oauth(), &trace)),
        }
    }
    .await;
    let mut res = match outcome {
        Ok(res) => res,
        Err(e) => crate::authorize::render_failure(&tenant.display_name, &e, &trace),
    };
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(&state, CONSENT_CSRF_COOKIE, "", Some(0)));
    res
}
