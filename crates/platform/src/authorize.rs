//! The authorize endpoint (`/{tenant}/oauth2/v2.0/authorize`, v1 `/oauth2/authorize`), the
//! sign-in form it renders and the form's POST, and the end-session endpoint.
//!
//! Order of checks, as Entra: the tenant, the client and the redirect URI are checked first and
//! their failures are shown on an error PAGE (a redirect to an unverified URI would make the
//! server an open redirector: AADSTS90002, AADSTS700016, AADSTS50011). Everything after that
//! is reported to the application by redirect (`error`, `error_description`, `state`) in the
//! requested `response_mode`.
//!
//! A client is public when the redirect URI matched is registered under `spa` or
//! `publicClient`: such a client cannot keep a secret, so it must use PKCE with `S256` (Entra
//! requires PKCE for SPAs; `plain` offers no protection once the request is observed). A
//! `web` redirect URI makes the client confidential: it authenticates at the token endpoint.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::{AppCredentials, PasswordSignIn};
use cerulean_store::{FlowRecord, FlowRedemption, ObjectRecord, TenantRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::grants::delegated::{self, internal};
use crate::pages;
use crate::session::{self, CSRF_COOKIE, hash, random_secret, same_secret};
use crate::token::{Endpoint, TokenRequest};

/// Authorization codes live ten minutes (Entra: "about 10 minutes").
pub(crate) const CODE_LIFETIME_SECS: i64 = 600;
/// A rendered sign-in form stays usable this long.
pub(crate) const LOGIN_LIFETIME_SECS: i64 = 900;
pub(crate) const CODE_KIND: &str = "code";
pub(crate) const LOGIN_KIND: &str = "login";

/// A validated authorization request, kept with the sign-in form while the user types.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Authz {
    pub v1: bool,
    pub client_id: String,
    pub redirect_uri: String,
    /// `query`, `fragment` or `form_post`.
    pub response_mode: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The request's scopes in v2 form (`{resource}/.default openid` for a v1 request).
    pub scope: String,
    /// The resource's identifier, for a v1 token request.
    pub resource: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// Whether the redirect URI is a `spa` or `publicClient` one (see the module docs).
    pub public: bool,
    pub client_info: bool,
    pub login_hint: Option<String>,
    /// `prompt=consent`: show the consent page even when consent exists.
    #[serde(default)]
    pub prompt_consent: bool,
    /// The `response_type` words (`code`, `id_token`, `token`), sorted; empty means `code`
    /// (requests stored before hybrid and implicit responses existed).
    #[serde(default)]
    pub response_type: Vec<String>,
}

impl Authz {
    fn wants(&self, word: &str) -> bool {
        if self.response_type.is_empty() { word == "code" } else { self.response_type.iter().any(|w| w == word) }
    }
}

/// Where the outcome of an authorization request goes.
pub(crate) enum Failure {
    /// Shown to the user: the redirect URI is not trusted (yet).
    Page(StatusCode, OAuthError),
    /// Sent to the application's redirect URI.
    Redirect(OAuthError),
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Failure {
        Failure::Redirect(e)
    }
}

pub(crate) fn page_err(e: OAuthError) -> Failure {
    let status = if e.status.is_server_error() { e.status } else { StatusCode::BAD_REQUEST };
    Failure::Page(status, e)
}

pub(crate) fn trace_of(headers: &HeaderMap) -> String {
    headers.get("request-id").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default()
}

fn timestamp() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    cerulean_store::clock::now().format(&fmt).unwrap_or_default()
}

/// The AADSTS description as Entra puts it in `error_description`.
fn description(e: &OAuthError, trace: &str) -> String {
    format!(
        "AADSTS{}: {} Trace ID: {trace} Correlation ID: {} Timestamp: {}",
        e.code,
        e.description,
        Uuid::new_v4(),
        timestamp()
    )
}

/// Sends `params` to the application: a 302 with a query or fragment, or a `form_post` page.
fn respond_to_app(redirect_uri: &str, mode: &str, params: &[(&str, String)]) -> Response {
    if mode == "form_post" {
        return pages::form_post(redirect_uri, params);
    }
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    let location = if mode == "fragment" {
        format!("{redirect_uri}#{encoded}")
    } else if redirect_uri.contains('?') {
        format!("{redirect_uri}&{encoded}")
    } else {
        format!("{redirect_uri}?{encoded}")
    };
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    res
}

pub(crate) fn error_to_app(a: &Authz, e: &OAuthError, trace: &str) -> Response {
    let mut params = vec![("error", e.error.to_string()), ("error_description", description(e, trace))];
    if let Some(s) = &a.state {
        params.push(("state", s.clone()));
    }
    respond_to_app(&a.redirect_uri, &a.response_mode, &params)
}

