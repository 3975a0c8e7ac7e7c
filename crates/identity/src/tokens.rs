//! Entra-shaped app-only access tokens and the per-tenant key ring that signs them.
//!
//! # Claim set (client credentials, Microsoft Graph)
//!
//! Decoded Entra app tokens for Graph carry, and ours carry:
//!
//! | claim | v1 (`ver: "1.0"`) | v2 (`ver: "2.0"`) |
//! |---|---|---|
//! | `aud`, `iss`, `iat`, `nbf`, `exp` | yes | yes |
//! | `aio`, `rh`, `uti` (opaque, random) | yes | yes |
//! | `app_displayname` | yes | — (v1 only in Entra) |
//! | `appid`, `appidacr` | yes | — |
//! | `azp`, `azpacr` | — | yes |
//! | `idp` (= `iss`), `idtyp: "app"` | yes | yes |
//! | `oid`, `sub` (= service principal object id) | yes | yes |
//! | `roles` (only when non-empty, as Entra) | yes | yes |
//! | `tid`, `ver`, `xms_tcdt` (when known) | yes | yes |
//!
//! Like Entra, `iat` and `nbf` are back-dated by five minutes to absorb clock skew on the
//! resource side; `exp` is `now + lifetime`. v1 tokens carry `x5t` in the header, v2 only
//! `kid` (Entra: "x5t ... emitted only in v1.0 access tokens").

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cerulean_store::{Actor, AuditRecord, AuditTarget, Change, Op, SigningKeyRecord, Store};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::b64;
use crate::jwt::{ClaimExpectations, DEFAULT_CACHE_CAPACITY, HeaderStyle, JwtError, Signer, Verifier};
use crate::keys::{self, SigningKey};
use crate::{IdentityError, Result, unix_now};

/// How far `iat`/`nbf` are back-dated (Entra does the same).
pub const ISSUED_AT_BACKDATE_SECS: i64 = 300;

/// Access token format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersion {
    /// `ver: "1.0"` — what Entra issues for Microsoft Graph and Azure AD Graph.
    V1,
    /// `ver: "2.0"` — for resources whose `accessTokenAcceptedVersion` is 2.
    V2,
}

/// How the client authenticated (`appidacr` / `azpacr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `"0"`
    PublicClient,
    /// `"1"`
    ClientSecret,
    /// `"2"`
    Certificate,
}

impl ClientAuthMethod {
    pub fn acr(self) -> &'static str {
        match self {
            ClientAuthMethod::PublicClient => "0",
            ClientAuthMethod::ClientSecret => "1",
            ClientAuthMethod::Certificate => "2",
        }
    }
}

/// An app-only (client credentials) access token to issue.
#[derive(Debug, Clone)]
pub struct AppTokenRequest {
    pub tenant_id: Uuid,
    /// `iss` (and `idp`), built by the caller from the public URL and the token version.
    pub issuer: String,
    /// `aud`: `https://graph.microsoft.com`, `00000003-...`, an app id URI, ...
    pub audience: String,
    /// The client application's `appId`.
    pub app_id: Uuid,
    /// The client's service principal object id (`oid`, `sub`).
    pub sp_object_id: Uuid,
    /// App role values granted to the client on the resource.
    pub roles: Vec<String>,
    pub lifetime_secs: i64,
    pub version: TokenVersion,
    pub app_display_name: String,
    pub client_auth: ClientAuthMethod,
    /// The tenant's creation time (Unix seconds), emitted as `xms_tcdt` when known.
    pub tenant_created_at: Option<i64>,
    /// What the resource's claims mapping policy does to the token.
    pub mapped: MappedClaims,
}

/// The claims of the basic claim set a token of this server carries (`name`, `given_name`,
/// `family_name`): every other claim it issues is in Entra's restricted set, which a claims
/// mapping policy can neither drop nor change.
pub const BASIC_CLAIMS: &[&str] = &["name", "given_name", "family_name"];

/// What a claims mapping policy (assigned to the service principal a token is for) does to the
/// token: the basic claim set is dropped when the policy's `IncludeBasicClaimSet` is false,
/// and the mapped claims are added, replacing a basic claim of the same name. The policy
/// cannot name a restricted claim (it is refused when created), so nothing else changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappedClaims {
    pub omit_basic: bool,
    pub claims: Map<String, Value>,
}

