//! Scoped role memberships (`/directory/administrativeUnits/{id}/scopedRoleMembers`,
//! `/users/{id}/scopedRoleMemberOf`): a view over the role assignments whose directory scope is
//! an administrative unit. `POST scopedRoleMembers` writes the same `unifiedRoleAssignment`
//! that `POST /roleManagement/directory/roleAssignments` with `directoryScopeId:
//! "/administrativeUnits/{id}"` writes (through [`Directory::create_role_assignment`], so every
//! rule — the principal, the role, which roles may be scoped to a unit — is checked once), and
//! each view lists what the other wrote. The membership's id is the assignment's id.

use cerulean_store::{CmpOp, Filter, ListQuery, ObjectRecord, PropPath, Scalar, Scope, ValueKind};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::role_catalog;
use crate::roles::{DIRECTORY_ROLE, ROLE_ASSIGNMENT};
use crate::{Caller, Directory};

/// How many scoped memberships one read returns at most.
const MAX_SCOPED: usize = 500;

fn text<'a>(o: &'a ObjectRecord, key: &str) -> &'a str {
    o.doc.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn scope_of(unit: Uuid) -> String {
    format!("/administrativeUnits/{unit}")
}

fn eq(property: &str, value: String) -> Filter {
    Filter::Compare { path: PropPath::of(property), kind: ValueKind::String, op: CmpOp::Eq, value: Scalar::Str(value) }
}

fn required(property: &str) -> DirectoryError {
    DirectoryError::bad_request(format!("Property {property} value is required but is empty or missing."))
}

impl Directory {
    async fn live_unit(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        let unit = self.find(tenant, "administrativeUnit", key).await?;
        if unit.deleted_at.is_some() {
            return Err(DirectoryError::not_found(key));
        }
        Ok(unit)
    }

    /// The `scopedRoleMembership` document of an assignment scoped to `unit`: `roleId` is the
    /// activated directory role of a built-in role (Graph's `roleId`), else the definition id.
    async fn scoped_view(&self, tenant: Uuid, unit: Uuid, a: &ObjectRecord) -> DirectoryResult<Map<String, Value>> {
        let definition = text(a, "roleDefinitionId");
        let role_id = match role_catalog::built_in(definition) {
            Some(role) => self.store.find_unique(tenant, "roleTemplateId", role.id).await?.map(|id| id.to_string()),
            None => None,
        }
        .unwrap_or_else(|| definition.to_string());
        let principal = text(a, "principalId");
        let display_name = match Uuid::parse_str(principal) {
            Ok(id) => self.get(tenant, id).await?.and_then(|o| o.doc.get("displayName").cloned()),
            Err(_) => None,
        };
        let mut info = Map::new();
        info.insert("id".into(), json!(principal));
        info.insert("displayName".into(), display_name.unwrap_or(Value::Null));
        let mut m = Map::new();
        m.insert("id".into(), json!(a.id.to_string()));
        m.insert("roleId".into(), json!(role_id));
        m.insert("administrativeUnitId".into(), json!(unit.to_string()));
        m.insert("roleMemberInfo".into(), Value::Object(info));
        Ok(m)
    }

