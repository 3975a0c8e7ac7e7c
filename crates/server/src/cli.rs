//! The command line, as DESIGN.md's contract gives it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cerulean",
    version,
    about = "A self-hosted identity directory and token service that speaks Microsoft's identity APIs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where the store, TLS material and bootstrap.json live.
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, env = "CERULEAN_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Serve plain HTTP (behind a TLS-terminating proxy).
    #[arg(long)]
    pub http: bool,
    /// A PEM certificate chain to serve instead of the generated one.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The externally visible base URL, used in issuers, @odata.context and next links.
    #[arg(long, env = "CERULEAN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The initial domain of the tenant created on first start.
    #[arg(long, default_value = "contoso.onmicrosoft.com")]
    pub tenant_domain: String,
    /// A PostgreSQL URL (postgres://...) to use instead of the embedded store.
    #[arg(long, env = "CERULEAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl ServeArgs {
    /// The base URL clients see: `--public-url`, else the listen address.
    pub fn public_url(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let scheme = if self.http { "http" } else { "https" };
        let host = match self.listen.ip() {
            ip if ip.is_unspecified() => "localhost".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("{scheme}://{host}:{}", self.listen.port())
    }
}
