//! Request objects (RFC 9101, "JWT-Secured Authorization Request") passed by value in the
//! `request` parameter of the authorize endpoint.
//!
//! The object is a JWT the application signs (RS256 or PS256) with the private key of a
//! certificate registered in its `keyCredentials` — the keys that already authenticate it at
//! the token endpoint — and names in its header (`x5t` / `x5t#S256`). Once the signature
//! verifies, its claims replace the query parameters of the same name (RFC 9101 §6.3); the
//! `client_id` of the query must be the object's. An unsigned object, an unknown key, a bad
//! signature, an expired object or one meant for another server is refused with AADSTS90100
//! (`invalid_request`: the parameter is empty or not valid), shown on the error page since
//! the redirect URI itself may come from the refused object.
//!
//! `request_uri` (the object by reference) is fetched only over HTTPS and only from an origin
//! of one of the application's registered redirect URIs (the application's own servers, so
//! the parameter cannot make Cerulean reach elsewhere), with the bounds external issuers'
//! documents have: a time limit, a size cap, no redirects, the same trust roots.

use cerulean_directory::AppCredentials;
use cerulean_identity::client_assertion::Assertion;
use serde_json::Value;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::grants::assertion::registered_certificate;

/// Claims of the JWT itself, not authorization request parameters.
const JWT_CLAIMS: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "jti"];

/// Clock skew tolerated on `exp` and `nbf`, as for client assertions.
const SKEW_SECS: i64 = 300;

fn invalid(detail: &str) -> OAuthError {
    OAuthError::new(400, "invalid_request", 90100, format!("The 'request' parameter is empty or not valid. {detail}"))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The authorization request's parameters once its request object (if any) is applied;
/// `None` when the request has none.
pub(crate) async fn expand(
    state: &PlatformState,
    tenant: uuid::Uuid,
    params: &[(String, String)],
) -> Result<Option<Vec<(String, String)>>, OAuthError> {
    let (by_value, by_reference) = (param(params, "request"), param(params, "request_uri"));
    if by_value.is_none() && by_reference.is_none() {
        return Ok(None);
    }
    let client_id = param(params, "client_id").ok_or_else(|| OAuthError::missing("client_id"))?;
    let app = match state.directory.app_credentials(tenant, client_id).await {
        Ok(Some(app)) => app,
        Ok(None) => return Err(invalid("The application is not registered in this directory.")),
        Err(e) => return Err(crate::grants::delegated::internal(e)),
    };
    let fetched;
    let token = match (by_value, by_reference) {
        (Some(t), None) => t,
        (None, Some(uri)) => {
            fetched = fetch(state, &app, uri).await?;
            fetched.as_str()
        }
        _ => return Err(invalid("Only one of 'request' and 'request_uri' may be given.")),
    };
    let claims = verified_claims(state, &app, client_id, token)?;
    if let Some(inner) = claims.get("client_id")
        && inner.as_str().is_none_or(|c| !c.eq_ignore_ascii_case(client_id))
    {
        return Err(invalid("The request object's 'client_id' does not match the 'client_id' parameter."));
    }
    let mut out: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != "request" && !claims.contains_key(k.as_str())).cloned().collect();
    for (k, v) in &claims {
        if JWT_CLAIMS.contains(&k.as_str()) {
            continue;
        }
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        out.push((k.clone(), value));
    }
    Ok(Some(out))
}

/// `https://host[:port]` of an HTTPS URL, lower-cased; `None` for anything else.
fn https_origin(url: &str) -> Option<String> {
    let rest = url.get(..8).filter(|p| p.eq_ignore_ascii_case("https://")).map(|_| &url[8..])?;
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty() && !a.contains('@'))?;
    Some(format!("https://{}", authority.to_ascii_lowercase()))
}

/// The request object at `uri`, when `uri` is on an origin of one of the application's
/// redirect URIs.
async fn fetch(state: &PlatformState, app: &AppCredentials, uri: &str) -> Result<String, OAuthError> {
    let refused = |detail: &str| {
        OAuthError::new(400, "invalid_request", 90100, format!("The 'request_uri' parameter is not valid. {detail}"))
    };
    let origin = https_origin(uri).ok_or_else(|| refused("It must be an https URL."))?;
    let registered = ["web", "spa", "publicClient"]
        .iter()
        .filter_map(|k| app.application.doc.get(*k)?.get("redirectUris")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(https_origin);
    if !registered.into_iter().any(|o| o == origin) {
        return Err(refused("Its origin is not one of the application's redirect URIs."));
    }
    let body = state.federation.fetch(uri).await.map_err(|e| refused(&format!("It could not be fetched: {e}.")))?;
    let text = String::from_utf8(body).map_err(|_| refused("The document is not a JWT."))?;
    Ok(text.trim().to_string())
}

/// The claims of `token` once its signature, lifetime and audience say it is the
/// application's request to this server.
fn verified_claims(
    state: &PlatformState,
    app: &AppCredentials,
    client_id: &str,
    token: &str,
) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let object = Assertion::parse(token).map_err(|_| invalid("The request object is not a signed JWT."))?;
    if !matches!(object.alg.as_str(), "RS256" | "PS256") {
        return Err(invalid(&format!("The signing algorithm '{}' is not supported.", object.alg)));
    }
    let (_, der) = registered_certificate(app, &object).map_err(invalid)?;
    object
        .verify_with_certificate(&der)
        .map_err(|_| invalid("The request object's signature does not verify with the application's key."))?;
    let number = |name: &str| object.claims.get(name).and_then(Value::as_f64).map(|f| f as i64);
    let now = cerulean_identity::unix_now();
    if number("exp").is_some_and(|exp| now >= exp + SKEW_SECS) || number("nbf").is_some_and(|nbf| nbf > now + SKEW_SECS)
    {
        return Err(invalid("The request object is expired or not yet valid."));
    }
    let audiences: Vec<&str> = match object.claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    // This server's own URL or a path under it (`{public}/{tenant}/v2.0`, ...): a bare prefix
    // test would accept `https://cerulean.example.com.evil` for `https://cerulean.example.com`.
    let public = state.public_url.trim_end_matches('/');
    let ours = |a: &&str| a.strip_prefix(public).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if object.claims.contains_key("aud") && !audiences.iter().any(ours) {
        return Err(invalid("The request object's audience is not this server."));
    }
    // RFC 9101 §4: a signed request object's issuer is the client that signed it.
    if let Some(iss) = object.claims.get("iss")
        && iss.as_str().is_none_or(|i| !i.eq_ignore_ascii_case(client_id))
    {
        return Err(invalid("The request object's 'iss' is not the application's client_id."));
    }
    Ok(object.claims)
}
