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

// Parsed once at start-up: the size of the `serve` variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Copy the embedded store to a file, consistently, while the server runs.
    Backup(BackupArgs),
    /// Replace the embedded store with a backup (the server must be stopped).
    Restore(RestoreArgs),
    /// Manage token signing keys: list, rotate (add a published key), activate, prune.
    Keys(KeysArgs),
    /// Load a fixture (a JSON file of users, groups, applications, ...) into a tenant,
    /// idempotently (the embedded store's server must be stopped).
    Import(ImportArgs),
    /// Write a tenant as a fixture file: ids, properties, relationships and credential
    /// hashes, never a secret in clear (the embedded store's server must be stopped).
    Export(ExportArgs),
    /// Manage managed identities and the hosts (processes) that use them: create, list,
    /// bind a host (prints its IDENTITY_HEADER once), list hosts, unbind.
    ManagedIdentity(ManagedIdentityArgs),
    /// Measure this machine's argon2id rate with the parameters password sign-ins use (one
    /// verification per sign-in); the benchmark suite reports sign-ins next to it.
    HashRate(HashRateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct HashRateArgs {
    /// How long to measure, in seconds (1 to 600).
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Threads hashing at once (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
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
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Throttle Graph requests like Microsoft Graph: this many resource units per app and
    /// tenant per 10 seconds (Graph's published budgets are 3500, 5000 and 8000 by tenant
    /// size). Off when absent.
    #[arg(long, env = "CERULEAN_THROTTLE_RU_PER_10S")]
    pub throttle_ru_per_10s: Option<u32>,
    /// Days the change log is kept; delta tokens older than that expire (Graph keeps 7).
    /// 0 keeps it forever.
    #[arg(long, env = "CERULEAN_DELTA_RETENTION_DAYS", default_value_t = 30)]
    pub delta_retention_days: u32,
    /// Days the audit and sign-in logs are kept (Entra keeps 30 with a premium licence).
    /// 0 keeps them forever.
    #[arg(long, env = "CERULEAN_AUDIT_RETENTION_DAYS", default_value_t = 30)]
    pub audit_retention_days: u32,
    /// A proxy (address or CIDR range) whose `X-Forwarded-For` header names the client in
    /// the sign-in log; repeatable. From any other peer the header is ignored.
    #[arg(long, value_parser = parse_cidr)]
    pub trusted_proxy: Vec<cerulean_platform::IpCidr>,
    /// A MaxMind-format database (GeoIP2/GeoLite2 City, Country or ASN) locating client
    /// addresses in the sign-in log; repeatable (the fields of several files are merged).
    #[arg(long, env = "CERULEAN_LOCATION_DB", value_delimiter = ',')]
    pub location_db: Vec<PathBuf>,
    /// A ranges file (CSV: `cidr,country,state,city,latitude,longitude,asn,asnOrganization[,corporate]`)
    /// that places the operator's own networks; it wins over the databases.
    #[arg(long, env = "CERULEAN_LOCATION_RANGES")]
    pub location_ranges: Option<PathBuf>,
    /// Where private and loopback addresses are (`country,state,city,latitude,longitude`, any
    /// field may be empty): the corporate network of the sign-in log.
    #[arg(long, env = "CERULEAN_CORPORATE_LOCATION", value_parser = parse_corporate_location)]
    pub corporate_location: Option<cerulean_identity::location::Location>,
    /// A file of anonymizing addresses (Tor exits, anonymous VPNs; one address or CIDR range
    /// per line): sign-ins from them are `anonymizedIPAddress` risk detections.
    #[arg(long, env = "CERULEAN_ANONYMIZER_IPS")]
    pub anonymizer_ips: Option<PathBuf>,
    /// A file of known malicious addresses (same format): `maliciousIPAddress` detections.
    #[arg(long, env = "CERULEAN_MALICIOUS_IPS")]
    pub malicious_ips: Option<PathBuf>,
    /// A leaked-credentials list: SHA-1 digests of passwords in hex, one per line (`:count`
    /// suffixes as breach corpora write them are accepted). A user who signs in with one gets a
    /// `leakedCredentials` risk detection.
    #[arg(long, env = "CERULEAN_LEAKED_PASSWORDS")]
    pub leaked_passwords: Option<PathBuf>,
    /// Risk: successful interactive sign-ins a user needs before `unfamiliarFeatures` compares
    /// a sign-in with their history.
    #[arg(long, env = "CERULEAN_RISK_LEARNING_SIGN_INS", default_value_t = cerulean_identity::risk::RiskConfig::default().learning_sign_ins)]
    pub risk_learning_sign_ins: usize,
    /// Risk: unseen features (of address, network, country, browser; 1 to 4) that make a
    /// sign-in `unfamiliarFeatures`.
    #[arg(long, env = "CERULEAN_RISK_UNFAMILIAR_FEATURES", default_value_t = cerulean_identity::risk::RiskConfig::default().unfamiliar_features)]
    pub risk_unfamiliar_features: usize,
    /// Risk: days of successful sign-ins a user's history reaches back (1 to 3650).
    #[arg(long, env = "CERULEAN_RISK_HISTORY_DAYS", default_value_t = cerulean_identity::risk::RiskConfig::default().history_days)]
    pub risk_history_days: i64,
    /// Risk: the most recent successful sign-ins that make up what is familiar (at least
    /// --risk-learning-sign-ins, at most 1000).
    #[arg(long, env = "CERULEAN_RISK_HISTORY_SIGN_INS", default_value_t = cerulean_identity::risk::RiskConfig::default().history_sign_ins)]
    pub risk_history_sign_ins: usize,
    /// Risk: a trip from the user's previous located sign-in faster than this (km/h) is
    /// `impossibleTravel`.
    #[arg(long, env = "CERULEAN_RISK_TRAVEL_MAX_KMH", default_value_t = cerulean_identity::risk::RiskConfig::default().max_travel_kmh, allow_negative_numbers = true)]
    pub risk_travel_max_kmh: f64,
    /// Risk: trips shorter than this (km) are never `impossibleTravel`.
    #[arg(long, env = "CERULEAN_RISK_TRAVEL_MIN_KM", default_value_t = cerulean_identity::risk::RiskConfig::default().min_travel_km, allow_negative_numbers = true)]
    pub risk_travel_min_km: f64,
    /// Risk: distinct accounts with failed passwords from one address, within
    /// --risk-spray-window-minutes, that make a `passwordSpray` (at least 2).
    #[arg(long, env = "CERULEAN_RISK_SPRAY_ACCOUNTS", default_value_t = cerulean_identity::risk::RiskConfig::default().spray_accounts)]
    pub risk_spray_accounts: usize,
    /// Risk: the password-spray window in minutes (1 to 1440).
    #[arg(long, env = "CERULEAN_RISK_SPRAY_WINDOW_MINUTES", default_value_t = cerulean_identity::risk::RiskConfig::default().spray_window_minutes)]
    pub risk_spray_window_minutes: i64,
    /// Build the tenants' membership graphs in the background as soon as the server is ready,
    /// so the first membership query does not wait for them (about 2 s at 100k users). Off by
    /// default: the graphs stay out of memory until a membership query needs them, which keeps
    /// the idle footprint small (about 85 MiB more at 100k users when preloaded).
    #[arg(long, env = "CERULEAN_PRELOAD_MEMBERSHIP")]
    pub preload_membership: bool,
    /// Smart lockout: failed password sign-ins (per user, counted apart for familiar and
    /// unfamiliar locations) that lock the account (Entra's default: 10).
    #[arg(long, env = "CERULEAN_LOCKOUT_THRESHOLD", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub lockout_threshold: u32,
    /// Smart lockout: seconds the first lockout lasts (Entra's default: 60); each further
    /// lockout lasts twice as long, up to 30 minutes.
    #[arg(long, env = "CERULEAN_LOCKOUT_DURATION_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub lockout_duration_seconds: u64,
    /// Seconds a signing key added by rotation must have been published (in the JWKS) before
    /// `POST /cerulean/admin/signingKeys/{kid}/activate` lets it sign.
    #[arg(long, env = "CERULEAN_KEY_PUBLICATION_DELAY_SECS", default_value_t = cerulean_identity::rotation::DEFAULT_PUBLICATION_DELAY_SECS)]
    pub key_publication_delay_secs: i64,
    /// Require multi-factor sign-in for every user (like Entra's security defaults): users
    /// without an authenticator app register one (TOTP) at their next sign-in, and the password
    /// grant is refused with AADSTS50076. Users who registered one always use it.
    #[arg(long, env = "CERULEAN_REQUIRE_MFA")]
    pub require_mfa: bool,
    /// A fixture to import at start, before serving (idempotent: a restart imports nothing
    /// new). On a first start, its tenant's initial domain replaces --tenant-domain.
    #[arg(long, env = "CERULEAN_FIXTURE")]
    pub fixture: Option<PathBuf>,
    /// A PEM file of CA certificates trusted, besides the system's, when fetching the keys of
    /// a workload identity federation issuer (a private issuer's CA).
    #[arg(long, env = "CERULEAN_FEDERATION_CA_FILE")]
    pub federation_ca_file: Option<PathBuf>,
    /// Let the server's outbound fetches (workload identity federation issuers' documents,
    /// `request_uri`) reach loopback, private (RFC 1918), link-local, unique-local, CGNAT and
    /// other non-public addresses. Off by default, so that a URL a tenant registers cannot
    /// make the server reach its own network (server-side request forgery).
    #[arg(long, env = "CERULEAN_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,
    /// The managed identity host (id or name; `tenant/host` with several tenants) that the
    /// IMDS endpoint `/metadata/identity/oauth2/token` answers for, to loopback callers only.
    #[arg(long, env = "CERULEAN_IMDS_HOST")]
    pub imds_host: Option<String>,
    /// A DNS resolver (`ip:port`, for example `1.1.1.1:53`) that `POST /domains/{id}/verify`
    /// asks for the domain's `MS=ms...` TXT record. Without it, verification is administrative
    /// (it succeeds without a lookup).
    #[arg(long, env = "CERULEAN_DNS_RESOLVER")]
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// Seconds app and user access tokens are valid (Entra's default is 60-90 minutes; its
    /// token lifetime policy allows 600 to 86400). Retired signing keys stay published as long.
    #[arg(long, env = "CERULEAN_ACCESS_TOKEN_LIFETIME_SECS", default_value_t = cerulean_identity::TokenLifetimes::default().access_secs)]
    pub access_token_lifetime_secs: i64,
    /// Seconds ID tokens are valid (Entra's default: 3600; 600 to 86400).
    #[arg(long, env = "CERULEAN_ID_TOKEN_LIFETIME_SECS", default_value_t = cerulean_identity::TokenLifetimes::default().id_secs)]
    pub id_token_lifetime_secs: i64,
    /// Days a refresh token is valid, sliding: each redemption issues a successor valid this
    /// long (Entra's default: 90; 1 to 90).
    #[arg(long, env = "CERULEAN_REFRESH_TOKEN_LIFETIME_DAYS", default_value_t = cerulean_identity::TokenLifetimes::default().refresh_days)]
    pub refresh_token_lifetime_days: i64,
    /// Enable the emulator's test aids under /cerulean/emulator (token forge, clock control,
    /// fault injection), for testing clients; administrators only. Never on a real deployment.
    #[arg(long, env = "CERULEAN_EMULATOR_AIDS")]
    pub emulator_aids: bool,
}

impl ServeArgs {
    /// The token lifetimes of the flags, refused at start-up outside Entra's bounds.
    pub fn token_lifetimes(&self) -> Result<cerulean_identity::TokenLifetimes, crate::ServerError> {
        cerulean_identity::TokenLifetimes {
            access_secs: self.access_token_lifetime_secs,
            id_secs: self.id_token_lifetime_secs,
            refresh_days: self.refresh_token_lifetime_days,
        }
        .validated()
        .map_err(|e| {
            let flag = match e {
                cerulean_identity::LifetimeError::Access(_) => "--access-token-lifetime-secs",
                cerulean_identity::LifetimeError::Id(_) => "--id-token-lifetime-secs",
                cerulean_identity::LifetimeError::Refresh(_) => "--refresh-token-lifetime-days",
            };
            crate::ServerError::Config(format!("{flag}: {e}"))
        })
    }

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

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The data directory whose embedded store to copy.
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// Set for a PostgreSQL deployment: its data is backed up with pg_dump, so the command
    /// refuses and says so (rather than copying an unused embedded store).
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Where to write the backup (mode 0600; it holds password hashes and signing keys).
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The data directory whose embedded store to replace.
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// Set for a PostgreSQL deployment: restore with pg_restore instead; the command refuses.
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A backup made by `cerulean backup`.
    pub file: PathBuf,
}

/// `--corporate-location`: the fields of a ranges-file line after its range.
fn parse_corporate_location(s: &str) -> Result<cerulean_identity::location::Location, String> {
    let line = format!("0.0.0.0/0,{s}");
    let mut parsed = cerulean_identity::location::parse_ranges(&line).map_err(|(_, reason)| reason)?;
    parsed.pop().map(|(_, location)| location).ok_or_else(|| "empty location".to_string())
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// The data directory whose embedded store holds the keys (the server may be running).
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://...) to use instead of the embedded store.
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The tenant (id or a domain name); may be left out when the store holds one tenant.
    #[arg(long, global = true)]
    pub tenant: Option<String>,
    /// The server's access-token lifetime (as `serve`): retired keys are listed and pruned
    /// after the longest token they signed has expired.
    #[arg(long, global = true, env = "CERULEAN_ACCESS_TOKEN_LIFETIME_SECS", default_value_t = cerulean_identity::TokenLifetimes::default().access_secs)]
    pub access_token_lifetime_secs: i64,
    /// The server's ID-token lifetime (as `serve`).
    #[arg(long, global = true, env = "CERULEAN_ID_TOKEN_LIFETIME_SECS", default_value_t = cerulean_identity::TokenLifetimes::default().id_secs)]
    pub id_token_lifetime_secs: i64,
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// List the tenant's signing keys (kid, status, dates; never key material).
    List,
    /// Add a new key, published in the JWKS at once but not signing until activated.
    Rotate,
    /// Let a key added by `rotate` sign; the key that signed until now is retired (published
    /// until its tokens have expired).
    Activate {
        /// The kid printed by `rotate`. A base64url thumbprint may begin with `-` (Entra's
        /// kids do too), so a leading hyphen is read as the value, not as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// Seconds the key must have been published before it may sign.
        #[arg(long, env = "CERULEAN_KEY_PUBLICATION_DELAY_SECS", default_value_t = cerulean_identity::rotation::DEFAULT_PUBLICATION_DELAY_SECS)]
        min_published_secs: i64,
    },
    /// Delete retired keys whose tokens have all expired (they have left the JWKS already).
    Prune,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The data directory whose embedded store to import into (created if absent).
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://...) to import into instead of the embedded store.
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The tenant (id or domain) to import into; default: the fixture's tenant id, else the
    /// bootstrapped tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The initial domain of the tenant bootstrapped in an empty store, when the fixture names
    /// none.
    #[arg(long, default_value = "contoso.onmicrosoft.com")]
    pub tenant_domain: String,
    /// The base URL written to bootstrap.json when the import bootstraps (serve updates it).
    #[arg(long, env = "CERULEAN_PUBLIC_URL", default_value = "https://127.0.0.1:8443")]
    pub public_url: String,
    /// The fixture (JSON).
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The data directory whose embedded store to export from.
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://...) to export from instead of the embedded store.
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The tenant (id or domain) to export; default: the bootstrapped tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Where to write the fixture (mode 0600: it holds password hashes).
    pub file: PathBuf,
}

/// `--trusted-proxy`: an address or a CIDR range.
fn parse_cidr(s: &str) -> Result<cerulean_platform::IpCidr, String> {
    s.parse()
}

#[derive(Debug, Clone, Args)]
pub struct ManagedIdentityArgs {
    /// The data directory whose embedded store to use (the server may be running).
    #[arg(long, env = "CERULEAN_DATA_DIR", default_value = "./cerulean-data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://...) to use instead of the embedded store.
    #[arg(long, env = "CERULEAN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The tenant (id or a domain name); may be left out when the store holds one tenant.
    #[arg(long, global = true)]
    pub tenant: Option<String>,
    /// The server's public URL, for the IDENTITY_ENDPOINT printed by `bind`.
    #[arg(long, env = "CERULEAN_PUBLIC_URL", default_value = "https://127.0.0.1:8443", global = true)]
    pub public_url: String,
    #[command(subcommand)]
    pub action: ManagedIdentityAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ManagedIdentityAction {
    /// Create a managed identity (user-assigned unless --system-assigned).
    Create {
        /// Its display name.
        name: String,
        /// A system-assigned identity (alternativeNames `isExplicit=False`).
        #[arg(long)]
        system_assigned: bool,
        /// The ARM resource id (`mi_res_id`); default: one under a placeholder subscription.
        #[arg(long)]
        resource_id: Option<String>,
    },
    /// List the tenant's managed identities.
    List,
    /// Create a host bound to identities and print its IDENTITY_HEADER secret (once) and the
    /// environment variables to set.
    Bind {
        /// The host's name.
        host: String,
        /// Identities (object id, client id or resource id), one or more.
        #[arg(required = true)]
        identities: Vec<String>,
    },
    /// List hosts and their identities (never a secret).
    Hosts,
    /// Delete a host: its IDENTITY_HEADER stops working.
    Unbind {
        /// The host (id or name).
        host: String,
    },
}
