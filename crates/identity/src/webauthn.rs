//! WebAuthn (FIDO2 passkeys), the relying party's half: verifying a registration
//! (attestation) and a sign-in (assertion) as WebAuthn Level 2 §7.1 and §7.2 describe.
//!
//! - [`cbor`]: a small CBOR decoder bounded in input size, nesting and item count (the
//!   attestation object comes from the browser, so it is hostile input).
//! - [`CoseKey`]: the credential public key, ES256 (P-256), RS256 and EdDSA (Ed25519).
//! - [`verify_registration`]: `clientDataJSON` (type, challenge, origin), `authenticatorData`
//!   (rpIdHash, UP/UV flags, attested credential data) and the attestation statement of the
//!   formats `none` and `packed` (self attestation, or an `x5c` certificate whose key signed).
//! - [`verify_assertion`]: the same checks on `webauthn.get`, the signature over
//!   `authenticatorData ‖ SHA-256(clientDataJSON)` with the stored key, and the signature
//!   counter, which must grow (a counter that does not is a cloned authenticator).
//!
//! The challenge is the caller's business (issue it single-use, look it up from
//! [`client_data_challenge`]): this module only compares what it is given.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The largest attestation object, authenticator data or client data accepted (real ones are
/// well under 4 KiB, with an attestation certificate chain).
pub const MAX_INPUT: usize = 16 * 1024;

/// COSE algorithm identifiers this relying party accepts, in the order it prefers them.
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const RS256: i64 = -257;
pub const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// Why a ceremony was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebAuthnError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the client data is not of type {0}")]
    Type(&'static str),
    #[error("the challenge does not match")]
    Challenge,
    #[error("the origin does not match")]
    Origin,
    #[error("the authenticator data is for another relying party")]
    RpId,
    #[error("the user was not present")]
    UserPresence,
    #[error("the user was not verified")]
    UserVerification,
    #[error("the signature does not verify")]
    Signature,
    #[error("unsupported credential key or algorithm")]
    UnsupportedKey,
    #[error("unsupported attestation format {0}")]
    UnsupportedFormat(String),
    #[error("the attestation is not valid: {0}")]
    Attestation(&'static str),
    #[error("the signature counter did not increase (cloned authenticator?)")]
    SignCount,
}

type Result<T> = std::result::Result<T, WebAuthnError>;

pub mod cbor {
    //! A CBOR (RFC 8949) decoder for what WebAuthn sends: integers, byte and text strings,
    //! arrays, maps, booleans and null, definite lengths only. No floats, tags or indefinite
    //! lengths (WebAuthn's CTAP2 canonical encoding has none).

    use super::{Result, WebAuthnError};

    const MAX_DEPTH: usize = 8;
    const MAX_ITEMS: usize = 512;

    /// A decoded item.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Value {
        Int(i128),
        Bytes(Vec<u8>),
        Text(String),
        Array(Vec<Value>),
        Map(Vec<(Value, Value)>),
        Bool(bool),
        Null,
    }

    impl Value {
        /// The value of an integer or text key of a map.
        pub fn get(&self, key: &Value) -> Option<&Value> {
            match self {
                Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        pub fn int_key(&self, key: i64) -> Option<&Value> {
            self.get(&Value::Int(i128::from(key)))
        }

        pub fn text_key(&self, key: &str) -> Option<&Value> {
            self.get(&Value::Text(key.to_string()))
        }

        pub fn as_bytes(&self) -> Option<&[u8]> {
            match self {
                Value::Bytes(b) => Some(b),
                _ => None,
            }
        }

        pub fn as_int(&self) -> Option<i128> {
            match self {
                Value::Int(i) => Some(*i),
                _ => None,
            }
        }

        pub fn as_text(&self) -> Option<&str> {
            match self {
                Value::Text(t) => Some(t),
                _ => None,
            }
        }
    }

    struct Reader<'a> {
        input: &'a [u8],
        pos: usize,
        items: usize,
    }

    fn bad() -> WebAuthnError {
        WebAuthnError::Malformed("CBOR")
    }

    impl Reader<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8]> {
            let end = self.pos.checked_add(n).filter(|e| *e <= self.input.len()).ok_or_else(bad)?;
            let out = &self.input[self.pos..end];
            self.pos = end;
            Ok(out)
        }

        fn argument(&mut self, info: u8) -> Result<u64> {
            Ok(match info {
                0..=23 => u64::from(info),
                24 => u64::from(self.take(1)?[0]),
                25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().map_err(|_| bad())?)),
                26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().map_err(|_| bad())?)),
                27 => u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| bad())?),
                _ => return Err(bad()),
            })
        }

        fn length(&mut self, info: u8) -> Result<usize> {
            let n = self.argument(info)?;
            // A length cannot exceed what is left of the input (each item takes a byte at least).
            usize::try_from(n).ok().filter(|n| *n <= self.input.len() - self.pos).ok_or_else(bad)
        }

        fn item(&mut self, depth: usize) -> Result<Value> {
            self.items += 1;
            if depth > MAX_DEPTH || self.items > MAX_ITEMS {
                return Err(bad());
            }
            let initial = self.take(1)?[0];
            let (major, info) = (initial >> 5, initial & 0x1f);
            Ok(match major {
                0 => Value::Int(i128::from(self.argument(info)?)),
                1 => Value::Int(-1 - i128::from(self.argument(info)?)),
                2 => {
                    let n = self.length(info)?;
                    Value::Bytes(self.take(n)?.to_vec())
                }
                3 => {
                    let n = self.length(info)?;
                    Value::Text(String::from_utf8(self.take(n)?.to_vec()).map_err(|_| bad())?)
                }
                4 => {
                    let n = self.length(info)?;
                    let mut out = Vec::with_capacity(n);
                    for _ in 0..n {
                        out.push(self.item(depth + 1)?);
                    }
                    Value::Array(out)
                }
                5 => {
                    let n = self.length(info)?;
                    let mut out = Vec::with_capacity(n);
                    for _ in 0..n {
                        let k = self.item(depth + 1)?;
                        let v = self.item(depth + 1)?;
                        out.push((k, v));
                    }
                    Value::Map(out)
                }
                7 => match info {
                    20 => Value::Bool(false),
                    21 => Value::Bool(true),
                    22 => Value::Null,
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            })
        }
    }

    /// Decodes the first item of `input`; returns it and the bytes it took.
    pub fn decode_prefix(input: &[u8]) -> Result<(Value, usize)> {
        if input.len() > super::MAX_INPUT {
            return Err(bad());
        }
        let mut r = Reader { input, pos: 0, items: 0 };
        let v = r.item(0)?;
        Ok((v, r.pos))
    }

    /// Decodes `input`, which must hold exactly one item.
    pub fn decode(input: &[u8]) -> Result<Value> {
        let (v, used) = decode_prefix(input)?;
        if used != input.len() {
            return Err(bad());
        }
        Ok(v)
    }
}

