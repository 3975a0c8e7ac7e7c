//! Token lifetime policies (`/policies/tokenLifetimePolicies`), as Entra's "Configurable token
//! lifetimes" page documents them. A policy's `definition` is a one-element array holding a
//! JSON document in a string, `{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":
//! "01:00:00"}}`. Entra still honours only `AccessTokenLifetime` (10 minutes to 1 day; it governs
//! access, ID and SAML tokens); the session and refresh-token properties were retired. A
//! definition that would change nothing (no `AccessTokenLifetime`, a retired or unknown key, a
//! wrong version) is refused rather than stored inert, so a caller learns at once that the
//! policy would not apply.

use std::time::Duration;

use cerulean_store::{Change, ListQuery, ObjectRecord, Op, Scope, StoreError};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::validate::{Mode, validate_body};
use crate::{Caller, Directory, audit};

/// The object type of a token lifetime policy.
pub const TOKEN_LIFETIME_POLICY: &str = "tokenLifetimePolicy";

/// Claim namespace: one organization-default token lifetime policy per tenant.
const ORG_DEFAULT_CLAIM: &str = "tokenLifetimePolicyDefault";

/// Where a policy keeps the applications it is assigned to: `{"id", "appId"}` pairs (never
/// returned: the type does not declare it; `appliesTo` reads it).
const APPLIES_TO: &str = "cerulean.appliesTo";

/// How many token lifetime policies a tenant's issuance lookup reads at most.
const MAX_POLICIES: usize = 500;

/// The bounds Entra documents for `AccessTokenLifetime`.
const MIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a definition is refused; the message names the fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DefinitionError {
    #[error("Property 'definition' must hold exactly one policy document.")]
    NotOne,
    #[error("The policy definition is not valid JSON: {0}")]
    NotJson(String),
    #[error("The policy definition must be an object with the single key 'TokenLifetimePolicy'.")]
    WrongRoot,
    #[error("TokenLifetimePolicy 'Version' must be 1.")]
    Version,
    #[error("TokenLifetimePolicy property '{0}' is not supported; only 'Version' and 'AccessTokenLifetime' apply.")]
    UnknownKey(String),
    #[error("TokenLifetimePolicy must set 'AccessTokenLifetime'; without it the policy would have no effect.")]
    Missing,
    #[error("TokenLifetimePolicy 'AccessTokenLifetime' must be a time span 'hh:mm:ss' (or 'd.hh:mm:ss').")]
    Format,
    #[error("TokenLifetimePolicy 'AccessTokenLifetime' must be between 00:10:00 and 1.00:00:00.")]
    Range,
}

impl From<DefinitionError> for DirectoryError {
    fn from(e: DefinitionError) -> Self {
        DirectoryError::bad_request(e.to_string())
    }
}

/// The access-token lifetime a `definition` array sets, or why it is refused.
pub fn parse_definition(definition: &Value) -> Result<Duration, DefinitionError> {
    let [Value::String(text)] = definition.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(DefinitionError::NotOne);
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| DefinitionError::NotJson(e.to_string()))?;
    let policy = match doc.as_object() {
        Some(root) if root.len() == 1 => root.get("TokenLifetimePolicy").and_then(Value::as_object),
        _ => None,
    }
    .ok_or(DefinitionError::WrongRoot)?;
    if let Some(key) = policy.keys().find(|k| !matches!(k.as_str(), "Version" | "AccessTokenLifetime")) {
        return Err(DefinitionError::UnknownKey(key.clone()));
    }
    if policy.get("Version").and_then(Value::as_i64) != Some(1) {
        return Err(DefinitionError::Version);
    }
    let lifetime = policy.get("AccessTokenLifetime").ok_or(DefinitionError::Missing)?;
    let lifetime = lifetime.as_str().and_then(parse_time_span).ok_or(DefinitionError::Format)?;
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        return Err(DefinitionError::Range);
    }
    Ok(lifetime)
}

/// A .NET `TimeSpan` as Entra writes it: `hh:mm:ss` or `d.hh:mm:ss`.
fn parse_time_span(text: &str) -> Option<Duration> {
    let (days, clock) = match text.split_once('.') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, text),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [h, m, s] = parts.as_slice() else { return None };
    let field = |v: &str, max: u64| v.parse::<u64>().ok().filter(|n| *n < max && v.len() == 2);
    let (h, m, s) = (field(h, 24)?, field(m, 60)?, field(s, 60)?);
    Some(Duration::from_secs(((days * 24 + h) * 60 + m) * 60 + s))
}

fn entity() -> DirectoryResult<&'static cerulean_schema::EntityType> {
    cerulean_schema::entity(TOKEN_LIFETIME_POLICY)
        .ok_or_else(|| DirectoryError::Internal("tokenLifetimePolicy is not declared".into()))
}

fn reject_annotations(annotations: &Map<String, Value>) -> DirectoryResult<()> {
    match annotations.keys().find(|k| !k.eq_ignore_ascii_case("@odata.type")) {
        Some(k) => Err(crate::validate::unknown_property(k, TOKEN_LIFETIME_POLICY)),
        None => Ok(()),
    }
}

