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
use cerulean_directory::delta::{DeltaType, MAX_DELTA_IDS, delta_type, invalid_token};
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
    let opts = DeltaOptions::parse(&params, entity, ty)?;
    let page_size = max_page_size(headers)?;
    let directory = &state.directory;
    let token = match &opts.token {
        Some(TokenParam::Latest) => directory.delta_start(principal.tenant, opts.query.clone(), true).await?,
        Some(TokenParam::Value(text)) => {
            let token = decode_token(text)?;
            if token.query.object_type != object_type {
                return Err(invalid_token().into());
            }
            token
        }
        None => directory.delta_start(principal.tenant, opts.query.clone(), false).await?,
    };
    let path = format!("/{}/{}/delta", state.version, set);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata::context(&state.base(), set, token.query.select.as_deref().filter(|s| !s.is_empty()), false)),
    );
    if matches!(opts.token, Some(TokenParam::Latest)) {
        body.insert("@odata.deltaLink".into(), json!(link(&state.public_url, &path, "$deltatoken", &token)));
        body.insert("value".into(), json!([]));
        return Ok(respond(body, page_size));
    }
    let page = directory.delta_page(principal.tenant, &token, page_size.unwrap_or(DEFAULT_PAGE)).await?;
    let items: Vec<Value> =
        page.items.iter().map(|i| Value::Object(render(entity, i, token.query.select.as_deref()))).collect();
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
/// removal.
fn render(entity: &EntityType, item: &DeltaItem, select: Option<&[String]>) -> Map<String, Value> {
    match item {
        DeltaItem::Removed { id, reason } => {
            let mut out = Map::new();
            out.insert("id".into(), json!(id.to_string()));
            out.insert("@removed".into(), json!({ "reason": reason.as_str() }));
            out
        }
        DeltaItem::Object { record, links } => {
            // "The id property is always returned."
            let with_id: Option<Vec<String>> = select
                .map(|s| std::iter::once("id".to_string()).chain(s.iter().filter(|n| *n != "id").cloned()).collect());
            let mut out = shape(entity, record, with_id.as_deref(), false);
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

/// The options of a delta request.
struct DeltaOptions {
    query: DeltaQuery,
    token: Option<TokenParam>,
}

impl DeltaOptions {
    fn parse(params: &[(String, String)], entity: &EntityType, ty: &'static DeltaType) -> Result<Self, GraphError> {
        let mut token = None;
        let mut select = None;
        let mut filter = None;
        for (key, value) in params {
            let (dollar, name) = match key.strip_prefix('$') {
                Some(rest) => (true, rest.to_ascii_lowercase()),
                None => (false, key.to_ascii_lowercase()),
            };
            match name.as_str() {
                "deltatoken" if value.eq_ignore_ascii_case("latest") => token = Some(TokenParam::Latest),
                "deltatoken" | "skiptoken" => token = Some(TokenParam::Value(value.clone())),
                "select" => select = Some(value.as_str()),
                "filter" => filter = Some(value.as_str()),
                "format" => {}
                "expand" | "orderby" | "top" | "search" | "count" | "skip" => {
                    return Err(GraphError::new(
                        400,
                        "Request_UnsupportedQuery",
                        format!(
                            "The query parameter '${name}' is not supported with change tracking over the '{}' resource.",
                            entity.name
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
        let (select, relations) = parse_select(select, entity, ty)?;
        let ids = match filter {
            Some(text) => parse_id_filter(text)?,
            None => Vec::new(),
        };
        let query = DeltaQuery { object_type: ty.object_type.to_string(), select, relations, ids };
        Ok(DeltaOptions { query, token })
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
    if w.i.len() > MAX_DELTA_IDS {
        return Err(bad());
    }
    Ok(DeltaToken {
        tenant: w.a,
        query: DeltaQuery { object_type: w.t, select: w.s, relations: w.r, ids: w.i },
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