fn invalid_request(code: u32, message: impl Into<String>) -> OAuthError {
    OAuthError::new(400, "invalid_request", code, message)
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or_default()).unwrap_or_default()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// The redirect URIs an application registered, by platform.
fn registered(app: &AppCredentials, platform: &str) -> Vec<String> {
    app.application
        .doc
        .get(platform)
        .and_then(|p| p.get("redirectUris"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Whether `uri` is registered exactly; `Some(public)` when it is.
pub(crate) fn match_redirect(app: &AppCredentials, uri: &str) -> Option<bool> {
    if registered(app, "web").iter().any(|r| r == uri) {
        return Some(false);
    }
    if registered(app, "spa").iter().any(|r| r == uri) || registered(app, "publicClient").iter().any(|r| r == uri) {
        return Some(true);
    }
    None
}

/// The tenant of a browser request: the path's, or for `common`/`organizations` the domain of
/// the `login_hint`, else the `domain_hint`.
///
/// `domain_hint` (Entra: skip home-realm discovery and go to the sign-in of the organization
/// that owns the domain): on `common`/`organizations` a verified domain of a tenant here
/// leads to that tenant's sign-in page. On a tenant's own endpoint its own domains (and
/// `organizations`) change nothing; any other value (`consumers`, a domain no tenant here
/// owns) is ignored and the tenant's sign-in page is shown, as Entra does for a hint it
/// cannot federate to — Cerulean has no federated identity providers and no personal
/// accounts to send the user to.
pub(crate) async fn tenant_for(
    state: &PlatformState,
    segment: &str,
    hint: Option<&str>,
    domain_hint: Option<&str>,
) -> Result<TenantRecord, OAuthError> {
    let req = TokenRequest::for_tenant(segment);
    let domain = hint.and_then(|h| h.rsplit_once('@')).map(|(_, d)| d).or_else(|| {
        domain_hint.filter(|d| !["organizations", "consumers", "common"].iter().any(|x| x.eq_ignore_ascii_case(d)))
    });
    delegated::tenant_of(state, &req, domain).await
}

pub(crate) fn app_name(app: &AppCredentials) -> String {
    app.application.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string()
}

pub(crate) async fn authorize_v2(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let ip = crate::client_ip::client_ip(peer.map(|p| p.0.0), &headers, &state.trusted_proxies);
    let browser = browser_of(&headers, ip);
    crate::attempt::scope(
        browser,
        false,
        &crate::attempt::Handle::default(),
        authorize(state, tenant, query, headers, false, ip),
    )
    .await
}

pub(crate) async fn authorize_v1(
    State(state): State<PlatformState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let ip = crate::client_ip::client_ip(peer.map(|p| p.0.0), &headers, &state.trusted_proxies);
    let browser = browser_of(&headers, ip);
    crate::attempt::scope(
        browser,
        false,
        &crate::attempt::Handle::default(),
        authorize(state, tenant, query, headers, true, ip),
    )
    .await
}

/// The browser of a request's User-Agent, as the sign-in log shows it (`deviceDetail.browser`).
fn browser_of(headers: &HeaderMap, ip: std::net::IpAddr) -> String {
    crate::signin_log::device(&crate::signin_log::SignInAttempt::from_headers(headers, "", ip)).0
}

/// The target resource Conditional Access evaluates an authorization request for (see
/// `grants::delegated::ca_audience`).
pub(crate) async fn ca_audience_of(
    state: &PlatformState,
    tenant: &TenantRecord,
    a: &Authz,
) -> Result<String, OAuthError> {
    let req = TokenRequest {
        endpoint: if a.v1 { Endpoint::V1 } else { Endpoint::V2 },
        tenant: tenant.id.to_string(),
        params: vec![("scope".into(), a.scope.clone()), ("resource".into(), a.resource.clone())],
        basic: None,
        platform: None,
    };
    let scopes = delegated::parse_scopes(state, &req, None)?;
    delegated::ca_audience(state, tenant, &scopes).await
}

/// What Conditional Access requires before the SSO session `s` may sign the user in to the
/// application of `a` again: every enforced policy, evaluated with the session's methods
/// (`mfa` in its `amr`) and its authentication time (sign-in frequency), from this browser's
/// address and platform, for the request's resource.
async fn sso_requirement(
    state: &PlatformState,
    tenant: &TenantRecord,
    s: &session::Session,
    a: &Authz,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
) -> Result<cerulean_directory::ca_engine::Requirement, Failure> {
    let attempt = crate::signin_log::SignInAttempt::from_headers(headers, &tenant.id.to_string(), ip);
    let client =
        crate::grants::CaClient { ip, platform: crate::signin_log::platform(&attempt), auth_time: Some(s.auth_time) };
    let mfa = s.amr.iter().any(|m| m == "mfa");
    let audience = ca_audience_of(state, tenant, a).await?;
    crate::grants::conditional_access_requirement(state, tenant.id, &s.user, &audience, client, "browser", mfa)
        .await
        .map_err(page_err)
}

/// A Conditional Access refusal of an SSO sign-in: the error page, or for a silent request
/// (`prompt=none`) the application hears `interaction_required` with the AADSTS code.
fn refused(e: OAuthError, silent: bool) -> Failure {
    if silent { Failure::Redirect(OAuthError { error: "interaction_required", ..e }) } else { page_err(e) }
}

/// What an authorization request asked for, as the sign-in log reads it: the scopes (v2), or
/// the resource's default scope (v1), so a resource URI with a path is not read as a scope.
pub(crate) fn resource_hint(a: &Authz) -> String {
    if a.v1 && !a.resource.is_empty() { format!("{}/.default", a.resource) } else { a.scope.clone() }
}

/// Logs the refusal `f` of the SSO session `s` for the request `a` (one failed interactive
/// sign-in, its methods "Previously satisfied" by the session) and hands it back. A server
/// error is not a refusal and is not logged.
async fn sso_refused(
    state: &PlatformState,
    tenant: &TenantRecord,
    a: &Authz,
    s: &session::Session,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
    f: Failure,
) -> Failure {
    let e = f.oauth();
    if !e.status.is_server_error() {
        let refusal = crate::signin_log::Refusal {
            headers,
            ip,
            tenant: tenant.id,
            client_id: &a.client_id,
            user: &s.user,
            steps: Vec::new(),
            session_auth_time: Some(s.auth_time),
            resource_hint: Some(resource_hint(a)),
            error: e,
        };
        crate::signin_log::record_refusal(state, refusal).await;
    }
    f
}

/// The SSO session `s` signs the user in to the application of `a`, if Conditional Access
/// (`requirement`, see [`sso_requirement`]) lets it: a block or a device requirement refuses
/// (AADSTS53003, 53000); MFA or a secure password change steps up on the sign-in page (a
/// silent request hears `interaction_required`, AADSTS50076).
#[allow(clippy::too_many_arguments)]
async fn reuse_session(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    sp: &ObjectRecord,
    a: &Authz,
    s: &session::Session,
    requirement: cerulean_directory::ca_engine::Requirement,
    silent: bool,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    use cerulean_directory::ca_engine::Requirement;
    // Every refusal of the session is one failed sign-in in the log (`sso_refused`).
    let refusal = match requirement {
        Requirement::None | Requirement::FreshSignIn { .. } => {
            return complete_from_session(state, tenant, app, sp, a, s, silent, headers, ip).await;
        }
        Requirement::Block { .. } => refused(crate::grants::blocked_by_policy(), silent),
        Requirement::Device { .. } => refused(crate::grants::device_required(), silent),
        Requirement::Mfa | Requirement::PasswordChange if silent => {
            refused(crate::grants::mfa_required(&a.resource), true)
        }
        r => {
            let change = r == Requirement::PasswordChange;
            // The step-up page, or a refusal (a risky user without a method, AADSTS53004).
            match crate::sign_in_steps::step_up(state, tenant, app, sp, a, &s.user, &s.amr, change, ip, headers).await {
                Ok(page) => return Ok(page),
                Err(f) => f,
            }
        }
    };
    Err(sso_refused(state, tenant, a, s, headers, ip, refusal).await)
}

async fn authorize(
    state: PlatformState,
    segment: String,
    query: Option<String>,
    headers: HeaderMap,
    v1: bool,
    ip: std::net::IpAddr,
) -> Response {
    let trace = trace_of(&headers);
    let params = parse_query(query.as_deref());
    let mut shown_tenant = segment.clone();
    let mut authz_for_errors: Option<Authz> = None;
    let result = async {
        // `common`/`organizations` without a hint: the client's tenant serves the page, and the
        // typed user name picks the user's tenant at submit (home-realm discovery).
        let found = tenant_for(&state, &segment, param(&params, "login_hint"), param(&params, "domain_hint")).await;
        let (tenant, discover) =
            delegated::tenant_or_client_home(&state, found, param(&params, "client_id")).await.map_err(page_err)?;
        shown_tenant = tenant.display_name.clone();
        // A request object (RFC 9101) replaces the query parameters it carries.
        let expanded = crate::request_object::expand(&state, tenant.id, &params).await.map_err(page_err)?;
        let params: &[(String, String)] = expanded.as_deref().unwrap_or(&params);
        let (a, app, sp) = validate(&state, &tenant, params, v1, &mut authz_for_errors).await?;
        let prompt = param(params, "prompt").unwrap_or_default();
        let session = session::current(&state, &tenant, &headers).await?;
        let hint_matches = |s: &session::Session| match &a.login_hint {
            Some(h) => {
                s.user.doc.get("userPrincipalName").and_then(Value::as_str).is_some_and(|u| u.eq_ignore_ascii_case(h))
            }
            None => true,
        };
        // A session signed in without a second factor (before `--require-mfa` was turned on)
        // does not satisfy it: the user signs in again, or a silent request hears
        // interaction_required.
        let strong_enough = |s: &session::Session| !state.require_mfa || s.amr.iter().any(|m| m == "mfa");
        // Conditional Access's sign-in frequency: a session authenticated longer ago than an
        // enforced policy allows is not reused; the user signs in again.
        // Every other enforced policy applies to the session's reuse too (block, locations,
        // MFA, devices, risk): see `reuse_session`.
        let requirement = match &session {
            Some(s) => Some(sso_requirement(&state, &tenant, s, &a, ip, &headers).await?),
            None => None,
        };
        let stale = matches!(requirement, Some(cerulean_directory::ca_engine::Requirement::FreshSignIn { .. }));
        match session {
            // `prompt=select_account`: the account picker, even with a session (see `account_picker`).
            Some(s) if prompt == "select_account" && strong_enough(&s) && !stale => {
                account_picker(&state, &tenant, &app_name(&app), &a, &s).await
            }
            Some(s) if prompt != "login" && hint_matches(&s) && strong_enough(&s) && !stale => {
                let requirement = requirement.unwrap_or(cerulean_directory::ca_engine::Requirement::None);
                reuse_session(&state, &tenant, &app, &sp, &a, &s, requirement, prompt == "none", ip, &headers).await
            }
            // `prompt=none` errors, as Entra sends them to the application: someone signed in
            // who is not the hinted user, or nobody (login_required, AADSTS50058), a session
            // that needs a second factor first (interaction_required, AADSTS50076); missing
            // consent is `consent_required` (see `complete`).
            Some(s) if prompt == "none" && !hint_matches(&s) => Err(Failure::Redirect(OAuthError::new(
                400,
                "login_required",
                50058,
                "A silent sign-in request was sent but none of the currently signed in user(s) match the requested login hint.",
            ))),
            // Both refuse the session's user: logged as failed sign-ins (`sso_refused`).
            Some(s) if prompt == "none" && stale => {
                let e = OAuthError::new(
                    400,
                    "interaction_required",
                    70044,
                    "The session has expired or is invalid due to sign-in frequency checks by conditional access.",
                );
                Err(sso_refused(&state, &tenant, &a, &s, &headers, ip, Failure::Redirect(e)).await)
            }
            Some(s) if prompt == "none" => {
                let e = OAuthError::new(
                    400,
                    "interaction_required",
                    50076,
                    format!(
                        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{}'.",
                        a.resource
                    ),
                );
                Err(sso_refused(&state, &tenant, &a, &s, &headers, ip, Failure::Redirect(e)).await)
            }
            _ if prompt == "none" => Err(Failure::Redirect(OAuthError::new(
                400,
                "login_required",
                50058,
                "A silent sign-in request was sent but no user is signed in.",
            ))),
            _ => {
                let data = if discover { json!({"authz": a, "discover": true}) } else { json!({"authz": a}) };
                sign_in_form(&state, &tenant, &app_name(&app), &data, a.login_hint.as_deref()).await
            }
        }
    }
    .await;
    match result {
        Ok(res) => res,
        Err(Failure::Page(status, e)) => pages::error(&shown_tenant, status, e.code, &e.description, &trace),
        Err(Failure::Redirect(e)) => match &authz_for_errors {
            Some(a) => error_to_app(a, &e, &trace),
            None => pages::error(&shown_tenant, StatusCode::BAD_REQUEST, e.code, &e.description, &trace),
        },
    }
}

/// Checks the request (see the module docs for the order) and returns it validated. Once the
/// redirect URI is trusted, `trusted` holds what error redirects need.
async fn validate(
    state: &PlatformState,
    tenant: &TenantRecord,
    params: &[(String, String)],
    v1: bool,
    trusted: &mut Option<Authz>,
) -> Result<(Authz, AppCredentials, ObjectRecord), Failure> {
    let client_id = param(params, "client_id").ok_or_else(|| page_err(OAuthError::missing("client_id")))?;
    let (app, sp) = delegated::client_app(state, tenant, client_id).await.map_err(page_err)?;
    let redirect_uri = match param(params, "redirect_uri") {
        Some(r) => r.to_string(),
        None => {
            // Entra uses the registration's only redirect URI when the request names none.
            let all: Vec<String> = ["web", "spa", "publicClient"].iter().flat_map(|p| registered(&app, p)).collect();
            match all.as_slice() {
                [only] => only.clone(),
                _ => return Err(page_err(OAuthError::missing("redirect_uri"))),
            }
        }
    };
    let Some(public) = match_redirect(&app, &redirect_uri) else {
        return Err(page_err(OAuthError::new(
            400,
            "invalid_request",
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal."
            ),
        )));
    };
    // `response_type`: `code`, and where the application enables it (its
    // `web.implicitGrantSettings`) `id_token` and `token`, in any combination. Tokens in the
    // response make `fragment` the default mode (and `query` refused: a token in a query
    // string ends up in logs and Referer headers).
    let mut response_type: Vec<String> =
        param(params, "response_type").unwrap_or_default().split_whitespace().map(str::to_string).collect();
    response_type.sort();
    response_type.dedup();
    let front_channel = response_type.iter().any(|w| w == "id_token" || w == "token");
    let default_mode = if front_channel { "fragment" } else { "query" };
    let response_mode = param(params, "response_mode").unwrap_or(default_mode).to_string();
    let mut a = Authz {
        v1,
        client_id: client_id.to_string(),
        redirect_uri,
        response_mode: if ["query", "fragment", "form_post"].contains(&response_mode.as_str()) {
            response_mode.clone()
        } else {
            default_mode.into()
        },
        state: param(params, "state").map(str::to_string),
        nonce: param(params, "nonce").map(str::to_string),
        scope: String::new(),
        resource: String::new(),
        code_challenge: param(params, "code_challenge").map(str::to_string),
        code_challenge_method: None,
        public,
        client_info: param(params, "client_info") == Some("1"),
        login_hint: param(params, "login_hint").map(str::to_string),
        prompt_consent: param(params, "prompt") == Some("consent"),
        response_type: response_type.clone(),
    };
    if front_channel && a.response_mode == "query" {
        // Refused, and said so in the fragment.
        a.response_mode = "fragment".into();
        *trusted = Some(a.clone());
        return Err(invalid_request(
            70007,
            "The application requested an unsupported mode 'query' when requesting a token.",
        )
        .into());
    }
    *trusted = Some(a.clone());
    if a.response_mode != response_mode {
        return Err(invalid_request(
            900144,
            format!("The provided value for the input parameter 'response_mode' is not valid: '{response_mode}'."),
        )
        .into());
    }
    if response_type.is_empty() {
        return Err(
            invalid_request(900144, "The request body must contain the following parameter: 'response_type'.").into()
        );
    }
    let implicit = |setting: &str| {
        app.application
            .doc
            .get("web")
            .and_then(|w| w.get("implicitGrantSettings"))
            .and_then(|i| i.get(setting))
            .and_then(Value::as_bool)
            == Some(true)
    };
    for word in &response_type {
        let (enabled, code) = match word.as_str() {
            "code" => (true, 0),
            "id_token" => (implicit("enableIdTokenIssuance"), 700054),
            "token" => (implicit("enableAccessTokenIssuance"), 700051),
            _ => (false, 700054),
        };
        if !enabled {
            return Err(OAuthError::new(
                400,
                "unsupported_response_type",
                code,
                format!("response_type '{word}' is not enabled for the application."),
            )
            .into());
        }
    }
    // OpenID Connect Core 3.2.2.1 / 3.3.2.11: an ID token through the browser needs a nonce.
    if a.wants("id_token") && a.nonce.is_none() {
        return Err(invalid_request(900144, "The request body must contain the following parameter: 'nonce'.").into());
    }
    // Scopes: validated now (unknown resource, mixed resources) and kept for the code.
    let scopes = if v1 {
        let resource = param(params, "resource").unwrap_or("https://graph.microsoft.com");
        let req = TokenRequest {
            endpoint: Endpoint::V1,
            tenant: tenant.id.to_string(),
            params: vec![
                ("resource".into(), resource.to_string()),
                ("scope".into(), param(params, "scope").unwrap_or("openid").to_string()),
            ],
            basic: None,
            platform: None,
        };
        delegated::parse_scopes(state, &req, None)?
    } else {
        let scope = param(params, "scope").ok_or_else(|| OAuthError::missing("scope"))?;
        let req = TokenRequest {
            endpoint: Endpoint::V2,
            tenant: tenant.id.to_string(),
            params: vec![("scope".into(), scope.to_string())],
            basic: None,
            platform: None,
        };
        delegated::parse_scopes(state, &req, None)?
    };
    a.resource = scopes.resource.audience.clone();
    a.scope = if v1 {
        let mut s = vec![format!("{}/.default", scopes.resource.audience)];
        s.extend(scopes.oidc.iter().cloned());
        s.push("offline_access".into());
        s.dedup();
        s.join(" ")
    } else {
        param(params, "scope").unwrap_or_default().to_string()
    };
    // PKCE (RFC 7636); S256 for public clients (see the module docs).
    let method = param(params, "code_challenge_method");
    match (&a.code_challenge, method) {
        (None, Some(_)) => return Err(OAuthError::missing("code_challenge").into()),
        (None, None) if public && a.wants("code") => {
            return Err(invalid_request(
                9002325,
                "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            )
            .into());
        }
        (None, None) => {}
        (Some(challenge), m) => {
            let m = m.unwrap_or("plain");
            if m != "S256" && m != "plain" {
                return Err(invalid_request(
                    501491,
                    format!("Invalid code_challenge_method '{m}': only 'S256' and 'plain' are supported."),
                )
                .into());
            }
            if public && m != "S256" {
                return Err(invalid_request(
                    9002325,
                    "Proof Key for Code Exchange with code_challenge_method 'S256' is required for public clients and single-page applications.",
                )
                .into());
            }
            let ok_chars = challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !(43..=128).contains(&challenge.len()) || !ok_chars {
                return Err(invalid_request(501491, "Invalid size of Code_Challenge parameter.").into());
            }
            a.code_challenge_method = Some(m.to_string());
        }
    }
    *trusted = Some(a.clone());
    Ok((a, app, sp))
}

/// Renders the sign-in form for a pending flow (`data`: the authorization request, or the
/// device code being approved) and stores the form's server half.
pub(crate) async fn sign_in_form(
    state: &PlatformState,
    tenant: &TenantRecord,
    app_name: &str,
    data: &Value,
    username: Option<&str>,
) -> Result<Response, Failure> {
    let flow = random_secret(32)?;
    let csrf = random_secret(32)?;
    let (created_at, expires_at) = session::expiry(LOGIN_LIFETIME_SECS);
    let mut data = data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.insert("csrf".into(), json!(hash(&csrf)));
    }
    let record = FlowRecord {
        kind: LOGIN_KIND.into(),
        key: hash(&flow),
        lookup: None,
        data,
        created_at,
        expires_at,
        used_at: None,
    };
    state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
    let action = format!("/{}/oauth2/v2.0/login", tenant.id);
    // With a login hint naming a user, the passkey offer lists that user's passkeys.
    let hinted = match username.filter(|u| !u.is_empty()) {
        Some(u) => state.directory.find(tenant.id, "user", u).await.ok(),
        None => None,
    };
    let passkey = crate::passkeys::sign_in_offer(state, tenant, &record.key, hinted.as_ref()).await?;
    let mut res = pages::sign_in(&pages::SignInForm {
        tenant_name: &tenant.display_name,
        app_name,
        action: &action,
        flow: &flow,
        csrf: &csrf,
        username: username.unwrap_or_default(),
        error: None,
        can_decline: record.data.get("device").is_some(),
        passkey: Some(passkey),
    });
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CSRF_COOKIE, &csrf, None));
    Ok(res)
}

