//! `GET /{tenant}/adminconsent` (and `/{tenant}/v2.0/adminconsent`): a Global Administrator
//! grants an application, for the whole tenant, every permission its `requiredResourceAccess`
//! lists: delegated permissions become `AllPrincipals` `oauth2PermissionGrant`s, application
//! permissions app role assignments to its service principal.
//!
//! As Entra: `client_id` and `redirect_uri` are checked first (failures on an error page; the
//! redirect URI must be registered), the administrator signs in (or the SSO session is used),
//! the consent page lists the permissions with their official admin texts, and the browser
//! returns to `redirect_uri` with `admin_consent=True`, `tenant` and `state`, or with
//! `error=access_denied` when cancelled. A user who is not a Global Administrator sees the
//! error page (AADSTS90094, admin approval needed).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::{AppCredentials, AssignmentAnchor};
use cerulean_store::{FlowRecord, ObjectRecord, TenantRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PlatformState;
use crate::consent::{self, CONSENT_CSRF_COOKIE, CONSENT_KIND, ConsentPage, Permission};
use crate::error::OAuthError;
use crate::grants::delegated::{self, internal};
use crate::session::{self, hash, random_secret};

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn trace_of(headers: &HeaderMap) -> String {
    headers.get("request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Where the administrator's decision goes.
fn redirect(uri: &str, params: &[(&str, String)]) -> Response {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{uri}{sep}{encoded}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    res
}

pub(crate) async fn admin_consent(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let trace = trace_of(&headers);
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let tenant = match delegated::tenant_of(
        &state,
        &crate::token::TokenRequest {
            endpoint: crate::token::Endpoint::V2,
            tenant: segment.clone(),
            params: Vec::new(),
            basic: None,
            platform: None,
        },
        None,
    )
    .await
    {
        Ok(t) => t,
        Err(e) => return crate::authorize::render_failure(&segment, &e, &trace),
    };
    let outcome = async {
        let client_id = param("client_id").ok_or_else(|| OAuthError::missing("client_id"))?;
        let (app, _) = delegated::client_app(&state, &tenant, client_id).await?;
        let redirect_uri = param("redirect_uri").ok_or_else(|| OAuthError::missing("redirect_uri"))?;
        if crate::authorize::match_redirect(&app, redirect_uri).is_none() {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                50011,
                format!(
                    "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'."
                ),
            ));
        }
        let request = json!({"client_id": client_id, "redirect_uri": redirect_uri, "state": param("state")});
        match session::current(&state, &tenant, &headers).await? {
            Some(s) => page(&state, &tenant, &app, &s.user, &request).await,
            None => {
                let name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
                let data = json!({"adminconsent": request, "client_id": client_id});
                crate::authorize::sign_in_form(&state, &tenant, name, &data, None).await.map_err(|f| f.into_oauth())
            }
        }
    }
    .await;
    outcome.unwrap_or_else(|e| crate::authorize::render_failure(&tenant.display_name, &e, &trace))
}

/// After the administrator signed in (the sign-in form's flow carried `adminconsent`).
pub(crate) async fn after_sign_in(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    user: &ObjectRecord,
    request: &Value,
) -> Result<Response, OAuthError> {
    page(state, tenant, app, user, request).await
}

/// The admin consent page, for a Global Administrator.
async fn page(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    user: &ObjectRecord,
    request: &Value,
) -> Result<Response, OAuthError> {
    if !consent::is_global_admin(state, tenant, user).await? {
        return Err(OAuthError::new(
            403,
            "access_denied",
            90094,
            "The grant requires admin permission. Sign in with a Global Administrator account to consent for your organization.",
        ));
    }
    let sp = app.service_principal.as_ref().ok_or_else(|| OAuthError::missing("client_id"))?;
    let mut permissions = Vec::new();
    let mut grants = Vec::new();
    for access in app.application.doc.get("requiredResourceAccess").and_then(Value::as_array).into_iter().flatten() {
        let Some(resource) = state
            .directory
            .service_principal_by_app_id(tenant.id, text(access, "resourceAppId"))
            .await
            .map_err(internal)?
        else {
            continue;
        };
        let scopes = consent::required_scopes(app, &resource, "Scope");
        let role_values = consent::required_scopes(app, &resource, "Role");
        let defs = |k: &str| resource.doc.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
        for s in defs("oauth2PermissionScopes").iter().filter(|d| scopes.iter().any(|v| v == text(d, "value"))) {
            permissions.push(Permission {
                value: text(s, "value").into(),
                title: text(s, "adminConsentDisplayName").into(),
                description: text(s, "adminConsentDescription").into(),
            });
        }
        let roles: Vec<Value> =
            defs("appRoles").into_iter().filter(|d| role_values.iter().any(|v| v == text(d, "value"))).collect();
        for r in &roles {
            permissions.push(Permission {
                value: text(r, "value").into(),
                title: text(r, "displayName").into(),
                description: text(r, "description").into(),
            });
        }
        let role_ids: Vec<&str> = roles.iter().map(|r| text(r, "id")).collect();
        grants.push(json!({"resource_sp": resource.id, "scopes": scopes, "roles": role_ids}));
    }
    let flow = random_secret(32)?;
    let csrf = random_secret(32)?;
    let (created_at, expires_at) = session::expiry(900);
    let record = FlowRecord {
        kind: CONSENT_KIND.into(),
        key: hash(&flow),
        lookup: None,
        data: json!({
            "adminconsent": request, "user": user.id, "client_sp": sp.id, "grants": grants, "csrf": hash(&csrf),
        }),
        created_at,
        expires_at,
        used_at: None,
    };
    state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
    let app_name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
    let mut res = consent::consent_page(&ConsentPage {
        tenant_name: &tenant.display_name,
        app_name,
        resource_name: "your organization's resources",
        action: &format!("/{}/oauth2/v2.0/consent", tenant.id),
        flow: &flow,
        csrf: &csrf,
        permissions: &permissions,
        for_organization: true,
    });
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CONSENT_CSRF_COOKIE, &csrf, None));
    Ok(res)
}

