//! `tenantDetails` and `domains` in the 1.6 shape, over the directory's organization and
//! domains (the same calls as Graph v1.0's `/organization` and `/domains`).
//!
//! | path | methods |
//! |---|---|
//! | `/tenantDetails[/{tenantId}]` | GET; PATCH (`/{tenantId}`, 204) |
//! | `/domains` | GET; POST `{"name": ...}` (201) |
//! | `/domains('{name}')`, `/domains/{name}` | GET; PATCH (204); DELETE (204) |
//!
//! 1.6 names differ from v1.0's here: the tenant's `telephoneNumber` is v1.0's one business
//! phone, `dirSyncEnabled` / `companyLastDirSyncTime` are `onPremisesSyncEnabled` /
//! `onPremisesLastSyncDateTime`; a domain's key is `name` (v1.0: `id`).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::Ctx;
use crate::auth::{Access, Area, require};
use crate::error::AadError;
use crate::ordered::json_response;
use crate::wire;

fn request_body(ctx: &Ctx) -> Result<Map<String, Value>, AadError> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AadError::bad_request("The request body must be a JSON object.")),
    }
}

/// `tenantDetails[/{id}]`.
pub(crate) async fn tenant_details(ctx: &Ctx, key: Option<&str>, depth: usize) -> Result<Response, AadError> {
    let tenant = ctx.state.directory.tenant(ctx.principal.tenant).await?.ok_or_else(AadError::internal)?;
    if depth > 2 {
        return Err(AadError::bad_url("tenantDetails"));
    }
    if let Some(k) = key
        && Uuid::parse_str(k).ok() != Some(tenant.id)
    {
        return Err(AadError::not_found(k));
    }
    match (&ctx.method, key) {
        (&Method::GET, _) => require(&ctx.principal, Area::Directory, Access::Read)?,
        (&Method::PATCH, Some(_)) => require(&ctx.principal, Area::Directory, Access::Write)?,
        _ => return Err(AadError::method_not_allowed()),
    }
    if ctx.method == Method::PATCH {
        let body = body_from_aad_tenant(&request_body(ctx)?)?;
        ctx.state.directory.update_organization(&ctx.caller(), &tenant.id.to_string(), &body).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let org = ctx.state.directory.organization(tenant.id).await?;
    let detail = Value::Object(wire::tenant_detail(&org, &tenant));
    let fragment = format!("directoryObjects/{}", wire::TENANT_DETAIL.odata_type());
    match key {
        None => {
            Ok(json_response(StatusCode::OK, json!({ "odata.metadata": ctx.metadata(&fragment), "value": [detail] })))
        }
        Some(_) => {
            let mut body = Map::new();
            body.insert("odata.metadata".into(), json!(ctx.metadata(&format!("{fragment}/@Element"))));
            if let Value::Object(m) = detail {
                body.extend(m);
            }
            Ok(json_response(StatusCode::OK, Value::Object(body)))
        }
    }
}

/// A 1.6 `TenantDetail` PATCH body as the v1.0 organization update it is.
fn body_from_aad_tenant(body: &Map<String, Value>) -> Result<Map<String, Value>, AadError> {
    let mut out = Map::new();
    for (key, value) in body {
        if key.starts_with("odata.") || key.eq_ignore_ascii_case("objectType") {
            continue;
        }
        let (name, value) = match key.as_str() {
            "telephoneNumber" => (
                "businessPhones",
                match value {
                    Value::Null => json!([]),
                    Value::String(s) if s.is_empty() => json!([]),
                    other => json!([other]),
                },
            ),
            "dirSyncEnabled" => ("onPremisesSyncEnabled", value.clone()),
            "companyLastDirSyncTime" => ("onPremisesLastSyncDateTime", value.clone()),
            "objectId" => ("id", value.clone()),
            other => (other, value.clone()),
        };
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

/// A v1.0 domain document in the 1.6 `Domain` shape.
fn domain_1_6(doc: &Map<String, Value>) -> Value {
    let get = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "odata.type": format!("{}.Domain", wire::NAMESPACE),
        "authenticationType": get("authenticationType"),
        "availabilityStatus": get("availabilityStatus"),
        "isAdminManaged": get("isAdminManaged"),
        "isDefault": get("isDefault"),
        "isDefaultForCloudRedirections": false,
        "isInitial": get("isInitial"),
        "isRoot": get("isRoot"),
        "isVerified": get("isVerified"),
        "name": get("id"),
        "supportedServices": get("supportedServices"),
        "passwordValidityPeriodInDays": get("passwordValidityPeriodInDays"),
        "passwordNotificationWindowInDays": get("passwordNotificationWindowInDays"),
    })
}

/// The domain a 1.6 path names: `domains('{name}')` in the first segment or `domains/{name}`.
fn domain_key(segs: &[String]) -> Result<Option<String>, AadError> {
    let first = segs.first().map(String::as_str).unwrap_or_default();
    let inline = first.get(7..).filter(|_| first.len() > 7 && first[..7].eq_ignore_ascii_case("domains"));
    let key = match (inline, segs.get(1)) {
        (Some(k), None) => {
            let k = k.strip_prefix("('").and_then(|k| k.strip_suffix("')")).ok_or_else(|| AadError::bad_url(first))?;
            Some(k.replace("''", "'"))
        }
        (Some(_), Some(s)) => return Err(AadError::bad_url(s)),
        (None, Some(k)) if segs.len() == 2 => Some(k.clone()),
        (None, Some(_)) => return Err(AadError::bad_url(&segs[2])),
        (None, None) => None,
    };
    Ok(key)
}

/// Whether a first segment addresses the `domains` set.
pub(crate) fn is_domains(first: &str) -> bool {
    first.eq_ignore_ascii_case("domains") || first.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("domains("))
}

