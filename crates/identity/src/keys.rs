//! RSA-2048 token signing keys.
//!
//! # kid, x5t and x5c
//!
//! Entra publishes every signing key with a self-signed certificate (`x5c`) and uses the
//! certificate's SHA-1 thumbprint, base64url-encoded, as both `kid` and `x5t`. Some clients
//! (older ADAL/.NET stacks) look keys up by `x5t`, and some check that `x5t` really is the
//! thumbprint of `x5c[0]`, so the three must agree, and must not change across restarts:
//! tokens issued before a restart name the key by `kid`.
//!
//! [`SigningKeyRecord`] stores only the private key, its creation time and status, so the
//! certificate is not stored; it is *rebuilt* on every start. It is a pure function of
//! (private key, `created_at`):
//!
//! - subject and issuer are a fixed name ([`CERT_SUBJECT_CN`]);
//! - the serial number is rcgen's default, derived from the SHA-256 of the public key;
//! - validity is `created_at` .. `created_at` + 5 years (seconds precision);
//! - no extensions;
//! - the signature is RSASSA-PKCS1-v1_5 with SHA-256, which is deterministic.
//!
//! So the rebuilt certificate is byte-identical and `kid` = `x5t` = base64url(SHA-1(cert DER)),
//! exactly as in Entra. [`generate_signing_key`] computes the kid that way when the key is
//! created. If a future rcgen ever encoded the certificate differently, [`SigningKey::from_record`]
//! keeps the *stored* kid (tokens in flight still name it), sets `x5t` to the thumbprint of the
//! certificate it actually publishes (so `x5t` never lies) and logs a warning.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey, RsaKeyPair};
use cerulean_store::SigningKeyRecord;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::b64;
use crate::{IdentityError, Result};

/// `status` of the key that signs new tokens (and is published).
pub const STATUS_ACTIVE: &str = "active";
/// `status` of a key published ahead of use, so verifiers have it before the first token.
pub const STATUS_NEXT: &str = "next";
/// `status` of a key that no longer signs but is published until its tokens expire.
pub const STATUS_RETIRED: &str = "retired";

/// Common name of the self-signed certificate published in `x5c`.
pub const CERT_SUBJECT_CN: &str = "Cerulean token signing";

/// Validity of the published certificate. Nothing checks it against the key's real
/// lifetime (rotation retires keys long before), but Entra's certificates also run ~5 years.
const CERT_VALIDITY: Duration = Duration::days(5 * 365 + 1);

/// Generates a new RSA-2048 signing key (about 40 ms) with status `active`.
///
/// The kid is the base64url SHA-1 thumbprint of the key's certificate (see the module docs).
pub fn generate_signing_key() -> Result<SigningKeyRecord> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| IdentityError::Crypto("RSA key generation"))?;
    let pkcs8 = pair.as_der().map_err(|_| IdentityError::Crypto("PKCS#8 encoding"))?.as_ref().to_vec();
    let created_at = cerulean_store::clock::now()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .map_err(|e| IdentityError::Certificate(e.to_string()))?;
    let cert = certificate_der(&pkcs8, &created_at)?;
    Ok(SigningKeyRecord {
        kid: thumbprint(&cert),
        private_pkcs8: pkcs8,
        created_at,
        status: STATUS_ACTIVE.to_owned(),
        retired_at: None,
    })
}

/// base64url(SHA-1(DER)), the `x5t` of a certificate.
fn thumbprint(cert_der: &[u8]) -> String {
    b64::url_encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert_der))
}

/// Builds the deterministic self-signed certificate of a key (see the module docs).
fn certificate_der(pkcs8: &[u8], created_at: &str) -> Result<Vec<u8>> {
    let cert_err = |e: rcgen::Error| IdentityError::Certificate(e.to_string());
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), &rcgen::PKCS_RSA_SHA256).map_err(cert_err)?;
    // An unparsable time (the store should never return one) still yields a deterministic
    // certificate: the same fallback is used at every start.
    let not_before = OffsetDateTime::parse(created_at, &Rfc3339)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, CERT_SUBJECT_CN);
    params.not_before = not_before;
    params.not_after = not_before + CERT_VALIDITY;
    let cert = params.self_signed(&key).map_err(cert_err)?;
    Ok(cert.der().to_vec())
}

/// A signing key parsed once and kept in memory: the private key for signing, the parsed
/// public key for verifying, and everything the JWKS and JWS headers need, pre-encoded.
pub struct SigningKey {
    kid: String,
    x5t: String,
    status: String,
    created_at: String,
    pair: RsaKeyPair,
    public: ParsedPublicKey,
    n: String,
    e: String,
    cert_der: Vec<u8>,
    /// base64url of `{"typ":"JWT","alg":"RS256","x5t":..,"kid":..}` (v1 access tokens).
    header_kid_x5t: String,
    /// base64url of `{"typ":"JWT","alg":"RS256","kid":..}` (v2 access tokens, id tokens).
    header_kid: String,
}

