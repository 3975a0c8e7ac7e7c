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
}

impl GraphError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> GraphError {
        GraphError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.to_string(),
            message: message.into(),
            challenge: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(400, "Request_BadRequest", message)
    }

    pub fn not_found(id: &str) -> GraphError {
        DirectoryError::not_found(id).into()
    }

    /// Graph's answer for a path or method it does not serve.
    pub fn no_route(method: &str, path: &str) -> GraphError {
        GraphError::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{}' ({method}).", path.rsplit('/').next().unwrap_or(path)),
        )
    }
}

impl From<DirectoryError> for GraphError {
    fn from(e: DirectoryError) -> GraphError {
        if matches!(e, DirectoryError::Store(_) | DirectoryError::Internal(_)) {
            tracing::error!(error = %e, "directory failure");
            return GraphError::new(500, e.code(), "An internal server error occurred.");
        }
        GraphError::new(e.status(), e.code(), e.to_string())
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
    if let Some(err) = res.extensions_mut().remove::<GraphError>() {
        let date = crate::odata::now_seconds();
        let mut inner = json!({ "date": date, "request-id": request_id });
        if let Some(c) = client_request_id {
            inner["client-request-id"] = json!(c);
        }
        let body = json!({ "error": { "code": err.code, "message": err.message, "innerError": inner } });
        *res.body_mut() = Body::from(body.to_string());
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    res
}
