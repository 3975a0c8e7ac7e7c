//! The directory's error type. Each variant carries Graph's error code, so every front-end
//! maps it to its own wire shape without guessing.

use cerulean_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// 400 with a Graph code (`Request_BadRequest`, `Request_UnsupportedQuery`, `BadRequest`).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 400 `Request_BadRequest`: a value that must be unique is taken (Graph adds a
    /// `details` entry with code `ObjectConflict` naming the property).
    #[error("Another object with the same value for property {property} already exists.")]
    ObjectConflict { property: String },
    /// 404 `Request_ResourceNotFound`.
    #[error("{message}")]
    NotFound { message: String },
    /// 403 `Authorization_RequestDenied`.
    #[error("{0}")]
    Forbidden(String),
    /// 401 with a Graph code: a credential in the request body (the `proof` of `addKey` /
    /// `removeKey`) is missing or not valid; Graph answers `Authentication_MissingOrMalformed`.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// 409/412: the object changed under a concurrent writer too often to retry.
    #[error("{0}")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Store(StoreError),
    /// An internal step failed (hashing, key material).
    #[error("internal error: {0}")]
    Internal(String),
}

impl DirectoryError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        DirectoryError::BadRequest { code: "Request_BadRequest", message: message.into() }
    }

    /// Graph's message for an id that names nothing (or nothing of the expected type).
    pub fn not_found(id: &str) -> Self {
        DirectoryError::NotFound {
            message: format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        }
    }

    /// The HTTP status this error maps to on every front-end.
    pub fn status(&self) -> u16 {
        match self {
            DirectoryError::BadRequest { .. } | DirectoryError::ObjectConflict { .. } => 400,
            DirectoryError::NotFound { .. } => 404,
            DirectoryError::Forbidden(_) => 403,
            DirectoryError::Unauthorized { .. } => 401,
            DirectoryError::Conflict(_) => 409,
            DirectoryError::Store(StoreError::Backend(_)) | DirectoryError::Internal(_) => 500,
            DirectoryError::Store(_) => 500,
        }
    }

    /// Graph's error code.
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::BadRequest { code, .. } => code,
            DirectoryError::ObjectConflict { .. } => "Request_BadRequest",
            DirectoryError::NotFound { .. } => "Request_ResourceNotFound",
            DirectoryError::Forbidden(_) => "Authorization_RequestDenied",
            DirectoryError::Unauthorized { code, .. } => code,
            DirectoryError::Conflict(_) => "Request_Conflict",
            DirectoryError::Store(_) | DirectoryError::Internal(_) => "Service_InternalServerError",
        }
    }
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { namespace, .. } => {
                // The property Graph names for each uniqueness claim (a Microsoft 365 group's
                // mail address is derived from its mailNickname).
                let property = match namespace.as_str() {
                    "upn" => "userPrincipalName",
                    "mail" => "mailNickname",
                    other => other,
                };
                DirectoryError::ObjectConflict { property: property.to_string() }
            }
            StoreError::VersionMismatch(id) => {
                DirectoryError::Conflict(format!("Object '{id}' was modified concurrently; retry the request."))
            }
            other => DirectoryError::Store(other),
        }
    }
}

pub type DirectoryResult<T> = Result<T, DirectoryError>;
