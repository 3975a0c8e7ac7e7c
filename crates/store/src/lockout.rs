//! Smart-lockout state: the failed-sign-in counters of a user, one per location class
//! (`familiar`, `unfamiliar`), and the IP addresses the user signed in from successfully (what
//! makes a location familiar). Kept in the database so that every node of a deployment counts
//! the same failures. The rules (thresholds, durations) are the directory's; the store only
//! reads and writes the rows, with a version for compare-and-set updates.

/// One lockout counter of one user in one location class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutRecord {
    pub user_id: uuid::Uuid,
    /// `familiar` or `unfamiliar`.
    pub scope: String,
    /// Failed sign-ins counted since the last success (repeats of a recent bad password are
    /// not counted).
    pub failures: i64,
    /// How many lockouts this counter caused since the last success (each lasts longer).
    pub lockouts: i64,
    /// RFC 3339: sign-ins of this class are refused until then.
    pub locked_until: Option<String>,
    /// Keyed fingerprints of the latest bad passwords (never the passwords).
    pub recent: Vec<String>,
    /// RFC 3339 time of the last change.
    pub updated_at: String,
    /// Bumped by every write; the compare-and-set of [`crate::Store::put_lockout`] checks it.
    pub version: i64,
}
