//! One implementation of a Graph collection: OData options -> query plan -> page -> JSON, used
//! by every list route (users, groups, members, memberOf, deleted items).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cerulean_query::{Context, DynamicProperty, ListOptions, parse_list_options, parse_list_options_with};
use cerulean_schema::EntityType;
use cerulean_store::{ObjectRecord, Scope};
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::odata::{self, eventual, shape};
use crate::{GraphState, Principal};

/// Describes one collection route.
pub(crate) struct Collection<'a> {
    /// The type items are validated and shaped against (`user`; `directoryObject` for mixed).
    pub entity: &'static EntityType,
    /// Object types to return; empty = any.
    pub types: &'a [&'a str],
    pub scope: Scope,
    /// The `@odata.context` fragment (`users`, `directoryObjects`, ...).
    pub context: String,
    /// The request path (for the next link), e.g. `/v1.0/groups/{id}/members`.
    pub path: String,
}

/// Query options as decoded key/value pairs.
type Params = Vec<(String, String)>;

/// The declared types of `coll.types` that derive from `coll.entity` (a polymorphic set such
/// as `namedLocations`: `ipNamedLocation`, `countryNamedLocation`); empty for a plain set.
fn derived_types(coll: &Collection<'_>) -> Vec<&'static EntityType> {
    if coll.entity.name == "directoryObject" {
        return Vec::new();
    }
    coll.types
        .iter()
        .filter(|t| !t.eq_ignore_ascii_case(coll.entity.name))
        .filter_map(|t| cerulean_schema::entity(t))
        .filter(|e| e.is_a(coll.entity.name))
        .collect()
}

/// The type an object is shaped as in a set of `entity`: its own declared type when that
/// derives from `entity` (with `@odata.type`, as Graph returns derived types), else `entity`.
pub(crate) fn concrete(entity: &'static EntityType, record: &ObjectRecord) -> (&'static EntityType, bool) {
    if record.object_type.eq_ignore_ascii_case(entity.name) {
        return (entity, false);
    }
    match cerulean_schema::entity(&record.object_type) {
        Some(e) if e.is_a(entity.name) => (e, true),
        _ => (entity, false),
    }
}

/// `isof('microsoft.graph.ipNamedLocation')` in the `$filter` of a polymorphic set (Graph's
/// documented way to list one kind of named location): the derived type it names narrows the
/// types listed, and the rest of the filter, joined to it with `and`, filters as usual (and may
/// name that type's own properties). Returns the options without the `isof` term and the type
/// named (`None` without `isof`).
fn type_filter(
    coll: &Collection<'_>,
    params: &[(String, String)],
) -> Result<(Params, Option<&'static EntityType>), GraphError> {
    let derived = derived_types(coll);
    let mut out = Vec::with_capacity(params.len());
    let mut only = None;
    for (k, v) in params {
        let is_filter = k.trim_start_matches('$').eq_ignore_ascii_case("filter");
        let Some(start) = v.to_ascii_lowercase().find("isof(").filter(|_| is_filter && !derived.is_empty()) else {
            out.push((k.clone(), v.clone()));
            continue;
        };
        let unsupported = || {
            GraphError::new(
                400,
                "BadRequest",
                "isof() is supported alone, or joined to the rest of the filter with 'and'.".to_string(),
            )
        };
        let close = v[start..].find(')').map(|i| start + i).ok_or_else(unsupported)?;
        let name = v[start + 5..close].trim().trim_matches('\'').trim_start_matches('#');
        let name = name.strip_prefix("microsoft.graph.").unwrap_or(name);
        let ty: &'static EntityType =
            derived.iter().copied().find(|e| e.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
                GraphError::new(
                    400,
                    "BadRequest",
                    format!(
                        "'{name}' is not a type of the items of this collection (microsoft.graph.{}).",
                        coll.entity.name
                    ),
                )
            })?;
        let (before, after) = (v[..start].trim(), v[close + 1..].trim());
        let and = |s: &str, prefix: bool| -> Option<String> {
            let lower = s.to_ascii_lowercase();
            let rest = if prefix {
                lower.strip_prefix("and ").map(|_| &s[4..])
            } else {
                lower.strip_suffix(" and").map(|_| &s[..s.len() - 4])
            };
            rest.map(|r| r.trim().to_string()).filter(|r| !r.is_empty() && !r.to_ascii_lowercase().contains("isof("))
        };
        let rest = match (before.is_empty(), after.is_empty()) {
            (true, true) => None,
            (true, false) => Some(and(after, true).ok_or_else(unsupported)?),
            (false, true) => Some(and(before, false).ok_or_else(unsupported)?),
            (false, false) => return Err(unsupported()),
        };
        if let Some(rest) = rest {
            out.push((k.clone(), rest));
        }
        only = Some(ty);
    }
    Ok((out, only))
}

