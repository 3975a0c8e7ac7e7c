//! The local CA and server certificate Cerulean serves HTTPS with by default.
//!
//! On first start [`ensure_tls_material`] creates, in the given directory:
//!
//! - `ca.pem` / `ca-key.pem` (0600): a local CA, ECDSA P-256, valid 10 years, whose name
//!   carries a fingerprint of its key so two installations' CAs never share a subject;
//! - `server.pem` (server certificate followed by the CA: the full chain) / `server-key.pem`
//!   (0600): ECDSA P-256, SANs `localhost`, `127.0.0.1`, `::1` plus any extra names, valid
//!   397 days (under the 398-day ceiling browsers apply);
//! - `server-sans.txt`: the SAN list the server certificate was made for.
//!
//! Later calls reuse the files. The server certificate (and its key) is re-issued from the
//! same CA when it is missing, unreadable, within 30 days of expiry, or was made for other
//! SANs, so users who trusted `ca.pem` once keep trusting the server. The CA itself is only
//! replaced when it or its key is missing or it nears expiry (then the server certificate
//! is re-issued too). ECDSA keys are used because they are fast to generate and to handshake
//! with; every TLS client in scope supports P-256.
//!
//! Files are written to a temporary name and renamed, so a crash never leaves half a key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::b64;
use crate::{IdentityError, Result};

pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server-key.pem";
pub const SERVER_SANS_FILE: &str = "server-sans.txt";

/// The names every generated server certificate covers.
pub const DEFAULT_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const CA_VALIDITY: Duration = Duration::days(3650);
const SERVER_VALIDITY: Duration = Duration::days(397);
const RENEW_BEFORE: Duration = Duration::days(30);

/// The PEM files to serve TLS with, and their contents.
#[derive(Clone)]
pub struct TlsMaterial {
    pub ca_cert_path: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub ca_cert_pem: String,
    /// Server certificate, then the CA certificate.
    pub cert_chain_pem: String,
    /// PKCS#8 `PRIVATE KEY` of the server certificate.
    pub key_pem: String,
    /// Whether this call created or re-issued the server certificate.
    pub server_cert_issued: bool,
    /// Whether this call created the CA (users must trust the new `ca.pem`).
    pub ca_created: bool,
}

impl std::fmt::Debug for TlsMaterial {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_cert_path", &self.ca_cert_path)
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .field("server_cert_issued", &self.server_cert_issued)
            .field("ca_created", &self.ca_created)
            .finish_non_exhaustive()
    }
}

/// [`ensure_tls_material_with_sans`] with only the default names.
pub fn ensure_tls_material(dir: &Path) -> Result<TlsMaterial> {
    ensure_tls_material_with_sans(dir, &[])
}

/// Creates or reuses the CA and server certificate in `dir` (see the module docs).
/// `extra_sans` are DNS names or IP addresses to cover besides the defaults, e.g. the host of
/// `--public-url`. Blocking file I/O and key generation: call it at startup (or through
/// `spawn_blocking`).
pub fn ensure_tls_material_with_sans(dir: &Path, extra_sans: &[String]) -> Result<TlsMaterial> {
    create_dir(dir)?;
    let now = cerulean_store::clock::now();
    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    let cert_path = dir.join(SERVER_CERT_FILE);
    let key_path = dir.join(SERVER_KEY_FILE);
    let sans_path = dir.join(SERVER_SANS_FILE);

    let mut sans: Vec<String> = DEFAULT_SANS.iter().map(|s| (*s).to_owned()).collect();
    for san in extra_sans {
        let san = san.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if !san.is_empty() && !sans.contains(&san) {
            sans.push(san);
        }
    }
    let sans_text = sans.join("\n") + "\n";

    // The CA: reuse when both files read back and it is not about to expire.
    let existing_ca = match (read_opt(&ca_cert_path)?, read_opt(&ca_key_path)?) {
        (Some(cert), Some(key)) => {
            let fresh = first_pem_der(&cert, "CERTIFICATE")
                .and_then(|der| not_after(&der))
                .is_some_and(|t| t - RENEW_BEFORE > now);
            match KeyPair::from_pem(&key) {
                Ok(key) if fresh => Some((cert, key)),
                _ => None,
            }
        }
        _ => None,
    };
    let ca_created = existing_ca.is_none();
    let (ca_cert_pem, ca_key) = match existing_ca {
        Some(found) => found,
        None => {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
            let mut params = ca_params(&key);
            params.not_before = now - Duration::days(1);
            params.not_after = now + CA_VALIDITY;
            let cert = params.self_signed(&key).map_err(cert_err)?;
            write_file(&ca_key_path, key.serialize_pem().as_bytes(), true)?;
            write_file(&ca_cert_path, cert.pem().as_bytes(), false)?;
            (cert.pem(), key)
        }
    };

    // The server certificate: reuse unless the CA changed, or it is missing, unreadable,
    // near expiry or made for other names.
    let existing_server = if ca_created {
        None
    } else {
        match (read_opt(&cert_path)?, read_opt(&key_path)?, read_opt(&sans_path)?) {
            (Some(chain), Some(key), Some(recorded)) => {
                let fresh = first_pem_der(&chain, "CERTIFICATE")
                    .and_then(|der| not_after(&der))
                    .is_some_and(|t| t - RENEW_BEFORE > now);
                (fresh && recorded == sans_text && KeyPair::from_pem(&key).is_ok()).then_some((chain, key))
            }
            _ => None,
        }
    };
    let server_cert_issued = existing_server.is_none();
    let (cert_chain_pem, key_pem) = match existing_server {
        Some(found) => found,
        None => {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
            let mut params = CertificateParams::new(sans.clone()).map_err(cert_err)?;
            params.distinguished_name = DistinguishedName::new();
            params.distinguished_name.push(DnType::CommonName, "localhost");
            params.distinguished_name.push(DnType::OrganizationName, "Cerulean");
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.use_authority_key_identifier_extension = true;
            params.not_before = now - Duration::days(1);
            params.not_after = now + SERVER_VALIDITY;
            let issuer = Issuer::new(ca_params(&ca_key), &ca_key);
            let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
            let chain = format!("{}{}", cert.pem(), ca_cert_pem);
            let key_pem = key.serialize_pem();
            write_file(&key_path, key_pem.as_bytes(), true)?;
            write_file(&cert_path, chain.as_bytes(), false)?;
            write_file(&sans_path, sans_text.as_bytes(), false)?;
            (chain, key_pem)
        }
    };

    Ok(TlsMaterial {
        ca_cert_path,
        cert_path,
        key_path,
        ca_cert_pem,
        cert_chain_pem,
        key_pem,
        server_cert_issued,
        ca_created,
    })
}

