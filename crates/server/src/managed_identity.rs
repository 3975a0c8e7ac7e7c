//! `cerulean managed-identity`: managed identities and the hosts bound to them, from the
//! command line, on a data directory or a PostgreSQL database (the server may be running: it
//! reads hosts and identities from the store on every token request). The same operations are
//! `/cerulean/admin/managedIdentities` and `/cerulean/admin/managedIdentityHosts` over HTTP.

use std::sync::Arc;

use cerulean_directory::{Caller, Directory, ManagedIdentityKind, host_json};
use cerulean_identity::PasswordHasherPool;
use cerulean_store::Actor;
use serde_json::Value;

use crate::ServerError;
use crate::cli::{ManagedIdentityAction, ManagedIdentityArgs};

/// Runs one `managed-identity` command and returns what to print.
pub async fn run(args: &ManagedIdentityArgs) -> Result<String, ServerError> {
    let store = crate::keys::open_store(&args.data_dir, args.database_url.as_deref()).await?;
    let tenant = crate::keys::tenant(store.as_ref(), args.tenant.as_deref()).await?;
    let directory = Directory::new(store, Arc::new(PasswordHasherPool::new(1)));
    let caller = Caller {
        tenant,
        actor: Actor { kind: "system".into(), id: None, display_name: Some("cerulean managed-identity".into()) },
        correlation_id: None,
    };
    let config = |e: cerulean_directory::DirectoryError| ServerError::Config(e.to_string());
    let text = |o: &cerulean_store::ObjectRecord, k: &str| {
        o.doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
    };
    match &args.action {
        ManagedIdentityAction::Create { name, system_assigned, resource_id } => {
            let kind =
                if *system_assigned { ManagedIdentityKind::SystemAssigned } else { ManagedIdentityKind::UserAssigned };
            let o =
                directory.create_managed_identity(&caller, name, kind, resource_id.as_deref()).await.map_err(config)?;
            Ok(format!(
                "created managed identity {name}\n  object id (principal_id/object_id): {}\n  client id (client_id):              {}\n  resource id (mi_res_id):            {}",
                o.id,
                text(&o, "appId"),
                cerulean_directory::managed_identity_resource_id(&o)
            ))
        }
        ManagedIdentityAction::List => {
            let all = directory.managed_identities(tenant).await.map_err(config)?;
            let mut out = format!("{:<36} {:<36} {:<24} {}", "OBJECT ID", "CLIENT ID", "NAME", "RESOURCE ID");
            for o in &all {
                out.push_str(&format!(
                    "\n{:<36} {:<36} {:<24} {}",
                    o.id,
                    text(o, "appId"),
                    text(o, "displayName"),
                    cerulean_directory::managed_identity_resource_id(o)
                ));
            }
            Ok(out)
        }
        ManagedIdentityAction::Bind { host, identities } => {
            let (created, secret) =
                directory.create_managed_identity_host(&caller, host, identities).await.map_err(config)?;
            let env = cerulean_graph::managed_identities::host_environment(
                args.public_url.trim_end_matches('/'),
                tenant,
                &created,
                &secret,
            );
            let var = |k: &str| env.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            Ok(format!(
                "created host {host} ({id}) for {n} identit{plural}; its secret is shown this once.\n\
                 App Service protocol, for the process:\n  export IDENTITY_ENDPOINT={}\n  export IDENTITY_HEADER={}\n\
                 IMDS (serve with --imds-host {id}):\n  export AZURE_POD_IDENTITY_AUTHORITY_HOST={}",
                var("IDENTITY_ENDPOINT"),
                var("IDENTITY_HEADER"),
                var("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
                id = created.id,
                n = created.identities.len(),
                plural = if created.identities.len() == 1 { "y" } else { "ies" },
            ))
        }
        ManagedIdentityAction::Hosts => {
            let hosts = directory.managed_identity_hosts(tenant).await.map_err(config)?;
            let lines: Vec<String> = hosts.iter().map(|h| Value::Object(host_json(h)).to_string()).collect();
            Ok(if lines.is_empty() { "no hosts".into() } else { lines.join("\n") })
        }
        ManagedIdentityAction::Unbind { host } => {
            directory.delete_managed_identity_host(&caller, host).await.map_err(config)?;
            Ok(format!("deleted host {host}: its IDENTITY_HEADER no longer works"))
        }
    }
}
