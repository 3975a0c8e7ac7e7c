//! Managed identities and the hosts that use them.
//!
//! An identity is a service principal of `servicePrincipalType: "ManagedIdentity"` with no
//! application object, as Entra creates them: its `alternativeNames` hold `isExplicit=False`
//! (system-assigned) or `isExplicit=True` (user-assigned) and the ARM resource id of the
//! resource (`mi_res_id`), and its `servicePrincipalNames` its `appId` (the `client_id`).
//!
//! A *host* stands for the process that asks for tokens (an App Service app, a VM): a name,
//! a server-generated secret (the `IDENTITY_HEADER`, 256 bits, stored as its SHA-256 only,
//! shown once) and the identities it may use. Each binding is a secret row of kind
//! [`HOST_SECRET_KIND`] on the identity's service principal whose key id is the host id, so
//! deleting the identity removes its bindings with it and no secret ever sits in a document.

use aws_lc_rs::rand::SecureRandom;
use cerulean_store::{
    Change, CmpOp, Filter, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope, SecretRecord, StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::applications::service_principal_claims;
use crate::error::{DirectoryError, DirectoryResult};
use crate::validate::now;
use crate::{Caller, Directory, audit};

/// The secret kind of a host binding.
pub const HOST_SECRET_KIND: &str = "managed_identity_host";

/// Which kind of managed identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedIdentityKind {
    /// Tied to one resource (`isExplicit=False`).
    SystemAssigned,
    /// A resource of its own, assignable to many (`isExplicit=True`).
    UserAssigned,
}

/// How a token request names the identity it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySelector {
    /// The host's system-assigned identity, or its only identity.
    Default,
    /// `client_id`: the identity's `appId`.
    ClientId(String),
    /// `object_id` / `principal_id`: the service principal's object id.
    ObjectId(String),
    /// `mi_res_id` / `msi_res_id`: the ARM resource id in `alternativeNames`.
    ResourceId(String),
}

/// A host and the identities bound to it.
#[derive(Debug, Clone)]
pub struct ManagedIdentityHost {
    pub id: Uuid,
    pub name: String,
    pub identities: Vec<ObjectRecord>,
    /// `sha256:` of the host secret (the same on every binding).
    hash: String,
}

/// Why a host could not pick an identity (the token endpoints map these to their errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// The selector names no identity bound to the host.
    NotFound,
    /// No selector, several identities and none system-assigned.
    Ambiguous,
}

impl ManagedIdentityHost {
    /// Whether `secret` is this host's, compared in constant time.
    pub fn accepts(&self, secret: &str) -> bool {
        cerulean_identity::secrets::verify(secret, &self.hash)
    }

    /// The identity `selector` names among the host's.
    pub fn select(&self, selector: &IdentitySelector) -> Result<&ObjectRecord, SelectError> {
        let text = |o: &ObjectRecord, k: &str| o.doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let found = match selector {
            IdentitySelector::Default => {
                let system = self.identities.iter().find(|o| kind_of(o) == Some(ManagedIdentityKind::SystemAssigned));
                return match (system, self.identities.as_slice()) {
                    (Some(s), _) => Ok(s),
                    (None, [only]) => Ok(only),
                    (None, []) => Err(SelectError::NotFound),
                    (None, _) => Err(SelectError::Ambiguous),
                };
            }
            IdentitySelector::ClientId(id) => {
                self.identities.iter().find(|o| text(o, "appId").eq_ignore_ascii_case(id))
            }
            IdentitySelector::ObjectId(id) => {
                self.identities.iter().find(|o| o.id.to_string().eq_ignore_ascii_case(id.trim()))
            }
            IdentitySelector::ResourceId(res) => {
                self.identities.iter().find(|o| resource_id(o).eq_ignore_ascii_case(res))
            }
        };
        found.ok_or(SelectError::NotFound)
    }
}

