//! The values the store keeps and returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A tenant: its id, display name and domains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: Uuid,
    pub display_name: String,
    /// The tenant's domains, verified or not (only verified ones name the tenant, see
    /// `Store::tenant_by_domain`); the `initial` one is `{name}.onmicrosoft.com`.
    pub domains: Vec<DomainRecord>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRecord {
    /// Lower-case domain name.
    pub name: String,
    pub is_initial: bool,
    pub is_default: bool,
    pub is_verified: bool,
    /// The domain's other Graph properties (`supportedServices`, `authenticationType`,
    /// `passwordValidityPeriodInDays`, the verification code, ...), owned by the directory.
    #[serde(default)]
    pub doc: Map<String, Value>,
}

/// A directory object: a JSON document of Graph v1.0 property names, with its type and id.
/// The document holds neither `id` nor `@odata.type`: those are the record's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord {
    pub id: Uuid,
    /// The Graph entity type name (`user`, `group`, `servicePrincipal`, ...).
    pub object_type: String,
    /// Incremented by every update; starts at 1.
    pub version: i64,
    pub doc: Map<String, Value>,
    /// RFC 3339 time of soft deletion, if the object is in the recycle bin.
    pub deleted_at: Option<String>,
}

/// One state of an object's row: its version and the time of its last write. Every write to
/// an object bumps its version and sets that time, so a copy derived from the row (a rendered
/// response) is still right while the stamp is the same; the time also tells a row deleted
/// for good and inserted again under the same id (whose version restarts at 1) from the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowStamp {
    pub version: i64,
    pub updated_at: String,
}

/// What [`crate::Store::get_unless`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Revalidated {
    /// No object has that id in the tenant.
    Missing,
    /// The object still has the stamp the caller named; its document was not read.
    Unchanged,
    /// The object, read in full (live or soft-deleted), with its stamp when the store keeps one.
    Changed(ObjectRecord, Option<RowStamp>),
}

/// Kinds of relationship edges between objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EdgeKind {
    /// group -> member
    Member,
    /// object -> owner
    Owner,
    /// user -> manager
    Manager,
    /// device -> registered user (`registeredUsers`; its registered owners are `Owner` edges)
    RegisteredUser,
}

impl EdgeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EdgeKind::Member => "member",
            EdgeKind::Owner => "owner",
            EdgeKind::Manager => "manager",
            EdgeKind::RegisteredUser => "registeredUser",
        }
    }
}

/// One edge with the types of its ends, as [`crate::Store::edges_of_kind`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRecord {
    pub source: Uuid,
    pub source_type: String,
    pub target: Uuid,
    pub target_type: String,
}

/// A credential secret attached to an object (client secret, user password), stored only as a
/// hash. `meta` holds the non-secret facts (`keyId`, `hint`, `displayName`, dates).
#[derive(Debug, Clone, PartialEq)]
pub struct SecretRecord {
    pub owner: Uuid,
    /// `client_secret` or `password`.
    pub kind: String,
    pub key_id: Uuid,
    /// The hash, in its own self-describing format (`sha256:...`, `$argon2id$...`).
    pub hash: String,
    pub meta: Value,
}

/// A token signing key of a tenant. The private key never leaves the server.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// PKCS#8 DER of the RSA private key.
    pub private_pkcs8: Vec<u8>,
    pub created_at: String,
    /// `active` (signs and is published), `next` (published, not yet signing) or `retired`
    /// (published until its tokens expire).
    pub status: String,
    /// When the key stopped signing (RFC 3339), for `retired` keys: it stays published until
    /// this time plus the longest token lifetime, then it is deleted.
    pub retired_at: Option<String>,
}