impl MappedClaims {
    /// Applies the policy's effect to a token's claim set.
    pub fn apply(&self, c: &mut Map<String, Value>) {
        if self.omit_basic {
            for name in BASIC_CLAIMS {
                c.remove(*name);
            }
        }
        for (name, value) in &self.claims {
            c.insert(name.clone(), value.clone());
        }
    }
}

/// A signed token and the times the token response reports.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until `exp` (the OAuth `expires_in`).
    pub expires_in: i64,
    /// `exp` (Unix seconds; the v1 `expires_on`).
    pub expires_on: i64,
    /// `nbf` (Unix seconds; the v1 `not_before`).
    pub not_before: i64,
    pub kid: String,
}

fn random_b64(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| IdentityError::Crypto("random generation"))?;
    Ok(b64::url_encode(buf))
}

/// The claim set of an app-only access token issued at `now` (see the module docs).
pub fn app_token_claims(req: &AppTokenRequest, now: i64) -> Result<Map<String, Value>> {
    if req.lifetime_secs <= 0 {
        return Err(IdentityError::InvalidRequest("token lifetime must be positive".into()));
    }
    let issued = now - ISSUED_AT_BACKDATE_SECS;
    let tid = req.tenant_id.to_string();
    let oid = req.sp_object_id.to_string();
    let app_id = req.app_id.to_string();
    let acr = req.client_auth.acr();
    let mut c = Map::new();
    c.insert("aud".into(), json!(req.audience));
    c.insert("iss".into(), json!(req.issuer));
    c.insert("iat".into(), json!(issued));
    c.insert("nbf".into(), json!(issued));
    c.insert("exp".into(), json!(now + req.lifetime_secs));
    // Opaque in Entra ("aio": internal data for token reuse; "rh": refresh handle) and
    // opaque here: random, so nothing can come to depend on their content.
    c.insert("aio".into(), json!(random_b64(42)?));
    match req.version {
        TokenVersion::V1 => {
            c.insert("app_displayname".into(), json!(req.app_display_name));
            c.insert("appid".into(), json!(app_id));
            c.insert("appidacr".into(), json!(acr));
        }
        TokenVersion::V2 => {
            c.insert("azp".into(), json!(app_id));
            c.insert("azpacr".into(), json!(acr));
        }
    }
    c.insert("idp".into(), json!(req.issuer));
    c.insert("idtyp".into(), json!("app"));
    c.insert("oid".into(), json!(oid));
    c.insert("rh".into(), json!(format!("0.{}", random_b64(33)?)));
    if !req.roles.is_empty() {
        c.insert("roles".into(), json!(req.roles));
    }
    c.insert("sub".into(), json!(oid));
    c.insert("tid".into(), json!(tid));
    // Unique token identifier: 16 random bytes = 22 base64url characters, as Entra's.
    c.insert("uti".into(), json!(random_b64(16)?));
    c.insert(
        "ver".into(),
        json!(match req.version {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }),
    );
    if let Some(tcdt) = req.tenant_created_at {
        c.insert("xms_tcdt".into(), json!(tcdt));
    }
    req.mapped.apply(&mut c);
    Ok(c)
}

/// The longest lifetime of a token whose lifetime is not configurable (managed identity
/// tokens, 3599 s) and of the default access (3599 s) and ID (3600 s) tokens. A retired key
/// stays published the longest lifetime after it stopped signing, plus
/// [`KEY_REFRESH_INTERVAL`] (other nodes may sign with it until they reload) and the verifiers'
/// clock skew.
pub const LONGEST_TOKEN_LIFETIME_SECS: i64 = 3600;

/// How long a node uses its loaded keys before reading them again, so that a key added or
/// activated elsewhere (the CLI, another node) is published and used without a restart.
pub const KEY_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Seconds a retired key stays published after it stopped signing with the default lifetimes:
/// every token it signed has expired by then, on every node, within the verifiers' clock skew.
/// [`TokenIssuer::key_retention_secs`] is the same for the configured lifetimes.
pub const fn key_retention_secs() -> i64 {
    retention_for(LONGEST_TOKEN_LIFETIME_SECS)
}

const fn retention_for(longest_lifetime_secs: i64) -> i64 {
    longest_lifetime_secs + crate::jwt::DEFAULT_LEEWAY_SECS + KEY_REFRESH_INTERVAL.as_secs() as i64
}

