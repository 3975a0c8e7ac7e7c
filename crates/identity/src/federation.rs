//! Workload identity federation: the signing keys of an external OpenID Connect issuer (a
//! GitHub Actions, Kubernetes or another Entra tenant's token service), fetched from its
//! discovery document (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) and cached.
//!
//! The fetch is an outbound request a token request triggers, so it is fenced in: HTTPS only
//! (rustls, the system's trust roots plus an optional extra CA file), a time limit on each
//! request, a cap on each body, no redirects, and a cache with a TTL so a busy token endpoint
//! does not hammer the issuer. Which issuers may be fetched at all is the token endpoint's
//! decision (only issuers registered on a federated identity credential of the tenant).
//!
//! The HTTP client is a minimal HTTP/1.1 GET over `tokio-rustls` (one request per connection,
//! `Connection: close`): enough for two small JSON documents, and nothing in it follows a
//! redirect or keeps a connection a peer could abuse.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::b64;
use crate::jwt::{JwtError, Verifier};

/// How long fetched keys are used before the issuer is asked again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
/// The time limit of one outbound request (connect, TLS, request and response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest discovery document or JWKS accepted.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;
/// A token naming a key the cached set lacks refetches the keys, at most this often (the
/// issuer rotated its keys).
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// Where the system's trust roots usually are (Debian/Ubuntu, RHEL/Fedora, Alpine/macOS).
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// Why an issuer's keys could not be had, or a token did not verify with them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    #[error("the URL '{0}' is not an https URL")]
    NotHttps(String),
    #[error("the request to {0} failed: {1}")]
    Fetch(String, String),
    #[error("{0} answered with a redirect, which is not followed")]
    Redirect(String),
    #[error("{0} answered with status {1}")]
    Status(String, u16),
    #[error("the response from {0} is larger than {1} bytes")]
    TooLarge(String, usize),
    #[error("the request to {0} timed out")]
    Timeout(String),
    #[error("the document from {0} is not what was expected: {1}")]
    BadDocument(String, String),
    #[error(transparent)]
    Token(#[from] JwtError),
    #[error("the trust roots could not be loaded: {0}")]
    TrustRoots(String),
}

/// Limits and trust of the outbound requests.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    pub ttl: Duration,
    pub timeout: Duration,
    pub max_body: usize,
    /// PEM certificates trusted in addition to the system's (a private issuer's CA; tests).
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig { ttl: DEFAULT_TTL, timeout: DEFAULT_TIMEOUT, max_body: DEFAULT_MAX_BODY, extra_ca_pem: None }
    }
}

impl FederationConfig {
    /// The default limits with the CA certificates of the PEM file `path` trusted too.
    pub fn with_ca_file(path: &Path) -> Result<FederationConfig, FederationError> {
        let pem = std::fs::read(path).map_err(|e| FederationError::TrustRoots(format!("{}: {e}", path.display())))?;
        Ok(FederationConfig { extra_ca_pem: Some(pem), ..FederationConfig::default() })
    }
}

struct Cached {
    fetched: Instant,
    verifier: Arc<Verifier>,
}

/// The keys of external issuers, fetched on demand and cached per issuer.
pub struct IssuerKeys {
    config: FederationConfig,
    tls: Arc<rustls::ClientConfig>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys").field("config", &self.config).finish_non_exhaustive()
    }
}

impl IssuerKeys {
    /// Keys fetched with the default limits, trusting the system's roots only.
    pub fn system() -> IssuerKeys {
        let config = FederationConfig::default();
        let tls = rustls::ClientConfig::builder().with_root_certificates(system_roots()).with_no_client_auth();
        IssuerKeys { config, tls: Arc::new(tls), cache: Mutex::new(HashMap::new()) }
    }