/// One operation of a [`Change`].
#[derive(Debug, Clone)]
pub enum Op {
    /// Creates an object; `unique` are the uniqueness claims it holds (namespace, key).
    Insert {
        object: ObjectRecord,
        unique: Vec<(String, String)>,
    },
    /// Replaces an object's document. `expected_version` guards against lost updates; the
    /// claims replace the object's previous claims.
    Update {
        id: Uuid,
        expected_version: i64,
        doc: Map<String, Value>,
        unique: Vec<(String, String)>,
    },
    /// Moves an object to the recycle bin: sets `deleted_at` and releases its claims. Its edges
    /// are kept but hidden (every read skips edges whose other end is deleted), so a restore
    /// brings memberships and ownerships back, as Entra does.
    SoftDelete {
        id: Uuid,
        at: String,
    },
    /// Takes an object out of the recycle bin, re-claiming `unique` (conflict if taken).
    Restore {
        id: Uuid,
        unique: Vec<(String, String)>,
    },
    /// Deletes an object for good, with its claims, edges and secrets.
    Purge {
        id: Uuid,
    },
    /// Adds an edge; `EdgeExists` if present.
    AddEdge {
        kind: EdgeKind,
        source: Uuid,
        target: Uuid,
    },
    /// Removes an edge; `NotFound` if absent.
    RemoveEdge {
        kind: EdgeKind,
        source: Uuid,
        target: Uuid,
    },
    PutSecret(SecretRecord),
    DeleteSecret {
        owner: Uuid,
        key_id: Uuid,
    },
    PutSigningKey(SigningKeyRecord),
    /// Deletes a signing key (a retired key whose tokens have all expired); `NotFound` if absent.
    DeleteSigningKey {
        kid: String,
    },
    /// Records in the change log that an edge became invisible (`visible: false`, its other end
    /// was soft-deleted) or visible again, without changing any data: the edge itself stays,
    /// hidden, for a restore. Delta queries and caches that follow the log then see a deleted
    /// member leave its groups, as Graph reports it.
    NoteEdge {
        kind: EdgeKind,
        source: Uuid,
        target: Uuid,
        visible: bool,
    },
    /// Adds or replaces (by name) one of the tenant's domains: its flags and document. A new
    /// domain goes after the tenant's others. `Conflict` (namespace `domain`) when another
    /// tenant holds the name: domain names are unique across the server.
    PutDomain(DomainRecord),
    /// Removes one of the tenant's domains; `NotFound` if the tenant has no such domain.
    DeleteDomain {
        name: String,
    },
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `user`, `app` or `system`.
    pub kind: String,
    pub id: Option<Uuid>,
    pub display_name: Option<String>,
}

/// A modified property of an audited target: old and new values (secrets already redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModifiedProperty {
    pub name: String,
    pub old_value: Value,
    pub new_value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditTarget {
    pub id: Uuid,
    pub object_type: String,
    pub display_name: Option<String>,
    pub modified: Vec<ModifiedProperty>,
}

/// The audit record of one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: String,
    /// `Add user`, `Update group`, `Add member to group`, ...
    pub activity: String,
    /// `UserManagement`, `GroupManagement`, `ApplicationManagement`, `KeyManagement`, ...
    pub category: String,
    /// `Add`, `Update`, `Delete`, `Assign`, `Unassign`.
    pub operation_type: String,
    pub actor: Actor,
    pub targets: Vec<AuditTarget>,
    pub correlation_id: Option<String>,
    /// `success` (the store records only what it committed).
    pub result: String,
}

/// A set of ops applied atomically, with its audit record.
#[derive(Debug, Clone)]
pub struct Change {
    pub ops: Vec<Op>,
    pub audit: AuditRecord,
}

/// One entry of the per-tenant change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeLogEntry {
    pub seq: u64,
    pub object_id: Uuid,
    pub object_type: String,
    /// `created`, `updated`, `deleted`, `restored`, `purged`, `edge_added`, `edge_removed`,
    /// `secret`, `key`.
    pub kind: String,
    /// For edge entries: the edge kind and the other end.
    pub detail: Value,
    pub at: String,
}

/// A refresh token as the store keeps it: only a hash of the token, never the token. Tokens of
/// one sign-in share a `family_id`; redeeming one rotates it (the old one is marked used and a
/// new one of the same family is stored), so a used token presented again is a replay and
/// revokes the whole family (see [`crate::Store::redeem_refresh_token`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token (hex); the primary key within the tenant.
    pub hash: String,
    pub family_id: Uuid,
    /// The signed-in user.
    pub user_id: Uuid,
    /// The client application's `appId`.
    pub client_id: String,
    /// The scopes of the request that created the family, space-separated.
    pub scopes: String,
    /// Non-secret facts of the sign-in (`auth_time`, `amr`, ...), for the tokens it refreshes.
    pub data: Value,
    /// RFC 3339 times.
    pub created_at: String,
    pub expires_at: String,
    /// Set when the token was redeemed (rotated).
    pub used_at: Option<String>,
    /// Set when the token's family or user was revoked.
    pub revoked_at: Option<String>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshRedemption {
    /// No token with this hash in the tenant.
    Unknown,
    /// The token was live and is now marked used; the caller issues its successor.
    Redeemed(RefreshTokenRecord),
    /// The token had already been used: a replay. The store has revoked its whole family.
    Replayed(RefreshTokenRecord),
    /// The token (or its user's tokens) had been revoked.
    Revoked(RefreshTokenRecord),
    /// The token belongs to another client: left as it was (neither spent nor revoked), so a
    /// client that sees someone else's token cannot burn that session.
    OtherClient,
}