use cbor::Value;

/// A credential public key (COSE_Key, RFC 9053), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoseKey {
    /// P-256, uncompressed point (0x04 ‖ x ‖ y).
    Es256(Vec<u8>),
    /// Ed25519 public key.
    EdDsa(Vec<u8>),
    /// RSA modulus and exponent.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
}

impl CoseKey {
    /// Parses a COSE_Key map.
    pub fn parse(bytes: &[u8]) -> Result<CoseKey> {
        Self::from_value(&cbor::decode(bytes)?)
    }

    fn from_value(v: &Value) -> Result<CoseKey> {
        let int = |k: i64| v.int_key(k).and_then(Value::as_int);
        let bytes = |k: i64| v.int_key(k).and_then(Value::as_bytes);
        match (int(1), int(3)) {
            (Some(2), Some(-7)) => {
                let (x, y) = (bytes(-2).unwrap_or_default(), bytes(-3).unwrap_or_default());
                if int(-1) != Some(1) || x.len() != 32 || y.len() != 32 {
                    return Err(WebAuthnError::UnsupportedKey);
                }
                let mut point = vec![4u8];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Ok(CoseKey::Es256(point))
            }
            (Some(1), Some(-8)) => {
                let x = bytes(-2).unwrap_or_default();
                if int(-1) != Some(6) || x.len() != 32 {
                    return Err(WebAuthnError::UnsupportedKey);
                }
                Ok(CoseKey::EdDsa(x.to_vec()))
            }
            (Some(3), Some(-257)) => {
                let (n, e) = (bytes(-1).unwrap_or_default(), bytes(-2).unwrap_or_default());
                // At least 2048 bits, as aws-lc-rs's RSA verification requires.
                if n.len() < 256 || e.is_empty() {
                    return Err(WebAuthnError::UnsupportedKey);
                }
                Ok(CoseKey::Rs256 { n: n.to_vec(), e: e.to_vec() })
            }
            _ => Err(WebAuthnError::UnsupportedKey),
        }
    }

