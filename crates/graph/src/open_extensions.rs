//! Open extensions: `/users/{id}/extensions` and `/groups/{id}/extensions` (list, create) and
//! `/.../extensions/{name}` (get, update, delete), and their shape for `$expand=extensions`.
//! The rules are in `cerulean_directory::open_extensions`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::odata;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

/// An open extension as Graph returns it: its type, name (also its id) and custom properties.
pub(crate) fn shape(rec: &ObjectRecord) -> Map<String, Value> {
    let name = rec.doc.get("extensionName").cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.openTypeExtension"));
    out.insert("extensionName".into(), name.clone());
    out.insert("id".into(), name);
    if let Some(values) = rec.doc.get("values").and_then(Value::as_object) {
        for (k, v) in values {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn context(s: &GraphState, set: &str, id: &str) -> String {
    format!("{}/$metadata#{set}('{id}')/extensions", s.base())
}

/// Declares the handlers of one entity set's open extensions.
macro_rules! open_extension_routes {
    ($($list:ident, $create:ident, $get:ident, $update:ident, $delete:ident => $ty:literal, $set:literal;)*) => {$(
        pub(crate) async fn $list(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
        ) -> Result<Response, GraphError> {
            let found = s.directory.open_extensions(p.tenant, $ty, &id).await?;
            let items: Vec<Value> = found.iter().map(|r| Value::Object(shape(r))).collect();
            Ok(odata::json(StatusCode::OK, json!({"@odata.context": context(&s, $set, &id), "value": items})))
        }

        pub(crate) async fn $create(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
            body: Bytes,
        ) -> Result<Response, GraphError> {
            let body = odata::object_body(&body)?;
            let rec = s.directory.create_open_extension(&caller(&p, client_request_id(&h)), $ty, &id, &body).await?;
            let mut out = Map::new();
            out.insert("@odata.context".into(), json!(format!("{}/$entity", context(&s, $set, &id))));
            out.extend(shape(&rec));
            Ok(odata::json(StatusCode::CREATED, Value::Object(out)))
        }

        pub(crate) async fn $get(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((id, name)): Path<(String, String)>,
        ) -> Result<Response, GraphError> {
            let rec = s.directory.open_extension(p.tenant, $ty, &id, &name).await?;
            let mut out = Map::new();
            out.insert("@odata.context".into(), json!(format!("{}/$entity", context(&s, $set, &id))));
            out.extend(shape(&rec));
            Ok(odata::json(StatusCode::OK, Value::Object(out)))
        }

        pub(crate) async fn $update(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((id, name)): Path<(String, String)>,
            h: HeaderMap,
            body: Bytes,
        ) -> Result<StatusCode, GraphError> {
            let body = odata::object_body(&body)?;
            s.directory.update_open_extension(&caller(&p, client_request_id(&h)), $ty, &id, &name, &body).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        pub(crate) async fn $delete(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((id, name)): Path<(String, String)>,
            h: HeaderMap,
        ) -> Result<StatusCode, GraphError> {
            s.directory.delete_open_extension(&caller(&p, client_request_id(&h)), $ty, &id, &name).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    )*};
}

open_extension_routes! {
    user_list, user_create, user_get, user_update, user_delete => "user", "users";
    group_list, group_create, group_get, group_update, group_delete => "group", "groups";
}
