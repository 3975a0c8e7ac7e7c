//! Workload identity federation: a `client_assertion` (`jwt-bearer` type) issued not by the
//! client itself but by an external OpenID Connect issuer (GitHub Actions, a Kubernetes
//! cluster, another tenant), accepted for an application with a matching
//! `federatedIdentityCredential` (issuer, subject, one audience; `api://AzureADTokenExchange`
//! by default).
//!
//! An assertion whose `iss` is an https URL (not the client id) is federated; the certificate path
//! ([`super::assertion`]) handles the rest. Only an issuer registered on one of the
//! application's credentials is ever fetched (so only issuers of the tenant), and its keys
//! come from its discovery document through [`cerulean_identity::federation::IssuerKeys`].
//!
//! | check | code |
//! |---|---|
//! | not a JWT, `alg` other than RS256, no `exp` | AADSTS50027 |
//! | the application has no federated identity credential | AADSTS70021 |
//! | no credential has the assertion's issuer | AADSTS700211 |
//! | the issuer's keys cannot be fetched | AADSTS50166 |
//! | the signature does not verify with the issuer's keys | AADSTS50013 |
//! | `exp`/`nbf` outside the lifetime (5 minutes of skew) | AADSTS700024 |
//! | no credential of that issuer has the subject | AADSTS700213 |
//! | no credential of that issuer and subject has an audience of the assertion | AADSTS700212 |
//!
//! A deleted credential is simply absent, so the same assertion then meets AADSTS70021 or
//! AADSTS700211.

use cerulean_directory::AppCredentials;
use cerulean_identity::JwtError;
use cerulean_identity::client_assertion::Assertion;
use cerulean_identity::federation::FederationError;
use serde_json::{Map, Value};

use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;

/// Clock skew tolerated on `exp` and `nbf`.
const SKEW_SECS: i64 = 300;

/// Whether the request's client assertion is an external issuer's token rather than the
/// client's own: its `iss` is an https URL (every federated credential's issuer is one),
/// where a certificate assertion's is the client id.
pub(crate) fn is_federated(req: &TokenRequest, client_id: &str) -> bool {
    let Some(token) = req.param("client_assertion") else { return false };
    let Ok(assertion) = Assertion::parse(token) else { return false };
    assertion.claims.get("iss").and_then(Value::as_str).is_some_and(|iss| {
        iss.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
            && !iss.eq_ignore_ascii_case(client_id)
    })
}

fn malformed(detail: &str) -> OAuthError {
    OAuthError::new(400, "invalid_request", 50027, format!("JWT token is invalid or malformed. {detail}"))
}

fn no_match(code: u32, what: &str) -> OAuthError {
    OAuthError::new(
        400,
        "invalid_request",
        code,
        format!(
            "No matching federated identity record found for presented assertion {what}. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
        ),
    )
}

/// Verifies the request's federated assertion for `app` (see the module docs).
pub(crate) async fn verify(
    state: &PlatformState,
    req: &TokenRequest,
    app: &AppCredentials,
) -> Result<Option<String>, OAuthError> {
    match req.param("client_assertion_type") {
        Some(super::assertion::JWT_BEARER) => {}
        Some(_) => return Err(malformed("The client_assertion_type is not supported.")),
        None => return Err(OAuthError::missing("client_assertion_type")),
    }
    let token = req.param("client_assertion").ok_or_else(|| OAuthError::missing("client_assertion"))?;
    let assertion = Assertion::parse(token).map_err(|_| malformed("The client assertion is not a valid JWT."))?;
    let text = |claims: &Map<String, Value>, name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    let issuer = text(&assertion.claims, "iss").unwrap_or_default();
    let subject = text(&assertion.claims, "sub").unwrap_or_default();
    let audiences = audiences(&assertion.claims);

    let credentials: Vec<&Map<String, Value>> = app
        .application
        .doc
        .get("federatedIdentityCredentials")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    if credentials.is_empty() {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
                audiences.join(",")
            ),
        ));
    }
    let of_issuer: Vec<&Map<String, Value>> =
        credentials.into_iter().filter(|c| text(c, "issuer").as_deref() == Some(issuer.as_str())).collect();
    if of_issuer.is_empty() {
        return Err(no_match(700211, &format!("issuer '{issuer}'")));
    }

    // The issuer is registered on a credential of this tenant: its keys may be fetched.
    let claims = match state.federation.verify(&issuer, token).await {
        Ok(claims) => claims,
        Err(FederationError::Token(JwtError::UnsupportedAlgorithm(alg))) => {
            return Err(malformed(&format!("The signing algorithm '{alg}' is not supported.")));
        }
        Err(FederationError::Token(JwtError::Malformed | JwtError::TooLarge)) => {
            return Err(malformed("The client assertion is not a valid JWT."));
        }
        Err(FederationError::Token(e)) => {
            let reason = match e {
                JwtError::UnknownKey => "The key was not found.",
                _ => "Key was found, but use of the key to verify the signature failed.",
            };
            return Err(OAuthError::new(
                401,
                "invalid_client",
                50013,
                format!("Assertion failed signature validation. [Reason - {reason}, Issuer: '{issuer}']"),
            ));
        }
        Err(e) => {
            tracing::warn!(issuer = %issuer, error = %e, "fetching a federated issuer's keys failed");
            return Err(OAuthError::new(
                400,
                "invalid_request",
                50166,
                format!("Request to External OIDC endpoint failed. Issuer: '{issuer}'. Reason: {e}."),
            ));
        }
    };

    let number = |name: &str| claims.get(name).and_then(Value::as_f64).map(|f| f as i64);
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
    let of_subject: Vec<&Map<String, Value>> =
        of_issuer.into_iter().filter(|c| text(c, "subject").as_deref() == Some(subject.as_str())).collect();
    if of_subject.is_empty() {
        return Err(no_match(700213, &format!("subject '{subject}'")));
    }
    // The credential that accepted the assertion: its id is the sign-in's credential key id.
    let accepted = of_subject.iter().find(|c| {
        let registered = c.get("audiences").and_then(Value::as_array);
        registered.into_iter().flatten().filter_map(Value::as_str).any(|r| audiences.iter().any(|a| a == r))
    });
    match accepted {
        Some(c) => Ok(text(c, "id")),
        None => Err(no_match(700212, &format!("audience '{}'", audiences.join(",")))),
    }
}

fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}
