//! `/me` and `/me/...`: the signed-in user of a delegated token. Each route is the `/users/{id}`
//! route of that user, under the `/me` permission rule; app tokens get Graph's answer ("/me
//! request is only valid with delegated authentication flow."). Also `changePassword` and
//! `revokeSignInSessions`, for `/me` and (the latter) `/users/{id}`.

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{authenticate, permitted};
use crate::error::GraphError;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller, odata};

pub(crate) async fn me_root(
    State(state): State<GraphState>,
    method: Method,
    headers: HeaderMap,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    dispatch(state, method, headers, uri, q, String::new(), body).await.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn me_rest(
    State(state): State<GraphState>,
    method: Method,
    headers: HeaderMap,
    uri: OriginalUri,
    Path(rest): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    // Read here rather than by the `Bytes` extractor, whose 2 MB default is below a photo's 4 MB.
    let body = match crate::photos::read_upload(body).await {
        Ok(b) => Bytes::from(b),
        Err(e) => return e.into_response(),
    };
    dispatch(state, method, headers, uri, q, rest, body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn dispatch(
    state: GraphState,
    method: Method,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    q: Option<String>,
    rest: String,
    body: Bytes,
) -> Result<Response, GraphError> {
    let p = authenticate(&state, &headers).await?;
    if !p.delegated {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ));
    }
    let rest = rest.trim_end_matches('/').to_ascii_lowercase();
    let path = if rest.is_empty() { "/me".to_string() } else { format!("/me/{rest}") };
    let template = if path.starts_with("/me/photos/") {
        "/me/photos/{id}".to_string()
    } else {
        crate::auth_methods::me_template(&path)
    };
    if !permitted(&p, method.as_str(), &template) {
        return Err(GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    let p = Principal::clone(&p);
    let id = p.object_id.to_string();
    // The user's own password, enablement and sign-in name need a role, as on `/users/{id}`.
    if method == Method::PATCH && path == "/me" {
        let fields = serde_json::from_slice::<serde_json::Map<String, Value>>(&body).unwrap_or_default();
        let own = format!("/users/{id}");
        if !crate::delegated::user_may(&state, &p, "PATCH", "/users/{id}", &own, Some(&fields)).await? {
            return Err(GraphError::new(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ));
        }
    }
    let (s, e, q) = (State(state.clone()), Extension(p.clone()), RawQuery(q));
    match (method.as_str(), path.as_str()) {
        ("GET", "/me") => crate::entity_sets::get_one::<crate::entity_sets::Users>(s, e, Path(id), headers, q).await,
        ("PATCH", "/me") => crate::entity_sets::update::<crate::entity_sets::Users>(s, e, Path(id), headers, body)
            .await
            .map(IntoResponse::into_response),
        ("GET", "/me/memberof") => crate::users::member_of(s, e, Path(id), headers, q).await,
        ("GET", "/me/transitivememberof") => crate::membership::user_member_of(s, e, Path(id), headers, q).await,
        ("GET", "/me/manager") => crate::manager::get_manager(s, e, Path(id), headers, q).await,
        ("GET", "/me/directreports") => crate::manager::direct_reports(s, e, Path(id), headers, q).await,
        ("GET", "/me/licensedetails") => crate::licences::license_details(s, e, Path(id), headers, q).await,
        ("POST", "/me/changepassword") => change_password(&state, &p, &headers, &body).await,
        ("GET", "/me/photo") => crate::photos::get_metadata(&state, &p, "user", &id).await,
        ("GET", "/me/photos") => crate::photos::list(&state, &p, "user", &id).await,
        ("GET", path) if path.starts_with("/me/photos/") => {
            crate::photos::get_size(&state, &p, "user", &id, &path["/me/photos/".len()..]).await
        }
        ("GET", "/me/photo/$value") => crate::photos::get_value(&state, &p, &headers, "user", &id).await,
        ("PUT", "/me/photo/$value") => crate::photos::put_value(&state, &p, &headers, "user", &id, body.to_vec()).await,
        ("DELETE", "/me/photo") => crate::photos::delete(&state, &p, &headers, "user", &id).await,
        ("GET", "/me/scopedrolememberof") => {
            crate::administrative_units::scoped_role_member_of_of(&state, &p, &id).await
        }
        ("POST", "/me/revokesigninsessions") => revoked(&state, &p, &headers, &id).await,
        (m, path) if path.starts_with("/me/authentication/") => {
            crate::auth_methods::me(&state, &p, m, &headers, path).await.map_err(|e| match e {
                Some(e) => e,
                None => GraphError::no_route(uri.path()),
            })
        }
        _ => Err(GraphError::no_route(uri.path())),
    }
}

/// `POST /me/changePassword` with `currentPassword` and `newPassword`; 204.
async fn change_password(
    state: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(body)?;
    let field = |k: &str| body.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    let (Some(current), Some(new)) = (field("currentPassword"), field("newPassword")) else {
        return Err(GraphError::new(400, "Request_BadRequest", "Both currentPassword and newPassword are required."));
    };
    state.directory.change_own_password(&caller(p, client_request_id(headers)), p.object_id, current, new).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoked(state: &GraphState, p: &Principal, headers: &HeaderMap, key: &str) -> Result<Response, GraphError> {
    state.directory.revoke_sign_in_sessions(&caller(p, client_request_id(headers)), key).await?;
    let context = format!("{}/$metadata#Edm.Boolean", state.base());
    Ok(odata::json(StatusCode::OK, json!({"@odata.context": context, "value": true})))
}

/// `POST /users/{id}/revokeSignInSessions`: `{"value": true}`.
pub(crate) async fn revoke_sign_in_sessions(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    revoked(&state, &p, &headers, &key).await
}
