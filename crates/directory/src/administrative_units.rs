//! Administrative units (`/directory/administrativeUnits`): CRUD and their members.
//!
//! An administrative unit holds users, groups and devices ("Add a member": "You can add users,
//! groups, or devices"); its members are `Member` edges from the unit, so the membership
//! graph, `memberOf` of users, groups and devices, and `getMemberObjects` see units as Graph
//! does. Unit membership is not inherited: a group's members are not members of the units the
//! group is in (the transitive walk stops at a unit reached through a group, see
//! [`crate::membership`]).
//!
//! `visibility` is `Public` (the default, `null` on the wire) or `HiddenMembership`, fixed at
//! creation. `membershipType` is `Assigned` (the default) or `Dynamic`; a dynamic unit's
//! members are the rule engine's (its `membershipRule` is checked as a group's is, and members
//! cannot be added or removed by hand). Deleted units go to the recycle bin.

use cerulean_schema::EntityType;
use cerulean_store::{Change, EdgeKind, ObjectRecord, Op, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::groups::{already_exist, invalid_reference};
use crate::rules::Rule;
use crate::users::{WRITE_RETRIES, merge, reject_annotations};
use crate::validate::{Mode, validate_body};
use crate::{Caller, Directory};

fn unit_type() -> &'static EntityType {
    cerulean_schema::entity("administrativeUnit").expect("administrativeUnit is declared")
}

fn invalid(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'AdministrativeUnit'."
    ))
}

/// Whether the unit's members are computed by a rule.
pub(crate) fn is_dynamic_unit(doc: &Map<String, Value>) -> bool {
    doc.get("membershipType").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("Dynamic"))
}

/// Checks and completes a unit document about to be written; returns the rule when the unit's
/// membership is computed (dynamic and `On`).
fn prepare_unit(doc: &mut Map<String, Value>, requested: &Map<String, Value>) -> DirectoryResult<Option<Rule>> {
    match doc.get("visibility") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if v.eq_ignore_ascii_case("Public") => {
            doc.insert("visibility".into(), json!("Public"));
        }
        Some(Value::String(v)) if v.eq_ignore_ascii_case("HiddenMembership") => {
            doc.insert("visibility".into(), json!("HiddenMembership"));
        }
        Some(_) => return Err(invalid("visibility")),
    }
    match doc.get("membershipType") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if v.eq_ignore_ascii_case("Assigned") => {
            doc.insert("membershipType".into(), json!("Assigned"));
        }
        Some(Value::String(v)) if v.eq_ignore_ascii_case("Dynamic") => {
            doc.insert("membershipType".into(), json!("Dynamic"));
        }
        Some(_) => return Err(invalid("membershipType")),
    }
    if !is_dynamic_unit(doc) {
        for p in ["membershipRule", "membershipRuleProcessingState"] {
            if requested.get(p).is_some_and(|v| !v.is_null()) {
                return Err(invalid(p));
            }
            doc.remove(p);
        }
        return Ok(None);
    }
    let text = doc.get("membershipRule").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return Err(DirectoryError::bad_request("Property membershipRule value is required but is empty or missing."));
    }
    let rule = Rule::parse(text).map_err(|e| DirectoryError::bad_request(e.to_string()))?;
    let state = match doc.get("membershipRuleProcessingState") {
        None | Some(Value::Null) => "On",
        Some(Value::String(s)) if s.eq_ignore_ascii_case("On") => "On",
        Some(Value::String(s)) if s.eq_ignore_ascii_case("Paused") => "Paused",
        Some(_) => return Err(invalid("membershipRuleProcessingState")),
    };
    doc.insert("membershipRuleProcessingState".into(), json!(state));
    Ok((state == "On").then_some(rule))
}

impl Directory {
    /// `POST /directory/administrativeUnits`.
    pub async fn create_administrative_unit(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.create_administrative_unit_preset(caller, body, Uuid::new_v4()).await
    }