/// One attempt at the token (or authorize) endpoint, successful or not, as the sign-in log
/// keeps it. The columns the log is filtered by are fields of their own (the engines index
/// them); everything else Graph shows is in `doc`, in Graph v1.0 property names, with no
/// secret in it: the record is built from the request's identifiers, never its credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignInRecord {
    pub id: Uuid,
    /// RFC 3339 (`createdDateTime`), second precision like every stored time.
    pub at: String,
    /// The signed-in user, if the attempt named a known one.
    pub user_id: Option<Uuid>,
    /// As the user typed it or the token named it (the log filters it case-insensitively).
    pub user_principal_name: Option<String>,
    /// The client application's `appId`.
    pub app_id: Option<String>,
    pub ip_address: String,
    /// The AADSTS number of the failure, 0 on success.
    pub error_code: i64,
    /// `interactiveUser`, `nonInteractiveUser` or `servicePrincipal`.
    pub event_type: String,
    /// The request's `client-request-id`.
    pub correlation_id: Option<String>,
    pub doc: Map<String, Value>,
}

/// A column the audit and sign-in logs can be filtered on by equality, each served by an index
/// leading with (tenant, column). Not every column exists in both logs: asking the audit log
/// for a sign-in column is [`crate::StoreError::Invalid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogColumn {
    /// Audit: `category`.
    Category,
    /// Audit: `activity` (`activityDisplayName`).
    Activity,
    /// Audit: the initiator's object id.
    ActorId,
    /// Both: the `client-request-id` of the request.
    CorrelationId,
    /// Sign-ins: the user's object id.
    UserId,
    /// Sign-ins: the user principal name, compared case-insensitively.
    UserPrincipalName,
    /// Sign-ins: the client's `appId`.
    AppId,
    /// Sign-ins: the AADSTS error number (0 for success), as decimal text.
    ErrorCode,
    /// Sign-ins: the client IP address.
    IpAddress,
    /// Sign-ins: `interactiveUser`, `nonInteractiveUser` or `servicePrincipal`.
    EventType,
    /// Risk detections: `riskEventType`.
    RiskEventType,
    /// Risk tables: `riskLevel`.
    RiskLevel,
    /// Risk tables: `riskState`.
    RiskState,
    /// Service-principal risk tables: the service principal's object id.
    ServicePrincipalId,
}

/// The Identity Protection tables, read like the logs (newest first through [`LogQuery`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskTable {
    /// `riskDetection`s; `at` is `detectedDateTime`.
    Detections,
    /// `riskyUser`s, one per user (`id` is the user's id); `at` is `riskLastUpdatedDateTime`.
    RiskyUsers,
    /// `riskyUserHistoryItem`s; `at` is when the user's risk changed.
    History,
    /// `servicePrincipalRiskDetection`s; `at` is `detectedDateTime`.
    ServicePrincipalDetections,
    /// `riskyServicePrincipal`s, one per service principal (`id` is its object id); `at` is
    /// `riskLastUpdatedDateTime`.
    RiskyServicePrincipals,
    /// `riskyServicePrincipalHistoryItem`s; `at` is when the service principal's risk changed.
    ServicePrincipalHistory,
}

impl RiskTable {
    /// Whether the table's rows are about service principals: then a [`RiskRecord`]'s
    /// `user_id` holds the service principal's object id and `user_principal_name` its
    /// `appId`.
    pub fn is_service_principal(self) -> bool {
        matches!(
            self,
            RiskTable::ServicePrincipalDetections
                | RiskTable::RiskyServicePrincipals
                | RiskTable::ServicePrincipalHistory
        )
    }
}

/// One row of a [`RiskTable`]. The columns the tables are filtered on are fields of their own
/// (indexed: user, UPN, event type, level, state, address, correlation id); the Graph shape is
/// `doc`, in v1.0 property names. In the service-principal tables `user_id` is the service
/// principal's object id and `user_principal_name` its `appId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskRecord {
    pub id: Uuid,
    /// RFC 3339, second precision.
    pub at: String,
    pub user_id: Uuid,
    /// Compared case-insensitively.
    pub user_principal_name: Option<String>,
    pub risk_event_type: Option<String>,
    pub risk_level: String,
    pub risk_state: String,
    pub ip_address: Option<String>,
    pub correlation_id: Option<String>,
    pub doc: Map<String, Value>,
}

/// The position of a log entry in its log's order (newest first): its time and its insertion
/// order within the tenant's log. Opaque to callers, who hand back the last one they saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCursor {
    pub at: String,
    pub ord: i64,
}

/// A read of a log: a time window, equality conditions on indexed columns (all must hold; the
/// values of one column are alternatives), a position to continue after, a page size. Entries
/// come newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Entries at or after this RFC 3339 time.
    pub from: Option<String>,
    /// Entries at or before this RFC 3339 time.
    pub to: Option<String>,
    /// Each condition: the column equals one of the values.
    pub equals: Vec<(LogColumn, Vec<String>)>,
    /// Continue after this entry.
    pub after: Option<LogCursor>,
    pub limit: usize,
}
