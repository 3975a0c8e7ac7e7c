//! `POST /invitations` ("Create invitation"): the directory creates or reuses the guest; the
//! answer's `inviteRedeemUrl` leads to the identity platform's redemption page
//! (`/{tenant}/invitations/redeem?ticket=...`), which this server renders itself.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

/// `POST /invitations`: 201 with the invitation.
pub(crate) async fn create(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let inv = s.directory.invite(&caller(&p, client_request_id(&h)), &body).await?;
    let redeem_url = match &inv.redeem_secret {
        Some(secret) => format!("{}/{}/invitations/redeem?ticket={secret}", s.public_url, p.tenant),
        // Accepted already: nothing to redeem, the guest goes straight to the application.
        None => inv.redirect_url.clone(),
    };
    let out = json!({
        "@odata.context": format!("{}/$metadata#invitations/$entity", s.base()),
        "id": inv.id.to_string(),
        "inviteRedeemUrl": redeem_url,
        "invitedUserDisplayName": inv.display_name,
        "invitedUserType": inv.user_type,
        "invitedUserEmailAddress": inv.email,
        "sendInvitationMessage": inv.send_message,
        "resetRedemption": inv.reset_redemption,
        "inviteRedirectUrl": inv.redirect_url,
        "status": inv.status,
        "invitedUserMessageInfo": inv.message_info,
        "invitedUser": {"id": inv.user.id.to_string()},
    });
    Ok(odata::json(StatusCode::CREATED, out))
}
