//! Smart lockout, as Entra applies it to password sign-ins: after `threshold` failed attempts
//! the account is locked for `duration` (Entra: 10 attempts, 60 seconds), and each further
//! lockout lasts twice as long as the one before, up to [`MAX_LOCKOUT_SECS`]. A user's
//! familiar locations (IP addresses of earlier successful sign-ins) and all other locations
//! have separate counters, so an attacker elsewhere cannot lock the user out of the places
//! they normally sign in from. The last [`RECENT_BAD_PASSWORDS`] bad passwords are remembered
//! as keyed fingerprints, and typing one of them again is not counted (Entra does the same
//! with the last three bad password hashes).
//!
//! While a counter is locked, sign-ins of its class are refused before the password is
//! checked, so a locked account reveals nothing about the password. When the lockout ends,
//! the counter stays at the threshold: the next failure locks again, for longer. A successful
//! password sign-in resets the counter.
//!
//! The counters live in the store (shared by every node) and are written by compare-and-set,
//! so concurrent failures on several nodes are all counted.

use cerulean_identity::otp;
use cerulean_store::LockoutRecord;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::{Directory, DirectoryResult};

/// How many bad-password fingerprints a counter keeps.
pub const RECENT_BAD_PASSWORDS: usize = 3;
/// The longest a lockout lasts, however often it repeats (Entra: about 30 minutes).
pub const MAX_LOCKOUT_SECS: u64 = 30 * 60;
/// How many familiar addresses are kept per user.
pub const FAMILIAR_IPS_KEPT: usize = 50;
/// A counter untouched this long starts again from zero (its failures are history).
const COUNTER_RESET_SECS: i64 = 24 * 3600;
/// Compare-and-set rounds before giving up on counting one failure.
const CAS_ROUNDS: usize = 8;
const FINGERPRINT_KEY_META: &str = "lockout_fingerprint_key";

/// The smart-lockout settings (`cerulean serve --lockout-threshold --lockout-duration-seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failed sign-ins that lock the account (Entra's default: 10).
    pub threshold: u32,
    /// The first lockout, in seconds (Entra's default: 60); later ones double.
    pub duration_secs: u64,
}

impl Default for LockoutPolicy {
    fn default() -> LockoutPolicy {
        LockoutPolicy { threshold: 10, duration_secs: 60 }
    }
}

impl LockoutPolicy {
    /// How long the `n`th lockout (1-based) lasts.
    pub fn lockout_secs(&self, n: i64) -> u64 {
        let doublings = u32::try_from(n.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.duration_secs.saturating_mul(1u64 << doublings).min(MAX_LOCKOUT_SECS.max(self.duration_secs))
    }
}

/// The location class of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationClass {
    Familiar,
    Unfamiliar,
}

impl LocationClass {
    fn scope(self) -> &'static str {
        match self {
            LocationClass::Familiar => "familiar",
            LocationClass::Unfamiliar => "unfamiliar",
        }
    }
}

