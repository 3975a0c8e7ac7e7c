//! One entry point per operation for the entity sets every front-end serves the same way
//! (users, groups, applications, service principals, devices, contacts, administrative units,
//! role definitions and assignments, token lifetime and claims mapping policies, Conditional
//! Access named locations and policies): each dispatches to the type's own rules,
//! so a front-end serves a new set with a declaration instead of another set of handlers.

use cerulean_store::ObjectRecord;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::conditional_access::{NAMED_LOCATION, POLICY as CA_POLICY};
use crate::error::{DirectoryError, DirectoryResult};
use crate::roles::{ROLE_ASSIGNMENT, ROLE_DEFINITION};
use crate::token_policies::{CLAIMS_MAPPING_POLICY, TOKEN_LIFETIME_POLICY};
use crate::{Caller, Directory};

fn unsupported(object_type: &str) -> DirectoryError {
    DirectoryError::Internal(format!("'{object_type}' is not an entity set of the directory"))
}

impl Directory {
    /// A live object of the set, by the keys the set accepts (ids; UPNs for users; `appId`
    /// forms for applications and service principals).
    pub async fn find_in_set(&self, tenant: Uuid, object_type: &str, key: &str) -> DirectoryResult<ObjectRecord> {
        match object_type {
            "application" => self.find_application(tenant, key).await,
            "servicePrincipal" => self.find_service_principal(tenant, key).await,
            "user" | "group" => self.find(tenant, object_type, key).await,
            "device" => self.find_device(tenant, key).await,
            "orgContact" | "administrativeUnit" | "contract" => self.find(tenant, object_type, key).await,
            ROLE_DEFINITION => self.find_role_definition(tenant, key).await,
            ROLE_ASSIGNMENT => self.find_role_assignment(tenant, key).await,
            TOKEN_LIFETIME_POLICY | CLAIMS_MAPPING_POLICY => self.find_policy(tenant, object_type, key).await,
            NAMED_LOCATION => self.named_location(tenant, key).await,
            CA_POLICY => self.ca_policy(tenant, key).await,
            other => Err(unsupported(other)),
        }
    }

    /// Makes the set complete before it is listed or counted: the built-in role definitions
    /// are written on a tenant's first look at them. Nothing to do for other sets.
    pub async fn prepare_set(&self, tenant: Uuid, object_type: &str) -> DirectoryResult<()> {
        match object_type {
            ROLE_DEFINITION => self.ensure_role_definitions(tenant).await,
            _ => Ok(()),
        }
    }

    /// Creates an object of the set from a request body.
    pub async fn create_in_set(
        &self,
        caller: &Caller,
        object_type: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        // Custom security attributes are checked against their definitions, never as a
        // plain property: assigned once the object exists.
        if let Some((rest, attributes)) = split_custom_security_attributes(object_type, body) {
            let created = Box::pin(self.create_in_set(caller, object_type, &rest)).await?;
            let id = created.id.to_string();
            self.assign_custom_security_attributes(caller, object_type, &id, &attributes).await?;
            return self.find_in_set(caller.tenant, object_type, &id).await;
        }
        // Directory-extension values are checked first, written once the object exists.
        if extensible(object_type)
            && let Some((rest, values)) = self.split_extension_values(caller.tenant, object_type, body).await?
        {
            let created = Box::pin(self.create_declared(caller, object_type, &rest)).await?;
            self.write_extension_values(caller, object_type, &created.id.to_string(), &values).await?;
            return self.find_in_set(caller.tenant, object_type, &created.id.to_string()).await;
        }
        self.create_declared(caller, object_type, body).await
    }

    /// Creates an object from a body holding declared properties only.
    async fn create_declared(
        &self,
        caller: &Caller,
        object_type: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        match object_type {
            "user" => self.create_user(caller, body).await,
            "group" => self.create_group(caller, body).await,
            "application" => self.create_application(caller, body).await,
            "servicePrincipal" => self.create_service_principal(caller, body).await,
            "device" => self.create_device(caller, body).await,
            "orgContact" => Err(crate::contacts::not_creatable()),
            "administrativeUnit" => self.create_administrative_unit(caller, body).await,
            ROLE_DEFINITION => self.create_role_definition(caller, body).await,
            ROLE_ASSIGNMENT => self.create_role_assignment(caller, body).await,
            TOKEN_LIFETIME_POLICY | CLAIMS_MAPPING_POLICY => self.create_policy(caller, object_type, body).await,
            NAMED_LOCATION => self.create_named_location(caller, body).await,
            CA_POLICY => self.create_ca_policy(caller, body).await,
            other => Err(unsupported(other)),
        }
    }