/// `prompt=select_account` with an SSO session: a page listing the session's account (a
/// browser holds one session per tenant) and "Use another account". The choice posts to the
/// sign-in endpoint with this flow (see `sign_in_post`): the account continues without a
/// password if the session still is that account's; "another account" is the sign-in form.
async fn account_picker(
    state: &PlatformState,
    tenant: &TenantRecord,
    app_name: &str,
    a: &Authz,
    s: &session::Session,
) -> Result<Response, Failure> {
    let flow = random_secret(32)?;
    let csrf = random_secret(32)?;
    let (created_at, expires_at) = session::expiry(LOGIN_LIFETIME_SECS);
    let record = FlowRecord {
        kind: LOGIN_KIND.into(),
        key: hash(&flow),
        lookup: None,
        data: json!({"authz": a, "select": s.user.id.to_string(), "csrf": hash(&csrf)}),
        created_at,
        expires_at,
        used_at: None,
    };
    state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
    let text = |k: &str| s.user.doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut res = pages::account_picker(&pages::AccountPicker {
        tenant_name: &tenant.display_name,
        app_name,
        action: &format!("/{}/oauth2/v2.0/login", tenant.id),
        flow: &flow,
        csrf: &csrf,
        display_name: &text("displayName"),
        user_principal_name: &text("userPrincipalName"),
    });
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, CSRF_COOKIE, &csrf, None));
    Ok(res)
}

