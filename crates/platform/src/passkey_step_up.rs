//! The multifactor step-up of the passkey registration page. A user who already has an
//! authentication method (an authenticator app or a passkey) may add a passkey only from a
//! session that did multifactor authentication within the last five minutes, as Entra
//! requires: "Before a user can register a passkey (FIDO2), they must complete multifactor
//! authentication (MFA) within the past five minutes"
//! (learn.microsoft.com/entra/identity/authentication/how-to-enable-passkey-fido2,
//! Requirements). Otherwise a stolen password would be enough to add an attacker's passkey,
//! which then passes every MFA challenge. A user without any method still registers the
//! first one after a password sign-in.
//!
//! A session that is not fresh enough gets the step-up page instead of the registration page
//! (and a registration posted anyway is refused with it): the user proves a method they have
//! (a passkey assertion, or a code from the authenticator app, both under smart lockout like
//! at sign-in), the session records the MFA time, and the registration page follows.

use axum::http::StatusCode;
use axum::response::Response;
use cerulean_directory::auth_methods::TotpCheck;
use cerulean_directory::passkeys::Ceremony;
use cerulean_store::TenantRecord;
use serde_json::{Value, json};

use crate::PlatformState;
use crate::error::OAuthError;
use crate::grants::delegated::internal;
use crate::pages;
use crate::session::{self, Session, random_secret};

/// How recent the session's multifactor authentication must be to add a passkey (Entra's
/// five minutes).
pub(crate) const MFA_FRESHNESS_SECS: i64 = 5 * 60;

/// What the refusal of a registration posted without a recent MFA says.
pub(crate) const REFUSED: &str = "You already have a way to verify your identity. To add a passkey, verify it's you \
with it first: adding a passkey requires multifactor authentication within the last 5 minutes.";

/// The methods a user can step up with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Methods {
    passkey: bool,
    totp: bool,
}

/// The methods to step up with when registering a passkey needs a step-up; `None` when the
/// session may register (the user has no method yet, or did MFA recently).
pub(crate) async fn needed(
    state: &PlatformState,
    tenant: &TenantRecord,
    s: &Session,
) -> Result<Option<Methods>, OAuthError> {
    let now = cerulean_identity::unix_now();
    if s.last_mfa().is_some_and(|at| now - at <= MFA_FRESHNESS_SECS) {
        return Ok(None);
    }
    let dir = &state.directory;
    let passkey = !dir.passkeys(tenant.id, s.user.id).await.map_err(internal)?.is_empty();
    let totp = dir.has_totp(tenant.id, s.user.id).await.map_err(internal)?;
    Ok((passkey || totp).then_some(Methods { passkey, totp }))
}

/// The binding of a step-up's passkey challenge: this session, so an assertion made for
/// another session or a sign-in form does not count here.
fn binding(s: &Session) -> String {
    format!("step-up:{}", s.key)
}

/// The step-up page: a passkey ceremony limited to the user's passkeys and/or the code form.
pub(crate) async fn page(
    state: &PlatformState,
    tenant: &TenantRecord,
    s: &Session,
    methods: Methods,
    message: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    let offer = if methods.passkey {
        let dir = &state.directory;
        let challenge = dir.new_passkey_challenge(tenant.id, Ceremony::SignIn, &binding(s)).await.map_err(internal)?;
        let allow: Vec<Value> = dir
            .passkeys(tenant.id, s.user.id)
            .await
            .map_err(internal)?
            .iter()
            .map(|p| json!({"type": "public-key", "id": p.credential_id}))
            .collect();
        let (_, rp_id) = crate::passkeys::relying_party(state);
        let options = json!({"publicKey": {
            "challenge": challenge,
            "rpId": rp_id,
            "timeout": cerulean_directory::passkeys::CHALLENGE_SECS * 1000,
            "userVerification": "required",
            "allowCredentials": allow,
        }});
        Some((options.to_string(), random_secret(16)?))
    } else {
        None
    };
    let action = format!("/{}/passkeys/register", tenant.id);
    Ok(pages::passkey_step_up(&tenant.display_name, &action, offer.as_ref(), methods.totp, message, status))
}

/// A step-up posted from the step-up page (`step` is `passkey` or `totp`): `Ok(None)` when it
/// verified (the session now has a recent MFA), else the page to show.
pub(crate) async fn verify(
    state: &PlatformState,
    tenant: &TenantRecord,
    s: &Session,
    ip: std::net::IpAddr,
    step: &str,
    credential: &str,
    code: &str,
) -> Result<Option<Response>, OAuthError> {
    let dir = &state.directory;
    let ip = ip.to_string();
    let (method, failure) = match step {
        "passkey" => match crate::passkeys::assertion_input(credential) {
            None => ("fido", Some("The passkey response is not valid. Try again.".to_string())),
            Some(input) => {
                let (origin, rp_id) = crate::passkeys::relying_party(state);
                let verified = dir
                    .verify_passkey_sign_in(tenant.id, Some(s.user.id), &input, &binding(s), &origin, &rp_id, &ip)
                    .await
                    .map_err(internal)?;
                match verified {
                    Ok(_) => ("fido", None),
                    Err(r) if r.reason == cerulean_directory::passkeys::PasskeyRefusal::Locked => {
                        return Err(crate::grants::password_locked());
                    }
                    Err(r) => ("fido", Some(crate::passkeys::refusal_message(&r.reason))),
                }
            }
        },
        _ => {
            let code: String = code.chars().filter(|c| !c.is_whitespace()).take(16).collect();
            match dir.verify_totp_sign_in(tenant.id, s.user.id, &code, &ip).await.map_err(internal)? {
                TotpCheck::Valid => ("otp", None),
                TotpCheck::Invalid => ("otp", Some("You've entered an incorrect code. Try again.".to_string())),
                TotpCheck::Locked => return Err(crate::grants::password_locked()),
            }
        }
    };
    match failure {
        None => {
            session::record_step_up(state, tenant.id, &s.key, method).await?;
            Ok(None)
        }
        Some(message) => {
            // A refusal is a new prompt, not a dead end: the page again, with a fresh challenge.
            let methods = needed(state, tenant, s).await?.unwrap_or(Methods { passkey: false, totp: false });
            page(state, tenant, s, methods, Some(&message), StatusCode::BAD_REQUEST).await.map(Some)
        }
    }
}