/// The kind of a managed identity's service principal, from its `alternativeNames`.
pub fn kind_of(sp: &ObjectRecord) -> Option<ManagedIdentityKind> {
    let names = sp.doc.get("alternativeNames").and_then(Value::as_array)?;
    names.iter().filter_map(Value::as_str).find_map(|n| match n {
        "isExplicit=True" => Some(ManagedIdentityKind::UserAssigned),
        "isExplicit=False" => Some(ManagedIdentityKind::SystemAssigned),
        _ => None,
    })
}

/// The ARM resource id of a managed identity (the `alternativeNames` entry starting with `/`).
pub fn resource_id(sp: &ObjectRecord) -> String {
    let names = sp.doc.get("alternativeNames").and_then(Value::as_array);
    names.into_iter().flatten().filter_map(Value::as_str).find(|n| n.starts_with('/')).unwrap_or_default().to_string()
}

/// Whether a fixture's service principal is a managed identity (its `alternativeNames` say
/// `isExplicit=...`): it has no application to be created from.
pub(crate) fn is_managed_identity_body(body: &Map<String, Value>) -> bool {
    let names = body.get("alternativeNames").and_then(Value::as_array);
    names.into_iter().flatten().filter_map(Value::as_str).any(|n| n.starts_with("isExplicit="))
}

/// The document of a managed identity's service principal, as Entra shapes one.
fn managed_identity_doc(tenant: Uuid, name: &str, explicit: &str, resource: &str, app_id: &str) -> Map<String, Value> {
    let mut doc = crate::service_principals::service_principal_defaults(tenant, json!(name));
    doc.insert("alternativeNames".into(), json!([explicit, resource]));
    doc.insert("appId".into(), json!(app_id));
    doc.insert("appDisplayName".into(), json!(name));
    doc.insert(
        "servicePrincipalNames".into(),
        json!([app_id, format!("https://identity.azure.net/{}", Uuid::new_v4())]),
    );
    doc.insert("servicePrincipalType".into(), json!("ManagedIdentity"));
    doc.insert("signInAudience".into(), json!("AzureADMyOrg"));
    doc.insert("createdDateTime".into(), json!(now()));
    doc
}