/// Single sign-on: completes the request for the user of the browser's SSO session (no
/// credential typed) and logs it as Entra does, an interactive sign-in whose authentication
/// was "Previously satisfied" — assessed for risk like any interactive sign-in, since a
/// session cookie used from somewhere unlike the user is exactly what a stolen one looks like.
#[allow(clippy::too_many_arguments)]
async fn complete_from_session(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    sp: &ObjectRecord,
    a: &Authz,
    s: &session::Session,
    silent: bool,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
) -> Result<Response, Failure> {
    // The application's own refusal (consent missing, AADSTS65001; assignment required,
    // AADSTS50105) fails the sign-in too.
    let res = match complete(state, tenant, app, sp, a, &s.user, s.auth_time, &s.amr, silent).await {
        Ok(res) => res,
        Err(f) => return Err(sso_refused(state, tenant, a, s, headers, ip, f).await),
    };
    let resource = resource_hint(a);
    crate::signin_log::record_sso_sign_in(state, headers, ip, tenant.id, &a.client_id, s, Some(resource)).await;
    Ok(res)
}

/// Issues the code for a signed-in user and sends it to the application.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn complete(
    state: &PlatformState,
    tenant: &TenantRecord,
    app: &AppCredentials,
    sp: &ObjectRecord,
    a: &Authz,
    user: &ObjectRecord,
    auth_time: i64,
    amr: &[String],
    silent: bool,
) -> Result<Response, Failure> {
    // Consent: the consent page when consent is missing (or `prompt=consent`) and the user
    // may give it; otherwise the application hears AADSTS65001 (`consent_required` for a
    // silent request).
    if !silent
        && let Some(page) =
            crate::consent::page_if_needed(state, tenant, app, sp, a, user, auth_time, amr, None).await?
    {
        return Ok(page);
    }
    let endpoint = if a.v1 { Endpoint::V1 } else { Endpoint::V2 };
    let req = TokenRequest {
        endpoint,
        tenant: tenant.id.to_string(),
        params: vec![("scope".into(), a.scope.clone()), ("resource".into(), a.resource.clone())],
        basic: None,
        platform: None,
    };
    let scopes = delegated::parse_scopes(state, &req, None)?;
    // Assignment required (AADSTS50105) on the app signed in to or the API asked for: shown on
    // the error page, as Entra does, rather than sent to the application.
    delegated::assigned_roles(state, tenant, user, Some(sp)).await.map_err(page_err)?;
    let resource_sp = state
        .directory
        .token_service_principal(tenant.id, &scopes.resource.app_id)
        .await
        .map_err(|e| page_err(internal(e)))?;
    delegated::assigned_roles(state, tenant, user, resource_sp.as_deref()).await.map_err(page_err)?;
    let scp =
        match delegated::consented_scopes(state, tenant, sp.id, &a.client_id, &app_name(app), user.id, &scopes).await {
            Ok(scp) => scp,
            Err(mut e) => {
                if e.code == 65001 {
                    e.error = if silent { "consent_required" } else { "invalid_client" };
                }
                return Err(e.into());
            }
        };
    // The session this sign-in belongs to learns of the application (front-channel logout).
    let sid = session::sid(tenant.id, user.id, auth_time);
    session::remember_app(state, tenant.id, &sid, &a.client_id).await?;
    let mut params = Vec::new();
    let code = if a.wants("code") {
        let code = format!("1.{}.{}", tenant.id.simple(), random_secret(32)?);
        let (created_at, expires_at) = session::expiry(CODE_LIFETIME_SECS);
        let record = FlowRecord {
            kind: CODE_KIND.into(),
            key: hash(&code),
            lookup: None,
            data: json!({
                "authz": a,
                "user": user.id,
                "auth_time": auth_time,
                "amr": amr,
                "family": Uuid::new_v4(),
            }),
            created_at,
            expires_at,
            used_at: None,
        };
        state.directory.put_flow(tenant.id, &record).await.map_err(internal)?;
        params.push(("code", code.clone()));
        Some(code)
    } else {
        None
    };
    if a.wants("id_token") || a.wants("token") {
        // The hybrid and implicit flows: tokens straight to the browser, issued as the token
        // endpoint would for a public client (nothing authenticated the application).
        let mut params_with_nonce = req.params.clone();
        params_with_nonce.extend(a.nonce.iter().map(|n| ("nonce".to_string(), n.clone())));
        let token_req = TokenRequest {
            endpoint,
            tenant: req.tenant.clone(),
            params: params_with_nonce,
            basic: None,
            platform: None,
        };
        let signed_in = delegated::SignedIn {
            tenant,
            app,
            client_id: Uuid::parse_str(&a.client_id).unwrap_or(app.application.id),
            client_auth: cerulean_identity::ClientAuthMethod::PublicClient,
            user,
            auth_time,
            amr: amr.to_vec(),
            family: None,
            requested: a.scope.clone(),
            sid: Some(sid.clone()),
        };
        let front = delegated::FrontChannel { code, with_access_token: a.wants("token") };
        let (issued, resource) =
            delegated::issue_tokens(state, &token_req, &signed_in, &scopes, &scp, Some(&front)).await?;
        if a.wants("token") {
            params.push(("access_token", issued.access_token));
            params.push(("token_type", "Bearer".into()));
            params.push(("expires_in", issued.expires_in.to_string()));
            params.push(("scope", delegated::response_scope(&resource, &scopes, &scp)));
        }
        if let Some(id) = issued.id_token.filter(|_| a.wants("id_token")) {
            params.push(("id_token", id));
        }
    }
    if a.client_info {
        params.push(("client_info", cerulean_identity::user_tokens::client_info(user.id, tenant.id)));
    }
    if let Some(s) = &a.state {
        params.push(("state", s.clone()));
    }
    params.push(("session_state", Uuid::new_v4().to_string()));
    Ok(respond_to_app(&a.redirect_uri, &a.response_mode, &params))
}

