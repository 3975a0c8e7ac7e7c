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
//!
//! A password change that Conditional Access asks for (user risk: `passwordChange` AND
//! `mfa`) comes after the second factor, as Entra's secure password change: the password alone
//! can neither change the password nor remediate the risk, and a risky user with no method
//! registered is blocked (AADSTS53004), never offered a registration. The same steps serve a
//! reused SSO session that Conditional Access asks more of ([`step_up`]) and a passwordless
//! passkey sign-in under a password-change requirement ([`password_change_after`]).

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
    /// The second factor comes before the password change: a change Conditional Access asks
    /// for (user risk) is secure only after MFA (Entra's `passwordChange` AND `mfa`), so
    /// whoever holds only the password can neither change it nor clear the risk.
    #[serde(default)]
    mfa_first: bool,
    /// The methods already used in this sign-in (`amr`); `pwd` when empty.
    #[serde(default)]
    amr: Vec<String>,
}

impl Pending {
    /// Whether the next step is the password change (otherwise the second factor).
    fn changing_now(&self) -> bool {
        self.change_password && !(self.mfa_first && self.mfa.is_some())
    }

    /// The `amr` of the methods used so far.
    fn methods(&self) -> Vec<String> {
        if self.amr.is_empty() { vec!["pwd".into()] } else { self.amr.clone() }
    }
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
    /// The target resource Conditional Access evaluates this sign-in for: the authorization
    /// request's resource, the device's request's, and directory access (Azure AD Graph) for an
    /// admin-consent sign-in.
    pub(crate) async fn ca_audience(&self) -> Result<String, Failure> {
        if let Some(a) = self.authz {
            return crate::authorize::ca_audience_of(self.state, self.tenant, a).await.map_err(Failure::from);
        }
        if let Some(device) = self.device {
            let request = crate::device::consent_request(self.state, self.tenant, device).await?;
            return crate::authorize::ca_audience_of(self.state, self.tenant, &request).await.map_err(Failure::from);
        }
        Ok(crate::resources::AAD_GRAPH_APP_ID.to_string())
    }

    /// Ends the sign-in of `user` with `e` on the error page, logged as a failed sign-in whose
    /// steps are those done before the refusal (`done`) and whose Conditional Access lines
    /// are those of the evaluation that refused it.
    pub(crate) async fn refuse(
        &self,
        user: &ObjectRecord,
        done: Vec<crate::signin_log::AuthStep>,
        e: OAuthError,
    ) -> Failure {
        let refusal = crate::signin_log::Refusal {
            headers: self.headers,
            ip: self.ip,
            tenant: self.tenant.id,
            client_id: self.app.application.doc.get("appId").and_then(Value::as_str).unwrap_or_default(),
            user,
            steps: done,
            session_auth_time: None,
            resource_hint: self.authz.map(crate::authorize::resource_hint),
            error: &e,
        };
        crate::signin_log::record_refusal(self.state, refusal).await;
        page_err(e)
    }

    fn action(&self) -> String {
        format!("/{}/oauth2/v2.0/login", self.tenant.id)
    }

    /// The page of the next step of `p`.
    async fn render(&self, p: &Pending, error: Option<&str>) -> Result<Response, Failure> {
        let (name, action, flow, csrf) = (&self.tenant.display_name, self.action(), &self.form.flow, &self.form.csrf);
        if p.changing_now() {
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

/// AADSTS53004: a risky user under a password-change policy who has no second factor to prove
/// the change with. Entra blocks such a user ("users not registered are blocked and require
/// administrator intervention"); enrolling a method now would let whoever holds the password
/// register their own.
pub(crate) fn risky_user_without_method() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_grant",
        53004,
        "User needs to complete the multi-factor authentication registration process before accessing this content. Your account is at risk and has no registered method to verify a password change: contact your administrator.",
    )
}

/// The second factor a user has registered: a passkey first (phishing-resistant), then the
/// authenticator app's code; `None` without either.
async fn own_method(cx_state: &PlatformState, tenant: Uuid, user: Uuid) -> Result<Option<&'static str>, Failure> {
    let dir = &cx_state.directory;
    if !dir.passkeys(tenant, user).await.map_err(internal)?.is_empty() {
        return Ok(Some("passkey"));
    }
    Ok(dir.has_totp(tenant, user).await.map_err(internal)?.then_some("totp"))
}