/// The object types a list reads: the one `isof` named, else the collection's.
fn narrowed_types<'a>(coll: &Collection<'a>, only: Option<&'static EntityType>) -> &'a [&'a str] {
    match only {
        Some(e) => std::slice::from_ref(&e.name),
        None => coll.types,
    }
}

/// Splits `$select` off `params`, checking each name against `candidates` (a base type and the
/// types derived from it, or the member types of a mixed collection); names come back in
/// their declared spelling. The other options are returned as they were.
fn select_over(
    params: &[(String, String)],
    candidates: &[&'static EntityType],
    owner: &str,
) -> Result<(Option<Vec<String>>, Params), GraphError> {
    let mut rest = Vec::new();
    let mut select = None;
    for (k, v) in params {
        if !k.trim_start_matches('$').eq_ignore_ascii_case("select") {
            rest.push((k.clone(), v.clone()));
            continue;
        }
        let mut names = Vec::new();
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match candidates.iter().find_map(|e| e.property(name)) {
                Some(p) => names.push(p.name.to_string()),
                None => {
                    return Err(GraphError::new(
                        400,
                        "BadRequest",
                        format!("Could not find a property named '{name}' on type 'microsoft.graph.{owner}'."),
                    ));
                }
            }
        }
        select = Some(names);
    }
    Ok((select, rest))
}

/// Parses options; for mixed collections `$select` is checked against every concrete type.
/// For a single-type collection, the tenant's directory extensions of that type are
/// selectable and filterable. `only` is the derived type an `isof` narrowed a polymorphic set
/// to (its own properties are then filterable).
async fn options(
    state: &GraphState,
    principal: &Principal,
    coll: &Collection<'_>,
    params: &[(String, String)],
    only: Option<&'static EntityType>,
    headers: &HeaderMap,
) -> Result<ListOptions, GraphError> {
    let ctx = Context { consistency_eventual: eventual(headers) };
    let derived = derived_types(coll);
    if !derived.is_empty() {
        // A polymorphic set: `$filter` and `$orderby` name the base type's properties (or those
        // of the type `isof` names), `$select` any of the base's or a derived type's.
        let candidates: Vec<&'static EntityType> = std::iter::once(coll.entity).chain(derived).collect();
        let (select, rest) = select_over(params, &candidates, coll.entity.name)?;
        let mut opts = parse_list_options(&rest, only.unwrap_or(coll.entity), &ctx)?;
        opts.select = select;
        return Ok(opts);
    }
    if coll.entity.name != "directoryObject" {
        crate::csa::check_filter(principal, params)?;
        let dynamic = crate::extensions::dynamic_properties(state, principal.tenant, coll.entity.name, params).await?;
        return Ok(parse_list_options_with(params, coll.entity, &ctx, &dynamic)?);
    }
    // Mixed collection: validate $select against the union of member types.
    let members: Vec<&'static EntityType> =
        ["user", "group", "device", "orgContact", "administrativeUnit", "directoryObject"]
            .iter()
            .filter_map(|t| cerulean_schema::entity(t))
            .collect();
    let (select, rest) = select_over(params, &members, "directoryObject")?;
    let mut opts = parse_list_options(&rest, coll.entity, &ctx)?;
    opts.select = select;
    Ok(opts)
}

/// The largest page Graph serves when a list request carries `$expand`.
const EXPAND_PAGE_MAX: usize = 100;

/// A list of deleted items first purges what has had its 30 days in the recycle bin.
async fn sweep_if_recycle_bin(
    state: &GraphState,
    principal: &Principal,
    coll: &Collection<'_>,
) -> Result<(), GraphError> {
    if matches!(coll.scope, cerulean_store::Scope::Deleted) {
        state.directory.sweep_recycle_bin(principal.tenant).await?;
    }
    Ok(())
}

/// Serves one page of a collection.
pub(crate) async fn list(
    state: &GraphState,
    principal: &Principal,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    coll: Collection<'_>,
) -> Result<Response, GraphError> {
    let params = odata::parse_query(raw_query)?;
    let (narrowed, only) = type_filter(&coll, &params)?;
    let opts = options(state, principal, &coll, &narrowed, only, headers).await?;
    sweep_if_recycle_bin(state, principal, &coll).await?;
    list_parsed(state, principal, &params, &opts, coll, only).await
}

