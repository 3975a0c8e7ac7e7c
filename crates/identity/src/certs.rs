//! X.509 certificates uploaded as application key credentials: what Graph derives from them
//! (the SHA-1 thumbprint as `customKeyIdentifier`, validity as start and end dates).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{IdentityError, Result};

/// The facts of a certificate that a `keyCredential` exposes.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    /// Base64 of the SHA-1 of the DER (Graph's `customKeyIdentifier` for certificates).
    pub thumbprint_b64: String,
    /// RFC 3339 UTC, as the store keeps date-times.
    pub not_before: String,
    pub not_after: String,
    /// The subject's distinguished name (`CN=...`).
    pub subject: String,
    /// The DER, base64, normalised (no PEM armour, no whitespace).
    pub der_b64: String,
}

/// Largest certificate accepted (a bound for hostile input; real ones are a few KB).
const MAX_DER: usize = 64 * 1024;

/// Parses a certificate given as base64 DER (Graph's `key`) or PEM.
pub fn inspect(key: &str) -> Result<CertificateInfo> {
    let bad = || IdentityError::Crypto("invalid certificate");
    if key.len() > MAX_DER * 2 {
        return Err(bad());
    }
    let body: String = key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| bad())?;
    if der.len() > MAX_DER {
        return Err(bad());
    }
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|_| bad())?;
    let validity = cert.validity();
    let fmt = |t: x509_parser::time::ASN1Time| {
        let dt = t.to_datetime();
        let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        dt.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
    };
    let thumbprint = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
    Ok(CertificateInfo {
        thumbprint_b64: STANDARD.encode(thumbprint.as_ref()),
        not_before: fmt(validity.not_before),
        not_after: fmt(validity.not_after),
        subject: cert.subject().to_string(),
        der_b64: STANDARD.encode(&der),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_generated_certificate() {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert =
            rcgen::CertificateParams::new(vec!["app.example".into()]).expect("params").self_signed(&key).expect("cert");
        let info = inspect(&STANDARD.encode(cert.der())).expect("parsed");
        assert_eq!(STANDARD.decode(&info.thumbprint_b64).expect("b64").len(), 20);
        assert!(info.not_after > info.not_before);
        assert!(inspect(&cert.pem()).is_ok());
        assert!(inspect("bm90IGEgY2VydA==").is_err());
    }
}
