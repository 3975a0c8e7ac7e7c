//! Delta queries (`GET /users/delta`, `/groups/delta`, `/applications/delta`,
//! `/servicePrincipals/delta`): Graph's wire shape over the
//! directory's delta rounds ([`cerulean_directory::delta`]).
//!
//! Behaviour, from the Microsoft Graph docs ("user: delta", "group: delta", "Use delta query to
//! track changes in Microsoft Graph data", "Get incremental changes for groups"):
//! - the first request pages the current state with `@odata.nextLink` (`$skiptoken`) and ends
//!   with `@odata.deltaLink` (`$deltatoken`); a page never has both;
//! - "If you use any query parameter (other than `$deltatoken` and `$skiptoken`), you must
//!   specify it in the initial delta request. Microsoft Graph automatically encodes any specified
//!   parameters into the token portion of the nextLink or deltaLink URL": the token carries the
//!   type, `$select` and `$filter`, and options sent beside a token are ignored;
//! - `$select` limits the tracked and returned properties ("The id property is always
//!   returned"); `members`/`owners` (groups) and `manager` (users) select relationship
//!   tracking, reported as `members@delta` entries `{"@odata.type", "id"}`, removed ones with
//!   `"@removed": {"reason": "deleted"}`; groups track `members` when there is no `$select`;
//! - "The only supported `$filter` expression is for tracking changes on a specific object:
//!   `$filter=id+eq+{value}`. You can filter multiple objects ... There is a limit of 50";
//! - `$deltatoken=latest` answers only a deltaLink ("sync from now");
//! - removed objects are `{"id", "@removed": {"reason": "changed" | "deleted"}}`;
//! - `$expand`, `$orderby` and `$top` are "not supported" for users and groups; the page size
//!   follows `Prefer: odata.maxpagesize=n` (1 to 999, answered with `Preference-Applied`);
//! - an expired token is a 400 `syncStateNotFound` (see
//!   [`cerulean_directory::delta::expired_token`]).
//!
//! Not modelled: `Prefer: return=minimal` (the default, full representation is always valid).
//!
//! Tokens: base64url (no padding) of a version byte and the compact JSON of the directory's
//! [`DeltaToken`] (tenant, type, select, relations, ids, position). They hold no secret: a forged
//! token only reads what the caller may read anyway, and the directory refuses positions it never
//! reached and tokens of another tenant.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cerulean_directory::delta::{DELTA_TYPES, DIRECTORY_OBJECT, DeltaType, MAX_DELTA_IDS, delta_type, invalid_token};
use cerulean_directory::{DeltaItem, DeltaPosition, DeltaQuery, DeltaToken, LinkChange};
use cerulean_query::{Expr, Literal, QueryError};
use cerulean_schema::EntityType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::entity_sets::EntitySet;
use crate::error::GraphError;
use crate::odata::{self, shape};
use crate::{GraphState, Principal};

/// Format version of the token bytes.
const TOKEN_VERSION: u8 = 1;
/// Longest token accepted: 50 ids and a long `$select` fit well below it.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Page size without `Prefer: odata.maxpagesize`.
const DEFAULT_PAGE: usize = 100;
/// Largest page, as for `$top` on lists.
const MAX_PAGE: usize = 999;

/// `GET /{set}/delta` of any entity set whose type the directory declares in
/// [`cerulean_directory::delta::DELTA_TYPES`]: serving delta on another set is that declaration
/// and one route line (see `lib.rs`).
pub(crate) async fn delta<S: EntitySet>(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    serve(&state, &p, &headers, q.as_deref(), S::SET, S::TYPE).await
}

async fn serve(
    state: &GraphState,
    principal: &Principal,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    set: &str,
    object_type: &str,
) -> Result<Response, GraphError> {
    let entity = cerulean_schema::entity(object_type)
        .ok_or_else(|| GraphError::new(500, "Service_InternalServerError", "An internal server error occurred."))?;
    let ty = delta_type(object_type)
        .ok_or_else(|| GraphError::new(500, "Service_InternalServerError", "An internal server error occurred."))?;
    let params = odata::parse_query(raw_query)?;
    let opts = RawOptions::parse(&params, entity.name)?;
    let (select, relations) = parse_select(opts.select.as_deref(), entity, ty)?;
    let ids = match opts.filter.as_deref() {
        Some(text) => parse_id_filter(text)?,
        None => Vec::new(),
    };
    let query = DeltaQuery { object_type: ty.object_type.to_string(), types: Vec::new(), select, relations, ids };
    let render_item = |item: &DeltaItem, select: Option<&[String]>| render(entity, item, select, false);
    run(state, principal, headers, opts.token, query, set, &render_item).await
}

