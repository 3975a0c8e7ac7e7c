//! App role assignments and delegated permission grants.
//!
//! An `appRoleAssignment` grants one app role of a resource service principal to a user, a
//! group or a service principal ("Grant an appRoleAssignment for a service principal",
//! "Grant an appRoleAssignment to a user/group"). The role must be one of the resource's
//! enabled `appRoles` whose `allowedMemberTypes` admit the principal (`Application` for
//! service principals, `User` for users and groups); the default role
//! `00000000-0000-0000-0000-000000000000` grants access without a role. Client credentials
//! tokens carry the values of the roles assigned to the client's service principal.
//!
//! An `oAuth2PermissionGrant` lets a client use delegated scopes of a resource for every user
//! (`AllPrincipals`) or for one (`Principal`) ("Create oAuth2PermissionGrant").

use cerulean_schema::EntityType;
use cerulean_store::{
    Change, CmpOp, Filter, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope, StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::{merge, reject_annotations};
use crate::validate::{Mode, now, validate_body};
use crate::{Caller, Directory};

/// The role id that assigns a principal to a resource without a specific role.
pub const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

/// Which object a request addresses assignments through.
#[derive(Debug, Clone, Copy)]
pub enum AssignmentAnchor<'a> {
    /// `/servicePrincipals/{id}/appRoleAssignedTo`: the resource.
    Resource(&'a str),
    /// `/{users|groups|servicePrincipals}/{id}/appRoleAssignments`: the principal, by type.
    Principal(&'a str, &'a str),
}

fn assignment_type() -> &'static EntityType {
    cerulean_schema::entity("appRoleAssignment").expect("appRoleAssignment is declared")
}

fn grant_type() -> &'static EntityType {
    cerulean_schema::entity("oAuth2PermissionGrant").expect("oAuth2PermissionGrant is declared")
}

/// A filter `path eq guid`.
pub fn guid_filter(path: &str, id: Uuid) -> Filter {
    Filter::Compare {
        path: PropPath::of(path),
        kind: ValueKind::Guid,
        op: CmpOp::Eq,
        value: Scalar::Str(id.to_string()),
    }
}

fn principal_type(object_type: &str) -> Option<&'static str> {
    match object_type {
        "user" => Some("User"),
        "group" => Some("Group"),
        "servicePrincipal" => Some("ServicePrincipal"),
        _ => None,
    }
}

fn display_name(o: &ObjectRecord) -> Value {
    o.doc.get("displayName").cloned().unwrap_or(Value::Null)
}

impl Directory {
    /// Resolves the anchor of an assignment route to its object.
    pub async fn assignment_anchor(&self, tenant: Uuid, anchor: AssignmentAnchor<'_>) -> DirectoryResult<ObjectRecord> {
        match anchor {
            AssignmentAnchor::Resource(key) => self.find_service_principal(tenant, key).await,
            AssignmentAnchor::Principal("servicePrincipal", key) => self.find_service_principal(tenant, key).await,
            AssignmentAnchor::Principal(object_type, key) => self.find(tenant, object_type, key).await,
        }
    }

    /// `POST /servicePrincipals/{id}/appRoleAssignedTo`, `POST /{users|groups|servicePrincipals}/{id}/appRoleAssignments`.
    pub async fn create_app_role_assignment(
        &self,
        caller: &Caller,
        anchor: AssignmentAnchor<'_>,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.create_app_role_assignment_preset(caller, anchor, body, Uuid::new_v4()).await
    }

