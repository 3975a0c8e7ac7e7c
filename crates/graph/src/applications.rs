//! `/applications` routes: CRUD (by object id, or `(appId='...')`), owners, `addPassword` /
//! `removePassword`, federated identity credentials, and the deleted applications list.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_schema::EntityType;
use cerulean_store::{EdgeKind, ObjectRecord, Scope};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::GraphError;
use crate::lists::{self, Collection};
use crate::odata::{self, shape};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

fn fic_entity() -> &'static EntityType {
    cerulean_schema::entity("federatedIdentityCredential").expect("federatedIdentityCredential is declared")
}

/// `POST /applications/{id}/addPassword`: 200 with the `passwordCredential`, `secretText`
/// included (the only time it is shown).
pub(crate) async fn add_password(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    // The body is optional: `{}` or nothing adds a secret with the defaults.
    let body = if body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { odata::object_body(&body)? };
    let credential = s.directory.add_password(&caller(&p, client_request_id(&h)), &id, &body).await?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$metadata#microsoft.graph.passwordCredential", s.base())));
    out.extend(credential);
    Ok(odata::json(StatusCode::OK, Value::Object(out)))
}

/// `POST /applications/{id}/removePassword`: 204.
pub(crate) async fn remove_password(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.remove_password(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `addKey` on an application or a service principal: 200 with the new `keyCredential`
/// (see `cerulean_directory`'s key rollover for the proof of possession).
async fn add_key_to(
    s: &GraphState,
    p: &Principal,
    h: &HeaderMap,
    object_type: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, GraphError> {
    let body = odata::object_body(body)?;
    let credential = s.directory.add_key(&caller(p, client_request_id(h)), object_type, id, &body).await?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$metadata#microsoft.graph.keyCredential", s.base())));
    out.extend(credential);
    Ok(odata::json(StatusCode::OK, Value::Object(out)))
}

/// `POST /applications/{id}/addKey`.
pub(crate) async fn add_key(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    add_key_to(&s, &p, &h, "application", &id, &body).await
}

/// `POST /servicePrincipals/{id}/addKey`.
pub(crate) async fn sp_add_key(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    add_key_to(&s, &p, &h, "servicePrincipal", &id, &body).await
}

/// `POST /applications/{id}/removeKey`: 204.
pub(crate) async fn remove_key(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.remove_key(&caller(&p, client_request_id(&h)), "application", &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /servicePrincipals/{id}/removeKey`: 204.
pub(crate) async fn sp_remove_key(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.remove_key(&caller(&p, client_request_id(&h)), "servicePrincipal", &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The owners of an application or service principal.
pub(crate) async fn owners_of(
    s: &GraphState,
    p: &Principal,
    h: &HeaderMap,
    q: Option<&str>,
    object_type: &str,
    set: &str,
    key: &str,
) -> Result<Response, GraphError> {
    let object = s.directory.find_app_object_of(p.tenant, object_type, key).await?;
    let coll = Collection {
        entity: cerulean_schema::entity("directoryObject").expect("directoryObject is declared"),
        types: &[],
        scope: Scope::Related { kind: EdgeKind::Owner, id: object.id, reverse: false },
        context: "directoryObjects".into(),
        path: format!("/{}/{set}/{key}/owners", s.version),
    };
    lists::list(s, p, h, q, coll).await
}

pub(crate) async fn owners(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    owners_of(&s, &p, &h, q.as_deref(), "application", "applications", &id).await
}

/// The object named by a `{"@odata.id": "..."}` body.
pub(crate) fn reference_target(body: &[u8]) -> Result<Uuid, GraphError> {
    let body = odata::object_body(body)?;
    let reference = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.id"))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| GraphError::bad_request("The request body must contain '@odata.id'."))?;
    cerulean_directory::parse_reference(reference)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid object identifier '{reference}'.")))
}

pub(crate) async fn add_owner(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let target = reference_target(&body)?;
    s.directory.add_app_owner(&caller(&p, client_request_id(&h)), "application", &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn remove_owner(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, owner)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let target = Uuid::parse_str(&owner).map_err(|_| GraphError::not_found(&owner))?;
    s.directory.remove_app_owner(&caller(&p, client_request_id(&h)), "application", &id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A federated identity credential as a record, for shaping.
fn fic_record(fic: &Map<String, Value>) -> ObjectRecord {
    let id = fic.get("id").and_then(Value::as_str).and_then(|i| Uuid::parse_str(i).ok()).unwrap_or_default();
    let mut doc = fic.clone();
    doc.remove("id");
    ObjectRecord { id, object_type: "federatedIdentityCredential".into(), version: 1, doc, deleted_at: None }
}

fn fic_context(s: &GraphState, app: &str) -> String {
    format!("{}/$metadata#applications('{app}')/federatedIdentityCredentials", s.base())
}

pub(crate) async fn fics(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let app = s.directory.find_application(p.tenant, &id).await?;
    let list = s.directory.federated_credentials(p.tenant, &app.id.to_string()).await?;
    let items: Vec<Value> =
        list.iter().map(|f| Value::Object(shape(fic_entity(), &fic_record(f), None, false))).collect();
    Ok(odata::json(StatusCode::OK, json!({ "@odata.context": fic_context(&s, &app.id.to_string()), "value": items })))
}

pub(crate) async fn fic_get(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, fic)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let app = s.directory.find_application(p.tenant, &id).await?;
    let f = s.directory.federated_credential(p.tenant, &app.id.to_string(), &fic).await?;
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$entity", fic_context(&s, &app.id.to_string()))));
    body.extend(shape(fic_entity(), &fic_record(&f), None, false));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

pub(crate) async fn fic_create(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let app = s.directory.find_application(p.tenant, &id).await?;
    let f =
        s.directory.create_federated_credential(&caller(&p, client_request_id(&h)), &app.id.to_string(), &body).await?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$entity", fic_context(&s, &app.id.to_string()))));
    out.extend(shape(fic_entity(), &fic_record(&f), None, false));
    Ok(odata::json(StatusCode::CREATED, Value::Object(out)))
}

pub(crate) async fn fic_update(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, fic)): Path<(String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_federated_credential(&caller(&p, client_request_id(&h)), &id, &fic, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn fic_delete(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, fic)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_federated_credential(&caller(&p, client_request_id(&h)), &id, &fic).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn deleted_collection(s: &GraphState, type_name: &'static str, types: &'static [&'static str]) -> Collection<'static> {
    Collection {
        entity: cerulean_schema::entity(type_name).expect("declared"),
        types,
        scope: Scope::Deleted,
        context: format!("{type_name}s"),
        path: format!("/{}/directory/deletedItems/microsoft.graph.{type_name}", s.version),
    }
}

/// `GET /directory/deletedItems/microsoft.graph.application`.
pub(crate) async fn deleted_applications(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::list(&s, &p, &h, q.as_deref(), deleted_collection(&s, "application", &["application"])).await
}

/// `GET /directory/deletedItems/microsoft.graph.servicePrincipal`.
pub(crate) async fn deleted_service_principals(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    lists::list(&s, &p, &h, q.as_deref(), deleted_collection(&s, "servicePrincipal", &["servicePrincipal"])).await
}