/// Renders one item of a page with the round's `$select` (per route: one type, or each
/// object's own type).
type RenderItem<'a> = dyn Fn(&DeltaItem, Option<&[String]>) -> Map<String, Value> + Sync + 'a;

/// One request of a round, once its options are known: resolves the token (or starts a round
/// with `query`), reads a page and answers it with `@odata.nextLink` or `@odata.deltaLink`.
async fn run(
    state: &GraphState,
    principal: &Principal,
    headers: &HeaderMap,
    token_param: Option<TokenParam>,
    query: DeltaQuery,
    set: &str,
    render_item: &RenderItem<'_>,
) -> Result<Response, GraphError> {
    let page_size = max_page_size(headers)?;
    let directory = &state.directory;
    let token = match &token_param {
        Some(TokenParam::Latest) => directory.delta_start(principal.tenant, query, true).await?,
        Some(TokenParam::Value(text)) => {
            let token = decode_token(text)?;
            if token.query.object_type != query.object_type {
                return Err(invalid_token().into());
            }
            token
        }
        None => directory.delta_start(principal.tenant, query, false).await?,
    };
    if token.query.object_type == DIRECTORY_OBJECT {
        // A token carries its types: the caller must still be allowed to read each of them.
        authorize_types(principal, &token.query.types)?;
    }
    let path = format!("/{}/{}/delta", state.version, set);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata::context(&state.base(), set, token.query.select.as_deref().filter(|s| !s.is_empty()), false)),
    );
    if matches!(token_param, Some(TokenParam::Latest)) {
        body.insert("@odata.deltaLink".into(), json!(link(&state.public_url, &path, "$deltatoken", &token)));
        body.insert("value".into(), json!([]));
        return Ok(respond(body, page_size));
    }
    let page = directory.delta_page(principal.tenant, &token, page_size.unwrap_or(DEFAULT_PAGE)).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|i| {
            let mut item = render_item(i, token.query.select.as_deref());
            crate::csa::redact(principal, &mut item);
            Value::Object(item)
        })
        .collect();
    let (key, param) = if page.done { ("@odata.deltaLink", "$deltatoken") } else { ("@odata.nextLink", "$skiptoken") };
    body.insert(key.into(), json!(link(&state.public_url, &path, param, &page.next)));
    body.insert("value".into(), Value::Array(items));
    Ok(respond(body, page_size))
}

fn respond(body: Map<String, Value>, page_size: Option<usize>) -> Response {
    let mut res = odata::json(StatusCode::OK, Value::Object(body));
    if let Some(n) = page_size
        && let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}"))
    {
        res.headers_mut().insert("preference-applied", v);
    }
    res
}

/// `{public_url}{path}?{param}={token}`: the token is base64url, safe in a query as is.
fn link(public_url: &str, path: &str, param: &str, token: &DeltaToken) -> String {
    format!("{public_url}{path}?{param}={}", encode_token(token))
}

/// One item: the object in the tracked shape with its `{relation}@delta` annotations, or its
/// removal; with `with_type` (a collection of several types), each carries `@odata.type`.
fn render(entity: &EntityType, item: &DeltaItem, select: Option<&[String]>, with_type: bool) -> Map<String, Value> {
    match item {
        DeltaItem::Removed { id, object_type, reason } => {
            let mut out = Map::new();
            if with_type {
                out.insert("@odata.type".into(), json!(format!("#microsoft.graph.{object_type}")));
            }
            out.insert("id".into(), json!(id.to_string()));
            out.insert("@removed".into(), json!({ "reason": reason.as_str() }));
            out
        }
        DeltaItem::Object { record, links } => {
            // "The id property is always returned."
            let with_id: Option<Vec<String>> = select
                .map(|s| std::iter::once("id".to_string()).chain(s.iter().filter(|n| *n != "id").cloned()).collect());
            let mut out = shape(entity, record, with_id.as_deref(), with_type);
            let mut relations: Vec<&str> = links.iter().map(|l| l.relation).collect();
            relations.dedup();
            for relation in relations {
                let entries: Vec<Value> = links.iter().filter(|l| l.relation == relation).map(link_entry).collect();
                out.insert(format!("{relation}@delta"), Value::Array(entries));
            }
            out
        }
    }
}

