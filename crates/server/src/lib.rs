//! The Cerulean server: command line, assembly of the front-ends over the services and the
//! store, TLS, first-start bootstrap, and the process lifecycle.

pub mod app;
pub mod backup;
pub mod bootstrap;
pub mod cli;
pub mod fixture;
pub mod hash_rate;
pub mod keys;
pub mod logging;
pub mod managed_identity;
mod peer;
pub mod request_id;
pub mod serve;

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Config(String),
    #[error("storage: {0}")]
    Store(#[from] cerulean_store::StoreError),
    #[error("directory: {0}")]
    Directory(#[from] cerulean_directory::DirectoryError),
    #[error("identity: {0}")]
    Identity(#[from] cerulean_identity::IdentityError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}
