//! First start: create the tenant, its administrator and the bootstrap application, and write
//! their credentials to `<data-dir>/bootstrap.json` (mode 0600). Later starts reuse everything.

use std::path::{Path, PathBuf};

use cerulean_directory::{BootstrapRequest, Directory};
use cerulean_identity::generate_client_secret;
use serde::{Deserialize, Serialize};

use crate::ServerError;

/// The meta key that records the bootstrapped tenant.
pub const META_TENANT: &str = cerulean_directory::META_BOOTSTRAP_TENANT;

/// The Graph application permissions granted to the bootstrap app: those whose capabilities
/// this server has (DESIGN.md lists the full set, added as each capability lands).
pub const BOOTSTRAP_PERMISSIONS: &[&str] = &[
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "AuditLog.Read.All",
    "Device.ReadWrite.All",
    "AdministrativeUnit.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "IdentityRiskEvent.Read.All",
    "IdentityRiskyUser.ReadWrite.All",
    "IdentityRiskyServicePrincipal.ReadWrite.All",
    "Domain.ReadWrite.All",
    "Organization.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
];

/// The contents of `bootstrap.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapFile {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub authority: String,
    pub graph_base_url: String,
    pub aad_graph_base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub admin_user_principal_name: String,
    pub admin_password: String,
    pub ca_certificate: Option<String>,
}

/// How long a node waits for another node's bootstrap of the same database to finish.
const BOOTSTRAP_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Bootstraps on first start; on later starts reads back what was written.
///
/// Several nodes may start at once on one (PostgreSQL) database: the tenant's domain is unique
/// in the store, so exactly one node's bootstrap creates the tenant; the others see the
/// conflict, wait for the winner to record the tenant, and start as later starts do. Only the
/// node that bootstrapped holds the credentials (`None` elsewhere, unless that node's
/// `bootstrap.json` is in this data directory): secrets are stored hashed.
pub async fn ensure(
    directory: &Directory,
    tokens: &cerulean_identity::TokenIssuer,
    store_meta: &dyn cerulean_store::Store,
    data_dir: &Path,
    tenant_domain: &str,
    public_url: &str,
    ca_certificate: Option<PathBuf>,
) -> Result<(Option<BootstrapFile>, bool), ServerError> {
    if let Some(tenant) = store_meta.meta(META_TENANT).await? {
        return existing(data_dir, &tenant, public_url, ca_certificate).map(|f| (f, false));
    }
    match create(directory, tokens, store_meta, data_dir, tenant_domain, public_url, ca_certificate.clone()).await {
        Ok(file) => Ok((Some(file), true)),
        Err(ServerError::Directory(cerulean_directory::DirectoryError::ObjectConflict { property }))
            if property == "domain" =>
        {
            let started = std::time::Instant::now();
            while started.elapsed() < BOOTSTRAP_WAIT {
                if let Some(tenant) = store_meta.meta(META_TENANT).await? {
                    tracing::info!(%tenant, "another node bootstrapped the tenant");
                    return existing(data_dir, &tenant, public_url, ca_certificate).map(|f| (f, false));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(ServerError::Config(format!(
                "a tenant with the domain {tenant_domain} exists but its bootstrap never finished; start over with an empty store"
            )))
        }
        Err(e) => Err(e),
    }
}

/// A later start: the bootstrap file of this data directory, its URLs brought up to date.
fn existing(
    data_dir: &Path,
    tenant: &str,
    public_url: &str,
    ca_certificate: Option<PathBuf>,
) -> Result<Option<BootstrapFile>, ServerError> {
    let path = data_dir.join("bootstrap.json");
    {
        let mut file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<BootstrapFile>(&bytes)
                .map_err(|e| ServerError::Config(format!("{} is not valid: {e}", path.display())))?,
            Err(_) => {
                tracing::info!(%tenant, "no bootstrap.json in this data directory: the node that bootstrapped the tenant holds its credentials");
                return Ok(None);
            }
        };
        if file.tenant_id != tenant {
            return Err(ServerError::Config(format!(
                "{} belongs to tenant {} but the store's tenant is {tenant}",
                path.display(),
                file.tenant_id
            )));
        }
        // The credentials stay; the URLs follow this start's --public-url / --listen.
        let current = BootstrapFile {
            authority: format!("{public_url}/{}", file.tenant_id),
            graph_base_url: format!("{public_url}/v1.0"),
            aad_graph_base_url: format!("{public_url}/{}", file.tenant_id),
            ca_certificate: ca_certificate.map(|p| p.display().to_string()),
            ..file.clone()
        };
        if serde_json::to_value(&current).ok() != serde_json::to_value(&file).ok() {
            write_private(
                &path,
                &serde_json::to_vec_pretty(&current).map_err(|e| ServerError::Config(e.to_string()))?,
            )?;
            file = current;
        }
        Ok(Some(file))
    }
}

/// The first start: create everything and write the credentials.
async fn create(
    directory: &Directory,
    tokens: &cerulean_identity::TokenIssuer,
    store_meta: &dyn cerulean_store::Store,
    data_dir: &Path,
    tenant_domain: &str,
    public_url: &str,
    ca_certificate: Option<PathBuf>,
) -> Result<BootstrapFile, ServerError> {
    let path = data_dir.join("bootstrap.json");
    let secret = generate_client_secret()?;
    let admin_password = generate_password();
    let outcome = directory
        .bootstrap_tenant(BootstrapRequest {
            tenant_domain: tenant_domain.to_string(),
            tenant_display_name: display_name_of(tenant_domain),
            admin_password: admin_password.clone(),
            client_secret_hash: secret.hash.clone(),
            client_secret_hint: secret.hint.clone(),
            app_permissions: BOOTSTRAP_PERMISSIONS.iter().map(|s| s.to_string()).collect(),
        })
        .await?;
    let tenant_id = outcome.tenant.id.to_string();
    let file = BootstrapFile {
        tenant_id: tenant_id.clone(),
        tenant_domain: tenant_domain.to_ascii_lowercase(),
        authority: format!("{public_url}/{tenant_id}"),
        graph_base_url: format!("{public_url}/v1.0"),
        aad_graph_base_url: format!("{public_url}/{tenant_id}"),
        client_id: outcome.client_id.to_string(),
        client_secret: secret.secret.expose().to_string(),
        admin_user_principal_name: outcome.admin_upn.clone(),
        admin_password,
        ca_certificate: ca_certificate.map(|p| p.display().to_string()),
    };
    write_private(&path, &serde_json::to_vec_pretty(&file).map_err(|e| ServerError::Config(e.to_string()))?)?;
    // The signing key exists before the tenant is announced: nodes waiting for this bootstrap
    // then all load the same key instead of each creating its own.
    tokens.tenant_keys(outcome.tenant.id).await?;
    store_meta.set_meta(META_TENANT, &tenant_id).await?;
    Ok(file)
}

/// `contoso.onmicrosoft.com` -> `Contoso`.
fn display_name_of(domain: &str) -> String {
    let first = domain.split('.').next().unwrap_or("Cerulean");
    let mut c = first.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => "Cerulean".into(),
    }
}