/// The unique claims a policy document holds: the organization default is one per tenant.
fn claims(doc: &Map<String, Value>) -> Vec<(String, String)> {
    match doc.get("isOrganizationDefault").and_then(Value::as_bool) {
        Some(true) => vec![(ORG_DEFAULT_CLAIM.into(), "default".into())],
        _ => Vec::new(),
    }
}

fn second_default() -> DirectoryError {
    DirectoryError::bad_request("Only one token lifetime policy can be the organization default.")
}

impl Directory {
    pub async fn find_token_lifetime_policy(&self, tenant: Uuid, id: &str) -> DirectoryResult<ObjectRecord> {
        self.find(tenant, TOKEN_LIFETIME_POLICY, id).await
    }

    /// `POST /policies/tokenLifetimePolicies`.
    pub async fn create_token_lifetime_policy(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let (mut props, annotations) = validate_body(entity()?, body, Mode::Create)?;
        reject_annotations(&annotations)?;
        parse_definition(props.get("definition").unwrap_or(&Value::Null))?;
        props.entry("isOrganizationDefault").or_insert(Value::Bool(false));
        props.entry("description").or_insert(Value::Null);
        let record = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: TOKEN_LIFETIME_POLICY.into(),
            version: 1,
            doc: props,
            deleted_at: None,
        };
        let change = Change {
            ops: vec![Op::Insert { object: record.clone(), unique: claims(&record.doc) }],
            audit: audit::record(
                caller,
                "Add policy",
                "Policy",
                "Add",
                vec![audit::target(&record, None, Some(&record.doc))],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(record),
            Err(StoreError::Conflict { .. }) => Err(second_default()),
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /policies/tokenLifetimePolicies/{id}`: the merged policy is checked as a whole.
    pub async fn update_token_lifetime_policy(
        &self,
        caller: &Caller,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let current = self.find_token_lifetime_policy(caller.tenant, id).await?;
        let (props, annotations) = validate_body(entity()?, body, Mode::Update)?;
        reject_annotations(&annotations)?;
        let mut next = current.doc.clone();
        next.extend(props);
        parse_definition(next.get("definition").unwrap_or(&Value::Null))?;
        let change = Change {
            ops: vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: next.clone(),
                unique: claims(&next),
            }],
            audit: audit::record(
                caller,
                "Update policy",
                "Policy",
                "Update",
                vec![audit::target(&current, Some(&current.doc), Some(&next))],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(second_default()),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /policies/tokenLifetimePolicies/{id}`.
    pub async fn delete_token_lifetime_policy(&self, caller: &Caller, id: &str) -> DirectoryResult<()> {
        let current = self.find_token_lifetime_policy(caller.tenant, id).await?;
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(caller, "Delete policy", "Policy", "Delete", vec![audit::bare_target(&current)]),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }
}

impl Directory {
    async fn all_token_lifetime_policies(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut query = ListQuery::new(&[TOKEN_LIFETIME_POLICY], Scope::Live);
        query.top = MAX_POLICIES;
        Ok(self.store.list(tenant, &query).await?.items)
    }

    /// `POST /applications/{id}/tokenLifetimePolicies/$ref`: an application holds at most one
    /// token lifetime policy, as in Entra.
    pub async fn assign_token_lifetime_policy(
        &self,
        caller: &Caller,
        app_key: &str,
        policy: Uuid,
    ) -> DirectoryResult<()> {
        let app = self.find_application(caller.tenant, app_key).await?;
        let policy = self.find_token_lifetime_policy(caller.tenant, &policy.to_string()).await?;
        if !self.token_lifetime_policies_of(caller.tenant, &app).await?.is_empty() {
            return Err(DirectoryError::bad_request(
                "The application already has a token lifetime policy; remove it before assigning another.",
            ));
        }
        let app_id = app.doc.get("appId").cloned().unwrap_or(Value::Null);
        let mut next = policy.doc.clone();
        let mut list = applies_to(&policy);
        list.push(serde_json::json!({"id": app.id.to_string(), "appId": app_id}));
        next.insert(APPLIES_TO.into(), Value::Array(list));
        self.write_applies_to(caller, &policy, next, "Add policy to application").await
    }

    /// `DELETE /applications/{id}/tokenLifetimePolicies/{policyId}/$ref`.
    pub async fn unassign_token_lifetime_policy(
        &self,
        caller: &Caller,
        app_key: &str,
        policy: &str,
    ) -> DirectoryResult<()> {
        let app = self.find_application(caller.tenant, app_key).await?;
        let policy = self.find_token_lifetime_policy(caller.tenant, policy).await?;
        let list = applies_to(&policy);
        let kept: Vec<Value> = list.iter().filter(|e| !names(e, app.id)).cloned().collect();
        if kept.len() == list.len() {
            return Err(DirectoryError::not_found(&policy.id.to_string()));
        }
        let mut next = policy.doc.clone();
        next.insert(APPLIES_TO.into(), Value::Array(kept));
        self.write_applies_to(caller, &policy, next, "Remove policy from application").await
    }

    async fn write_applies_to(
        &self,
        caller: &Caller,
        policy: &ObjectRecord,
        next: Map<String, Value>,
        activity: &str,
    ) -> DirectoryResult<()> {
        let change = Change {
            ops: vec![Op::Update {
                id: policy.id,
                expected_version: policy.version,
                unique: claims(&next),
                doc: next.clone(),
            }],
            audit: audit::record(
                caller,
                activity,
                "Policy",
                "Update",
                vec![audit::target(policy, Some(&policy.doc), Some(&next))],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// The token lifetime policies assigned to an application (zero or one).
    pub async fn token_lifetime_policies_of(
        &self,
        tenant: Uuid,
        app: &ObjectRecord,
    ) -> DirectoryResult<Vec<ObjectRecord>> {
        let all = self.all_token_lifetime_policies(tenant).await?;
        Ok(all.into_iter().filter(|p| applies_to(p).iter().any(|e| names(e, app.id))).collect())
    }

    /// `GET /policies/tokenLifetimePolicies/{id}/appliesTo`: the applications that still exist.
    pub async fn token_lifetime_policy_applies_to(
        &self,
        tenant: Uuid,
        policy: &str,
    ) -> DirectoryResult<Vec<ObjectRecord>> {
        let policy = self.find_token_lifetime_policy(tenant, policy).await?;
        let mut out = Vec::new();
        for entry in applies_to(&policy) {
            if let Some(id) = entry.get("id").and_then(Value::as_str)
                && let Ok(app) = self.find_application(tenant, id).await
            {
                out.push(app);
            }
        }
        Ok(out)
    }

    /// The access (and ID) token lifetime for tokens issued for the resource application
    /// `resource_app_id`: the policy assigned to that application, else the organization
    /// default, else `None` (the server's configured lifetimes apply).
    pub async fn token_lifetime_for(&self, tenant: Uuid, resource_app_id: &str) -> DirectoryResult<Option<i64>> {
        // Read at every token: kept while the change log has not moved (see `seq_cache.rs`).
        let seq = self.cache_seq(tenant).await;
        let all = match self.caches.lifetime_policies.get(&tenant, seq) {
            Some(hit) => hit,
            None => {
                let read = std::sync::Arc::new(self.all_token_lifetime_policies(tenant).await?);
                self.caches.lifetime_policies.put(tenant, seq, read.clone());
                read
            }
        };
        let assigned = all.iter().find(|p| {
            applies_to(p).iter().any(|e| {
                e.get("appId").and_then(Value::as_str).is_some_and(|a| a.eq_ignore_ascii_case(resource_app_id))
            })
        });
        let chosen = assigned
            .or_else(|| all.iter().find(|p| p.doc.get("isOrganizationDefault").and_then(Value::as_bool) == Some(true)));
        let Some(policy) = chosen else { return Ok(None) };
        let lifetime = parse_definition(policy.doc.get("definition").unwrap_or(&Value::Null))?;
        Ok(Some(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)))
    }
}

fn applies_to(policy: &ObjectRecord) -> Vec<Value> {
    policy.doc.get(APPLIES_TO).and_then(Value::as_array).cloned().unwrap_or_default()
}

fn names(entry: &Value, app: Uuid) -> bool {
    entry.get("id").and_then(Value::as_str) == Some(app.to_string().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(inner: &str) -> Value {
        json!([inner])
    }

    #[test]
    fn accepts_the_documented_shape() {
        let d = def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"02:30:00"}}"#);
        assert_eq!(parse_definition(&d), Ok(Duration::from_secs(9000)));
        let d = def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"1.00:00:00"}}"#);
        assert_eq!(parse_definition(&d), Ok(MAX_LIFETIME));
    }

    #[test]
    fn refuses_inert_or_malformed_definitions() {
        let cases = [
            (json!([]), DefinitionError::NotOne),
            (json!(["{}", "{}"]), DefinitionError::NotOne),
            (def(r#"{"Other":{}}"#), DefinitionError::WrongRoot),
            (
                def(r#"{"TokenLifetimePolicy":{"Version":2,"AccessTokenLifetime":"01:00:00"}}"#),
                DefinitionError::Version,
            ),
            (def(r#"{"TokenLifetimePolicy":{"Version":1}}"#), DefinitionError::Missing),
            (def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"1h"}}"#), DefinitionError::Format),
            (def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"00:09:59"}}"#), DefinitionError::Range),
            (
                def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"1.00:00:01"}}"#),
                DefinitionError::Range,
            ),
            (
                def(
                    r#"{"TokenLifetimePolicy":{"Version":1,"MaxInactiveTime":"1.00:00:00","AccessTokenLifetime":"01:00:00"}}"#,
                ),
                DefinitionError::UnknownKey("MaxInactiveTime".into()),
            ),
        ];
        for (d, want) in cases {
            assert_eq!(parse_definition(&d), Err(want), "{d}");
        }
        assert!(matches!(parse_definition(&def("not json")), Err(DefinitionError::NotJson(_))));
    }
}
