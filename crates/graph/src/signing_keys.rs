//! The administration routes for token signing keys (Cerulean's own, not part of Graph), under
//! `/cerulean/admin/signingKeys`. They drive the rotation steps of
//! [`cerulean_identity::rotation`] for the caller's tenant, as `cerulean keys` does from the
//! command line.
//!
//! | route | step |
//! |---|---|
//! | `GET /cerulean/admin/signingKeys` | list the tenant's keys (no key material) |
//! | `POST /cerulean/admin/signingKeys/rotate` | add a `next` key: published, not signing |
//! | `POST /cerulean/admin/signingKeys/{kid}/activate` | the `next` key signs; the old one retires |
//! | `POST /cerulean/admin/signingKeys/prune` | delete retired keys whose tokens have expired |
//!
//! Authorization: a Graph token of the tenant, either delegated for a user holding the Global
//! Administrator role (`wids`), or app-only with the `Directory.ReadWrite.All` application
//! permission. Anything else is 403 `Authorization_RequestDenied`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cerulean_identity::RotationError;
use serde_json::json;

use crate::GraphState;
use crate::auth::{Principal, authenticate};
use crate::error::GraphError;

/// The role template id of Global Administrator.
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// The application permission that allows key management to an app.
const APP_PERMISSION: &str = "Directory.ReadWrite.All";

/// The state of the admin routes: Graph's (for authentication) and the least time a `next`
/// key must have been published before it may sign.
#[derive(Clone)]
pub struct AdminState {
    pub graph: GraphState,
    pub publication_delay_secs: i64,
}

/// The routes, to be merged at the root of the server.
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/cerulean/admin/signingKeys", get(list))
        .route("/cerulean/admin/signingKeys/rotate", post(rotate))
        .route("/cerulean/admin/signingKeys/prune", post(prune))
        .route("/cerulean/admin/signingKeys/{kid}/activate", post(activate))
        .route(
            "/cerulean/admin/managedIdentities",
            get(crate::managed_identities::list_identities).post(crate::managed_identities::create_identity),
        )
        .route(
            "/cerulean/admin/managedIdentityHosts",
            get(crate::managed_identities::list_hosts).post(crate::managed_identities::create_host),
        )
        .route(
            "/cerulean/admin/managedIdentityHosts/{host}",
            axum::routing::delete(crate::managed_identities::delete_host),
        )
        .route(
            "/cerulean/admin/identityProtection/threatIntelligence",
            post(crate::identity_protection::raise_threat_intelligence),
        )
        .layer(axum::middleware::from_fn(crate::error::finish_errors))
        .with_state(state)
}

pub(crate) async fn admin(state: &AdminState, headers: &HeaderMap) -> Result<Principal, GraphError> {
    admin_of(&state.graph, headers).await
}

/// The administrator check of every `/cerulean/...` route (admin and emulator aids).
pub(crate) async fn admin_of(graph: &GraphState, headers: &HeaderMap) -> Result<Principal, GraphError> {
    let principal = authenticate(graph, headers).await?;
    let allowed = if principal.delegated {
        principal.wids.iter().any(|w| w.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR))
    } else {
        principal.roles.iter().any(|r| r.eq_ignore_ascii_case(APP_PERMISSION))
    };
    if !allowed {
        return Err(GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    Ok(Principal::clone(&principal))
}

fn rotation_error(e: RotationError) -> GraphError {
    match e {
        RotationError::UnknownKey(_) => GraphError::new(404, "Request_ResourceNotFound", e.to_string()),
        RotationError::NotNext { .. } | RotationError::TooEarly { .. } | RotationError::NextPending(_) => {
            GraphError::new(409, "Request_BadRequest", e.to_string())
        }
        RotationError::Identity(inner) => {
            tracing::error!(error = %inner, "signing key rotation failed");
            GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.")
        }
    }
}

async fn list(State(state): State<AdminState>, headers: HeaderMap) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let keys = state.graph.tokens.list_keys(p.tenant).await.map_err(rotation_error)?;
    Ok(axum::Json(json!({ "value": keys })).into_response())
}

async fn rotate(State(state): State<AdminState>, headers: HeaderMap) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let caller = crate::caller(&p, None);
    let key = state.graph.tokens.add_next_key(p.tenant, caller.actor).await.map_err(rotation_error)?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(key)).into_response())
}

async fn activate(
    State(state): State<AdminState>,
    Path(kid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let caller = crate::caller(&p, None);
    let keys = state
        .graph
        .tokens
        .activate_key(p.tenant, &kid, state.publication_delay_secs, caller.actor)
        .await
        .map_err(rotation_error)?;
    Ok(axum::Json(json!({ "value": keys })).into_response())
}

async fn prune(State(state): State<AdminState>, headers: HeaderMap) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let caller = crate::caller(&p, None);
    let deleted = state.graph.tokens.prune_keys(p.tenant, caller.actor).await.map_err(rotation_error)?;
    Ok(axum::Json(json!({ "value": deleted })).into_response())
}