/// The administrator accepted or cancelled (the consent form of [`page`]).
pub(crate) async fn decided(
    state: &PlatformState,
    tenant: &TenantRecord,
    record: &FlowRecord,
    accept: bool,
) -> Result<Response, OAuthError> {
    let request = record.data.get("adminconsent").cloned().unwrap_or_default();
    let redirect_uri = text(&request, "redirect_uri").to_string();
    let state_param = request.get("state").and_then(Value::as_str).map(str::to_string);
    let mut params: Vec<(&str, String)> = Vec::new();
    if !accept {
        params.push(("error", "access_denied".into()));
        params.push(("error_description", "AADSTS65004: The admin canceled the request.".into()));
        if let Some(s) = state_param {
            params.push(("state", s));
        }
        return Ok(redirect(&redirect_uri, &params));
    }
    let uuid = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
    let user_id = uuid(&record.data, "user").ok_or_else(|| OAuthError::missing("user"))?;
    let user =
        state.directory.get(tenant.id, user_id).await.map_err(internal)?.ok_or_else(|| OAuthError::missing("user"))?;
    let caller = consent::user_caller(tenant.id, &user);
    let client_sp = uuid(&record.data, "client_sp").ok_or_else(|| OAuthError::missing("client_id"))?;
    for g in record.data.get("grants").and_then(Value::as_array).into_iter().flatten() {
        let Some(resource) = uuid(g, "resource_sp") else { continue };
        let scopes: Vec<String> = g
            .get("scopes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if !scopes.is_empty() {
            state.directory.record_consent(&caller, client_sp, resource, None, &scopes).await.map_err(internal)?;
        }
        for role in g.get("roles").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            let body =
                json!({"principalId": client_sp.to_string(), "resourceId": resource.to_string(), "appRoleId": role});
            let resource_key = resource.to_string();
            match state
                .directory
                .create_app_role_assignment(
                    &caller,
                    AssignmentAnchor::Resource(&resource_key),
                    body.as_object().unwrap_or(&Default::default()),
                )
                .await
            {
                Ok(_) => {}
                // Already granted: consent is idempotent.
                Err(cerulean_directory::DirectoryError::BadRequest { message, .. })
                    if message.contains("already exists") => {}
                Err(e) => return Err(internal(e)),
            }
        }
    }
    params.push(("admin_consent", "True".into()));
    params.push(("tenant", tenant.id.to_string()));
    if let Some(s) = state_param {
        params.push(("state", s));
    }
    Ok(redirect(&redirect_uri, &params))
}
