//! One-time passwords and the small keyed primitives sign-in protection needs:
//!
//! - [`totp`] and [`verify_totp`]: RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits: what
//!   authenticator apps implement for `otpauth://totp/` URIs), accepting one step of clock
//!   skew either way and reporting which step matched, so the caller can refuse a replay.
//! - [`base32_encode`] / [`base32_decode`]: RFC 4648 base32 without padding, the secret format
//!   of `otpauth://` URIs.
//! - [`fingerprint`]: a keyed HMAC-SHA256 of some parts, truncated, for recognising a value
//!   seen before (a repeated bad password) without storing anything that reveals it.
//! - [`seal`] / [`open`]: AES-256-GCM, so a TOTP secret is kept encrypted at rest.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, hmac, rand};

use crate::{IdentityError, Result};

/// Seconds per TOTP step (RFC 6238's default, what authenticator apps use).
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Bytes of a generated TOTP secret (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Random bytes from the system CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    rand::fill(&mut out).map_err(|_| IdentityError::Crypto("random generation"))?;
    Ok(out)
}

/// RFC 4648 base32, upper case, no padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32 (case-insensitive; spaces and padding ignored). `None` if malformed.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b' ' && *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The TOTP step of a Unix time.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code of `step` for `secret` (RFC 4226 HOTP with the step as counter, SHA-1).
pub fn totp(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let h = tag.as_ref();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    format!("{:0width$}", bin % 1_000_000, width = DIGITS)
}

/// The step (current, one before or one after) whose code is `code`, compared in constant
/// time; `None` if none matches or `code` is not six digits.
pub fn verify_totp(secret: &[u8], code: &str, unix_secs: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_secs);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        let candidate = totp(secret, step);
        if constant_time::verify_slices_are_equal(candidate.as_bytes(), code.as_bytes()).is_ok() {
            found = Some(step);
        }
    }
    found
}

/// Hex of the first 16 bytes of HMAC-SHA256(`key`, parts joined with a 0 byte).
pub fn fingerprint(key: &[u8], parts: &[&[u8]]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            ctx.update(&[0]);
        }
        ctx.update(p);
    }
    let tag = ctx.sign();
    tag.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey> {
    let k = UnboundKey::new(&AES_256_GCM, key).map_err(|_| IdentityError::Crypto("encryption key"))?;
    Ok(LessSafeKey::new(k))
}

/// Encrypts `plain` with a 32-byte `key`, binding `context` (for example the owner's id) so a
/// sealed value copied to another row does not open. Output: nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &[u8], context: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let key = aead_key(key)?;
    let nonce_bytes = random_bytes(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes).map_err(|_| IdentityError::Crypto("nonce"))?;
    let mut data = plain.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(context), &mut data)
        .map_err(|_| IdentityError::Crypto("encryption"))?;
    let mut out = nonce_bytes;
    out.extend_from_slice(&data);
    Ok(out)
}

/// Decrypts what [`seal`] produced with the same key and context.
pub fn open(key: &[u8], context: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return Err(IdentityError::Crypto("sealed value too short"));
    }
    let key = aead_key(key)?;
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| IdentityError::Crypto("nonce"))?;
    let mut data = rest.to_vec();
    let plain =
        key.open_in_place(nonce, Aad::from(context), &mut data).map_err(|_| IdentityError::Crypto("decryption"))?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8-digit codes there; ours are their last 6 digits).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
            (20000000000, "353130"),
        ] {
            assert_eq!(totp(secret, step_of(t)), code, "t = {t}");
        }
    }

    #[test]
    fn skew_of_one_step_either_way() {
        let secret = b"12345678901234567890";
        let now = 1_700_000_000;
        let step = step_of(now);
        assert_eq!(verify_totp(secret, &totp(secret, step), now), Some(step));
        assert_eq!(verify_totp(secret, &totp(secret, step - 1), now), Some(step - 1));
        assert_eq!(verify_totp(secret, &totp(secret, step + 1), now), Some(step + 1));
        assert_eq!(verify_totp(secret, &totp(secret, step - 2), now), None);
        assert_eq!(verify_totp(secret, &totp(secret, step + 2), now), None);
        assert_eq!(verify_totp(secret, "12345", now), None);
        assert_eq!(verify_totp(secret, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi======").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("MZ1"), None);
        let r = random_bytes(SECRET_LEN).expect("random");
        assert_eq!(base32_decode(&base32_encode(&r)), Some(r));
    }

    #[test]
    fn seal_binds_key_and_context() {
        let key = random_bytes(32).expect("key");
        let sealed = seal(&key, b"user-1", b"secret").expect("seal");
        assert_eq!(open(&key, b"user-1", &sealed).expect("open"), b"secret");
        assert!(open(&key, b"user-2", &sealed).is_err());
        assert!(open(&random_bytes(32).expect("key"), b"user-1", &sealed).is_err());
    }

    #[test]
    fn fingerprints_are_keyed() {
        let a = fingerprint(b"k1", &[b"user", b"pw"]);
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint(b"k1", &[b"user", b"pw"]));
        assert_ne!(a, fingerprint(b"k2", &[b"user", b"pw"]));
        assert_ne!(a, fingerprint(b"k1", &[b"userp", b"w"]));
    }
}
