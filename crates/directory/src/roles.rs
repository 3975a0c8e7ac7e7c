//! Directory roles and role-based access control: role templates, activated directory roles,
//! role definitions (built-in and custom) and role assignments.
//!
//! # One set of data
//!
//! A role assignment (`unifiedRoleAssignment` object: principal, role definition, directory
//! scope) is the record of who holds what. An assignment of a built-in role over the whole
//! directory (`/`) *is* membership of the role's `directoryRole`: writing it activates the role
//! when needed and adds the `Member` edge (role -> principal) in the same transaction, and
//! adding a member through `/directoryRoles/{id}/members/$ref` writes that same assignment. So
//! `memberOf`, `directoryRoles/{id}/members`, `roleAssignments` and the `wids` claim all read
//! one consistent state.
//!
//! # Role definitions
//!
//! The built-in definitions come from [`crate::role_catalog`]; each tenant holds them as
//! `unifiedRoleDefinition` objects whose id is the template id (as in Entra), written at
//! bootstrap and completed on first use for tenants created before the catalogue grew. Holding
//! them in the store gives them the same `$filter`, `$select` and paging as custom roles.
//! Built-ins are immutable; custom roles grant only the actions custom roles may hold.

use cerulean_store::{
    Change, CmpOp, EdgeKind, Filter, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope, StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::role_catalog::{self, BUILT_IN_ROLES, BuiltInRole};
use crate::validate::{Mode, validate_body};
use crate::{Caller, Directory, audit};

/// Object types of this module.
pub const DIRECTORY_ROLE: &str = "directoryRole";
pub const ROLE_DEFINITION: &str = "unifiedRoleDefinition";
pub const ROLE_ASSIGNMENT: &str = "unifiedRoleAssignment";
pub const ROLE_TEMPLATE: &str = "directoryRoleTemplate";

/// Claim namespaces: one assignment per (definition, principal, scope); one definition per
/// display name; one activated role per template.
const ASSIGNMENT_CLAIM: &str = "roleAssignment";
const DEFINITION_NAME_CLAIM: &str = "roleDefinitionName";
const TEMPLATE_CLAIM: &str = "roleTemplateId";

/// How many custom role definitions and assignments a principal's check reads at most.
const MAX_ASSIGNMENTS: usize = 500;

/// What one role assignment grants, for authorization decisions.
#[derive(Debug, Clone)]
pub struct RoleGrant {
    pub role_definition_id: String,
    /// The definition's allowed resource actions.
    pub actions: Vec<String>,
    /// `/` or `/administrativeUnits/{id}`.
    pub scope: String,
}

impl RoleGrant {
    /// Whether this grant includes resource action `wanted`.
    pub fn allows(&self, wanted: &str) -> bool {
        self.actions.iter().any(|a| role_catalog::covers(a, wanted))
    }

    /// The administrative unit the grant is limited to, if any.
    pub fn administrative_unit(&self) -> Option<Uuid> {
        let rest = self
            .scope
            .strip_prefix("/administrativeUnits/")
            .or_else(|| self.scope.strip_prefix("/administrativeunits/"))?;
        Uuid::parse_str(rest).ok()
    }
}

fn conflicting() -> DirectoryError {
    DirectoryError::bad_request(
        "A conflicting object with one or more of the specified property values is present in the directory.",
    )
}

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn text<'a>(o: &'a ObjectRecord, key: &str) -> &'a str {
    o.doc.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The document of a built-in role definition.
fn built_in_definition(role: &BuiltInRole) -> Map<String, Value> {
    doc(json!({
        "displayName": role.display_name,
        "description": role.description,
        "isBuiltIn": true,
        "isEnabled": true,
        "resourceScopes": ["/"],
        "rolePermissions": [{"allowedResourceActions": role.actions, "condition": null, "excludedResourceActions": []}],
        "templateId": role.id,
        "version": "1",
    }))
}