    /// The COSE algorithm of the key.
    pub fn alg(&self) -> i64 {
        match self {
            CoseKey::Es256(_) => ES256,
            CoseKey::EdDsa(_) => EDDSA,
            CoseKey::Rs256 { .. } => RS256,
        }
    }

    /// Verifies `sig` over `message` (ECDSA signatures are ASN.1 DER, as WebAuthn sends them).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<()> {
        let ok = match self {
            CoseKey::Es256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point).verify(message, sig).is_ok()
            }
            CoseKey::EdDsa(key) => UnparsedPublicKey::new(&signature::ED25519, key).verify(message, sig).is_ok(),
            CoseKey::Rs256 { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig).is_ok()
            }
        };
        if ok { Ok(()) } else { Err(WebAuthnError::Signature) }
    }
}

/// `authenticatorData`, parsed.
#[derive(Debug, Clone)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    /// The attested credential data (registration only).
    pub attested: Option<AttestedCredential>,
}

/// The attested credential data of a registration.
#[derive(Debug, Clone)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes as the authenticator encoded them (what is stored).
    pub public_key: Vec<u8>,
}

impl AuthenticatorData {
    pub fn parse(bytes: &[u8]) -> Result<AuthenticatorData> {
        let bad = || WebAuthnError::Malformed("authenticator data");
        if bytes.len() < 37 || bytes.len() > MAX_INPUT {
            return Err(bad());
        }
        let rp_id_hash: [u8; 32] = bytes[..32].try_into().map_err(|_| bad())?;
        let flags = bytes[32];
        let sign_count = u32::from_be_bytes(bytes[33..37].try_into().map_err(|_| bad())?);
        let mut rest = &bytes[37..];
        let attested = if flags & FLAG_AT != 0 {
            if rest.len() < 18 {
                return Err(bad());
            }
            let aaguid: [u8; 16] = rest[..16].try_into().map_err(|_| bad())?;
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            // Credential ids are at most 1023 bytes (WebAuthn L2 §7.1 step 18).
            if len > 1023 || rest.len() < 18 + len {
                return Err(bad());
            }
            let credential_id = rest[18..18 + len].to_vec();
            let (_, used) = cbor::decode_prefix(&rest[18 + len..])?;
            let public_key = rest[18 + len..18 + len + used].to_vec();
            rest = &rest[18 + len + used..];
            Some(AttestedCredential { aaguid, credential_id, public_key })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let (_, used) = cbor::decode_prefix(rest)?;
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(AuthenticatorData { rp_id_hash, flags, sign_count, attested })
    }

    pub fn user_present(&self) -> bool {
        self.flags & FLAG_UP != 0
    }

    pub fn user_verified(&self) -> bool {
        self.flags & FLAG_UV != 0
    }
}

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(default, rename = "crossOrigin")]
    cross_origin: bool,
}

fn client_data(json: &[u8]) -> Result<ClientData> {
    if json.len() > MAX_INPUT {
        return Err(WebAuthnError::Malformed("client data"));
    }
    serde_json::from_slice(json).map_err(|_| WebAuthnError::Malformed("client data"))
}

/// The challenge a `clientDataJSON` carries (base64url, as sent), so the caller can find the
/// ceremony it answers.
pub fn client_data_challenge(json: &[u8]) -> Option<String> {
    client_data(json).ok().map(|c| c.challenge)
}

/// What the relying party expects of a ceremony.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The challenge issued, base64url without padding.
    pub challenge: &'a str,
    /// `scheme://host[:port]` of the pages.
    pub origin: &'a str,
    /// The relying party id: the host.
    pub rp_id: &'a str,
    /// Whether user verification (PIN, biometrics) is required.
    pub require_uv: bool,
}