/// The CA's name and issuing properties, derived from its key alone, so an [`Issuer`] can be
/// rebuilt from `ca-key.pem` without parsing `ca.pem` (rcgen only parses certificates with
/// its `x509-parser` feature). The server certificate's issuer name and authority key
/// identifier then match the CA's subject and subject key identifier.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let fp = digest::digest(&digest::SHA256, &key.subject_public_key_info());
    let fp: String = fp.as_ref()[..4].iter().map(|b| format!("{b:02X}")).collect();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, format!("Cerulean Local CA {fp}"));
    params.distinguished_name.push(DnType::OrganizationName, "Cerulean");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn cert_err(e: rcgen::Error) -> IdentityError {
    IdentityError::Certificate(e.to_string())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io { path: path.to_owned(), source }
}

fn create_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_err(dir))
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // Not UTF-8: treat as unusable and regenerate.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes `path` atomically (temporary file, fsync, rename); `private` files get mode 0600
/// from creation on, so the key is never readable by others even for an instant.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
    let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
    #[cfg(unix)]
    if private {
        // An existing temporary file keeps its old mode; force ours.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io_err(&tmp))?;
    }
    file.write_all(contents).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// The DER of the first PEM block labelled `label`.
pub(crate) fn first_pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    b64::std_decode(&body)
}

/// One DER TLV: (tag, contents, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, tail) = rest.split_at(n);
        rest = tail;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, tail) = rest.split_at(len);
    Some((tag, contents, tail))
}

