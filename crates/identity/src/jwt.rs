//! Compact JWS with RS256: signing, verification, claim checks and a cache of validated
//! tokens.
//!
//! Only RS256 is accepted. The `alg` header is checked against that one value before any key is
//! touched, so `none`, `HS256` (the classic "public key as HMAC secret" confusion) and every
//! other algorithm are refused outright. Signatures are checked by aws-lc; nothing here
//! compares signature bytes itself.
//!
//! STACK.md measured one RSA-2048 verify (~13 µs) at more than a whole static request (~9 µs),
//! so [`Verifier::verify`] keeps a bounded cache of tokens it has already validated: a hot
//! bearer route pays one SHA-256 and a hash-map lookup instead of an RSA verify.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{self, ParsedPublicKey};
use serde_json::{Map, Value};

use crate::b64;
use crate::keys::SigningKey;
use crate::{IdentityError, Result};

/// Tokens longer than this are refused before any decoding (Entra's tokens are 1–3 KiB; a
/// huge token is an attack on the decoder or the cache).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Clock skew tolerated on `exp` and `nbf`, as Microsoft's validation libraries do.
pub const DEFAULT_LEEWAY_SECS: i64 = 300;

/// Default number of validated tokens a [`Verifier`] remembers.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// Why a token was refused. Front-ends map every variant to 401 `invalid_token`; the variant
/// is for logs and for the error description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is larger than {MAX_TOKEN_LEN} bytes")]
    TooLarge,
    #[error("the token is not a well-formed compact JWS")]
    Malformed,
    #[error("the signing algorithm '{0}' is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("the token names an unknown signing key")]
    UnknownKey,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's audience is not accepted")]
    InvalidAudience,
    #[error("the token's issuer is not accepted")]
    InvalidIssuer,
    #[error("the token belongs to another tenant")]
    InvalidTenant,
    #[error("the token lacks the '{0}' claim")]
    MissingClaim(&'static str),
    /// Made by the emulator's token forge ([`FORGED_HEADER`]): valid for a client's own
    /// validator, never for Cerulean's.
    #[error("the token was made by the emulator's token forge")]
    Forged,
}

/// The JOSE header parameter every token of the emulator's token forge carries
/// (`"cerulean_forged": true`). It sits in the header rather than among the claims because no
/// issuance path lets anyone shape a header (each is pre-encoded from the key), while claims
/// mapping policies and the forge's own `claims` can put any name in a payload: so no real
/// token can carry it, and no forged token can lose it. Clients' validators ignore a header
/// parameter they do not know (RFC 7515 §4: only `crit` ones must be understood).
pub const FORGED_HEADER: &str = "cerulean_forged";

/// Which header a token carries. Entra's v1 access tokens carry `x5t` next to `kid`; v2
/// tokens carry only `kid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderStyle {
    KidAndX5t,
    KidOnly,
}

/// Signs claim sets with one [`SigningKey`]. Cheap to clone; signing runs on the caller's
/// thread (STACK.md: `spawn_blocking` only adds latency on saturated cores).
#[derive(Debug, Clone)]
pub struct Signer {
    key: Arc<SigningKey>,
}

impl Signer {
    pub fn new(key: Arc<SigningKey>) -> Self {
        Signer { key }
    }

    pub fn key(&self) -> &Arc<SigningKey> {
        &self.key
    }

    /// `header.payload.signature`, with the header pre-encoded at key load.
    pub fn sign(&self, claims: &Map<String, Value>, style: HeaderStyle) -> Result<String> {
        let payload = serde_json::to_vec(claims).map_err(|e| IdentityError::InvalidRequest(format!("claims: {e}")))?;
        let header = self.key.header_segment(style == HeaderStyle::KidAndX5t);
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 350);
        token.push_str(header);
        token.push('.');
        token.push_str(&b64::url_encode(&payload));
        let signature = self.key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64::url_encode(&signature));
        Ok(token)
    }
}

