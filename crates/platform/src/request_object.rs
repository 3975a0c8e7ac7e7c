//! Request objects (RFC 9101, "JWT-Secured Authorization Request") passed by value in the
//! `request` parameter of the authorize endpoint.
//!
//! The object is a JWT the application signs (RS256 or PS256) with the private key of a
//! certificate registered in its `keyCredentials` — the keys that already authenticate it at
//! the token endpoint — and names in its header (`x5t` / `x5t#S256`). Once the signature
//! verifies, only its claims are the request's parameters (RFC 9101 §6.3: the query's others
//! are ignored), with the query's `client_id`, which must be the object's; a `response_type` or
//! `scope` also sent in the query must be the object's (OpenID Connect Core §6.1). The object
//! must carry `exp`, live at most 60 minutes, and a `jti` it carries is single-use (remembered
//! until the object expires). An unsigned object, an unknown key, a bad
//! signature, an expired object or one meant for another server is refused with AADSTS90100
//! (`invalid_request`: the parameter is empty or not valid), shown on the error page since
//! the redirect URI itself may come from the refused object.
//!
//! `request_uri` (the object by reference) is fetched only over HTTPS and only from an origin
//! of one of the application's registered redirect URIs (the application's own servers, so
//! the parameter cannot make Cerulean reach elsewhere), through the client external issuers'
//! documents are fetched with ([`cerulean_identity::outbound`]): a time limit, a size cap, no
//! redirects, the same trust roots, and no private address (a redirect URI on `localhost` or
//! an intranet host does not make its origin fetchable) unless `serve --allow-private-fetch`.

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

/// The longest a request object may live (`exp` minus `nbf`, or `iat`, or now): FAPI 1.0
/// Advanced §5.2.2 caps it at 60 minutes; a longer-lived object is a longer replay window.
const MAX_LIFETIME_SECS: i64 = 3600;

/// The flow-record kind under which seen `jti`s are remembered until their object expires.
const JTI_KIND: &str = "request_object_jti";

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
    // OpenID Connect Core §6.1: `response_type` and `scope` may also be sent in the query (OAuth
    // requires them there), and then must be the object's.
    for name in ["response_type", "scope"] {
        if let Some(outside) = param(params, name) {
            let inside = claims.get(name).and_then(Value::as_str);
            if !inside.is_some_and(|inside| same_words(inside, outside)) {
                return Err(invalid(&format!("The '{name}' parameter does not match the request object's '{name}'.")));
            }
        }
    }
    remember_jti(state, tenant, client_id, &claims).await?;
    // RFC 9101 §6.3: only the object's parameters are used, even those the query repeats or
    // adds (a `request_uri` is public: anyone may replay it with a `prompt`, `login_hint` or
    // `code_challenge` of their own); `client_id` is the one the object was verified for.
    let mut out: Vec<(String, String)> = vec![("client_id".to_string(), client_id.to_string())];
    for (k, v) in &claims {
        if JWT_CLAIMS.contains(&k.as_str()) || k == "client_id" {
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

/// Whether two space-separated lists hold the same words (`code id_token` = `id_token code`).
fn same_words(a: &str, b: &str) -> bool {
    let mut a: Vec<&str> = a.split(' ').filter(|w| !w.is_empty()).collect();
    let mut b: Vec<&str> = b.split(' ').filter(|w| !w.is_empty()).collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

/// Remembers the object's `jti` until the object expires, refusing one seen before (RFC 9101
/// §10.8, replay): a single-use record in the store, so every node of a shared database sees
/// it. An object without `jti` is only bounded by its lifetime ([`MAX_LIFETIME_SECS`]).
async fn remember_jti(
    state: &PlatformState,
    tenant: uuid::Uuid,
    client_id: &str,
    claims: &serde_json::Map<String, Value>,
) -> Result<(), OAuthError> {
    let Some(jti) = claims.get("jti") else { return Ok(()) };
    let Some(jti) = jti.as_str().filter(|j| !j.is_empty() && j.len() <= 256) else {
        return Err(invalid("The request object's 'jti' must be a non-empty string of at most 256 characters."));
    };
    let key = crate::session::hash(&format!("{}\n{jti}", client_id.to_ascii_lowercase()));
    let replay = || invalid("The request object was used before: its 'jti' has been seen.");
    let seen = |r: Result<Option<cerulean_store::FlowRecord>, cerulean_directory::DirectoryError>| match r {
        Ok(found) => Ok(found.is_some()),
        Err(e) => Err(crate::grants::delegated::internal(e)),
    };
    if seen(state.directory.flow(tenant, JTI_KIND, &key).await)? {
        return Err(replay());
    }
    let exp = claims.get("exp").and_then(Value::as_f64).map(|f| f as i64).unwrap_or_default();
    let at = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .map(cerulean_directory::validate::format_datetime)
            .map_err(|e| crate::grants::delegated::internal(e.to_string()))
    };
    let record = cerulean_store::FlowRecord {
        kind: JTI_KIND.into(),
        key: key.clone(),
        lookup: None,
        data: Value::Null,
        created_at: at(cerulean_identity::unix_now())?,
        // Past its expiry (with the skew) the object is refused anyway.
        expires_at: at(exp.saturating_add(SKEW_SECS))?,
        used_at: None,
    };
    if let Err(e) = state.directory.put_flow(tenant, &record).await {
        // Two requests with the same object at once: the store's key lets one in.
        if seen(state.directory.flow(tenant, JTI_KIND, &key).await)? {
            return Err(replay());
        }
        return Err(crate::grants::delegated::internal(e));
    }
    Ok(())
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
    let body =
        state.federation.fetcher().get(uri).await.map_err(|e| refused(&format!("It could not be fetched: {e}.")))?;
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
    // RFC 9101 §10.8 / FAPI: an object must expire, and soon; without `exp` it would be
    // replayable forever.
    let Some(exp) = number("exp") else {
        return Err(invalid("The request object has no 'exp' claim; it must expire."));
    };
    if now >= exp.saturating_add(SKEW_SECS) || number("nbf").is_some_and(|nbf| nbf > now + SKEW_SECS) {
        return Err(invalid("The request object is expired or not yet valid."));
    }
    let start = number("nbf").or_else(|| number("iat")).map_or(now, |s| s.min(now));
    if exp.saturating_sub(start) > MAX_LIFETIME_SECS {
        return Err(invalid("The request object lives longer than 60 minutes ('exp' too far after 'nbf')."));
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