/// A random password that satisfies Entra's default policy (four character classes).
fn generate_password() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("Ce{}!{}#Z9", &a[..12], &b[..12])
}

/// Writes `bytes` to `path` readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::io::Write;
    let io = |e| ServerError::Io { context: format!("writing {}", path.display()), source: e };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

/// The summary printed at start.
pub fn summary(file: Option<&BootstrapFile>, created: bool, path: &Path) -> String {
    let Some(file) = file else {
        return "Cerulean tenant bootstrapped by another node; its credentials are in that node's bootstrap.json.\n"
            .into();
    };
    let mut s = String::new();
    s.push_str(if created { "Cerulean bootstrapped a new tenant.\n" } else { "Cerulean tenant (existing):\n" });
    s.push_str(&format!("  tenant id        {}\n", file.tenant_id));
    s.push_str(&format!("  tenant domain    {}\n", file.tenant_domain));
    s.push_str(&format!("  authority        {}\n", file.authority));
    s.push_str(&format!("  graph base URL   {}\n", file.graph_base_url));
    s.push_str(&format!("  client id        {}\n", file.client_id));
    if created {
        s.push_str(&format!("  client secret    {}\n", file.client_secret));
        s.push_str(&format!("  admin            {} / {}\n", file.admin_user_principal_name, file.admin_password));
    } else {
        s.push_str(&format!("  admin            {}\n", file.admin_user_principal_name));
    }
    if let Some(ca) = &file.ca_certificate {
        s.push_str(&format!("  CA certificate   {ca}\n"));
    }
    s.push_str(&format!("  credentials in   {}\n", path.display()));
    s
}