/// What a token must say to be accepted. Empty lists accept any value (use them only where
/// another check covers the claim). Build once per resource and tenant, reuse per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimExpectations {
    /// Accepted `iss` values (exact match).
    pub issuers: Vec<String>,
    /// Accepted `aud` values; the token's `aud` (a string or a list) must hold one of them.
    pub audiences: Vec<String>,
    /// The tenant the token must belong to (`tid`, compared case-insensitively as a GUID).
    pub tenant_id: Option<String>,
    /// Skew tolerated on `exp` and `nbf`.
    pub leeway_secs: i64,
}

impl Default for ClaimExpectations {
    fn default() -> Self {
        ClaimExpectations {
            issuers: Vec::new(),
            audiences: Vec::new(),
            tenant_id: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }
}

fn numeric_claim(claims: &Map<String, Value>, name: &'static str) -> Option<Result<i64, JwtError>> {
    claims.get(name).map(|v| match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.floor() as i64)).ok_or(JwtError::Malformed),
        _ => Err(JwtError::Malformed),
    })
}

/// Checks `exp` (required), `nbf` (if present), `iss`, `aud` and `tid` against `expected` at
/// time `now` (Unix seconds). The signature must already have been verified.
pub fn validate_claims(claims: &Map<String, Value>, expected: &ClaimExpectations, now: i64) -> Result<(), JwtError> {
    let leeway = expected.leeway_secs.max(0);
    let exp = numeric_claim(claims, "exp").ok_or(JwtError::MissingClaim("exp"))??;
    if now >= exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = numeric_claim(claims, "nbf")
        && now.saturating_add(leeway) < nbf?
    {
        return Err(JwtError::NotYetValid);
    }
    if !expected.issuers.is_empty() {
        let iss = claims.get("iss").and_then(Value::as_str).ok_or(JwtError::MissingClaim("iss"))?;
        if !expected.issuers.iter().any(|i| i == iss) {
            return Err(JwtError::InvalidIssuer);
        }
    }
    if !expected.audiences.is_empty() {
        let accepted = |a: &str| expected.audiences.iter().any(|e| e == a);
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => accepted(a),
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(accepted),
            _ => return Err(JwtError::MissingClaim("aud")),
        };
        if !ok {
            return Err(JwtError::InvalidAudience);
        }
    }
    if let Some(tenant) = &expected.tenant_id {
        let tid = claims.get("tid").and_then(Value::as_str).ok_or(JwtError::MissingClaim("tid"))?;
        if !tid.eq_ignore_ascii_case(tenant) {
            return Err(JwtError::InvalidTenant);
        }
    }
    Ok(())
}

const CACHE_SHARDS: usize = 16;

struct CacheEntry {
    claims: Arc<Map<String, Value>>,
    /// The token's `exp`: the entry is dead from then on.
    expires_at: i64,
}

/// A bounded map of validated tokens (SHA-256 of the token -> claims, expiry).
///
/// Keys are digests, not the tokens, so an entry costs ~100 bytes plus its claims whatever the
/// token's size. The map is split into shards, each behind its own mutex, so concurrent
/// requests rarely contend. When a shard is full, expired entries are dropped first, then an
/// arbitrary one (`HashMap` iteration order is randomised per map).
pub struct TokenCache {
    shards: Vec<Mutex<HashMap<[u8; 32], CacheEntry>>>,
    per_shard: usize,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &(self.per_shard * self.shards.len()))
            .field("len", &self.len())
            .finish()
    }
}

