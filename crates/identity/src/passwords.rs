//! User passwords: Entra's default password policy and argon2id hashing.
//!
//! argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1) costs ~28 ms of CPU per hash
//! in release builds. Run on the async workers, a burst of sign-ins would stall every other
//! request, so [`PasswordHasherPool`] runs hashing on tokio's blocking pool behind a semaphore
//! with one permit per core: at most that many hashes run at once (bounding memory to
//! permits × 19 MiB too) and the rest wait their turn without occupying a worker.

use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use crate::{IdentityError, Result};

/// Graph's error code for a password that fails the policy (`POST /users`,
/// `PATCH /users/{id}` with `passwordProfile`), answered with HTTP 400.
pub const WEAK_PASSWORD_CODE: &str = "Request_BadRequest";
/// Graph's error message for a password that fails the policy.
pub const WEAK_PASSWORD_MESSAGE: &str = "The specified password does not comply with password complexity requirements. Please provide a different password.";

/// Shortest and longest passwords Entra accepts.
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;

/// The symbols Entra allows besides letters, digits and the space.
pub const ALLOWED_SYMBOLS: &str = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>";

/// Why a password fails Entra's default policy. Graph reports every case with the same
/// code and message ([`WEAK_PASSWORD_CODE`], [`WEAK_PASSWORD_MESSAGE`]); the variant is for
/// logs and for friendlier sign-in pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the password is shorter than {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("the password is longer than {MAX_PASSWORD_LEN} characters")]
    TooLong,
    #[error("the password contains a character that is not allowed")]
    InvalidCharacter,
    #[error("the password needs three of: lower-case letters, upper-case letters, digits, symbols")]
    NotComplex,
    #[error("the password contains the user's name")]
    ContainsUserName,
}

impl PolicyError {
    pub fn graph_code(&self) -> &'static str {
        WEAK_PASSWORD_CODE
    }

    pub fn graph_message(&self) -> &'static str {
        WEAK_PASSWORD_MESSAGE
    }
}

/// Entra's default password policy (learn.microsoft.com, "Password policies and account
/// restrictions in Microsoft Entra ID"): 8 to 256 characters from A–Z, a–z, 0–9, the space
/// and [`ALLOWED_SYMBOLS`] (no other Unicode), three of the four character classes, and not
/// containing the user's name.
///
/// `forbidden` holds the user's names (UPN local part, mail nickname, display name). Like
/// Active Directory's complexity rule, each is checked whole and also split into tokens at
/// separators (`. , - _ # @` space, tab); tokens shorter than three characters are ignored
/// so a name like "Li" does not forbid half the dictionary. Matching ignores case.
pub fn check_password_policy(password: &str, forbidden: &[&str]) -> Result<(), PolicyError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(PolicyError::TooShort);
    }
    if len > MAX_PASSWORD_LEN {
        return Err(PolicyError::TooLong);
    }
    let (mut lower, mut upper, mut digit, mut symbol) = (false, false, false, false);
    for c in password.chars() {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            ' ' => {}
            c if ALLOWED_SYMBOLS.contains(c) => symbol = true,
            _ => return Err(PolicyError::InvalidCharacter),
        }
    }
    // The policy lists symbols as "the previous password restrictions", i.e. the allowed
    // symbol set; we count the space as a symbol too, as AD's complexity rule does.
    symbol |= password.contains(' ');
    if [lower, upper, digit, symbol].iter().filter(|&&b| b).count() < 3 {
        return Err(PolicyError::NotComplex);
    }
    let lowered = password.to_ascii_lowercase();
    let separators = [',', '.', '-', '_', ' ', '#', '\t', '@'];
    for name in forbidden {
        let name = name.trim().to_lowercase();
        let whole = std::iter::once(name.as_str());
        let tokens = name.split(separators);
        for candidate in whole.chain(tokens) {
            if candidate.chars().count() >= 3 && lowered.contains(candidate) {
                return Err(PolicyError::ContainsUserName);
            }
        }
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters, random 16-byte salt) into a PHC
/// string (`$argon2id$v=19$m=19456,t=2,p=1$...`). Blocking: ~28 ms; prefer
/// [`PasswordHasherPool::hash`] on async paths.
pub fn hash_password_blocking(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| IdentityError::PasswordHash(e.to_string()))
}

