//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with
//! `requested_token_use=on_behalf_of`: a middle-tier API, called with a user's access token
//! (`assertion`), gets a token for a downstream resource for the same user.
//!
//! Refused, in this order, as Entra answers:
//!
//! | problem | error |
//! |---|---|
//! | no `requested_token_use` / `assertion` | AADSTS900144 |
//! | `requested_token_use` other than `on_behalf_of` | AADSTS70003 (`unsupported_grant_type`) |
//! | a public client, or no credential | AADSTS7000218 |
//! | an assertion that is not a JWT | AADSTS50027 |
//! | not signed by the tenant's keys, another issuer | AADSTS50013 |
//! | expired | AADSTS500133 |
//! | `aud` not the calling app (its appId or an `identifierUris` entry) | AADSTS500131 |
//! | an app-only token (no user) | AADSTS50013 |
//! | the user is gone or disabled | AADSTS50034 / AADSTS50057 |
//! | Conditional Access blocks the user's access to the downstream resource | AADSTS53003 |
//! | ... requires a compliant or domain-joined device | AADSTS53000 |
//! | ... requires MFA the assertion's `amr` lacks | AADSTS50076 (AADSTS50079 without a method), `interaction_required` with a `claims` challenge |
//! | ... has a sign-in frequency the assertion is older than | AADSTS70044, `interaction_required` with a `claims` challenge |
//! | the calling app lacks consent for the downstream scopes | AADSTS65001 |
//!
//! Conditional Access is evaluated as Entra does on this grant: for the user, against the
//! downstream resource (not the middle tier), as a non-interactive sign-in of a client app
//! (`mobileAppsAndDesktopClients`) from the middle tier's address, with the MFA the assertion
//! carries. A requirement the middle tier cannot meet (MFA) goes back to it as the error of
//! Microsoft's on-behalf-of documentation ("Error response example"): `interaction_required`,
//! AADSTS50076 or 50079, and `claims`
//! (`{"access_token":{"polids":{"essential":true,"values":[...]}}}`, the failed policies) for
//! the client to pass to a new interactive sign-in. Report-only policies are logged, never
//! enforced.
//!
//! The new token carries the user's identity (`oid`, pairwise `sub` for the calling app) and
//! the scopes consented to the calling app on the downstream resource; the assertion's `amr`
//! is kept.

use axum::response::Response;
use base64::Engine;
use cerulean_directory::ca_engine::{Evaluation, Outcome, PolicyResult, Requirement};
use cerulean_identity::{ClaimExpectations, IdentityError, JwtError};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::delegated::{self, SignedIn, internal};
use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;

fn invalid_grant(code: u32, message: impl Into<String>) -> OAuthError {
    OAuthError::new(400, "invalid_grant", code, message)
}