/// `notAfter` of an X.509 certificate: Certificate → tbsCertificate → [version], serial,
/// signature, issuer, validity → (notBefore, notAfter). A dozen lines of DER walking instead
/// of a certificate parser dependency.
pub(crate) fn not_after(cert_der: &[u8]) -> Option<OffsetDateTime> {
    let (0x30, cert, _) = der_tlv(cert_der)? else {
        return None;
    };
    let (0x30, tbs, _) = der_tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, tail) = der_tlv(rest)?;
    if tag == 0xa0 {
        rest = tail; // explicit version
    }
    for expected in [0x02, 0x30, 0x30] {
        // serial, signature algorithm, issuer
        let (tag, _, tail) = der_tlv(rest)?;
        if tag != expected {
            return None;
        }
        rest = tail;
    }
    let (0x30, validity, _) = der_tlv(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = der_tlv(validity)?;
    let (tag, value, _) = der_tlv(after_not_before)?;
    parse_asn1_time(tag, std::str::from_utf8(value).ok()?)
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn parse_asn1_time(tag: u8, text: &str) -> Option<OffsetDateTime> {
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |s: &str| s.parse::<i32>().ok();
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy = num(&digits[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (0x18, 14) => (num(&digits[..4])?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2).and_then(|s| s.parse::<u8>().ok());
    let date = Date::from_calendar_date(year, Month::try_from(field(0)?).ok()?, field(2)?).ok()?;
    let time = Time::from_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cerulean-identity-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir.join("tls")
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn creates_then_reuses() {
        let dir = temp_dir();
        let first = ensure_tls_material(&dir).expect("first");
        assert!(first.ca_created && first.server_cert_issued);
        for f in [CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir.join(CA_KEY_FILE)), 0o600);
            assert_eq!(mode(&dir.join(SERVER_KEY_FILE)), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        assert_eq!(first.cert_chain_pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        assert!(first.cert_chain_pem.ends_with(&first.ca_cert_pem));
        assert!(first.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{first:?}").contains("PRIVATE KEY"));

        // Both certificates parse and have the expected lifetimes.
        let now = cerulean_store::clock::now();
        let server_der = first_pem_der(&first.cert_chain_pem, "CERTIFICATE").expect("server der");
        let server_exp = not_after(&server_der).expect("server notAfter");
        assert!((server_exp - (now + SERVER_VALIDITY)).abs() < Duration::minutes(5));
        let ca_der = first_pem_der(&first.ca_cert_pem, "CERTIFICATE").expect("ca der");
        let ca_exp = not_after(&ca_der).expect("ca notAfter");
        assert!((ca_exp - (now + CA_VALIDITY)).abs() < Duration::minutes(5));
        // The SANs are in the certificate (DNS name as IA5String, IPs as octets).
        let contains = |needle: &[u8]| server_der.windows(needle.len()).any(|w| w == needle);
        assert!(contains(b"localhost"));
        assert!(contains(&[0x87, 4, 127, 0, 0, 1]));
        let mut v6 = vec![0x87, 16];
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        assert!(contains(&v6));
        // The server certificate names the CA as its issuer.
        let ca_key =
            KeyPair::from_pem(&fs::read_to_string(dir.join(CA_KEY_FILE)).expect("ca key")).expect("ca key parses");
        let cn = ca_params(&ca_key).distinguished_name.get(&DnType::CommonName).cloned().expect("cn");
        let rcgen::DnValue::Utf8String(cn) = cn else { panic!("cn type") };
        assert!(contains(cn.as_bytes()));

        // Second call: everything reused.
        let second = ensure_tls_material(&dir).expect("second");
        assert!(!second.ca_created && !second.server_cert_issued);
        assert_eq!(second.cert_chain_pem, first.cert_chain_pem);
        assert_eq!(second.key_pem, first.key_pem);

        // New SANs: the server certificate is re-issued from the same CA.
        let third = ensure_tls_material_with_sans(&dir, &["cerulean.example.com".into()]).expect("third");
        assert!(!third.ca_created && third.server_cert_issued);
        assert_eq!(third.ca_cert_pem, first.ca_cert_pem);
        let der = first_pem_der(&third.cert_chain_pem, "CERTIFICATE").expect("der");
        assert!(der.windows(20).any(|w| w == b"cerulean.example.com"));

        // A missing server key: re-issued, CA kept.
        fs::remove_file(dir.join(SERVER_KEY_FILE)).expect("rm");
        let fourth = ensure_tls_material_with_sans(&dir, &["cerulean.example.com".into()]).expect("fourth");
        assert!(!fourth.ca_created && fourth.server_cert_issued);
        assert_eq!(fourth.ca_cert_pem, first.ca_cert_pem);

        // A missing CA key: everything regenerated.
        fs::remove_file(dir.join(CA_KEY_FILE)).expect("rm");
        let fifth = ensure_tls_material(&dir).expect("fifth");
        assert!(fifth.ca_created && fifth.server_cert_issued);
        assert_ne!(fifth.ca_cert_pem, first.ca_cert_pem);

        let _ = fs::remove_dir_all(dir.parent().expect("parent"));
    }

    #[test]
    fn expiring_server_certificate_is_reissued() {
        let dir = temp_dir();
        let first = ensure_tls_material(&dir).expect("first");
        // Replace the server certificate with one that expires in 10 days.
        let ca_key = KeyPair::from_pem(&fs::read_to_string(dir.join(CA_KEY_FILE)).expect("read")).expect("ca key");
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let now = cerulean_store::clock::now();
        params.not_before = now - Duration::days(300);
        params.not_after = now + Duration::days(10);
        let cert = params.signed_by(&key, &Issuer::new(ca_params(&ca_key), &ca_key)).expect("sign");
        write_file(&dir.join(SERVER_CERT_FILE), cert.pem().as_bytes(), false).expect("write");
        let second = ensure_tls_material(&dir).expect("second");
        assert!(second.server_cert_issued && !second.ca_created);
        assert_ne!(second.key_pem, first.key_pem);
        let _ = fs::remove_dir_all(dir.parent().expect("parent"));
    }

    #[test]
    fn asn1_times() {
        let t = parse_asn1_time(0x17, "491231235959Z").expect("utc");
        assert_eq!(t.year(), 2049);
        let t = parse_asn1_time(0x17, "500101000000Z").expect("utc");
        assert_eq!(t.year(), 1950);
        let t = parse_asn1_time(0x18, "40960101000000Z").expect("generalized");
        assert_eq!(t.year(), 4096);
        assert!(parse_asn1_time(0x17, "4912312359Z").is_none());
        assert!(parse_asn1_time(0x17, "491331235959Z").is_none());
        assert!(not_after(b"\x30\x03\x02\x01\x00").is_none());
        assert!(first_pem_der("nothing here", "CERTIFICATE").is_none());
    }
}
