//! The identity service: signing keys, tokens, client secrets, passwords, TLS material.
//!
//! Everything here is protocol-neutral: the HTTP front-ends turn these values into OAuth
//! responses, Graph errors and JWKS documents. The crypto is aws-lc-rs throughout (STACK.md:
//! it signs RS256 twice as fast as ring when the key is parsed once, which every type here
//! guarantees by keeping parsed keys in memory).

pub mod certs;
pub mod client_assertion;
pub mod federation;
pub mod forge;
pub mod jwt;
pub mod keys;
pub mod location;
pub mod otp;
pub mod outbound;
pub mod passwords;
pub mod proof;
pub mod risk;
pub mod rotation;
pub mod secrets;
pub mod tls;
pub mod tokens;
pub mod user_tokens;
pub mod webauthn;

mod b64;

pub use jwt::{ClaimExpectations, HeaderStyle, JwtError, Signer, TokenCache, Verifier};
pub use keys::{SigningKey, generate_signing_key};
pub use passwords::{PasswordHasherPool, PolicyError, check_password_policy};
pub use rotation::{KeyInfo, RotationError};
pub use secrets::{ClientSecret, GeneratedSecret, generate_client_secret};
pub use tls::{TlsMaterial, ensure_tls_material, ensure_tls_material_with_sans};
pub use tokens::{
    AppTokenRequest, ClientAuthMethod, IssuedToken, LifetimeError, MappedClaims, TokenIssuer, TokenLifetimes,
    TokenVersion,
};

use std::path::PathBuf;

/// Errors of the identity service. Token *validation* failures have their own type,
/// [`JwtError`], because front-ends map them to 401 responses rather than 500s.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// aws-lc-rs refused an operation (key generation, signing, randomness).
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
    /// A stored key could not be parsed.
    #[error("invalid signing key {kid}: {reason}")]
    InvalidKey { kid: String, reason: String },
    /// rcgen could not build a certificate.
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    /// A file of the TLS material could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Argon2 failed, or a stored password hash is not a valid PHC string.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
    /// The caller asked for something impossible (for example a zero token lifetime).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error(transparent)]
    Store(#[from] cerulean_store::StoreError),
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

/// Seconds since the Unix epoch, the unit of every JWT time claim.
pub fn unix_now() -> i64 {
    cerulean_store::clock::now().unix_timestamp()
}