/// Checks a password against a PHC string, with the parameters the string records (so
/// hashes made with older parameters keep verifying). `Ok(false)` on mismatch; `Err` when the
/// stored hash is not a valid argon2 PHC string (a data problem worth logging).
pub fn verify_password_blocking(password: &str, phc: &str) -> Result<bool> {
    match Argon2::default().verify_password(password.as_bytes(), phc) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(IdentityError::PasswordHash(e.to_string())),
    }
}

/// Runs argon2 on the blocking pool, at most `permits` at a time (see the module docs).
#[derive(Debug, Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasherPool {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

impl PasswordHasherPool {
    /// `permits` concurrent hashes (at least one).
    pub fn new(permits: usize) -> Self {
        PasswordHasherPool { permits: Arc::new(Semaphore::new(permits.max(1))) }
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|e| IdentityError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(job).await.map_err(|e| IdentityError::Task(e.to_string()))?
    }

    /// [`hash_password_blocking`] off the async workers.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || hash_password_blocking(&password)).await
    }

    /// [`verify_password_blocking`] off the async workers.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool> {
        self.run(move || verify_password_blocking(&password, &phc)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_cases() {
        let ok = |p: &str| check_password_policy(p, &["adele.vance", "Adele Vance"]);
        assert_eq!(ok("Passw0rd!"), Ok(()));
        assert_eq!(ok("correct horse 7"), Ok(()), "lower + digit + space");
        assert_eq!(ok("Xk9#"), Err(PolicyError::TooShort));
        assert_eq!(ok("Ab1"), Err(PolicyError::TooShort));
        assert_eq!(ok(&"Ab1!".repeat(64)), Ok(()), "256 characters");
        assert_eq!(ok(&"Ab1!".repeat(65)), Err(PolicyError::TooLong));
        assert_eq!(ok("alllowercase"), Err(PolicyError::NotComplex));
        assert_eq!(ok("lowerUPPER"), Err(PolicyError::NotComplex));
        assert_eq!(ok("lowerupper12"), Err(PolicyError::NotComplex));
        assert_eq!(ok("lowerUPPER12"), Ok(()));
        assert_eq!(ok("UPPER12!@#"), Ok(()));
        assert_eq!(ok("Pässw0rd!"), Err(PolicyError::InvalidCharacter));
        assert_eq!(ok("Passw0rd\u{1F600}"), Err(PolicyError::InvalidCharacter));
        assert_eq!(ok("Tab\there1"), Err(PolicyError::InvalidCharacter));
        for c in ALLOWED_SYMBOLS.chars() {
            assert_eq!(ok(&format!("Abcdefg{c}")), Ok(()), "symbol {c:?}");
        }
        assert_eq!(ok("MyAdele.Vance1"), Err(PolicyError::ContainsUserName));
        assert_eq!(ok("xxVANCE-2024!"), Err(PolicyError::ContainsUserName));
        assert_eq!(ok("xxAdeleVance9"), Err(PolicyError::ContainsUserName));
        assert_eq!(check_password_policy("Li-Passw0rd", &["li"]), Ok(()), "short names ignored");
        assert_eq!(check_password_policy("Passw0rd!", &[]), Ok(()));
        assert_eq!(PolicyError::TooShort.graph_message(), WEAK_PASSWORD_MESSAGE);
        assert_eq!(PolicyError::NotComplex.graph_code(), "Request_BadRequest");
    }

    #[test]
    fn argon2_hash_and_verify() {
        let phc = hash_password_blocking("Passw0rd!").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(verify_password_blocking("Passw0rd!", &phc).expect("verify"));
        assert!(!verify_password_blocking("passw0rd!", &phc).expect("verify"));
        assert!(verify_password_blocking("x", "not a hash").is_err());
        // Salted: the same password hashes differently.
        assert_ne!(phc, hash_password_blocking("Passw0rd!").expect("hash"));
    }

    #[tokio::test]
    async fn pool_hashes_off_the_workers() {
        let pool = PasswordHasherPool::new(2);
        let phc = pool.hash("S3cret pass".into()).await.expect("hash");
        assert!(pool.verify("S3cret pass".into(), phc.clone()).await.expect("verify"));
        assert!(!pool.verify("other".into(), phc).await.expect("verify"));
    }
}
