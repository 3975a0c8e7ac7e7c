//! The tenant-discovery surface of Azure Resource Manager: `GET /subscriptions`,
//! `GET /subscriptions/{subscriptionId}` and `GET /tenants`, served at the root of this server
//! so that it is the "resource manager endpoint" of a cloud registered in the Azure CLI
//! (`az cloud register --endpoint-resource-manager https://<this server>/`).
//!
//! Why it exists: `az login` lists the subscriptions of the tenant it signed in to
//! (Subscriptions: List) before it writes its profile; with `--allow-no-subscriptions` an empty list gives a
//! tenant-level account, and `az ad ...` then works against Microsoft Graph. Cerulean is a
//! directory and hosts no Azure resources, so the honest answer is an empty subscription list,
//! a 404 for any subscription id, and the caller's own tenant for Tenants: List. The rules are
//! ARM's: an `api-version` query parameter is required, and the bearer token must be one this
//! server issued for Resource Manager (`aud` one of ARM's four accepted audiences), within its
//! lifetime; the error codes and messages are ARM's (`{"error": {"code", "message"}}`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cerulean_identity::{ClaimExpectations, IdentityError, JwtError};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use uuid::Uuid;

use crate::PlatformState;

/// The audiences ARM accepts, as its `InvalidAuthenticationTokenAudience` message lists them.
const AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// An ARM error: status, `error.code`, `error.message`.
#[derive(Debug)]
pub(crate) struct ArmError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ArmError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError { status, code, message: message.into() }
    }

    fn unauthorized(code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::UNAUTHORIZED, code, message)
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let mut res =
            (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // ARM names the problem in the challenge as well; quotes cannot appear in a
            // quoted-string, so they become apostrophes.
            let challenge = format!(
                "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{}\"",
                self.message.replace(['"', '\\'], "'")
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        res
    }
}

/// ARM refuses a request without `api-version`, and one whose value is not a version
/// (`yyyy-mm-dd`, optionally `-preview` or another suffix).
fn check_api_version(query: &HashMap<String, String>) -> Result<(), ArmError> {
    let Some(version) = query.get("api-version") else {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let date = version.get(..10).unwrap_or_default();
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let rest = version.get(10..).unwrap_or_default();
    let rest_ok = rest.is_empty()
        || (rest.len() <= 32
            && rest.starts_with('-')
            && rest[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && rest.len() > 1);
    if !(date_ok && rest_ok) {
        let shown: String = version.chars().take(64).collect();
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{shown}' is invalid. The supported versions are 'yyyy-mm-dd' dates, optionally with a suffix such as '-preview'."
            ),
        ));
    }
    Ok(())
}

/// Reads the payload without verifying anything: `tid` only selects the keys that verify the
/// token, and `aud` only names the wrong audience in an error message.
fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The tenant of a valid Resource Manager token on the request.
async fn authenticate(state: &PlatformState, headers: &HeaderMap) -> Result<Uuid, ArmError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ArmError::unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let invalid_header = || {
        ArmError::unauthorized(
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
    };
    let value = value.to_str().map_err(|_| invalid_header())?;
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => t.trim(),
        _ => return Err(invalid_header()),
    };
    let invalid = || ArmError::unauthorized("InvalidAuthenticationToken", "The access token is invalid.");
    let claims = unverified_claims(token).ok_or_else(invalid)?;
    let tenant = claims.get("tid").and_then(Value::as_str).and_then(|t| Uuid::parse_str(t).ok()).ok_or_else(invalid)?;
    let public = state.public_url.as_ref();
    let expected = ClaimExpectations {
        issuers: vec![format!("{public}/{tenant}/"), format!("{public}/{tenant}/v2.0")],
        audiences: AUDIENCES.iter().map(|a| a.to_string()).collect(),
        tenant_id: Some(tenant.to_string()),
        ..ClaimExpectations::default()
    };
    match state.tokens.verify(tenant, token, &expected).await {
        Ok(_) => Ok(tenant),
        Err(IdentityError::Jwt(JwtError::Expired)) => Err(ArmError::unauthorized(
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )),
        Err(IdentityError::Jwt(JwtError::InvalidAudience)) => {
            let aud = match claims.get("aud") {
                Some(Value::String(s)) => s.chars().take(256).collect(),
                _ => String::new(),
            };
            let allowed = AUDIENCES.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(",");
            Err(ArmError::unauthorized(
                "InvalidAuthenticationTokenAudience",
                format!(
                    "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences {allowed}."
                ),
            ))
        }
        Err(IdentityError::Jwt(_)) => Err(invalid()),
        Err(other) => {
            tracing::error!(error = %other, "resource manager token verification failed");
            Err(ArmError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Encountered internal server error.",
            ))
        }
    }
}

/// `GET /subscriptions`: Subscriptions: List. Cerulean hosts no subscriptions.
pub(crate) async fn list_subscriptions(
    State(state): State<PlatformState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ArmError> {
    authenticate(&state, &headers).await?;
    check_api_version(&query)?;
    Ok(Json(json!({"value": [], "count": {"type": "Total", "value": 0}})).into_response())
}

/// `GET /subscriptions/{subscriptionId}`: Subscriptions: Get; there is none to find.
pub(crate) async fn get_subscription(
    State(state): State<PlatformState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ArmError> {
    authenticate(&state, &headers).await?;
    check_api_version(&query)?;
    let shown: String = id.chars().take(64).collect();
    Err(ArmError::new(
        StatusCode::NOT_FOUND,
        "SubscriptionNotFound",
        format!("The subscription '{shown}' could not be found."),
    ))
}

/// `GET /tenants`: Tenants: List, the tenants the caller may access: its own.
pub(crate) async fn list_tenants(
    State(state): State<PlatformState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ArmError> {
    let tenant_id = authenticate(&state, &headers).await?;
    check_api_version(&query)?;
    let tenant = state.directory.resolve_tenant(&tenant_id.to_string()).await.map_err(|e| {
        tracing::error!(error = %e, "reading the tenant failed");
        ArmError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Encountered internal server error.")
    })?;
    let value: Vec<Value> = tenant
        .map(|t| {
            let default = t.domains.iter().find(|d| d.is_default).or(t.domains.first()).map(|d| d.name.clone());
            json!({
                "id": format!("/tenants/{}", t.id),
                "tenantId": t.id.to_string(),
                "tenantCategory": "Home",
                "displayName": t.display_name,
                "domains": t.domains.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
                "defaultDomain": default,
                "tenantType": "AAD",
            })
        })
        .into_iter()
        .collect();
    let count = value.len();
    Ok(Json(json!({"value": value, "count": {"type": "Total", "value": count}})).into_response())
}
