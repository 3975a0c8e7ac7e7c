//! Directory extensions on the 1.6 surface: `applications/{id}/extensionProperties` (list,
//! create, get, delete) and `getAvailableExtensionProperties`, over the same definitions as
//! Graph v1.0 (`cerulean_directory::extensions`). Values on users, groups, ... are read and
//! written as plain properties of those objects (see `wire::shape` and the directory's writes).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::error::AadError;
use crate::ordered::json_response;

const ODATA_TYPE: &str = "Microsoft.DirectoryServices.ExtensionProperty";

/// An extension property in its 1.6 shape.
fn shape(rec: &ObjectRecord) -> Map<String, Value> {
    let get = |k: &str| rec.doc.get(k).cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("odata.type".into(), json!(ODATA_TYPE));
    out.insert("objectType".into(), json!("ExtensionProperty"));
    out.insert("objectId".into(), json!(rec.id.to_string()));
    out.insert("deletionTimestamp".into(), Value::Null);
    out.insert("appDisplayName".into(), get("appDisplayName"));
    out.insert("name".into(), get("name"));
    out.insert("dataType".into(), get("dataType"));
    out.insert("isSyncedFromOnPremises".into(), get("isSyncedFromOnPremises"));
    out.insert("targetObjects".into(), get("targetObjects"));
    out
}

fn body(ctx: &Ctx) -> Result<Map<String, Value>, AadError> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AadError::bad_request("The request body must be a JSON object.")),
    }
}

/// `applications/{id}/extensionProperties[/{id}]`.
pub(crate) async fn route(ctx: &Ctx, app: &str, ext: Option<&str>) -> Result<Response, AadError> {
    let d = &ctx.state.directory;
    let tenant = ctx.principal.tenant;
    let collection = ctx.metadata(&format!("directoryObjects/{ODATA_TYPE}"));
    match (&ctx.method, ext) {
        (&Method::GET, None) => {
            let items: Vec<Value> =
                d.list_extension_properties(tenant, app).await?.iter().map(|r| Value::Object(shape(r))).collect();
            Ok(json_response(StatusCode::OK, json!({"odata.metadata": collection, "value": items})))
        }
        (&Method::POST, None) => {
            let rec = d.create_extension_property(&ctx.caller(), app, &body(ctx)?).await?;
            let mut out = Map::new();
            out.insert("odata.metadata".into(), json!(format!("{collection}/@Element")));
            out.extend(shape(&rec));
            Ok(json_response(StatusCode::CREATED, Value::Object(out)))
        }
        (&Method::GET, Some(id)) => {
            let rec = d.get_extension_property(tenant, app, id).await?;
            let mut out = Map::new();
            out.insert("odata.metadata".into(), json!(format!("{collection}/@Element")));
            out.extend(shape(&rec));
            Ok(json_response(StatusCode::OK, Value::Object(out)))
        }
        (&Method::DELETE, Some(id)) => {
            d.delete_extension_property(&ctx.caller(), app, id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(AadError::method_not_allowed()),
    }
}

/// `POST getAvailableExtensionProperties` {`isSyncedFromOnPremises`}.
pub(crate) async fn available(ctx: &Ctx) -> Result<Response, AadError> {
    let synced = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match body(ctx)?.get("isSyncedFromOnPremises") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(AadError::bad_request("Invalid value specified for parameter 'isSyncedFromOnPremises'."));
            }
        }
    };
    let items: Vec<Value> = ctx
        .state
        .directory
        .available_extension_properties(ctx.principal.tenant, synced)
        .await?
        .iter()
        .map(|r| Value::Object(shape(r)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"odata.metadata": ctx.metadata(&format!("Collection({ODATA_TYPE})")), "value": items}),
    ))
}
