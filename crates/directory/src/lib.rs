//! The directory service: users, groups, membership and the rules Entra applies to them, over
//! the [`Store`] trait. Front-ends call it with protocol-neutral values (JSON documents of Graph
//! v1.0 property names, [`ListQuery`] plans) and map its [`DirectoryError`]s to their wire shape.
//! Every write is one [`Change`](cerulean_store::Change): the store applies it in one
//! transaction together with its change-log entries and its audit record.

mod app_roles;
mod applications;
mod apps;
mod audit;
pub mod auth_methods;
mod bootstrap;
pub mod ca_engine;
pub mod claims_mapping;
pub mod conditional_access;
mod consent;
pub mod custom_security_attributes;
mod deleted;
pub mod delta;
pub mod delta_changed;
// Devices, organizational contacts, administrative units (issue 4).
mod administrative_units;
mod contacts;
mod contracts;
mod devices;
// Domains and the DNS TXT lookup of their verification (issue 4, item 8; with `organization`).
pub mod delegated;
pub mod dns;
mod domains;
mod dynamic;
mod entity_sets;
mod error;
pub mod extensions;
pub mod fixtures;
mod flows;
mod group_claims;
mod groups;
mod identity_protection;
mod ids;
mod indexes;
pub mod invitations;
mod key_rollover;
// Licences: subscribed SKUs, direct and group-based assignment (issues 4 and 6).
pub mod licences;
pub mod lockout;
mod managed_identities;
mod manager;
mod members;
pub mod membership;
mod naming;
pub mod open_extensions;
mod organization;
pub mod passkeys;
pub mod photos;
pub mod risk_subject;
pub mod role_catalog;
pub mod roles;
pub mod rules;
pub mod schema_extensions;
mod scoped_roles;
mod seq_cache;
mod service_principals;
mod sessions;
mod sign_in_writer;
mod signins;
pub mod token_policies;
pub mod transaction;
mod users;
pub mod validate;
pub mod workload_risk;

use std::sync::Arc;

use cerulean_identity::PasswordHasherPool;
use cerulean_store::{Actor, ListQuery, ObjectRecord, Page, Store, TenantRecord};
use uuid::Uuid;

pub use app_roles::{AssignmentAnchor, DEFAULT_ACCESS_ROLE, guid_filter};
pub use applications::app_id_key;
pub use apps::{ARM_APP_ID, AppCredentials, GRAPH_APP_ID, UserAssignments};
pub use bootstrap::{BootstrapOutcome, BootstrapRequest, GLOBAL_ADMIN_TEMPLATE, META_BOOTSTRAP_TENANT};
pub use delta::{DeltaItem, DeltaPage, DeltaPosition, DeltaQuery, DeltaToken, LinkChange, RemovedReason};
pub use error::{DirectoryError, DirectoryResult};
pub use fixtures::{FixtureTenant, ImportReport, fixture_tenant};
pub use group_claims::GroupClaimKinds;
pub use ids::parse_reference;
pub use indexes::{index_specs, value_kind};
pub use licences::{LicenseDetail, SUBSCRIBED_SKU};
pub use lockout::LockoutPolicy;
pub use managed_identities::{
    HOST_SECRET_KIND, IdentitySelector, ManagedIdentityHost, ManagedIdentityKind, SelectError, host_json,
    resource_id as managed_identity_resource_id,
};
pub use manager::NO_MANAGER;
pub use naming::PropertyFailure;
pub use organization::ORGANIZATION_TYPE;
pub use sessions::{MEMBER_USER_TEMPLATE, PasswordSignIn};

/// Who is calling, for authorization decisions and the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Uuid,
    pub actor: Actor,
    /// The request's `client-request-id`, recorded as the audit `correlationId`.
    pub correlation_id: Option<String>,
}

impl Caller {
    /// The server itself (bootstrap, maintenance).
    pub fn system(tenant: Uuid) -> Caller {
        Caller {
            tenant,
            actor: Actor { kind: "system".into(), id: None, display_name: Some("Cerulean".into()) },
            correlation_id: None,
        }
    }
}

