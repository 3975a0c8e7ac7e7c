//! OData 3 `$batch` (`POST /{tenant}/$batch?api-version=1.6`, `multipart/mixed`), as
//! "Batch processing | Graph API concepts" (Azure AD Graph reference) describes it:
//!
//! - the body is a MIME multipart message: each part is a query (`application/http`, one GET or
//!   function call) or a change set (`multipart/mixed`, one or more writes);
//! - "A single batch can contain a maximum of five queries and/or change sets combined", and "a
//!   change set can contain a maximum of one source object modification and up to 20 add-link and
//!   delete-link operations combined. All operations in the change set must be on a single source
//!   entity" — a batch outside those bounds, or one that does not parse, is refused whole with a
//!   400 before any part runs;
//! - every part goes through the same addressing, authentication and permission checks as a
//!   request of its own, with the batch's bearer token;
//! - the answer is `202 Accepted`, `multipart/mixed` with a `batchresponse_` boundary: one
//!   `application/http` part per query, and per change set either a `changesetresponse_`
//!   multipart with every operation's answer or, when an operation failed, that operation's
//!   answer alone;
//! - `Content-ID` headers of parts are echoed on their answers.
//!
//! # Change sets
//!
//! "Either all operations in the change set succeed, or the entire change set fails ... If an
//! operation fails, all preceding operations in the change set are rolled back." A change set
//! runs in a directory transaction ([`cerulean_directory::transaction`]): its operations go
//! through the front-end as usual, against a directory whose writes are staged, and the
//! staged changes commit in one store transaction once every operation has succeeded. An
//! operation that fails ends the change set with its answer and nothing of the others was ever
//! written; a commit the store refuses (a conflict between the staged writes, or with a write
//! committed meanwhile) fails the change set with that error, and nothing is written either.
//! Within a change set, operations check their rules against the directory as it was before
//! the change set (they do not see each other's staged writes). Change sets cannot reference
//! each other's results (`$1` Content-ID references are not supported).

use axum::body::{Bytes, to_bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use uuid::Uuid;

use crate::error::AadError;
use crate::{AadState, Ctx, dispatch};

/// Queries and change sets per batch (reference: five).
const MAX_ITEMS: usize = 5;
/// Link operations per change set (reference: 20).
const MAX_LINK_OPS: usize = 20;
/// Object modifications per change set (reference: one).
const MAX_MODIFICATIONS: usize = 1;
/// Largest batch body accepted.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Largest answer of one part kept in the batch answer.
const MAX_PART_RESPONSE: usize = 4 * 1024 * 1024;
/// Header lines per MIME part or inner request.
const MAX_HEADERS: usize = 64;
/// The functions that may run as queries (outside change sets) although they are POSTs.
const FUNCTIONS: &[&str] =
    &["isMemberOf", "checkMemberGroups", "getMemberGroups", "getMemberObjects", "getObjectsByObjectIds"];

fn malformed(detail: impl std::fmt::Display) -> AadError {
    AadError::new(400, "Request_BadRequest", format!("The batch request is malformed: {detail}"))
}

/// One operation of the batch, parsed from its `application/http` part.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    /// The tenant segment of its URL (the batch's when the URL is relative to the service root).
    tenant: String,
    segments: Vec<String>,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    content_id: Option<String>,
}

/// A top-level item: a query or a change set.
#[derive(Debug)]
enum Item {
    Query(Box<Operation>),
    ChangeSet(Vec<Operation>),
}

/// The `boundary` of a `multipart/mixed` content type.
fn boundary_of(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70).then(|| v.to_string())
    })
}

/// The body parts between `--boundary` delimiters, up to the close delimiter.
fn split_multipart<'a>(body: &'a str, boundary: &str, max: usize) -> Result<Vec<&'a str>, AadError> {
    let delim = format!("--{boundary}");
    let start = body.find(&delim).ok_or_else(|| malformed(format!("the boundary '{boundary}' does not occur")))?;
    let mut rest = &body[start + delim.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with("--") {
            return Ok(parts);
        }
        // Transport padding up to the end of the delimiter line.
        let nl = rest.find('\n').ok_or_else(|| malformed("a part has no content"))?;
        if !rest[..nl].trim().is_empty() {
            return Err(malformed("unexpected text after a boundary delimiter"));
        }
        rest = &rest[nl + 1..];
        let end =
            rest.find(&delim).ok_or_else(|| malformed(format!("the close delimiter '--{boundary}--' is missing")))?;
        let content = &rest[..end];
        // The line break before a delimiter belongs to it.
        let content = content.strip_suffix("\r\n").or_else(|| content.strip_suffix('\n')).unwrap_or(content);
        parts.push(content);
        if parts.len() > max {
            return Err(AadError::bad_request(format!(
                "A batch can contain at most {MAX_ITEMS} queries and change sets, and a change set at most {} operations.",
                MAX_MODIFICATIONS + MAX_LINK_OPS
            )));
        }
        rest = &rest[end + delim.len()..];
    }
}