/// The sign-in log's steps of a sign-in refused right after a correct password.
fn password_done() -> Vec<crate::signin_log::AuthStep> {
    vec![crate::authorize::password_step(true)]
}

/// After a correct password: the next step's page, or the finished sign-in.
pub(crate) async fn after_password(
    cx: &StepContext<'_>,
    user: &ObjectRecord,
    must_change: bool,
) -> Result<Response, Failure> {
    use cerulean_directory::ca_engine::Requirement;
    let dir = &cx.state.directory;
    let own = own_method(cx.state, cx.tenant.id, user.id).await?;
    let mut mfa = match own {
        Some(m) => Some(m),
        None if cx.state.require_mfa => Some("enrol"),
        None => None,
    };
    let leaked = cerulean_identity::risk::is_leaked(&cx.state.risk, &cx.form.password);
    // The risk Conditional Access weighs is this attempt's, leaked password included.
    crate::attempt::set_leaked_password(leaked);
    // Conditional Access: a block or a device requirement ends the sign-in on the error page;
    // MFA adds the second-factor step (registering an app first when the user has none); a
    // password change (user risk) adds MFA and then the change-password step, which
    // remediates the risk.
    let audience = cx.ca_audience().await?;
    let mut must_change = must_change;
    let mut mfa_first = false;
    match crate::grants::conditional_access_requirement(
        cx.state,
        cx.tenant.id,
        user,
        &audience,
        crate::grants::CaClient { ip: cx.ip, platform: cx.platform, auth_time: None },
        "browser",
        false,
    )
    .await
    .map_err(page_err)?
    {
        Requirement::None => {}
        Requirement::Block { .. } => {
            return Err(cx.refuse(user, password_done(), crate::grants::blocked_by_policy()).await);
        }
        Requirement::Device { .. } => {
            return Err(cx.refuse(user, password_done(), crate::grants::device_required()).await);
        }
        // The user has just typed their password: the authentication is new.
        Requirement::FreshSignIn { .. } => {}
        Requirement::Mfa => mfa = mfa.or(Some(own.unwrap_or("enrol"))),
        Requirement::PasswordChange => {
            let Some(own) = own else {
                return Err(cx.refuse(user, password_done(), risky_user_without_method()).await);
            };
            must_change = true;
            mfa = Some(own);
            mfa_first = true;
        }
    }
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
    let p = Pending {
        user: user.id,
        change_password: must_change,
        mfa: mfa.map(str::to_string),
        secret,
        tries: 0,
        leaked,
        mfa_first,
        amr: vec!["pwd".into()],
    };
    cx.save(&p).await?;
    cx.render(&p, None).await
}

/// A secure password change after a passwordless sign-in (a passkey, which is itself
/// multi-factor): the change-password step, then the sign-in finishes with `amr`.
pub(crate) async fn password_change_after(
    cx: &StepContext<'_>,
    user: &ObjectRecord,
    amr: Vec<String>,
) -> Result<Response, Failure> {
    let p = Pending {
        user: user.id,
        change_password: true,
        mfa: None,
        secret: None,
        tries: 0,
        leaked: false,
        mfa_first: true,
        amr,
    };
    cx.save(&p).await?;
    cx.render(&p, None).await
}