/// The built-in role templates as (unsaved) directory objects, for `/directoryRoleTemplates`.
pub fn role_templates() -> Vec<ObjectRecord> {
    BUILT_IN_ROLES.iter().filter_map(template_record).collect()
}

fn template_record(role: &BuiltInRole) -> Option<ObjectRecord> {
    Some(ObjectRecord {
        id: Uuid::parse_str(role.id).ok()?,
        object_type: ROLE_TEMPLATE.into(),
        version: 1,
        doc: doc(json!({"displayName": role.display_name, "description": role.description, "deletedDateTime": null})),
        deleted_at: None,
    })
}

/// One role template by id.
pub fn role_template(id: &str) -> DirectoryResult<ObjectRecord> {
    role_catalog::built_in(id).and_then(template_record).ok_or_else(|| DirectoryError::not_found(id))
}

impl Directory {
    /// Writes the built-in role definitions the tenant does not hold yet (all of them on a new
    /// tenant). Concurrent callers may race; the loser finds them written on its second look.
    pub async fn ensure_role_definitions(&self, tenant: Uuid) -> DirectoryResult<()> {
        for attempt in 0..2 {
            let ids: Vec<Uuid> = BUILT_IN_ROLES.iter().filter_map(|r| Uuid::parse_str(r.id).ok()).collect();
            let present = self.store.get_many(tenant, &ids).await?;
            let missing: Vec<&BuiltInRole> = BUILT_IN_ROLES
                .iter()
                .filter(|r| !present.iter().any(|p| p.id.to_string().eq_ignore_ascii_case(r.id)))
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            let mut ops = Vec::new();
            for role in &missing {
                let Ok(id) = Uuid::parse_str(role.id) else { continue };
                ops.push(Op::Insert {
                    object: ObjectRecord {
                        id,
                        object_type: ROLE_DEFINITION.into(),
                        version: 1,
                        doc: built_in_definition(role),
                        deleted_at: None,
                    },
                    unique: vec![(DEFINITION_NAME_CLAIM.into(), role.display_name.to_lowercase())],
                });
            }
            let change = Change {
                ops,
                audit: audit::record(
                    &Caller::system(tenant),
                    "Add role definition",
                    "RoleManagement",
                    "Add",
                    Vec::new(),
                ),
            };
            match self.apply_change(tenant, change).await {
                Ok(_) => return Ok(()),
                Err(e) if attempt == 1 => return Err(e.into()),
                Err(_) => continue,
            }
        }
        Ok(())
    }

    // ---- directory roles --------------------------------------------------------------------

    /// A directory role by id, or by `roleTemplateId={id}` (the alternate key of
    /// `directoryRoles(roleTemplateId='...')`).
    pub async fn find_directory_role(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        let template = key.get(..15).filter(|p| p.eq_ignore_ascii_case("roleTemplateId=")).map(|_| &key[15..]);
        match template {
            Some(t) => {
                let t = t.trim_matches('\'').to_ascii_lowercase();
                let id = self.store.find_unique(tenant, TEMPLATE_CLAIM, &t).await?;
                match id {
                    Some(id) => self.find(tenant, DIRECTORY_ROLE, &id.to_string()).await,
                    None => Err(DirectoryError::not_found(&t)),
                }
            }
            None => self.find(tenant, DIRECTORY_ROLE, key).await,
        }
    }