/// A new host secret: 32 bytes of the system CSPRNG, base64url (43 characters).
fn new_host_secret() -> DirectoryResult<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| DirectoryError::Internal("the system random generator failed".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Directory {
    /// Creates a managed identity named `name`. `resource_id` defaults to an ARM id under a
    /// placeholder subscription (`Microsoft.ManagedIdentity/userAssignedIdentities/{name}`
    /// for user-assigned, `Microsoft.Compute/virtualMachines/{name}` for system-assigned).
    pub async fn create_managed_identity(
        &self,
        caller: &Caller,
        name: &str,
        kind: ManagedIdentityKind,
        resource_id: Option<&str>,
    ) -> DirectoryResult<ObjectRecord> {
        if !valid_name(name) {
            return Err(DirectoryError::bad_request(
                "A managed identity name is 1-128 characters of letters, digits, '-', '_' and '.'.",
            ));
        }
        let (explicit, provider) = match kind {
            ManagedIdentityKind::UserAssigned => {
                ("isExplicit=True", "Microsoft.ManagedIdentity/userAssignedIdentities")
            }
            ManagedIdentityKind::SystemAssigned => ("isExplicit=False", "Microsoft.Compute/virtualMachines"),
        };
        let resource = match resource_id {
            Some(r) if r.starts_with("/subscriptions/") && !r.contains(char::is_whitespace) => r.to_string(),
            Some(_) => {
                return Err(DirectoryError::bad_request(
                    "The resource id must be an ARM resource id (/subscriptions/...).",
                ));
            }
            None => format!(
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/cerulean/providers/{provider}/{name}"
            ),
        };
        let lower = resource.to_ascii_lowercase();
        if self
            .managed_identities(caller.tenant)
            .await?
            .iter()
            .any(|o| self::resource_id(o).to_ascii_lowercase() == lower)
        {
            return Err(DirectoryError::ObjectConflict { property: "alternativeNames".into() });
        }
        let doc = managed_identity_doc(caller.tenant, name, explicit, &resource, &Uuid::new_v4().to_string());
        self.insert_managed_identity(caller, Uuid::new_v4(), doc).await
    }

    /// A managed identity of an imported fixture (an exported one: its `appId`, object id and
    /// `alternativeNames` kept), validated as the API validates a service principal.
    pub(crate) async fn import_managed_identity(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let entity = cerulean_schema::entity("servicePrincipal").expect("servicePrincipal is declared");
        let (props, annotations) = crate::validate::validate_body(entity, body, crate::validate::Mode::Create)?;
        crate::users::reject_annotations(&annotations, "servicePrincipal")?;
        let app_id = props.get("appId").and_then(Value::as_str).unwrap_or_default();
        if Uuid::parse_str(app_id).is_err() {
            return Err(DirectoryError::bad_request("A managed identity's appId must be a GUID."));
        }
        let names: Vec<&str> = props
            .get("alternativeNames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let explicit = names.iter().find(|n| n.starts_with("isExplicit=")).copied().unwrap_or("isExplicit=True");
        let resource = names.iter().find(|n| n.starts_with('/')).copied().unwrap_or_default();
        let name = props.get("displayName").and_then(Value::as_str).unwrap_or_default();
        let mut doc = managed_identity_doc(caller.tenant, name, explicit, resource, app_id);
        crate::users::merge(&mut doc, &props);
        self.insert_managed_identity(caller, id, doc).await
    }

    async fn insert_managed_identity(
        &self,
        caller: &Caller,
        id: Uuid,
        doc: Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let object = ObjectRecord { id, object_type: "servicePrincipal".into(), version: 1, doc, deleted_at: None };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: service_principal_claims(&object.doc) }],
            audit: audit::record(
                caller,
                "Add service principal",
                "ApplicationManagement",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok(object)
    }

    /// The tenant's managed identities (service principals of type `ManagedIdentity`).
    pub async fn managed_identities(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut query = ListQuery::new(&["servicePrincipal"], Scope::Live);
        query.filter = Some(Filter::Compare {
            path: PropPath::of("servicePrincipalType"),
            kind: ValueKind::String,
            op: CmpOp::Eq,
            value: Scalar::Str("ManagedIdentity".into()),
        });
        query.top = 999;
        let mut out = Vec::new();
        loop {
            let page = self.store.list(tenant, &query).await?;
            out.extend(page.items);
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// A managed identity by object id, `appId` or resource id.
    pub async fn find_managed_identity(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        let all = self.managed_identities(tenant).await?;
        all.into_iter()
            .find(|o| {
                o.id.to_string().eq_ignore_ascii_case(key)
                    || o.doc.get("appId").and_then(Value::as_str).is_some_and(|a| a.eq_ignore_ascii_case(key))
                    || resource_id(o).eq_ignore_ascii_case(key)
            })
            .ok_or_else(|| DirectoryError::not_found(key))
    }

    /// The tenant's hosts with their identities.
    pub async fn managed_identity_hosts(&self, tenant: Uuid) -> DirectoryResult<Vec<ManagedIdentityHost>> {
        let mut hosts: Vec<ManagedIdentityHost> = Vec::new();
        for identity in self.managed_identities(tenant).await? {
            for s in self.store.secrets(tenant, identity.id).await? {
                if s.kind != HOST_SECRET_KIND {
                    continue;
                }
                match hosts.iter_mut().find(|h| h.id == s.key_id) {
                    Some(h) => h.identities.push(identity.clone()),
                    None => hosts.push(ManagedIdentityHost {
                        id: s.key_id,
                        name: s.meta.get("hostName").and_then(Value::as_str).unwrap_or_default().to_string(),
                        identities: vec![identity.clone()],
                        hash: s.hash.clone(),
                    }),
                }
            }
        }
        Ok(hosts)
    }

    /// A host by id or name.
    pub async fn managed_identity_host(&self, tenant: Uuid, key: &str) -> DirectoryResult<Option<ManagedIdentityHost>> {
        let hosts = self.managed_identity_hosts(tenant).await?;
        Ok(hosts.into_iter().find(|h| h.id.to_string().eq_ignore_ascii_case(key) || h.name.eq_ignore_ascii_case(key)))
    }

    /// Creates a host bound to `identities` (keys as [`Self::find_managed_identity`] takes)
    /// and returns it with its secret, which is not kept and cannot be shown again.
    pub async fn create_managed_identity_host(
        &self,
        caller: &Caller,
        name: &str,
        identities: &[String],
    ) -> DirectoryResult<(ManagedIdentityHost, String)> {
        if !valid_name(name) {
            return Err(DirectoryError::bad_request(
                "A host name is 1-128 characters of letters, digits, '-', '_' and '.'.",
            ));
        }
        if identities.is_empty() {
            return Err(DirectoryError::bad_request("A host needs at least one managed identity."));
        }
        if self.managed_identity_host(caller.tenant, name).await?.is_some() {
            return Err(DirectoryError::ObjectConflict { property: "name".into() });
        }
        let mut bound: Vec<ObjectRecord> = Vec::new();
        for key in identities {
            let identity = self.find_managed_identity(caller.tenant, key).await?;
            if !bound.iter().any(|b| b.id == identity.id) {
                bound.push(identity);
            }
        }
        let secret = new_host_secret()?;
        let host = ManagedIdentityHost {
            id: Uuid::new_v4(),
            name: name.to_string(),
            identities: bound,
            hash: cerulean_identity::secrets::hash_secret(&secret),
        };
        let meta = json!({"hostName": name, "createdDateTime": now()});
        let ops = host
            .identities
            .iter()
            .map(|identity| {
                Op::PutSecret(SecretRecord {
                    owner: identity.id,
                    kind: HOST_SECRET_KIND.into(),
                    key_id: host.id,
                    hash: host.hash.clone(),
                    meta: meta.clone(),
                })
            })
            .collect();
        let targets = host.identities.iter().map(|o| audit::target(o, None, None)).collect();
        let change = Change {
            ops,
            audit: audit::record(caller, "Add managed identity host", "ApplicationManagement", "Add", targets),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok((host, secret))
    }

    /// Deletes a host (its bindings); its secret stops working at once.
    pub async fn delete_managed_identity_host(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let host =
            self.managed_identity_host(caller.tenant, key).await?.ok_or_else(|| DirectoryError::not_found(key))?;
        let ops = host.identities.iter().map(|o| Op::DeleteSecret { owner: o.id, key_id: host.id }).collect();
        let targets = host.identities.iter().map(|o| audit::target(o, None, None)).collect();
        let change = Change {
            ops,
            audit: audit::record(caller, "Delete managed identity host", "ApplicationManagement", "Delete", targets),
        };
        match self.store.apply(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound(_)) => Err(DirectoryError::not_found(key)),
            Err(e) => Err(e.into()),
        }
    }
}

/// The wire shape of a host (no secret).
pub fn host_json(host: &ManagedIdentityHost) -> Map<String, Value> {
    let identities: Vec<Value> = host
        .identities
        .iter()
        .map(|o| {
            json!({
                "objectId": o.id,
                "clientId": o.doc.get("appId"),
                "displayName": o.doc.get("displayName"),
                "resourceId": resource_id(o),
                "type": match kind_of(o) {
                    Some(ManagedIdentityKind::SystemAssigned) => "SystemAssigned",
                    _ => "UserAssigned",
                },
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("id".into(), json!(host.id));
    out.insert("name".into(), json!(host.name));
    out.insert("identities".into(), Value::Array(identities));
    out
}
