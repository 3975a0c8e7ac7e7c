//! Token lifetime policies (`/policies/tokenLifetimePolicies`), as Entra's "Configurable token
//! lifetimes" page documents them. A policy's `definition` is a one-element array holding a
//! JSON document in a string, `{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":
//! "01:00:00"}}`. Entra still honours only `AccessTokenLifetime` (10 minutes to 1 day; it governs
//! access, ID and SAML tokens); the session and refresh-token properties were retired. A
//! definition that would change nothing (no `AccessTokenLifetime`, a retired or unknown key, a
//! wrong version) is refused rather than stored inert, so a caller learns at once that the
//! policy would not apply.
//!
//! Claims mapping policies (`/policies/claimsMappingPolicies`, rules in [`crate::claims_mapping`])
//! share this storage and these routes: a policy document with its `definition`, and the
//! objects it is assigned to (`appliesTo`) kept in the policy itself. The token endpoint reads
//! the tenant's policies once per change-log position ([`TokenPolicies`]), never per token.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cerulean_store::{Change, ListQuery, ObjectRecord, Op, Scope, StoreError};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::claims_mapping::{self, ClaimsMapping};
use crate::error::{DirectoryError, DirectoryResult};
use crate::validate::{Mode, validate_body};
use crate::{Caller, Directory, audit};

/// The object type of a token lifetime policy.
pub const TOKEN_LIFETIME_POLICY: &str = "tokenLifetimePolicy";
/// The object type of a claims mapping policy.
pub const CLAIMS_MAPPING_POLICY: &str = "claimsMappingPolicy";
/// The policy types served here.
pub const POLICY_TYPES: &[&str] = &[TOKEN_LIFETIME_POLICY, CLAIMS_MAPPING_POLICY];

/// Claim namespace: one organization-default token lifetime policy per tenant.
const ORG_DEFAULT_CLAIM: &str = "tokenLifetimePolicyDefault";

/// Where a policy keeps the objects it is assigned to: `{"id", "appId"}` pairs, with
/// `"type": "servicePrincipal"` for service principals (never returned: the type does not
/// declare it; `appliesTo` reads it).
const APPLIES_TO: &str = "cerulean.appliesTo";

/// Tenants whose token policies are kept (see [`Directory::token_policies`]); past it the
/// cache starts over, which bounds its memory whatever the number of tenants.
const CACHE_LIMIT: usize = 256;

/// The cache of token policies: tenant -> (the change-log sequence it was read at, policies).
pub(crate) type TokenPoliciesCache = std::sync::Mutex<HashMap<Uuid, (u64, Arc<TokenPolicies>)>>;

/// The bounds Entra documents for `AccessTokenLifetime`.
const MIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What a policy is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Application,
    ServicePrincipal,
}

impl Holder {
    fn type_name(self) -> &'static str {
        match self {
            Holder::Application => "application",
            Holder::ServicePrincipal => "servicePrincipal",
        }
    }
}

fn kind_name(policy_type: &str) -> &'static str {
    match policy_type {
        CLAIMS_MAPPING_POLICY => "claims mapping policy",
        _ => "token lifetime policy",
    }
}

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
    #[error(
        "TokenLifetimePolicy property '{0}' is not supported; only 'Version' and 'AccessTokenLifetime' apply (the retired refresh and session properties are ignored)."
    )]
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

/// What is wrong with the envelope every policy `definition` shares.
pub(crate) enum Envelope {
    NotOne,
    NotJson(String),
    WrongRoot,
}

impl From<Envelope> for DefinitionError {
    fn from(e: Envelope) -> Self {
        match e {
            Envelope::NotOne => DefinitionError::NotOne,
            Envelope::NotJson(m) => DefinitionError::NotJson(m),
            Envelope::WrongRoot => DefinitionError::WrongRoot,
        }
    }
}

/// The policy object of a `definition`: a one-element array whose string holds a JSON object
/// with the single key `root` (`TokenLifetimePolicy`, `ClaimsMappingPolicy`).
pub(crate) fn policy_object(definition: &Value, root: &str) -> Result<Map<String, Value>, Envelope> {
    let [Value::String(text)] = definition.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(Envelope::NotOne);
    };
    match serde_json::from_str(text).map_err(|e| Envelope::NotJson(e.to_string()))? {
        Value::Object(mut top) if top.len() == 1 => match top.remove(root) {
            Some(Value::Object(policy)) => Ok(policy),
            _ => Err(Envelope::WrongRoot),
        },
        _ => Err(Envelope::WrongRoot),
    }
}

