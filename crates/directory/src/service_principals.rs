//! Service principals: an application's instance in a tenant ("Create servicePrincipal").
//!
//! A service principal is created for an `appId` that names an application registered in this
//! tenant; the first-party resource applications (Microsoft Graph, Azure AD Graph) have theirs
//! from the bootstrap already. It mirrors its application's display name, app roles, scopes
//! and names (kept in step by application updates); its own properties (`accountEnabled`,
//! `appRoleAssignmentRequired`, `tags`, `notes`, ...) are set on it directly.

use cerulean_schema::EntityType;
use cerulean_store::{Change, ObjectRecord, Op, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::applications::{service_principal_claims, sync_service_principal};
use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::{WRITE_RETRIES, merge, reject_annotations};
use crate::validate::{Mode, now, validate_body};
use crate::{Caller, Directory};

/// The properties of a new service principal of an application of `owner_tenant` before the
/// application's own are copied in ([`sync_service_principal`]).
pub(crate) fn service_principal_defaults(owner_tenant: Uuid, display_name: Value) -> Map<String, Value> {
    json!({
        "accountEnabled": true,
        "addIns": [],
        "alternativeNames": [],
        "appDescription": null,
        "appOwnerOrganizationId": owner_tenant.to_string(),
        "appRoleAssignmentRequired": false,
        "displayName": display_name,
        "keyCredentials": [],
        "notificationEmailAddresses": [],
        "passwordCredentials": [],
        "replyUrls": [],
        "resourceSpecificApplicationPermissions": [],
        "servicePrincipalType": "Application",
        "tags": [],
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn service_principal_type() -> &'static EntityType {
    cerulean_schema::entity("servicePrincipal").expect("servicePrincipal is declared")
}

impl Directory {
    /// `POST /servicePrincipals`.
    pub async fn create_service_principal(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.create_service_principal_preset(caller, body, Uuid::new_v4()).await
    }

    /// `POST /servicePrincipals` with the object id an import presets. The resource service
    /// principals of Microsoft's first-party applications (Microsoft Graph, Azure AD Graph),
    /// which have no application in the tenant, are created as the bootstrap creates them.
    pub(crate) async fn create_service_principal_preset(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(service_principal_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "servicePrincipal")?;
        let app_id = props.get("appId").and_then(Value::as_str).unwrap_or_default().trim().to_string();
        if self.service_principal_by_app_id(caller.tenant, &app_id).await?.is_some() {
            return Err(name_in_use(&app_id));
        }
        let app = match self.store.find_unique(caller.tenant, "appId", &app_id.to_ascii_lowercase()).await? {
            Some(id) => self.get(caller.tenant, id).await?,
            None => None,
        };
        let app = app.filter(|a| a.object_type == "application");
        if app.is_none()
            && let Some(mut doc) = crate::bootstrap::first_party_service_principal(&app_id, &now())
        {
            // A first-party resource (an import of an exported tenant): the bootstrap's
            // document, the body on top.
            merge(&mut doc, &props);
            return self.insert_service_principal(caller, id, doc, &app_id).await;
        }
        let Some(app) = app else {
            return Err(DirectoryError::bad_request(format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            )));
        };
        let mut doc =
            service_principal_defaults(caller.tenant, app.doc.get("displayName").cloned().unwrap_or(Value::Null));
        doc.insert("createdDateTime".into(), json!(now()));
        sync_service_principal(&mut doc, &app.doc);
        merge(&mut doc, &props);
        doc.insert("appId".into(), json!(app.doc.get("appId").and_then(Value::as_str).unwrap_or(&app_id)));
        self.insert_service_principal(caller, id, doc, &app_id).await
    }

    async fn insert_service_principal(
        &self,
        caller: &Caller,
        id: Uuid,
        doc: Map<String, Value>,
        app_id: &str,
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
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => Err(name_in_use(app_id)),
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /servicePrincipals/{id}`.
    pub async fn update_service_principal(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let (mut props, annotations) = validate_body(service_principal_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "servicePrincipal")?;
        // Certificates are checked and kept as for applications, so that `addKey` can verify
        // a proof signed with one of them.
        let mut certificates = None;
        if let Some(keys) = props.get("keyCredentials").cloned() {
            let (checked, certs) = crate::applications::check_key_credentials(&keys)?;
            props.insert("keyCredentials".into(), checked);
            certificates = Some(certs);
        }
        for _ in 0..WRITE_RETRIES {
            let current = self.find_service_principal(caller.tenant, key).await?;
            let mut doc = current.doc.clone();
            merge(&mut doc, &props);
            let mut ops = vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: doc.clone(),
                unique: service_principal_claims(&doc),
            }];
            if let Some(certs) = &certificates {
                for old in self.store.secrets(caller.tenant, current.id).await? {
                    if old.kind == "certificate" {
                        ops.push(Op::DeleteSecret { owner: current.id, key_id: old.key_id });
                    }
                }
                for (key_id, der) in certs {
                    ops.push(Op::PutSecret(cerulean_store::SecretRecord {
                        owner: current.id,
                        kind: "certificate".into(),
                        key_id: *key_id,
                        hash: format!("der:{der}"),
                        meta: serde_json::json!({}),
                    }));
                }
            }
            let change = Change {
                ops,
                audit: audit::record(
                    caller,
                    "Update service principal",
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The service principal was modified concurrently; retry the request.".into()))
    }

    /// `DELETE /servicePrincipals/{id}`: to the recycle bin. The resource service principals
    /// of Microsoft's first-party applications stay: tokens for them depend on them.
    pub async fn delete_service_principal(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let sp = self.find_service_principal(caller.tenant, key).await?;
        if sp.doc.get("appOwnerOrganizationId").and_then(Value::as_str) == Some(crate::bootstrap::MICROSOFT_TENANT) {
            return Err(DirectoryError::Forbidden("Insufficient privileges to complete the operation.".into()));
        }
        self.delete_object(caller, "servicePrincipal", &sp.id.to_string()).await
    }
}

/// Graph's answer when the `appId` already has a service principal in the tenant.
fn name_in_use(app_id: &str) -> DirectoryError {
    DirectoryError::BadRequest {
        code: "Request_MultipleObjectsWithSameKeyValue",
        message: format!(
            "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
        ),
    }
}