    pub fn new(config: FederationConfig) -> Result<IssuerKeys, FederationError> {
        let mut roots = system_roots();
        if let Some(pem) = &config.extra_ca_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| FederationError::TrustRoots(e.to_string()))?;
                roots.add(cert).map_err(|e| FederationError::TrustRoots(e.to_string()))?;
                added += 1;
            }
            if added == 0 {
                return Err(FederationError::TrustRoots("the CA file holds no certificate".into()));
            }
        }
        let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        Ok(IssuerKeys { config, tls: Arc::new(tls), cache: Mutex::new(HashMap::new()) })
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
        let max_age = if refetch { REFETCH_AFTER } else { self.config.ttl };
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

    /// GETs `url` and parses the body as a JSON object, within the configured limits.
    /// Fetches `url` (HTTPS only) within the bounds discovery documents have: the time limit,
    /// the body cap, no redirects. Request objects by reference (`request_uri`) use it.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, FederationError> {
        tokio::time::timeout(self.config.timeout, self.get(url))
            .await
            .map_err(|_| FederationError::Timeout(url.to_string()))?
    }

    async fn get_json(&self, url: &str) -> Result<Value, FederationError> {
        let body = tokio::time::timeout(self.config.timeout, self.get(url))
            .await
            .map_err(|_| FederationError::Timeout(url.to_string()))??;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| FederationError::BadDocument(url.to_string(), format!("not JSON: {e}")))?;
        if !value.is_object() {
            return Err(FederationError::BadDocument(url.to_string(), "not a JSON object".into()));
        }
        Ok(value)
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, FederationError> {
        let fetch = |e: &dyn std::fmt::Display| FederationError::Fetch(url.to_string(), e.to_string());
        let target = HttpsUrl::parse(url)?;
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port)).await.map_err(|e| fetch(&e))?;
        let name = ServerName::try_from(target.host.clone()).map_err(|e| fetch(&e))?;
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let mut tls = connector.connect(name, tcp).await.map_err(|e| fetch(&e))?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: cerulean\r\nConnection: close\r\n\r\n",
            target.path, target.authority
        );
        tls.write_all(request.as_bytes()).await.map_err(|e| fetch(&e))?;
        // Headers and body together may not exceed the cap plus room for the headers.
        let limit = self.config.max_body + 16 * 1024;
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = match tls.read(&mut chunk).await {
                Ok(n) => n,
                // Peers that close without close_notify: what arrived is what was sent.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(fetch(&e)),
            };
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
            if raw.len() > limit {
                return Err(FederationError::TooLarge(url.to_string(), self.config.max_body));
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&raw) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => return Err(fetch(&"the response is not HTTP/1.1")),
        };
        let status = response.code.unwrap_or(0);
        if (300..400).contains(&status) {
            return Err(FederationError::Redirect(url.to_string()));
        }
        if status != 200 {
            return Err(FederationError::Status(url.to_string(), status));
        }
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .map(str::trim)
        };
        let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
        let rest = &raw[head_len..];
        let body = if chunked {
            dechunk(rest).ok_or_else(|| fetch(&"malformed chunked body"))?
        } else if let Some(length) = length {
            rest.get(..length).ok_or_else(|| fetch(&"the body is shorter than its Content-Length"))?.to_vec()
        } else {
            rest.to_vec()
        };
        if body.len() > self.config.max_body {
            return Err(FederationError::TooLarge(url.to_string(), self.config.max_body));
        }
        Ok(body)
    }
}

/// The system's trust roots: `SSL_CERT_FILE`, else the first bundle of [`SYSTEM_BUNDLES`]
/// that exists (none found is an empty store: only an extra CA is trusted then).
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(SYSTEM_BUNDLES.iter().map(std::path::PathBuf::from))
        .find(|p| p.is_file());
    if let Some(path) = system
        && let Ok(pem) = std::fs::read(&path)
    {
        for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
            // A bundle may hold certificates rustls cannot use; the rest still count.
            let _ = roots.add(cert);
        }
    }
    roots
}

/// The parts of an `https://host[:port]/path` URL the client needs.
struct HttpsUrl {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

impl HttpsUrl {
    fn parse(url: &str) -> Result<HttpsUrl, FederationError> {
        let not_https = || FederationError::NotHttps(url.to_string());
        let rest = url.strip_prefix("https://").ok_or_else(not_https)?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
        if authority.is_empty() || authority.contains('@') || path.contains(['\r', '\n', ' ', '#']) {
            return Err(not_https());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(not_https)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| not_https())?,
                None if after.is_empty() => 443,
                None => return Err(not_https()),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| not_https())?),
                None => (authority.to_string(), 443),
            }
        };
        Ok(HttpsUrl { host, port, authority: authority.to_string(), path })
    }
}

/// The body of a `Transfer-Encoding: chunked` message; `None` if malformed or incomplete.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_only_https_is_accepted() {
        let u = HttpsUrl::parse("https://127.0.0.1:8443/a/b?x=1").expect("url");
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("127.0.0.1", 8443, "/a/b?x=1"));
        let u = HttpsUrl::parse("https://token.actions.githubusercontent.com").expect("url");
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        let u = HttpsUrl::parse("https://[::1]:9/k").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        for bad in ["http://x/", "https://user@x/", "https://x:port/", "ftp://x", "https:///p", "https://x/a b"] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").as_deref(), Some(&b"abcde"[..]));
        assert_eq!(dechunk(b"5\r\nab"), None);
        assert_eq!(dechunk(b"zz\r\n"), None);
    }
}
