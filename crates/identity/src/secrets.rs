//! Client secrets, generated server-side in Entra's shape and stored only as a hash.
//!
//! Entra's secrets look like `abc8Q~` followed by random characters from `[A-Za-z0-9_~.-]`:
//! three characters (shown later as the `hint`), a version marker, then the random body.
//! Ours keep that shape with a longer body: 3 alphanumeric characters, `8Q~`, and
//! [`BODY_LEN`] characters drawn uniformly from the 66-character alphabet, i.e.
//! 44 × log2(66) ≈ 266 bits in the body alone (the design asks for at least 256).
//!
//! A secret with that much entropy cannot be brute-forced from its hash, so a fast hash is
//! enough: the stored form is `sha256:<hex>`, and checking a secret costs one SHA-256 (the
//! token endpoint stays fast; argon2 would cost ~28 ms per client-credentials request).

use std::fmt;

use aws_lc_rs::{constant_time, digest, rand};

use crate::{IdentityError, Result};

/// The marker Entra puts after the 3-character hint.
pub const SECRET_MARKER: &str = "8Q~";
/// Random characters after the marker.
pub const BODY_LEN: usize = 44;
/// Length of the hint (and of the random prefix).
pub const HINT_LEN: usize = 3;
/// Total length of a generated secret.
pub const SECRET_LEN: usize = HINT_LEN + SECRET_MARKER.len() + BODY_LEN;

const HASH_PREFIX: &str = "sha256:";
const BODY_ALPHABET: &[u8; 66] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-";
const PREFIX_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A secret value. Its `Debug` is redacted so a stray `{:?}` or `tracing` field cannot leak
/// it; there is deliberately no `Display`. Read it with [`ClientSecret::expose`], once, to
/// return it to the caller who created it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret received from a client (for example `client_secret` of a token request).
    pub fn new(value: String) -> Self {
        ClientSecret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// A freshly generated secret with what the store keeps of it.
#[derive(Debug, Clone)]
pub struct GeneratedSecret {
    /// Shown once (Graph's `secretText`), never stored.
    pub secret: ClientSecret,
    /// The first three characters (Graph's `hint`).
    pub hint: String,
    /// `sha256:<hex>`, for [`cerulean_store::SecretRecord::hash`].
    pub hash: String,
}

/// Picks `out.len()` characters uniformly from `alphabet` by rejection sampling (a plain
/// `byte % 66` would favour the first 58 characters).
fn fill_uniform(alphabet: &[u8], out: &mut Vec<u8>, count: usize) -> Result<()> {
    let n = alphabet.len();
    let limit = 256 - (256 % n);
    let mut buf = [0u8; 64];
    while out.len() < count {
        rand::fill(&mut buf).map_err(|_| IdentityError::Crypto("random generation"))?;
        for &b in &buf {
            if usize::from(b) < limit && out.len() < count {
                out.push(alphabet[usize::from(b) % n]);
            }
        }
    }
    Ok(())
}

/// Generates a client secret from the system CSPRNG.
pub fn generate_client_secret() -> Result<GeneratedSecret> {
    let mut bytes = Vec::with_capacity(SECRET_LEN);
    fill_uniform(PREFIX_ALPHABET, &mut bytes, HINT_LEN)?;
    bytes.extend_from_slice(SECRET_MARKER.as_bytes());
    fill_uniform(BODY_ALPHABET, &mut bytes, SECRET_LEN)?;
    // Every byte comes from an ASCII alphabet.
    let secret = String::from_utf8(bytes).map_err(|_| IdentityError::Crypto("secret encoding"))?;
    let hint = secret[..HINT_LEN].to_owned();
    let hash = hash_secret(&secret);
    Ok(GeneratedSecret { secret: ClientSecret(secret), hint, hash })
}

/// `sha256:<lower-case hex>` of the secret.
pub fn hash_secret(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
    out.push_str(HASH_PREFIX);
    for b in d.as_ref() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// Whether `secret` matches `stored_hash`, compared in constant time (the comparison time
/// reveals nothing about how many characters of the hash matched). Unknown hash formats
/// never match.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    if !stored_hash.starts_with(HASH_PREFIX) {
        return false;
    }
    let candidate = hash_secret(secret);
    constant_time::verify_slices_are_equal(candidate.as_bytes(), stored_hash.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shape_length_charset() {
        let g = generate_client_secret().expect("generate");
        let s = g.secret.expose();
        assert_eq!(s.len(), SECRET_LEN);
        assert_eq!(&s[3..6], "8Q~");
        assert!(s[..3].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(s[6..].bytes().all(|b| BODY_ALPHABET.contains(&b)));
        assert_eq!(g.hint, &s[..3]);
        // Entropy of the random body alone.
        let bits = BODY_LEN as f64 * (BODY_ALPHABET.len() as f64).log2();
        assert!(bits >= 256.0, "{bits}");
    }

    #[test]
    fn secrets_are_distinct_and_cover_the_alphabet() {
        let mut seen = HashSet::new();
        let mut chars = HashSet::new();
        for _ in 0..200 {
            let g = generate_client_secret().expect("generate");
            chars.extend(g.secret.expose()[6..].bytes());
            assert!(seen.insert(g.secret.expose().to_owned()));
        }
        // 8,800 draws from 66 symbols: every symbol appears.
        assert_eq!(chars.len(), BODY_ALPHABET.len());
    }

    #[test]
    fn hash_and_verify() {
        let g = generate_client_secret().expect("generate");
        assert!(g.hash.starts_with("sha256:"));
        assert_eq!(g.hash.len(), 7 + 64);
        assert!(g.hash[7..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(verify(g.secret.expose(), &g.hash));
        let mut wrong = g.secret.expose().to_owned();
        wrong.pop();
        assert!(!verify(&wrong, &g.hash));
        assert!(!verify("", &g.hash));
        assert!(!verify(g.secret.expose(), "plain"));
        assert!(!verify(g.secret.expose(), &g.hash[..20]));
        // Known vector: SHA-256("abc").
        assert_eq!(hash_secret("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn debug_is_redacted() {
        let g = generate_client_secret().expect("generate");
        let dbg = format!("{g:?}");
        assert!(!dbg.contains(g.secret.expose()));
        assert!(dbg.contains("redacted"));
        assert!(!format!("{:?}", ClientSecret::new("hunter2".into())).contains("hunter2"));
    }
}