/// A `members@delta` entry: "Only the id property of the related resource is returned", with
/// its `@odata.type` (the "group: delta" examples), and `@removed` for a removed link.
fn link_entry(l: &LinkChange) -> Value {
    let ty = l.target_type.as_deref().unwrap_or("directoryObject");
    let mut v = json!({ "@odata.type": format!("#microsoft.graph.{ty}"), "id": l.target.to_string() });
    if l.removed {
        v["@removed"] = json!({ "reason": "deleted" });
    }
    v
}

/// `$deltatoken` / `$skiptoken`.
enum TokenParam {
    Latest,
    Value(String),
}

/// The options of a delta request, as sent (their meaning depends on the route).
struct RawOptions {
    token: Option<TokenParam>,
    select: Option<String>,
    filter: Option<String>,
}

impl RawOptions {
    /// `entity` names the resource in the error of an unsupported option.
    fn parse(params: &[(String, String)], entity: &str) -> Result<Self, GraphError> {
        let mut out = RawOptions { token: None, select: None, filter: None };
        for (key, value) in params {
            let (dollar, name) = match key.strip_prefix('$') {
                Some(rest) => (true, rest.to_ascii_lowercase()),
                None => (false, key.to_ascii_lowercase()),
            };
            match name.as_str() {
                "deltatoken" if value.eq_ignore_ascii_case("latest") => out.token = Some(TokenParam::Latest),
                "deltatoken" | "skiptoken" => out.token = Some(TokenParam::Value(value.clone())),
                "select" => out.select = Some(value.clone()),
                // The Graph SDKs send `$filter`; "directoryObject: delta" documents `filter=` too.
                "filter" => out.filter = Some(value.clone()),
                "format" => {}
                "expand" | "orderby" | "top" | "search" | "count" | "skip" => {
                    return Err(GraphError::new(
                        400,
                        "Request_UnsupportedQuery",
                        format!(
                            "The query parameter '${name}' is not supported with change tracking over the '{entity}' resource."
                        ),
                    ));
                }
                _ if dollar => {
                    return Err(GraphError::new(
                        400,
                        "BadRequest",
                        format!("The query parameter '{key}' is not supported."),
                    ));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Splits `$select` into properties (validated as for lists) and tracked relationships. Without
/// `$select`, the type's default relationships are tracked.
fn parse_select(
    text: Option<&str>,
    entity: &EntityType,
    ty: &'static DeltaType,
) -> Result<(Option<Vec<String>>, Vec<String>), GraphError> {
    let Some(text) = text else {
        return Ok((None, ty.default_relations.iter().map(|r| r.to_string()).collect()));
    };
    let mut relations = Vec::new();
    let mut props = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        match ty.relations.iter().find(|(name, _)| name.eq_ignore_ascii_case(item)) {
            Some((name, _)) if !relations.iter().any(|r: &String| r == name) => relations.push(name.to_string()),
            Some(_) => {}
            None => props.push(item),
        }
    }
    let select = match props.is_empty() {
        true => Vec::new(),
        false => cerulean_query::parse_select(&props.join(","), entity).map_err(GraphError::from)?.unwrap_or_default(),
    };
    if select.is_empty() && relations.is_empty() {
        return Ok((None, ty.default_relations.iter().map(|r| r.to_string()).collect()));
    }
    Ok((Some(select), relations))
}

fn unsupported_filter() -> GraphError {
    GraphError::new(
        400,
        "Request_UnsupportedQuery",
        "Unsupported query: only $filter=id eq '{id}', combined with 'or', is supported on delta queries.",
    )
}

/// `id eq '...' [or id eq '...']...`, at most [`MAX_DELTA_IDS`] ids.
fn parse_id_filter(text: &str) -> Result<Vec<Uuid>, GraphError> {
    let expr = cerulean_query::parse_filter(text).map_err(GraphError::from)?;
    let mut ids = Vec::new();
    collect_ids(&expr, &mut ids)?;
    if ids.len() > MAX_DELTA_IDS {
        return Err(GraphError::new(
            400,
            "Request_UnsupportedQuery",
            format!("Too many ids in $filter: at most {MAX_DELTA_IDS} objects can be tracked by id."),
        ));
    }
    Ok(ids)
}

fn collect_ids(expr: &Expr, out: &mut Vec<Uuid>) -> Result<(), GraphError> {
    match expr {
        Expr::Or(items) => items.iter().try_for_each(|e| collect_ids(e, out)),
        Expr::Compare { op: cerulean_query::ast::CmpOp::Eq, left, right } => {
            let literal = match (left.as_ref(), right.as_ref()) {
                (Expr::Path(p), Expr::Literal(l)) | (Expr::Literal(l), Expr::Path(p))
                    if p.len() == 1 && p[0].eq_ignore_ascii_case("id") =>
                {
                    l
                }
                _ => return Err(unsupported_filter()),
            };
            let id = match literal {
                Literal::Guid(g) => *g,
                Literal::String(s) => Uuid::parse_str(s).map_err(|_| {
                    GraphError::new(400, "Request_BadRequest", format!("Invalid object identifier '{s}'."))
                })?,
                _ => return Err(unsupported_filter()),
            };
            if !out.contains(&id) {
                out.push(id);
            }
            Ok(())
        }
        _ => Err(unsupported_filter()),
    }
}

/// `GET /directoryObjects/delta` ("directoryObject: delta"): one round over several object
/// types. "Filtering is required on either the id of the derived type or the derived type
/// itself": `$filter=isof('microsoft.graph.user')`, several `isof` joined by `or`, and
/// `id eq '{id}'` (at most 50), which may be combined (`isof(...) or id eq '...'` gives "the
/// intersection of objects matched by the specified resource type and the id"). Each item
/// carries its `@odata.type`, removed ones too; `$select` names properties of any tracked type
/// (each object returns those its type has). The round is one snapshot of all the tracked types
/// ordered by id, then one cursor over their change-log entries, so a token is one position
/// whatever the number of types. Relationship tracking (`members@delta`) is the typed routes'.
///
/// Permissions are those of the tracked types' own delta routes (the page's table: user
/// User.Read.All, group Group.Read.All, ...): an `isof` type the caller may not read is a 403;
/// with only `id eq` filters the round tracks the types the caller may read.
pub(crate) async fn directory_objects(
    State(state): State<GraphState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, GraphError> {
    let params = odata::parse_query(q.as_deref())?;
    let opts = RawOptions::parse(&params, DIRECTORY_OBJECT)?;
    let (types, ids) = match (&opts.token, opts.filter.as_deref()) {
        // The token carries the types and ids; options beside it are ignored.
        (Some(TokenParam::Value(_)), _) => (Vec::new(), Vec::new()),
        (_, Some(text)) => parse_objects_filter(text)?,
        (_, None) => return Err(filter_required()),
    };
    let types = match types.is_empty() {
        false => {
            authorize_types(&p, &types)?;
            types
        }
        true if matches!(opts.token, Some(TokenParam::Value(_))) => Vec::new(),
        true => {
            let readable: Vec<String> = DELTA_TYPES
                .iter()
                .map(|t| t.object_type.to_string())
                .filter(|t| authorize_types(&p, std::slice::from_ref(t)).is_ok())
                .collect();
            if readable.is_empty() {
                return Err(forbidden());
            }
            readable
        }
    };
    let select = match opts.select.as_deref() {
        Some(text) if !matches!(opts.token, Some(TokenParam::Value(_))) => objects_select(text, &types)?,
        _ => None,
    };
    let query = DeltaQuery { object_type: DIRECTORY_OBJECT.to_string(), types, select, relations: Vec::new(), ids };
    let render_item = |item: &DeltaItem, select: Option<&[String]>| {
        let object_type = match item {
            DeltaItem::Object { record, .. } => record.object_type.as_str(),
            DeltaItem::Removed { object_type, .. } => object_type.as_str(),
        };
        match cerulean_schema::entity(object_type) {
            Some(entity) => render(entity, item, select, true),
            None => Map::new(),
        }
    };
    run(&state, &p, &headers, opts.token, query, "directoryObjects", &render_item).await
}

fn forbidden() -> GraphError {
    GraphError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

/// The caller may read each of `types`: it holds a permission of that type's own delta route.
fn authorize_types(principal: &Principal, types: &[String]) -> Result<(), GraphError> {
    for t in types {
        let set = cerulean_schema::entity(t).and_then(|e| e.entity_set).ok_or_else(forbidden)?;
        if !crate::auth::permitted(principal, "GET", &format!("/{}/delta", set.to_ascii_lowercase())) {
            return Err(forbidden());
        }
    }
    Ok(())
}

fn filter_required() -> GraphError {
    GraphError::new(
        400,
        "Request_UnsupportedQuery",
        "Filtering is required on either the id of the derived type or the derived type itself: \
         $filter=isof('microsoft.graph.{type}') or $filter=id eq '{id}'.",
    )
}

fn unsupported_objects_filter() -> GraphError {
    GraphError::new(
        400,
        "Request_UnsupportedQuery",
        "Unsupported query: only isof('microsoft.graph.{type}') and id eq '{id}', combined with 'or', are supported on directoryObjects delta queries.",
    )
}

/// The `$filter` of a directoryObjects delta: the `isof` types (store names, in
/// [`DELTA_TYPES`] order) and the `id eq` ids.
fn parse_objects_filter(text: &str) -> Result<(Vec<String>, Vec<Uuid>), GraphError> {
    let expr = cerulean_query::parse_filter(text).map_err(GraphError::from)?;
    let items: Vec<&Expr> = match &expr {
        Expr::Or(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut types: Vec<String> = Vec::new();
    let mut ids = Vec::new();
    for item in items {
        match item {
            Expr::Call { name, args } if name.eq_ignore_ascii_case("isof") => {
                let [Expr::Literal(Literal::String(qualified))] = args.as_slice() else {
                    return Err(unsupported_objects_filter());
                };
                types.push(isof_type(qualified)?.to_string());
            }
            Expr::Or(_) | Expr::Compare { .. } => collect_ids(item, &mut ids).map_err(|e| match e.code.as_str() {
                "Request_UnsupportedQuery" => unsupported_objects_filter(),
                _ => e,
            })?,
            _ => return Err(unsupported_objects_filter()),
        }
    }
    if ids.len() > MAX_DELTA_IDS {
        return Err(GraphError::new(
            400,
            "Request_UnsupportedQuery",
            format!("Too many ids in $filter: at most {MAX_DELTA_IDS} objects can be tracked by id."),
        ));
    }
    let types = DELTA_TYPES.iter().map(|t| t.object_type).filter(|t| types.iter().any(|x| x == t)).map(str::to_string);
    Ok((types.collect(), ids))
}

/// The store type `isof('microsoft.graph.{type}')` names. Types Graph tracks that Cerulean
/// does not (`directoryRole`, `appRoleAssignment`) are refused as unsupported, anything else as
/// an unknown type.
fn isof_type(qualified: &str) -> Result<&'static str, GraphError> {
    let name = qualified.strip_prefix("microsoft.graph.").or_else(|| qualified.strip_prefix("Microsoft.Graph."));
    let found = name.and_then(|n| DELTA_TYPES.iter().find(|t| t.object_type.eq_ignore_ascii_case(n)));
    match (name, found) {
        (_, Some(t)) => Ok(t.object_type),
        (Some(n), None) if cerulean_schema::entity(n).is_some_and(|e| e.entity_set.is_some()) => Err(GraphError::new(
            400,
            "Request_UnsupportedQuery",
            format!("Change tracking is not supported for '{qualified}' on directoryObjects."),
        )),
        _ => Err(GraphError::new(
            400,
            "Request_BadRequest",
            format!(
                "Invalid type '{qualified}' in isof: expected 'microsoft.graph.{{type}}' of a directory object type."
            ),
        )),
    }
}

/// `$select` over several types: each name must be a property of at least one of `types`
/// (canonical names; `id` is always returned). An unknown name gets the error of selecting it
/// on `directoryObject`.
fn objects_select(text: &str, types: &[String]) -> Result<Option<Vec<String>>, GraphError> {
    let mut out: Vec<String> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let found = types
            .iter()
            .filter_map(|t| cerulean_schema::entity(t))
            .find_map(|e| cerulean_query::parse_select(item, e).ok().flatten());
        let names = match found {
            Some(names) => names,
            None => {
                let base = cerulean_schema::entity(DIRECTORY_OBJECT).ok_or_else(forbidden)?;
                cerulean_query::parse_select(item, base).map_err(GraphError::from)?.unwrap_or_default()
            }
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// `Prefer: odata.maxpagesize=n` (1..=999), if given.
fn max_page_size(headers: &HeaderMap) -> Result<Option<usize>, GraphError> {
    for value in headers.get_all("prefer") {
        let Ok(text) = value.to_str() else { continue };
        for pref in text.split(',').map(str::trim) {
            let Some((name, n)) = pref.split_once('=') else { continue };
            if name.trim().eq_ignore_ascii_case("odata.maxpagesize") {
                let n: usize = n.trim().trim_matches('"').parse().map_err(|_| invalid_page_size(n))?;
                if !(1..=MAX_PAGE).contains(&n) {
                    return Err(invalid_page_size(n.to_string().as_str()));
                }
                return Ok(Some(n));
            }
        }
    }
    Ok(None)
}

fn invalid_page_size(n: &str) -> GraphError {
    QueryError::unsupported(format!(
        "Invalid page size specified: '{}'. Must be between 1 and 999 inclusive.",
        n.trim()
    ))
    .into()
}

/// The token's compact wire form (short keys keep links short).
#[derive(Serialize, Deserialize)]
struct Wire {
    /// tenant
    a: Uuid,
    /// object type
    t: String,
    /// the types of a round over several (`directoryObject`)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    y: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    r: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    i: Vec<Uuid>,
    /// `p` snapshot paging, `c` changes
    k: char,
    /// sequence
    q: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<Uuid>,
}

pub(crate) fn encode_token(t: &DeltaToken) -> String {
    let (k, q, x) = match t.position {
        DeltaPosition::Snapshot { seq, after } => ('p', seq, after),
        DeltaPosition::Changes { seq } => ('c', seq, None),
    };
    let wire = Wire {
        a: t.tenant,
        t: t.query.object_type.clone(),
        y: t.query.types.clone(),
        s: t.query.select.clone(),
        r: t.query.relations.clone(),
        i: t.query.ids.clone(),
        k,
        q,
        x,
    };
    let mut bytes = vec![TOKEN_VERSION];
    // Plain strings, numbers and uuids: serialising cannot fail; if it ever did, the token
    // would be refused as invalid on its way back rather than panic here.
    bytes.extend(serde_json::to_vec(&wire).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode_token(text: &str) -> Result<DeltaToken, GraphError> {
    let bad = || GraphError::from(invalid_token());
    if text.len() > MAX_TOKEN_LEN {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('=')).map_err(|_| bad())?;
    let Some((&TOKEN_VERSION, json)) = bytes.split_first() else {
        return Err(bad());
    };
    let w: Wire = serde_json::from_slice(json).map_err(|_| bad())?;
    let position = match w.k {
        'p' => DeltaPosition::Snapshot { seq: w.q, after: w.x },
        'c' => DeltaPosition::Changes { seq: w.q },
        _ => return Err(bad()),
    };
    if w.i.len() > MAX_DELTA_IDS || w.y.len() > DELTA_TYPES.len() {
        return Err(bad());
    }
    Ok(DeltaToken {
        tenant: w.a,
        query: DeltaQuery { object_type: w.t, types: w.y, select: w.s, relations: w.r, ids: w.i },
        position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let token = DeltaToken {
            tenant: Uuid::from_u128(9),
            query: DeltaQuery {
                object_type: "group".into(),
                types: Vec::new(),
                select: Some(vec!["id".into(), "displayName".into()]),
                relations: vec!["members".into()],
                ids: vec![Uuid::from_u128(1)],
            },
            position: DeltaPosition::Snapshot { seq: 42, after: Some(Uuid::from_u128(3)) },
        };
        let text = encode_token(&token);
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(decode_token(&text).ok(), Some(token));
        for bad in ["", "!!", "AQ", "e30", &"A".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(decode_token(bad).err().map(|e| e.status.as_u16()), Some(400), "{bad}");
        }
    }

    #[test]
    fn id_filters() {
        let a = "477e9fc6-5de7-4406-bb2a-7e5c83c9ffff";
        let b = "004d6a07-fe70-4b92-add5-e6e37b8affff";
        let ids = parse_id_filter(&format!("id eq '{a}' or id eq '{b}'")).expect("two ids");
        assert_eq!(ids.len(), 2);
        assert!(parse_id_filter("displayName eq 'x'").is_err());
        assert!(parse_id_filter(&format!("id eq '{a}' and id eq '{b}'")).is_err());
        assert_eq!(parse_id_filter("id eq 'nope'").err().map(|e| e.code), Some("Request_BadRequest".to_string()));
        let many: Vec<String> = (0..51).map(|i| format!("id eq '{}'", Uuid::from_u128(i))).collect();
        assert!(parse_id_filter(&many.join(" or ")).is_err());
    }
}
