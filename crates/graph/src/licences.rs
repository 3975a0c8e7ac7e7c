//! Licences on Graph: `/subscribedSkus`, `assignLicense` on users and groups, and a user's
//! `licenseDetails` (also under `/me`). The rules live in `cerulean_directory::licences`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_directory::LicenseDetail;
use cerulean_schema::EntityType;
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::GraphError;
use crate::lists;
use crate::odata::{self, shape};
use crate::users::{client_request_id, user_entity};
use crate::{GraphState, Principal, caller};

fn entity(name: &str) -> &'static EntityType {
    cerulean_schema::entity(name).expect("licence entity types are declared")
}

/// A subscribed SKU on the wire: its id is `{tenantId}_{skuId}`.
fn sku_item(tenant: Uuid, record: &ObjectRecord, select: Option<&[String]>) -> Map<String, Value> {
    let mut item = shape(entity("subscribedSku"), record, select, false);
    if item.contains_key("id") {
        item.insert("id".into(), json!(format!("{tenant}_{}", record.id)));
    }
    item
}

/// A licence detail on the wire.
fn detail_item(detail: &LicenseDetail, select: Option<&[String]>) -> Map<String, Value> {
    let record = ObjectRecord {
        id: Uuid::nil(),
        object_type: "licenseDetails".into(),
        version: 1,
        doc: detail.doc.clone(),
        deleted_at: None,
    };
    let mut item = shape(entity("licenseDetails"), &record, select, false);
    if item.contains_key("id") {
        item.insert("id".into(), json!(detail.id));
    }
    item
}

/// A collection answer: `@odata.context` and `value` (these collections are one short page).
fn collection(state: &GraphState, context: &str, select: Option<&[String]>, items: Vec<Value>) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), context, select, false)));
    body.insert("value".into(), Value::Array(items));
    odata::json(StatusCode::OK, Value::Object(body))
}

fn single(state: &GraphState, context: &str, select: Option<&[String]>, item: Map<String, Value>) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), context, select, true)));
    body.extend(item);
    odata::json(StatusCode::OK, Value::Object(body))
}

/// `GET /subscribedSkus` (`$select` applies).
pub(crate) async fn list_skus(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let opts = lists::single_options(entity("subscribedSku"), q.as_deref(), &h)?;
    let select = opts.select.as_deref();
    let items = s.directory.subscribed_skus(p.tenant).await?;
    let items = items.iter().map(|r| Value::Object(sku_item(p.tenant, r, select))).collect();
    Ok(collection(&s, "subscribedSkus", select, items))
}

/// `GET /subscribedSkus/{tenantId}_{skuId}`.
pub(crate) async fn get_sku(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let opts = lists::single_options(entity("subscribedSku"), q.as_deref(), &h)?;
    let select = opts.select.as_deref();
    let record = s.directory.subscribed_sku(p.tenant, &id).await?;
    Ok(single(&s, "subscribedSkus", select, sku_item(p.tenant, &record, select)))
}

/// `POST /users/{id}/assignLicense`: 200 and the user.
pub(crate) async fn assign_user(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let user = s.directory.assign_user_licenses(&caller(&p, client_request_id(&h)), &id, &body).await?;
    Ok(single(&s, "users", None, shape(user_entity(), &user, None, false)))
}

/// `POST /groups/{id}/assignLicense`: 202 and the group (its members' licences follow).
pub(crate) async fn assign_group(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let group = s.directory.assign_group_licenses(&caller(&p, client_request_id(&h)), &id, &body).await?;
    let mut res = single(&s, "groups", None, shape(entity("group"), &group, None, false));
    *res.status_mut() = StatusCode::ACCEPTED;
    Ok(res)
}

/// `GET /users/{id}/licenseDetails`.
pub(crate) async fn license_details(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let opts = lists::single_options(entity("licenseDetails"), q.as_deref(), &h)?;
    let select = opts.select.as_deref();
    let details = s.directory.license_details(p.tenant, &id).await?;
    let items = details.iter().map(|d| Value::Object(detail_item(d, select))).collect();
    Ok(collection(&s, &format!("users('{id}')/licenseDetails"), select, items))
}

/// `GET /users/{id}/licenseDetails/{id}`.
pub(crate) async fn license_detail(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, detail)): Path<(String, String)>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let opts = lists::single_options(entity("licenseDetails"), q.as_deref(), &h)?;
    let select = opts.select.as_deref();
    let found = s.directory.license_detail(p.tenant, &id, &detail).await?;
    Ok(single(&s, &format!("users('{id}')/licenseDetails"), select, detail_item(&found, select)))
}
