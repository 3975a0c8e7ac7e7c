//! Passkeys on the sign-in pages: the registration page of a signed-in user
//! (`/{tenant}/passkeys/register`), the passwordless sign-in offered on the sign-in form, and
//! the options both ceremonies hand to `navigator.credentials`. The relying party is the
//! server itself: its id is the host of the public URL, the expected origin the public URL's
//! origin. User verification is required in both ceremonies (a passkey alone is multifactor:
//! possession of the key plus the PIN or biometric that unlocks it). A user who already has a
//! method adds another passkey only after a recent multifactor step-up
//! ([`crate::passkey_step_up`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::passkeys::{AssertionInput, Ceremony, PasskeyRefusal, PasskeySignInRefused};
use cerulean_identity::webauthn::{self, WebAuthnError};
use cerulean_store::{ObjectRecord, TenantRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::PlatformState;
use crate::authorize::{Failure, page_err, tenant_for, trace_of};
use crate::error::OAuthError;
use crate::grants::delegated::{self, internal};
use crate::pages;
use crate::passkey_step_up;
use crate::session::{self, random_secret};
use crate::sign_in_steps::{StepContext, finish};
use crate::signin_log::AuthStep;

/// Milliseconds a ceremony may take in the browser (the challenge lives as long).
const TIMEOUT_MS: i64 = cerulean_directory::passkeys::CHALLENGE_SECS * 1000;

/// The expected origin and the relying party id, from the public URL.
pub(crate) fn relying_party(state: &PlatformState) -> (String, String) {
    let url = state.public_url.trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    (format!("{scheme}://{authority}"), host.to_string())
}

/// What the user is told when a ceremony is refused.
pub(crate) fn refusal_message(r: &PasskeyRefusal) -> String {
    match r {
        PasskeyRefusal::Challenge | PasskeyRefusal::ChallengeExpired => {
            "This passkey request has expired or was already used. Try again.".into()
        }
        PasskeyRefusal::UnknownCredential | PasskeyRefusal::UnknownUser | PasskeyRefusal::UserMismatch => {
            "We don't recognize this passkey. It may have been removed from your account.".into()
        }
        PasskeyRefusal::Invalid(WebAuthnError::UserVerification) => {
            "Your passkey didn't verify you (PIN or biometric). Try again and unlock it when asked.".into()
        }
        PasskeyRefusal::Invalid(e) => format!("We couldn't verify your passkey: {e}."),
        PasskeyRefusal::Locked => crate::authorize::LOCKED_MESSAGE.into(),
    }
}

/// The AADSTS number and description of a refused passkey sign-in, for the sign-in log: the
/// FIDO codes of Entra's error lookup (`login.microsoftonline.com/error`; of these only
/// 135010 is in the published AADSTS table), and smart lockout's 50053.
pub(crate) fn refusal_code(r: &PasskeyRefusal) -> (u32, &'static str) {
    match r {
        PasskeyRefusal::Challenge => (135018, "Invalid challenge received from fido assertion."),
        PasskeyRefusal::ChallengeExpired => (135019, "Expired Challenge received from Fido assertion."),
        PasskeyRefusal::UnknownUser => (500344, "User Account is not found for Fido Sign in flow."),
        PasskeyRefusal::UserMismatch => {
            (135012, "UserObjectId from the UserHandle does not match with UserPrincipal UserObjectId.")
        }
        PasskeyRefusal::UnknownCredential => (135010, "UserPrincipal doesn't have the key ID configured."),
        PasskeyRefusal::Invalid(e) => match e {
            WebAuthnError::Signature => (135000, "Fido signature verification failed."),
            WebAuthnError::UserPresence | WebAuthnError::UserVerification => {
                (135003, "Fido assertion verification failed. Invalid gesture provided.")
            }
            WebAuthnError::Type(_) => (135007, "Client data type is not valid."),
            WebAuthnError::Origin => (135008, "Relying Party Origin is not valid."),
            WebAuthnError::Challenge => (135018, "Invalid challenge received from fido assertion."),
            WebAuthnError::SignCount => (135017, "Unexpected Signature Counter received from authenticator."),
            _ => (135020, "Invalid Fido assertion."),
        },
        PasskeyRefusal::Locked => (50053, LOCKED_DESCRIPTION),
    }
}

/// The description of AADSTS50053 as the token endpoint words it (its first sentence).
const LOCKED_DESCRIPTION: &str =
    "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.";

/// Records a refused passkey sign-in in the sign-in log: the steps before it (the password,
/// for the second factor) and the failed passkey step, with the refusal's AADSTS code.
pub(crate) async fn log_refusal(cx: &StepContext<'_>, refused: &PasskeySignInRefused, mut steps: Vec<AuthStep>) {
    use crate::signin_log::{MFA, PRIMARY};
    let requirement = if steps.is_empty() { PRIMARY } else { MFA };
    steps.push(AuthStep::new(crate::signin_log::METHOD_PASSKEY, requirement, false));
    let (code, description) = refusal_code(&refused.reason);
    let upn = refused.user.as_ref().and_then(|u| u.doc.get("userPrincipalName")).and_then(Value::as_str);
    let client_id = cx.app.application.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
    let mut attempt = crate::signin_log::SignInAttempt::from_headers(cx.headers, &cx.tenant.id.to_string(), cx.ip);
    attempt.username = upn.map(str::to_string);
    attempt.client_id = Some(client_id.to_string());
    attempt.interactive = Some(true);
    attempt.steps = steps;
    // Entra's reasons for FIDO failures are whole messages ("... failed. Invalid gesture provided.").
    attempt.failure_reason = Some(description.to_string());
    let outcome = crate::signin_log::Outcome::Failure { error: "invalid_grant", code, description };
    crate::signin_log::record(cx.state, &attempt, outcome).await;
}

/// The sign-in log's steps of a passwordless sign-in refused after the passkey.
fn passkey_done() -> Vec<AuthStep> {
    vec![AuthStep::new(crate::signin_log::METHOD_PASSKEY, crate::signin_log::PRIMARY, true)]
}

/// The credential a page posts back (WebAuthn's JSON serialization, binary as base64url).
#[derive(Debug, Deserialize)]
struct CredentialJson {
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: ResponseJson,
}

#[derive(Debug, Deserialize)]
struct ResponseJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(default, rename = "attestationObject")]
    attestation_object: Option<String>,
    #[serde(default, rename = "authenticatorData")]
    authenticator_data: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default, rename = "userHandle")]
    user_handle: Option<String>,
}