/// The configurable token lifetimes (`--access-token-lifetime-secs`, `--id-token-lifetime-secs`,
/// `--refresh-token-lifetime-days`). The bounds are those of Entra's token lifetime policy
/// (`AccessTokenLifetime` and `IdTokenLifetime`: 10 minutes to 1 day) and of its refresh-token
/// inactivity window (at most 90 days), so a deployment cannot configure what Entra would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Access tokens of apps and users (Entra's default is 60-90 minutes; ours 3599 s).
    pub access_secs: i64,
    /// ID tokens (one hour, as Entra).
    pub id_secs: i64,
    /// Refresh tokens, sliding: each redemption issues a successor valid this long.
    pub refresh_days: i64,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes { access_secs: 3599, id_secs: 3600, refresh_days: 90 }
    }
}

/// A configured lifetime outside what Entra's token lifetime policy allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    #[error("the access token lifetime must be between 600 seconds (10 minutes) and 86400 seconds (1 day); got {0}")]
    Access(i64),
    #[error("the ID token lifetime must be between 600 seconds (10 minutes) and 86400 seconds (1 day); got {0}")]
    Id(i64),
    #[error("the refresh token lifetime must be between 1 and 90 days; got {0}")]
    Refresh(i64),
}

impl TokenLifetimes {
    /// Entra's least access and ID token lifetime (10 minutes).
    pub const MIN_SECS: i64 = 600;
    /// Entra's greatest access and ID token lifetime (1 day).
    pub const MAX_SECS: i64 = 86_400;
    /// The longest refresh-token inactivity Entra allowed (90 days).
    pub const MAX_REFRESH_DAYS: i64 = 90;

    /// Checks every lifetime against Entra's bounds.
    pub fn validated(self) -> std::result::Result<Self, LifetimeError> {
        if !(Self::MIN_SECS..=Self::MAX_SECS).contains(&self.access_secs) {
            return Err(LifetimeError::Access(self.access_secs));
        }
        if !(Self::MIN_SECS..=Self::MAX_SECS).contains(&self.id_secs) {
            return Err(LifetimeError::Id(self.id_secs));
        }
        if !(1..=Self::MAX_REFRESH_DAYS).contains(&self.refresh_days) {
            return Err(LifetimeError::Refresh(self.refresh_days));
        }
        Ok(self)
    }

    /// The longest lifetime of any token signed under these settings.
    pub fn longest_secs(&self) -> i64 {
        self.access_secs.max(self.id_secs).max(LONGEST_TOKEN_LIFETIME_SECS)
    }
}

/// Unix seconds of an RFC 3339 time.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok().map(|t| t.unix_timestamp())
}

/// Until when (Unix seconds) a key is published: forever for `active` and `next` keys,
/// `retention_secs` after retirement for `retired` ones (a retired key without a
/// retirement time, from before rotation recorded it, counts as retired at creation).
pub(crate) fn published_until(record: &SigningKeyRecord, retention_secs: i64) -> Option<i64> {
    if record.status != keys::STATUS_RETIRED {
        return None;
    }
    let since = record.retired_at.as_deref().or(Some(record.created_at.as_str())).and_then(parse_time).unwrap_or(0);
    Some(since + retention_secs)
}

/// One tenant's keys, parsed once: the key that signs, every published key, and a verifier
/// (with its token cache) over all of them.
#[derive(Debug)]
pub struct TenantKeys {
    signer: Signer,
    /// Each published key with the Unix time it stops being published (retired keys).
    published: Vec<(Arc<SigningKey>, Option<i64>)>,
    verifier: Verifier,
    loaded_at: std::time::Instant,
}

impl TenantKeys {
    /// Builds the ring from stored keys. The signing key is the newest `active` one (two
    /// nodes racing to create a tenant's first key may both succeed; both keys are published,
    /// so tokens of either verify). Keys whose status we do not know are ignored, and so are
    /// retired keys past their retention (their tokens have expired; pruning deletes them).
    fn from_records(records: &[SigningKeyRecord], cache_capacity: usize, retention_secs: i64) -> Result<Option<Self>> {
        let now = unix_now();
        let mut published = Vec::new();
        for rec in records {
            let until = published_until(rec, retention_secs);
            if [keys::STATUS_ACTIVE, keys::STATUS_NEXT, keys::STATUS_RETIRED].contains(&rec.status.as_str())
                && until.is_none_or(|u| u > now)
            {
                published.push((Arc::new(SigningKey::from_record(rec)?), until));
            }
        }
        let active = published
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.status() == keys::STATUS_ACTIVE)
            .max_by(|a, b| (a.created_at(), a.kid()).cmp(&(b.created_at(), b.kid())))
            .cloned();
        let Some(active) = active else {
            return Ok(None);
        };
        let verifier = Verifier::for_keys(published.iter().map(|(k, _)| k.as_ref()), cache_capacity);
        Ok(Some(TenantKeys { signer: Signer::new(active), published, verifier, loaded_at: std::time::Instant::now() }))
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The tenant's JWKS document: `{"keys": [...]}`, without retired keys whose retention
    /// ended since the ring was loaded.
    pub fn jwks(&self, issuer: Option<&str>) -> Value {
        let now = unix_now();
        let keys: Vec<Value> = self
            .published
            .iter()
            .filter(|(_, until)| until.is_none_or(|u| u > now))
            .map(|(k, _)| k.jwk(issuer))
            .collect();
        json!({ "keys": keys })
    }
}

