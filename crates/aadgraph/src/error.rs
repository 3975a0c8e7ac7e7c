//! Azure AD Graph's error body: `{"odata.error":{"code","message":{"lang":"en","value"}}}`
//! (the OData 3 JSON error), with the 1.6 codes. The directory's errors already carry the codes
//! both APIs share (`Request_ResourceNotFound`, `Request_BadRequest`,
//! `Authorization_RequestDenied`); only Graph-only codes are renamed here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::DirectoryError;
use cerulean_query::QueryError;
use serde_json::json;

/// An error answered in Azure AD Graph's shape.
#[derive(Debug, Clone)]
pub struct AadError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AadError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> AadError {
        AadError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> AadError {
        AadError::new(400, "Request_BadRequest", message)
    }

    pub fn not_found(key: &str) -> AadError {
        DirectoryError::not_found(key).into()
    }

    /// A path this front-end does not serve: AAD Graph's answer for an unknown segment.
    pub fn bad_url(segment: &str) -> AadError {
        AadError::new(400, "Request_BadRequest", format!("Invalid request url: unknown segment '{segment}'."))
    }

    pub fn method_not_allowed() -> AadError {
        AadError::new(405, "Request_BadRequest", "The HTTP method is not allowed on this resource.")
    }

    pub fn internal() -> AadError {
        AadError::new(500, "Service_InternalServerError", "Encountered an internal server error.")
    }
}

/// Messages produced by the shared layers name Graph v1.0 types (`microsoft.graph.user`);
/// 1.6 clients know them as `Microsoft.DirectoryServices.User`.
fn aad_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("microsoft.graph.") {
        out.push_str(&rest[..i]);
        out.push_str("Microsoft.DirectoryServices.");
        let after = &rest[i + "microsoft.graph.".len()..];
        let mut chars = after.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    out
}

impl From<DirectoryError> for AadError {
    fn from(e: DirectoryError) -> AadError {
        if matches!(e, DirectoryError::Store(_) | DirectoryError::Internal(_)) {
            tracing::error!(error = %e, "directory failure");
            return AadError::internal();
        }
        let code = match e.code() {
            // Graph-only codes, in their 1.6 spelling.
            "BadRequest" => "Request_BadRequest",
            "Request_Conflict" => "Request_MultipleObjectsWithSameKeyValue",
            other => other,
        };
        AadError::new(e.status(), code, aad_message(&e.to_string()))
    }
}

impl From<QueryError> for AadError {
    fn from(e: QueryError) -> AadError {
        let code = match e.code {
            "BadRequest" => "Request_BadRequest",
            other => other,
        };
        AadError::new(e.status, code, aad_message(&e.message))
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let body = json!({
            "odata.error": {
                "code": self.code,
                "message": { "lang": "en", "value": self.message },
            }
        });
        let mut res = crate::ordered::json_response(self.status, body);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn graph_type_names_become_directory_services_names() {
        assert_eq!(
            super::aad_message("The property 'x' does not exist on type 'microsoft.graph.user'."),
            "The property 'x' does not exist on type 'Microsoft.DirectoryServices.User'."
        );
    }
}
