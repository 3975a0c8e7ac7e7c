//! The OData wire shape of Graph responses: query-string parsing, property selection,
//! `@odata.context`, `@odata.type`, absolute `@odata.nextLink`, JSON bodies.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_schema::{EntityType, Flags};
use cerulean_store::ObjectRecord;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::error::GraphError;

/// The longest query string accepted; a bound on parser work for hostile input.
const MAX_QUERY: usize = 16 * 1024;

/// Splits a raw query string into decoded pairs. As in Graph (and HTML form encoding), `+`
/// is a space; a literal plus sign arrives as `%2B`.
pub fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, GraphError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if raw.len() > MAX_QUERY {
        return Err(GraphError::new(414, "Request_BadRequest", "The query string is too long."));
    }
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| GraphError::new(400, "BadRequest", "The query string is not valid UTF-8."))
    };
    let mut out = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// Whether the request asked for eventual consistency (needed by Graph's advanced queries).
pub fn eventual(headers: &HeaderMap) -> bool {
    headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
}

/// Renders an object: `@odata.type` when asked (heterogeneous collections), `id`, then the
/// selected properties or the type's default set. Missing properties are `null` (`[]` for
/// collections); write-only properties never appear.
pub fn shape(
    entity: &EntityType,
    record: &ObjectRecord,
    select: Option<&[String]>,
    with_type: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    if with_type {
        out.insert("@odata.type".into(), Value::String(entity.odata_type()));
    }
    let names: Vec<&str> = match select {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => entity.default_properties(),
    };
    for name in names {
        if name == "id" {
            out.insert("id".into(), Value::String(record.id.to_string()));
            continue;
        }
        let Some(prop) = entity.property(name) else {
            // A selected name the type does not declare is an extension the query layer
            // accepted (a directory or schema extension): returned when the object has a value.
            if select.is_some()
                && let Some(v) = record.doc.get(name)
            {
                out.insert(name.to_string(), v.clone());
            }
            continue;
        };
        if prop.is(Flags::WRITE_ONLY) {
            // Never returned; an explicit $select gets null, as Graph answers.
            if select.is_some() {
                out.insert(prop.name.to_string(), Value::Null);
            }
            continue;
        }
        let value = match (prop.name, record.doc.get(prop.name)) {
            ("deletedDateTime", _) => record.deleted_at.clone().map(Value::String).unwrap_or(Value::Null),
            (_, Some(v)) => v.clone(),
            (_, None) if prop.collection => Value::Array(Vec::new()),
            (_, None) => Value::Null,
        };
        out.insert(prop.name.to_string(), value);
    }
    // Objects in the recycle bin say when they were deleted, as Graph's deletedItems do.
    if select.is_none()
        && let Some(at) = &record.deleted_at
    {
        out.insert("deletedDateTime".into(), Value::String(at.clone()));
    }
    out
}

/// `{base}/$metadata#{what}` with an optional `(a,b)` select list.
pub fn context(base: &str, what: &str, select: Option<&[String]>, entity_suffix: bool) -> String {
    let mut s = format!("{base}/$metadata#{what}");
    if let Some(sel) = select {
        s.push('(');
        s.push_str(&sel.join(","));
        s.push(')');
    }
    if entity_suffix {
        s.push_str("/$entity");
    }
    s
}

const QUERY_VALUE: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'&').add(b'+').add(b'<').add(b'>').add(b'%').add(b'\'');

/// The absolute next-page link: the request's own URL with `$skiptoken` replaced.
pub fn next_link(public_url: &str, path: &str, params: &[(String, String)], skiptoken: &str) -> String {
    let mut query: Vec<String> = params
        .iter()
        .filter(|(k, _)| !k.trim_start_matches('$').eq_ignore_ascii_case("skiptoken"))
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY_VALUE), utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    query.push(format!("$skiptoken={}", utf8_percent_encode(skiptoken, QUERY_VALUE)));
    format!("{public_url}{path}?{}", query.join("&"))
}

/// A JSON response with Graph's content type.
pub fn json(status: StatusCode, body: Value) -> Response {
    json_text(status, body.to_string())
}

/// [`json`] of a body already serialized.
pub fn json_text(status: StatusCode, body: String) -> Response {
    json_bytes(status, body.into())
}

/// [`json`] of a body already serialized, shared (a kept rendering: no copy).
pub fn json_bytes(status: StatusCode, body: axum::body::Bytes) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        ),
    );
    res
}

/// Graph's `date` in error bodies: seconds precision, no zone designator.
pub fn now_seconds() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    cerulean_store::clock::now().format(&fmt).unwrap_or_default()
}

/// Parses a JSON object request body, bounded in size, with Graph's errors.
pub fn object_body(bytes: &[u8]) -> Result<Map<String, Value>, GraphError> {
    if bytes.is_empty() {
        return Err(GraphError::new(400, "BadRequest", "Empty Payload. JSON content expected."));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(GraphError::new(400, "BadRequest", "Invalid request body: a JSON object is expected.")),
        Err(e) => Err(GraphError::new(
            400,
            "BadRequest",
            format!(
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"
            ),
        )),
    }
}

/// Evaluates a `$filter` of `eq` comparisons (joined by `and`/`or`) on the string or boolean
/// top-level properties of one item, for the small collections served from memory (schema
/// extensions, attribute sets and definitions); any other expression is unsupported.
pub(crate) fn eq_filter_matches(
    expr: &cerulean_query::Expr,
    item: &Map<String, Value>,
) -> Result<bool, crate::error::GraphError> {
    use cerulean_query::{Expr, Literal};
    let unsupported = || crate::error::GraphError::new(400, "Request_UnsupportedQuery", "Unsupported query.");
    match expr {
        Expr::And(items) => {
            for i in items {
                if !eq_filter_matches(i, item)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Expr::Or(items) => {
            for i in items {
                if eq_filter_matches(i, item)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Expr::Compare { op: cerulean_query::ast::CmpOp::Eq, left, right } => {
            let (Expr::Path(path), Expr::Literal(lit)) = (left.as_ref(), right.as_ref()) else {
                return Err(unsupported());
            };
            let [name] = path.as_slice() else { return Err(unsupported()) };
            let key = item.keys().find(|k| k.eq_ignore_ascii_case(name)).ok_or_else(unsupported)?;
            Ok(match (item.get(key), lit) {
                (Some(Value::String(v)), Literal::String(t)) => v.eq_ignore_ascii_case(t),
                (Some(Value::Bool(v)), Literal::Bool(b)) => v == b,
                _ => false,
            })
        }
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_plus_as_space_and_percent() {
        let q = parse_query(Some("$filter=startswith(displayName,%27a+b%2Bc%27)&$top=5")).expect("parse");
        assert_eq!(q[0], ("$filter".to_string(), "startswith(displayName,'a b+c')".to_string()));
        assert_eq!(q[1], ("$top".to_string(), "5".to_string()));
    }

    #[test]
    fn next_link_replaces_skiptoken() {
        let params = vec![("$top".to_string(), "2".to_string()), ("$skiptoken".to_string(), "old".to_string())];
        let link = next_link("https://h:1", "/v1.0/users", &params, "new");
        assert_eq!(link, "https://h:1/v1.0/users?$top=2&$skiptoken=new");
    }
}