/// Checks the client data and authenticator data every ceremony shares.
fn check_common(cd: &ClientData, ad: &AuthenticatorData, kind: &'static str, exp: &Expectations<'_>) -> Result<()> {
    if cd.kind != kind {
        return Err(WebAuthnError::Type(kind));
    }
    if aws_lc_rs::constant_time::verify_slices_are_equal(cd.challenge.as_bytes(), exp.challenge.as_bytes()).is_err() {
        return Err(WebAuthnError::Challenge);
    }
    if cd.origin != exp.origin || cd.cross_origin {
        return Err(WebAuthnError::Origin);
    }
    if digest(&SHA256, exp.rp_id.as_bytes()).as_ref() != ad.rp_id_hash {
        return Err(WebAuthnError::RpId);
    }
    if !ad.user_present() {
        return Err(WebAuthnError::UserPresence);
    }
    if exp.require_uv && !ad.user_verified() {
        return Err(WebAuthnError::UserVerification);
    }
    Ok(())
}

/// How the authenticator vouched for the new credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attestation {
    /// `none`: no statement.
    None,
    /// `packed` signed with the credential's own key.
    SelfAttested,
    /// `packed` signed with an attestation certificate (DER, leaf first). The chain is not
    /// validated against a metadata service's roots.
    Certificates(Vec<Vec<u8>>),
}

/// A verified registration: what to store.
#[derive(Debug, Clone)]
pub struct Registration {
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes.
    pub public_key: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    pub attestation: Attestation,
    pub user_verified: bool,
}

/// Verifies `navigator.credentials.create()`'s answer (WebAuthn L2 §7.1).
pub fn verify_registration(
    client_data_json: &[u8],
    attestation_object: &[u8],
    exp: &Expectations<'_>,
) -> Result<Registration> {
    let cd = client_data(client_data_json)?;
    let obj = cbor::decode(attestation_object)?;
    let fmt = obj.text_key("fmt").and_then(Value::as_text).ok_or(WebAuthnError::Malformed("attestation object"))?;
    let stmt = obj.text_key("attStmt").ok_or(WebAuthnError::Malformed("attestation object"))?;
    let auth_data_bytes =
        obj.text_key("authData").and_then(Value::as_bytes).ok_or(WebAuthnError::Malformed("attestation object"))?;
    let ad = AuthenticatorData::parse(auth_data_bytes)?;
    check_common(&cd, &ad, "webauthn.create", exp)?;
    let cred = ad.attested.clone().ok_or(WebAuthnError::Malformed("attested credential data"))?;
    let key = CoseKey::parse(&cred.public_key)?;
    let client_hash = digest(&SHA256, client_data_json);
    let mut signed = auth_data_bytes.to_vec();
    signed.extend_from_slice(client_hash.as_ref());
    let attestation = match fmt {
        "none" => {
            if stmt != &Value::Map(Vec::new()) {
                return Err(WebAuthnError::Attestation("a 'none' statement must be empty"));
            }
            Attestation::None
        }
        "packed" => packed(stmt, &key, &cred, &signed)?,
        other => return Err(WebAuthnError::UnsupportedFormat(other.chars().take(32).collect())),
    };
    Ok(Registration {
        credential_id: cred.credential_id,
        public_key: cred.public_key,
        alg: key.alg(),
        sign_count: ad.sign_count,
        aaguid: cred.aaguid,
        attestation,
        user_verified: ad.user_verified(),
    })
}

