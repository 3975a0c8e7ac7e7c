//! The error every query option reports: an HTTP status plus Graph's error `code` and
//! `message`, so a front-end can render `{"error":{"code":..,"message":..}}` unchanged.

use std::fmt;

/// Graph's `BadRequest`: the URL's OData text is malformed or names something unknown. Graph's
/// OData front door produces these before the directory sees the request.
pub const BAD_REQUEST: &str = "BadRequest";
/// Graph's `Request_UnsupportedQuery`: well-formed, but the directory does not support it (a
/// property that is not filterable or sortable, an operator that needs advanced query
/// parameters, a page size out of range).
pub const UNSUPPORTED_QUERY: &str = "Request_UnsupportedQuery";
/// Graph's `Request_BadRequest`: the directory refused a value (an object id that is not a GUID,
/// a page token it did not issue).
pub const REQUEST_BAD_REQUEST: &str = "Request_BadRequest";

/// A refused query option. Every variant Graph uses here is a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for QueryError {}

impl QueryError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> QueryError {
        QueryError { status, code, message: message.into() }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> QueryError {
        QueryError::new(400, BAD_REQUEST, message)
    }

    /// 400 `Request_UnsupportedQuery`.
    pub fn unsupported(message: impl Into<String>) -> QueryError {
        QueryError::new(400, UNSUPPORTED_QUERY, message)
    }

    /// 400 `Request_BadRequest`.
    pub fn request_bad_request(message: impl Into<String>) -> QueryError {
        QueryError::new(400, REQUEST_BAD_REQUEST, message)
    }

    /// Graph's generic refusal for a well-formed clause the directory cannot run.
    pub fn unsupported_query() -> QueryError {
        QueryError::unsupported("Unsupported query.")
    }

    /// Graph's wording for a property that exists but cannot be filtered on (or is unknown to
    /// the directory): `Unsupported or invalid query filter clause specified for property 'X' of
    /// resource 'User'.`
    pub fn unfilterable(property: &str, entity: &str) -> QueryError {
        QueryError::unsupported(format!(
            "Unsupported or invalid query filter clause specified for property '{property}' of resource '{}'.",
            resource_name(entity)
        ))
    }

    /// The OData library's wording for an unknown property:
    /// `Could not find a property named 'foo' on type 'microsoft.graph.user'.`
    pub fn unknown_property(property: &str, entity: &str) -> QueryError {
        QueryError::bad_request(unknown_property_text(property, entity))
    }

    /// Graph's wording for an operator that only advanced queries support.
    pub fn needs_advanced(operator: &str) -> QueryError {
        QueryError::unsupported(format!(
            "Operator '{operator}' is not supported because the required parameters might be missing. \
             Try adding $count=true query parameter and ConsistencyLevel:eventual header. \
             Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        ))
    }
}

pub(crate) fn unknown_property_text(property: &str, entity: &str) -> String {
    format!("Could not find a property named '{property}' on type 'microsoft.graph.{entity}'.")
}

/// `user` -> `User`: the resource name Graph's directory errors use.
pub(crate) fn resource_name(entity: &str) -> String {
    let mut chars = entity.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Quotes user text inside an error message, cut short so a hostile 8 KiB filter does not
/// come back as an 8 KiB error.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push_str("...");
        s
    }
}