/// Issues and verifies tokens for every tenant, holding each tenant's parsed keys in memory.
///
/// A tenant's keys are loaded from the store on first use; a tenant without an active key
/// gets one generated and persisted (one store transaction, audited). Published keys are
/// those the store holds with status `active`, `next` or `retired`: the store defines
/// `retired` as "published until its tokens expire", which the rotation rule of the design
/// needs (old key kept until its tokens expire); a key stops being published when it is
/// deleted. Signing runs on the caller's thread, verification goes through a per-tenant
/// cache.
pub struct TokenIssuer {
    store: Arc<dyn Store>,
    tenants: RwLock<HashMap<Uuid, Arc<TenantKeys>>>,
    /// Serialises loading so concurrent first requests generate one key, not several.
    loading: tokio::sync::Mutex<()>,
    cache_capacity: usize,
    /// When each tenant's keys were last reloaded for an unknown `kid`: another node (or a
    /// rotation) may have added a key, but a stream of made-up kids must not hit the store.
    reloaded: std::sync::Mutex<HashMap<Uuid, std::time::Instant>>,
    /// How long a loaded ring is used before it is read again ([`KEY_REFRESH_INTERVAL`]).
    refresh: std::time::Duration,
    /// The configured token lifetimes: the grants read them, and retired keys stay published
    /// for the longest of them.
    lifetimes: TokenLifetimes,
}

