//! Applications and service principals as the token service needs them: lookup by `appId`,
//! their client secrets, and the application permissions (app roles) granted to them.

use std::collections::HashMap;
use std::sync::Arc;

use cerulean_store::{CmpOp, Filter, ListQuery, ObjectRecord, PropPath, Scalar, Scope, SecretRecord, ValueKind};
use serde_json::Value;
use uuid::Uuid;

use crate::Directory;
use crate::error::DirectoryResult;

/// A resource service principal's id and its app roles (lower-case id -> value), all a token
/// needs of a document that can weigh most of a megabyte.
#[derive(Debug)]
pub(crate) struct ResourceRoles {
    id: Uuid,
    roles: HashMap<String, String>,
}

impl ResourceRoles {
    /// The value of the role `role_id` (any case).
    fn value_of(&self, role_id: &str) -> Option<&str> {
        match self.roles.get(role_id) {
            Some(v) => Some(v.as_str()),
            None if role_id.bytes().any(|b| b.is_ascii_uppercase()) => {
                self.roles.get(&role_id.to_ascii_lowercase()).map(String::as_str)
            }
            None => None,
        }
    }
}

/// What [`Directory::token_service_principal`] keeps of an app role or a permission scope.
const TOKEN_FIELDS: &[&str] = &["id", "value", "isEnabled", "type", "allowedMemberTypes"];

/// The appId of the Microsoft Graph resource application, the same in every tenant.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The appId of Azure Resource Manager ("Windows Azure Service Management API"), the same in
/// every tenant: the Azure CLI signs in to it.
pub const ARM_APP_ID: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

/// An application with its service principal and client secrets.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub application: ObjectRecord,
    pub service_principal: Option<ObjectRecord>,
    pub secrets: Vec<SecretRecord>,
}

impl Directory {
    /// The application registered in `tenant` with this `appId`, its service principal there
    /// and its secrets; `None` when the tenant has no such application.
    ///
    /// Kept while the tenant's change log has not moved (see `seq_cache.rs`): every token
    /// request reads it.
    pub async fn app_credentials(&self, tenant: Uuid, app_id: &str) -> DirectoryResult<Option<AppCredentials>> {
        if app_id.len() > 64 {
            return Ok(None);
        }
        let key = app_id.to_ascii_lowercase();
        let seq = self.cache_seq(tenant).await;
        let cache_key = (tenant, key);
        if let Some(hit) = self.caches.apps.get(&cache_key, seq) {
            return Ok((*hit).clone());
        }
        let found = self.read_app_credentials(tenant, &cache_key.1).await?;
        self.caches.apps.put(cache_key, seq, Arc::new(found.clone()));
        Ok(found)
    }

    async fn read_app_credentials(&self, tenant: Uuid, key: &str) -> DirectoryResult<Option<AppCredentials>> {
        let Some(app_obj) = self.store.find_unique(tenant, "appId", key).await? else {
            return Ok(None);
        };
        let Some(application) = self.get(tenant, app_obj).await? else {
            return Ok(None);
        };
        let service_principal = self.service_principal_by_app_id(tenant, key).await?;
        let secrets = self.store.secrets(tenant, application.id).await?;
        Ok(Some(AppCredentials { application, service_principal, secrets }))
    }

    /// The application a resource identifier names in `tenant`: its `appId` or one of its
    /// `identifierUris` (compared case-insensitively, as Entra does).
    pub async fn application_by_resource_identifier(
        &self,
        tenant: Uuid,
        identifier: &str,
    ) -> DirectoryResult<Option<ObjectRecord>> {
        if identifier.is_empty() || identifier.len() > 256 {
            return Ok(None);
        }
        let key = identifier.to_ascii_lowercase();
        let found = match self.store.find_unique(tenant, "appId", &key).await? {
            Some(id) => Some(id),
            None => self.store.find_unique(tenant, "identifierUri", &key).await?,
        };
        match found {
            Some(id) => Ok(self.get(tenant, id).await?.filter(|o| o.object_type == "application")),
            None => Ok(None),
        }
    }