/// The directory service. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
    passwords: Arc<PasswordHasherPool>,
    /// In-memory membership graphs per tenant (see [`membership`]); shared by the clones.
    membership: Arc<membership::MembershipGraphs>,
    /// Smart-lockout settings (see [`lockout`]).
    lockout: LockoutPolicy,
    /// The key of bad-password fingerprints, once read from the store.
    fingerprint_key: Arc<std::sync::OnceLock<Vec<u8>>>,
    /// Inside a [`transaction::Transaction`]: the changes staged for its commit, which applies
    /// them in one store transaction. `None` for the ordinary directory, whose writes commit
    /// one by one.
    staged: Option<Arc<std::sync::Mutex<transaction::Staged>>>,
    /// The DNS resolver domain verification asks (`--dns-resolver`); `None` verifies
    /// administratively (see [`domains`]).
    dns_resolver: Option<std::net::SocketAddr>,
    /// Token lifetime and claims mapping policies, keyed on the change log (see
    /// `token_policies.rs`).
    token_policies: Arc<token_policies::TokenPoliciesCache>,
    /// What the token endpoint reads per token, keyed on the change log (see `seq_cache.rs`).
    caches: Arc<seq_cache::Caches>,
    /// The sign-in log's group commit (see `sign_in_writer.rs`).
    sign_ins: Arc<sign_in_writer::SignInWriter>,
    /// A request's change-log position, read once (see [`Directory::pinned`]); `None` for the
    /// ordinary directory, which reads it at every cached lookup.
    pin: Option<Arc<seq_cache::Pin>>,
}

impl Directory {
    pub fn new(store: Arc<dyn Store>, passwords: Arc<PasswordHasherPool>) -> Directory {
        Directory {
            store,
            passwords,
            membership: Arc::default(),
            lockout: LockoutPolicy::default(),
            fingerprint_key: Arc::default(),
            staged: None,
            dns_resolver: None,
            token_policies: Arc::default(),
            caches: Arc::default(),
            sign_ins: Arc::default(),
            pin: None,
        }
    }

    /// The same directory with these smart-lockout settings.
    pub fn with_lockout_policy(mut self, policy: LockoutPolicy) -> Directory {
        self.lockout = policy;
        self
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: Uuid) -> DirectoryResult<Option<TenantRecord>> {
        Ok(self.store.tenant(id).await?)
    }

    /// Resolves a tenant named by GUID or by one of its verified domains.
    pub async fn resolve_tenant(&self, name: &str) -> DirectoryResult<Option<TenantRecord>> {
        if let Ok(id) = Uuid::parse_str(name) {
            // Kept while the tenant's change log has not moved (see `seq_cache.rs`); for a
            // pinned token request the sequence read here is the one its other lookups reuse.
            let seq = self.cache_seq(id).await;
            if let Some(hit) = self.caches.tenants.get(&id, seq) {
                return Ok((*hit).clone());
            }
            let found = self.store.tenant(id).await?;
            self.caches.tenants.put(id, seq, Arc::new(found.clone()));
            return Ok(found);
        }
        if name.len() > 255 {
            return Ok(None);
        }
        Ok(self.store.tenant_by_domain(&name.to_ascii_lowercase()).await?)
    }

    pub async fn tenants(&self) -> DirectoryResult<Vec<TenantRecord>> {
        Ok(self.store.tenants().await?)
    }

