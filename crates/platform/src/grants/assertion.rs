//! Certificate client assertions (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`):
//! a JWT signed with the private key of a certificate in the application's `keyCredentials`,
//! named by its `x5t` (SHA-1) or `x5t#S256` thumbprint.
//!
//! Checks and Entra's codes for their failures (from Microsoft's certificate-credential and
//! error-code documentation and the messages Entra returns):
//!
//! | check | code |
//! |---|---|
//! | wrong `client_assertion_type`, not a JWT, no thumbprint header, missing `exp` | AADSTS50027 |
//! | `alg` other than RS256/PS256 | AADSTS50027 |
//! | no registered certificate has the thumbprint, or it is expired / not yet valid | AADSTS700027 |
//! | the signature does not verify | AADSTS700027 |
//! | `iss` or `sub` is not the client id | AADSTS700021 |
//! | `aud` is not this tenant's token endpoint | AADSTS700023 |
//! | `exp`/`nbf` outside the lifetime (5 minutes of skew) | AADSTS700024 |
//!
//! `jti` is not checked for reuse: MSAL keeps one assertion and re-sends it until it expires
//! (its `AutoRefresher`, ten minutes), which Entra accepts, so refusing a repeated `jti` would
//! break the official clients. The assertion's short lifetime bounds a replay instead.

use base64::Engine;
use cerulean_directory::AppCredentials;
use cerulean_identity::client_assertion::{Assertion, AssertionError};
use cerulean_store::TenantRecord;
use serde_json::Value;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;

pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew tolerated on `exp` and `nbf`.
const SKEW_SECS: i64 = 300;

fn malformed(detail: &str) -> OAuthError {
    OAuthError::new(400, "invalid_request", 50027, format!("JWT token is invalid or malformed. {detail}"))
}

fn invalid_signature(reason: &str, thumbprint: &str, client_id: &str) -> OAuthError {
    OAuthError::new(
        401,
        "invalid_client",
        700027,
        format!(
            "Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
        ),
    )
}

/// The key id and DER certificate among `app`'s current `keyCredentials` whose thumbprint the JWT's
/// header names (`x5t` or `x5t#S256`); else why not, in Entra's words. Shared with request
/// objects, which the same keys sign.
pub(crate) fn registered_certificate(
    app: &AppCredentials,
    assertion: &Assertion,
) -> Result<(uuid::Uuid, Vec<u8>), &'static str> {
    let now = cerulean_directory::validate::now();
    let certificates = app.secrets.iter().filter(|s| s.kind == "certificate");
    let found = certificates.filter_map(|s| {
        let der = base64::engine::general_purpose::STANDARD.decode(s.hash.strip_prefix("der:")?).ok()?;
        assertion.names(&der).then_some((s.key_id, der))
    });
    let mut expired = false;
    for (key_id, der) in found {
        let credential =
            app.application.doc.get("keyCredentials").and_then(Value::as_array).and_then(|keys| {
                keys.iter().find(|k| k.get("keyId").and_then(Value::as_str) == Some(&key_id.to_string()))
            });
        let date = |name: &str| credential.and_then(|c| c.get(name)).and_then(Value::as_str).map(str::to_string);
        let current = date("startDateTime").is_none_or(|s| s <= now) && date("endDateTime").is_none_or(|e| e > now);
        if current {
            return Ok((key_id, der));
        }
        expired = true;
    }
    Err(if expired { "The key used is expired." } else { "The key was not found." })
}

/// Verifies the request's client assertion for `app` (see the module docs); the key id of the
/// certificate that signed it.
pub(crate) fn verify(
    state: &PlatformState,
    req: &TokenRequest,
    tenant: &TenantRecord,
    client_id: &str,
    app: &AppCredentials,
) -> Result<uuid::Uuid, OAuthError> {
    match req.param("client_assertion_type") {
        Some(JWT_BEARER) => {}
        Some(_) => return Err(malformed("The client_assertion_type is not supported.")),
        None => return Err(OAuthError::missing("client_assertion_type")),
    }
    let token = req.param("client_assertion").ok_or_else(|| OAuthError::missing("client_assertion"))?;
    let assertion = Assertion::parse(token).map_err(|_| malformed("The client assertion is not a valid JWT."))?;
    if !matches!(assertion.alg.as_str(), "RS256" | "PS256") {
        return Err(malformed(&format!("The signing algorithm '{}' is not supported.", assertion.alg)));
    }
    if assertion.x5t.is_none() && assertion.x5t_s256.is_none() {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            50027,
            "Invalid JWT token. No certificate thumbprint specified in token header.",
        ));
    }
    let thumbprint = assertion.thumbprint_hex();

    let (key_id, der) =
        registered_certificate(app, &assertion).map_err(|reason| invalid_signature(reason, &thumbprint, client_id))?;
    match assertion.verify_with_certificate(&der) {
        Ok(()) => {}
        Err(AssertionError::Algorithm(alg)) => {
            return Err(malformed(&format!("The signing algorithm '{alg}' is not supported.")));
        }
        Err(_) => {
            return Err(invalid_signature(
                "The provided signature value did not match the expected signature value.",
                &thumbprint,
                client_id,
            ));
        }
    }

    // Claims, once the signature says who wrote them.
    let text = |name: &str| assertion.claims.get(name).and_then(Value::as_str);
    let same_client = |v: Option<&str>| v.is_some_and(|v| v.eq_ignore_ascii_case(client_id));
    if !same_client(text("iss")) || !same_client(text("sub")) {
        return Err(OAuthError::new(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.",
        ));
    }
    let audiences: Vec<&str> = match assertion.claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.iter().any(|a| accepted_audience(state, req, tenant, a)) {
        return Err(OAuthError::new(
            401,
            "invalid_client",
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.",
        ));
    }
    let number = |name: &str| assertion.claims.get(name).and_then(Value::as_f64).map(|f| f as i64);
    let Some(exp) = number("exp") else {
        return Err(malformed("The client assertion has no 'exp' claim."));
    };
    let unix = cerulean_identity::unix_now();
    let nbf = number("nbf");
    if unix >= exp + SKEW_SECS || nbf.is_some_and(|nbf| nbf > unix + SKEW_SECS) {
        return Err(OAuthError::new(
            401,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {unix}, assertion valid from {}, expiry time of assertion {exp}.",
                nbf.map(|n| n.to_string()).unwrap_or_else(|| "(not given)".into())
            ),
        ));
    }
    Ok(key_id)
}

/// The token endpoint URLs (v2 and v1, tenant by id, by any of its domains, or as the
/// request named it) and the v2 issuer, which Entra also accepts as an assertion audience.
fn accepted_audience(state: &PlatformState, req: &TokenRequest, tenant: &TenantRecord, aud: &str) -> bool {
    let aud = aud.trim_end_matches('/');
    let base = state.public_url.trim_end_matches('/');
    let Some(rest) = aud.strip_prefix(base).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    let Some((segment, path)) = rest.split_once('/') else {
        return false;
    };
    let names_tenant = segment.eq_ignore_ascii_case(&tenant.id.to_string())
        || segment.eq_ignore_ascii_case(&req.tenant)
        || tenant.domains.iter().any(|d| d.name.eq_ignore_ascii_case(segment));
    names_tenant && ["oauth2/v2.0/token", "oauth2/token", "v2.0"].contains(&path)
}