/// `domains[...]`.
pub(crate) async fn domains(ctx: &Ctx, segs: &[String]) -> Result<Response, AadError> {
    let key = domain_key(segs)?;
    let tenant = ctx.principal.tenant;
    let dir = &ctx.state.directory;
    match (&ctx.method, key) {
        (&Method::GET, None) => {
            require(&ctx.principal, Area::Directory, Access::Read)?;
            let value: Vec<Value> = dir.domains(tenant).await?.iter().map(domain_1_6).collect();
            Ok(json_response(StatusCode::OK, json!({ "odata.metadata": ctx.metadata("domains"), "value": value })))
        }
        (&Method::GET, Some(k)) => {
            require(&ctx.principal, Area::Directory, Access::Read)?;
            let mut body = Map::new();
            body.insert("odata.metadata".into(), json!(ctx.metadata("domains/@Element")));
            if let Value::Object(m) = domain_1_6(&dir.domain(tenant, &k).await?) {
                body.extend(m);
            }
            Ok(json_response(StatusCode::OK, Value::Object(body)))
        }
        (&Method::POST, None) => {
            require(&ctx.principal, Area::Directory, Access::Write)?;
            let body = domain_body(&request_body(ctx)?);
            let created = dir.create_domain(&ctx.caller(), &body).await?;
            let mut out = Map::new();
            out.insert("odata.metadata".into(), json!(ctx.metadata("domains/@Element")));
            if let Value::Object(m) = domain_1_6(&created) {
                out.extend(m);
            }
            Ok(json_response(StatusCode::CREATED, Value::Object(out)))
        }
        (&Method::PATCH, Some(k)) => {
            require(&ctx.principal, Area::Directory, Access::Write)?;
            let body = domain_body(&request_body(ctx)?);
            dir.update_domain(&ctx.caller(), &k, &body).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::DELETE, Some(k)) => {
            require(&ctx.principal, Area::Directory, Access::Write)?;
            dir.delete_domain(&ctx.caller(), &k).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(AadError::method_not_allowed()),
    }
}

/// A 1.6 domain body as v1.0's: `name` is the key `id`; every other property keeps its name
/// and is validated (read-only ones refused) by the directory.
fn domain_body(body: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in body {
        if k.starts_with("odata.") {
            continue;
        }
        let name = match k.as_str() {
            "name" => "id",
            other => other,
        };
        out.insert(name.to_string(), v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_keys() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(domain_key(&s(&["domains"])).expect("ok"), None);
        assert_eq!(domain_key(&s(&["domains('contoso.com')"])).expect("ok").as_deref(), Some("contoso.com"));
        assert_eq!(domain_key(&s(&["Domains", "contoso.com"])).expect("ok").as_deref(), Some("contoso.com"));
        assert!(domain_key(&s(&["domains(contoso.com)"])).is_err());
        assert!(domain_key(&s(&["domains", "a.com", "x"])).is_err());
        assert!(is_domains("domains('x.com')") && is_domains("DOMAINS") && !is_domains("domainsx"));
    }
}
