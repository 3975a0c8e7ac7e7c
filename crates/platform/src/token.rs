//! The token endpoint: parses the form and the client's credentials once, then hands the
//! request to the grant's own module.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::{grants, signin_log};

/// Bodies larger than this are refused before parsing (assertions and PKCE verifiers are far
/// smaller).
const MAX_FORM: usize = 64 * 1024;

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/oauth2/v2.0/token`: `scope=`.
    V2,
    /// `/oauth2/token`: `resource=`.
    V1,
}

/// A parsed token request.
#[derive(Debug)]
pub struct TokenRequest {
    pub endpoint: Endpoint,
    /// The tenant segment of the URL as sent.
    pub tenant: String,
    pub params: Vec<(String, String)>,
    /// From `client_secret_basic`, if used.
    pub basic: Option<(String, String)>,
    /// The device platform of the User-Agent (Conditional Access's `platforms` condition).
    pub platform: Option<&'static str>,
}

impl TokenRequest {
    /// A v2 request without parameters naming the tenant `segment`: what tenant resolution
    /// needs outside the token endpoint (authorize, device code entry).
    pub fn for_tenant(segment: &str) -> TokenRequest {
        TokenRequest {
            endpoint: Endpoint::V2,
            tenant: segment.to_string(),
            params: Vec::new(),
            basic: None,
            platform: None,
        }
    }

    /// The single value of a form parameter (empty values count as absent).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The client id, from the form or from HTTP Basic.
    pub fn client_id(&self) -> Option<&str> {
        self.param("client_id").or(self.basic.as_ref().map(|(id, _)| id.as_str()))
    }

    /// The client secret, from the form (`client_secret_post`) or HTTP Basic.
    pub fn client_secret(&self) -> Option<&str> {
        self.param("client_secret").or(self.basic.as_ref().map(|(_, s)| s.as_str()).filter(|s| !s.is_empty()))
    }
}

/// Any method but POST: Entra's AADSTS900561.
pub(crate) async fn not_post(
    method: axum::http::Method,
    headers: HeaderMap,
    State(state): State<PlatformState>,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let trace_id = header("request-id").unwrap_or_default();
    let correlation_id = header("client-request-id").unwrap_or_default();
    OAuthError::new(
        400,
        "invalid_request",
        900561,
        format!("The endpoint only accepts POST, OPTIONS requests. Received a {method} request."),
    )
    .respond(&state.public_url, &trace_id, &correlation_id)
}

pub(crate) async fn token_v2(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, tenant, headers, body, Endpoint::V2, peer.map(|p| p.0.0)).await
}

pub(crate) async fn token_v1(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, tenant, headers, body, Endpoint::V1, peer.map(|p| p.0.0)).await
}

async fn handle(
    state: PlatformState,
    tenant: String,
    headers: HeaderMap,
    body: Bytes,
    endpoint: Endpoint,
    peer: Option<std::net::SocketAddr>,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let trace_id = header("request-id").unwrap_or_default();
    let correlation_id = header("client-request-id").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Every attempt goes to the sign-in log (issue 7), with the request's identifiers only.
    let ip = crate::client_ip::client_ip(peer, &headers, &state.trusted_proxies);
    let mut attempt = signin_log::SignInAttempt::from_headers(&headers, &tenant, ip);
    attempt.correlation_id = Some(correlation_id.clone());
    let parsed = parse(&headers, &body, endpoint, tenant);
    // A client-credentials request writes nothing to the directory's change log (its sign-in
    // and risk rows are logs): its cached lookups, the grant's and the sign-in log's, share one
    // read of the tenant's change-log position (see `cerulean_directory::Directory::pinned`).
    let state = match &parsed {
        Ok(req) if req.param("grant_type") == Some("client_credentials") => {
            PlatformState { directory: state.directory.pinned(), ..state }
        }
        _ => state,
    };
    let result = match parsed {
        Ok(mut req) => {
            attempt.fill(&req);
            req.platform = signin_log::platform(&attempt);
            attempt.leaked_password = req.param("grant_type") == Some("password")
                && req.param("password").is_some_and(|p| cerulean_identity::risk::is_leaked(&state.risk, p));
            // Conditional Access assesses the attempt's risk with the real browser and leaked
            // flag; the sign-in log reuses what it found (see `attempt`).
            let shared = crate::attempt::Handle::default();
            let browser = signin_log::device(&attempt).0;
            let result =
                crate::attempt::scope(browser, attempt.leaked_password, &shared, grants::dispatch(&state, req, ip))
                    .await;
            attempt.assessed = shared.assessed();
            attempt.credential = shared.credential();
            result
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(res) => signin_log::after_success(&state, &attempt, res).await,
        Err(e) => {
            let outcome = signin_log::Outcome::Failure { error: e.error, code: e.code, description: &e.description };
            signin_log::record(&state, &attempt, outcome).await;
            e.respond(&state.public_url, &trace_id, &correlation_id)
        }
    }
}

fn parse(headers: &HeaderMap, body: &[u8], endpoint: Endpoint, tenant: String) -> Result<TokenRequest, OAuthError> {
    if body.len() > MAX_FORM {
        return Err(OAuthError::new(413, "invalid_request", 90023, "The request body is too large."));
    }
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ));
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new(400, "invalid_request", 90014, "The request body is not a valid form."))?;
    // RFC 6749 section 3.2: parameters must not be repeated.
    for (i, (k, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(other, _)| other == k) {
            return Err(OAuthError::new(400, "invalid_request", 90015, format!("The parameter '{k}' is duplicated.")));
        }
    }
    let basic = match headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) => Some(parse_basic(v)?),
        None => None,
    };
    Ok(TokenRequest { endpoint, tenant, params, basic, platform: None })
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section 2.3.1).
fn parse_basic(value: &str) -> Result<(String, String), OAuthError> {
    use base64::Engine;
    let bad = || {
        OAuthError::new(401, "invalid_client", 7000216, "The 'Authorization' header is not valid client_secret_basic.")
    };
    let (scheme, encoded) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        let plus_as_space = s.replace('+', " ");
        percent_decode(&plus_as_space)
    };
    Ok((unescape(id).ok_or_else(bad)?, unescape(secret).ok_or_else(bad)?))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_url_decoded() {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.encode("my%20app:s%7Ecret+x");
        let (id, secret) = parse_basic(&format!("Basic {raw}")).expect("parse");
        assert_eq!(id, "my app");
        assert_eq!(secret, "s~cret x");
        assert!(parse_basic("Bearer x").is_err());
        assert!(parse_basic("Basic !!!").is_err());
    }
}