/// The form fields of the sign-in POST.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInPost {
    #[serde(default)]
    pub flow: String,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub action: String,
    /// The step after the password (`change_password`, `totp`, `enrol`; see
    /// [`crate::sign_in_steps`]) and its fields.
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub confirm_password: String,
    #[serde(default)]
    pub otc: String,
    /// A passkey's answer (step `passkey`): the `PublicKeyCredential` as JSON, see
    /// [`crate::passkeys`].
    #[serde(default)]
    pub credential: String,
}

pub(crate) fn flow_expired() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_request",
        50089,
        "Authentication failed due to flow token expired. Sign in again from the application.",
    )
}

/// The password step of a sign-in, for the sign-in log.
pub(crate) fn password_step(succeeded: bool) -> crate::signin_log::AuthStep {
    use crate::signin_log::{AuthStep, METHOD_PASSWORD, PRIMARY};
    AuthStep::new(METHOD_PASSWORD, PRIMARY, succeeded)
}

/// Entra's sign-in page text for AADSTS50053 (smart lockout).
pub(crate) const LOCKED_MESSAGE: &str = "AADSTS50053: Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your admin.";

/// Records a refused step of the sign-in page in the sign-in log (the token endpoint records
/// its own attempts; a password refused on the page never reaches it).
/// `steps`: the authentication as far as it went (the failed step last).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn log_page_failure(
    state: &PlatformState,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
    tenant: &TenantRecord,
    username: &str,
    client_id: &str,
    steps: Vec<crate::signin_log::AuthStep>,
    code: u32,
    description: &str,
) {
    let mut attempt = crate::signin_log::SignInAttempt::from_headers(headers, &tenant.id.to_string(), ip);
    attempt.username = (!username.is_empty()).then(|| username.chars().take(256).collect());
    attempt.client_id = Some(client_id.to_string());
    attempt.interactive = Some(true);
    attempt.steps = steps;
    let outcome = crate::signin_log::Outcome::Failure { error: "invalid_grant", code, description };
    crate::signin_log::record(state, &attempt, outcome).await;
}

