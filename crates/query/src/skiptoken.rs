//! `$skiptoken`: an opaque page cursor.
//!
//! The token is base64url (no padding) of a version byte, an 8-byte fingerprint of the query it
//! was issued for (filter, search and order: see [`fingerprint`]), and the JSON of a
//! [`Cursor`]. The version byte lets the format change without misreading old links; a token
//! that does not decode, was issued for another query, or does not fit the request's
//! `$orderby` is a 400 rather than a wrong page. Tokens carry no secret and need none: a
//! forged cursor only positions a page within what the caller may already list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cerulean_store::{Cursor, OrderKey, Scalar, ValueKind};

use crate::error::QueryError;

const VERSION: u8 = 2;
/// Longest token accepted, in characters; real tokens hold a few sort values and an id.
pub const MAX_SKIPTOKEN_LEN: usize = 4 * 1024;

/// A stable 64-bit FNV-1a hash of a query's shape, so a token is refused on another query.
/// Stable across processes and nodes (unlike `std`'s hasher), as tokens must be.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Encodes a cursor of the query with `fingerprint` as a `$skiptoken` value (URL-safe).
pub fn encode_skiptoken(c: &Cursor, fingerprint: u64) -> String {
    let mut bytes = vec![VERSION];
    bytes.extend(fingerprint.to_be_bytes());
    // A Cursor holds only strings, numbers and a UUID: serialising it cannot fail, but if it
    // ever did, the token would decode as invalid rather than panic here.
    bytes.extend(serde_json::to_vec(c).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn invalid() -> QueryError {
    QueryError::request_bad_request("The $skiptoken value is invalid or was issued for a different query.")
}

/// Decodes a `$skiptoken` value issued for the query with `fingerprint`.
pub fn decode_skiptoken(s: &str, fingerprint: u64) -> Result<Cursor, QueryError> {
    if s.len() > MAX_SKIPTOKEN_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&VERSION, rest)) if rest.len() >= 8 => {
            let (fp, json) = rest.split_at(8);
            if fp != fingerprint.to_be_bytes() {
                return Err(invalid());
            }
            serde_json::from_slice(json).map_err(|_| invalid())
        }
        _ => Err(invalid()),
    }
}

/// Checks that a decoded cursor can be a position in a listing sorted by `order`: one value
/// per key, each of the key's kind (or null).
pub fn check_cursor(c: &Cursor, order: &[OrderKey]) -> Result<(), QueryError> {
    if c.values.len() != order.len() {
        return Err(invalid());
    }
    for (v, key) in c.values.iter().zip(order) {
        let fits = matches!(
            (key.kind, v),
            (_, Scalar::Null)
                | (ValueKind::String | ValueKind::DateTime | ValueKind::Guid, Scalar::Str(_))
                | (ValueKind::Bool, Scalar::Bool(_))
                | (ValueKind::Number, Scalar::Int(_) | Scalar::Float(_))
        );
        if !fits {
            return Err(invalid());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cerulean_store::PropPath;
    use uuid::Uuid;

    fn cursor() -> Cursor {
        Cursor { values: vec![Scalar::Str("Adele".into()), Scalar::Null], id: Uuid::from_u128(0x1234) }
    }

    #[test]
    fn round_trips() {
        let t = encode_skiptoken(&cursor(), 7);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(decode_skiptoken(&t, 7), Ok(cursor()));
        assert!(decode_skiptoken(&t, 8).is_err(), "a token of another query is refused");
    }

    #[test]
    fn garbage_is_a_400() {
        for bad in ["", "!!!", "AAAA", "e30", &"A".repeat(5000)] {
            let e = decode_skiptoken(bad, 0).err();
            assert_eq!(e.map(|e| (e.status, e.code)), Some((400, "Request_BadRequest")), "{bad}");
        }
        // Right version byte, wrong JSON.
        let t = URL_SAFE_NO_PAD.encode([&[VERSION][..], &[0; 8], b"{\"x\":1}"].concat());
        assert!(decode_skiptoken(&t, 0).is_err());
    }

    #[test]
    fn cursor_must_fit_the_order() {
        let key = |kind| OrderKey { path: PropPath::of("p"), kind, descending: false };
        let c = cursor();
        assert!(check_cursor(&c, &[key(ValueKind::String), key(ValueKind::Number)]).is_ok());
        assert!(check_cursor(&c, &[key(ValueKind::String)]).is_err());
        assert!(check_cursor(&c, &[key(ValueKind::Bool), key(ValueKind::Number)]).is_err());
    }
}
