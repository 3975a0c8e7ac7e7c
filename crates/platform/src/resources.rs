//! The resources tokens can be issued for, and how a `scope` or `resource` names them.
//!
//! Microsoft Graph, Azure AD Graph and Azure Resource Manager ("Windows Azure Service
//! Management API", what `az login` asks a token for) are known by name. Any other identifier names an
//! application of the tenant (its `appId` or one of its `identifierUris`) and is resolved
//! by [`bind`] once the tenant is known. The resource also decides the access token's format:
//! `api.requestedAccessTokenVersion` of its application (`accessTokenAcceptedVersion` in the
//! manifest; `null` means 1), while the known resources take v1 tokens.

use cerulean_identity::TokenVersion;
use serde_json::Value;
use uuid::Uuid;

use crate::PlatformState;
use crate::error::OAuthError;

/// A resource application a token can be for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The resource's appId (its service principal must exist in the tenant); empty until
    /// [`bind`] resolves an application of the tenant.
    pub app_id: String,
    /// The `aud` claim: the identifier the client used, as Entra echoes it in v1 tokens (v2
    /// tokens always carry the resource's appId).
    pub audience: String,
    /// The access token format the resource accepts.
    pub version: TokenVersion,
}

impl Resource {
    fn known(app_id: &str, audience: &str) -> Resource {
        Resource { app_id: app_id.to_string(), audience: audience.to_string(), version: TokenVersion::V1 }
    }

    /// Whether [`bind`] still has to resolve this resource in a tenant.
    pub fn is_bound(&self) -> bool {
        !self.app_id.is_empty()
    }
}

pub const GRAPH_APP_ID: &str = cerulean_directory::GRAPH_APP_ID;
pub const AAD_GRAPH_APP_ID: &str = "00000002-0000-0000-c000-000000000000";
/// Azure Resource Manager ("Windows Azure Service Management API"), the resource of the
/// Azure CLI's sign-in and of [`crate::arm`].
pub const ARM_APP_ID: &str = cerulean_directory::ARM_APP_ID;

/// Resolves a resource identifier (`https://graph.microsoft.com`, its appId, or this server's
/// public URL, an alias of Graph; Azure AD Graph's; Azure Resource Manager's
/// `https://management.core.windows.net/` and `https://management.azure.com/`) to a resource.
/// One trailing slash is ignored, except that Resource Manager's `aud` is the identifier as
/// asked (Entra's tokens for `https://management.core.windows.net//.default` carry
/// `https://management.core.windows.net/`, the audience ARM expects). Any other
/// identifier of plausible shape is an application of the tenant, left for [`bind`].
pub fn resolve(identifier: &str, public_url: &str) -> Option<Resource> {
    let id = identifier.strip_suffix('/').unwrap_or(identifier);
    let lower = id.to_ascii_lowercase();
    let graph = |aud: &str| Some(Resource::known(GRAPH_APP_ID, aud));
    match lower.as_str() {
        "https://graph.microsoft.com" => graph("https://graph.microsoft.com"),
        GRAPH_APP_ID => graph(GRAPH_APP_ID),
        "https://graph.windows.net" => Some(Resource::known(AAD_GRAPH_APP_ID, "https://graph.windows.net")),
        AAD_GRAPH_APP_ID => Some(Resource::known(AAD_GRAPH_APP_ID, AAD_GRAPH_APP_ID)),
        "https://management.core.windows.net" | "https://management.azure.com" | ARM_APP_ID => {
            Some(Resource::known(ARM_APP_ID, identifier))
        }
        _ if lower == public_url.trim_end_matches('/').to_ascii_lowercase() => graph("https://graph.microsoft.com"),
        _ if !id.is_empty() && id.len() <= 256 && !id.ends_with('/') && !id.chars().any(char::is_whitespace) => {
            Some(Resource { app_id: String::new(), audience: id.to_string(), version: TokenVersion::V1 })
        }
        _ => None,
    }
}

/// Resolves an application resource in `tenant` (a known resource is returned as it is): its
/// appId, its token version, and the `aud` its tokens carry. An identifier no application
/// of the tenant holds is AADSTS500011.
pub async fn bind(
    state: &PlatformState,
    tenant: Uuid,
    tenant_name: &str,
    resource: &Resource,
) -> Result<Resource, OAuthError> {
    if resource.is_bound() {
        return Ok(resource.clone());
    }
    let app = state
        .directory
        .application_by_resource_identifier(tenant, &resource.audience)
        .await
        .map_err(crate::grants::delegated::internal)?
        .ok_or_else(|| crate::grants::delegated::resource_not_found(&resource.audience, tenant_name))?;
    let app_id = app.doc.get("appId").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = match app.doc.get("api").and_then(|a| a.get("requestedAccessTokenVersion")).and_then(Value::as_i64) {
        Some(2) => TokenVersion::V2,
        _ => TokenVersion::V1,
    };
    let audience = match version {
        TokenVersion::V2 => app_id.clone(),
        TokenVersion::V1 => resource.audience.clone(),
    };
    Ok(Resource { app_id, audience, version })
}

/// The `iss` of an access token of `version` for `tenant`: `.../{tid}/` (v1, Entra's
/// `https://sts.windows.net/{tid}/`) or `.../{tid}/v2.0` (v2, `https://login.microsoftonline.com/{tid}/v2.0`).
pub fn access_token_issuer(public_url: &str, tenant: Uuid, version: TokenVersion) -> String {
    match version {
        TokenVersion::V1 => format!("{public_url}/{tenant}/"),
        TokenVersion::V2 => format!("{public_url}/{tenant}/v2.0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_aliases() {
        let p = "https://127.0.0.1:8443";
        assert_eq!(resolve("https://graph.microsoft.com/", p).map(|r| r.app_id), Some(GRAPH_APP_ID.to_string()));
        assert_eq!(
            resolve("00000003-0000-0000-C000-000000000000", p).map(|r| r.app_id),
            Some(GRAPH_APP_ID.to_string())
        );
        assert_eq!(
            resolve("https://127.0.0.1:8443", p).map(|r| r.audience),
            Some("https://graph.microsoft.com".into())
        );
        assert!(resolve("https://example.com", p).is_some_and(|r| !r.is_bound()));
        assert_eq!(resolve("https://graph.microsoft.com//", p), None);
        assert_eq!(resolve("two words", p), None);
    }

    #[test]
    fn resource_manager_keeps_the_identifier_as_asked() {
        let p = "https://127.0.0.1:8443";
        let arm = resolve("https://management.core.windows.net/", p).expect("known");
        assert_eq!((arm.app_id.as_str(), arm.audience.as_str()), (ARM_APP_ID, "https://management.core.windows.net/"));
        let arm = resolve("https://management.azure.com", p).expect("known");
        assert_eq!((arm.app_id.as_str(), arm.audience.as_str()), (ARM_APP_ID, "https://management.azure.com"));
        assert_eq!(resolve(ARM_APP_ID, p).map(|r| r.app_id), Some(ARM_APP_ID.to_string()));
    }
}
