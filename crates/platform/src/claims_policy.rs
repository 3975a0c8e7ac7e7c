//! Claims mapping policies at the token endpoint: a policy assigned to the service principal a
//! token is for (the resource of an access token, the client of an ID token) shapes that
//! token's claims, once Entra's conditions hold. Entra lets a mapping policy change a token
//! only when the application accepts mapped claims (`api.acceptMappedClaims`) or signs with a
//! key of its own; otherwise the request fails with AADSTS50146, and with
//! `acceptMappedClaims` the identifier the token was asked for must be the application's GUID
//! or lie in a verified domain of the tenant (AADSTS501461). This server has no
//! application-specific signing keys, so `acceptMappedClaims` is the only way in.
//!
//! App-only access tokens (client credentials, managed identities) read the resource's
//! policies through one function, [`app_token_policy`].

use std::sync::Arc;

use cerulean_directory::claims_mapping::{ClaimFacts, ClaimsMapping};
use cerulean_directory::token_policies::TokenPolicies;
use cerulean_identity::MappedClaims;
use cerulean_store::{ObjectRecord, TenantRecord};
use serde_json::Value;

use crate::PlatformState;
use crate::error::OAuthError;
use crate::grants::delegated::internal;

fn missing_signing_key() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_request",
        50146,
        "This application is required to be configured with an application-specific signing key. It is either not configured with one, or the key has expired or is not yet valid.",
    )
}

fn audience_not_allowed() -> OAuthError {
    OAuthError::new(
        400,
        "invalid_request",
        501461,
        "AcceptMappedClaims is only supported for a token audience matching the application GUID or an audience within the tenant's verified domains. Either change the resource identifier, or use an application-specific signing key.",
    )
}

/// Whether `requested` (the resource identifier the client asked with) may carry mapped
/// claims for the application `app_id`: its GUID, or a URI whose host is a verified domain of
/// the tenant or a subdomain of one.
fn audience_allowed(requested: &str, app_id: &str, tenant: &TenantRecord) -> bool {
    if requested.eq_ignore_ascii_case(app_id) {
        return true;
    }
    let Some((_, rest)) = requested.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default().to_ascii_lowercase();
    tenant
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .any(|d| host == d.name || host.strip_suffix(d.name.as_str()).is_some_and(|prefix| prefix.ends_with('.')))
}

/// The claims mapping policy that applies to tokens whose audience is the application
/// `app_id`, asked for as `requested`: `None` without one; AADSTS50146 or AADSTS501461 when
/// Entra would refuse the token.
pub(crate) async fn policy_for(
    state: &PlatformState,
    tenant: &TenantRecord,
    policies: &TokenPolicies,
    app_id: &str,
    requested: &str,
) -> Result<Option<Arc<ClaimsMapping>>, OAuthError> {
    let Some(mapping) = policies.claims_mapping_for(app_id) else { return Ok(None) };
    let app = state.directory.application_by_resource_identifier(tenant.id, app_id).await.map_err(internal)?;
    let accepts = app
        .as_ref()
        .and_then(|a| a.doc.get("api"))
        .and_then(|api| api.get("acceptMappedClaims"))
        .and_then(Value::as_bool)
        == Some(true);
    if !accepts {
        return Err(missing_signing_key());
    }
    if !audience_allowed(requested, app_id, tenant) {
        return Err(audience_not_allowed());
    }
    Ok(Some(mapping))
}

/// What `mapping` (if any) does to a token with these facts.
pub(crate) async fn mapped_claims(
    state: &PlatformState,
    tenant: &TenantRecord,
    mapping: Option<&ClaimsMapping>,
    facts: ClaimFacts<'_>,
) -> Result<MappedClaims, OAuthError> {
    let Some(mapping) = mapping else { return Ok(MappedClaims::default()) };
    let country = match mapping.needs_tenant_country() {
        true => {
            let org = state.directory.organization(tenant.id).await.map_err(internal)?;
            org.doc.get("countryLetterCode").and_then(Value::as_str).map(str::to_string)
        }
        false => None,
    };
    let facts = ClaimFacts { tenant_country: country.as_deref(), ..facts };
    Ok(MappedClaims { omit_basic: !mapping.include_basic, claims: mapping.values(&facts) })
}

/// What the resource's token lifetime and claims mapping policies make of an app-only
/// access token.
pub(crate) struct AppTokenPolicy {
    /// The access token lifetime a policy sets; `None` leaves the grant's default.
    pub lifetime_secs: Option<i64>,
    pub mapped: MappedClaims,
}

/// The policies of the resource `resource_app_id` (asked for as `requested`) for an app-only
/// token of the service principal `client_sp`: the same for a client credentials grant and a
/// managed identity, whose tokens are the same kind of token. Without a user, a mapping can
/// fill constants and the client's, resource's and tenant's facts.
pub(crate) async fn app_token_policy(
    state: &PlatformState,
    tenant: &TenantRecord,
    client_sp: &ObjectRecord,
    resource_app_id: &str,
    requested: &str,
) -> Result<AppTokenPolicy, OAuthError> {
    // Read once per tenant change.
    let policies = state.directory.token_policies(tenant.id).await.map_err(internal)?;
    let lifetime_secs = policies.lifetime_for(resource_app_id);
    let mapped = match policy_for(state, tenant, &policies, resource_app_id, requested).await? {
        Some(mapping) => {
            let resource_sp =
                state.directory.service_principal_by_app_id(tenant.id, resource_app_id).await.map_err(internal)?;
            let facts = ClaimFacts {
                application: Some(client_sp),
                resource: resource_sp.as_ref(),
                audience: resource_sp.as_ref(),
                ..ClaimFacts::default()
            };
            mapped_claims(state, tenant, Some(&mapping), facts).await?
        }
        None => MappedClaims::default(),
    };
    Ok(AppTokenPolicy { lifetime_secs, mapped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cerulean_store::DomainRecord;

    fn domain(name: &str, verified: bool) -> DomainRecord {
        DomainRecord {
            name: name.into(),
            is_initial: false,
            is_default: false,
            is_verified: verified,
            doc: serde_json::Map::new(),
        }
    }

    #[test]
    fn mapped_claims_need_the_app_guid_or_a_verified_domain() {
        let tenant = TenantRecord {
            id: uuid::Uuid::new_v4(),
            display_name: "Contoso".into(),
            domains: vec![domain("contoso.onmicrosoft.com", true), domain("fabrikam.com", false)],
            created_at: String::new(),
        };
        let app = "0f5c1c7e-1111-2222-3333-444455556666";
        assert!(audience_allowed(app, app, &tenant));
        assert!(audience_allowed(&app.to_uppercase(), app, &tenant));
        assert!(audience_allowed("https://contoso.onmicrosoft.com/orders", app, &tenant));
        assert!(audience_allowed("https://api.contoso.onmicrosoft.com:8443/x", app, &tenant));
        assert!(!audience_allowed(&format!("api://{app}"), app, &tenant));
        assert!(!audience_allowed("https://fabrikam.com/orders", app, &tenant));
        assert!(!audience_allowed("https://evilcontoso.onmicrosoft.com/x", app, &tenant));
    }
}