impl TokenCache {
    /// A cache of about `capacity` entries (rounded up to a multiple of the shard count; 0
    /// disables caching).
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            shards: (0..CACHE_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(CACHE_SHARDS),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        key
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<HashMap<[u8; 32], CacheEntry>> {
        &self.shards[usize::from(key[0]) % CACHE_SHARDS]
    }

    /// The claims of a cached, unexpired token.
    pub fn get(&self, token: &str, now: i64) -> Option<Arc<Map<String, Value>>> {
        if self.per_shard == 0 {
            return None;
        }
        let key = Self::key(token);
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        match shard.get(&key) {
            Some(entry) if now < entry.expires_at => Some(entry.claims.clone()),
            Some(_) => {
                shard.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers a validated token until `expires_at` (its `exp`).
    pub fn insert(&self, token: &str, claims: Arc<Map<String, Value>>, expires_at: i64, now: i64) {
        if self.per_shard == 0 || expires_at <= now {
            return;
        }
        let key = Self::key(token);
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, e| now < e.expires_at);
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(key, CacheEntry { claims, expires_at });
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map(|m| m.len()).unwrap_or(0)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Verifies RS256 tokens against a set of public keys parsed once, by `kid`, with its own
/// [`TokenCache`]. One verifier per key set (per tenant): rebuilding it on key rotation also
/// starts a fresh cache, so no cached token outlives the key set that validated it.
#[derive(Debug)]
pub struct Verifier {
    keys: HashMap<String, ParsedPublicKey>,
    cache: TokenCache,
}

impl Verifier {
    pub fn new(cache_capacity: usize) -> Self {
        Verifier { keys: HashMap::new(), cache: TokenCache::new(cache_capacity) }
    }

    /// A verifier for our own keys.
    pub fn for_keys<'a>(keys: impl IntoIterator<Item = &'a SigningKey>, cache_capacity: usize) -> Self {
        let mut v = Verifier::new(cache_capacity);
        for key in keys {
            v.keys.insert(key.kid().to_owned(), key.public_key().clone());
        }
        v
    }

    /// Adds a key from its JWK components (big-endian `n` and `e`), e.g. a peer's JWKS.
    pub fn add_rsa_key(&mut self, kid: impl Into<String>, n: &[u8], e: &[u8]) -> Result<()> {
        let kid = kid.into();
        let parsed = PublicKeyComponents { n, e }
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
            .map_err(|err| IdentityError::InvalidKey { kid: kid.clone(), reason: err.to_string() })?;
        self.keys.insert(kid, parsed);
        Ok(())
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// Checks structure, `alg`, `kid` and signature, and returns the claims. Claim values
    /// are not checked: see [`validate_claims`] or [`Verifier::verify`].
    /// A token of the emulator's forge is refused ([`JwtError::Forged`]) once its signature
    /// verifies.
    pub fn verify_signature(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        match self.verify_parts(token)? {
            (_, true) => Err(JwtError::Forged),
            (claims, false) => Ok(claims),
        }
    }

    /// The claims of a token whose signature verifies, and whether its header carries
    /// [`FORGED_HEADER`].
    fn verify_parts(&self, token: &str) -> Result<(Map<String, Value>, bool), JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header_json = b64::url_decode(header_b64).ok_or(JwtError::Malformed)?;
        let header: Map<String, Value> = serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
        match header.get("alg") {
            Some(Value::String(alg)) if alg == "RS256" => {}
            Some(Value::String(alg)) => return Err(JwtError::UnsupportedAlgorithm(alg.clone())),
            _ => return Err(JwtError::Malformed),
        }
        // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
        if header.contains_key("crit") {
            return Err(JwtError::Malformed);
        }
        let kid = header.get("kid").and_then(Value::as_str).ok_or(JwtError::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(JwtError::UnknownKey)?;
        let signature = b64::url_decode(sig_b64).ok_or(JwtError::Malformed)?;
        let signed_len = header_b64.len() + 1 + payload_b64.len();
        key.verify_sig(&token.as_bytes()[..signed_len], &signature).map_err(|_| JwtError::BadSignature)?;
        let payload = b64::url_decode(payload_b64).ok_or(JwtError::Malformed)?;
        let claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
        Ok((claims, header.contains_key(FORGED_HEADER)))
    }

    /// Full validation through the cache: a cached token skips the RSA verify but its claims
    /// are still checked against `expected` and `now`, so one cache serves every route.
    pub fn verify(
        &self,
        token: &str,
        expected: &ClaimExpectations,
        now: i64,
    ) -> Result<Arc<Map<String, Value>>, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLarge);
        }
        if let Some(claims) = self.cache.get(token, now) {
            validate_claims(&claims, expected, now)?;
            return Ok(claims);
        }
        let (claims, forged) = self.verify_parts(token)?;
        validate_claims(&claims, expected, now)?;
        // Last: a forged token signed wrongly, expired or for another audience is refused as a
        // client's validator would refuse it; one that passes every check is refused for being
        // forged, so the forge cannot mint privileges Cerulean honours. Never cached.
        if forged {
            return Err(JwtError::Forged);
        }
        let exp = numeric_claim(&claims, "exp").and_then(|r| r.ok()).ok_or(JwtError::MissingClaim("exp"))?;
        let claims = Arc::new(claims);
        self.cache.insert(token, claims.clone(), exp, now);
        Ok(claims)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::keys::generate_signing_key;
    use serde_json::json;
    use std::sync::OnceLock;

    /// RSA key generation costs ~40 ms; share two keys across the tests.
    pub(crate) fn test_keys() -> &'static (Arc<SigningKey>, Arc<SigningKey>) {
        static KEYS: OnceLock<(Arc<SigningKey>, Arc<SigningKey>)> = OnceLock::new();
        KEYS.get_or_init(|| {
            let a = SigningKey::from_record(&generate_signing_key().expect("gen")).expect("parse");
            let b = SigningKey::from_record(&generate_signing_key().expect("gen")).expect("parse");
            (Arc::new(a), Arc::new(b))
        })
    }

    const NOW: i64 = 1_700_000_000;

    fn claims(exp: i64, nbf: i64) -> Map<String, Value> {
        json!({
            "aud": "https://graph.microsoft.com",
            "iss": "https://login.example/t1/",
            "tid": "6C3B0E5A-0000-4000-8000-000000000001",
            "nbf": nbf,
            "exp": exp,
            "roles": ["User.Read.All"],
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    fn expected() -> ClaimExpectations {
        ClaimExpectations {
            issuers: vec!["https://login.example/t1/".into()],
            audiences: vec!["00000003-0000-0000-c000-000000000000".into(), "https://graph.microsoft.com".into()],
            tenant_id: Some("6c3b0e5a-0000-4000-8000-000000000001".into()),
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }

    fn signer() -> Signer {
        Signer::new(test_keys().0.clone())
    }

    fn verifier() -> Verifier {
        Verifier::for_keys([test_keys().0.as_ref()], 64)
    }

    fn segment(token: &str, i: usize) -> Value {
        let part = token.split('.').nth(i).expect("segment");
        serde_json::from_slice(&b64::url_decode(part).expect("b64")).expect("json")
    }

    #[test]
    fn round_trip_and_headers() {
        let c = claims(NOW + 3600, NOW - 300);
        let token = signer().sign(&c, HeaderStyle::KidAndX5t).expect("sign");
        let header = segment(&token, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], test_keys().0.kid());
        assert_eq!(header["x5t"], test_keys().0.x5t());
        let v = verifier();
        assert_eq!(v.verify_signature(&token).expect("verify"), c);
        let got = v.verify(&token, &expected(), NOW).expect("validate");
        assert_eq!(*got, c);

        let v2 = signer().sign(&c, HeaderStyle::KidOnly).expect("sign");
        assert!(segment(&v2, 0).get("x5t").is_none());
        assert!(v.verify(&v2, &expected(), NOW).is_ok());
    }

    #[test]
    fn tampering_and_wrong_keys_are_refused() {
        let c = claims(NOW + 3600, NOW);
        let token = signer().sign(&c, HeaderStyle::KidAndX5t).expect("sign");
        let v = verifier();
        let parts: Vec<&str> = token.split('.').collect();

        // Tampered payload.
        let mut evil = c.clone();
        evil.insert("roles".into(), json!(["Directory.ReadWrite.All"]));
        let evil_payload = b64::url_encode(serde_json::to_vec(&evil).expect("json"));
        let forged = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
        assert_eq!(v.verify_signature(&forged), Err(JwtError::BadSignature));

        // Signed by another key that claims our kid.
        let other = Signer::new(test_keys().1.clone()).sign(&c, HeaderStyle::KidOnly).expect("sign");
        let other_parts: Vec<&str> = other.split('.').collect();
        let spoofed = format!("{}.{}.{}", parts[0], parts[1], other_parts[2]);
        assert_eq!(v.verify_signature(&spoofed), Err(JwtError::BadSignature));
        // Signed by a key this verifier does not know.
        assert_eq!(v.verify_signature(&other), Err(JwtError::UnknownKey));

        // alg none and HS256, with the kid of a real key.
        let kid = test_keys().0.kid();
        for alg in ["none", "HS256", "RS512", "PS256"] {
            let header = b64::url_encode(json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
            let t = format!("{header}.{}.{}", parts[1], parts[2]);
            assert_eq!(v.verify_signature(&t), Err(JwtError::UnsupportedAlgorithm(alg.into())));
            let t = format!("{header}.{}.", parts[1]);
            assert_eq!(v.verify_signature(&t), Err(JwtError::UnsupportedAlgorithm(alg.into())));
        }
        // Missing kid, crit header.
        let header = b64::url_encode(json!({"alg": "RS256"}).to_string());
        assert_eq!(v.verify_signature(&format!("{header}.{}.{}", parts[1], parts[2])), Err(JwtError::UnknownKey));
        let header = b64::url_encode(json!({"alg": "RS256", "kid": kid, "crit": ["x"]}).to_string());
        assert_eq!(v.verify_signature(&format!("{header}.{}.{}", parts[1], parts[2])), Err(JwtError::Malformed));

        // Malformed structure and base64.
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            &format!("{}.{}", parts[0], parts[1]),
            &format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
            &format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
            &format!("{}.{}.{}", parts[0], "%%%", parts[2]),
        ] {
            assert!(v.verify_signature(bad).is_err(), "accepted {bad:?}");
        }
        // Oversized.
        let huge = format!("{}.{}.{}", parts[0], "A".repeat(MAX_TOKEN_LEN), parts[2]);
        assert_eq!(v.verify_signature(&huge), Err(JwtError::TooLarge));
        assert_eq!(v.verify(&huge, &expected(), NOW), Err(JwtError::TooLarge));
    }

    #[test]
    fn claim_checks() {
        let e = expected();
        let ok = claims(NOW + 60, NOW);
        assert_eq!(validate_claims(&ok, &e, NOW), Ok(()));
        // Expired, but within the 5-minute skew, then beyond it.
        let old = claims(NOW - 100, NOW - 3700);
        assert_eq!(validate_claims(&old, &e, NOW), Ok(()));
        let older = claims(NOW - 301, NOW - 3700);
        assert_eq!(validate_claims(&older, &e, NOW), Err(JwtError::Expired));
        // nbf in the future beyond the skew.
        let early = claims(NOW + 3600, NOW + 301);
        assert_eq!(validate_claims(&early, &e, NOW), Err(JwtError::NotYetValid));
        let slightly_early = claims(NOW + 3600, NOW + 299);
        assert_eq!(validate_claims(&slightly_early, &e, NOW), Ok(()));
        // Wrong audience, issuer, tenant; aud as a list.
        let mut c = ok.clone();
        c.insert("aud".into(), json!("api://other"));
        assert_eq!(validate_claims(&c, &e, NOW), Err(JwtError::InvalidAudience));
        c.insert("aud".into(), json!(["api://other", "00000003-0000-0000-c000-000000000000"]));
        assert_eq!(validate_claims(&c, &e, NOW), Ok(()));
        let mut c = ok.clone();
        c.insert("iss".into(), json!("https://evil.example/"));
        assert_eq!(validate_claims(&c, &e, NOW), Err(JwtError::InvalidIssuer));
        let mut c = ok.clone();
        c.insert("tid".into(), json!("00000000-0000-0000-0000-000000000002"));
        assert_eq!(validate_claims(&c, &e, NOW), Err(JwtError::InvalidTenant));
        let mut c = ok.clone();
        c.remove("exp");
        assert_eq!(validate_claims(&c, &e, NOW), Err(JwtError::MissingClaim("exp")));
        let mut c = ok;
        c.insert("exp".into(), json!("soon"));
        assert_eq!(validate_claims(&c, &e, NOW), Err(JwtError::Malformed));
    }

    #[test]
    fn verify_refuses_expired_and_early_tokens() {
        let v = verifier();
        let expired = signer().sign(&claims(NOW - 400, NOW - 4000), HeaderStyle::KidOnly).expect("sign");
        assert_eq!(v.verify(&expired, &expected(), NOW), Err(JwtError::Expired));
        let early = signer().sign(&claims(NOW + 4000, NOW + 400), HeaderStyle::KidOnly).expect("sign");
        assert_eq!(v.verify(&early, &expected(), NOW), Err(JwtError::NotYetValid));
        assert!(v.cache().is_empty(), "refused tokens are never cached");
    }

    #[test]
    fn cache_hits_and_expires() {
        let v = verifier();
        let exp = NOW + 600;
        let token = signer().sign(&claims(exp, NOW), HeaderStyle::KidOnly).expect("sign");
        let first = v.verify(&token, &expected(), NOW).expect("first");
        assert_eq!(v.cache().len(), 1);
        let second = v.verify(&token, &expected(), NOW + 1).expect("second");
        assert!(Arc::ptr_eq(&first, &second), "served from the cache");
        // A cache hit still checks the claims for this route.
        let mut other_route = expected();
        other_route.audiences = vec!["api://other".into()];
        assert_eq!(v.verify(&token, &other_route, NOW), Err(JwtError::InvalidAudience));
        // The entry dies with the token.
        assert!(v.cache().get(&token, exp).is_none());
        assert!(v.cache().is_empty());
        // Past exp (inside the leeway) the token is verified afresh, and not re-cached.
        let third = v.verify(&token, &expected(), exp + 10).expect("within skew");
        assert!(!Arc::ptr_eq(&first, &third));
        assert!(v.cache().is_empty());
    }

    #[test]
    fn cache_is_bounded() {
        let cache = TokenCache::new(32);
        let claims = Arc::new(Map::new());
        for i in 0..1000 {
            cache.insert(&format!("token-{i}"), claims.clone(), NOW + 10, NOW);
        }
        assert!(cache.len() <= 32, "len {}", cache.len());
        assert!(cache.get("token-999", NOW).is_some(), "the newest entry is kept");
        // Expired entries make room first.
        let cache = TokenCache::new(16);
        for i in 0..16 {
            cache.insert(&format!("old-{i}"), claims.clone(), NOW + 1, NOW);
        }
        cache.insert("fresh", claims.clone(), NOW + 100, NOW + 5);
        assert!(cache.get("fresh", NOW + 5).is_some());
        let disabled = TokenCache::new(0);
        disabled.insert("t", claims, NOW + 10, NOW);
        assert!(disabled.get("t", NOW).is_none());
    }

    #[test]
    fn peer_keys_from_jwk_components() {
        let key = &test_keys().1;
        let jwk = key.jwk(None);
        let n = b64::url_decode(jwk["n"].as_str().expect("n")).expect("n");
        let e = b64::url_decode(jwk["e"].as_str().expect("e")).expect("e");
        let mut v = Verifier::new(0);
        v.add_rsa_key(key.kid(), &n, &e).expect("add");
        let token = Signer::new(key.clone()).sign(&claims(NOW + 60, NOW), HeaderStyle::KidOnly).expect("sign");
        assert!(v.verify(&token, &expected(), NOW).is_ok());
        assert!(v.add_rsa_key("bad", &[0, 1], &e).is_err());
    }
}