/// `POST /{tenant}/oauth2/v2.0/login`: the sign-in form.
pub(crate) async fn sign_in_post(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = crate::client_ip::client_ip(peer.map(|p| p.0.0), &headers, &state.trusted_proxies);
    let browser = browser_of(&headers, ip);
    let shared = crate::attempt::Handle::default();
    crate::attempt::scope(browser, false, &shared, sign_in_post_at(state, segment, ip, headers, body)).await
}

/// The sign-in form's POST at the tenant `segment` (boxed: home-realm discovery moves the
/// flow to the user's tenant and posts it there).
fn sign_in_post_at(
    state: PlatformState,
    segment: String,
    ip: std::net::IpAddr,
    headers: HeaderMap,
    body: Bytes,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
    Box::pin(sign_in_post_inner(state, segment, ip, headers, body))
}

async fn sign_in_post_inner(
    state: PlatformState,
    segment: String,
    ip: std::net::IpAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let trace = trace_of(&headers);
    let mut shown_tenant = segment.clone();
    let mut authz_for_errors: Option<Authz> = None;
    let result = async {
        let tenant = tenant_for(&state, &segment, None, None).await.map_err(page_err)?;
        shown_tenant = tenant.display_name.clone();
        let form: SignInPost = serde_urlencoded::from_bytes(&body)
            .map_err(|_| page_err(invalid_request(90014, "The sign-in form is not valid.")))?;
        let flow_key = hash(&form.flow);
        let record = state
            .directory
            .flow(tenant.id, LOGIN_KIND, &flow_key)
            .await
            .map_err(internal)?
            .filter(|r| r.used_at.is_none() && r.expires_at.as_str() > cerulean_directory::validate::now().as_str())
            .ok_or_else(|| page_err(flow_expired()))?;
        // CSRF: the form's token, the browser's cookie and the flow's hash must agree.
        let cookie = session::cookie(&headers, CSRF_COOKIE).unwrap_or_default();
        let stored = record.data.get("csrf").and_then(Value::as_str).unwrap_or_default();
        if form.csrf.is_empty() || !same_secret(&form.csrf, &cookie) || !same_secret(&hash(&form.csrf), stored) {
            return Err(page_err(flow_expired()));
        }
        let authz: Option<Authz> = record.data.get("authz").and_then(|v| serde_json::from_value(v.clone()).ok());
        authz_for_errors = authz.clone();
        let device = record.data.get("device").and_then(Value::as_str).map(str::to_string);
        let client_id = authz
            .as_ref()
            .map(|a| a.client_id.clone())
            .or_else(|| record.data.get("client_id").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        let (app, sp) = delegated::client_app(&state, &tenant, &client_id).await.map_err(page_err)?;
        if form.action == "decline"
            && let Some(device) = &device
        {
            spend(&state, &tenant, &flow_key).await?;
            crate::device::decide(&state, &tenant, device, None, false).await?;
            return Ok(pages::device_done(&tenant.display_name, &app_name(&app), false));
        }
        let cx = crate::sign_in_steps::StepContext {
            state: &state,
            tenant: &tenant,
            app: &app,
            sp: &sp,
            authz: authz.as_ref(),
            device: device.as_deref(),
            record: &record,
            flow_key: &flow_key,
            form: &form,
            ip,
            platform: crate::signin_log::platform(&crate::signin_log::SignInAttempt::from_headers(&headers, &segment, ip)),
            trace: &trace,
            headers: &headers,
        };
        if record.data.get("pending").is_some() {
            return crate::sign_in_steps::continue_pending(&cx).await;
        }
        // The account picker's choice (`prompt=select_account`, see `account_picker`): the
        // listed account continues if the browser's session is still that account's (and
        // strong enough); otherwise, or for "Use another account", the sign-in form.
        if let (Some(chosen), Some(a)) = (record.data.get("select").and_then(Value::as_str), authz.as_ref()) {
            spend(&state, &tenant, &flow_key).await?;
            if form.action == "continue"
                && let Some(s) = session::current(&state, &tenant, &headers).await?
                && s.user.id.to_string() == chosen
                && (!state.require_mfa || s.amr.iter().any(|m| m == "mfa"))
            {
                let requirement = sso_requirement(&state, &tenant, &s, a, ip, &headers).await?;
                if !matches!(requirement, cerulean_directory::ca_engine::Requirement::FreshSignIn { .. }) {
                    return reuse_session(&state, &tenant, &app, &sp, a, &s, requirement, false, ip, &headers).await;
                }
            }
            return sign_in_form(&state, &tenant, &app_name(&app), &json!({"authz": a}), None).await;
        }
        let rerender = async |message: &str| -> Result<Response, Failure> {
            let passkey = crate::passkeys::sign_in_offer(&state, &tenant, &flow_key, None).await?;
            let mut res = pages::sign_in(&pages::SignInForm {
                tenant_name: &tenant.display_name,
                app_name: &app_name(&app),
                action: &format!("/{}/oauth2/v2.0/login", tenant.id),
                flow: &form.flow,
                csrf: &form.csrf,
                username: &form.username,
                error: Some(message),
                can_decline: device.is_some(),
                passkey: Some(passkey),
            });
            *res.status_mut() = StatusCode::OK;
            Ok(res)
        };
        // A passkey instead of the password (passwordless, username-less).
        if form.step == "passkey" {
            return match crate::passkeys::passwordless(&cx).await? {
                Ok(res) => Ok(res),
                Err(message) => rerender(&message).await,
            };
        }
        if form.username.is_empty() || form.password.is_empty() {
            return rerender("Enter your user name and password.").await;
        }
        // Home-realm discovery (`common`/`organizations` without a hint): the verified domain
        // of the typed name picks the tenant. Another tenant here takes the flow over and signs
        // the user in (the client must be registered there too, AADSTS700016 otherwise); a
        // domain no tenant owns is Entra's AADSTS50034 on the page.
        if record.data.get("discover").and_then(Value::as_bool) == Some(true) {
            let home = match form.username.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty()) {
                Some(domain) => state.directory.resolve_tenant(domain).await.map_err(internal)?,
                None => None,
            };
            let Some(home) = home else {
                return rerender(
                    "AADSTS50034: This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.",
                ).await;
            };
            if home.id != tenant.id {
                let (home_app, _) = delegated::client_app(&state, &home, &client_id).await.map_err(page_err)?;
                if let Some(a) = &authz
                    && match_redirect(&home_app, &a.redirect_uri).is_none()
                {
                    return Err(page_err(invalid_request(
                        50011,
                        format!(
                            "The redirect URI '{}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.",
                            a.redirect_uri
                        ),
                    )));
                }
                let mut moved = record.clone();
                if let Some(data) = moved.data.as_object_mut() {
                    data.remove("discover");
                }
                state.directory.put_flow(home.id, &moved).await.map_err(internal)?;
                spend(&state, &tenant, &flow_key).await?;
                return Ok(sign_in_post_at(state.clone(), home.id.to_string(), ip, headers.clone(), body.clone()).await);
            }
        }
        let signed = state
            .directory
            .sign_in_with_password(tenant.id, &form.username, &form.password, &ip.to_string())
            .await
            .map_err(internal)?;
        let (user, must_change) = match signed {
            PasswordSignIn::UnknownUser => {
                // Logged with the name as typed and no user, as Entra logs an unknown account.
                let description = "The user account does not exist in the directory.";
                log_page_failure(&state, &headers, ip, &tenant, &form.username, &client_id, Vec::new(), 50034, description)
                    .await;
                return rerender(
                    "AADSTS50034: This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.",
                ).await;
            }
            PasswordSignIn::BadPassword => {
                let description = "Error validating credentials due to invalid username or password.";
                let steps = vec![password_step(false)];
                log_page_failure(&state, &headers, ip, &tenant, &form.username, &client_id, steps, 50126, description)
                    .await;
                return rerender("AADSTS50126: Your account or password is incorrect.").await;
            }
            PasswordSignIn::Locked => {
                let e = crate::grants::password_locked();
                let steps = vec![password_step(false)];
                log_page_failure(
                    &state,
                    &headers,
                    ip,
                    &tenant,
                    &form.username,
                    &client_id,
                    steps,
                    e.code,
                    &e.description,
                )
                .await;
                return rerender(LOCKED_MESSAGE).await;
            }
            PasswordSignIn::Success { user, must_change_password } => (user, must_change_password),
        };
        if user.doc.get("accountEnabled").and_then(Value::as_bool) != Some(true) {
            let e = delegated::user_disabled();
            let steps = vec![password_step(true)];
            log_page_failure(&state, &headers, ip, &tenant, &form.username, &client_id, steps, e.code, &e.description)
                .await;
            return Err(page_err(e));
        }
        // Then the password change and the second factor, when due (see `sign_in_steps`).
        crate::sign_in_steps::after_password(&cx, &user, must_change).await
    }
    .await;
    match result {
        Ok(res) => res,
        Err(Failure::Page(status, e)) => pages::error(&shown_tenant, status, e.code, &e.description, &trace),
        Err(Failure::Redirect(e)) => match &authz_for_errors {
            Some(a) => error_to_app(a, &e, &trace),
            None => pages::error(&shown_tenant, StatusCode::BAD_REQUEST, e.code, &e.description, &trace),
        },
    }
}

