//! The invitation redemption page (`inviteRedeemUrl`): `GET /{tenant}/invitations/redeem?ticket=`
//! shows the invitation and asks the guest for the password they will sign in with here (there
//! is no home tenant to send them to); `POST` redeems it and redirects to `inviteRedirectUrl`.
//!
//! CSRF as on the sign-in pages: a random token in the form, the same in a cookie, and its hash
//! in the redemption record, so a post must come from the browser the page was rendered for.
//! The ticket itself is single-use, bound to the guest's newest invitation, and expires (see
//! `cerulean_directory::invitations`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::invitations::INVITATION_FLOW;
use cerulean_store::TenantRecord;
use serde::Deserialize;
use serde_json::Value;

use crate::PlatformState;
use crate::pages::{self, esc};
use crate::session::{self, hash, random_secret, same_secret};

/// The redemption form's CSRF cookie.
const REDEEM_CSRF_COOKIE: &str = "cerulean_redeem_csrf";

#[derive(Debug, Deserialize)]
pub(crate) struct Ticket {
    #[serde(default)]
    ticket: String,
}

fn gone(tenant_name: &str) -> Response {
    pages::error(
        tenant_name,
        StatusCode::BAD_REQUEST,
        90023,
        "This invitation link is not valid: it was used already, has expired, or was replaced by a newer invitation.",
        "",
    )
}

async fn tenant(state: &PlatformState, segment: &str) -> Option<TenantRecord> {
    state.directory.resolve_tenant(segment).await.ok().flatten()
}

/// `GET /{tenant}/invitations/redeem?ticket=...`.
pub(crate) async fn redeem_page(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    Query(q): Query<Ticket>,
) -> Response {
    let Some(tenant) = tenant(&state, &segment).await else { return gone(&segment) };
    render(&state, &tenant, &q.ticket, None).await
}

/// The form, with a fresh CSRF token recorded on the ticket.
async fn render(state: &PlatformState, tenant: &TenantRecord, ticket: &str, error: Option<&str>) -> Response {
    let pending = match state.directory.pending_redemption(tenant.id, ticket).await {
        Ok(Some(p)) => p,
        _ => return gone(&tenant.display_name),
    };
    let Ok(csrf) = random_secret(32) else { return gone(&tenant.display_name) };
    let key = hash(ticket);
    let Ok(Some(record)) = state.directory.flow(tenant.id, INVITATION_FLOW, &key).await else {
        return gone(&tenant.display_name);
    };
    let mut data = record.data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.insert("csrf".into(), Value::String(hash(&csrf)));
    }
    if !matches!(state.directory.update_flow(tenant.id, INVITATION_FLOW, &key, &data).await, Ok(true)) {
        return gone(&tenant.display_name);
    }
    let email = pending.user.doc.get("mail").and_then(Value::as_str).unwrap_or_default();
    let alert = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "<h1>Review permissions</h1><p>{org} invited <strong>{email}</strong> to sign in to its applications. \
Accepting lets {org} see your name and email address.</p>\
<p>There is no home organization to sign you in here: choose the password you will sign in with.</p>{alert}\
<form method=\"post\" action=\"/{tenant}/invitations/redeem\">\
<input type=\"hidden\" name=\"ticket\" value=\"{ticket}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"new_password\">Password</label>\
<input type=\"password\" id=\"new_password\" name=\"new_password\" autocomplete=\"new-password\" required autofocus>\
<label for=\"confirm_password\">Confirm password</label>\
<input type=\"password\" id=\"confirm_password\" name=\"confirm_password\" autocomplete=\"new-password\" required>\
<button type=\"submit\">Accept</button></form>",
        org = esc(&tenant.display_name),
        email = esc(email),
        tenant = tenant.id,
        ticket = esc(ticket),
        csrf = esc(&csrf),
    );
    let mut res = pages::page(StatusCode::OK, "Accept the invitation", &tenant.display_name, &body);
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, REDEEM_CSRF_COOKIE, &csrf, None));
    res
}

/// `POST /{tenant}/invitations/redeem`: the guest accepted.
pub(crate) async fn redeem_post(
    State(state): State<PlatformState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(tenant) = tenant(&state, &segment).await else { return gone(&segment) };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or_default();
    let ticket = field("ticket");
    let csrf = field("csrf");
    let key = hash(ticket);
    let Ok(Some(record)) = state.directory.flow(tenant.id, INVITATION_FLOW, &key).await else {
        return gone(&tenant.display_name);
    };
    let cookie = session::cookie(&headers, REDEEM_CSRF_COOKIE).unwrap_or_default();
    let stored = record.data.get("csrf").and_then(Value::as_str).unwrap_or_default();
    if csrf.is_empty() || !same_secret(csrf, &cookie) || !same_secret(&hash(csrf), stored) {
        return render(&state, &tenant, ticket, Some("Your session timed out. Try again.")).await;
    }
    let password = field("new_password");
    if password != field("confirm_password") {
        return render(&state, &tenant, ticket, Some("The passwords don't match.")).await;
    }
    match state.directory.redeem_invitation(tenant.id, ticket, password).await {
        Ok(Some(redirect)) => {
            let mut res = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&redirect) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res.headers_mut().append(header::SET_COOKIE, session::set_cookie(&state, REDEEM_CSRF_COOKIE, "", Some(0)));
            res
        }
        Ok(None) => gone(&tenant.display_name),
        Err(e) if e.status() == 400 => render(&state, &tenant, ticket, Some(&e.to_string())).await,
        Err(_) => gone(&tenant.display_name),
    }
}
