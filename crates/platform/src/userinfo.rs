//! The OpenID Connect UserInfo endpoint: Graph's `/oidc/userinfo` (what v2 discovery names)
//! and the v1 `/{tenant}/openid/userinfo`. It takes a delegated access token for Microsoft
//! Graph, as Entra's does, and answers the standard claims of the signed-in user; `sub` is the
//! same pairwise subject as in the client's ID token.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cerulean_identity::ClaimExpectations;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::PlatformState;

fn unauthorized(description: &str) -> Response {
    let mut res = (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_token", "error_description": description})))
        .into_response();
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    res
}

/// Reads `tid` without verifying: it only picks the keys to verify with.
fn unverified_tenant(token: &str) -> Option<Uuid> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(claims.get("tid")?.as_str()?).ok()
}

pub(crate) async fn userinfo(State(state): State<PlatformState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty())
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = token else {
        return unauthorized("Access token is missing.");
    };
    let Some(tenant) = unverified_tenant(&token) else {
        return unauthorized("Access token validation failure.");
    };
    let public = state.public_url.as_ref();
    let expected = ClaimExpectations {
        issuers: vec![format!("{public}/{tenant}/"), format!("{public}/{tenant}/v2.0")],
        audiences: vec![
            "https://graph.microsoft.com".into(),
            "https://graph.microsoft.com/".into(),
            crate::resources::GRAPH_APP_ID.into(),
        ],
        tenant_id: Some(tenant.to_string()),
        ..ClaimExpectations::default()
    };
    let Ok(claims) = state.tokens.verify(tenant, &token, &expected).await else {
        return unauthorized("Access token validation failure.");
    };
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    if text("idtyp") != Some("user") {
        return unauthorized("The access token does not name a user.");
    }
    let Some(oid) = text("oid").and_then(|o| Uuid::parse_str(o).ok()) else {
        return unauthorized("Access token validation failure.");
    };
    let user = match state.directory.get(tenant, oid).await {
        Ok(Some(u)) => u,
        Ok(None) => return unauthorized("The user no longer exists."),
        Err(e) => {
            tracing::error!(error = %e, "userinfo lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let app_id = text("appid").or_else(|| text("azp")).and_then(|a| Uuid::parse_str(a).ok()).unwrap_or_default();
    let doc = |k: &str| user.doc.get(k).and_then(Value::as_str);
    let mut body = Map::new();
    body.insert("sub".into(), json!(cerulean_identity::user_tokens::pairwise_subject(tenant, oid, app_id)));
    for (claim, property) in [("name", "displayName"), ("family_name", "surname"), ("given_name", "givenName")] {
        if let Some(v) = doc(property) {
            body.insert(claim.into(), json!(v));
        }
    }
    body.insert("picture".into(), json!(format!("{public}/v1.0/me/photo/$value")));
    if let Some(mail) = doc("mail") {
        body.insert("email".into(), json!(mail));
    }
    Json(Value::Object(body)).into_response()
}

/// `GET /common/userrealm/{username}` (Entra's home realm discovery, which MSAL calls before
/// the username/password grant): every domain of this server is `Managed` (passwords are
/// checked here, never federated); any other is `Unknown`.
pub(crate) async fn user_realm(
    State(state): State<PlatformState>,
    axum::extract::Path(username): axum::extract::Path<String>,
) -> Response {
    let host = state.public_url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let domain = username.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
    let known = !domain.is_empty() && matches!(state.directory.resolve_tenant(&domain).await, Ok(Some(_)));
    let body = if known {
        json!({
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain,
            "cloud_instance_name": host,
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        })
    } else {
        json!({"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": host})
    };
    Json(body).into_response()
}