/// Splits a header block from what follows the blank line.
fn split_head(text: &str) -> Result<(Vec<&str>, &str), AadError> {
    let (head, rest) = match (text.find("\r\n\r\n"), text.find("\n\n")) {
        (Some(a), Some(b)) if b < a => (&text[..b], &text[b + 2..]),
        (Some(a), _) => (&text[..a], &text[a + 4..]),
        (None, Some(b)) => (&text[..b], &text[b + 2..]),
        (None, None) => (text, ""),
    };
    let lines: Vec<&str> = head.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > MAX_HEADERS {
        return Err(malformed("too many header lines"));
    }
    Ok((lines, rest))
}

fn parse_headers(lines: &[&str]) -> Result<HeaderMap, AadError> {
    let mut map = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| malformed(format!("invalid header line '{line}'")))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| malformed(format!("invalid header name '{}'", name.trim())))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|_| malformed(format!("invalid value of header '{name}'")))?;
        map.append(name, value);
    }
    Ok(map)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// An `application/http` part: its MIME headers, then the request line, headers and body.
fn parse_operation(part: &str, batch_tenant: &str) -> Result<Operation, AadError> {
    let (mime_lines, http) = split_head(part)?;
    let mime = parse_headers(&mime_lines)?;
    let media = content_type(&mime).split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "application/http" {
        return Err(malformed(format!("a batch operation must have Content-Type application/http, not '{media}'")));
    }
    let content_id = mime.get("content-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let http = http.trim_start_matches(['\r', '\n']);
    let (lines, body) = split_head(http)?;
    let (request_line, header_lines) =
        lines.split_first().ok_or_else(|| malformed("an operation has no request line"))?;
    let mut words = request_line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err(malformed(format!("invalid request line '{request_line}'")));
    };
    if words.next().is_some_and(|v| !v.starts_with("HTTP/")) || words.next().is_some() {
        return Err(malformed(format!("invalid request line '{request_line}'")));
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| malformed(format!("invalid method '{method}'")))?;
    let (tenant, segments, query) = parse_target(target, batch_tenant)?;
    Ok(Operation {
        method,
        tenant,
        segments,
        query,
        headers: parse_headers(header_lines)?,
        body: Bytes::copy_from_slice(body.trim_end().as_bytes()),
        content_id,
    })
}

/// `https://host/{tenant}/{path}?q`, `/{tenant}/{path}?q` or `{path}?q` (relative to the
/// batch's service root) → tenant, decoded segments, query.
fn parse_target(target: &str, batch_tenant: &str) -> Result<(String, Vec<String>, Option<String>), AadError> {
    let without_host = match target.find("://") {
        Some(i) => {
            let after = &target[i + 3..];
            after.find('/').map(|j| &after[j..]).unwrap_or("/")
        }
        None => target,
    };
    let (path, query) = match without_host.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (without_host, None),
    };
    let decode = |s: &str| {
        percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| malformed("a url is not valid UTF-8"))
    };
    let mut segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode).collect::<Result<_, _>>()?;
    let tenant = if path.starts_with('/') {
        if segments.is_empty() {
            return Err(malformed(format!("the url '{target}' names no tenant")));
        }
        segments.remove(0)
    } else {
        batch_tenant.to_string()
    };
    Ok((tenant, segments, query))
}

fn is(segment: &str, name: &str) -> bool {
    segment.eq_ignore_ascii_case(name)
}

fn is_link_op(op: &Operation) -> bool {
    op.segments.iter().any(|s| s == "$links")
}

/// The source entity of a change-set operation, for the single-entity rule.
fn source_of(op: &Operation) -> (String, String, String) {
    let me = is(&op.tenant, "me");
    let lower = |s: Option<&String>| s.map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    if me {
        ("me".into(), String::new(), String::new())
    } else {
        (op.tenant.to_ascii_lowercase(), lower(op.segments.first()), lower(op.segments.get(1)))
    }
}