    async fn assignments_where(&self, tenant: Uuid, filter: Filter) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut query = ListQuery::new(&[ROLE_ASSIGNMENT], Scope::Live);
        query.filter = Some(filter);
        query.top = MAX_SCOPED;
        Ok(self.store.list(tenant, &query).await?.items)
    }

    /// `GET /directory/administrativeUnits/{id}/scopedRoleMembers`.
    pub async fn scoped_role_members(&self, tenant: Uuid, unit_key: &str) -> DirectoryResult<Vec<Map<String, Value>>> {
        let unit = self.live_unit(tenant, unit_key).await?;
        let mut out = Vec::new();
        for a in self.assignments_where(tenant, eq("directoryScopeId", scope_of(unit.id))).await? {
            out.push(self.scoped_view(tenant, unit.id, &a).await?);
        }
        Ok(out)
    }

    /// `GET /directory/administrativeUnits/{id}/scopedRoleMembers/{membershipId}`.
    pub async fn scoped_role_member(
        &self,
        tenant: Uuid,
        unit_key: &str,
        id: &str,
    ) -> DirectoryResult<Map<String, Value>> {
        let unit = self.live_unit(tenant, unit_key).await?;
        let a = self.find(tenant, ROLE_ASSIGNMENT, id).await?;
        if !text(&a, "directoryScopeId").eq_ignore_ascii_case(&scope_of(unit.id)) {
            return Err(DirectoryError::not_found(id));
        }
        self.scoped_view(tenant, unit.id, &a).await
    }

    /// `POST /directory/administrativeUnits/{id}/scopedRoleMembers` with `roleId` (an
    /// activated directory role's id, or a role definition/template id) and
    /// `roleMemberInfo.id`: the role assignment scoped to the unit.
    pub async fn add_scoped_role_member(
        &self,
        caller: &Caller,
        unit_key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Map<String, Value>> {
        let unit = self.live_unit(caller.tenant, unit_key).await?;
        for key in body.keys() {
            let known = ["roleId", "roleMemberInfo", "administrativeUnitId", "id"];
            if !key.starts_with('@') && !known.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                return Err(crate::validate::unknown_property(key, "scopedRoleMembership"));
            }
        }
        let role_key =
            body.get("roleId").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| required("roleId"))?;
        let member = body
            .get("roleMemberInfo")
            .and_then(|i| i.get("id"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| required("roleMemberInfo"))?;
        if let Some(other) = body.get("administrativeUnitId").and_then(Value::as_str)
            && !other.eq_ignore_ascii_case(&unit.id.to_string())
        {
            return Err(DirectoryError::bad_request(
                "Invalid value specified for property 'administrativeUnitId' of resource 'ScopedRoleMembership'.",
            ));
        }
        // `roleId` names an activated directory role; a definition (template) id is accepted too.
        let definition = match Uuid::parse_str(role_key) {
            Ok(id) => match self.get(caller.tenant, id).await? {
                Some(o) if o.object_type == DIRECTORY_ROLE && o.deleted_at.is_none() => {
                    text(&o, "roleTemplateId").to_string()
                }
                _ => role_key.to_string(),
            },
            Err(_) => return Err(DirectoryError::not_found(role_key)),
        };
        let mut request = Map::new();
        request.insert("principalId".into(), json!(member));
        request.insert("roleDefinitionId".into(), json!(definition));
        request.insert("directoryScopeId".into(), json!(scope_of(unit.id)));
        let a = self.create_role_assignment(caller, &request).await?;
        self.scoped_view(caller.tenant, unit.id, &a).await
    }

    /// `DELETE /directory/administrativeUnits/{id}/scopedRoleMembers/{membershipId}`.
    pub async fn remove_scoped_role_member(&self, caller: &Caller, unit_key: &str, id: &str) -> DirectoryResult<()> {
        self.scoped_role_member(caller.tenant, unit_key, id).await?;
        self.delete_role_assignment(caller, id).await
    }

    /// `GET /users/{id}/scopedRoleMemberOf`: the user's assignments scoped to units.
    pub async fn scoped_role_member_of(
        &self,
        tenant: Uuid,
        user_key: &str,
    ) -> DirectoryResult<Vec<Map<String, Value>>> {
        let user = self.find(tenant, "user", user_key).await?;
        let mut out = Vec::new();
        for a in self.assignments_where(tenant, eq("principalId", user.id.to_string())).await? {
            let scope = text(&a, "directoryScopeId");
            let unit = scope.strip_prefix("/administrativeUnits/").and_then(|u| Uuid::parse_str(u).ok());
            if let Some(unit) = unit {
                out.push(self.scoped_view(tenant, unit, &a).await?);
            }
        }
        Ok(out)
    }
}