/// The least time between two reloads of one tenant's keys for unknown kids.
const RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_cache_capacity(store, DEFAULT_CACHE_CAPACITY)
    }

    /// `cache_capacity` validated tokens remembered per tenant.
    pub fn with_cache_capacity(store: Arc<dyn Store>, cache_capacity: usize) -> Self {
        TokenIssuer {
            store,
            tenants: RwLock::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            cache_capacity,
            reloaded: std::sync::Mutex::new(HashMap::new()),
            refresh: KEY_REFRESH_INTERVAL,
            lifetimes: TokenLifetimes::default(),
        }
    }

    /// Signs tokens with `lifetimes` (validated by the caller) and keeps retired keys
    /// published for the longest of them.
    pub fn with_lifetimes(mut self, lifetimes: TokenLifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    /// The configured token lifetimes.
    pub fn lifetimes(&self) -> TokenLifetimes {
        self.lifetimes
    }

    /// Seconds a retired key stays published after it stopped signing: the longest configured
    /// token lifetime, the key refresh interval and the verifiers' clock skew.
    pub fn key_retention_secs(&self) -> i64 {
        retention_for(self.lifetimes.longest_secs())
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Uses loaded keys for `refresh` before reading them again (tests shorten it).
    pub fn with_key_refresh(mut self, refresh: std::time::Duration) -> Self {
        self.refresh = refresh;
        self
    }

    /// The loaded ring, unless it is older than the refresh interval.
    fn cached(&self, tenant: Uuid) -> Option<Arc<TenantKeys>> {
        let tenants = self.tenants.read().unwrap_or_else(|p| p.into_inner());
        tenants.get(&tenant).filter(|ring| ring.loaded_at.elapsed() < self.refresh).cloned()
    }

    /// The tenant's key ring, loading (and if need be creating) it on first use. After that
    /// this is one read lock and an `Arc` clone. Pass only tenant ids the caller resolved
    /// (an unknown id would get a key created for it).
    pub async fn tenant_keys(&self, tenant: Uuid) -> Result<Arc<TenantKeys>> {
        self.load(tenant, true).await?.ok_or(IdentityError::Crypto("no active signing key after generation"))
    }

    async fn load(&self, tenant: Uuid, create: bool) -> Result<Option<Arc<TenantKeys>>> {
        if let Some(keys) = self.cached(tenant) {
            return Ok(Some(keys));
        }
        let _guard = self.loading.lock().await;
        if let Some(keys) = self.cached(tenant) {
            return Ok(Some(keys));
        }
        let mut records = match self.store.signing_keys(tenant).await {
            Ok(records) => records,
            // A refresh that cannot reach the store keeps the keys this node has.
            Err(e) => match self.tenants.read().unwrap_or_else(|p| p.into_inner()).get(&tenant) {
                Some(stale) => {
                    tracing::warn!(%tenant, error = %e, "could not refresh signing keys; keeping the loaded ones");
                    return Ok(Some(stale.clone()));
                }
                None => return Err(e.into()),
            },
        };
        let ring = match TenantKeys::from_records(&records, self.cache_capacity, self.key_retention_secs())? {
            Some(ring) => ring,
            None if !create => return Ok(None),
            None => {
                // RSA generation takes ~40 ms of CPU: keep it off the async workers.
                let record = tokio::task::spawn_blocking(keys::generate_signing_key)
                    .await
                    .map_err(|e| IdentityError::Task(e.to_string()))??;
                self.store.apply(tenant, key_change(tenant, &record)).await?;
                tracing::info!(%tenant, kid = %record.kid, "generated a token signing key");
                records.push(record);
                TenantKeys::from_records(&records, self.cache_capacity, self.key_retention_secs())?
                    .ok_or(IdentityError::Crypto("no active signing key after generation"))?
            }
        };
        let ring = Arc::new(ring);
        self.tenants.write().unwrap_or_else(|p| p.into_inner()).insert(tenant, ring.clone());
        Ok(Some(ring))
    }

    /// Forgets a tenant's loaded keys; the next use reloads them from the store (after a
    /// rotation, or when another node changed them).
    pub fn invalidate(&self, tenant: Uuid) {
        self.tenants.write().unwrap_or_else(|p| p.into_inner()).remove(&tenant);
    }

    /// Builds and signs an app-only access token.
    pub async fn issue_app_token(&self, req: &AppTokenRequest) -> Result<IssuedToken> {
        let ring = self.tenant_keys(req.tenant_id).await?;
        let now = unix_now();
        let claims = app_token_claims(req, now)?;
        let style = match req.version {
            TokenVersion::V1 => HeaderStyle::KidAndX5t,
            TokenVersion::V2 => HeaderStyle::KidOnly,
        };
        let access_token = ring.signer().sign(&claims, style)?;
        Ok(IssuedToken {
            access_token,
            expires_in: req.lifetime_secs,
            expires_on: now + req.lifetime_secs,
            not_before: now - ISSUED_AT_BACKDATE_SECS,
            kid: ring.signer().key().kid().to_owned(),
        })
    }

    /// The tenant's JWKS (`{"keys": [...]}`); `issuer` is added to each key as on Entra's
    /// v2.0 keys endpoint, omitted as on the v1 one.
    pub async fn jwks(&self, tenant: Uuid, issuer: Option<&str>) -> Result<Value> {
        Ok(self.tenant_keys(tenant).await?.jwks(issuer))
    }

    /// Verifies a bearer token of `tenant` (signature by one of its keys, claims against
    /// `expected`), through the tenant's cache of validated tokens.
    pub async fn verify(
        &self,
        tenant: Uuid,
        token: &str,
        expected: &ClaimExpectations,
    ) -> Result<Arc<Map<String, Value>>, IdentityError> {
        // A tenant without keys has issued no token: refuse without creating a key on a
        // read path.
        let Some(ring) = self.load(tenant, false).await? else {
            return Err(JwtError::UnknownKey.into());
        };
        match ring.verifier().verify(token, expected, unix_now()) {
            // A key this node has not loaded: another node may have created it (nodes starting
            // at once) or rotated in a new one. Reload from the store, at most every few
            // seconds per tenant, and try once more.
            Err(JwtError::UnknownKey) if self.may_reload(tenant) => {
                self.invalidate(tenant);
                let Some(ring) = self.load(tenant, false).await? else {
                    return Err(JwtError::UnknownKey.into());
                };
                ring.verifier().verify(token, expected, unix_now()).map_err(|e: JwtError| e.into())
            }
            other => other.map_err(|e: JwtError| e.into()),
        }
    }

    /// The tenant's keys as loaded, never creating one (for start-up on a node that did not
    /// bootstrap: the bootstrapping node creates the key).
    pub async fn load_keys(&self, tenant: Uuid) -> Result<Option<Arc<TenantKeys>>> {
        self.load(tenant, false).await
    }

    fn may_reload(&self, tenant: Uuid) -> bool {
        let mut reloaded = self.reloaded.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        match reloaded.get(&tenant) {
            Some(at) if now.duration_since(*at) < RELOAD_INTERVAL => false,
            _ => {
                if reloaded.len() > 10_000 {
                    reloaded.retain(|_, at| now.duration_since(*at) < RELOAD_INTERVAL);
                }
                reloaded.insert(tenant, now);
                true
            }
        }
    }
}

/// The audited store change that persists a new key.
fn key_change(tenant: Uuid, record: &SigningKeyRecord) -> Change {
    let at = cerulean_store::clock::now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| record.created_at.clone());
    Change {
        ops: vec![Op::PutSigningKey(record.clone())],
        audit: AuditRecord {
            id: Uuid::new_v4(),
            at,
            activity: "Add token signing key".into(),
            category: "KeyManagement".into(),
            operation_type: "Add".into(),
            actor: Actor { kind: "system".into(), id: None, display_name: Some("Cerulean".into()) },
            targets: vec![AuditTarget {
                id: tenant,
                object_type: "signingKey".into(),
                display_name: Some(record.kid.clone()),
                // Only public facts; the private key never enters the audit log.
                modified: vec![cerulean_store::ModifiedProperty {
                    name: "status".into(),
                    old_value: Value::Null,
                    new_value: json!(record.status),
                }],
            }],
            correlation_id: None,
            result: "success".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use cerulean_store::{
        ChangeLogEntry, EdgeKind, ListQuery, ObjectRecord, Page, SecretRecord, StoreError, StoreResult, TenantRecord,
    };
    use std::sync::Mutex;

    /// Just enough of a store for the key ring: signing keys and the audit records of
    /// `apply`. Everything else is unreachable from this module.
    #[derive(Default)]
    struct KeyStore {
        keys: Mutex<HashMap<Uuid, Vec<SigningKeyRecord>>>,
        audits: Mutex<Vec<AuditRecord>>,
        loads: Mutex<usize>,
    }

    impl KeyStore {
        fn keys(&self, tenant: Uuid) -> Vec<SigningKeyRecord> {
            self.keys.lock().expect("lock").get(&tenant).cloned().unwrap_or_default()
        }
    }

    fn unused<T>() -> StoreResult<T> {
        Err(StoreError::Backend("not implemented in the test store".into()))
    }

    #[async_trait]
    impl Store for KeyStore {
        async fn create_tenant(&self, _: &TenantRecord) -> StoreResult<()> {
            unused()
        }
        async fn tenant(&self, _: Uuid) -> StoreResult<Option<TenantRecord>> {
            unused()
        }
        async fn tenant_by_domain(&self, _: &str) -> StoreResult<Option<TenantRecord>> {
            unused()
        }
        async fn tenants(&self) -> StoreResult<Vec<TenantRecord>> {
            unused()
        }
        async fn meta(&self, _: &str) -> StoreResult<Option<String>> {
            unused()
        }
        async fn set_meta(&self, _: &str, _: &str) -> StoreResult<()> {
            unused()
        }
        async fn get(&self, _: Uuid, _: Uuid) -> StoreResult<Option<ObjectRecord>> {
            unused()
        }
        async fn get_many(&self, _: Uuid, _: &[Uuid]) -> StoreResult<Vec<ObjectRecord>> {
            unused()
        }
        async fn find_unique(&self, _: Uuid, _: &str, _: &str) -> StoreResult<Option<Uuid>> {
            unused()
        }
        async fn list(&self, _: Uuid, _: &ListQuery) -> StoreResult<Page> {
            unused()
        }
        async fn has_edge(&self, _: Uuid, _: EdgeKind, _: Uuid, _: Uuid) -> StoreResult<bool> {
            unused()
        }
        async fn edge_ids(&self, _: Uuid, _: EdgeKind, _: Uuid, _: bool) -> StoreResult<Vec<Uuid>> {
            unused()
        }
        async fn secrets(&self, _: Uuid, _: Uuid) -> StoreResult<Vec<SecretRecord>> {
            unused()
        }
        async fn signing_keys(&self, tenant: Uuid) -> StoreResult<Vec<SigningKeyRecord>> {
            *self.loads.lock().expect("lock") += 1;
            Ok(self.keys(tenant))
        }
        async fn apply_all(&self, _: Uuid, _: Vec<Change>) -> StoreResult<u64> {
            unused()
        }
        async fn apply(&self, tenant: Uuid, change: Change) -> StoreResult<u64> {
            for op in change.ops {
                match op {
                    Op::PutSigningKey(k) => self.keys.lock().expect("lock").entry(tenant).or_default().push(k),
                    _ => return unused(),
                }
            }
            let mut audits = self.audits.lock().expect("lock");
            audits.push(change.audit);
            Ok(audits.len() as u64)
        }
        async fn changes_since(&self, _: Uuid, _: u64, _: usize) -> StoreResult<Vec<ChangeLogEntry>> {
            unused()
        }
        async fn audit_records(&self, _: Uuid, _: usize) -> StoreResult<Vec<AuditRecord>> {
            unused()
        }
    }

    fn request(tenant: Uuid, version: TokenVersion) -> AppTokenRequest {
        AppTokenRequest {
            tenant_id: tenant,
            issuer: format!("https://localhost:8443/{tenant}/"),
            audience: "https://graph.microsoft.com".into(),
            app_id: Uuid::new_v4(),
            sp_object_id: Uuid::new_v4(),
            roles: vec!["User.Read.All".into(), "Group.ReadWrite.All".into()],
            lifetime_secs: 3599,
            version,
            app_display_name: "bootstrap".into(),
            client_auth: ClientAuthMethod::ClientSecret,
            tenant_created_at: Some(1_600_000_000),
            mapped: MappedClaims::default(),
        }
    }

    #[test]
    fn v1_and_v2_claim_sets() {
        let tenant = Uuid::new_v4();
        let req = request(tenant, TokenVersion::V1);
        let c = app_token_claims(&req, 1_700_000_000).expect("claims");
        assert_eq!(c["ver"], "1.0");
        assert_eq!(c["aud"], "https://graph.microsoft.com");
        assert_eq!(c["iss"], req.issuer.as_str());
        assert_eq!(c["idp"], req.issuer.as_str());
        assert_eq!(c["iat"], 1_700_000_000 - 300);
        assert_eq!(c["nbf"], 1_700_000_000 - 300);
        assert_eq!(c["exp"], 1_700_000_000 + 3599);
        assert_eq!(c["appid"], req.app_id.to_string());
        assert_eq!(c["appidacr"], "1");
        assert_eq!(c["app_displayname"], "bootstrap");
        assert_eq!(c["idtyp"], "app");
        assert_eq!(c["oid"], req.sp_object_id.to_string());
        assert_eq!(c["sub"], c["oid"]);
        assert_eq!(c["tid"], tenant.to_string());
        assert_eq!(c["roles"], json!(["User.Read.All", "Group.ReadWrite.All"]));
        assert_eq!(c["xms_tcdt"], 1_600_000_000);
        assert_eq!(c["uti"].as_str().map(str::len), Some(22));
        assert!(c["rh"].as_str().is_some_and(|s| s.starts_with("0.")));
        assert!(c["aio"].as_str().is_some_and(|s| s.len() >= 40));
        assert!(c.get("azp").is_none());

        let mut req = request(tenant, TokenVersion::V2);
        req.roles.clear();
        req.tenant_created_at = None;
        req.client_auth = ClientAuthMethod::Certificate;
        let c = app_token_claims(&req, 1_700_000_000).expect("claims");
        assert_eq!(c["ver"], "2.0");
        assert_eq!(c["azp"], req.app_id.to_string());
        assert_eq!(c["azpacr"], "2");
        for absent in ["appid", "appidacr", "app_displayname", "roles", "xms_tcdt"] {
            assert!(c.get(absent).is_none(), "{absent}");
        }
        req.lifetime_secs = 0;
        assert!(app_token_claims(&req, 0).is_err());
    }

    #[tokio::test]
    async fn issuer_generates_once_signs_and_verifies() {
        let store = Arc::new(KeyStore::default());
        let issuer = Arc::new(TokenIssuer::new(store.clone()));
        let tenant = Uuid::new_v4();
        let req = request(tenant, TokenVersion::V1);

        // Concurrent first requests create exactly one key.
        let (a, b) = tokio::join!(issuer.issue_app_token(&req), issuer.issue_app_token(&req));
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert_eq!(a.kid, b.kid);
        assert_eq!(store.keys(tenant).len(), 1);
        assert_eq!(*store.loads.lock().expect("lock"), 1, "loaded once");
        let audits = store.audits.lock().expect("lock").clone();
        assert_eq!(audits.len(), 1);
        assert_eq!(audits[0].category, "KeyManagement");
        assert!(!format!("{audits:?}").contains("private"), "no key material in audit");

        let expected = ClaimExpectations {
            issuers: vec![req.issuer.clone()],
            audiences: vec!["https://graph.microsoft.com".into()],
            tenant_id: Some(tenant.to_string()),
            ..ClaimExpectations::default()
        };
        let claims = issuer.verify(tenant, &a.access_token, &expected).await.expect("verify");
        assert_eq!(claims["appid"], req.app_id.to_string());
        // Another tenant refuses it, and verification creates no key for it.
        let other = Uuid::new_v4();
        let refused = issuer.verify(other, &a.access_token, &ClaimExpectations::default()).await;
        assert!(matches!(refused, Err(IdentityError::Jwt(JwtError::UnknownKey))));
        assert!(store.keys(other).is_empty());
        // Once the other tenant has its own key, the token still names an unknown kid.
        issuer.jwks(other, None).await.expect("jwks creates the key");
        assert_eq!(store.keys(other).len(), 1);
        let refused = issuer.verify(other, &a.access_token, &ClaimExpectations::default()).await;
        assert!(matches!(refused, Err(IdentityError::Jwt(JwtError::UnknownKey))));

        let jwks = issuer.jwks(tenant, Some("https://localhost:8443/t/v2.0")).await.expect("jwks");
        let keys = jwks["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kid"], a.kid.as_str());
        assert_eq!(keys[0]["issuer"], "https://localhost:8443/t/v2.0");

        // A restart (new issuer, same store) reuses the stored key.
        let restarted = TokenIssuer::new(store.clone());
        let c = restarted.issue_app_token(&req).await.expect("issue");
        assert_eq!(c.kid, a.kid);
        assert!(restarted.verify(tenant, &a.access_token, &expected).await.is_ok());
        assert_eq!(store.keys(tenant).len(), 1);
    }

    #[tokio::test]
    async fn several_published_keys_newest_active_signs() {
        let store = Arc::new(KeyStore::default());
        let tenant = Uuid::new_v4();
        let mut old = keys::generate_signing_key().expect("gen");
        old.created_at = "2024-01-01T00:00:00Z".into();
        old.status = keys::STATUS_RETIRED.into();
        old.retired_at = cerulean_store::clock::now().format(&time::format_description::well_known::Rfc3339).ok();
        // A key retired longer ago than the retention is no longer published.
        let mut expired = keys::generate_signing_key().expect("gen");
        expired.status = keys::STATUS_RETIRED.into();
        expired.retired_at = Some("2024-01-02T00:00:00Z".into());
        let current = keys::generate_signing_key().expect("gen");
        let mut next = keys::generate_signing_key().expect("gen");
        next.status = keys::STATUS_NEXT.into();
        let mut unknown = keys::generate_signing_key().expect("gen");
        unknown.status = "revoked".into();
        // The retired key's kid was computed before its created_at changed, so its rebuilt
        // certificate differs: the stored kid is kept and x5t is the honest thumbprint.
        store.keys.lock().expect("lock").entry(tenant).or_default().extend([
            old.clone(),
            current.clone(),
            next.clone(),
            unknown.clone(),
            expired.clone(),
        ]);
        let issuer = TokenIssuer::new(store.clone());
        let token = issuer.issue_app_token(&request(tenant, TokenVersion::V2)).await.expect("issue");
        assert_eq!(token.kid, current.kid);
        let jwks = issuer.jwks(tenant, None).await.expect("jwks");
        let kids: Vec<&str> = jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
        assert_eq!(kids, vec![old.kid.as_str(), current.kid.as_str(), next.kid.as_str()]);
        assert!(jwks["keys"][0].get("issuer").is_none());
        assert_ne!(jwks["keys"][0]["x5t"], jwks["keys"][0]["kid"]);
        assert_eq!(jwks["keys"][1]["x5t"], jwks["keys"][1]["kid"]);
        // A v2 token has no x5t in its header.
        let header = token.access_token.split('.').next().expect("header");
        let header: Value = serde_json::from_slice(&b64::url_decode(header).expect("b64")).expect("json");
        assert!(header.get("x5t").is_none());
        assert_eq!(header["kid"], current.kid.as_str());
        assert!(store.audits.lock().expect("lock").is_empty(), "nothing generated");
    }
}
