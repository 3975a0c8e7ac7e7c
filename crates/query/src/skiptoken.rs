//! `$skiptoken`: an opaque page cursor.
//!
//! The token is base64url (no padding) of a version byte followed by the JSON of a
//! [`Cursor`]. The version byte lets the format change without misreading old links; a token
//! that does not decode, or that does not fit the request's `$orderby`, is a 400 rather than
//! a wrong page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cerulean_store::{Cursor, OrderKey, Scalar, ValueKind};

use crate::error::QueryError;

const VERSION: u8 = 1;
/// Longest token accepted, in characters; real tokens hold a few sort values and an id.
pub const MAX_SKIPTOKEN_LEN: usize = 4 * 1024;

/// Encodes a cursor as a `$skiptoken` value (URL-safe; no percent-encoding needed).
pub fn encode_skiptoken(c: &Cursor) -> String {
    let mut bytes = vec![VERSION];
    // A Cursor holds only strings, numbers and a UUID: serialising it cannot fail, but if it
    // ever did, the token would decode as invalid rather than panic here.
    bytes.extend(serde_json::to_vec(c).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn invalid() -> QueryError {
    QueryError::request_bad_request("The $skiptoken value is invalid or was issued for a different query.")
}

/// Decodes a `$skiptoken` value.
pub fn decode_skiptoken(s: &str) -> Result<Cursor, QueryError> {
    if s.len() > MAX_SKIPTOKEN_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&VERSION, json)) => serde_json::from_slice(json).map_err(|_| invalid()),
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
        let t = encode_skiptoken(&cursor());
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(decode_skiptoken(&t), Ok(cursor()));
    }

    #[test]
    fn garbage_is_a_400() {
        for bad in ["", "!!!", "AAAA", "e30", &"A".repeat(5000)] {
            let e = decode_skiptoken(bad).err();
            assert_eq!(e.map(|e| (e.status, e.code)), Some((400, "Request_BadRequest")), "{bad}");
        }
        // Right version byte, wrong JSON.
        let t = URL_SAFE_NO_PAD.encode([&[VERSION][..], b"{\"x\":1}"].concat());
        assert!(decode_skiptoken(&t).is_err());
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
