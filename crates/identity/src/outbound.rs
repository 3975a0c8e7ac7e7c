//! The one HTTPS client for the outbound requests a caller's input makes the server send: a
//! workload identity federation issuer's discovery document and JWKS
//! ([`crate::federation`]) and an authorization request's `request_uri` (the platform's
//! request objects). Both URLs come from tenants' data or requests, so the fetch is fenced in:
//!
//! - HTTPS only (rustls, the system's trust roots plus an optional extra CA file);
//! - a time limit on each request, a cap on each body, no redirects;
//! - no private destination: the host is resolved once, every address it resolves to is
//!   judged by [`address::restriction`] (loopback, RFC 1918, link-local and the metadata
//!   endpoint, unique-local, CGNAT, ...), and the connection goes to an address that passed,
//!   never to the name again, so a second DNS answer cannot swap in a private address (DNS
//!   rebinding). An operator whose issuers live on a private network opts out
//!   (`serve --allow-private-fetch`; [`FetchPolicy::allow_private_addresses`]).
//!
//! The HTTP client is a minimal HTTP/1.1 GET over `tokio-rustls` (one request per connection,
//! `Connection: close`): enough for small JSON and JWT documents, and nothing in it follows a
//! redirect or keeps a connection a peer could abuse.

pub mod address;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use address::Restricted;

/// The time limit of one outbound request (resolution, connect, TLS, request and response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest document accepted.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;
/// The server option that lets outbound requests reach private addresses (named in refusals).
pub const ALLOW_PRIVATE_FLAG: &str = "--allow-private-fetch";

/// Where the system's trust roots usually are (Debian/Ubuntu, RHEL/Fedora, Alpine/macOS).
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL '{0}' is not an https URL")]
    NotHttps(String),
    #[error("the request to {0} failed: {1}")]
    Fetch(String, String),
    /// Every address the URL's host resolved to is private; nothing was connected to.
    #[error(
        "the host '{host}' of {url} resolves to {address}, {why}: requests to private addresses are refused (start the server with {ALLOW_PRIVATE_FLAG} to allow them)"
    )]
    PrivateAddress { url: String, host: String, address: IpAddr, why: Restricted },
    #[error("{0} answered with a redirect, which is not followed")]
    Redirect(String),
    #[error("{0} answered with status {1}")]
    Status(String, u16),
    #[error("the response from {0} is larger than {1} bytes")]
    TooLarge(String, usize),
    #[error("the request to {0} timed out")]
    Timeout(String),
    #[error("the trust roots could not be loaded: {0}")]
    TrustRoots(String),
}

/// Limits, trust and destinations of the outbound requests.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    pub timeout: Duration,
    pub max_body: usize,
    /// PEM certificates trusted in addition to the system's (a private issuer's CA; tests).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Let requests reach loopback, private and other non-public addresses (an issuer on the
    /// operator's own network; tests with loopback servers). Off by default.
    pub allow_private_addresses: bool,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            extra_ca_pem: None,
            allow_private_addresses: false,
        }
    }
}

impl FetchPolicy {
    /// The default policy with the CA certificates of the PEM file `path` trusted too.
    pub fn with_ca_file(path: &Path) -> Result<FetchPolicy, FetchError> {
        let pem = std::fs::read(path).map_err(|e| FetchError::TrustRoots(format!("{}: {e}", path.display())))?;
        Ok(FetchPolicy { extra_ca_pem: Some(pem), ..FetchPolicy::default() })
    }
}

/// The HTTPS client of outbound fetches (see the module docs).
pub struct Fetcher {
    policy: FetchPolicy,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher with the default policy: the system's roots, no private addresses.
    pub fn system() -> Fetcher {
        let tls = rustls::ClientConfig::builder().with_root_certificates(system_roots()).with_no_client_auth();
        Fetcher { policy: FetchPolicy::default(), tls: Arc::new(tls) }
    }