/// The assertion's claims before verification: only to find its tenant, all checked later.
fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    if token.len() > cerulean_identity::jwt::MAX_TOKEN_LEN {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn malformed() -> OAuthError {
    invalid_grant(50027, "JWT token is invalid or malformed.")
}

/// The claims challenge naming the enforced policies that failed.
fn polids_challenge(evaluation: &Evaluation) -> String {
    challenge_naming(evaluation, |p| p.outcome == Outcome::Failure)
}

/// The claims challenge naming the enforced, applied policies with a sign-in frequency.
fn frequency_challenge(evaluation: &Evaluation) -> String {
    challenge_naming(evaluation, |p| p.outcome != Outcome::NotApplied && p.sign_in_frequency.is_some())
}

fn challenge_naming(evaluation: &Evaluation, pick: impl Fn(&PolicyResult) -> bool) -> String {
    let ids: Vec<&str> =
        evaluation.policies.iter().filter(|p| !p.report_only && pick(p)).map(|p| p.id.as_str()).collect();
    serde_json::json!({ "access_token": { "polids": { "essential": true, "values": ids } } }).to_string()
}

/// Conditional Access for the user's access to the downstream resource `audience`: a block
/// (53003) or device requirement (53000) refuses; MFA the assertion did not carry goes back
/// to the middle tier as a claims challenge (see the module docs).
async fn enforce_conditional_access(
    state: &PlatformState,
    tenant: Uuid,
    user: &cerulean_store::ObjectRecord,
    audience: &str,
    amr: &[String],
    client: super::CaClient,
) -> Result<(), OAuthError> {
    let mfa_done = amr.iter().any(|m| m == "mfa");
    let evaluation = super::conditional_access_evaluation(
        state,
        tenant,
        user,
        audience,
        client,
        "mobileAppsAndDesktopClients",
        mfa_done,
    )
    .await?;
    match evaluation.requirement_at(client.auth_time, cerulean_identity::unix_now()) {
        Requirement::None => Ok(()),
        Requirement::FreshSignIn { .. } => Err(OAuthError::new(
            400,
            "interaction_required",
            70044,
            "The session has expired or is invalid due to sign-in frequency checks by conditional access.",
        )
        .with_claims(frequency_challenge(&evaluation))),
        Requirement::Block { .. } => Err(super::blocked_by_policy()),
        Requirement::Device { .. } => Err(super::device_required()),
        Requirement::Mfa | Requirement::PasswordChange => {
            let registered = state.directory.has_second_factor(tenant, user.id).await.map_err(internal)?;
            let e = if registered {
                OAuthError { error: "interaction_required", ..super::mfa_required(audience) }
            } else {
                OAuthError::new(
                    400,
                    "interaction_required",
                    50079,
                    format!(
                        "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '{audience}'."
                    ),
                )
            };
            Err(e.with_claims(polids_challenge(&evaluation)))
        }
    }
}

pub(crate) async fn grant(
    state: &PlatformState,
    req: &TokenRequest,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    let use_ = req.param("requested_token_use").ok_or_else(|| OAuthError::missing("requested_token_use"))?;
    if use_ != "on_behalf_of" {
        return Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type 'jwt-bearer' with requested_token_use '{use_}'."),
        ));
    }
    let assertion = req.param("assertion").ok_or_else(|| OAuthError::missing("assertion"))?;
    let client_id = req.client_id().ok_or_else(|| OAuthError::missing("client_id"))?;
    let unverified = unverified_claims(assertion).ok_or_else(malformed)?;
    let hint = unverified.get("tid").and_then(Value::as_str).filter(|t| Uuid::parse_str(t).is_ok());
    let tenant = delegated::tenant_of(state, req, hint).await?;
    let (app, sp) = delegated::client_app(state, &tenant, client_id).await?;
    let scopes = delegated::parse_scopes(state, req, None)?;
    // Only a confidential client may exchange a user's token.
    let client_auth = super::client_auth::authenticate(state, req, &tenant, client_id, &app, false).await?;

    // The assertion: signed by this tenant's keys, one of its issuers, alive.
    let public = state.public_url.as_ref();
    let expected = ClaimExpectations {
        issuers: vec![format!("{public}/{}/", tenant.id), format!("{public}/{}/v2.0", tenant.id)],
        tenant_id: Some(tenant.id.to_string()),
        ..ClaimExpectations::default()
    };
    let claims = state.tokens.verify(tenant.id, assertion, &expected).await.map_err(|e| match e {
        IdentityError::Jwt(JwtError::Expired | JwtError::NotYetValid) => invalid_grant(
            500133,
            "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.",
        ),
        IdentityError::Jwt(JwtError::Malformed | JwtError::TooLarge | JwtError::MissingClaim(_)) => malformed(),
        IdentityError::Jwt(_) => invalid_grant(50013, "Assertion failed signature validation."),
        other => internal(other),
    })?;

    // Its audience must be the app presenting it.
    let app_name = app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    let mut own = vec![client_id.to_ascii_lowercase()];
    own.extend(
        app.application
            .doc
            .get("identifierUris")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase),
    );
    if !own.iter().any(|o| o.trim_end_matches('/') == aud.to_ascii_lowercase().trim_end_matches('/')) {
        return Err(invalid_grant(
            500131,
            format!(
                "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '{aud}' and the expected audience is '{client_id}' or one of the Application Uris of this application with App ID '{client_id}'({app_name}). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion."
            ),
        ));
    }
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let user_id = match (text("idtyp"), text("scp"), text("oid").and_then(|o| Uuid::parse_str(o).ok())) {
        (Some("user"), _, Some(oid)) | (None, Some(_), Some(oid)) => oid,
        _ => return Err(invalid_grant(50013, "Assertion failed validation: it is not a token of a signed-in user.")),
    };
    let user = match state.directory.get(tenant.id, user_id).await.map_err(internal)? {
        Some(u) if u.object_type == "user" && u.deleted_at.is_none() => u,
        _ => {
            return Err(invalid_grant(
                50034,
                format!("The user account {{EUII Hidden}} does not exist in the {} directory.", tenant.id),
            ));
        }
    };
    if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(delegated::user_disabled());
    }

    let amr: Vec<String> = claims
        .get("amr")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec!["pwd".into()]);
    let audience = delegated::ca_audience(state, &tenant, &scopes).await?;
    let auth_time = claims.get("iat").and_then(Value::as_i64).unwrap_or_else(cerulean_identity::unix_now);
    // The assertion's `iat` stands for the user's authentication: access tokens carry no
    // `auth_time`, and the authentication is at least as old as the token it produced, so a
    // sign-in frequency the assertion is already older than is certainly not met.
    let client = super::CaClient { ip, platform: req.platform, auth_time: Some(auth_time) };
    enforce_conditional_access(state, tenant.id, &user, &audience, &amr, client).await?;
    let scp = delegated::consented_scopes(state, &tenant, sp.id, client_id, &app_name, user.id, &scopes).await?;
    let signed_in = SignedIn {
        tenant: &tenant,
        app: &app,
        client_id: Uuid::parse_str(client_id).unwrap_or(app.application.id),
        client_auth,
        user: &user,
        auth_time,
        amr,
        family: None,
        requested: req.param("scope").unwrap_or_default().to_string(),
        sid: None,
    };
    delegated::respond(state, req, &signed_in, &scopes, scp).await
}
