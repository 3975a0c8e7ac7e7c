//! Proof of possession for Graph's `addKey` / `removeKey` ("application: addKey",
//! "Generate proof-of-possession tokens for rolling keys"): a JWT the application signs with
//! the private key of one of its current certificates, so that only a holder of an existing
//! key can add or remove keys without an administrator.
//!
//! The rules Microsoft documents: `aud` is `00000002-0000-0000-c000-000000000000`, `iss` the
//! object id of the application (or service principal) being changed, `nbf` and `exp` present
//! with a lifetime (`exp - nbf`) of at most 10 minutes, the signature by a certificate the
//! object holds that has not expired. RS256 and PS256, as for client assertions. Which
//! certificates are current is the caller's to decide; this module checks the token.

use serde_json::Value;

use crate::client_assertion::{Assertion, AssertionError};

/// The audience of a proof token (the Azure AD Graph application id, as Microsoft specifies).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// The longest lifetime (`exp - nbf`) of a proof token.
pub const MAX_PROOF_LIFETIME_SECS: i64 = 600;
/// Clock skew tolerated on `nbf` and `exp`.
const SKEW_SECS: i64 = 300;

/// Why a proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof is not a signed JWT")]
    Malformed,
    #[error("the proof's signing algorithm '{0}' is not supported")]
    Algorithm(String),
    #[error("the proof is not signed by a current certificate of the object")]
    Signature,
    #[error("the proof's 'aud' claim must be {PROOF_AUDIENCE}")]
    Audience,
    #[error("the proof's 'iss' claim must be the object id of the application")]
    Issuer,
    #[error("the proof needs 'nbf' and 'exp' at most 10 minutes apart")]
    Lifetime,
    #[error("the proof is not within its validity period")]
    Expired,
}

/// Checks `token` as a proof for the object `object_id`, signed by one of `certificates`
/// (DER). When the header names a certificate (`x5t`, `x5t#S256`) only that one is tried.
pub fn verify_proof(token: &str, object_id: &str, certificates: &[Vec<u8>], now: i64) -> Result<(), ProofError> {
    let assertion = Assertion::parse(token.trim()).map_err(|_| ProofError::Malformed)?;
    if !matches!(assertion.alg.as_str(), "RS256" | "PS256") {
        return Err(ProofError::Algorithm(assertion.alg.clone()));
    }
    let named = assertion.x5t.is_some() || assertion.x5t_s256.is_some();
    let mut verified = false;
    for der in certificates.iter().filter(|der| !named || assertion.names(der)) {
        match assertion.verify_with_certificate(der) {
            Ok(()) => {
                verified = true;
                break;
            }
            Err(AssertionError::Algorithm(a)) => return Err(ProofError::Algorithm(a)),
            Err(_) => {}
        }
    }
    if !verified {
        return Err(ProofError::Signature);
    }
    let text = |name: &str| assertion.claims.get(name).and_then(Value::as_str);
    let audience_ok = match assertion.claims.get("aud") {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(PROOF_AUDIENCE),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(|s| s.eq_ignore_ascii_case(PROOF_AUDIENCE)),
        _ => false,
    };
    if !audience_ok {
        return Err(ProofError::Audience);
    }
    if !text("iss").is_some_and(|iss| iss.eq_ignore_ascii_case(object_id)) {
        return Err(ProofError::Issuer);
    }
    let number = |name: &str| assertion.claims.get(name).and_then(Value::as_f64).map(|f| f as i64);
    let (Some(nbf), Some(exp)) = (number("nbf"), number("exp")) else {
        return Err(ProofError::Lifetime);
    };
    if exp <= nbf || exp - nbf > MAX_PROOF_LIFETIME_SECS {
        return Err(ProofError::Lifetime);
    }
    if now < nbf - SKEW_SECS || now >= exp + SKEW_SECS {
        return Err(ProofError::Expired);
    }
    Ok(())
}