impl fmt::Debug for SigningKey {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a stored key. This is the only place the private key is parsed; signing
    /// afterwards never re-parses (STACK.md: re-parsing per call costs 60% of the rate).
    pub fn from_record(record: &SigningKeyRecord) -> Result<Self> {
        let invalid = |reason: String| IdentityError::InvalidKey { kid: record.kid.clone(), reason };
        let pair = RsaKeyPair::from_pkcs8(&record.private_pkcs8)
            .map_err(|e| invalid(format!("not an RSA PKCS#8 key: {e}")))?;
        if pair.public_modulus_len() < 256 {
            return Err(invalid("RSA keys shorter than 2048 bits are refused".into()));
        }
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let public = components
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
            .map_err(|e| invalid(format!("public key: {e}")))?;
        let cert_der = certificate_der(&record.private_pkcs8, &record.created_at)?;
        let x5t = thumbprint(&cert_der);
        if x5t != record.kid {
            tracing::warn!(
                kid = %record.kid,
                x5t = %x5t,
                "rebuilt signing certificate differs from the one the kid was derived from; \
                 keeping the stored kid and publishing the new thumbprint as x5t"
            );
        }
        let header_kid_x5t =
            b64::url_encode(json!({"typ": "JWT", "alg": "RS256", "x5t": x5t, "kid": record.kid}).to_string());
        let header_kid = b64::url_encode(json!({"typ": "JWT", "alg": "RS256", "kid": record.kid}).to_string());
        Ok(SigningKey {
            kid: record.kid.clone(),
            x5t,
            status: record.status.clone(),
            created_at: record.created_at.clone(),
            n: b64::url_encode(&components.n),
            e: b64::url_encode(&components.e),
            pair,
            public,
            cert_der,
            header_kid_x5t,
            header_kid,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The base64url SHA-1 thumbprint of [`SigningKey::certificate_der`].
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    pub fn created_at(&self) -> &str {
        &self.created_at
    }

    /// The self-signed certificate published as `x5c[0]`.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The parsed public key, for [`crate::Verifier`].
    pub fn public_key(&self) -> &ParsedPublicKey {
        &self.public
    }

    /// The key's JWK as Entra publishes it. `issuer` is added when given (Entra's v2.0
    /// `discovery/v2.0/keys` carries it; the v1 `discovery/keys` does not).
    pub fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": self.n,
            "e": self.e,
            "x5c": [b64::std_encode(&self.cert_der)],
        });
        if let (Some(issuer), Some(obj)) = (issuer, jwk.as_object_mut()) {
            obj.insert("issuer".into(), Value::String(issuer.to_owned()));
        }
        jwk
    }

    /// The pre-encoded JWS header segment.
    pub(crate) fn header_segment(&self, with_x5t: bool) -> &str {
        if with_x5t { &self.header_kid_x5t } else { &self.header_kid }
    }

    /// RS256 over `message`; the rng argument is ignored by aws-lc (PKCS#1 v1.5 is
    /// deterministic), but the API wants one.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut sig)
            .map_err(|_| IdentityError::Crypto("RS256 signing"))?;
        Ok(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_parses_and_kid_is_cert_thumbprint() {
        let rec = generate_signing_key().expect("generate");
        assert_eq!(rec.status, STATUS_ACTIVE);
        assert_eq!(rec.kid.len(), 27, "base64url of 20 bytes");
        let key = SigningKey::from_record(&rec).expect("parse");
        assert_eq!(key.kid(), rec.kid);
        assert_eq!(key.x5t(), rec.kid, "kid == x5t, as in Entra");
        assert_eq!(thumbprint(key.certificate_der()), key.x5t());
        // A second load (a restart) rebuilds the same certificate.
        let again = SigningKey::from_record(&rec).expect("parse again");
        assert_eq!(again.certificate_der(), key.certificate_der());
    }

    #[test]
    fn jwk_has_entra_shape() {
        let rec = generate_signing_key().expect("generate");
        let key = SigningKey::from_record(&rec).expect("parse");
        let jwk = key.jwk(Some("https://issuer.example/t/v2.0"));
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], jwk["x5t"]);
        assert_eq!(jwk["issuer"], "https://issuer.example/t/v2.0");
        let n = b64::url_decode(jwk["n"].as_str().expect("n")).expect("n b64");
        assert_eq!(n.len(), 256);
        let x5c = jwk["x5c"][0].as_str().expect("x5c");
        assert_eq!(b64::std_decode(x5c).expect("x5c b64"), key.certificate_der());
        assert!(key.jwk(None).get("issuer").is_none());
        // Debug never shows key material.
        let dbg = format!("{key:?}");
        assert!(dbg.contains(&rec.kid) && !dbg.contains(key.n.as_str()));
    }

    #[test]
    fn garbage_key_is_refused() {
        let rec = SigningKeyRecord {
            kid: "x".into(),
            private_pkcs8: vec![1, 2, 3],
            created_at: "2024-01-01T00:00:00Z".into(),
            status: STATUS_ACTIVE.into(),
            retired_at: None,
        };
        assert!(matches!(SigningKey::from_record(&rec), Err(IdentityError::InvalidKey { .. })));
    }
}
