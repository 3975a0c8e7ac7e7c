//! Short-lived sign-in state the browser and device flows keep between requests:
//! authorization codes, device codes, SSO sessions and pending sign-in forms. None of it is a
//! directory object (no change log, no audit), and every secret is stored as a hash: the key of
//! a record is the SHA-256 of the value the client holds, so a copy of the store redeems
//! nothing.

use serde_json::Value;

/// One piece of sign-in state. `kind` keeps the flows apart (`code`, `device`, `session`,
/// `login`); within a tenant and kind, `key` (a hash) is unique.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    pub kind: String,
    /// Hex SHA-256 of the secret the client holds.
    pub key: String,
    /// A second, non-secret way to find the record (the user code of a device code).
    pub lookup: Option<String>,
    /// What the flow remembers (client, redirect URI, PKCE challenge, user, ...).
    pub data: Value,
    /// RFC 3339 times.
    pub created_at: String,
    pub expires_at: String,
    /// Set when the record was redeemed (a code is single use).
    pub used_at: Option<String>,
}

/// What redeeming a single-use record found.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowRedemption {
    /// No record with this key.
    Unknown,
    /// The record was unused and is now marked used; the caller acts on it.
    Redeemed(FlowRecord),
    /// The record had been redeemed before: a replay.
    AlreadyUsed(FlowRecord),
}