fn parse_credential(text: &str) -> Option<CredentialJson> {
    if text.len() > 4 * webauthn::MAX_INPUT {
        return None;
    }
    serde_json::from_str::<CredentialJson>(text).ok().filter(|c| c.kind == "public-key")
}

/// The decoded assertion of a posted credential; `None` if it is not one.
pub(crate) fn assertion_input(text: &str) -> Option<AssertionInput> {
    let c = parse_credential(text)?;
    let r = c.response;
    Some(AssertionInput {
        credential_id: webauthn::from_b64url(&c.raw_id)?,
        client_data_json: webauthn::from_b64url(&r.client_data_json)?,
        authenticator_data: webauthn::from_b64url(r.authenticator_data.as_deref()?)?,
        signature: webauthn::from_b64url(r.signature.as_deref()?)?,
        user_handle: match r.user_handle.as_deref() {
            Some(h) if !h.is_empty() => Some(webauthn::from_b64url(h)?),
            _ => None,
        },
    })
}

/// `PublicKeyCredentialRequestOptions` for a sign-in form (`binding`: its flow key) with a
/// fresh challenge, and the nonce of the page's script. With `user` (the second factor), only
/// that user's passkeys are allowed; without, any discoverable passkey (username-less).
pub(crate) async fn sign_in_offer(
    state: &PlatformState,
    tenant: &TenantRecord,
    binding: &str,
    user: Option<&ObjectRecord>,
) -> Result<(String, String), OAuthError> {
    let dir = &state.directory;
    let challenge = dir.new_passkey_challenge(tenant.id, Ceremony::SignIn, binding).await.map_err(internal)?;
    let allow: Vec<Value> = match user {
        Some(u) => dir
            .passkeys(tenant.id, u.id)
            .await
            .map_err(internal)?
            .iter()
            .map(|p| json!({"type": "public-key", "id": p.credential_id}))
            .collect(),
        None => Vec::new(),
    };
    let (_, rp_id) = relying_party(state);
    let options = json!({"publicKey": {
        "challenge": challenge,
        "rpId": rp_id,
        "timeout": TIMEOUT_MS,
        "userVerification": "required",
        "allowCredentials": allow,
    }});
    Ok((options.to_string(), random_secret(16)?))
}