/// Parses and checks the whole batch before anything runs.
fn parse_batch(ctx: &Ctx) -> Result<Vec<Item>, AadError> {
    if ctx.body.len() > MAX_BATCH_BYTES {
        return Err(AadError::bad_request(format!(
            "The batch request exceeds the maximum size of {MAX_BATCH_BYTES} bytes."
        )));
    }
    let boundary = boundary_of(content_type(&ctx.headers))
        .ok_or_else(|| malformed("the Content-Type must be multipart/mixed with a boundary parameter"))?;
    let body = std::str::from_utf8(&ctx.body).map_err(|_| malformed("the body is not valid UTF-8"))?;
    let mut items = Vec::new();
    for part in split_multipart(body, &boundary, MAX_ITEMS)? {
        let (lines, rest) = split_head(part)?;
        let mime = parse_headers(&lines)?;
        if let Some(inner) = boundary_of(content_type(&mime)) {
            let mut ops = Vec::new();
            for op in split_multipart(rest, &inner, MAX_MODIFICATIONS + MAX_LINK_OPS)? {
                ops.push(parse_operation(op, &ctx.tenant_segment)?);
            }
            check_change_set(&ops)?;
            items.push(Item::ChangeSet(ops));
        } else {
            let op = parse_operation(part, &ctx.tenant_segment)?;
            let function = op.segments.last().is_some_and(|s| FUNCTIONS.iter().any(|f| is(s, f)));
            if op.method != Method::GET && !(op.method == Method::POST && function) {
                return Err(malformed(format!(
                    "the {} operation outside a change set is not a query; put writes in a change set",
                    op.method
                )));
            }
            items.push(Item::Query(Box::new(op)));
        }
    }
    if items.iter().any(|i| match i {
        Item::Query(op) => op.segments.first().is_some_and(|s| s == "$batch"),
        Item::ChangeSet(ops) => ops.iter().any(|op| op.segments.first().is_some_and(|s| s == "$batch")),
    }) {
        return Err(malformed("a batch cannot contain another batch"));
    }
    Ok(items)
}

fn check_change_set(ops: &[Operation]) -> Result<(), AadError> {
    if ops.is_empty() {
        return Err(malformed("a change set is empty"));
    }
    if let Some(op) = ops.iter().find(|op| op.method == Method::GET) {
        return Err(malformed(format!("a change set cannot contain a GET ({})", op.segments.join("/"))));
    }
    let links = ops.iter().filter(|op| is_link_op(op)).count();
    let modifications = ops.len() - links;
    if modifications > MAX_MODIFICATIONS || links > MAX_LINK_OPS {
        return Err(AadError::bad_request(format!(
            "A change set can contain at most {MAX_MODIFICATIONS} object modification and {MAX_LINK_OPS} link operations."
        )));
    }
    let first = source_of(&ops[0]);
    if ops.iter().any(|op| source_of(op) != first) {
        return Err(AadError::bad_request("All operations in a change set must be on a single source entity."));
    }
    Ok(())
}

/// Runs one operation through the front-end, with the batch's credentials.
async fn run(ctx: &Ctx, op: &Operation) -> Response {
    run_with(ctx.state.clone(), ctx, op).await
}

/// Runs one operation through the front-end over `state` (a change set's transaction).
async fn run_with(state: AadState, ctx: &Ctx, op: &Operation) -> Response {
    let mut headers = op.headers.clone();
    headers.remove(header::AUTHORIZATION);
    for name in [header::AUTHORIZATION, HeaderName::from_static("client-request-id")] {
        if let Some(v) = ctx.headers.get(&name)
            && !headers.contains_key(&name)
        {
            headers.insert(name, v.clone());
        }
    }
    dispatch(
        state,
        op.tenant.clone(),
        op.segments.clone(),
        op.method.clone(),
        headers,
        op.query.clone(),
        op.body.clone(),
    )
    .await
}

/// An operation's answer, kept for the batch answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn answer(res: Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let body = match to_bytes(res.into_body(), MAX_PART_RESPONSE).await {
        Ok(b) => b,
        Err(_) => Bytes::from_static(b"{\"odata.error\":{\"code\":\"Service_InternalServerError\",\"message\":{\"lang\":\"en\",\"value\":\"The answer of this operation is too large for a batch.\"}}}"),
    };
    Answer { status, headers, body }
}

/// Runs a change set in one directory transaction: every operation's answer once the
/// transaction committed, or the failed operation's answer (or the commit's error) with nothing
/// written.
async fn change_set(ctx: &Ctx, ops: &[Operation]) -> Result<Vec<(Answer, Option<String>)>, (Answer, Option<String>)> {
    let tx = ctx.state.directory.transaction();
    let mut state = ctx.state.clone();
    state.directory = tx.directory().clone();
    let mut answers = Vec::new();
    for op in ops {
        let a = answer(run_with(state.clone(), ctx, op).await).await;
        if !a.status.is_success() {
            // Dropping the transaction discards what the operations before this one staged.
            return Err((a, op.content_id.clone()));
        }
        answers.push((a, op.content_id.clone()));
    }
    if let Err(e) = tx.commit().await {
        let last = ops.last().and_then(|op| op.content_id.clone());
        return Err((answer(AadError::from(e).into_response()).await, last));
    }
    Ok(answers)
}

