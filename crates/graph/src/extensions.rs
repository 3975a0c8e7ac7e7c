//! Directory extensions on Graph: `/applications/{id}/extensionProperties` (create, list, get,
//! delete), `POST /directoryObjects/getAvailableExtensionProperties`, and the lookup that makes
//! extension values selectable and filterable on the objects they extend
//! ([`dynamic_properties`]). The rules are in `cerulean_directory::extensions`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cerulean_query::DynamicProperty;
use cerulean_schema::{EdmType, EntityType};
use cerulean_store::ObjectRecord;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::GraphError;
use crate::odata::{self, shape};
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller};

fn entity() -> &'static EntityType {
    cerulean_schema::entity("extensionProperty").expect("extensionProperty is declared")
}

/// The tenant's directory extensions of `object_type`, as the query layer takes them; looked
/// up only when the query may name one (every extension name holds an underscore).
pub(crate) async fn dynamic_properties(
    state: &GraphState,
    tenant: Uuid,
    object_type: &str,
    params: &[(String, String)],
) -> Result<Vec<DynamicProperty>, GraphError> {
    let relevant = params.iter().any(|(k, v)| {
        let k = k.trim_start_matches('$');
        (k.eq_ignore_ascii_case("select") || k.eq_ignore_ascii_case("filter"))
            && cerulean_query::dynamic::may_name_extension(v)
    });
    // Custom security attributes are filtered by path (`customSecurityAttributes/Set/Attr`).
    let attributes = matches!(object_type, "user" | "servicePrincipal")
        && params.iter().any(|(k, v)| {
            k.trim_start_matches('$').eq_ignore_ascii_case("filter")
                && v.to_ascii_lowercase().contains("customsecurityattributes/")
        });
    let mut out: Vec<DynamicProperty> = Vec::new();
    if relevant {
        let defs = state.directory.extension_definitions(tenant, object_type).await?;
        out.extend(defs.iter().map(|d| DynamicProperty::primitive(d.name.clone(), d.edm_type(), d.multi_valued)));
        for schema in state.directory.schema_definitions(tenant, object_type).await? {
            let members = schema.properties.iter().map(|(name, ty)| (name.clone(), schema_edm(ty))).collect();
            out.push(DynamicProperty::complex(schema.id.clone(), members));
        }
    }
    if attributes {
        for d in state.directory.attribute_definition_rules(tenant).await? {
            if d.is_searchable {
                let name =
                    format!("{}/{}/{}", cerulean_query::dynamic::CUSTOM_SECURITY_ATTRIBUTES, d.attribute_set, d.name);
                let ty = match d.ty.as_str() {
                    "Integer" => EdmType::Int32,
                    "Boolean" => EdmType::Boolean,
                    _ => EdmType::String,
                };
                out.push(DynamicProperty::primitive(name, ty, d.is_collection));
            }
        }
    }
    Ok(out)
}

/// The EDM type of a schema extension property type (`Integer` is 32-bit).
fn schema_edm(ty: &str) -> EdmType {
    match ty {
        "Boolean" => EdmType::Boolean,
        "Integer" => EdmType::Int32,
        "DateTime" => EdmType::DateTimeOffset,
        "Binary" => EdmType::Binary,
        _ => EdmType::String,
    }
}

fn context(state: &GraphState, app: Uuid) -> String {
    format!("{}/$metadata#applications('{app}')/extensionProperties", state.base())
}

fn item(rec: &ObjectRecord) -> Value {
    Value::Object(shape(entity(), rec, None, false))
}

/// `GET /applications/{id}/extensionProperties`.
pub(crate) async fn list(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let app = s.directory.find_application(p.tenant, &id).await?;
    let found = s.directory.list_extension_properties(p.tenant, &id).await?;
    let items: Vec<Value> = found.iter().map(item).collect();
    Ok(odata::json(StatusCode::OK, json!({ "@odata.context": context(&s, app.id), "value": items })))
}

/// `GET /applications/{id}/extensionProperties/{id}`.
pub(crate) async fn get(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, ext)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let app = s.directory.find_application(p.tenant, &id).await?;
    let rec = s.directory.get_extension_property(p.tenant, &id, &ext).await?;
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(format!("{}/$entity", context(&s, app.id))));
    body.extend(shape(entity(), &rec, None, false));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `POST /applications/{id}/extensionProperties`: 201 with the definition.
pub(crate) async fn create(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body = odata::object_body(&body)?;
    let app = s.directory.find_application(p.tenant, &id).await?;
    let rec = s.directory.create_extension_property(&caller(&p, client_request_id(&h)), &id, &body).await?;
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(format!("{}/$entity", context(&s, app.id))));
    out.extend(shape(entity(), &rec, None, false));
    Ok(odata::json(StatusCode::CREATED, Value::Object(out)))
}

/// `DELETE /applications/{id}/extensionProperties/{id}`: 204.
pub(crate) async fn delete(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    Path((id, ext)): Path<(String, String)>,
    h: HeaderMap,
) -> Result<StatusCode, GraphError> {
    s.directory.delete_extension_property(&caller(&p, client_request_id(&h)), &id, &ext).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /directoryObjects/getAvailableExtensionProperties` {`isSyncedFromOnPremises`}.
pub(crate) async fn available(
    State(s): State<GraphState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let synced = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let body = odata::object_body(&body)?;
        match body.get("isSyncedFromOnPremises") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(GraphError::new(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for parameter 'isSyncedFromOnPremises'.",
                ));
            }
        }
    };
    let found = s.directory.available_extension_properties(p.tenant, synced).await?;
    let items: Vec<Value> = found
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("@odata.type".into(), json!("#microsoft.graph.extensionProperty"));
            m.extend(shape(entity(), r, None, false));
            Value::Object(m)
        })
        .collect();
    Ok(odata::json(
        StatusCode::OK,
        json!({ "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.extensionProperty)", s.base()), "value": items }),
    ))
}
