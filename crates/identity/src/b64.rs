//! The two base64 flavours JOSE uses, in one place so every module agrees on strictness.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// base64url without padding (JWS segments, JWK `n`/`e`, `kid`, `x5t`).
pub(crate) fn url_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: no padding, no trailing bits, so one token has one encoding.
pub(crate) fn url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Standard padded base64 (`x5c` entries, PEM bodies).
pub(crate) fn std_encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn std_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}