fn http_part(out: &mut String, a: &Answer, content_id: Option<&str>) {
    out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = content_id {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&format!("HTTP/1.1 {} {}\r\n", a.status.as_u16(), a.status.canonical_reason().unwrap_or_default()));
    for name in [
        header::CONTENT_TYPE,
        header::LOCATION,
        HeaderName::from_static("preference-applied"),
        HeaderName::from_static("dataserviceid"),
    ] {
        if let Some(v) = a.headers.get(&name).and_then(|v| v.to_str().ok()) {
            out.push_str(&format!("{}: {v}\r\n", canonical(&name)));
        }
    }
    out.push_str("DataServiceVersion: 3.0;\r\n\r\n");
    out.push_str(&String::from_utf8_lossy(&a.body));
    out.push_str("\r\n");
}

fn canonical(name: &HeaderName) -> &'static str {
    match name.as_str() {
        "content-type" => "Content-Type",
        "location" => "Location",
        "preference-applied" => "Preference-Applied",
        _ => "DataServiceId",
    }
}

/// `POST /{tenant}/$batch`.
pub(crate) async fn serve(ctx: &Ctx) -> Result<Response, AadError> {
    if ctx.method != Method::POST {
        return Err(AadError::method_not_allowed());
    }
    let items = parse_batch(ctx)?;
    let boundary = format!("batchresponse_{}", Uuid::new_v4());
    let mut out = String::new();
    for item in items {
        out.push_str(&format!("--{boundary}\r\n"));
        match item {
            Item::Query(op) => {
                let a = answer(run(ctx, &op).await).await;
                http_part(&mut out, &a, op.content_id.as_deref());
            }
            Item::ChangeSet(ops) => match change_set(ctx, &ops).await {
                Ok(answers) => {
                    let inner = format!("changesetresponse_{}", Uuid::new_v4());
                    out.push_str(&format!("Content-Type: multipart/mixed; boundary={inner}\r\n\r\n"));
                    for (a, id) in &answers {
                        out.push_str(&format!("--{inner}\r\n"));
                        http_part(&mut out, a, id.as_deref());
                    }
                    out.push_str(&format!("--{inner}--\r\n"));
                }
                Err((a, id)) => http_part(&mut out, &a, id.as_deref()),
            },
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    let mut res = (StatusCode::ACCEPTED, out).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}")) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_parts() {
        assert_eq!(boundary_of("multipart/mixed; boundary=batch_1").as_deref(), Some("batch_1"));
        assert_eq!(boundary_of("multipart/mixed; boundary=\"b 2\"").as_deref(), Some("b 2"));
        assert_eq!(boundary_of("application/json"), None);
        assert_eq!(boundary_of("multipart/mixed"), None);
        let body = "preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b \r\n\r\ntwo\r\n--b--\r\nepilogue";
        assert_eq!(split_multipart(body, "b", 5).expect("parts"), vec!["A: 1\r\n\r\none", "\r\ntwo"]);
        assert!(split_multipart("--b\r\nx\r\n", "b", 5).is_err(), "no close delimiter");
        assert!(split_multipart("nothing", "b", 5).is_err());
        let many = "--b\r\n\r\nx\r\n".repeat(6) + "--b--";
        assert!(split_multipart(&many, "b", 5).is_err());
    }

    #[test]
    fn operations_and_targets() {
        let part = "Content-Type: application/http\r\nContent-ID: 7\r\n\r\nPATCH /contoso.com/users/a%40b?api-version=1.6 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"x\":1}\r\n";
        let op = parse_operation(part, "t").expect("op");
        assert_eq!(op.method, Method::PATCH);
        assert_eq!(op.tenant, "contoso.com");
        assert_eq!(op.segments, vec!["users", "a@b"]);
        assert_eq!(op.query.as_deref(), Some("api-version=1.6"));
        assert_eq!(&op.body[..], b"{\"x\":1}");
        assert_eq!(op.content_id.as_deref(), Some("7"));
        let (t, s, _) = parse_target("https://graph.windows.net/x.com/groups/1/$links/members", "t").expect("abs");
        assert_eq!((t.as_str(), s.len()), ("x.com", 4));
        let (t, s, q) = parse_target("users?api-version=1.6", "mine").expect("rel");
        assert_eq!((t.as_str(), s, q.as_deref()), ("mine", vec!["users".to_string()], Some("api-version=1.6")));
        assert!(parse_operation("Content-Type: text/plain\r\n\r\nGET /t/users HTTP/1.1\r\n", "t").is_err());
        assert!(parse_operation("Content-Type: application/http\r\n\r\nGET\r\n", "t").is_err());
    }
}