/// A passwordless sign-in posted from the sign-in form. `Ok(Err(message))` is a refused
/// passkey: the form is shown again with the message.
pub(crate) async fn passwordless(cx: &StepContext<'_>) -> Result<Result<Response, String>, Failure> {
    let Some(input) = assertion_input(&cx.form.credential) else {
        return Ok(Err("The passkey response is not valid. Try again.".into()));
    };
    let (origin, rp_id) = relying_party(cx.state);
    let verified = cx
        .state
        .directory
        .verify_passkey_sign_in(cx.tenant.id, None, &input, cx.flow_key, &origin, &rp_id, &cx.ip.to_string())
        .await
        .map_err(internal)?;
    let user = match verified {
        Ok(signed) => signed.user,
        Err(refused) => {
            log_refusal(cx, &refused, Vec::new()).await;
            return Ok(Err(refusal_message(&refused.reason)));
        }
    };
    if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(page_err(delegated::user_disabled()));
    }
    // Conditional Access still applies: a block or a device requirement ends the sign-in; an
    // MFA requirement is met by the passkey itself; a password change (user risk) follows the
    // passkey, which satisfies the MFA that must come with it (Entra's `passwordChange` AND
    // `mfa`), so the change is secure and remediates the risk.
    use cerulean_directory::ca_engine::Requirement;
    let audience = cx.ca_audience().await?;
    let amr = vec!["fido".to_string(), "mfa".to_string()];
    match crate::grants::conditional_access_requirement(
        cx.state,
        cx.tenant.id,
        &user,
        &audience,
        crate::grants::CaClient { ip: cx.ip, platform: cx.platform, auth_time: None },
        "browser",
        true,
    )
    .await
    .map_err(page_err)?
    {
        Requirement::Block { .. } => {
            return Err(cx.refuse(&user, passkey_done(), crate::grants::blocked_by_policy()).await);
        }
        Requirement::Device { .. } => {
            return Err(cx.refuse(&user, passkey_done(), crate::grants::device_required()).await);
        }
        Requirement::PasswordChange => {
            return crate::sign_in_steps::password_change_after(cx, &user, amr).await.map(Ok);
        }
        // The passkey ceremony has just happened: the authentication is new, whatever the
        // sign-in frequency.
        Requirement::None | Requirement::Mfa | Requirement::FreshSignIn { .. } => {}
    }
    finish(cx, &user, amr, false).await.map(Ok)
}

/// The registration options for `user`, with a fresh challenge bound to them.
async fn register_offer(
    state: &PlatformState,
    tenant: &TenantRecord,
    user: &ObjectRecord,
) -> Result<(String, String), OAuthError> {
    let dir = &state.directory;
    let challenge =
        dir.new_passkey_challenge(tenant.id, Ceremony::Register, &user.id.to_string()).await.map_err(internal)?;
    let exclude: Vec<Value> = dir
        .passkeys(tenant.id, user.id)
        .await
        .map_err(internal)?
        .iter()
        .map(|p| json!({"type": "public-key", "id": p.credential_id}))
        .collect();
    let (_, rp_id) = relying_party(state);
    let text = |k: &str| user.doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let params: Vec<Value> = webauthn::ALGORITHMS.iter().map(|alg| json!({"type": "public-key", "alg": alg})).collect();
    let options = json!({"publicKey": {
        "rp": {"id": rp_id, "name": tenant.display_name},
        // The user handle is the object id: a username-less sign-in finds the user from it.
        "user": {"id": webauthn::b64url(user.id.as_bytes()), "name": text("userPrincipalName"), "displayName": text("displayName")},
        "challenge": challenge,
        "pubKeyCredParams": params,
        "timeout": TIMEOUT_MS,
        "excludeCredentials": exclude,
        "authenticatorSelection": {"residentKey": "required", "requireResidentKey": true, "userVerification": "required"},
        "attestation": "direct",
    }});
    Ok((options.to_string(), random_secret(16)?))
}

/// The session of the registration page, or the error page (AADSTS50058: nobody is signed in
/// in this browser).
async fn signed_in(
    state: &PlatformState,
    segment: &str,
    headers: &HeaderMap,
) -> Result<(TenantRecord, session::Session), Response> {
    let trace = trace_of(headers);
    let tenant = tenant_for(state, segment, None, None)
        .await
        .map_err(|e| pages::error(segment, StatusCode::BAD_REQUEST, e.code, &e.description, &trace))?;
    match session::current(state, &tenant, headers).await {
        Ok(Some(s)) => Ok((tenant, s)),
        Ok(None) => Err(pages::error(
            &tenant.display_name,
            StatusCode::UNAUTHORIZED,
            50058,
            "A silent sign-in request was sent but no user is signed in. Sign in first, then add a passkey.",
            &trace,
        )),
        Err(e) => Err(pages::error(&tenant.display_name, e.status, e.code, &e.description, &trace)),
    }
}

/// `GET /{tenant}/passkeys/register`: the registration page, or the step-up page first when
/// the user already has a method and the session's MFA is not recent
/// ([`crate::passkey_step_up`]).
pub(crate) async fn register_page(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let trace = trace_of(&headers);
    let (tenant, s) = match signed_in(&state, &segment, &headers).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    match step_up_page(&state, &tenant, &s, None, StatusCode::OK).await {
        Ok(Some(page)) => page,
        Ok(None) => render_register(&state, &tenant, &s.user, None, None, &trace).await,
        Err(e) => pages::error(&tenant.display_name, e.status, e.code, &e.description, &trace),
    }
}

