//! The steps of the sign-in page after a correct password: changing the password when
//! `forceChangePasswordNextSignIn` is set, then the second factor — the code of the user's
//! authenticator app (TOTP), or, when `--require-mfa` asks for one and the user has none,
//! registering an app — and finally the sign-in itself (SSO session, code or device approval).
//!
//! Between steps the pending state lives in the sign-in form's flow record (`pending`: the
//! user, what is left to do, the secret being registered, the wrong codes so far), bound to
//! the form's secret and CSRF token like the password step. Five wrong codes end the form; wrong
//! codes also count towards smart lockout. A user who passes the second factor gets
//! `amr: ["pwd", "otp", "mfa"]`. A user with a passkey is asked for it instead of a code
//! (`amr: ["pwd", "fido", "mfa"]`; see [`crate::passkeys`]).

use std::net::IpAddr;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use cerulean_directory::AppCredentials;
use cerulean_directory::auth_methods::TotpCheck;
use cerulean_store::{FlowRecord, ObjectRecord, TenantRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PlatformState;
use crate::authorize::{Authz, Failure, SignInPost, app_name, complete, error_to_app, flow_expired, page_err, spend};
use crate::error::OAuthError;
use crate::grants::delegated::{self, internal};
use crate::pages;
use crate::session::{self, CSRF_COOKIE};

/// Wrong codes one form accepts before the user must start again.
const MAX_CODE_TRIES: u32 = 5;

/// What is left to do after the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    user: Uuid,
    change_password: bool,
    /// `totp` (enter a code), `passkey` (use a passkey) or `enrol` (register an app first).
    mfa: Option<String>,
    /// The secret being registered, sealed (see `Directory::seal_pending_secret`).
    secret: Option<String>,
    #[serde(default)]
    tries: u32,
    /// The password typed is in the leaked-credentials list (the flag, never the password),
    /// for the sign-in log when the sign-in finishes; cleared when the user changes it.
    #[serde(default)]
    leaked: bool,
}

/// What the steps need from the sign-in request.
pub(crate) struct StepContext<'a> {
    pub state: &'a PlatformState,
    pub tenant: &'a TenantRecord,
    pub app: &'a AppCredentials,
    pub sp: &'a ObjectRecord,
    pub authz: Option<&'a Authz>,
    pub device: Option<&'a str>,
    pub record: &'a FlowRecord,
    pub flow_key: &'a str,
    pub form: &'a SignInPost,
    pub ip: IpAddr,
    /// The device platform of the browser's User-Agent (Conditional Access).
    pub platform: Option<&'static str>,
    pub trace: &'a str,
    /// The browser's request headers (User-Agent, `client-request-id`) for the sign-in log.
    pub headers: &'a HeaderMap,
}

impl StepContext<'_> {
    fn action(&self) -> String {
        format!("/{}/oauth2/v2.0/login", self.tenant.id)
    }

    /// The page of the next step of `p`.
    async fn render(&self, p: &Pending, error: Option<&str>) -> Result<Response, Failure> {
        let (name, action, flow, csrf) = (&self.tenant.display_name, self.action(), &self.form.flow, &self.form.csrf);
        if p.change_password {
            return Ok(pages::change_password(name, &action, flow, csrf, error));
        }
        match (p.mfa.as_deref(), &p.secret) {
            (Some("passkey"), _) => {
                let user = self.user(p).await?;
                let offer = crate::passkeys::sign_in_offer(self.state, self.tenant, self.flow_key, Some(&user)).await?;
                Ok(pages::passkey_step(name, &action, flow, csrf, &offer, error))
            }
            (Some("enrol"), Some(sealed)) => {
                let user = self.user(p).await?;
                let dir = &self.state.directory;
                let secret = dir.open_pending_secret(user.id, sealed).await.map_err(internal)?;
                let uri = dir.totp_uri(&self.tenant.display_name, &user, &secret);
                Ok(pages::totp_enrol(name, &action, flow, csrf, &secret, &uri, error))
            }
            _ => Ok(pages::totp(name, &action, flow, csrf, error)),
        }
    }

    async fn user(&self, p: &Pending) -> Result<ObjectRecord, Failure> {
        let user = self.state.directory.get(self.tenant.id, p.user).await.map_err(internal)?;
        match user {
            Some(u)
                if u.object_type == "user" && u.doc.get("accountEnabled").and_then(Value::as_bool) == Some(true) =>
            {
                Ok(u)
            }
            Some(_) => Err(page_err(delegated::user_disabled())),
            None => Err(page_err(flow_expired())),
        }
    }

    /// Stores `p` in the form's flow record.
    async fn save(&self, p: &Pending) -> Result<(), Failure> {
        let mut data = self.record.data.clone();
        if let Some(o) = data.as_object_mut() {
            o.insert("pending".into(), json!(p));
        }
        let updated = self
            .state
            .directory
            .update_flow(self.tenant.id, &self.record.kind, self.flow_key, &data)
            .await
            .map_err(internal)?;
        if updated { Ok(()) } else { Err(page_err(flow_expired())) }
    }
}