/// Marks a sign-in form used, so a replayed POST signs nobody in.
pub(crate) async fn spend(state: &PlatformState, tenant: &TenantRecord, key: &str) -> Result<(), Failure> {
    match state.directory.redeem_flow(tenant.id, LOGIN_KIND, key).await.map_err(internal)? {
        FlowRedemption::Redeemed(_) => Ok(()),
        _ => Err(page_err(flow_expired())),
    }
}

/// `GET /{tenant}/oauth2/v2.0/logout` (and v1): ends the SSO session, then returns to
/// `post_logout_redirect_uri` only when it is a redirect URI registered on the application
/// (`client_id`, or the audience of `id_token_hint`); anything else would be an open redirect.
///
/// Front-channel logout (OpenID Connect Front-Channel Logout 1.0, as Entra does it): every
/// application the session signed into that registers a `web.logoutUrl` is loaded in a hidden
/// iframe with `sid` and `iss`, so it can end its own session; the page then continues to the
/// redirect URI (or says the user signed out). Without such applications the redirect is a
/// plain 302.
pub(crate) async fn logout(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let trace = trace_of(&headers);
    let params = parse_query(query.as_deref());
    let tenant = match tenant_for(&state, &segment, None, None).await {
        Ok(t) => t,
        Err(e) => return pages::error(&segment, StatusCode::BAD_REQUEST, e.code, &e.description, &trace),
    };
    let signed_in = match session::current(&state, &tenant, &headers).await {
        Ok(s) => s,
        Err(e) => return pages::error(&tenant.display_name, e.status, e.code, &e.description, &trace),
    };
    let clear = match session::end(&state, &tenant, &headers).await {
        Ok(c) => c,
        Err(e) => return pages::error(&tenant.display_name, e.status, e.code, &e.description, &trace),
    };
    let client = param(&params, "client_id").map(str::to_string).or_else(|| {
        param(&params, "id_token_hint").and_then(|t| {
            use base64::Engine;
            let payload = t.split('.').nth(1)?;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
            let claims: Value = serde_json::from_slice(&bytes).ok()?;
            claims.get("aud").and_then(Value::as_str).map(str::to_string)
        })
    });
    let target = match (param(&params, "post_logout_redirect_uri"), client) {
        (Some(uri), Some(client)) => match state.directory.app_credentials(tenant.id, &client).await {
            Ok(Some(app)) if match_redirect(&app, uri).is_some() => Some(uri.to_string()),
            _ => None,
        },
        _ => None,
    };
    let target = target.map(|uri| match param(&params, "state") {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let q = serde_urlencoded::to_string([("state", s)]).unwrap_or_default();
            format!("{uri}{sep}{q}")
        }
        None => uri,
    });
    let frames = match &signed_in {
        Some(s) => front_channel_frames(&state, &tenant, s).await,
        None => Vec::new(),
    };
    let mut res = match target {
        Some(uri) if frames.is_empty() => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&uri) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        target => {
            let mut body = String::from(
                "<h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>",
            );
            for src in &frames {
                body.push_str(&format!(
                    "<iframe class=\"frontchannel-logout\" src=\"{}\" hidden width=\"0\" height=\"0\"></iframe>",
                    pages::esc(src)
                ));
            }
            if let Some(uri) = target {
                // Continue once the frames had their chance to load (and by hand, without script).
                body.push_str(&format!(
                    "<meta http-equiv=\"refresh\" content=\"2;url={0}\"><p><a id=\"continue\" href=\"{0}\">Continue</a></p>",
                    pages::esc(&uri)
                ));
            }
            pages::page(StatusCode::OK, "Signed out", &tenant.display_name, &body)
        }
    };
    res.headers_mut().append(header::SET_COOKIE, clear);
    res
}