    /// [`Directory::create_administrative_unit`] with the object id chosen by the caller
    /// (fixture import).
    pub(crate) async fn create_administrative_unit_preset(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(unit_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "administrativeUnit")?;
        let mut doc = Map::new();
        merge(&mut doc, &props);
        let rule = prepare_unit(&mut doc, &props)?;
        let object = ObjectRecord { id, object_type: "administrativeUnit".into(), version: 1, doc, deleted_at: None };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: Vec::new() }],
            audit: audit::record(
                caller,
                "Add administrative unit",
                "AdministrativeUnit",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        if let Some(rule) = rule {
            self.apply_rule(caller.tenant, &object, &rule).await?;
        }
        Ok(object)
    }

    /// `PATCH /directory/administrativeUnits/{id}`.
    pub async fn update_administrative_unit(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let (props, annotations) = validate_body(unit_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "administrativeUnit")?;
        for _ in 0..WRITE_RETRIES {
            let current = self.find(caller.tenant, "administrativeUnit", key).await?;
            let mut doc = current.doc.clone();
            merge(&mut doc, &props);
            let rule = prepare_unit(&mut doc, &props)?;
            let changed = crate::dynamic::unit_rule_changed(&current.doc, &doc);
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: Vec::new(),
                }],
                audit: audit::record(
                    caller,
                    "Update administrative unit",
                    "AdministrativeUnit",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => {
                    if let Some(rule) = rule.filter(|_| changed)
                        && let Some(record) = self.get(caller.tenant, current.id).await?
                    {
                        self.apply_rule(caller.tenant, &record, &rule).await?;
                    }
                    return Ok(());
                }
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The administrative unit was modified concurrently; retry the request.".into()))
    }

    /// A live member of the unit, by id (404 when the object is not one).
    pub async fn unit_member(&self, tenant: Uuid, unit: Uuid, member: Uuid) -> DirectoryResult<ObjectRecord> {
        if !self.store.has_edge(tenant, EdgeKind::Member, unit, member).await? {
            return Err(DirectoryError::not_found(&member.to_string()));
        }
        self.get(tenant, member).await?.ok_or_else(|| DirectoryError::not_found(&member.to_string()))
    }

    /// `POST /directory/administrativeUnits/{id}/members/$ref`: a user, group or device.
    pub async fn add_unit_member(&self, caller: &Caller, unit_key: &str, target: Uuid) -> DirectoryResult<()> {
        let (unit, other) = self.unit_member_ends(caller.tenant, unit_key, target).await?;
        let change = Change {
            ops: vec![Op::AddEdge { kind: EdgeKind::Member, source: unit.id, target }],
            audit: audit::record(
                caller,
                "Add member to administrative unit",
                "AdministrativeUnit",
                "Assign",
                vec![audit::bare_target(&unit), audit::bare_target(&other)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(seq) => {
                self.note_unit_member(caller.tenant, seq, &unit, &other, true);
                self.after_link_change(caller.tenant, EdgeKind::Member, &other).await
            }
            Err(StoreError::EdgeExists(_)) => Err(already_exist("members")),
            Err(StoreError::NotFound(_)) => Err(invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /directory/administrativeUnits/{id}/members/{memberId}/$ref`.
    pub async fn remove_unit_member(&self, caller: &Caller, unit_key: &str, target: Uuid) -> DirectoryResult<()> {
        let (unit, other) = self.unit_member_ends(caller.tenant, unit_key, target).await?;
        if !self.store.has_edge(caller.tenant, EdgeKind::Member, unit.id, target).await? {
            return Err(invalid_reference(target));
        }
        let change = Change {
            ops: vec![Op::RemoveEdge { kind: EdgeKind::Member, source: unit.id, target }],
            audit: audit::record(
                caller,
                "Remove member from administrative unit",
                "AdministrativeUnit",
                "Unassign",
                vec![audit::bare_target(&unit), audit::bare_target(&other)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(seq) => {
                self.note_unit_member(caller.tenant, seq, &unit, &other, false);
                self.after_link_change(caller.tenant, EdgeKind::Member, &other).await
            }
            Err(StoreError::NotFound(_)) => Err(invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    async fn unit_member_ends(
        &self,
        tenant: Uuid,
        unit_key: &str,
        target: Uuid,
    ) -> DirectoryResult<(ObjectRecord, ObjectRecord)> {
        let unit = self.find(tenant, "administrativeUnit", unit_key).await?;
        if is_dynamic_unit(&unit.doc) {
            return Err(DirectoryError::bad_request(
                "Members of an administrative unit with dynamic membership cannot be added or removed.",
            ));
        }
        let other = self.get(tenant, target).await?.ok_or_else(|| invalid_reference(target))?;
        if !matches!(other.object_type.as_str(), "user" | "group" | "device") {
            return Err(DirectoryError::bad_request(format!(
                "An object of type '{}' cannot be added to the 'members' of this administrative unit.",
                other.object_type
            )));
        }
        Ok((unit, other))
    }

    fn note_unit_member(&self, tenant: Uuid, seq: u64, unit: &ObjectRecord, other: &ObjectRecord, added: bool) {
        let write = crate::membership::EdgeWrite {
            group: unit.id,
            group_type: unit.object_type.clone(),
            member: other.id,
            member_type: other.object_type.clone(),
            added,
        };
        self.note_member_write(tenant, seq, write);
    }
}