/// After a correct password: the next step's page, or the finished sign-in.
pub(crate) async fn after_password(
    cx: &StepContext<'_>,
    user: &ObjectRecord,
    must_change: bool,
) -> Result<Response, Failure> {
    use cerulean_directory::ca_engine::Requirement;
    let dir = &cx.state.directory;
    let has_totp = dir.has_totp(cx.tenant.id, user.id).await.map_err(internal)?;
    let has_passkey = !dir.passkeys(cx.tenant.id, user.id).await.map_err(internal)?.is_empty();
    // The second factor a user has: a passkey first (phishing-resistant), then the app's code.
    let own = if has_passkey {
        "passkey"
    } else if has_totp {
        "totp"
    } else {
        "enrol"
    };
    let mut mfa = if has_passkey || has_totp {
        Some(own)
    } else if cx.state.require_mfa {
        Some("enrol")
    } else {
        None
    };
    // Conditional Access: a block or a device requirement ends the sign-in on the error page;
    // MFA adds the TOTP step (registering an app first when the user has none); a password
    // change (user risk) adds the change-password step, which remediates the risk, and MFA.
    let client_id = cx.app.application.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
    let mut must_change = must_change;
    match crate::grants::conditional_access_requirement(
        cx.state,
        cx.tenant.id,
        user,
        client_id,
        crate::grants::CaClient { ip: cx.ip, platform: cx.platform, auth_time: None },
        "browser",
        false,
    )
    .await
    .map_err(page_err)?
    {
        Requirement::None => {}
        Requirement::Block { .. } => return Err(page_err(crate::grants::blocked_by_policy())),
        Requirement::Device { .. } => return Err(page_err(crate::grants::device_required())),
        // The user has just typed their password: the authentication is new.
        Requirement::FreshSignIn { .. } => {}
        Requirement::Mfa => mfa = mfa.or(Some(own)),
        Requirement::PasswordChange => {
            must_change = true;
            mfa = mfa.or(Some(own));
        }
    }
    let leaked = cerulean_identity::risk::is_leaked(&cx.state.risk, &cx.form.password);
    if !must_change && mfa.is_none() {
        return finish(cx, user, vec!["pwd".into()], leaked).await;
    }
    let secret = match mfa {
        Some("enrol") => {
            let fresh = dir.new_totp_enrolment(&cx.tenant.display_name, user).await.map_err(internal)?;
            Some(dir.seal_pending_secret(user.id, &fresh.secret).await.map_err(internal)?)
        }
        _ => None,
    };
    let p =
        Pending { user: user.id, change_password: must_change, mfa: mfa.map(str::to_string), secret, tries: 0, leaked };
    cx.save(&p).await?;
    cx.render(&p, None).await
}

