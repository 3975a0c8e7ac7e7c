//! Administration of managed identities and their hosts (Cerulean's own routes, like the
//! signing-key routes; `cerulean managed-identity` does the same from the command line).
//!
//! | route | what |
//! |---|---|
//! | `GET /cerulean/admin/managedIdentities` | the tenant's managed identities (service principals) |
//! | `POST /cerulean/admin/managedIdentities` | `{name, type: "UserAssigned"\|"SystemAssigned", resourceId?}` → 201 |
//! | `GET /cerulean/admin/managedIdentityHosts` | hosts and their identities (never a secret) |
//! | `POST /cerulean/admin/managedIdentityHosts` | `{name, identities: [...]}` → 201 with the host secret, once, and the environment to set |
//! | `DELETE /cerulean/admin/managedIdentityHosts/{id or name}` | 204; the secret stops working |
//!
//! Authorization is the signing-key routes': a Global Administrator, or an app with
//! `Directory.ReadWrite.All`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cerulean_directory::{ManagedIdentityHost, ManagedIdentityKind, host_json};
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::odata;
use crate::signing_keys::{AdminState, admin};

/// What a process bound to `host` sets to use it: the App Service variables, and for IMDS the
/// authority override azure-identity and MSAL honour (IMDS answers for the `--imds-host` host).
pub fn host_environment(public_url: &str, tenant: uuid::Uuid, host: &ManagedIdentityHost, secret: &str) -> Value {
    json!({
        "IDENTITY_ENDPOINT": format!("{public_url}/{tenant}/msi/{}/token", host.id),
        "IDENTITY_HEADER": secret,
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": public_url,
    })
}

fn identity_json(o: &cerulean_store::ObjectRecord) -> Value {
    json!({
        "id": o.id,
        "appId": o.doc.get("appId"),
        "displayName": o.doc.get("displayName"),
        "servicePrincipalType": o.doc.get("servicePrincipalType"),
        "alternativeNames": o.doc.get("alternativeNames"),
    })
}

pub(crate) async fn list_identities(
    State(state): State<AdminState>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let all = state.graph.directory.managed_identities(p.tenant).await?;
    Ok(Json(json!({"value": all.iter().map(identity_json).collect::<Vec<_>>()})).into_response())
}

pub(crate) async fn create_identity(
    State(state): State<AdminState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let body: Map<String, Value> = odata::object_body(&body)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let name = text("name").ok_or_else(|| GraphError::bad_request("The request body must contain 'name'."))?;
    let kind = match text("type") {
        None | Some("UserAssigned") => ManagedIdentityKind::UserAssigned,
        Some("SystemAssigned") => ManagedIdentityKind::SystemAssigned,
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "Invalid type '{other}': use 'UserAssigned' or 'SystemAssigned'."
            )));
        }
    };
    let caller = crate::caller(&p, None);
    let created = state.graph.directory.create_managed_identity(&caller, name, kind, text("resourceId")).await?;
    Ok((StatusCode::CREATED, Json(identity_json(&created))).into_response())
}

pub(crate) async fn list_hosts(State(state): State<AdminState>, headers: HeaderMap) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let hosts = state.graph.directory.managed_identity_hosts(p.tenant).await?;
    Ok(Json(json!({"value": hosts.iter().map(host_json).collect::<Vec<_>>()})).into_response())
}

pub(crate) async fn create_host(
    State(state): State<AdminState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let p = admin(&state, &headers).await?;
    let body: Map<String, Value> = odata::object_body(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("The request body must contain 'name'."))?;
    let identities: Vec<String> = match body.get("identities") {
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        _ => {
            return Err(GraphError::bad_request(
                "'identities' must be an array of identity ids, client ids or resource ids.",
            ));
        }
    };
    let caller = crate::caller(&p, None);
    let (host, secret) = state.graph.directory.create_managed_identity_host(&caller, name, &identities).await?;
    let mut out = host_json(&host);
    out.insert("identityHeader".into(), json!(secret));
    out.insert("environment".into(), host_environment(&state.graph.public_url, p.tenant, &host, &secret));
    Ok((StatusCode::CREATED, Json(Value::Object(out))).into_response())
}

pub(crate) async fn delete_host(
    State(state): State<AdminState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let p = admin(&state, &headers).await?;
    let caller = crate::caller(&p, None);
    state.graph.directory.delete_managed_identity_host(&caller, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
