//! Client authentication, shared by every grant: a certificate assertion
//! (`private_key_jwt`), an external issuer's token for a federated identity credential
//! (workload identity federation, reported as a certificate credential, `appidacr` 2, as
//! Entra does), a client secret (post or Basic), or none for a public client.
//!
//! Entra decides "public" for a token request without a redirect URI by the application's
//! `isFallbackPublicClient` ("Allow public client flows"); an application without it must
//! present a credential (AADSTS7000218).

use cerulean_directory::AppCredentials;
use cerulean_identity::ClientAuthMethod;
use cerulean_store::TenantRecord;
use serde_json::Value;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;

/// Authenticates the client of `req` as `app`. `allow_public` is false for grants only
/// confidential clients may use (client credentials).
pub(crate) async fn authenticate(
    state: &PlatformState,
    req: &TokenRequest,
    tenant: &TenantRecord,
    client_id: &str,
    app: &AppCredentials,
    allow_public: bool,
) -> Result<ClientAuthMethod, OAuthError> {
    if super::federated::is_federated(req, client_id) {
        let key_id = super::federated::verify(state, req, app).await?;
        proven("federatedIdentityCredential", key_id);
        return Ok(ClientAuthMethod::Certificate);
    }
    if req.param("client_assertion").is_some() || req.param("client_assertion_type").is_some() {
        let key_id = super::assertion::verify(state, req, tenant, client_id, app)?;
        proven("certificate", Some(key_id.to_string()));
        return Ok(ClientAuthMethod::Certificate);
    }
    if let Some(secret) = req.client_secret() {
        let key_id = super::client_credentials::check_secret(&app.secrets, secret, client_id)?;
        proven("clientSecret", Some(key_id.to_string()));
        return Ok(ClientAuthMethod::ClientSecret);
    }
    if allow_public && is_public(app) {
        return Ok(ClientAuthMethod::PublicClient);
    }
    Err(OAuthError::new(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ))
}

/// Tells the sign-in log which credential the client proved (Graph beta's
/// `clientCredentialType` and `servicePrincipalCredentialKeyId`).
fn proven(kind: &'static str, key_id: Option<String>) {
    crate::attempt::set_credential(crate::attempt::Credential { kind, key_id });
}

/// Whether the application allows public client flows (`isFallbackPublicClient`).
pub(crate) fn is_public(app: &AppCredentials) -> bool {
    app.application.doc.get("isFallbackPublicClient").and_then(Value::as_bool) == Some(true)
}