/// The front-channel logout URLs of the applications `session` signed into: each one's
/// `web.logoutUrl` with the session's `sid` and the tenant's `iss`. Applications deleted since,
/// or without a logout URL, are skipped.
async fn front_channel_frames(state: &PlatformState, tenant: &TenantRecord, s: &session::Session) -> Vec<String> {
    let sid = session::sid(tenant.id, s.user.id, s.auth_time);
    let iss = format!("{}/{}/v2.0", state.public_url, tenant.id);
    let mut frames = Vec::new();
    for client in &s.apps {
        let Ok(Some(app)) = state.directory.app_credentials(tenant.id, client).await else {
            continue;
        };
        let Some(url) = app
            .application
            .doc
            .get("web")
            .and_then(|w| w.get("logoutUrl"))
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        else {
            continue;
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let q = serde_urlencoded::to_string([("sid", sid.as_str()), ("iss", iss.as_str())]).unwrap_or_default();
        frames.push(format!("{url}{sep}{q}"));
    }
    frames
}

/// A helper the grants share: the `authz` of a code record.
pub(crate) fn authz_of(record: &FlowRecord) -> Option<Authz> {
    record.data.get("authz").and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// The tenant display name of an error page, for modules that render one.
pub(crate) fn render_failure(tenant_name: &str, e: &OAuthError, trace: &str) -> Response {
    let status = if e.status.is_server_error() { e.status } else { StatusCode::BAD_REQUEST };
    pages::error(tenant_name, status, e.code, &e.description, trace)
}

pub(crate) use Failure as AuthorizeFailure;

impl Failure {
    pub(crate) fn into_oauth(self) -> OAuthError {
        match self {
            Failure::Page(_, e) | Failure::Redirect(e) => e,
        }
    }

    /// The error, wherever it goes.
    pub(crate) fn oauth(&self) -> &OAuthError {
        match self {
            Failure::Page(_, e) | Failure::Redirect(e) => e,
        }
    }
}
