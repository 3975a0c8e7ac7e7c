//! Client assertions (RFC 7523 `private_key_jwt`): a JWT the client signs with the private
//! key of a certificate registered in its application's `keyCredentials`. This module parses
//! the assertion and checks its signature against a certificate; which certificate, and the
//! claim rules with their AADSTS codes, are the token endpoint's.
//!
//! Accepted algorithms are RS256 and PS256, the two Entra documents for certificate
//! credentials; `none`, HMAC and everything else are refused before any key is used.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use serde_json::{Map, Value};

use crate::b64;

/// Assertions longer than this are refused before decoding.
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// A decoded, not yet verified assertion.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub alg: String,
    /// SHA-1 thumbprint from the `x5t` header, if any.
    pub x5t: Option<Vec<u8>>,
    /// SHA-256 thumbprint from the `x5t#S256` header, if any.
    pub x5t_s256: Option<Vec<u8>>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Why an assertion is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionError {
    /// Not a compact JWS with JSON header and claims.
    Malformed,
    /// An algorithm other than RS256/PS256.
    Algorithm(String),
    /// The certificate does not hold an RSA key this verifier can use.
    UnusableKey,
    /// The signature does not verify with the certificate's key.
    BadSignature,
}

impl Assertion {
    pub fn parse(token: &str) -> Result<Assertion, AssertionError> {
        if token.len() > MAX_ASSERTION_LEN {
            return Err(AssertionError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(AssertionError::Malformed);
        };
        let json = |seg: &str| -> Result<Map<String, Value>, AssertionError> {
            let bytes = b64::url_decode(seg.trim_end_matches('=')).ok_or(AssertionError::Malformed)?;
            serde_json::from_slice(&bytes).map_err(|_| AssertionError::Malformed)
        };
        let header = json(h)?;
        let claims = json(p)?;
        let signature = b64::url_decode(s.trim_end_matches('=')).ok_or(AssertionError::Malformed)?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default().to_string();
        let thumb = |name: &str| {
            header.get(name).and_then(Value::as_str).and_then(|t| b64::url_decode(t.trim_end_matches('=')))
        };
        Ok(Assertion {
            alg,
            x5t: thumb("x5t"),
            x5t_s256: thumb("x5t#S256"),
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// Whether the header's thumbprint names the certificate `der`.
    pub fn names(&self, der: &[u8]) -> bool {
        let sha1 = || digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der);
        let sha256 = || digest::digest(&digest::SHA256, der);
        self.x5t_s256.as_deref().is_some_and(|t| t == sha256().as_ref())
            || self.x5t.as_deref().is_some_and(|t| t == sha1().as_ref())
    }

    /// The thumbprint the client named, upper-case hex as Entra prints it in errors.
    pub fn thumbprint_hex(&self) -> String {
        self.x5t
            .as_deref()
            .or(self.x5t_s256.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// Verifies the signature with the public key of the certificate `der`.
    pub fn verify_with_certificate(&self, der: &[u8]) -> Result<(), AssertionError> {
        let algorithm: &'static dyn signature::VerificationAlgorithm = match self.alg.as_str() {
            "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
            "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
            other => return Err(AssertionError::Algorithm(other.to_string())),
        };
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| AssertionError::UnusableKey)?;
        // For RSA the subject public key bits are the PKCS#1 RSAPublicKey the verifier takes.
        let key = cert.public_key().subject_public_key.data.as_ref();
        UnparsedPublicKey::new(algorithm, key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| AssertionError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::KeySize;

    fn signed(alg: &str, key: &aws_lc_rs::rsa::KeyPair, der: &[u8], claims: &str) -> String {
        let x5t = b64::url_encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref());
        let header = b64::url_encode(format!(r#"{{"alg":"{alg}","typ":"JWT","x5t":"{x5t}"}}"#));
        let input = format!("{header}.{}", b64::url_encode(claims));
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match alg {
            "PS256" => &signature::RSA_PSS_SHA256,
            _ => &signature::RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(padding, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut sig).expect("sign");
        format!("{input}.{}", b64::url_encode(sig))
    }

    #[test]
    fn rs256_and_ps256_verify_and_tampering_fails() {
        let key = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).expect("key");
        let pkcs8 = key.as_der().expect("pkcs8");
        let kp = rcgen::KeyPair::try_from(pkcs8.as_ref()).expect("rcgen key");
        let cert = rcgen::CertificateParams::new(vec!["app".into()]).expect("params").self_signed(&kp).expect("cert");
        let der = cert.der().to_vec();
        for alg in ["RS256", "PS256"] {
            let token = signed(alg, &key, &der, r#"{"iss":"a"}"#);
            let a = Assertion::parse(&token).expect("parse");
            assert!(a.names(&der));
            assert_eq!(a.verify_with_certificate(&der), Ok(()));
            let tampered = token.replacen(&token[token.find('.').map(|i| i + 1).unwrap_or(0)..][..4], "AAAA", 1);
            if let Ok(t) = Assertion::parse(&tampered) {
                assert!(t.verify_with_certificate(&der).is_err());
            }
        }
        let mut none = Assertion::parse(&signed("RS256", &key, &der, "{}")).expect("parse");
        none.alg = "none".into();
        assert_eq!(none.verify_with_certificate(&der), Err(AssertionError::Algorithm("none".into())));
        assert!(Assertion::parse("a.b").is_err());
    }
}
