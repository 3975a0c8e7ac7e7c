//! `/users/{id}/authentication` (and `/me/authentication`): the user's authentication
//! methods in Graph's shape — the password method (Entra's fixed id) and software OATH (TOTP)
//! methods, whose `secretKey` always reads as null, and passkeys (`fido2Methods`) — the deletion of a TOTP method, and an
//! administrator's `resetPassword` (202, Graph's `passwordResetResponse`: the generated
//! password when none was given, else null; the user must change it at next sign-in).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::auth_methods::{AuthMethod, AuthMethodKind};
use serde_json::{Value, json};

use crate::error::GraphError;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller, odata};

/// Which collection of `/authentication` a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MethodSet {
    All,
    Password,
    SoftwareOath,
    Fido2,
}

impl MethodSet {
    pub(crate) fn parse(segment: &str) -> Option<MethodSet> {
        match segment.to_ascii_lowercase().as_str() {
            "methods" => Some(MethodSet::All),
            "passwordmethods" => Some(MethodSet::Password),
            "softwareoathmethods" => Some(MethodSet::SoftwareOath),
            "fido2methods" => Some(MethodSet::Fido2),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            MethodSet::All => "methods",
            MethodSet::Password => "passwordMethods",
            MethodSet::SoftwareOath => "softwareOathMethods",
            MethodSet::Fido2 => "fido2Methods",
        }
    }

    fn holds(self, m: &AuthMethod) -> bool {
        match self {
            MethodSet::All => true,
            MethodSet::Password => m.kind == AuthMethodKind::Password,
            MethodSet::SoftwareOath => m.kind == AuthMethodKind::SoftwareOath,
            MethodSet::Fido2 => m.kind == AuthMethodKind::Fido2,
        }
    }
}

/// A method in Graph's shape (`@odata.type` only in the polymorphic `methods` set).
fn shape(m: &AuthMethod, set: MethodSet) -> Value {
    let mut v = match m.kind {
        AuthMethodKind::Password => json!({
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": m.id,
            "password": null,
            "createdDateTime": m.created_date_time,
        }),
        AuthMethodKind::SoftwareOath => json!({
            "@odata.type": "#microsoft.graph.softwareOathAuthenticationMethod",
            "id": m.id,
            "secretKey": null,
            "createdDateTime": m.created_date_time,
        }),
        // `model` names the authenticator from the FIDO metadata service, which Cerulean does
        // not consult: null.
        AuthMethodKind::Fido2 => {
            let p = m.passkey.as_ref();
            json!({
                "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
                "id": m.id,
                "displayName": p.map(|p| p.display_name.clone()),
                "createdDateTime": m.created_date_time,
                "aaGuid": p.map(|p| p.aaguid.clone()),
                "model": null,
                "attestationCertificates": p.map(|p| p.attestation_certificates.clone()).unwrap_or_default(),
                "attestationLevel": p.map(|p| p.attestation_level.clone()),
            })
        }
    };
    if set != MethodSet::All
        && let Some(o) = v.as_object_mut()
    {
        o.remove("@odata.type");
    }
    v
}

fn not_found(id: &str) -> GraphError {
    GraphError::new(
        404,
        "itemNotFound",
        format!("The requested authentication method '{id}' was not found for this user."),
    )
}

/// `GET .../authentication/{set}` and `GET .../authentication/{set}/{method}`.
pub(crate) async fn read(
    state: &GraphState,
    p: &Principal,
    user_key: &str,
    set: MethodSet,
    method: Option<&str>,
) -> Result<Response, GraphError> {
    let (user, methods) = state.directory.authentication_methods(p.tenant, user_key).await?;
    let context = format!("{}/$metadata#users('{}')/authentication/{}", state.base(), user.id, set.name());
    let mut chosen = methods.iter().filter(|m| set.holds(m));
    let body = match method {
        None => json!({"@odata.context": context, "value": chosen.map(|m| shape(m, set)).collect::<Vec<_>>()}),
        Some(id) => {
            let m = chosen.find(|m| m.id.eq_ignore_ascii_case(id)).ok_or_else(|| not_found(id))?;
            let mut v = shape(m, set);
            if let Some(o) = v.as_object_mut() {
                o.insert("@odata.context".into(), json!(format!("{context}/$entity")));
            }
            v
        }
    };
    Ok(odata::json(StatusCode::OK, body))
}

/// `DELETE .../authentication/{softwareOathMethods,fido2Methods}/{method}`: 204.
pub(crate) async fn delete_method(
    state: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    user_key: &str,
    set: MethodSet,
    method: &str,
) -> Result<Response, GraphError> {
    let caller = caller(p, client_request_id(headers));
    let deleted = match set {
        MethodSet::Fido2 => state.directory.delete_passkey(&caller, user_key, method).await,
        _ => state.directory.delete_totp_method(&caller, user_key, method).await,
    };
    match deleted {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(cerulean_directory::DirectoryError::NotFound { .. }) => Err(not_found(method)),
        Err(e) => Err(e.into()),
    }
}

