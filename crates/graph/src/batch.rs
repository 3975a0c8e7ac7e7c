//! JSON batching: `POST /{version}/$batch` with `{"requests":[{id, method, url, headers?, body?,
//! dependsOn?}]}`, answered `200 {"responses":[{id, status, headers, body}]}`.
//!
//! Every inner request is sent through the whole HTTP stack again (path normalisation, request
//! ids, bearer auth and the route's permission rule, the route itself, Graph's error bodies) by
//! the [`Dispatcher`] the server puts on each request. So an inner request is authorized,
//! validated and answered exactly as the same request sent on its own, with the outer
//! `Authorization` header (an inner request cannot bring its own).
//!
//! Rules follow Microsoft's "Combine multiple HTTP requests using JSON batching"
//! (learn.microsoft.com/graph/json-batching): at most 20 requests; ids unique, compared without
//! case; `url` relative to the version root; a `body` needs a `Content-Type` header; `dependsOn`
//! orders requests and a request whose dependency failed answers 424. Graph requires a
//! dependency to appear earlier in the array ("Invalid dependency for request Id ...", see
//! microsoftgraph/msgraph-sdk-dotnet-core#891), which also rules out cycles; requests therefore
//! run one after another in array order, an order that satisfies every dependency.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value, json};

use crate::GraphState;
use crate::error::GraphError;

/// Graph's limit on the number of requests in one batch.
const MAX_REQUESTS: usize = 20;

/// Graph's limit on the size of a batch payload (4 MB).
const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// How much of one inner response is read back into the batch response. Inner responses are
/// bounded by paging; this only stops a runaway body from being buffered without end.
const MAX_INNER_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The methods Graph accepts inside a batch.
const METHODS: &[&str] = &["GET", "POST", "PATCH", "PUT", "DELETE"];

