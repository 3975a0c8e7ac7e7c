//! OAuth 2.0 errors (RFC 6749 section 5.2) in Entra's shape: `error`, an `error_description`
//! that starts with the AADSTS code and ends with the trace and correlation ids, plus
//! `error_codes`, `timestamp`, `trace_id`, `correlation_id` and `error_uri`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OAuth error; the handler fills in the request's ids with [`OAuthError::respond`].
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    /// RFC 6749 error code (`invalid_client`, `invalid_request`, ...).
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    pub description: String,
    /// Entra's `suberror` (`basic_action` when MFA is required, ...).
    pub suberror: Option<&'static str>,
    /// A claims challenge (`claims`): what a new interactive sign-in must satisfy, as a JSON
    /// string (on-behalf-of's Conditional Access refusals name the policies, `polids`).
    pub claims: Option<String>,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            error,
            code,
            description: description.into(),
            suberror: None,
            claims: None,
        }
    }

    /// The same error with Entra's `suberror`.
    pub fn with_suberror(mut self, suberror: &'static str) -> OAuthError {
        self.suberror = Some(suberror);
        self
    }

    /// The same error with a claims challenge.
    pub fn with_claims(mut self, claims: String) -> OAuthError {
        self.claims = Some(claims);
        self
    }

    /// AADSTS900144: a required parameter is missing.
    pub fn missing(parameter: &str) -> OAuthError {
        OAuthError::new(
            400,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    /// AADSTS90002: the tenant in the URL does not exist.
    pub fn tenant_not_found(tenant: &str) -> OAuthError {
        OAuthError::new(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// Renders the error with the request's trace (`request-id`) and correlation ids.
    pub fn respond(&self, public_url: &str, trace_id: &str, correlation_id: &str) -> Response {
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
        let timestamp = cerulean_store::clock::now().format(&fmt).unwrap_or_default();
        let mut body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{public_url}/error?code={}", self.code),
        });
        if let (Some(sub), Some(o)) = (self.suberror, body.as_object_mut()) {
            o.insert("suberror".into(), json!(sub));
        }
        if let (Some(claims), Some(o)) = (&self.claims, body.as_object_mut()) {
            o.insert("claims".into(), json!(claims));
        }
        let mut res = (self.status, body.to_string()).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"cerulean\""));
        }
        res
    }
}
