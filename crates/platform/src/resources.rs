//! The resources tokens can be issued for, and how a `scope` or `resource` names them.

/// A resource application a token can be for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The resource's appId (its service principal must exist in the tenant).
    pub app_id: &'static str,
    /// The `aud` claim: the identifier the client used, as Entra echoes it.
    pub audience: String,
}

pub const GRAPH_APP_ID: &str = cerulean_directory::GRAPH_APP_ID;
pub const AAD_GRAPH_APP_ID: &str = "00000002-0000-0000-c000-000000000000";

/// Resolves a resource identifier (`https://graph.microsoft.com`, its appId, or this server's
/// public URL, an alias of Graph) to a resource. One trailing slash is ignored.
pub fn resolve(identifier: &str, public_url: &str) -> Option<Resource> {
    let id = identifier.strip_suffix('/').unwrap_or(identifier);
    let lower = id.to_ascii_lowercase();
    let graph = |aud: &str| Some(Resource { app_id: GRAPH_APP_ID, audience: aud.to_string() });
    match lower.as_str() {
        "https://graph.microsoft.com" => graph("https://graph.microsoft.com"),
        GRAPH_APP_ID => graph(GRAPH_APP_ID),
        "https://graph.windows.net" => {
            Some(Resource { app_id: AAD_GRAPH_APP_ID, audience: "https://graph.windows.net".into() })
        }
        AAD_GRAPH_APP_ID => Some(Resource { app_id: AAD_GRAPH_APP_ID, audience: AAD_GRAPH_APP_ID.into() }),
        _ if lower == public_url.trim_end_matches('/').to_ascii_lowercase() => graph("https://graph.microsoft.com"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_aliases() {
        let p = "https://127.0.0.1:8443";
        assert_eq!(resolve("https://graph.microsoft.com/", p).map(|r| r.app_id), Some(GRAPH_APP_ID));
        assert_eq!(resolve("00000003-0000-0000-C000-000000000000", p).map(|r| r.app_id), Some(GRAPH_APP_ID));
        assert_eq!(
            resolve("https://127.0.0.1:8443", p).map(|r| r.audience),
            Some("https://graph.microsoft.com".into())
        );
        assert_eq!(resolve("https://example.com", p), None);
        assert_eq!(resolve("https://graph.microsoft.com//", p), None);
    }
}