    /// [`Directory::create_app_role_assignment`] with the object id an import presets.
    pub(crate) async fn create_app_role_assignment_preset(
        &self,
        caller: &Caller,
        anchor: AssignmentAnchor<'_>,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(assignment_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "appRoleAssignment")?;
        let anchor_object = self.assignment_anchor(caller.tenant, anchor).await?;
        let id_of = |k: &str| props.get(k).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
        let (Some(principal_id), Some(resource_id), Some(role_id)) =
            (id_of("principalId"), id_of("resourceId"), id_of("appRoleId"))
        else {
            return Err(DirectoryError::bad_request("Invalid value specified for property 'principalId'."));
        };
        match anchor {
            AssignmentAnchor::Resource(_) if resource_id != anchor_object.id => {
                return Err(DirectoryError::bad_request(format!(
                    "The resourceId '{resource_id}' does not match the service principal '{}' of the request URL.",
                    anchor_object.id
                )));
            }
            AssignmentAnchor::Principal(..) if principal_id != anchor_object.id => {
                return Err(DirectoryError::bad_request(format!(
                    "The principalId '{principal_id}' does not match the object '{}' of the request URL.",
                    anchor_object.id
                )));
            }
            _ => {}
        }
        let principal = self
            .get(caller.tenant, principal_id)
            .await?
            .ok_or_else(|| crate::groups::invalid_reference(principal_id))?;
        let Some(kind) = principal_type(&principal.object_type) else {
            return Err(DirectoryError::bad_request(format!(
                "An object of type '{}' cannot be assigned an app role.",
                principal.object_type
            )));
        };
        let resource = match self.get(caller.tenant, resource_id).await? {
            Some(r) if r.object_type == "servicePrincipal" => r,
            _ => return Err(crate::groups::invalid_reference(resource_id)),
        };
        let role_key = role_id.to_string();
        if role_key != DEFAULT_ACCESS_ROLE {
            let roles = resource.doc.get("appRoles").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let role = roles
                .iter()
                .find(|r| r.get("id").and_then(Value::as_str).is_some_and(|i| i.eq_ignore_ascii_case(&role_key)));
            let resource_app = resource.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
            let Some(role) = role.filter(|r| r.get("isEnabled").and_then(Value::as_bool) != Some(false)) else {
                return Err(DirectoryError::bad_request(format!(
                    "Permission being assigned was not found on application '{resource_app}'."
                )));
            };
            let member = if kind == "ServicePrincipal" { "Application" } else { "User" };
            if !crate::groups::string_list(role.get("allowedMemberTypes")).iter().any(|t| t == member) {
                return Err(DirectoryError::bad_request(format!(
                    "The app role '{role_key}' of application '{resource_app}' cannot be assigned to a principal of type '{kind}'."
                )));
            }
        }
        // Assignments made before uniqueness claims (the bootstrap's) are found by listing.
        let mut query = ListQuery::new(&["appRoleAssignment"], Scope::Live);
        query.filter =
            Some(Filter::And(vec![guid_filter("principalId", principal.id), guid_filter("resourceId", resource.id)]));
        query.top = 999;
        let existing = self.store.list(caller.tenant, &query).await?;
        if existing
            .items
            .iter()
            .any(|a| a.doc.get("appRoleId").and_then(Value::as_str).is_some_and(|r| r.eq_ignore_ascii_case(&role_key)))
        {
            return Err(already_assigned());
        }
        let doc = json!({
            "appRoleId": role_key,
            "createdDateTime": now(),
            "principalDisplayName": display_name(&principal),
            "principalId": principal.id.to_string(),
            "principalType": kind,
            "resourceDisplayName": display_name(&resource),
            "resourceId": resource.id.to_string(),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let object = ObjectRecord { id, object_type: "appRoleAssignment".into(), version: 1, doc, deleted_at: None };
        let claim = format!("{}:{}:{}", principal.id, resource.id, role_key);
        let activity = match kind {
            "User" => "Add app role assignment grant to user",
            "Group" => "Add app role assignment to group",
            _ => "Add app role assignment to service principal",
        };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: vec![("appRoleAssignment".into(), claim)] }],
            audit: audit::record(
                caller,
                activity,
                "ApplicationManagement",
                "Assign",
                vec![
                    audit::target(&object, None, Some(&object.doc)),
                    audit::bare_target(&principal),
                    audit::bare_target(&resource),
                ],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => Err(already_assigned()),
            Err(e) => Err(e.into()),
        }
    }

    /// One assignment reached through its anchor (404 when it belongs to another object).
    pub async fn app_role_assignment(
        &self,
        tenant: Uuid,
        anchor: AssignmentAnchor<'_>,
        id: &str,
    ) -> DirectoryResult<ObjectRecord> {
        let anchor_object = self.assignment_anchor(tenant, anchor).await?;
        let assignment = self.find(tenant, "appRoleAssignment", id).await?;
        let field = match anchor {
            AssignmentAnchor::Resource(_) => "resourceId",
            AssignmentAnchor::Principal(..) => "principalId",
        };
        let owner = assignment.doc.get(field).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
        if owner != Some(anchor_object.id) {
            return Err(DirectoryError::not_found(id));
        }
        Ok(assignment)
    }

