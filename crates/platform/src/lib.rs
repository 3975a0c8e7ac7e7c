//! The Microsoft identity platform front-end: OpenID Connect discovery, JWKS and the token
//! endpoint (v2.0 with `scope=`, v1 with `resource=`). Each grant type lives in its own short
//! module under [`grants`] that refuses bad requests early and reads top to bottom. Azure
//! Resource Manager's tenant discovery (`/subscriptions`, `/tenants`), which `az login` needs,
//! is in `arm`.

mod admin_consent;
mod arm;
mod attempt;
mod authorize;
mod claims_policy;
mod client_ip;
mod consent;
mod device;
mod discovery;
mod error;
pub mod grants;
mod invitations;
mod managed_identity;
mod pages;
mod passkey_step_up;
mod passkeys;
mod request_object;
mod resources;
mod session;
mod sign_in_risk;
mod sign_in_steps;
mod signin_log;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use cerulean_directory::Directory;
use cerulean_identity::TokenIssuer;

pub use client_ip::{IpCidr, client_ip};
pub use error::OAuthError;

/// What the identity-platform handlers need.
#[derive(Clone)]
pub struct PlatformState {
    pub directory: Directory,
    pub tokens: Arc<TokenIssuer>,
    /// The externally visible base URL, without a trailing slash.
    pub public_url: Arc<str>,
    /// Proxies whose `X-Forwarded-For` names the client in the sign-in log (`--trusted-proxy`);
    /// from anyone else the header is ignored.
    pub trusted_proxies: Arc<[IpCidr]>,
    /// Where client addresses are (`--location-db`, `--location-ranges`): the sign-in log's
    /// `location`, and what risk detection and Conditional Access locations read.
    pub locator: Arc<cerulean_identity::location::Locator>,
    /// Risk detection's thresholds and lists (`--anonymizer-ips`, `--malicious-ips`).
    pub risk: Arc<cerulean_identity::risk::RiskConfig>,
    /// Whether every user must sign in with a second factor (`--require-mfa`): a user without
    /// a TOTP method enrols one at sign-in, and the password grant is refused (AADSTS50076).
    /// Users with a TOTP method always use it.
    pub require_mfa: bool,
    /// External issuers' keys for workload identity federation (`--federation-ca-file` adds
    /// a trusted CA for private issuers).
    pub federation: Arc<cerulean_identity::federation::IssuerKeys>,
    /// The managed identity host the IMDS endpoint answers for (`--imds-host`: its id or
    /// name, `tenant/host` with several tenants); `None` leaves IMDS without identities.
    pub imds_host: Option<Arc<str>>,
    /// Service principals' recent sign-ins, as workload risk detection compares them (see
    /// [`sign_in_risk::WorkloadHistories`]); shared by the clones.
    pub workload_history: Arc<sign_in_risk::WorkloadHistories>,
}

pub fn router(state: PlatformState) -> Router {
    Router::new()
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery::openid_configuration_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(discovery::openid_configuration_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys_v2))
        .route("/{tenant}/discovery/keys", get(discovery::keys_v1))
        .route("/discovery/keys", get(discovery::keys_all))
        .route("/discovery/v2.0/keys", get(discovery::keys_all))
        .route("/{tenant}/discovery/instance", get(discovery::instance_discovery))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token_v2).fallback(token::not_post))
        .route("/{tenant}/oauth2/token", post(token::token_v1).fallback(token::not_post))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize_v2))
        .route("/{tenant}/oauth2/authorize", get(authorize::authorize_v1))
        .route("/{tenant}/oauth2/v2.0/login", post(authorize::sign_in_post))
        .route("/{tenant}/oauth2/v2.0/consent", post(consent::consent_post))
        .route("/{tenant}/adminconsent", get(admin_consent::admin_consent))
        .route("/{tenant}/v2.0/adminconsent", get(admin_consent::admin_consent))
        .route("/{tenant}/oauth2/v2.0/logout", get(authorize::logout))
        .route("/{tenant}/oauth2/logout", get(authorize::logout))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device::devicecode_v2))
        .route("/{tenant}/oauth2/devicecode", post(device::devicecode_v1))
        .route("/{tenant}/oauth2/deviceauth", get(device::entry_page).post(device::entry_post))
        .route("/oidc/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/{tenant}/openid/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/common/userrealm/{username}", get(userinfo::user_realm))
        // Azure Resource Manager's tenant discovery, for the Azure CLI (`arm.rs`).
        .route("/subscriptions", get(arm::list_subscriptions))
        .route("/subscriptions/{subscription_id}", get(arm::get_subscription))
        .route("/tenants", get(arm::list_tenants))
        .route("/{tenant}/msi/{host}/token", get(managed_identity::app_service_token))
        .route("/metadata/identity/oauth2/token", get(managed_identity::imds_token))
        // msal-node (and so JavaScript's ManagedIdentityCredential) asks with a trailing slash.
        .route("/metadata/identity/oauth2/token/", get(managed_identity::imds_token))
        .route("/{tenant}/invitations/redeem", get(invitations::redeem_page).post(invitations::redeem_post))
        .route("/{tenant}/passkeys/register", get(passkeys::register_page).post(passkeys::register_post))
        .with_state(state)
}