    /// A live object by id, of any type.
    pub async fn get(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<ObjectRecord>> {
        Ok(self.store.get(tenant, id).await?.filter(|o| o.deleted_at.is_none()))
    }

    /// A live object of `object_type` named by `key`: its id, or for users also their UPN.
    pub async fn find(&self, tenant: Uuid, object_type: &str, key: &str) -> DirectoryResult<ObjectRecord> {
        let id = match Uuid::parse_str(key) {
            Ok(id) => Some(id),
            Err(_) if object_type == "user" && key.contains('@') => {
                self.store.find_unique(tenant, "upn", &key.to_lowercase()).await?
            }
            Err(_) => None,
        };
        let Some(id) = id else {
            return Err(DirectoryError::not_found(key));
        };
        match self.get(tenant, id).await? {
            // Any type: only directory objects (SKUs, policies, attribute sets... are stored as
            // objects too but are not found through `/directoryObjects`).
            Some(o) if object_type.is_empty() && is_directory_object(&o.object_type) => Ok(o),
            Some(o) if o.object_type == object_type => Ok(o),
            _ => Err(DirectoryError::not_found(key)),
        }
    }

    /// [`Directory::find`] for a caller that keeps a rendering of the object stamped
    /// `known`: [`Revalidated::Unchanged`] when the object still has that stamp (its document is
    /// then not read), else the live object of `object_type` with its current stamp. One store
    /// round trip, strongly consistent like `find`; a missing, deleted or other-typed object is
    /// `NotFound`.
    pub async fn find_unless(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
        known: Option<&cerulean_store::RowStamp>,
    ) -> DirectoryResult<cerulean_store::Revalidated> {
        use cerulean_store::Revalidated;
        let Ok(id) = Uuid::parse_str(key) else {
            // A user's principal name: resolved and read in full, with no stamp to keep.
            return Ok(Revalidated::Changed(self.find(tenant, object_type, key).await?, None));
        };
        match self.store.get_unless(tenant, id, known).await? {
            // The stamp only ever comes from a live object of this type, and any write (a
            // deletion included) changes it.
            Revalidated::Unchanged if known.is_some() => Ok(Revalidated::Unchanged),
            Revalidated::Changed(o, stamp) if o.deleted_at.is_none() && o.object_type == object_type => {
                Ok(Revalidated::Changed(o, stamp))
            }
            _ => Err(DirectoryError::not_found(key)),
        }
    }

    /// The live directory objects among `ids`, in the order of `ids`: `getByIds` (v1.0) and
    /// `getObjectsByObjectIds` (1.6). Records of other kinds (Conditional Access policies, named
    /// locations, SKUs, attribute sets...) are left out as if missing: those ids appear in logs,
    /// and their own routes ask for more than these functions' `Directory.Read.All`.
    pub async fn directory_objects_by_ids(&self, tenant: Uuid, ids: &[Uuid]) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut out = self.get_many(tenant, ids).await?;
        out.retain(|r| is_directory_object(&r.object_type));
        Ok(out)
    }

    /// Runs a list query (already compiled from OData options).
    pub async fn list(&self, tenant: Uuid, query: &ListQuery) -> DirectoryResult<Page> {
        Ok(self.store.list(tenant, query).await?)
    }
}

/// Whether a stored record of `object_type` is a directory object: its schema entity derives
/// from `directoryObject` (as in Graph's CSDL). The one rule behind `GET /directoryObjects/{id}`
/// and `getByIds`; a type the schema does not declare (attribute sets, schema extensions) is not.
pub fn is_directory_object(object_type: &str) -> bool {
    cerulean_schema::entity(object_type).is_some_and(|e| e.is_a("directoryObject"))
}

#[cfg(test)]
mod tests {
    use super::is_directory_object;
    use crate::{custom_security_attributes, licences};

    #[test]
    fn directory_objects_are_the_schema_subtypes_of_directory_object() {
        for t in ["user", "group", "servicePrincipal", "application", "device", "orgContact", "organization"] {
            assert!(is_directory_object(t), "{t}");
        }
        for t in [
            licences::SUBSCRIBED_SKU,
            custom_security_attributes::ATTRIBUTE_SET,
            custom_security_attributes::DEFINITION,
            "conditionalAccessPolicy",
            "ipNamedLocation",
            "countryNamedLocation",
            "unifiedRoleDefinition",
            "",
        ] {
            assert!(!is_directory_object(t), "{t}");
        }
    }
}