/// [`list`] once the options are parsed (`only`: the derived type an `isof` filter narrowed
/// the collection to).
async fn list_parsed(
    state: &GraphState,
    principal: &Principal,
    params: &[(String, String)],
    opts: &ListOptions,
    coll: Collection<'_>,
    only: Option<&'static EntityType>,
) -> Result<Response, GraphError> {
    let mut query = opts.to_list_query(narrowed_types(&coll, only), coll.scope.clone());
    crate::expand::check(&opts.expand)?;
    if !opts.expand.is_empty() {
        // Graph serves at most 100 directory objects per page when `$expand` is present,
        // whatever `$top` asks for (known issue 13635); the rest follows by `@odata.nextLink`.
        query.top = query.top.min(EXPAND_PAGE_MAX);
    }
    let page = state.directory.list(principal.tenant, &query).await?;
    let mixed = coll.entity.name == "directoryObject";
    let select = opts.select.as_deref();
    let mut items: Vec<Value> = Vec::with_capacity(page.items.len());
    for rec in &page.items {
        let (entity, typed) = if mixed {
            (cerulean_schema::entity(&rec.object_type).unwrap_or(coll.entity), true)
        } else {
            concrete(coll.entity, rec)
        };
        let mut item = shape(entity, rec, select, typed);
        crate::csa::redact(principal, &mut item);
        crate::expand::expand_into(state, principal, rec, &opts.expand, &mut item).await?;
        items.push(Value::Object(item));
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata::context(&state.base(), &coll.context, if mixed { None } else { select }, false)),
    );
    if let Some(count) = page.count {
        body.insert("@odata.count".into(), json!(count));
    }
    if let Some(next) = &page.next {
        body.insert(
            "@odata.nextLink".into(),
            json!(odata::next_link(&state.public_url, &coll.path, params, &opts.skiptoken(next))),
        );
    }
    body.insert("value".into(), Value::Array(items));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// [`list`] of a membership reach of mixed types (`transitiveMemberOf`, `transitiveMembers`,
/// and the direct `memberOf`): `coll.scope` is [`Scope::Among`] the ids the directory's
/// membership graph computed at position `seen_at`
/// ([`cerulean_directory::Directory::transitive_ids_at`], `direct_ids_at`): sorted, each
/// live and of `coll.types`. Without `$filter`, `$search`, `$orderby`, `$select` or `$expand`,
/// the page is cut from those ids directly, and each item is the rendering the directory kept
/// for it ([`cerulean_directory::Directory::rendered`]) or, the first time, its document read,
/// shaped and serialized, then kept; the answer is the one [`list`] gives. Otherwise [`list`].
pub(crate) async fn list_reach(
    state: &GraphState,
    principal: &Principal,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    coll: Collection<'_>,
    seen_at: u64,
) -> Result<Response, GraphError> {
    let params = odata::parse_query(raw_query)?;
    let opts = options(state, principal, &coll, &params, None, headers).await?;
    let plain = coll.entity.name == "directoryObject"
        && opts.filter.is_none()
        && opts.search.is_none()
        && opts.order.is_empty()
        && opts.select.is_none()
        && opts.expand.is_empty()
        && opts.after.as_ref().is_none_or(|c| c.values.is_empty());
    let Scope::Among(ids) = &coll.scope else { return list_parsed(state, principal, &params, &opts, coll, None).await };
    if !plain {
        return list_parsed(state, principal, &params, &opts, coll, None).await;
    }
    let tenant = principal.tenant;
    let top = opts.to_list_query(coll.types, Scope::Live).top.max(1);
    // Keyset paging in id order, as the store pages a collection without `$orderby`.
    let start = opts.after.as_ref().map_or(0, |c| ids.partition_point(|id| *id <= c.id));
    let end = start.saturating_add(top).min(ids.len());
    let page = &ids[start..end];
    let kept = state.directory.rendered(tenant, page).await;
    let missing: Vec<uuid::Uuid> = page.iter().zip(&kept).filter(|(_, k)| k.is_none()).map(|(id, _)| *id).collect();
    let mut fresh: std::collections::HashMap<uuid::Uuid, std::sync::Arc<str>> = std::collections::HashMap::new();
    if !missing.is_empty() {
        let mut keep = Vec::with_capacity(missing.len());
        for rec in state.directory.get_many(tenant, &missing).await? {
            let entity = cerulean_schema::entity(&rec.object_type).unwrap_or(coll.entity);
            let mut item = shape(entity, &rec, None, true);
            // What the caller may see of custom security attributes depends on the caller:
            // an item holding any is rendered per request, never kept.
            let shared = crate::custom_security_attributes::is_unassigned(&item);
            crate::custom_security_attributes::redact(principal, &mut item);
            let text: std::sync::Arc<str> = Value::Object(item).to_string().into();
            if shared {
                keep.push((rec.id, text.clone()));
            }
            fresh.insert(rec.id, text);
        }
        state.directory.keep_rendered(tenant, seen_at, keep).await;
    }
    let mut head = Map::new();
    head.insert("@odata.context".into(), json!(odata::context(&state.base(), &coll.context, None, false)));
    if opts.count {
        head.insert("@odata.count".into(), json!(ids.len()));
    }
    if end < ids.len() && end > start {
        let next = cerulean_store::Cursor { values: Vec::new(), id: ids[end - 1] };
        head.insert(
            "@odata.nextLink".into(),
            json!(odata::next_link(&state.public_url, &coll.path, &params, &opts.skiptoken(&next))),
        );
    }
    let mut body = Value::Object(head).to_string();
    body.pop(); // the head's closing brace: "value" follows, last, as in `list`
    body.push_str(",\"value\":[");
    let mut first = true;
    for (id, k) in page.iter().zip(kept) {
        // An object deleted since the graph was read has no document: left out, as the store would.
        let Some(text) = k.or_else(|| fresh.get(id).cloned()) else { continue };
        if !first {
            body.push(',');
        }
        first = false;
        body.push_str(&text);
    }
    body.push_str("]}");
    Ok(odata::json_text(StatusCode::OK, body))
}