    /// `DELETE .../appRoleAssignedTo/{id}` and `.../appRoleAssignments/{id}`: removed for good.
    pub async fn delete_app_role_assignment(
        &self,
        caller: &Caller,
        anchor: AssignmentAnchor<'_>,
        id: &str,
    ) -> DirectoryResult<()> {
        let assignment = self.app_role_assignment(caller.tenant, anchor, id).await?;
        let change = Change {
            ops: vec![Op::Purge { id: assignment.id }],
            audit: audit::record(
                caller,
                "Remove app role assignment",
                "ApplicationManagement",
                "Unassign",
                vec![audit::target(&assignment, Some(&assignment.doc), None)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// `POST /oauth2PermissionGrants`.
    pub async fn create_permission_grant(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.create_permission_grant_preset(caller, body, Uuid::new_v4()).await
    }

    /// [`Directory::create_permission_grant`] with the object id an import presets.
    pub(crate) async fn create_permission_grant_preset(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(grant_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "oAuth2PermissionGrant")?;
        let text = |k: &str| props.get(k).and_then(Value::as_str).unwrap_or_default().trim().to_string();
        let client = self.grant_service_principal(caller.tenant, &text("clientId"), "clientId").await?;
        let resource = self.grant_service_principal(caller.tenant, &text("resourceId"), "resourceId").await?;
        let consent = match text("consentType") {
            c if c.eq_ignore_ascii_case("AllPrincipals") => "AllPrincipals",
            c if c.eq_ignore_ascii_case("Principal") => "Principal",
            _ => return Err(invalid_grant("consentType")),
        };
        let principal = match (consent, props.get("principalId").and_then(Value::as_str)) {
            ("Principal", Some(p)) => {
                let id = Uuid::parse_str(p).map_err(|_| invalid_grant("principalId"))?;
                let user = self.get(caller.tenant, id).await?.filter(|u| u.object_type == "user");
                Some(user.ok_or_else(|| crate::groups::invalid_reference(id))?.id)
            }
            ("Principal", None) => {
                return Err(DirectoryError::bad_request(
                    "Property principalId value is required but is empty or missing.",
                ));
            }
            (_, Some(_)) => return Err(invalid_grant("principalId")),
            (_, None) => None,
        };
        let scope = normalise_scope(props.get("scope"))?;
        let doc = json!({
            "clientId": client.id.to_string(),
            "consentType": consent,
            "principalId": principal.map(|p| p.to_string()),
            "resourceId": resource.id.to_string(),
            "scope": scope,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let object =
            ObjectRecord { id, object_type: "oAuth2PermissionGrant".into(), version: 1, doc, deleted_at: None };
        let claim = format!(
            "{}:{}:{}",
            client.id,
            resource.id,
            principal.map(|p| p.to_string()).unwrap_or_else(|| "all".into())
        );
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: vec![("oauth2PermissionGrant".into(), claim)] }],
            audit: audit::record(
                caller,
                "Add delegated permission grant",
                "ApplicationManagement",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(object),
            Err(StoreError::Conflict { .. }) => Err(DirectoryError::bad_request("Permission entry already exists.")),
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /oauth2PermissionGrants/{id}`: only `scope` changes.
    pub async fn update_permission_grant(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let (mut props, annotations) = validate_body(grant_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "oAuth2PermissionGrant")?;
        if let Some(scope) = props.get("scope") {
            let s = normalise_scope(Some(scope))?;
            props.insert("scope".into(), json!(s));
        }
        let current = self.find(caller.tenant, "oAuth2PermissionGrant", key).await?;
        let mut doc = current.doc.clone();
        merge(&mut doc, &props);
        let claim = grant_claim(&doc);
        let change = Change {
            ops: vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: doc.clone(),
                unique: claim,
            }],
            audit: audit::record(
                caller,
                "Update delegated permission grant",
                "ApplicationManagement",
                "Update",
                vec![audit::target(&current, Some(&current.doc), Some(&doc))],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// `DELETE /oauth2PermissionGrants/{id}`.
    pub async fn delete_permission_grant(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let current = self.find(caller.tenant, "oAuth2PermissionGrant", key).await?;
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(
                caller,
                "Remove delegated permission grant",
                "ApplicationManagement",
                "Delete",
                vec![audit::target(&current, Some(&current.doc), None)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }
}

impl Directory {
    /// The service principal a grant names by object id in `property`.
    async fn grant_service_principal(
        &self,
        tenant: Uuid,
        value: &str,
        property: &str,
    ) -> DirectoryResult<ObjectRecord> {
        let id = Uuid::parse_str(value).map_err(|_| invalid_grant(property))?;
        match self.get(tenant, id).await? {
            Some(o) if o.object_type == "servicePrincipal" => Ok(o),
            _ => Err(crate::groups::invalid_reference(id)),
        }
    }
}

fn grant_claim(doc: &Map<String, Value>) -> Vec<(String, String)> {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("all").to_string();
    vec![("oauth2PermissionGrant".into(), format!("{}:{}:{}", s("clientId"), s("resourceId"), s("principalId")))]
}

/// Scopes are space-separated values; Graph stores them as sent, single-spaced.
fn normalise_scope(v: Option<&Value>) -> DirectoryResult<String> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        Some(_) => Err(invalid_grant("scope")),
    }
}

fn invalid_grant(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'OAuth2PermissionGrant'."
    ))
}

fn already_assigned() -> DirectoryError {
    DirectoryError::bad_request("Permission being assigned already exists on the object")
}