    /// Updates an object of the set from a PATCH body.
    pub async fn update_in_set(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        if let Some((rest, attributes)) = split_custom_security_attributes(object_type, body) {
            if !rest.is_empty() {
                Box::pin(self.update_in_set(caller, object_type, key, &rest)).await?;
            }
            return self.assign_custom_security_attributes(caller, object_type, key, &attributes).await;
        }
        // Directory-extension values are checked before anything is written.
        if extensible(object_type)
            && let Some((rest, values)) = self.split_extension_values(caller.tenant, object_type, body).await?
        {
            if !rest.is_empty() {
                Box::pin(self.update_declared(caller, object_type, key, &rest)).await?;
            }
            return self.write_extension_values(caller, object_type, key, &values).await;
        }
        self.update_declared(caller, object_type, key, body).await
    }

    /// Updates an object from a body holding declared properties only.
    async fn update_declared(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        match object_type {
            "user" => self.update_user(caller, key, body).await,
            "group" => self.update_group(caller, key, body).await,
            "application" => self.update_application(caller, key, body).await,
            "servicePrincipal" => self.update_service_principal(caller, key, body).await,
            "device" => self.update_device(caller, key, body).await,
            "orgContact" => self.update_contact(caller, key, body).await,
            "administrativeUnit" => self.update_administrative_unit(caller, key, body).await,
            ROLE_DEFINITION => self.update_role_definition(caller, key, body).await,
            TOKEN_LIFETIME_POLICY | CLAIMS_MAPPING_POLICY => self.update_policy(caller, object_type, key, body).await,
            NAMED_LOCATION => self.update_named_location(caller, key, body).await,
            CA_POLICY => self.update_ca_policy(caller, key, body).await,
            // Role assignments are not updatable (Graph serves no PATCH for them).
            other => Err(unsupported(other)),
        }
    }

    /// Deletes an object of the set (to the recycle bin where the type goes there).
    pub async fn delete_in_set(&self, caller: &Caller, object_type: &str, key: &str) -> DirectoryResult<()> {
        match object_type {
            "application" => self.delete_application(caller, key).await,
            "servicePrincipal" => self.delete_service_principal(caller, key).await,
            "user" | "group" | "administrativeUnit" => self.delete_object(caller, object_type, key).await,
            "device" => self.delete_device(caller, key).await,
            "orgContact" => self.delete_contact(caller, key).await,
            ROLE_DEFINITION => self.delete_role_definition(caller, key).await,
            ROLE_ASSIGNMENT => self.delete_role_assignment(caller, key).await,
            TOKEN_LIFETIME_POLICY | CLAIMS_MAPPING_POLICY => self.delete_policy(caller, object_type, key).await,
            NAMED_LOCATION => self.delete_named_location(caller, key).await,
            CA_POLICY => self.delete_ca_policy(caller, key).await,
            other => Err(unsupported(other)),
        }
    }
}

/// Whether the type takes directory and schema extension values: Conditional Access objects
/// are not directory objects, and their rules name every property they accept.
fn extensible(object_type: &str) -> bool {
    !matches!(object_type, NAMED_LOCATION | CA_POLICY)
}

/// A body's `customSecurityAttributes` (on the types that carry them) apart from the rest.
fn split_custom_security_attributes(
    object_type: &str,
    body: &Map<String, Value>,
) -> Option<(Map<String, Value>, Value)> {
    if !matches!(object_type, "user" | "servicePrincipal") {
        return None;
    }
    let key = body.keys().find(|k| k.eq_ignore_ascii_case(crate::custom_security_attributes::PROPERTY))?;
    let mut rest = body.clone();
    let value = rest.remove(&key.clone())?;
    Some((rest, value))
}
