//! Workload identity federation: the signing keys of an external OpenID Connect issuer (a
//! GitHub Actions, Kubernetes or another Entra tenant's token service), fetched from its
//! discovery document (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) and cached.
//!
//! The fetch is an outbound request a token request triggers, so it goes through the fenced
//! client of [`crate::outbound`] (HTTPS only, time and size bounds, no redirects, no private
//! address unless the operator allows it), and the keys are cached with a TTL so a busy token
//! endpoint does not hammer the issuer. Which issuers may be fetched at all is the token
//! endpoint's decision (only issuers registered on a federated identity credential of the
//! tenant).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::b64;
use crate::jwt::{JwtError, Verifier};
use crate::outbound::{FetchError, FetchPolicy, Fetcher};

/// How long fetched keys are used before the issuer is asked again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// A token naming a key the cached set lacks refetches the keys, at most this often (the
/// issuer rotated its keys).
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// Why an issuer's keys could not be had, or a token did not verify with them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the document from {0} is not what was expected: {1}")]
    BadDocument(String, String),
    #[error(transparent)]
    Token(#[from] JwtError),
}

/// How long keys are cached, and the policy of the outbound requests that fetch them.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    pub ttl: Duration,
    pub fetch: FetchPolicy,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig { ttl: DEFAULT_TTL, fetch: FetchPolicy::default() }
    }
}

impl FederationConfig {
    /// The default limits with the CA certificates of the PEM file `path` trusted too.
    pub fn with_ca_file(path: &Path) -> Result<FederationConfig, FederationError> {
        Ok(FederationConfig { fetch: FetchPolicy::with_ca_file(path)?, ..FederationConfig::default() })
    }
}

struct Cached {
    fetched: Instant,
    verifier: Arc<Verifier>,
}

/// The keys of external issuers, fetched on demand and cached per issuer.
pub struct IssuerKeys {
    ttl: Duration,
    fetcher: Fetcher,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys").field("ttl", &self.ttl).field("fetcher", &self.fetcher).finish_non_exhaustive()
    }
}

impl IssuerKeys {
    /// Keys fetched with the default limits, trusting the system's roots only, never from a
    /// private address.
    pub fn system() -> IssuerKeys {
        IssuerKeys { ttl: DEFAULT_TTL, fetcher: Fetcher::system(), cache: Mutex::new(HashMap::new()) }
    }

    pub fn new(config: FederationConfig) -> Result<IssuerKeys, FederationError> {
        Ok(IssuerKeys { ttl: config.ttl, fetcher: Fetcher::new(config.fetch)?, cache: Mutex::new(HashMap::new()) })
    }

    /// The outbound client the keys are fetched with, shared with the other fetches of the
    /// same policy (request objects by reference).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// Verifies the signature of `token` with the keys `issuer` publishes and returns its
    /// claims (claim values are the caller's to check).
    pub async fn verify(&self, issuer: &str, token: &str) -> Result<Map<String, Value>, FederationError> {
        let (verifier, fresh) = self.verifier(issuer, false).await?;
        match verifier.verify_signature(token) {
            Err(JwtError::UnknownKey) if !fresh => {
                let (verifier, _) = self.verifier(issuer, true).await?;
                Ok(verifier.verify_signature(token)?)
            }
            other => Ok(other?),
        }
    }

    /// The cached key set of `issuer`, fetched when absent or older than the TTL (or, with
    /// `refetch`, older than [`REFETCH_AFTER`]). The flag says whether it was just fetched.
    async fn verifier(&self, issuer: &str, refetch: bool) -> Result<(Arc<Verifier>, bool), FederationError> {
        let max_age = if refetch { REFETCH_AFTER } else { self.ttl };
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(issuer)
            && c.fetched.elapsed() < max_age
        {
            return Ok((c.verifier.clone(), false));
        }
        let verifier = Arc::new(self.fetch_keys(issuer).await?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(issuer.to_string(), Cached { fetched: Instant::now(), verifier: verifier.clone() });
        }
        Ok((verifier, true))
    }

    async fn fetch_keys(&self, issuer: &str) -> Result<Verifier, FederationError> {
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let discovery = self.get_json(&discovery_url).await?;
        let named = discovery.get("issuer").and_then(Value::as_str).unwrap_or_default();
        if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(FederationError::BadDocument(
                discovery_url,
                format!("it names the issuer '{named}', not '{issuer}'"),
            ));
        }
        let Some(jwks_uri) = discovery.get("jwks_uri").and_then(Value::as_str) else {
            return Err(FederationError::BadDocument(discovery_url, "it has no jwks_uri".into()));
        };
        let jwks = self.get_json(jwks_uri).await?;
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| FederationError::BadDocument(jwks_uri.to_string(), "it has no 'keys' array".into()))?;
        let mut verifier = Verifier::new(1024);
        for key in keys {
            let text = |k: &str| key.get(k).and_then(Value::as_str);
            if text("kty") != Some("RSA") || text("use").is_some_and(|u| u != "sig") {
                continue;
            }
            let (Some(kid), Some(n), Some(e)) = (text("kid"), text("n"), text("e")) else { continue };
            let (Some(n), Some(e)) = (b64::url_decode(n), b64::url_decode(e)) else { continue };
            // A key this verifier cannot use (too short, malformed) is skipped, not fatal.
            let _ = verifier.add_rsa_key(kid, &n, &e);
        }
        Ok(verifier)
    }

    /// GETs `url` and parses the body as a JSON object, within the fetcher's policy.
    async fn get_json(&self, url: &str) -> Result<Value, FederationError> {
        let body = self.fetcher.get(url).await?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| FederationError::BadDocument(url.to_string(), format!("not JSON: {e}")))?;
        if !value.is_object() {
            return Err(FederationError::BadDocument(url.to_string(), "not a JSON object".into()));
        }
        Ok(value)
    }
}