/// Characters that cannot stand in a request target as written in a batch `url` (Graph's own
/// examples put unencoded spaces in `$filter`); they are percent-encoded before parsing.
const URL_UNSAFE: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`').add(b'\\').add(b'^').add(b'{').add(b'|').add(b'}');

/// The future a [`Dispatcher`] returns.
pub type DispatchFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// Sends a request through the complete HTTP service (path normalisation, request ids, auth,
/// routes). The server installs one on every request as an extension: the Graph router cannot
/// own the service it is part of, and an extension set per request needs no shared mutable
/// state and creates no reference cycle between the router and itself.
#[derive(Clone)]
pub struct Dispatcher(Arc<dyn Fn(Request) -> DispatchFuture + Send + Sync>);

impl Dispatcher {
    pub fn new(dispatch: impl Fn(Request) -> DispatchFuture + Send + Sync + 'static) -> Dispatcher {
        Dispatcher(Arc::new(dispatch))
    }
}

/// Marks a request sent from inside a batch, so that a batch inside a batch is refused
/// whatever spelling of its path reaches this handler.
#[derive(Clone, Copy)]
struct InnerRequest;

/// One validated entry of `requests`.
struct Item {
    id: String,
    method: Method,
    /// Path and query under the version root, without a leading slash.
    url: String,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    /// Indexes of earlier items this one depends on.
    depends_on: Vec<usize>,
    /// An answer decided before dispatch (Graph refuses the one request, not the batch).
    refused: Option<GraphError>,
}

fn invalid_payload() -> GraphError {
    GraphError::new(400, "BadRequest", "Invalid batch payload format.")
}

/// `POST /$batch`.
pub(crate) async fn batch(State(state): State<GraphState>, req: Request) -> Response {
    if req.extensions().get::<InnerRequest>().is_some() {
        return nested_refusal().into_response();
    }
    // The outer request must carry a valid token, like any Graph call; inner requests are then
    // authorized one by one against their own routes.
    if let Some(refusal) = outer_unauthenticated(&state, req.headers()).await {
        return refusal;
    }
    let Some(dispatcher) = req.extensions().get::<Dispatcher>().cloned() else {
        tracing::error!("$batch reached without a dispatcher; the server must install one");
        return GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.")
            .into_response();
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return GraphError::new(413, "RequestEntityTooLarge", "The batch payload exceeds the limit of 4 MB.")
                .into_response();
        }
    };
    let items = match parse(&bytes) {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };

    let authorization = parts.headers.get(header::AUTHORIZATION).cloned();
    let header_text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let request_id = header_text("request-id");
    let client_request_id = parts.headers.get("client-request-id").cloned();

    let mut statuses: Vec<u16> = Vec::with_capacity(items.len());
    let mut responses = Vec::with_capacity(items.len());
    for item in items {
        let failed_dependency = item.depends_on.iter().any(|&i| statuses.get(i).is_some_and(|s| *s >= 400));
        let (status, headers, body) = if failed_dependency {
            failed_dependency_answer(request_id.as_deref(), client_request_id.as_ref())
        } else if let Some(refusal) = item.refused {
            error_answer(&refusal, request_id.as_deref(), client_request_id.as_ref())
        } else {
            let mut inner = match build_inner(&state, &item, authorization.as_ref(), client_request_id.as_ref()) {
                Ok(r) => r,
                Err(e) => {
                    let (status, headers, body) = error_answer(&e, request_id.as_deref(), client_request_id.as_ref());
                    statuses.push(status);
                    responses.push(entry(&item.id, status, headers, body));
                    continue;
                }
            };
            inner.extensions_mut().insert(InnerRequest);
            read_answer((dispatcher.0)(inner).await).await
        };
        statuses.push(status);
        responses.push(entry(&item.id, status, headers, body));
    }

    let mut res = Response::new(Body::from(json!({ "responses": responses }).to_string()));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// `None` when the outer `Authorization` header holds a valid Graph token, else the 401 to send.
///
/// The token check is the one every Graph route uses (`$batch` has no permission of its own:
/// each inner request is checked against its route).
async fn outer_unauthenticated(state: &GraphState, headers: &HeaderMap) -> Option<Response> {
    crate::auth::authenticate(state, headers).await.err().map(IntoResponse::into_response)
}

fn nested_refusal() -> GraphError {
    GraphError::new(400, "BadRequest", "A batch request cannot contain another batch request.")
}

/// Validates the payload. Anything that makes the batch as a whole unusable is an error for the
/// batch; a problem of one request (missing `Content-Type`, a nested batch) refuses only it.
fn parse(bytes: &[u8]) -> Result<Vec<Item>, GraphError> {
    let payload: Value = serde_json::from_slice(bytes).map_err(|_| invalid_payload())?;
    let requests = payload.get("requests").and_then(Value::as_array).ok_or_else(invalid_payload)?;
    if requests.len() > MAX_REQUESTS {
        return Err(GraphError::new(
            400,
            "BadRequest",
            format!("The batch contains {} requests; at most {MAX_REQUESTS} are allowed.", requests.len()),
        ));
    }
    let mut items: Vec<Item> = Vec::with_capacity(requests.len());
    for raw in requests {
        let obj = raw.as_object().ok_or_else(invalid_payload)?;
        let text = |name: &str| obj.get(name).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let id = text("id").ok_or_else(invalid_payload)?.to_string();
        if items.iter().any(|i| i.id.to_lowercase() == id.to_lowercase()) {
            return Err(GraphError::new(400, "BadRequest", format!("Request Id {id} has to be unique in a batch.")));
        }
        let method_text = text("method").ok_or_else(invalid_payload)?.to_ascii_uppercase();
        if !METHODS.contains(&method_text.as_str()) {
            return Err(GraphError::new(
                400,
                "BadRequest",
                format!("Request Id {id} has an unsupported method '{method_text}'."),
            ));
        }
        let method = Method::from_bytes(method_text.as_bytes()).map_err(|_| invalid_payload())?;
        let url = relative_url(text("url").ok_or_else(invalid_payload)?)?;
        let headers = inner_headers(obj.get("headers"))?;
        let depends_on = dependencies(&id, obj.get("dependsOn"), &items)?;
        let mut refused = None;
        let body = match obj.get("body") {
            None | Some(Value::Null) => None,
            Some(b) => {
                if !headers.contains_key(header::CONTENT_TYPE) {
                    refused = Some(GraphError::new(
                        400,
                        "BadRequest",
                        "A Content-Type header is required in headers when a body is present.",
                    ));
                }
                Some(body_bytes(b)?)
            }
        };
        if is_batch_path(&url) {
            refused = Some(nested_refusal());
        }
        items.push(Item { id, method, url, headers, body, depends_on, refused });
    }
    Ok(items)
}

/// The url under the version root, without its leading slash. Graph takes `/users` and
/// `users` alike and refuses an absolute URL with the whole batch ("Invalid batch payload
/// format.", microsoftgraph/microsoft-graph-docs-contrib#8576), even one naming Graph itself.
fn relative_url(url: &str) -> Result<String, GraphError> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if url.starts_with("//") || lower.starts_with("http:") || lower.starts_with("https:") || lower.contains("://") {
        return Err(invalid_payload());
    }
    // A fragment never reaches a server.
    let url = url.split('#').next().unwrap_or_default();
    Ok(utf8_percent_encode(url.trim_start_matches('/'), URL_UNSAFE).to_string())
}

/// Whether the url names `$batch` itself (also percent-encoded or in another case).
fn is_batch_path(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default().trim_end_matches('/').to_ascii_lowercase();
    path == "$batch" || path == "%24batch"
}

/// The request's `headers` object. `Authorization` is dropped (the outer one is used) and so
/// are headers that describe the outer message rather than the inner one.
fn inner_headers(raw: Option<&Value>) -> Result<HeaderMap, GraphError> {
    let mut headers = HeaderMap::new();
    let obj = match raw {
        None | Some(Value::Null) => return Ok(headers),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(invalid_payload()),
    };
    for (name, value) in obj {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(invalid_payload()),
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid_payload())?;
        if matches!(
            name.as_str(),
            "authorization" | "host" | "content-length" | "transfer-encoding" | "connection" | "request-id"
        ) {
            continue;
        }
        let value = HeaderValue::from_str(&value).map_err(|_| invalid_payload())?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Indexes of the requests named in `dependsOn`, each of which must come earlier in the batch.
fn dependencies(id: &str, raw: Option<&Value>, earlier: &[Item]) -> Result<Vec<usize>, GraphError> {
    let names: Vec<&str> = match raw {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|v| v.as_str().ok_or_else(invalid_payload)).collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid_payload()),
    };
    names
        .into_iter()
        .map(|name| {
            earlier.iter().position(|i| i.id.to_lowercase() == name.to_lowercase()).ok_or_else(|| {
                GraphError::new(
                    400,
                    "BadRequest",
                    format!(
                        "Invalid dependency for request Id {id}: '{name}' is not the id of an earlier request in the batch."
                    ),
                )
            })
        })
        .collect()
}

/// The bytes of a `body`: JSON objects and arrays as JSON; a string is base64 (Graph's form for
/// binary bodies, and what the SDKs send for bodies that are not objects), else taken as text.
fn body_bytes(body: &Value) -> Result<Vec<u8>, GraphError> {
    match body {
        Value::String(s) => {
            let engines = [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            Ok(engines.iter().find_map(|e| e.decode(s).ok()).unwrap_or_else(|| s.clone().into_bytes()))
        }
        other => serde_json::to_vec(other).map_err(|_| invalid_payload()),
    }
}

/// The inner HTTP request: same version prefix, the inner headers, the outer `Authorization`
/// and `client-request-id` (Graph echoes the batch's client-request-id in inner error bodies).
fn build_inner(
    state: &GraphState,
    item: &Item,
    authorization: Option<&HeaderValue>,
    client_request_id: Option<&HeaderValue>,
) -> Result<Request, GraphError> {
    let uri = format!("/{}/{}", state.version, item.url);
    let uri: axum::http::Uri = uri.parse().map_err(|_| GraphError::no_route(&item.url))?;
    let mut req = Request::new(item.body.clone().map(Body::from).unwrap_or_else(Body::empty));
    *req.method_mut() = item.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = item.headers.clone();
    if let Some(a) = authorization {
        req.headers_mut().insert(header::AUTHORIZATION, a.clone());
    }
    if let Some(c) = client_request_id
        && !req.headers().contains_key("client-request-id")
    {
        req.headers_mut().insert("client-request-id", c.clone());
    }
    Ok(req)
}

/// Status, flat headers and body of an inner response. JSON bodies stay JSON; text stays text;
/// anything else is base64, as Graph returns binary content in a batch.
async fn read_answer(res: Response) -> (u16, Map<String, Value>, Option<Value>) {
    let status = res.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in res.headers() {
        if matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
            continue;
        }
        if let Ok(v) = value.to_str() {
            headers.insert(display_name(name.as_str()), Value::String(v.to_string()));
        }
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let bytes = match axum::body::to_bytes(res.into_body(), MAX_INNER_RESPONSE_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "reading an inner batch response failed");
            let err = GraphError::new(500, "Service_InternalServerError", "An internal server error occurred.");
            return error_answer(&err, None, None);
        }
    };
    let body = if bytes.is_empty() {
        None
    } else if content_type.starts_with("application/json") {
        Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())))
    } else if content_type.starts_with("text/") || content_type.contains("xml") {
        Some(Value::String(String::from_utf8_lossy(&bytes).into()))
    } else {
        Some(Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes)))
    };
    (status, headers, body)
}

/// `content-type` -> `Content-Type`, the spelling Graph's batch responses use.
fn display_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// An answer the batch itself gives for one request, in Graph's error shape with the batch's
/// ids (the request never reached the stack that would add its own).
fn error_answer(
    err: &GraphError,
    request_id: Option<&str>,
    client_request_id: Option<&HeaderValue>,
) -> (u16, Map<String, Value>, Option<Value>) {
    let mut inner = json!({ "date": crate::odata::now_seconds(), "request-id": request_id });
    if let Some(c) = client_request_id.and_then(|c| c.to_str().ok()) {
        inner["client-request-id"] = json!(c);
    }
    let body = json!({ "error": { "code": err.code, "message": err.message, "innerError": inner } });
    let mut headers = Map::new();
    headers.insert("Content-Type".into(), json!("application/json"));
    (err.status.as_u16(), headers, Some(body))
}

/// 424 for a request whose dependency failed (or was itself skipped).
fn failed_dependency_answer(
    request_id: Option<&str>,
    client_request_id: Option<&HeaderValue>,
) -> (u16, Map<String, Value>, Option<Value>) {
    let err = GraphError::new(424, "FailedDependency", "Failed Dependency");
    error_answer(&err, request_id, client_request_id)
}

fn entry(id: &str, status: u16, headers: Map<String, Value>, body: Option<Value>) -> Value {
    let mut e = json!({ "id": id, "status": status, "headers": headers });
    if let Some(b) = body {
        e["body"] = b;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_are_encoded_and_stripped() {
        assert_eq!(relative_url("/users?$filter=city eq null").ok().as_deref(), Some("users?$filter=city%20eq%20null"));
        assert_eq!(relative_url("users/a@b.com").ok().as_deref(), Some("users/a@b.com"));
        assert!(relative_url("https://graph.microsoft.com/v1.0/users").is_err());
        assert!(relative_url("//evil.example/users").is_err());
    }

    #[test]
    fn batch_paths() {
        assert!(is_batch_path("$batch"));
        assert!(is_batch_path("%24Batch/"));
        assert!(!is_batch_path("users/$batch@contoso.com"));
    }

    #[test]
    fn header_names_are_capitalised() {
        assert_eq!(display_name("content-type"), "Content-Type");
        assert_eq!(display_name("location"), "Location");
    }

    #[test]
    fn bodies() {
        assert_eq!(body_bytes(&json!({"a": 1})).ok(), Some(br#"{"a":1}"#.to_vec()));
        assert_eq!(body_bytes(&json!("eyJhIjoxfQ==")).ok(), Some(br#"{"a":1}"#.to_vec()));
    }
}