/// The `packed` statement (WebAuthn L2 §8.2): self attestation, or `x5c`.
fn packed(stmt: &Value, key: &CoseKey, cred: &AttestedCredential, signed: &[u8]) -> Result<Attestation> {
    let alg = stmt.text_key("alg").and_then(Value::as_int).ok_or(WebAuthnError::Attestation("no alg"))?;
    let sig = stmt.text_key("sig").and_then(Value::as_bytes).ok_or(WebAuthnError::Attestation("no sig"))?;
    let Some(x5c) = stmt.text_key("x5c") else {
        if alg != i128::from(key.alg()) {
            return Err(WebAuthnError::Attestation("alg is not the credential's"));
        }
        key.verify(signed, sig)?;
        return Ok(Attestation::SelfAttested);
    };
    let Value::Array(certs) = x5c else {
        return Err(WebAuthnError::Attestation("x5c is not an array"));
    };
    let certs: Vec<Vec<u8>> = certs.iter().filter_map(Value::as_bytes).map(<[u8]>::to_vec).collect();
    let leaf = certs.first().ok_or(WebAuthnError::Attestation("empty x5c"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).map_err(|_| WebAuthnError::Attestation("bad x5c"))?;
    // §8.2.1: version 3, not a CA, and the AAGUID extension (when present) names this model.
    if cert.version().0 != 2 {
        return Err(WebAuthnError::Attestation("certificate version"));
    }
    if let Ok(Some(bc)) = cert.basic_constraints()
        && bc.value.ca
    {
        return Err(WebAuthnError::Attestation("the certificate is a CA"));
    }
    let ou_ok = cert
        .subject()
        .iter_organizational_unit()
        .any(|ou| ou.as_str().map(|s| s == "Authenticator Attestation").unwrap_or(false));
    if !ou_ok {
        return Err(WebAuthnError::Attestation("subject OU"));
    }
    const AAGUID_OID: &str = "1.3.6.1.4.1.45724.1.1.4";
    if let Some(ext) = cert.extensions().iter().find(|e| e.oid.to_id_string() == AAGUID_OID) {
        // An OCTET STRING wrapping the 16 bytes.
        if ext.value.len() != 18 || ext.value[2..] != cred.aaguid {
            return Err(WebAuthnError::Attestation("AAGUID extension"));
        }
    }
    let spki = cert.public_key();
    let point = spki.subject_public_key.data.as_ref();
    let ok = match alg {
        -7 => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point).verify(signed, sig).is_ok(),
        -257 => UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, point).verify(signed, sig).is_ok(),
        -8 => UnparsedPublicKey::new(&signature::ED25519, point).verify(signed, sig).is_ok(),
        _ => return Err(WebAuthnError::UnsupportedKey),
    };
    if !ok {
        return Err(WebAuthnError::Signature);
    }
    Ok(Attestation::Certificates(certs))
}

/// A verified assertion.
#[derive(Debug, Clone, Copy)]
pub struct Assertion {
    /// The counter to store.
    pub sign_count: u32,
    pub user_verified: bool,
}

/// Verifies `navigator.credentials.get()`'s answer (WebAuthn L2 §7.2) against the stored key
/// and counter.
pub fn verify_assertion(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    sig: &[u8],
    public_key: &[u8],
    stored_count: u32,
    exp: &Expectations<'_>,
) -> Result<Assertion> {
    let cd = client_data(client_data_json)?;
    let ad = AuthenticatorData::parse(authenticator_data)?;
    check_common(&cd, &ad, "webauthn.get", exp)?;
    let key = CoseKey::parse(public_key)?;
    let mut signed = authenticator_data.to_vec();
    signed.extend_from_slice(digest(&SHA256, client_data_json).as_ref());
    key.verify(&signed, sig)?;
    // §7.2 step 21: a counter that does not grow (when either is non-zero) means a clone.
    if (ad.sign_count != 0 || stored_count != 0) && ad.sign_count <= stored_count {
        return Err(WebAuthnError::SignCount);
    }
    Ok(Assertion { sign_count: ad.sign_count, user_verified: ad.user_verified() })
}

/// base64url without padding (WebAuthn's JSON encoding of binary fields).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, tolerating padding (some clients add it).
pub fn from_b64url(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_INPUT * 2 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// An AAGUID in the hyphenated form Graph shows.
pub fn aaguid_string(aaguid: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*aaguid).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_is_bounded() {
        // A byte string claiming more bytes than there are.
        assert!(cbor::decode(&[0x5a, 0xff, 0xff, 0xff, 0xff]).is_err());
        // An array claiming four billion items.
        assert!(cbor::decode(&[0x9a, 0xff, 0xff, 0xff, 0xff]).is_err());
        // Nesting beyond the limit.
        assert!(cbor::decode(&[0x81; 20]).is_err());
        // Floats and tags are refused; trailing bytes too.
        assert!(cbor::decode(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(cbor::decode(&[0xc0, 0x00]).is_err());
        assert!(cbor::decode(&[0x01, 0x02]).is_err());
        let v = cbor::decode(&[0xa2, 0x01, 0x02, 0x20, 0x43, 1, 2, 3]).expect("map");
        assert_eq!(v.int_key(1).and_then(cbor::Value::as_int), Some(2));
        assert_eq!(v.int_key(-1).and_then(cbor::Value::as_bytes), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn truncated_authenticator_data_is_refused() {
        assert!(AuthenticatorData::parse(&[0u8; 36]).is_err());
        let mut ad = vec![0u8; 37];
        ad[32] = FLAG_AT;
        assert!(AuthenticatorData::parse(&ad).is_err());
        ad[32] = FLAG_UP;
        ad.push(0);
        assert!(AuthenticatorData::parse(&ad).is_err(), "trailing bytes");
    }
}