    pub fn new(policy: FetchPolicy) -> Result<Fetcher, FetchError> {
        let mut roots = system_roots();
        if let Some(pem) = &policy.extra_ca_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| FetchError::TrustRoots(e.to_string()))?;
                roots.add(cert).map_err(|e| FetchError::TrustRoots(e.to_string()))?;
                added += 1;
            }
            if added == 0 {
                return Err(FetchError::TrustRoots("the CA file holds no certificate".into()));
            }
        }
        let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        Ok(Fetcher { policy, tls: Arc::new(tls) })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// The body of `url` (HTTPS only) within the policy: the time limit, the body cap, no
    /// redirects, no private address unless allowed.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        tokio::time::timeout(self.policy.timeout, self.get_unbounded(url))
            .await
            .map_err(|_| FetchError::Timeout(url.to_string()))?
    }

    /// The addresses of `target` a connection may go to, resolved once: all of them when
    /// private addresses are allowed, else the public ones (none is a refusal).
    async fn destinations(&self, url: &str, target: &HttpsUrl) -> Result<Vec<SocketAddr>, FetchError> {
        let resolved: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, target.port)],
            Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
                .await
                .map_err(|e| FetchError::Fetch(url.to_string(), format!("the host '{}': {e}", target.host)))?
                .collect(),
        };
        if self.policy.allow_private_addresses {
            return Ok(resolved);
        }
        let mut refused = None;
        let public: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|a| match address::restriction(a.ip()) {
                Some(why) => {
                    refused.get_or_insert((a.ip(), why));
                    false
                }
                None => true,
            })
            .collect();
        match (public.is_empty(), refused) {
            (true, Some((address, why))) => {
                Err(FetchError::PrivateAddress { url: url.to_string(), host: target.host.clone(), address, why })
            }
            (true, None) => {
                Err(FetchError::Fetch(url.to_string(), format!("the host '{}' has no address", target.host)))
            }
            (false, _) => Ok(public),
        }
    }

    async fn get_unbounded(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let fetch = |e: &dyn std::fmt::Display| FetchError::Fetch(url.to_string(), e.to_string());
        let target = HttpsUrl::parse(url)?;
        let name = ServerName::try_from(target.host.clone()).map_err(|e| fetch(&e))?;
        // Connect to the checked addresses themselves: the name is not resolved again.
        let mut last = None;
        let mut tcp = None;
        for addr in self.destinations(url, &target).await? {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = match (tcp, last) {
            (Some(tcp), _) => tcp,
            (None, Some(e)) => return Err(fetch(&e)),
            (None, None) => return Err(fetch(&"no address to connect to")),
        };
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let mut tls = connector.connect(name, tcp).await.map_err(|e| fetch(&e))?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: cerulean\r\nConnection: close\r\n\r\n",
            target.path, target.authority
        );
        tls.write_all(request.as_bytes()).await.map_err(|e| fetch(&e))?;
        // Headers and body together may not exceed the cap plus room for the headers.
        let limit = self.policy.max_body + 16 * 1024;
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
                return Err(FetchError::TooLarge(url.to_string(), self.policy.max_body));
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
            return Err(FetchError::Redirect(url.to_string()));
        }
        if status != 200 {
            return Err(FetchError::Status(url.to_string(), status));
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
        if body.len() > self.policy.max_body {
            return Err(FetchError::TooLarge(url.to_string(), self.policy.max_body));
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
    fn parse(url: &str) -> Result<HttpsUrl, FetchError> {
        let not_https = || FetchError::NotHttps(url.to_string());
        let rest = url.strip_prefix("https://").ok_or_else(not_https)?;
        let (authority, path) = match rest.find(['/', '?']) {
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
        if host.is_empty() {
            return Err(not_https());
        }
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
        for bad in [
            "http://x/",
            "https://user@x/",
            "https://x:port/",
            "ftp://x",
            "https:///p",
            "https://x/a b",
            "https://:443/",
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").as_deref(), Some(&b"abcde"[..]));
        assert_eq!(dechunk(b"5\r\nab"), None);
        assert_eq!(dechunk(b"zz\r\n"), None);
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
    }

    /// Private destinations are refused before any connection: nothing listens on these
    /// ports, so only the guard can produce `PrivateAddress`.
    #[test]
    fn private_destinations_are_refused_before_connecting() {
        let fetcher = Fetcher::system();
        runtime().block_on(async {
            for (url, address, why) in [
                ("https://127.0.0.1:9/x", "127.0.0.1", Restricted::Loopback),
                ("https://[::1]:9/x", "::1", Restricted::Loopback),
                ("https://169.254.169.254/latest/meta-data/", "169.254.169.254", Restricted::LinkLocal),
                ("https://[::ffff:10.0.0.1]/", "10.0.0.1", Restricted::Private),
                ("https://localhost:9/x", "", Restricted::Loopback),
            ] {
                match fetcher.get(url).await {
                    Err(FetchError::PrivateAddress { address: got, why: got_why, .. }) => {
                        assert_eq!(got_why, why, "{url}");
                        if !address.is_empty() {
                            assert_eq!(address.parse::<IpAddr>().map(|a| a.to_canonical()), Ok(got.to_canonical()));
                        }
                    }
                    other => panic!("{url}: {other:?}"),
                }
            }
        });
    }

    /// With the opt-out, the same loopback URL is connected to (and fails only because
    /// nothing listens there).
    #[test]
    fn the_opt_out_lets_private_destinations_be_reached() {
        let policy = FetchPolicy { allow_private_addresses: true, ..FetchPolicy::default() };
        let fetcher = Fetcher::new(policy).expect("fetcher");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let r = runtime().block_on(fetcher.get(&format!("https://127.0.0.1:{port}/x")));
        assert!(matches!(r, Err(FetchError::Fetch(..))), "{r:?}");
    }

    #[test]
    fn a_refusal_says_the_address_is_private_and_how_to_allow_it() {
        let e = FetchError::PrivateAddress {
            url: "https://issuer.internal/.well-known/openid-configuration".into(),
            host: "issuer.internal".into(),
            address: "10.0.0.5".parse().expect("ip"),
            why: Restricted::Private,
        };
        let text = e.to_string();
        assert!(text.contains("10.0.0.5, a private (RFC 1918) address"), "{text}");
        assert!(text.contains("--allow-private-fetch"), "{text}");
    }
}