/// The step-up page when registering needs one; `None` when the session may register.
async fn step_up_page(
    state: &PlatformState,
    tenant: &TenantRecord,
    s: &session::Session,
    message: Option<&str>,
    status: StatusCode,
) -> Result<Option<Response>, OAuthError> {
    match passkey_step_up::needed(state, tenant, s).await? {
        Some(methods) => passkey_step_up::page(state, tenant, s, methods, message, status).await.map(Some),
        None => Ok(None),
    }
}

async fn render_register(
    state: &PlatformState,
    tenant: &TenantRecord,
    user: &ObjectRecord,
    done: Option<&str>,
    error: Option<&str>,
    trace: &str,
) -> Response {
    match register_offer(state, tenant, user).await {
        Ok(offer) => pages::passkey_register(
            &tenant.display_name,
            &format!("/{}/passkeys/register", tenant.id),
            &offer,
            done,
            error,
        ),
        Err(e) => pages::error(&tenant.display_name, e.status, e.code, &e.description, trace),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RegisterPost {
    /// `passkey` or `totp` for a step-up; absent for a registration.
    #[serde(default)]
    step: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    display_name: String,
    /// The authenticator app's code of a `totp` step-up.
    #[serde(default)]
    otc: String,
}

/// `POST /{tenant}/passkeys/register`: verifies the new credential and stores the passkey.
/// The challenge is bound to the signed-in user and the credential's client data to this
/// origin, so another site can neither post one nor make one.
pub(crate) async fn register_post(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let trace = trace_of(&headers);
    let (tenant, s) = match signed_in(&state, &segment, &headers).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let error_page = |e: OAuthError| pages::error(&tenant.display_name, e.status, e.code, &e.description, &trace);
    let form: Option<RegisterPost> = serde_urlencoded::from_bytes(&body).ok();
    if let Some(f) = form.as_ref().filter(|f| matches!(f.step.as_str(), "passkey" | "totp")) {
        // The client's address, as at sign-in: smart lockout counts a wrong step-up by location.
        let ip = crate::client_ip::client_ip(peer.map(|p| p.0.0), &headers, &state.trusted_proxies);
        return match passkey_step_up::verify(&state, &tenant, &s, ip, &f.step, &f.credential, &f.otc).await {
            Ok(Some(page)) => page,
            Ok(None) => render_register(&state, &tenant, &s.user, None, None, &trace).await,
            Err(e) => error_page(e),
        };
    }
    // Checked before the credential: without a recent MFA nothing posted is looked at.
    match step_up_page(&state, &tenant, &s, Some(passkey_step_up::REFUSED), StatusCode::FORBIDDEN).await {
        Ok(Some(page)) => return page,
        Ok(None) => {}
        Err(e) => return error_page(e),
    }
    let user = s.user;
    let parsed = form.as_ref().and_then(|f| {
        let c = parse_credential(&f.credential)?;
        let client_data = webauthn::from_b64url(&c.response.client_data_json)?;
        let attestation = webauthn::from_b64url(c.response.attestation_object.as_deref()?)?;
        Some((client_data, attestation, f.display_name.clone()))
    });
    let Some((client_data, attestation, name)) = parsed else {
        let message = "The passkey response is not valid. Try again.";
        return render_register(&state, &tenant, &user, None, Some(message), &trace).await;
    };
    let (origin, rp_id) = relying_party(&state);
    let caller = cerulean_directory::Caller {
        tenant: tenant.id,
        actor: cerulean_store::Actor {
            kind: "user".into(),
            id: Some(user.id),
            display_name: user.doc.get("displayName").and_then(Value::as_str).map(str::to_string),
        },
        correlation_id: None,
    };
    let outcome =
        state.directory.register_passkey(&caller, &user, &client_data, &attestation, &origin, &rp_id, &name).await;
    match outcome {
        Ok(Ok(id)) => render_register(&state, &tenant, &user, Some(&id.to_string()), None, &trace).await,
        Ok(Err(r)) => render_register(&state, &tenant, &user, None, Some(&refusal_message(&r)), &trace).await,
        Err(cerulean_directory::DirectoryError::BadRequest { message, .. }) => {
            render_register(&state, &tenant, &user, None, Some(&message), &trace).await
        }
        Err(e) => {
            let e = internal(e);
            pages::error(&tenant.display_name, e.status, e.code, &e.description, &trace)
        }
    }
}