    /// The live service principal of `app_id` in `tenant`.
    pub async fn service_principal_by_app_id(
        &self,
        tenant: Uuid,
        app_id: &str,
    ) -> DirectoryResult<Option<ObjectRecord>> {
        match self.store.find_unique(tenant, "spAppId", &app_id.to_ascii_lowercase()).await? {
            Some(id) => self.get(tenant, id).await,
            None => Ok(None),
        }
    }

    /// The live service principal of `app_id` as the token endpoint reads it, shared and kept
    /// while the tenant's change log has not moved (see `seq_cache.rs`): every property, but
    /// the entries of `appRoles` and `oauth2PermissionScopes` keep only what a token is made
    /// of (`id`, `value`, `isEnabled`, `type`, `allowedMemberTypes`), not their descriptions.
    ///
    /// A delegated token reads its resource's service principal to check consent and the
    /// user's app roles; for Microsoft Graph that document carries the whole permission
    /// catalogue (~0.8 MB of JSON), whose parse twice per sign-in cost more than the argon2id
    /// verification of a password sign-in (issue 8).
    pub async fn token_service_principal(
        &self,
        tenant: Uuid,
        app_id: &str,
    ) -> DirectoryResult<Option<Arc<ObjectRecord>>> {
        if app_id.len() > 256 {
            return Ok(None);
        }
        let seq = self.cache_seq(tenant).await;
        let key = (tenant, app_id.to_ascii_lowercase());
        if let Some(hit) = self.caches.token_sps.get(&key, seq) {
            return Ok((*hit).clone());
        }
        let found = self.service_principal_by_app_id(tenant, &key.1).await?.map(|mut sp| {
            for list in ["appRoles", "oauth2PermissionScopes"] {
                if let Some(Value::Array(entries)) = sp.doc.get_mut(list) {
                    for entry in entries.iter_mut() {
                        if let Value::Object(fields) = entry {
                            fields.retain(|k, _| TOKEN_FIELDS.contains(&k.as_str()));
                        }
                    }
                }
            }
            Arc::new(sp)
        });
        self.caches.token_sps.put(key, seq, Arc::new(found.clone()));
        Ok(found)
    }

    /// The values of the app roles of `resource_app_id` assigned to the service principal
    /// `principal` (the `roles` claim of an app token).
    pub async fn granted_app_roles(
        &self,
        tenant: Uuid,
        principal: Uuid,
        resource_app_id: &str,
    ) -> DirectoryResult<Vec<String>> {
        Ok(self.app_roles_granted(tenant, principal, resource_app_id).await?.unwrap_or_default())
    }