/// Serves the `/$count` segment of a collection: the number as `text/plain`.
pub(crate) async fn count(
    state: &GraphState,
    principal: &Principal,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    coll: Collection<'_>,
) -> Result<Response, GraphError> {
    cerulean_query::check_count_segment(&Context { consistency_eventual: eventual(headers) })?;
    let mut params = odata::parse_query(raw_query)?;
    params.retain(|(k, _)| !k.trim_start_matches('$').eq_ignore_ascii_case("count"));
    params.push(("$count".into(), "true".into()));
    let (params, only) = type_filter(&coll, &params)?;
    let opts = options(state, principal, &coll, &params, only, headers).await?;
    sweep_if_recycle_bin(state, principal, &coll).await?;
    let mut query = opts.to_list_query(narrowed_types(&coll, only), coll.scope.clone());
    query.top = 1;
    let page = state.directory.list(principal.tenant, &query).await?;
    let n = page.count.unwrap_or(0);
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain;charset=utf-8")], n.to_string()).into_response())
}

/// `$select` and `$expand` for a single-object GET (other list options do not apply there).
pub(crate) fn single_options(
    entity: &'static EntityType,
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<ListOptions, GraphError> {
    single_options_with(entity, raw_query, headers, &[])
}

/// [`single_options`], with tenant-defined extension properties selectable.
pub(crate) fn single_options_with(
    entity: &'static EntityType,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    dynamic: &[DynamicProperty],
) -> Result<ListOptions, GraphError> {
    let params: Vec<(String, String)> = odata::parse_query(raw_query)?
        .into_iter()
        .filter(|(k, _)| {
            let k = k.trim_start_matches('$').to_ascii_lowercase();
            k == "select" || k == "expand"
        })
        .collect();
    let ctx = Context { consistency_eventual: eventual(headers) };
    let opts = parse_list_options_with(&params, entity, &ctx, dynamic)?;
    crate::expand::check(&opts.expand)?;
    Ok(opts)
}

/// [`single_options`] for a polymorphic set: `$select` may name a derived type's properties.
pub(crate) fn single_options_polymorphic(
    entity: &'static EntityType,
    derived: &[&str],
    raw_query: Option<&str>,
    headers: &HeaderMap,
) -> Result<ListOptions, GraphError> {
    let params: Vec<(String, String)> = odata::parse_query(raw_query)?
        .into_iter()
        .filter(|(k, _)| {
            let k = k.trim_start_matches('$').to_ascii_lowercase();
            k == "select" || k == "expand"
        })
        .collect();
    let candidates: Vec<&'static EntityType> =
        std::iter::once(entity).chain(derived.iter().filter_map(|t| cerulean_schema::entity(t))).collect();
    let (select, rest) = select_over(&params, &candidates, entity.name)?;
    let ctx = Context { consistency_eventual: eventual(headers) };
    let mut opts = parse_list_options(&rest, entity, &ctx)?;
    crate::expand::check(&opts.expand)?;
    opts.select = select;
    Ok(opts)
}

/// Renders one object for a single-object GET: context, shape, expansions.
pub(crate) async fn single(
    state: &GraphState,
    principal: &Principal,
    set: &str,
    entity: &'static EntityType,
    record: &cerulean_store::ObjectRecord,
    opts: &ListOptions,
) -> Result<Response, GraphError> {
    let body = single_body(state, principal, set, entity, record, opts).await?;
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// The body of [`single`].
pub(crate) async fn single_body(
    state: &GraphState,
    principal: &Principal,
    set: &str,
    entity: &'static EntityType,
    record: &cerulean_store::ObjectRecord,
    opts: &ListOptions,
) -> Result<Map<String, Value>, GraphError> {
    let select = opts.select.as_deref();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(odata::context(&state.base(), set, select, true)));
    let (entity, typed) = concrete(entity, record);
    body.extend(shape(entity, record, select, typed));
    crate::csa::redact(principal, &mut body);
    crate::expand::expand_into(state, principal, record, &opts.expand, &mut body).await?;
    Ok(body)
}
