//! Signing key rotation, in three steps that keep every token verifiable on every node.
//!
//! 1. **Add** ([`TokenIssuer::add_next_key`]): a new key is stored with status `next`. It is
//!    published in the JWKS at once (each node re-reads its keys every
//!    [`KEY_REFRESH_INTERVAL`](crate::tokens::KEY_REFRESH_INTERVAL), and at once when a token names a kid it
//!    does not know) but signs nothing yet.
//! 2. **Activate** ([`TokenIssuer::activate_key`]): once the key has been published for the
//!    configured delay (long enough for every node and every relying party that caches the
//!    JWKS to have it), it becomes `active` and signs new tokens; the previous active key
//!    becomes `retired`, with the time it stopped signing.
//! 3. **Prune** ([`TokenIssuer::prune_keys`]): a retired key stays published until every token
//!    it signed has expired ([`TokenIssuer::key_retention_secs`] after retirement, which follows
//!    the configured token lifetimes); then it leaves the JWKS,
//!    and pruning deletes it from the store.
//!
//! Every step is one audited store change (category `KeyManagement`); the private key never
//! appears in the audit record, the change log or any listing.

use cerulean_store::{Actor, AuditRecord, AuditTarget, Change, ModifiedProperty, Op, SigningKeyRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::keys::{self, STATUS_ACTIVE, STATUS_NEXT, STATUS_RETIRED};
use crate::tokens::{TokenIssuer, parse_time, published_until};
use crate::{IdentityError, unix_now};

/// The default least time a `next` key is published before it may sign: every node re-reads
/// its keys within [`KEY_REFRESH_INTERVAL`](crate::tokens::KEY_REFRESH_INTERVAL), and relying
/// parties that cache the JWKS (Microsoft's libraries refresh on an unknown kid) get time too.
pub const DEFAULT_PUBLICATION_DELAY_SECS: i64 = 600;

/// What may be shown of a signing key: never the private key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub kid: String,
    /// `next`, `active` or `retired`.
    pub status: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    /// When a retired key leaves the JWKS and may be pruned (RFC 3339).
    pub published_until: Option<String>,
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl KeyInfo {
    fn of(record: &SigningKeyRecord, retention_secs: i64) -> KeyInfo {
        KeyInfo {
            kid: record.kid.clone(),
            status: record.status.clone(),
            created_at: record.created_at.clone(),
            retired_at: record.retired_at.clone(),
            published_until: published_until(record, retention_secs).map(rfc3339),
        }
    }
}

/// Why a rotation step was refused.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("the tenant has no signing key '{0}'")]
    UnknownKey(String),
    #[error("the signing key '{kid}' is {status}; only a key added by rotation (status next) can be activated")]
    NotNext { kid: String, status: String },
    #[error(
        "the signing key '{kid}' has been published for {published_secs} s; it can be activated after \
         {required_secs} s, when every node and relying party has loaded it"
    )]
    TooEarly { kid: String, published_secs: i64, required_secs: i64 },
    #[error("the signing key '{0}' is already waiting for activation; activate it before adding another")]
    NextPending(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl From<cerulean_store::StoreError> for RotationError {
    fn from(e: cerulean_store::StoreError) -> Self {
        RotationError::Identity(e.into())
    }
}

fn now_rfc3339() -> String {
    rfc3339(unix_now())
}

/// One audited change of the tenant's keys.
fn audited(
    tenant: Uuid,
    ops: Vec<Op>,
    activity: &str,
    operation: &str,
    actor: Actor,
    changed: &[(&str, &str)],
) -> Change {
    Change {
        ops,
        audit: AuditRecord {
            id: Uuid::new_v4(),
            at: now_rfc3339(),
            activity: activity.into(),
            category: "KeyManagement".into(),
            operation_type: operation.into(),
            actor,
            targets: changed
                .iter()
                .map(|(kid, status)| AuditTarget {
                    id: tenant,
                    object_type: "signingKey".into(),
                    display_name: Some((*kid).to_owned()),
                    modified: vec![ModifiedProperty {
                        name: "status".into(),
                        old_value: Value::Null,
                        new_value: json!(status),
                    }],
                })
                .collect(),
            correlation_id: None,
            result: "success".into(),
        },
    }
}

impl TokenIssuer {
    /// The tenant's stored keys, oldest first (retired keys past their retention included
    /// until they are pruned).
    pub async fn list_keys(&self, tenant: Uuid) -> Result<Vec<KeyInfo>, RotationError> {
        Ok(self.store().signing_keys(tenant).await?.iter().map(|k| KeyInfo::of(k, self.key_retention_secs())).collect())
    }

    /// Step 1: adds a new key with status `next`, published but not signing. Refused while
    /// another key is waiting for activation. Also prunes retired keys past their retention.
    pub async fn add_next_key(&self, tenant: Uuid, actor: Actor) -> Result<KeyInfo, RotationError> {
        // The tenant must have a key ring already (a tenant that never signed has nothing to
        // rotate, and this creates its first key rather than a `next` one).
        self.tenant_keys(tenant).await?;
        let existing = self.store().signing_keys(tenant).await?;
        if let Some(pending) = existing.iter().find(|k| k.status == STATUS_NEXT) {
            return Err(RotationError::NextPending(pending.kid.clone()));
        }
        self.prune_keys(tenant, actor.clone()).await?;
        let mut record = tokio::task::spawn_blocking(keys::generate_signing_key)
            .await
            .map_err(|e| IdentityError::Task(e.to_string()))??;
        record.status = STATUS_NEXT.to_owned();
        let change = audited(
            tenant,
            vec![Op::PutSigningKey(record.clone())],
            "Add token signing key",
            "Add",
            actor,
            &[(&record.kid, STATUS_NEXT)],
        );
        self.store().apply(tenant, change).await?;
        self.invalidate(tenant);
        tracing::info!(%tenant, kid = %record.kid, "added a token signing key (published, not yet signing)");
        Ok(KeyInfo::of(&record, self.key_retention_secs()))
    }

    /// Step 2: the `next` key `kid` starts signing, once it has been published for at least
    /// `min_published_secs`; the keys that signed until now become `retired`.
    pub async fn activate_key(
        &self,
        tenant: Uuid,
        kid: &str,
        min_published_secs: i64,
        actor: Actor,
    ) -> Result<Vec<KeyInfo>, RotationError> {
        let records = self.store().signing_keys(tenant).await?;
        let Some(next) = records.iter().find(|k| k.kid == kid) else {
            return Err(RotationError::UnknownKey(kid.to_owned()));
        };
        if next.status != STATUS_NEXT {
            return Err(RotationError::NotNext { kid: kid.to_owned(), status: next.status.clone() });
        }
        let published_secs = unix_now() - parse_time(&next.created_at).unwrap_or(0);
        if published_secs < min_published_secs {
            return Err(RotationError::TooEarly {
                kid: kid.to_owned(),
                published_secs,
                required_secs: min_published_secs,
            });
        }
        let now = now_rfc3339();
        let mut ops = vec![Op::PutSigningKey(SigningKeyRecord { status: STATUS_ACTIVE.to_owned(), ..next.clone() })];
        let mut changed = vec![(kid, STATUS_ACTIVE)];
        for old in records.iter().filter(|k| k.status == STATUS_ACTIVE) {
            ops.push(Op::PutSigningKey(SigningKeyRecord {
                status: STATUS_RETIRED.to_owned(),
                retired_at: Some(now.clone()),
                ..old.clone()
            }));
            changed.push((&old.kid, STATUS_RETIRED));
        }
        let change = audited(tenant, ops, "Activate token signing key", "Update", actor, &changed);
        self.store().apply(tenant, change).await?;
        self.invalidate(tenant);
        tracing::info!(%tenant, %kid, "activated a token signing key");
        self.list_keys(tenant).await
    }

    /// Step 3: deletes the retired keys whose retention has ended (every token they signed
    /// has expired). Returns the deleted kids.
    pub async fn prune_keys(&self, tenant: Uuid, actor: Actor) -> Result<Vec<String>, RotationError> {
        let now = unix_now();
        let expired: Vec<String> = self
            .store()
            .signing_keys(tenant)
            .await?
            .into_iter()
            .filter(|k| published_until(k, self.key_retention_secs()).is_some_and(|until| until <= now))
            .map(|k| k.kid)
            .collect();
        if expired.is_empty() {
            return Ok(expired);
        }
        let ops = expired.iter().map(|kid| Op::DeleteSigningKey { kid: kid.clone() }).collect();
        let changed: Vec<(&str, &str)> = expired.iter().map(|k| (k.as_str(), "deleted")).collect();
        let change = audited(tenant, ops, "Delete token signing key", "Delete", actor, &changed);
        self.store().apply(tenant, change).await?;
        self.invalidate(tenant);
        tracing::info!(%tenant, kids = ?expired, retention_secs = self.key_retention_secs(), "pruned retired signing keys");
        Ok(expired)
    }
}