    /// Like [`Directory::granted_app_roles`], but `None` when the tenant has no service
    /// principal for `resource_app_id` (the token endpoint answers `invalid_resource`): one
    /// lookup of the resource instead of an existence check and a second read.
    pub async fn app_roles_granted(
        &self,
        tenant: Uuid,
        principal: Uuid,
        resource_app_id: &str,
    ) -> DirectoryResult<Option<Vec<String>>> {
        // Kept while the change log has not moved: an assignment, a role of the resource or
        // the resource itself changing moves it (see `seq_cache.rs`).
        let seq = self.cache_seq(tenant).await;
        let key = (tenant, principal, resource_app_id.to_ascii_lowercase());
        if let Some(hit) = self.caches.granted_roles.get(&key, seq) {
            return Ok((*hit).clone());
        }
        let Some(resource) = self.resource_roles(tenant, resource_app_id, seq).await? else {
            self.caches.granted_roles.put(key, seq, Arc::new(None));
            return Ok(None);
        };
        let guid = |path: &str, id: Uuid| Filter::Compare {
            path: PropPath::of(path),
            kind: ValueKind::Guid,
            op: CmpOp::Eq,
            value: Scalar::Str(id.to_string()),
        };
        let mut query = ListQuery::new(&["appRoleAssignment"], Scope::Live);
        query.filter = Some(Filter::And(vec![guid("principalId", principal), guid("resourceId", resource.id)]));
        query.top = 999;
        let mut values = Vec::new();
        loop {
            let page = self.store.list(tenant, &query).await?;
            for assignment in &page.items {
                let role_id = assignment.doc.get("appRoleId").and_then(Value::as_str).unwrap_or_default();
                if let Some(value) = resource.value_of(role_id)
                    && !values.iter().any(|v| v == value)
                {
                    values.push(value.to_string());
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        values.sort();
        self.caches.granted_roles.put(key, seq, Arc::new(Some(values.clone())));
        Ok(Some(values))
    }

    /// The app roles of the tenant's service principal for `app_id`, from the cache while the
    /// tenant's change log is still at `seq` (see `seq_cache.rs`).
    ///
    /// The Microsoft Graph service principal carries the whole permission catalogue (~0.8 MB
    /// of JSON): reading and parsing it per token was most of the cost of a client-credentials
    /// token (issue 8).
    async fn resource_roles(
        &self,
        tenant: Uuid,
        app_id: &str,
        seq: Option<u64>,
    ) -> DirectoryResult<Option<Arc<ResourceRoles>>> {
        let key = (tenant, app_id.to_ascii_lowercase());
        if let Some(hit) = self.caches.resource_roles.get(&key, seq) {
            return Ok((*hit).clone());
        }
        let Some(sp) = self.service_principal_by_app_id(tenant, app_id).await? else {
            self.caches.resource_roles.put(key, seq, Arc::new(None));
            return Ok(None);
        };
        let roles = sp
            .doc
            .get("appRoles")
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| {
                        let id = r.get("id").and_then(Value::as_str)?;
                        let value = r.get("value").and_then(Value::as_str)?;
                        Some((id.to_ascii_lowercase(), value.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let entry = Arc::new(ResourceRoles { id: sp.id, roles });
        self.caches.resource_roles.put(key, seq, Arc::new(Some(entry.clone())));
        Ok(Some(entry))
    }

    /// A user's assignments to the service principal `resource` (the app they sign in to, or
    /// the API a token is for): directly and through the groups they belong to, transitively.
    /// Returns whether any assignment exists (the default access assignment, `appRoleId` all
    /// zeros, counts: `appRoleAssignmentRequired` is then satisfied) and the sorted `value`s of
    /// the assigned app roles (the `roles` claim of the user's tokens).
    pub async fn user_app_role_assignments(
        &self,
        tenant: Uuid,
        user: Uuid,
        resource: &ObjectRecord,
    ) -> DirectoryResult<UserAssignments> {
        // The principals are the user and their groups: asking for their assignments only
        // (not every assignment of the resource, which for Microsoft Graph is one per app
        // granted a permission) keeps this a few indexed reads per token.
        let mut principals = vec![user];
        principals.extend(self.member_of_ids(tenant, user, true, false).await?);
        let empty = Vec::new();
        let roles = resource.doc.get("appRoles").and_then(Value::as_array).unwrap_or(&empty);
        let mut out = UserAssignments::default();
        for chunk in principals.chunks(100) {
            let mut query = ListQuery::new(&["appRoleAssignment"], Scope::Live);
            query.filter = Some(Filter::And(vec![
                Filter::Compare {
                    path: PropPath::of("resourceId"),
                    kind: ValueKind::Guid,
                    op: CmpOp::Eq,
                    value: Scalar::Str(resource.id.to_string()),
                },
                Filter::In {
                    path: PropPath::of("principalId"),
                    kind: ValueKind::Guid,
                    values: chunk.iter().map(|id| Scalar::Str(id.to_string())).collect(),
                },
            ]));
            query.top = 999;
            loop {
                let page = self.store.list(tenant, &query).await?;
                for assignment in &page.items {
                    out.assigned = true;
                    let role_id = assignment.doc.get("appRoleId").and_then(Value::as_str).unwrap_or_default();
                    let value = roles
                        .iter()
                        .filter(|r| r.get("isEnabled").and_then(Value::as_bool) != Some(false))
                        .find(|r| {
                            r.get("id").and_then(Value::as_str).is_some_and(|id| id.eq_ignore_ascii_case(role_id))
                        })
                        .and_then(|r| r.get("value"))
                        .and_then(Value::as_str);
                    if let Some(value) = value
                        && !out.roles.iter().any(|v| v == value)
                    {
                        out.roles.push(value.to_string());
                    }
                }
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
        }
        out.roles.sort();
        Ok(out)
    }
}

/// What [`Directory::user_app_role_assignments`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAssignments {
    /// The user holds at least one assignment (directly or through a group).
    pub assigned: bool,
    /// The `value`s of the assigned, enabled app roles that have one.
    pub roles: Vec<String>,
}
