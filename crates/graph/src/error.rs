//! Graph's error body: `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}`. Handlers return [`GraphError`]; the [`finish_errors`] middleware
//! writes the body, because only it sees the request's ids.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cerulean_directory::DirectoryError;
use cerulean_query::QueryError;
use serde_json::json;

/// An error answered in Graph's shape.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// A `WWW-Authenticate` challenge to send with a 401.
    pub challenge: Option<String>,
    /// Graph's `details` array, when the error has one.
    pub details: Option<serde_json::Value>,
}

impl GraphError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> GraphError {
        GraphError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.to_string(),
            message: message.into(),
            challenge: None,
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(400, "Request_BadRequest", message)
    }

    pub fn not_found(id: &str) -> GraphError {
        DirectoryError::not_found(id).into()
    }

    /// Graph's answer for a path it does not serve.
    pub fn no_route(path: &str) -> GraphError {
        let segment = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
        GraphError::new(400, "BadRequest", format!("Resource not found for the segment '{segment}'."))
    }
}

impl From<DirectoryError> for GraphError {
    fn from(e: DirectoryError) -> GraphError {
        if matches!(e, DirectoryError::Store(_) | DirectoryError::Internal(_)) {
            tracing::error!(error = %e, "directory failure");
            return GraphError::new(500, e.code(), "An internal server error occurred.");
        }
        let mut err = GraphError::new(e.status(), e.code(), e.to_string());
        if let DirectoryError::ObjectConflict { property } = &e {
            err.details = Some(json!([{ "target": property, "code": "ObjectConflict" }]));
        }
        err
    }
}

impl From<QueryError> for GraphError {
    fn from(e: QueryError) -> GraphError {
        GraphError::new(e.status, e.code, e.message)
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self.status;
        if let Some(c) = self.challenge.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        res.extensions_mut().insert(self);
        res
    }
}

/// Writes Graph error bodies with the request's `request-id` and `client-request-id` (set on
/// the request by the server's request-id layer) and the date.
pub async fn finish_errors(req: Request, next: Next) -> Response {
    let (request_id, client_request_id) = {
        let header_of = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        (header_of("request-id"), header_of("client-request-id"))
    };
    let mut res = next.run(req).await;
    let err = match res.extensions_mut().remove::<GraphError>() {
        Some(err) => Some(err),
        // A rejection from the HTTP layer (body too large, bad path encoding, ...) gets
        // Graph's shape too, with its text as the message.
        None if (res.status().is_client_error() || res.status().is_server_error()) && !is_json(&res) => {
            let status = res.status().as_u16();
            let body = std::mem::take(res.body_mut());
            let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let message = String::from_utf8_lossy(&text).trim().to_string();
            let message = if message.is_empty() {
                res.status().canonical_reason().unwrap_or("Bad request").to_string()
            } else {
                message
            };
            let code = if status >= 500 { "Service_InternalServerError" } else { "BadRequest" };
            Some(GraphError::new(status, code, message))
        }
        None => None,
    };
    if let Some(err) = err {
        let date = crate::odata::now_seconds();
        let mut inner = json!({ "date": date, "request-id": request_id });
        if let Some(c) = client_request_id {
            inner["client-request-id"] = json!(c);
        }
        let mut body = json!({ "error": { "code": err.code, "message": err.message, "innerError": inner } });
        if let Some(details) = err.details {
            body["error"]["details"] = details;
        }
        *res.body_mut() = Body::from(body.to_string());
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