macro_rules! set_routes {
    ($list:ident, $get:ident, $set:expr) => {
        pub(crate) async fn $list(
            State(state): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(user): Path<String>,
        ) -> Result<Response, GraphError> {
            read(&state, &p, &user, $set, None).await
        }

        pub(crate) async fn $get(
            State(state): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((user, method)): Path<(String, String)>,
        ) -> Result<Response, GraphError> {
            read(&state, &p, &user, $set, Some(&method)).await
        }
    };
}

set_routes!(list_methods, get_method, MethodSet::All);
set_routes!(list_password_methods, get_password_method, MethodSet::Password);
set_routes!(list_oath_methods, get_oath_method, MethodSet::SoftwareOath);
set_routes!(list_fido2_methods, get_fido2_method, MethodSet::Fido2);

macro_rules! delete_route {
    ($name:ident, $set:expr) => {
        pub(crate) async fn $name(
            State(state): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((user, method)): Path<(String, String)>,
            headers: HeaderMap,
        ) -> Result<Response, GraphError> {
            delete_method(&state, &p, &headers, &user, $set, &method).await
        }
    };
}

delete_route!(delete_oath_route, MethodSet::SoftwareOath);
delete_route!(delete_fido2_route, MethodSet::Fido2);

/// `POST /users/{id}/authentication/methods/{id}/resetPassword` (and `passwordMethods`), with
/// an optional `newPassword`.
pub(crate) async fn reset_password(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((user, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let new_password = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let body = odata::object_body(&body)?;
        match body.get("newPassword") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => return Err(GraphError::new(400, "BadRequest", "The newPassword value is not valid.")),
        }
    };
    let reset = match state
        .directory
        .reset_password_by_admin(&caller(&p, client_request_id(&headers)), &user, &method, new_password.as_deref())
        .await
    {
        Err(cerulean_directory::DirectoryError::NotFound { .. }) if !method.eq_ignore_ascii_case(PASSWORD_ID) => {
            return Err(not_found(&method));
        }
        other => other?,
    };
    let context = format!("{}/$metadata#microsoft.graph.passwordResetResponse", state.base());
    let mut res = odata::json(StatusCode::ACCEPTED, json!({"@odata.context": context, "newPassword": reset.generated}));
    let location = format!("{}/users/{}/authentication/operations/{}", state.base(), reset.user, reset.operation);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    Ok(res)
}

/// `GET /users/{id}/authentication/operations/{id}`: the status of a password reset.
pub(crate) async fn get_operation(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((user, operation)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let Some((id, created, status)) = state.directory.auth_operation(p.tenant, &user, &operation).await? else {
        return Err(GraphError::new(
            404,
            "itemNotFound",
            format!("The requested operation '{operation}' was not found for this user."),
        ));
    };
    let context = format!("{}/$metadata#users('{user}')/authentication/operations/$entity", state.base());
    Ok(odata::json(
        StatusCode::OK,
        json!({
            "@odata.context": context,
            "id": id,
            "createdDateTime": created,
            "lastActionDateTime": created,
            "resourceLocation": null,
            "status": status,
            "statusDetail": null,
        }),
    ))
}

const PASSWORD_ID: &str = cerulean_directory::auth_methods::PASSWORD_METHOD_ID;

/// The permission-reference form of a `/me` path: the method id of
/// `/me/authentication/{set}/{id}` becomes `{id}`.
pub(crate) fn me_template(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "me", "authentication", set, _id] => format!("/me/authentication/{set}/{{id}}"),
        _ => path.to_string(),
    }
}

/// `/me/authentication/...` for the signed-in user; `Err(None)` for a path it does not serve.
pub(crate) async fn me(
    state: &GraphState,
    p: &Principal,
    method: &str,
    headers: &HeaderMap,
    path: &str,
) -> Result<Response, Option<GraphError>> {
    let user = p.object_id.to_string();
    let parts: Vec<&str> = path.split('/').collect();
    let (set, id) = match parts.as_slice() {
        ["", "me", "authentication", set] => (MethodSet::parse(set).ok_or(None)?, None),
        ["", "me", "authentication", set, id] => (MethodSet::parse(set).ok_or(None)?, Some(*id)),
        _ => return Err(None),
    };
    match (method, set, id) {
        ("GET", set, id) => read(state, p, &user, set, id).await.map_err(Some),
        ("DELETE", set @ (MethodSet::SoftwareOath | MethodSet::Fido2), Some(id)) => {
            delete_method(state, p, headers, &user, set, id).await.map_err(Some)
        }
        _ => Err(None),
    }
}
