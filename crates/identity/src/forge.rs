//! The emulator's token forge: tokens with whatever claims a test asks for, signed properly by
//! the tenant's active key or deliberately wrong, so that a client's token validator can be
//! tested against each failure it must catch. Every forged token carries the
//! [`FORGED_HEADER`] header parameter, and Cerulean's own validators refuse it: the forge tests
//! clients, it never grants anything on Cerulean itself. Only reachable through
//! `POST /cerulean/emulator/tokens`, which exists when the server runs with `--emulator-aids`.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::jwt::FORGED_HEADER;
use crate::keys::{SigningKey, generate_signing_key};
use crate::tokens::TokenIssuer;
use crate::{Result, b64};

/// How a forged token is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgedSignature {
    /// RS256 by the tenant's active key: a token the tenant's JWKS verifies.
    Valid,
    /// RS256 by a throw-away key that is published nowhere, under the active key's `kid`: the
    /// key is found and the signature does not verify.
    WrongKey,
    /// The active key's signature with its bytes altered.
    Corrupted,
    /// `alg: none` and an empty signature (RFC 7519 §6, an "unsecured JWT").
    None,
}

impl ForgedSignature {
    /// The wire names (`valid`, `wrongKey`, `corrupted`, `none`).
    pub fn parse(name: &str) -> Option<ForgedSignature> {
        match name {
            "valid" => Some(ForgedSignature::Valid),
            "wrongKey" => Some(ForgedSignature::WrongKey),
            "corrupted" => Some(ForgedSignature::Corrupted),
            "none" => Some(ForgedSignature::None),
            _ => None,
        }
    }
}

impl TokenIssuer {
    /// A JWS over `claims` as `signature` says, with the tenant's active key's `kid` and `x5t`
    /// in its header (except for `alg: none`, which names no key).
    pub async fn forge(&self, tenant: Uuid, claims: &Map<String, Value>, signature: ForgedSignature) -> Result<String> {
        let ring = self.tenant_keys(tenant).await?;
        let key = ring.signer().key();
        // Every forged token is marked in its header, which the caller cannot shape: Cerulean's
        // own validators refuse it (`JwtError::Forged`), clients' validators see a normal token.
        let header = match signature {
            ForgedSignature::None => json!({ "typ": "JWT", "alg": "none", FORGED_HEADER: true }),
            _ => json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid(), "x5t": key.x5t(), FORGED_HEADER: true }),
        };
        let encode = |v: &Value| {
            serde_json::to_vec(v)
                .map(b64::url_encode)
                .map_err(|e| crate::IdentityError::InvalidRequest(format!("claims: {e}")))
        };
        let mut token = format!("{}.{}", encode(&header)?, encode(&Value::Object(claims.clone()))?);
        let sig = match signature {
            ForgedSignature::None => Vec::new(),
            ForgedSignature::Valid => key.sign(token.as_bytes())?,
            ForgedSignature::WrongKey => SigningKey::from_record(&generate_signing_key()?)?.sign(token.as_bytes())?,
            ForgedSignature::Corrupted => {
                let mut sig = key.sign(token.as_bytes())?;
                for byte in sig.iter_mut().take(8) {
                    *byte ^= 0x5a;
                }
                sig
            }
        };
        token.push('.');
        token.push_str(&b64::url_encode(&sig));
        Ok(token)
    }
}