/// The refresh and session token properties Entra retired in 2021 ("Configurable token
/// lifetimes": refresh and session token configuration retired): still sent by existing
/// scripts next to `AccessTokenLifetime`, accepted and ignored like Entra does.
const RETIRED_KEYS: &[&str] = &[
    "MaxInactiveTime",
    "MaxAgeSingleFactor",
    "MaxAgeMultiFactor",
    "MaxAgeSessionSingleFactor",
    "MaxAgeSessionMultiFactor",
];

/// The access-token lifetime a `definition` array sets, or why it is refused. The retired
/// keys pass (ignored) only beside an `AccessTokenLifetime`: a definition of nothing else
/// would have no effect and is refused as such.
pub fn parse_definition(definition: &Value) -> Result<Duration, DefinitionError> {
    let policy = policy_object(definition, "TokenLifetimePolicy")?;
    let known = |k: &str| matches!(k, "Version" | "AccessTokenLifetime") || RETIRED_KEYS.contains(&k);
    if let Some(key) = policy.keys().find(|k| !known(k)) {
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

/// A .NET `TimeSpan` (`[d.]h:m:s`), each clock field one or two digits as .NET reads them:
/// Microsoft's own examples write `"8:00:00"` (tokenlifetimepolicy-post-tokenlifetimepolicies)
/// and `"4:00:00"` (configure-token-lifetimes). Hours stay below 24.
fn parse_time_span(text: &str) -> Option<Duration> {
    let (days, clock) = match text.split_once('.') {
        Some((d, rest)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => (d.parse::<u64>().ok()?, rest),
        Some(_) => return None,
        None => (0, text),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [h, m, s] = parts.as_slice() else { return None };
    let field = |v: &str, max: u64| {
        let digits = (1..=2).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
        v.parse::<u64>().ok().filter(|n| digits && *n < max)
    };
    let (h, m, s) = (field(h, 24)?, field(m, 60)?, field(s, 60)?);
    Some(Duration::from_secs(((days * 24 + h) * 60 + m) * 60 + s))
}

/// Checks a policy document's `definition` (and, for a claims mapping policy, that it is not
/// made an organization default, which Entra ignores for that type).
fn check_policy(policy_type: &str, doc: &Map<String, Value>) -> DirectoryResult<()> {
    let definition = doc.get("definition").unwrap_or(&Value::Null);
    match policy_type {
        CLAIMS_MAPPING_POLICY => {
            claims_mapping::parse_definition(definition)?;
            if doc.get("isOrganizationDefault").and_then(Value::as_bool) == Some(true) {
                return Err(DirectoryError::bad_request(
                    "A claims mapping policy cannot be the organization default; assign it to service principals.",
                ));
            }
        }
        _ => {
            parse_definition(definition)?;
        }
    }
    Ok(())
}

fn entity(policy_type: &str) -> DirectoryResult<&'static cerulean_schema::EntityType> {
    cerulean_schema::entity(policy_type)
        .ok_or_else(|| DirectoryError::Internal(format!("{policy_type} is not declared")))
}

fn reject_annotations(policy_type: &str, annotations: &Map<String, Value>) -> DirectoryResult<()> {
    match annotations.keys().find(|k| !k.eq_ignore_ascii_case("@odata.type")) {
        Some(k) => Err(crate::validate::unknown_property(k, policy_type)),
        None => Ok(()),
    }
}

/// The unique claims a policy document holds: the organization default is one per tenant.
fn claims(policy_type: &str, doc: &Map<String, Value>) -> Vec<(String, String)> {
    match doc.get("isOrganizationDefault").and_then(Value::as_bool) {
        Some(true) if policy_type == TOKEN_LIFETIME_POLICY => vec![(ORG_DEFAULT_CLAIM.into(), "default".into())],
        _ => Vec::new(),
    }
}

fn second_default() -> DirectoryError {
    DirectoryError::bad_request("Only one token lifetime policy can be the organization default.")
}

impl Directory {
    /// A live policy of `policy_type` by id.
    pub async fn find_policy(&self, tenant: Uuid, policy_type: &str, id: &str) -> DirectoryResult<ObjectRecord> {
        self.find(tenant, policy_type, id).await
    }

    /// `POST /policies/tokenLifetimePolicies` and `/policies/claimsMappingPolicies`.
    pub async fn create_policy(
        &self,
        caller: &Caller,
        policy_type: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let (mut props, annotations) = validate_body(entity(policy_type)?, body, Mode::Create)?;
        reject_annotations(policy_type, &annotations)?;
        props.entry("isOrganizationDefault").or_insert(Value::Bool(false));
        props.entry("description").or_insert(Value::Null);
        check_policy(policy_type, &props)?;
        let record = ObjectRecord {
            id: Uuid::new_v4(),
            object_type: policy_type.into(),
            version: 1,
            doc: props,
            deleted_at: None,
        };
        let change = Change {
            ops: vec![Op::Insert { object: record.clone(), unique: claims(policy_type, &record.doc) }],
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

    /// `PATCH /policies/{set}/{id}`: the merged policy is checked as a whole.
    pub async fn update_policy(
        &self,
        caller: &Caller,
        policy_type: &str,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let current = self.find_policy(caller.tenant, policy_type, id).await?;
        let (props, annotations) = validate_body(entity(policy_type)?, body, Mode::Update)?;
        reject_annotations(policy_type, &annotations)?;
        let mut next = current.doc.clone();
        next.extend(props);
        check_policy(policy_type, &next)?;
        let change = Change {
            ops: vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: next.clone(),
                unique: claims(policy_type, &next),
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

    /// `DELETE /policies/{set}/{id}`.
    pub async fn delete_policy(&self, caller: &Caller, policy_type: &str, id: &str) -> DirectoryResult<()> {
        let current = self.find_policy(caller.tenant, policy_type, id).await?;
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(caller, "Delete policy", "Policy", "Delete", vec![audit::bare_target(&current)]),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }
}

impl Directory {
    /// Every live policy of `policy_type` in the tenant, page by page.
    async fn all_policies(&self, tenant: Uuid, policy_type: &str) -> DirectoryResult<Vec<ObjectRecord>> {
        let types = [policy_type];
        self.all_pages(tenant, ListQuery::new(&types, Scope::Live)).await
    }

    async fn find_holder(&self, tenant: Uuid, holder: Holder, key: &str) -> DirectoryResult<ObjectRecord> {
        match holder {
            Holder::Application => self.find_application(tenant, key).await,
            Holder::ServicePrincipal => self.find_service_principal(tenant, key).await,
        }
    }

    /// `POST /applications/{id}/tokenLifetimePolicies/$ref`,
    /// `POST /servicePrincipals/{id}/tokenLifetimePolicies/$ref` and
    /// `POST /servicePrincipals/{id}/claimsMappingPolicies/$ref`: an object holds at most one
    /// policy of each type, as in Entra.
    pub async fn assign_policy(
        &self,
        caller: &Caller,
        policy_type: &str,
        holder: Holder,
        key: &str,
        policy: Uuid,
    ) -> DirectoryResult<()> {
        let target = self.find_holder(caller.tenant, holder, key).await?;
        let policy = self.find_policy(caller.tenant, policy_type, &policy.to_string()).await?;
        if !self.policies_of(caller.tenant, policy_type, &target).await?.is_empty() {
            let what = match holder {
                Holder::Application => "application",
                Holder::ServicePrincipal => "service principal",
            };
            return Err(DirectoryError::bad_request(format!(
                "The {what} already has a {}; remove it before assigning another.",
                kind_name(policy_type)
            )));
        }
        let app_id = target.doc.get("appId").cloned().unwrap_or(Value::Null);
        let mut entry = serde_json::json!({"id": target.id.to_string(), "appId": app_id});
        if holder == Holder::ServicePrincipal {
            entry["type"] = Value::String(holder.type_name().into());
        }
        let mut next = policy.doc.clone();
        let mut list = applies_to(&policy);
        list.push(entry);
        next.insert(APPLIES_TO.into(), Value::Array(list));
        let activity = match holder {
            Holder::Application => "Add policy to application",
            Holder::ServicePrincipal => "Add policy to service principal",
        };
        self.write_applies_to(caller, &policy, next, activity).await
    }

    /// `DELETE /{applications|servicePrincipals}/{id}/{policies}/{policyId}/$ref`.
    pub async fn unassign_policy(
        &self,
        caller: &Caller,
        policy_type: &str,
        holder: Holder,
        key: &str,
        policy: &str,
    ) -> DirectoryResult<()> {
        let target = self.find_holder(caller.tenant, holder, key).await?;
        let policy = self.find_policy(caller.tenant, policy_type, policy).await?;
        let list = applies_to(&policy);
        let kept: Vec<Value> = list.iter().filter(|e| !names(e, target.id)).cloned().collect();
        if kept.len() == list.len() {
            return Err(DirectoryError::not_found(&policy.id.to_string()));
        }
        let mut next = policy.doc.clone();
        next.insert(APPLIES_TO.into(), Value::Array(kept));
        let activity = match holder {
            Holder::Application => "Remove policy from application",
            Holder::ServicePrincipal => "Remove policy from service principal",
        };
        self.write_applies_to(caller, &policy, next, activity).await
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
                unique: claims(&policy.object_type, &next),
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

    /// The policies of `policy_type` assigned to an application or service principal (zero or
    /// one).
    pub async fn policies_of(
        &self,
        tenant: Uuid,
        policy_type: &str,
        target: &ObjectRecord,
    ) -> DirectoryResult<Vec<ObjectRecord>> {
        let all = self.all_policies(tenant, policy_type).await?;
        Ok(all.into_iter().filter(|p| applies_to(p).iter().any(|e| names(e, target.id))).collect())
    }

    /// `GET /policies/{set}/{id}/appliesTo`: the applications and service principals that
    /// still exist.
    pub async fn policy_applies_to(
        &self,
        tenant: Uuid,
        policy_type: &str,
        policy: &str,
    ) -> DirectoryResult<Vec<ObjectRecord>> {
        let policy = self.find_policy(tenant, policy_type, policy).await?;
        let mut out = Vec::new();
        for entry in applies_to(&policy) {
            if let Some(id) = entry.get("id").and_then(Value::as_str)
                && let Ok(id) = Uuid::parse_str(id)
                && let Some(object) = self.get(tenant, id).await?
                && ["application", "servicePrincipal"].contains(&object.object_type.as_str())
            {
                out.push(object);
            }
        }
        Ok(out)
    }

    /// The token lifetime for tokens whose audience is the application `app_id` (see
    /// [`TokenPolicies::lifetime_for`]).
    pub async fn token_lifetime_for(&self, tenant: Uuid, app_id: &str) -> DirectoryResult<Option<i64>> {
        Ok(self.token_policies(tenant).await?.lifetime_for(app_id))
    }

    /// The tenant's token policies as the token endpoint applies them, from the cache while the
    /// tenant's change log has not moved since they were read (the same rule as the resource
    /// app roles of `apps.rs`: the sequence is read before the policies, so the cache is never
    /// newer than its key; inside a unit of work the cache is bypassed).
    pub async fn token_policies(&self, tenant: Uuid) -> DirectoryResult<Arc<TokenPolicies>> {
        let seq = self.cache_seq(tenant).await;
        if let Some(seq) = seq
            && let Some((at, hit)) = self.token_policies.lock().unwrap_or_else(|e| e.into_inner()).get(&tenant)
            && *at == seq
        {
            return Ok(hit.clone());
        }
        let mut read = TokenPolicies::default();
        for policy in self.all_policies(tenant, TOKEN_LIFETIME_POLICY).await? {
            // Stored definitions were checked when written; one that no longer parses (written
            // by an older server) is skipped rather than failing every token.
            let Ok(lifetime) = parse_definition(policy.doc.get("definition").unwrap_or(&Value::Null)) else {
                continue;
            };
            let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
            if policy.doc.get("isOrganizationDefault").and_then(Value::as_bool) == Some(true) {
                read.org_default = Some(secs);
            }
            for (holder, app_id) in holders(&policy) {
                let map = match holder {
                    Holder::Application => &mut read.application,
                    Holder::ServicePrincipal => &mut read.service_principal,
                };
                map.insert(app_id, secs);
            }
        }
        for policy in self.all_policies(tenant, CLAIMS_MAPPING_POLICY).await? {
            let Ok(mapping) = claims_mapping::parse_definition(policy.doc.get("definition").unwrap_or(&Value::Null))
            else {
                continue;
            };
            let mapping = Arc::new(mapping);
            for (holder, app_id) in holders(&policy) {
                if holder == Holder::ServicePrincipal {
                    read.claims.insert(app_id, mapping.clone());
                }
            }
        }
        let read = Arc::new(read);
        if let Some(seq) = seq {
            let mut cache = self.token_policies.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(tenant, (seq, read.clone()));
        }
        Ok(read)
    }
}

/// A tenant's token policies, by the lower-case `appId` of what they are assigned to.
#[derive(Debug, Default)]
pub struct TokenPolicies {
    org_default: Option<i64>,
    application: HashMap<String, i64>,
    service_principal: HashMap<String, i64>,
    claims: HashMap<String, Arc<ClaimsMapping>>,
}

impl TokenPolicies {
    /// The lifetime (seconds) of access and ID tokens whose audience is the application
    /// `app_id`, in the order Entra documents ("Policy evaluation and prioritization"): the
    /// policy assigned to its service principal, else the organization default, else the policy
    /// assigned to the application object; `None` when none applies (the server's configured
    /// lifetimes then do).
    pub fn lifetime_for(&self, app_id: &str) -> Option<i64> {
        let key = app_id.to_ascii_lowercase();
        self.service_principal.get(&key).copied().or(self.org_default).or_else(|| self.application.get(&key).copied())
    }

    /// The claims mapping policy assigned to the service principal of `app_id`.
    pub fn claims_mapping_for(&self, app_id: &str) -> Option<Arc<ClaimsMapping>> {
        self.claims.get(&app_id.to_ascii_lowercase()).cloned()
    }
}

fn applies_to(policy: &ObjectRecord) -> Vec<Value> {
    policy.doc.get(APPLIES_TO).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// What a policy is assigned to, as (holder, lower-case appId).
fn holders(policy: &ObjectRecord) -> Vec<(Holder, String)> {
    applies_to(policy)
        .iter()
        .filter_map(|e| {
            let app_id = e.get("appId").and_then(Value::as_str)?.to_ascii_lowercase();
            let holder = match e.get("type").and_then(Value::as_str) {
                Some("servicePrincipal") => Holder::ServicePrincipal,
                _ => Holder::Application,
            };
            Some((holder, app_id))
        })
        .collect()
}

fn names(entry: &Value, target: Uuid) -> bool {
    entry.get("id").and_then(Value::as_str) == Some(target.to_string().as_str())
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
        // One-digit hours, as Microsoft's examples write them.
        for (text, secs) in [("8:00:00", 28_800), ("4:00:00", 14_400), ("0:30:00", 1800), ("0.8:00:00", 28_800)] {
            let d = def(&format!(r#"{{"TokenLifetimePolicy":{{"Version":1,"AccessTokenLifetime":"{text}"}}}}"#));
            assert_eq!(parse_definition(&d), Ok(Duration::from_secs(secs)), "{text}");
        }
        // The retired keys beside a lifetime are ignored.
        let d = def(
            r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"08:00:00","MaxInactiveTime":"30.00:00:00","MaxAgeSingleFactor":"until-revoked","MaxAgeMultiFactor":"until-revoked","MaxAgeSessionSingleFactor":"until-revoked","MaxAgeSessionMultiFactor":"until-revoked"}}"#,
        );
        assert_eq!(parse_definition(&d), Ok(Duration::from_secs(28_800)));
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
                def(r#"{"TokenLifetimePolicy":{"Version":1,"Bogus":"1.00:00:00","AccessTokenLifetime":"01:00:00"}}"#),
                DefinitionError::UnknownKey("Bogus".into()),
            ),
            // Retired keys alone set nothing.
            (def(r#"{"TokenLifetimePolicy":{"Version":1,"MaxInactiveTime":"1.00:00:00"}}"#), DefinitionError::Missing),
            (
                def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"123:00:00"}}"#),
                DefinitionError::Format,
            ),
            (
                def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"1.24:00:00"}}"#),
                DefinitionError::Format,
            ),
            (def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"+8:00:00"}}"#), DefinitionError::Format),
            (
                def(r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":".08:00:00"}}"#),
                DefinitionError::Format,
            ),
        ];
        for (d, want) in cases {
            assert_eq!(parse_definition(&d), Err(want), "{d}");
        }
        assert!(matches!(parse_definition(&def("not json")), Err(DefinitionError::NotJson(_))));
    }
}
