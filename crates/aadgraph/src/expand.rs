//! `$expand` on 1.6 reads: an object with its linked objects ("Supported queries, filters, and
//! paging options", Azure AD Graph reference: `groups/{id}?$expand=members`,
//! `users/{upn}?$expand=directReports`, `users/{upn}?$expand=manager`). A single-valued
//! navigation (`manager`) is inlined as an object or `null`, a collection-valued one as an array;
//! "The maximum number of returned objects for a request is 20", per expanded property.

use cerulean_store::{ListQuery, ObjectRecord};
use serde_json::{Map, Value};

use crate::Ctx;
use crate::error::AadError;
use crate::handlers::navigation_scope;
use crate::wire;

/// Objects returned per expanded property.
pub const MAX_EXPANDED: usize = 20;

/// The navigation properties of `$expand`, checked against `object_type` and canonically named.
pub(crate) fn parse(text: &str, object_type: &str) -> Result<Vec<&'static str>, AadError> {
    let mut out: Vec<&'static str> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let canonical = canonical(object_type, item).ok_or_else(|| {
            let ty = wire::by_entity(object_type).map(|t| t.odata_type()).unwrap_or_else(|| object_type.to_string());
            AadError::bad_request(format!(
                "Could not find a navigation property named '{item}' on type '{ty}' to expand."
            ))
        })?;
        if !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    if out.is_empty() {
        return Err(AadError::bad_request("The $expand query option names no navigation property."));
    }
    Ok(out)
}

fn canonical(object_type: &str, name: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("manager") {
        return (object_type == "user").then_some("manager");
    }
    navigation_scope(object_type, uuid::Uuid::nil(), name).map(|(n, _)| n)
}

/// Adds the expanded properties of `record` to its shaped form.
pub(crate) async fn apply(
    ctx: &Ctx,
    record: &ObjectRecord,
    names: &[&'static str],
    out: &mut Map<String, Value>,
) -> Result<(), AadError> {
    let d = &ctx.state.directory;
    let tenant = ctx.principal.tenant;
    for name in names {
        if *name == "manager" {
            let manager = d.manager_of(tenant, record.id).await?;
            out.insert("manager".into(), manager.map(|m| Value::Object(wire::shape_any(&m))).unwrap_or(Value::Null));
            continue;
        }
        let Some((_, scope)) = navigation_scope(&record.object_type, record.id, name) else {
            continue;
        };
        let mut q = ListQuery::new(&[], scope);
        q.top = MAX_EXPANDED;
        let page = d.list(tenant, &q).await?;
        out.insert(
            (*name).to_string(),
            Value::Array(page.items.iter().map(|r| Value::Object(wire::shape_any(r))).collect()),
        );
    }
    Ok(())
}