fn precise(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

fn parse(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

/// Whether `record` is locked at `now`.
fn locked(record: &LockoutRecord, now: OffsetDateTime) -> bool {
    record.locked_until.as_deref().and_then(parse).is_some_and(|until| until > now)
}

impl Directory {
    /// The location class of a sign-in of `user` from `ip`.
    pub(crate) async fn location_class(&self, tenant: Uuid, user: Uuid, ip: &str) -> DirectoryResult<LocationClass> {
        Ok(if !ip.is_empty() && self.store.is_familiar_ip(tenant, user, ip).await? {
            LocationClass::Familiar
        } else {
            LocationClass::Unfamiliar
        })
    }

    /// Whether sign-ins of `user` from this class of location are locked now.
    pub(crate) async fn is_locked(&self, tenant: Uuid, user: Uuid, class: LocationClass) -> DirectoryResult<bool> {
        let now = cerulean_store::clock::now();
        Ok(self.store.lockout(tenant, user, class.scope()).await?.is_some_and(|r| locked(&r, now)))
    }

    /// Counts a bad password. Returns whether the account is now locked for this class.
    pub(crate) async fn count_failure(
        &self,
        tenant: Uuid,
        user: Uuid,
        class: LocationClass,
        password: &str,
    ) -> DirectoryResult<bool> {
        let key = self.fingerprint_key().await?;
        let print = otp::fingerprint(&key, &[tenant.as_bytes(), user.as_bytes(), password.as_bytes()]);
        let threshold = i64::from(self.lockout.threshold.max(1));
        for _ in 0..CAS_ROUNDS {
            let now = cerulean_store::clock::now();
            let current = self.store.lockout(tenant, user, class.scope()).await?;
            let expected = current.as_ref().map(|r| r.version);
            let mut r = match current {
                Some(r) if parse(&r.updated_at).is_some_and(|t| (now - t).whole_seconds() < COUNTER_RESET_SECS) => r,
                // A counter untouched for long starts again (keeping its row and version).
                other => LockoutRecord {
                    user_id: user,
                    scope: class.scope().into(),
                    failures: 0,
                    lockouts: 0,
                    locked_until: None,
                    recent: Vec::new(),
                    updated_at: String::new(),
                    version: other.map_or(0, |o| o.version),
                },
            };
            if locked(&r, now) {
                return Ok(true);
            }
            if r.recent.iter().any(|p| p == &print) {
                return Ok(false);
            }
            r.failures += 1;
            r.recent.push(print.clone());
            let excess = r.recent.len().saturating_sub(RECENT_BAD_PASSWORDS);
            r.recent.drain(..excess);
            let lock = r.failures >= threshold;
            if lock {
                r.failures = threshold;
                r.lockouts += 1;
                let secs = self.lockout.lockout_secs(r.lockouts);
                r.locked_until =
                    Some(precise(now + time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2))));
            }
            r.updated_at = precise(now);
            if self.store.put_lockout(tenant, &r, expected).await? {
                if lock {
                    tracing::info!(%tenant, %user, scope = class.scope(), lockouts = r.lockouts, "account locked");
                }
                return Ok(lock);
            }
        }
        Err(crate::DirectoryError::Conflict("The sign-in could not be counted; retry.".into()))
    }

    /// A correct password: the counter of this class starts again from zero.
    pub(crate) async fn reset_failures(&self, tenant: Uuid, user: Uuid, class: LocationClass) -> DirectoryResult<()> {
        for _ in 0..CAS_ROUNDS {
            let Some(mut r) = self.store.lockout(tenant, user, class.scope()).await? else {
                return Ok(());
            };
            if r.failures == 0 && r.lockouts == 0 && r.recent.is_empty() {
                return Ok(());
            }
            let expected = Some(r.version);
            (r.failures, r.lockouts, r.locked_until, r.recent) = (0, 0, None, Vec::new());
            r.updated_at = precise(cerulean_store::clock::now());
            if self.store.put_lockout(tenant, &r, expected).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Records a completed sign-in of `user` from `ip`: the address becomes familiar.
    pub async fn remember_sign_in_location(&self, tenant: Uuid, user: Uuid, ip: &str) -> DirectoryResult<()> {
        if ip.is_empty() {
            return Ok(());
        }
        Ok(self.store.remember_ip(tenant, user, ip, &precise(cerulean_store::clock::now()), FAMILIAR_IPS_KEPT).await?)
    }

    /// The server-wide key of bad-password fingerprints, made on first use and kept in the
    /// store's metadata so that every node computes the same fingerprints.
    async fn fingerprint_key(&self) -> DirectoryResult<Vec<u8>> {
        if let Some(k) = self.fingerprint_key.get() {
            return Ok(k.clone());
        }
        let stored = match self.store.meta(FINGERPRINT_KEY_META).await? {
            Some(k) => k,
            None => {
                let fresh = otp::base32_encode(
                    &otp::random_bytes(32).map_err(|e| crate::DirectoryError::Internal(e.to_string()))?,
                );
                self.store.set_meta(FINGERPRINT_KEY_META, &fresh).await?;
                // Two nodes racing on the first failure: both re-read, and the last write wins.
                self.store.meta(FINGERPRINT_KEY_META).await?.unwrap_or(fresh)
            }
        };
        let key =
            otp::base32_decode(&stored).ok_or_else(|| crate::DirectoryError::Internal("bad fingerprint key".into()))?;
        Ok(self.fingerprint_key.get_or_init(|| key).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let p = LockoutPolicy::default();
        assert_eq!([1, 2, 3, 4].map(|n| p.lockout_secs(n)), [60, 120, 240, 480]);
        assert_eq!(p.lockout_secs(50), MAX_LOCKOUT_SECS);
        let long = LockoutPolicy { threshold: 3, duration_secs: 7200 };
        assert_eq!(long.lockout_secs(3), 7200, "a configured duration above the cap is kept");
    }
}