/// Conditional Access asks more of a browser's SSO session than it holds (MFA it did not do, a
/// secure password change for user risk): a new sign-in flow for `a` whose first step is the
/// user's second factor (registering an app first for MFA when the user has none; a risky user
/// without a method is blocked), then the password change when asked for. The session's own
/// methods (`amr`) are kept; the finished sign-in starts a new session.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step_up(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    sp: &ObjectRecord,
    a: &Authz,
    user: &ObjectRecord,
    amr: &[String],
    change_password: bool,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let own = own_method(state, tenant.id, user.id).await?;
    let mfa = match (own, change_password) {
        (Some(m), _) => m,
        (None, true) => return Err(page_err(risky_user_without_method())),
        (None, false) => "enrol",
    };
    let dir = &state.directory;
    let secret = if mfa == "enrol" {
        let fresh = dir.new_totp_enrolment(&tenant.display_name, user).await.map_err(internal)?;
        Some(dir.seal_pending_secret(user.id, &fresh.secret).await.map_err(internal)?)
    } else {
        None
    };
    // The session's first factor; its earlier second factor is proven again.
    let base: Vec<String> = amr.iter().filter(|m| *m == "pwd" || *m == "fido").cloned().collect();
    let p = Pending {
        user: user.id,
        change_password,
        mfa: Some(mfa.to_string()),
        secret,
        tries: 0,
        leaked: false,
        mfa_first: true,
        amr: if base.is_empty() { vec!["pwd".into()] } else { base },
    };
    let flow = session::random_secret(32)?;
    let csrf = session::random_secret(32)?;
    let (created_at, expires_at) = session::expiry(crate::authorize::LOGIN_LIFETIME_SECS);
    let record = FlowRecord {
        kind: crate::authorize::LOGIN_KIND.into(),
        key: session::hash(&flow),
        lookup: None,
        data: json!({"authz": a, "csrf": session::hash(&csrf), "pending": p}),
        created_at,
        expires_at,
        used_at: None,
    };
    dir.put_flow(tenant.id, &record).await.map_err(internal)?;
    let form = SignInPost { flow, csrf: csrf.clone(), ..SignInPost::default() };
    let trace = crate::authorize::trace_of(headers);
    let cx = StepContext {
        state,
        tenant,
        app,
        sp,
        authz: Some(a),
        device: None,
        record: &record,
        flow_key: &record.key,
        form: &form,
        ip,
        platform: crate::signin_log::platform(&crate::signin_log::SignInAttempt::from_headers(
            headers,
            &tenant.id.to_string(),
            ip,
        )),
        trace: &trace,
        headers,
    };
    let mut res = cx.render(&p, None).await?;
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CSRF_COOKIE, &csrf, None));
    Ok(res)
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
    if p.changing_now() {
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
            return finish(cx, &user, p.methods(), false).await;
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
        let mut amr = p.methods();
        for m in [method, "mfa"] {
            if !amr.iter().any(|x| x == m) {
                amr.push(m.into());
            }
        }
        if p.change_password {
            // MFA done: now the (secure) password change.
            p.mfa = None;
            p.secret = None;
            p.tries = 0;
            p.amr = amr;
            cx.save(&p).await?;
            return cx.render(&p, None).await;
        }
        return finish(cx, &user, amr, p.leaked).await;
    }
    p.tries += 1;
    if p.tries >= MAX_CODE_TRIES {
        spend(cx.state, cx.tenant, cx.flow_key).await?;
        let e = OAuthError::new(
            400,
            "invalid_grant",
            500121,
            "Authentication failed during strong authentication request.",
        );
        // The sign-in ends here: logged as the failed second factor after the correct password
        // (each refused passkey was logged as it happened).
        if method == "otp" {
            use crate::signin_log::{AuthStep, METHOD_OATH, MFA};
            let steps = vec![crate::authorize::password_step(true), AuthStep::new(METHOD_OATH, MFA, false)];
            let upn = user.doc.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default();
            let client_id = cx.app.application.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
            crate::authorize::log_page_failure(
                cx.state,
                cx.headers,
                cx.ip,
                cx.tenant,
                upn,
                client_id,
                steps,
                e.code,
                &e.description,
            )
            .await;
        }
        return Err(page_err(e));
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
    let resource = cx.authz.map(crate::authorize::resource_hint);
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
