//! One module per grant type. [`dispatch`] picks the grant from `grant_type`.

pub(crate) mod assertion;
mod authorization_code;
mod client_auth;
mod client_credentials;
pub(crate) mod delegated;
mod device_code;
mod federated;
mod on_behalf_of;
mod password;
mod refresh_token;

use axum::response::Response;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::token::TokenRequest;

pub(crate) use client_credentials::workload_context;
pub(crate) use password::locked as password_locked;
pub(crate) use password::{
    CaClient, blocked_by_policy, conditional_access_evaluation, conditional_access_requirement, device_required,
    mfa_required,
};

/// Dispatches a token request; `ip` is the client's address (smart lockout tells familiar
/// locations from others by it).
pub(crate) async fn dispatch(
    state: &PlatformState,
    req: TokenRequest,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    let Some(grant) = req.param("grant_type") else {
        return Err(OAuthError::missing("grant_type"));
    };
    match grant {
        "client_credentials" => client_credentials::grant(state, &req, ip).await,
        "password" => password::grant(state, &req, ip).await,
        "refresh_token" => refresh_token::grant(state, &req, ip).await,
        "authorization_code" => authorization_code::grant(state, &req).await,
        "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => device_code::grant(state, &req, ip).await,
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => on_behalf_of::grant(state, &req, ip).await,
        other => Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}
