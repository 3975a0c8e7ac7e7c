//! `/schemaExtensions`: list (with `$filter` on `id`, `owner` and `status`, `eq` joined by
//! `and`/`or`, as clients look their schema extensions up), get, create, update, delete. The
//! rules are in `cerulean_directory::schema_extensions`; values on objects go through the
//! directory-extension machinery (`crate::extensions`).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

/// A schema extension as Graph returns it.
fn shape(rec: &ObjectRecord) -> Map<String, Value> {
    let mut out = Map::new();
    let get = |k: &str| rec.doc.get(k).cloned().unwrap_or(Value::Null);
    out.insert("id".into(), get("schemaId"));
    out.insert("description".into(), get("description"));
    out.insert("targetTypes".into(), get("targetTypes"));
    out.insert("status".into(), get("status"));
    out.insert("owner".into(), get("owner"));
    out.insert("properties".into(), get("properties"));
    out
}

/// `GET /schemaExtensions`.
pub(crate) async fn list(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let params = odata::parse_query(q.as_deref())?;
    let mut filter = None;
    for (k, v) in &params {
        match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
            "filter" => filter = Some(cerulean_query::parse_filter(v)?),
            "top" | "select" | "count" | "orderby" | "search" | "expand" | "skiptoken" if k.starts_with('$') => {
                return Err(GraphError::new(
                    400,
                    "Request_UnsupportedQuery",
                    format!("The query option '{k}' is not supported on schemaExtensions."),
                ));
            }
            _ => {}
        }
    }
    let mut items = Vec::new();
    for rec in s.directory.schema_extensions(p.tenant).await? {
        let item = shape(&rec);
        if let Some(f) = &filter
            && !odata::eq_filter_matches(f, &item)?
        {
            continue;
        }
        items.push(Value::Object(item));
    }
    Ok(odata::json(
        StatusCode::OK,
        json!({"@odata.context": format!("{}/$metadata#schemaExtensions", s.base()), "value": items}),
    ))
}

/// `GET /schemaExtensions/{id}`.
pub(crate) async fn get(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let rec = s.directory.schema_extension(p.tenant, &id).await?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$metadata#schemaExtensions/$entity", s.base())));
    out.extend(shape(&rec));
    Ok(odata::json(StatusCode::OK, Value::Object(out)))
}

/// `POST /schemaExtensions`: 201.
pub(crate) async fn create(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let rec = s.directory.create_schema_extension(&caller(&p, client_request_id(&h)), &p.app_id, &body).await?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$metadata#schemaExtensions/$entity", s.base())));
    out.extend(shape(&rec));
    Ok(odata::json(StatusCode::CREATED, Value::Object(out)))
}

/// `PATCH /schemaExtensions/{id}`: 204.
pub(crate) async fn update(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    let body = odata::object_body(&body)?;
    s.directory.update_schema_extension(&caller(&p, client_request_id(&h)), &p.app_id, &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /schemaExtensions/{id}`: 204.
pub(crate) async fn delete(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_schema_extension(&caller(&p, client_request_id(&h)), &p.app_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