/// A POST of a step after the password.
pub(crate) async fn continue_pending(cx: &StepContext<'_>) -> Result<Response, Failure> {
    let mut p: Pending = cx
        .record
        .data
        .get("pending")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(|| page_err(flow_expired()))?;
    let user = cx.user(&p).await?;
    let dir = &cx.state.directory;
    let form = cx.form;
    if p.change_password {
        if form.step != "change_password" {
            return cx.render(&p, None).await;
        }
        if form.new_password.is_empty() || form.new_password != form.confirm_password {
            return cx.render(&p, Some("The passwords don't match. Enter the new password again.")).await;
        }
        match dir.change_password_at_sign_in(cx.tenant.id, &user, &form.new_password).await {
            Ok(()) => {}
            Err(cerulean_directory::DirectoryError::BadRequest { message, .. }) => {
                return cx.render(&p, Some(&message)).await;
            }
            Err(e) => return Err(internal(e).into()),
        }
        p.change_password = false;
        // The leaked password is no longer the user's credential.
        p.leaked = false;
        if p.mfa.is_none() {
            return finish(cx, &user, vec!["pwd".into()], false).await;
        }
        cx.save(&p).await?;
        return cx.render(&p, None).await;
    }
    let code: String = form.otc.chars().filter(|c| !c.is_whitespace()).take(16).collect();
    let mut method = "otp";
    let mut wrong = "You've entered an incorrect code. Try again.".to_string();
    let ok = match (p.mfa.as_deref(), &p.secret) {
        (Some("passkey"), _) if form.step == "passkey" => {
            method = "fido";
            let Some(input) = crate::passkeys::assertion_input(&form.credential) else {
                return cx.render(&p, Some("The passkey response is not valid. Try again.")).await;
            };
            let (origin, rp_id) = crate::passkeys::relying_party(cx.state);
            match dir
                .verify_passkey_sign_in(
                    cx.tenant.id,
                    Some(user.id),
                    &input,
                    cx.flow_key,
                    &origin,
                    &rp_id,
                    &cx.ip.to_string(),
                )
                .await
                .map_err(internal)?
            {
                Ok(_) => true,
                Err(refused) => {
                    let password = vec![crate::authorize::password_step(true)];
                    crate::passkeys::log_refusal(cx, &refused, password).await;
                    if refused.reason == cerulean_directory::passkeys::PasskeyRefusal::Locked {
                        spend(cx.state, cx.tenant, cx.flow_key).await?;
                        return Err(page_err(crate::grants::password_locked()));
                    }
                    wrong = crate::passkeys::refusal_message(&refused.reason);
                    false
                }
            }
        }
        (Some("totp"), _) if form.step == "totp" => {
            match dir.verify_totp_sign_in(cx.tenant.id, user.id, &code, &cx.ip.to_string()).await.map_err(internal)? {
                TotpCheck::Valid => true,
                TotpCheck::Invalid => false,
                TotpCheck::Locked => {
                    spend(cx.state, cx.tenant, cx.flow_key).await?;
                    return Err(page_err(crate::grants::password_locked()));
                }
            }
        }
        (Some("enrol"), Some(sealed)) if form.step == "enrol" => {
            let secret = dir.open_pending_secret(user.id, sealed).await.map_err(internal)?;
            let caller = cerulean_directory::Caller {
                tenant: cx.tenant.id,
                actor: cerulean_store::Actor {
                    kind: "user".into(),
                    id: Some(user.id),
                    display_name: user.doc.get("displayName").and_then(Value::as_str).map(str::to_string),
                },
                correlation_id: None,
            };
            dir.complete_totp_enrolment(&caller, &user, &secret, &code).await.map_err(internal)?.is_some()
        }
        _ => return cx.render(&p, None).await,
    };
    if ok {
        return finish(cx, &user, vec!["pwd".into(), method.into(), "mfa".into()], p.leaked).await;
    }
    p.tries += 1;
    if p.tries >= MAX_CODE_TRIES {
        spend(cx.state, cx.tenant, cx.flow_key).await?;
        return Err(page_err(OAuthError::new(
            400,
            "invalid_grant",
            500121,
            "Authentication failed during strong authentication request.",
        )));
    }
    cx.save(&p).await?;
    cx.render(&p, Some(&wrong)).await
}

/// Every factor is done: the form is spent, the location becomes familiar, the sign-in is
/// logged (and assessed for risk) with the browser's address, the SSO session starts, and the
/// application (or the waiting device) gets its answer.
pub(crate) async fn finish(
    cx: &StepContext<'_>,
    user: &ObjectRecord,
    amr: Vec<String>,
    leaked: bool,
) -> Result<Response, Failure> {
    let (state, tenant) = (cx.state, cx.tenant);
    spend(state, tenant, cx.flow_key).await?;
    state.directory.remember_sign_in_location(tenant.id, user.id, &cx.ip.to_string()).await.map_err(internal)?;
    let client_id = cx.app.application.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
    let resource = cx.authz.map(|a| if a.v1 { a.resource.clone() } else { a.scope.clone() });
    crate::signin_log::record_page_sign_in(
        state, cx.headers, cx.ip, tenant.id, client_id, user.id, &amr, resource, leaked,
    )
    .await;
    let auth_time = cerulean_identity::unix_now();
    let sso = session::start(state, tenant, user.id, auth_time, &amr).await?;
    // The user is signed in (the session stands) even when the application then gets an
    // error, such as missing consent.
    let outcome = if let Some(device) = cx.device {
        // Consent first, as in the browser flow; the device is approved once it is given.
        let request = crate::device::consent_request(state, tenant, device).await?;
        match crate::consent::page_if_needed(
            state,
            tenant,
            cx.app,
            cx.sp,
            &request,
            user,
            auth_time,
            &amr,
            Some(device),
        )
        .await?
        {
            Some(page) => Ok(page),
            None => crate::device::decide(state, tenant, device, Some((user, auth_time, &amr)), false)
                .await
                .map(|()| pages::device_done(&tenant.display_name, &app_name(cx.app), true)),
        }
    } else if let Some(a) = cx.authz {
        complete(state, tenant, cx.app, cx.sp, a, user, auth_time, &amr, false).await
    } else if let Some(request) = cx.record.data.get("adminconsent") {
        crate::admin_consent::after_sign_in(state, tenant, cx.app, user, request).await.map_err(page_err)
    } else {
        Err(page_err(flow_expired()))
    };
    let mut res = match outcome {
        Ok(res) => res,
        Err(Failure::Redirect(e)) if cx.authz.is_some() => {
            error_to_app(cx.authz.ok_or_else(|| page_err(flow_expired()))?, &e, cx.trace)
        }
        Err(Failure::Redirect(e) | Failure::Page(_, e)) => {
            pages::error(&tenant.display_name, StatusCode::BAD_REQUEST, e.code, &e.description, cx.trace)
        }
    };
    res.headers_mut().append(header::SET_COOKIE, sso);
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CSRF_COOKIE, "", Some(0)));
    Ok(res)
}