    /// `POST /directoryRoles` with `roleTemplateId`: activates a built-in role.
    pub async fn activate_directory_role(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        for key in body.keys() {
            if !key.eq_ignore_ascii_case("roleTemplateId") && !key.starts_with('@') {
                return Err(crate::validate::unknown_property(key, DIRECTORY_ROLE));
            }
        }
        let template = body
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("roleTemplateId"))
            .and_then(|(_, v)| v.as_str())
            .ok_or_else(|| {
                DirectoryError::bad_request("Property roleTemplateId value is required but is empty or missing.")
            })?;
        let role = role_catalog::built_in(template).ok_or_else(|| {
            DirectoryError::bad_request(
                "Invalid value specified for property 'roleTemplateId' of resource 'DirectoryRole'.",
            )
        })?;
        let record = directory_role_record(role);
        let change = Change {
            ops: vec![Op::Insert {
                object: record.clone(),
                unique: vec![(TEMPLATE_CLAIM.into(), role.id.to_string())],
            }],
            audit: audit::record(
                caller,
                "Add role from template",
                "RoleManagement",
                "Add",
                vec![audit::bare_target(&record)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(record),
            Err(StoreError::Conflict { .. }) => Err(conflicting()),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /directoryRoles/{id}/members/$ref`: a directory-wide assignment of the role.
    pub async fn add_directory_role_member(&self, caller: &Caller, key: &str, member: Uuid) -> DirectoryResult<()> {
        let role = self.find_directory_role(caller.tenant, key).await?;
        let body = doc(json!({
            "principalId": member.to_string(),
            "roleDefinitionId": text(&role, "roleTemplateId"),
            "directoryScopeId": "/",
        }));
        match self.create_role_assignment(caller, &body).await {
            Err(DirectoryError::BadRequest { message, .. }) if message.starts_with("A conflicting object") => {
                Err(crate::groups::already_exist("members"))
            }
            other => other.map(|_| ()),
        }
    }

    /// `DELETE /directoryRoles/{id}/members/{memberId}/$ref`.
    pub async fn remove_directory_role_member(&self, caller: &Caller, key: &str, member: &str) -> DirectoryResult<()> {
        let role = self.find_directory_role(caller.tenant, key).await?;
        let member_id = Uuid::parse_str(member).map_err(|_| DirectoryError::not_found(member))?;
        let claim = assignment_claim(text(&role, "roleTemplateId"), member_id, "/");
        let id = self.store.find_unique(caller.tenant, ASSIGNMENT_CLAIM, &claim).await?;
        let id = id.ok_or_else(|| DirectoryError::not_found(member))?;
        self.delete_role_assignment(caller, &id.to_string()).await
    }

    // ---- role definitions -------------------------------------------------------------------

    /// A role definition (built-in or custom) by id.
    pub async fn find_role_definition(&self, tenant: Uuid, id: &str) -> DirectoryResult<ObjectRecord> {
        self.ensure_role_definitions(tenant).await?;
        self.find(tenant, ROLE_DEFINITION, id).await
    }

    /// `POST /roleManagement/directory/roleDefinitions`: a custom role.
    pub async fn create_role_definition(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.ensure_role_definitions(caller.tenant).await?;
        let entity = entity(ROLE_DEFINITION)?;
        let (mut props, annotations) = validate_body(entity, body, Mode::Create)?;
        reject_annotations(&annotations)?;
        if props.get("isEnabled").is_none_or(Value::is_null) {
            return Err(DirectoryError::bad_request("Property isEnabled value is required but is empty or missing."));
        }
        check_permissions(&props)?;
        check_scopes(&props)?;
        let id = match props.get("templateId").and_then(Value::as_str) {
            Some(t) => {
                let id = Uuid::parse_str(t).map_err(|_| {
                    DirectoryError::bad_request(
                        "Invalid value specified for property 'templateId' of resource 'UnifiedRoleDefinition'.",
                    )
                })?;
                if role_catalog::built_in(t).is_some() {
                    return Err(conflicting());
                }
                id
            }
            None => Uuid::new_v4(),
        };
        props.insert("templateId".into(), json!(id.to_string()));
        props.insert("isBuiltIn".into(), json!(false));
        props.entry("resourceScopes").or_insert_with(|| json!(["/"]));
        props.entry("description").or_insert(Value::Null);
        props.entry("version").or_insert(Value::Null);
        let name = props.get("displayName").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        let record = ObjectRecord { id, object_type: ROLE_DEFINITION.into(), version: 1, doc: props, deleted_at: None };
        let change = Change {
            ops: vec![Op::Insert { object: record.clone(), unique: vec![(DEFINITION_NAME_CLAIM.into(), name)] }],
            audit: audit::record(
                caller,
                "Add role definition",
                "RoleManagement",
                "Add",
                vec![audit::target(&record, None, Some(&record.doc))],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(record),
            Err(StoreError::Conflict { namespace, .. }) if namespace == DEFINITION_NAME_CLAIM => Err(duplicate_name()),
            Err(StoreError::Conflict { .. }) => Err(conflicting()),
            Err(e) => Err(e.into()),
        }
    }

    /// `PATCH /roleManagement/directory/roleDefinitions/{id}`: custom roles only.
    pub async fn update_role_definition(
        &self,
        caller: &Caller,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let current = self.find_role_definition(caller.tenant, id).await?;
        refuse_built_in(&current)?;
        let (props, annotations) = validate_body(entity(ROLE_DEFINITION)?, body, Mode::Update)?;
        reject_annotations(&annotations)?;
        check_permissions(&props)?;
        check_scopes(&props)?;
        let mut next = current.doc.clone();
        next.extend(props);
        let name = next.get("displayName").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        let change = Change {
            ops: vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: next.clone(),
                unique: vec![(DEFINITION_NAME_CLAIM.into(), name)],
            }],
            audit: audit::record(
                caller,
                "Update role definition",
                "RoleManagement",
                "Update",
                vec![audit::target(&current, Some(&current.doc), Some(&next))],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(duplicate_name()),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /roleManagement/directory/roleDefinitions/{id}`: custom roles without
    /// assignments.
    pub async fn delete_role_definition(&self, caller: &Caller, id: &str) -> DirectoryResult<()> {
        let current = self.find_role_definition(caller.tenant, id).await?;
        refuse_built_in(&current)?;
        let mut query = ListQuery::new(&[ROLE_ASSIGNMENT], Scope::Live);
        query.filter = Some(eq("roleDefinitionId", &current.id.to_string()));
        query.top = 1;
        if !self.store.list(caller.tenant, &query).await?.items.is_empty() {
            return Err(DirectoryError::bad_request(
                "The role definition has role assignments; remove them before deleting the role definition.",
            ));
        }
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(
                caller,
                "Delete role definition",
                "RoleManagement",
                "Delete",
                vec![audit::bare_target(&current)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    // ---- role assignments -------------------------------------------------------------------

    pub async fn find_role_assignment(&self, tenant: Uuid, id: &str) -> DirectoryResult<ObjectRecord> {
        self.find(tenant, ROLE_ASSIGNMENT, id).await
    }

    /// `POST /roleManagement/directory/roleAssignments`.
    pub async fn create_role_assignment(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.create_role_assignment_preset(caller, body, Uuid::new_v4()).await
    }

    /// [`Directory::create_role_assignment`] with the object id chosen by the caller (fixture
    /// import).
    pub(crate) async fn create_role_assignment_preset(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(entity(ROLE_ASSIGNMENT)?, body, Mode::Create)?;
        reject_annotations(&annotations)?;
        if props.get("appScopeId").is_some_and(|v| !v.is_null()) {
            return Err(DirectoryError::bad_request(
                "Only directory scopes are supported: set directoryScopeId, not appScopeId.",
            ));
        }
        if props.get("condition").is_some_and(|v| !v.is_null()) {
            return Err(DirectoryError::bad_request("Conditions on role assignments are not supported."));
        }
        let principal_key = props.get("principalId").and_then(Value::as_str).unwrap_or_default();
        let principal = match Uuid::parse_str(principal_key) {
            Ok(id) => self.get(caller.tenant, id).await?,
            Err(_) => None,
        }
        .filter(|o| matches!(o.object_type.as_str(), "user" | "group" | "servicePrincipal"))
        .ok_or_else(|| DirectoryError::not_found(principal_key))?;
        if principal.object_type == "group"
            && principal.doc.get("isAssignableToRole").and_then(Value::as_bool) != Some(true)
        {
            return Err(DirectoryError::bad_request(
                "Groups without IsAssignableToRole property set cannot be assigned to roles.",
            ));
        }
        let definition_key = props.get("roleDefinitionId").and_then(Value::as_str).unwrap_or_default();
        let definition = self.find_role_definition(caller.tenant, definition_key).await?;
        if definition.doc.get("isEnabled").and_then(Value::as_bool) == Some(false) {
            return Err(DirectoryError::bad_request("The role definition is disabled and cannot be assigned."));
        }
        let scope = props.get("directoryScopeId").and_then(Value::as_str).unwrap_or("/").to_string();
        let scope = self.check_directory_scope(caller.tenant, &scope).await?;
        // Entra lets only some built-in roles (and custom roles) be scoped to an administrative
        // unit ("Roles that can be assigned with administrative unit scope").
        if scope != "/"
            && let Some(role) = role_catalog::built_in(&definition.id.to_string())
            && !role_catalog::AU_SCOPABLE_ROLES.contains(&role.id)
        {
            return Err(DirectoryError::bad_request(format!(
                "The role '{}' cannot be assigned at administrative unit scope '{scope}'; only roles that \
                 support administrative unit scope can be.",
                role.display_name
            )));
        }

        let assignment = ObjectRecord {
            id,
            object_type: ROLE_ASSIGNMENT.into(),
            version: 1,
            doc: doc(json!({
                "principalId": principal.id.to_string(),
                "roleDefinitionId": definition.id.to_string(),
                "directoryScopeId": scope,
                "appScopeId": null,
                "condition": null,
                "principalOrganizationId": caller.tenant.to_string(),
            })),
            deleted_at: None,
        };
        let claim = assignment_claim(&definition.id.to_string(), principal.id, &scope);
        // Two first assignments of a role may race to activate it: the loser retries once and
        // finds the role active.
        for attempt in 0..2 {
            let mut ops =
                vec![Op::Insert { object: assignment.clone(), unique: vec![(ASSIGNMENT_CLAIM.into(), claim.clone())] }];
            let mut targets = vec![audit::bare_target(&principal)];
            // A directory-wide assignment of a built-in role is membership of its directory role.
            let built_in = role_catalog::built_in(&definition.id.to_string());
            if let (Some(role), "/") = (built_in, scope.as_str()) {
                let existing = self.store.find_unique(caller.tenant, TEMPLATE_CLAIM, role.id).await?;
                let role_id = match existing {
                    Some(id) => id,
                    None => {
                        let record = directory_role_record(role);
                        ops.push(Op::Insert {
                            object: record.clone(),
                            unique: vec![(TEMPLATE_CLAIM.into(), role.id.into())],
                        });
                        record.id
                    }
                };
                if !self.store.has_edge(caller.tenant, EdgeKind::Member, role_id, principal.id).await? {
                    ops.push(Op::AddEdge { kind: EdgeKind::Member, source: role_id, target: principal.id });
                }
                targets.push(cerulean_store::AuditTarget {
                    id: role_id,
                    object_type: DIRECTORY_ROLE.into(),
                    display_name: Some(role.display_name.into()),
                    modified: Vec::new(),
                });
            } else {
                targets.push(audit::bare_target(&definition));
            }
            let change =
                Change { ops, audit: audit::record(caller, "Add member to role", "RoleManagement", "Assign", targets) };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(assignment),
                Err(StoreError::Conflict { namespace, .. }) if namespace == TEMPLATE_CLAIM && attempt == 0 => continue,
                Err(StoreError::Conflict { .. } | StoreError::EdgeExists(_)) => return Err(conflicting()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(conflicting())
    }

    /// `DELETE /roleManagement/directory/roleAssignments/{id}` (and role member removal).
    pub async fn delete_role_assignment(&self, caller: &Caller, id: &str) -> DirectoryResult<()> {
        let assignment = self.find_role_assignment(caller.tenant, id).await?;
        let principal = Uuid::parse_str(text(&assignment, "principalId")).ok();
        let definition = text(&assignment, "roleDefinitionId").to_string();
        let scope = text(&assignment, "directoryScopeId").to_string();
        let mut ops = vec![Op::Purge { id: assignment.id }];
        if let (Some(role), Some(principal), "/") = (role_catalog::built_in(&definition), principal, scope.as_str())
            && let Some(role_id) = self.store.find_unique(caller.tenant, TEMPLATE_CLAIM, role.id).await?
            && self.store.has_edge(caller.tenant, EdgeKind::Member, role_id, principal).await?
        {
            ops.push(Op::RemoveEdge { kind: EdgeKind::Member, source: role_id, target: principal });
        }
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Remove member from role",
                "RoleManagement",
                "Unassign",
                vec![audit::bare_target(&assignment)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// A directory scope as stored: `/`, or `/administrativeUnits/{id}` naming a live
    /// administrative unit.
    async fn check_directory_scope(&self, tenant: Uuid, scope: &str) -> DirectoryResult<String> {
        if scope == "/" {
            return Ok(scope.to_string());
        }
        let invalid = || {
            DirectoryError::bad_request(format!(
                "Invalid value specified for property 'directoryScopeId' of resource 'UnifiedRoleAssignment': '{scope}'."
            ))
        };
        let unit = scope
            .strip_prefix('/')
            .and_then(|s| s.split_once('/'))
            .filter(|(set, _)| set.eq_ignore_ascii_case("administrativeUnits"))
            .and_then(|(_, id)| Uuid::parse_str(id).ok())
            .ok_or_else(invalid)?;
        match self.get(tenant, unit).await? {
            Some(o) if o.object_type == "administrativeUnit" => Ok(format!("/administrativeUnits/{unit}")),
            _ => Err(invalid()),
        }
    }

    // ---- what a principal holds -------------------------------------------------------------

    /// The role grants of `principal`: its own assignments and those of the groups it is a
    /// direct member of (role-assignable groups carry roles to their members), each with the
    /// resource actions of its role definition.
    pub async fn role_grants(&self, tenant: Uuid, principal: Uuid) -> DirectoryResult<Vec<RoleGrant>> {
        let mut holders = vec![principal];
        holders.extend(self.store.edge_ids(tenant, EdgeKind::Member, principal, true).await?);
        let mut query = ListQuery::new(&[ROLE_ASSIGNMENT], Scope::Live);
        query.filter = Some(Filter::In {
            path: PropPath::of("principalId"),
            kind: ValueKind::String,
            values: holders.iter().map(|h| Scalar::Str(h.to_string())).collect(),
        });
        query.top = MAX_ASSIGNMENTS;
        let page = self.store.list(tenant, &query).await?;
        let mut grants = Vec::with_capacity(page.items.len());
        for a in &page.items {
            let definition = text(a, "roleDefinitionId").to_string();
            let actions: Vec<String> = match role_catalog::built_in(&definition) {
                Some(role) => role.actions.iter().map(|s| s.to_string()).collect(),
                None => match Uuid::parse_str(&definition) {
                    Ok(id) => self.get(tenant, id).await?.filter(|d| d.object_type == ROLE_DEFINITION).map(|d| {
                        if d.doc.get("isEnabled").and_then(Value::as_bool) == Some(false) {
                            return Vec::new();
                        }
                        definition_actions(&d)
                    }),
                    Err(_) => None,
                }
                .unwrap_or_default(),
            };
            grants.push(RoleGrant {
                role_definition_id: definition,
                actions,
                scope: text(a, "directoryScopeId").to_string(),
            });
        }
        Ok(grants)
    }

    /// The ops that remove every role assignment of `principal`, for a principal deleted for
    /// good (its directory role memberships go with its edges).
    pub(crate) async fn assignment_purges(&self, tenant: Uuid, principal: Uuid) -> DirectoryResult<Vec<Op>> {
        let mut query = ListQuery::new(&[ROLE_ASSIGNMENT], Scope::Live);
        query.filter = Some(eq("principalId", &principal.to_string()));
        query.top = MAX_ASSIGNMENTS;
        let page = self.store.list(tenant, &query).await?;
        Ok(page.items.iter().map(|a| Op::Purge { id: a.id }).collect())
    }

    /// Whether `target` is a direct member of administrative unit `unit`.
    pub async fn in_administrative_unit(&self, tenant: Uuid, unit: Uuid, target: Uuid) -> DirectoryResult<bool> {
        Ok(self.store.has_edge(tenant, EdgeKind::Member, unit, target).await?)
    }
}

/// A definition's allowed resource actions.
fn definition_actions(d: &ObjectRecord) -> Vec<String> {
    d.doc
        .get("rolePermissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|p| p.get("allowedResourceActions").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

fn directory_role_record(role: &BuiltInRole) -> ObjectRecord {
    ObjectRecord {
        id: Uuid::new_v4(),
        object_type: DIRECTORY_ROLE.into(),
        version: 1,
        doc: doc(json!({
            "displayName": role.display_name,
            "description": role.description,
            "roleTemplateId": role.id,
        })),
        deleted_at: None,
    }
}

fn assignment_claim(definition: &str, principal: Uuid, scope: &str) -> String {
    format!("{}|{principal}|{}", definition.to_ascii_lowercase(), scope.to_ascii_lowercase())
}

fn eq(property: &str, value: &str) -> Filter {
    Filter::Compare {
        path: PropPath::of(property),
        kind: ValueKind::String,
        op: CmpOp::Eq,
        value: Scalar::Str(value.to_string()),
    }
}

fn entity(name: &str) -> DirectoryResult<&'static cerulean_schema::EntityType> {
    cerulean_schema::entity(name).ok_or_else(|| DirectoryError::Internal(format!("{name} is not declared")))
}

fn reject_annotations(annotations: &Map<String, Value>) -> DirectoryResult<()> {
    match annotations.keys().find(|k| !k.eq_ignore_ascii_case("@odata.type")) {
        Some(k) => Err(crate::validate::unknown_property(k, ROLE_DEFINITION)),
        None => Ok(()),
    }
}

fn refuse_built_in(d: &ObjectRecord) -> DirectoryResult<()> {
    if d.doc.get("isBuiltIn").and_then(Value::as_bool) == Some(true) {
        return Err(DirectoryError::bad_request("Built-in role definitions cannot be modified or deleted."));
    }
    Ok(())
}

fn duplicate_name() -> DirectoryError {
    DirectoryError::bad_request("A role definition with the same displayName already exists in the directory.")
}

/// Custom roles: at least one permission, every action one that custom roles may hold, no
/// excluded actions or conditions.
fn check_permissions(props: &Map<String, Value>) -> DirectoryResult<()> {
    let Some(perms) = props.get("rolePermissions") else {
        return Ok(());
    };
    let perms = perms.as_array().cloned().unwrap_or_default();
    let mut any = false;
    for p in &perms {
        if p.get("excludedResourceActions").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            return Err(DirectoryError::bad_request("excludedResourceActions is not supported for custom roles."));
        }
        if p.get("condition").is_some_and(|c| !c.is_null()) {
            return Err(DirectoryError::bad_request("Conditions are not supported for custom roles."));
        }
        for action in p.get("allowedResourceActions").and_then(Value::as_array).into_iter().flatten() {
            let action = action.as_str().unwrap_or_default();
            if let Some(message) = role_catalog::custom_action_error(action) {
                return Err(DirectoryError::bad_request(message));
            }
            any = true;
        }
    }
    if !any {
        return Err(DirectoryError::bad_request("Property rolePermissions value is required but is empty or missing."));
    }
    Ok(())
}

/// Custom directory roles apply over the whole directory: `resourceScopes` is `["/"]`.
fn check_scopes(props: &Map<String, Value>) -> DirectoryResult<()> {
    match props.get("resourceScopes").and_then(Value::as_array) {
        Some(scopes) if !scopes.iter().all(|s| s.as_str() == Some("/")) => Err(DirectoryError::bad_request(
            "Invalid value specified for property 'resourceScopes' of resource 'UnifiedRoleDefinition'.",
        )),
        _ => Ok(()),
    }
}
