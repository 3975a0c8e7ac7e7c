//! Groups: security groups and Microsoft 365 (`Unified`) groups, with Entra's rules for their
//! kinds, mail nicknames and initial members and owners.

use cerulean_schema::EntityType;
use cerulean_store::{Change, EdgeKind, ObjectRecord, Op};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::ids::{parse_reference, security_identifier};
use crate::users::{WRITE_RETRIES, check_mail_nickname, merge};
use crate::validate::{Mode, now, validate_body};
use crate::{Caller, Directory};

/// Graph accepts at most 20 objects in `members@odata.bind` / `owners@odata.bind` on create.
const MAX_BIND: usize = 20;

fn group_type() -> &'static EntityType {
    cerulean_schema::entity("group").expect("the group entity is declared")
}

const MAIL_ENABLED_REFUSED: &str = "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.";

impl Directory {
    /// `POST /groups`, with optional `members@odata.bind` and `owners@odata.bind`.
    pub async fn create_group(&self, caller: &Caller, body: &Map<String, Value>) -> DirectoryResult<ObjectRecord> {
        let tenant = self.tenant_record(caller.tenant).await?;
        let prepared = prepare_group_object(&tenant, body, Uuid::new_v4())?;
        let PreparedGroup { object, rule, members, owners } = prepared;
        self.check_member_of_chain(caller.tenant, rule.as_ref()).await?;
        let id = object.id;
        let unified = is_unified(&object.doc);
        let mut ops = vec![Op::Insert { object: object.clone(), unique: group_claims(&object.doc) }];
        let mut targets = vec![audit::target(&object, None, Some(&object.doc))];
        self.bind_edges(caller, id, &object.doc, unified, &members, &owners, &mut ops, &mut targets).await?;
        let change = Change { ops, audit: audit::record(caller, "Add group", "GroupManagement", "Add", targets) };
        self.apply_change(caller.tenant, change).await.map_err(|e| match e {
            cerulean_store::StoreError::EdgeExists(_) => already_exist("members"),
            other => other.into(),
        })?;
        self.after_group_write(caller.tenant, id, rule, true, &members).await?;
        Ok(object)
    }
}

/// A new group's document, checked with the API's rules, with the ids its body binds as
/// members and owners and its membership rule when it is dynamic; nothing applied yet.
pub(crate) struct PreparedGroup {
    pub object: ObjectRecord,
    pub rule: Option<crate::rules::Rule>,
    pub members: Vec<Uuid>,
    pub owners: Vec<Uuid>,
}

pub(crate) fn is_unified(doc: &Map<String, Value>) -> bool {
    string_list(doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case("Unified"))
}

/// Validates a new group's body (`POST /groups`) and builds its document with id `id`.
pub(crate) fn prepare_group_object(
    tenant: &cerulean_store::TenantRecord,
    body: &Map<String, Value>,
    id: Uuid,
) -> DirectoryResult<PreparedGroup> {
    {
        let (props, annotations) = validate_body(group_type(), body, Mode::Create)?;
        let (members, owners) = binds(&annotations)?;
        let group_types = string_list(props.get("groupTypes"));
        check_group_types(&group_types)?;
        let unified = group_types.iter().any(|t| t.eq_ignore_ascii_case("Unified"));
        let mail_enabled = props.get("mailEnabled").and_then(Value::as_bool).unwrap_or(false);
        if unified && !mail_enabled {
            return Err(DirectoryError::bad_request(
                "Invalid value specified for property 'mailEnabled' of resource 'Group'.",
            ));
        }
        if !unified && mail_enabled {
            return Err(DirectoryError::bad_request(MAIL_ENABLED_REFUSED));
        }
        check_role_assignable(&props, &group_types)?;
        let nickname = props.get("mailNickname").and_then(Value::as_str).unwrap_or_default().to_string();
        check_mail_nickname(&nickname, "Group")?;
        let mut props = props;
        check_visibility(&mut props)?;

        let at = now();
        let mut doc = props;
        doc.insert("groupTypes".into(), json!(group_types));
        let requested = doc.clone();
        let rule = crate::dynamic::prepare_group(&mut doc, &requested, !members.is_empty())?;
        doc.insert("createdDateTime".into(), json!(at));
        doc.insert("renewedDateTime".into(), json!(at));
        doc.insert("securityIdentifier".into(), json!(security_identifier(id)));
        if unified {
            let domain = tenant
                .domains
                .iter()
                .find(|d| d.is_default)
                .or(tenant.domains.first())
                .map(|d| d.name.clone())
                .unwrap_or_default();
            let mail = format!("{nickname}@{domain}");
            doc.insert("mail".into(), json!(mail));
            doc.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
            doc.entry("visibility").or_insert_with(|| json!("Public"));
        } else {
            doc.insert("proxyAddresses".into(), json!([]));
        }
        let object = ObjectRecord { id, object_type: "group".into(), version: 1, doc, deleted_at: None };
        Ok(PreparedGroup { object, rule, members, owners })
    }
}

impl Directory {
    /// Adds the edges of `members@odata.bind` / `owners@odata.bind` to a change, checking
    /// that each object exists and may be linked.
    #[allow(clippy::too_many_arguments)]
    async fn bind_edges(
        &self,
        caller: &Caller,
        group: Uuid,
        group_doc: &Map<String, Value>,
        unified: bool,
        members: &[Uuid],
        owners: &[Uuid],
        ops: &mut Vec<Op>,
        targets: &mut Vec<cerulean_store::AuditTarget>,
    ) -> DirectoryResult<()> {
        for (kind, ids) in [(EdgeKind::Member, members), (EdgeKind::Owner, owners)] {
            for other in ids {
                if kind == EdgeKind::Member && *other == group {
                    return Err(DirectoryError::bad_request("A group cannot be a member of itself."));
                }
                let target = self.get(caller.tenant, *other).await?.ok_or_else(|| invalid_reference(*other))?;
                check_edge_target(kind, unified, &target)?;
                if kind == EdgeKind::Member {
                    check_no_nesting(group_doc, &target)?;
                }
                ops.push(Op::AddEdge { kind, source: group, target: *other });
                targets.push(audit::bare_target(&target));
            }
        }
        Ok(())
    }

    /// `PATCH /groups/{id}`.
    pub async fn update_group(&self, caller: &Caller, key: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let (props, annotations) = validate_body(group_type(), body, Mode::Update)?;
        let (members, owners) = binds(&annotations)?;
        if let Some(nick) = props.get("mailNickname").and_then(Value::as_str) {
            check_mail_nickname(nick, "Group")?;
        }
        let mut props = props;
        check_visibility(&mut props)?;
        for _ in 0..WRITE_RETRIES {
            let current = self.find(caller.tenant, "group", key).await?;
            let was_unified =
                string_list(current.doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case("Unified"));
            if let Some(types) = props.get("groupTypes") {
                let types = string_list(Some(types));
                check_group_types(&types)?;
                if types.iter().any(|t| t.eq_ignore_ascii_case("Unified")) != was_unified {
                    return Err(DirectoryError::bad_request(
                        "Invalid value specified for property 'groupTypes' of resource 'Group'.",
                    ));
                }
            }
            if let Some(enabled) = props.get("mailEnabled").and_then(Value::as_bool)
                && enabled != was_unified
            {
                return Err(DirectoryError::bad_request(MAIL_ENABLED_REFUSED));
            }
            let mut doc = current.doc.clone();
            merge(&mut doc, &props);
            let rule = crate::dynamic::prepare_group(&mut doc, &props, !members.is_empty())?;
            self.check_member_of_chain(caller.tenant, rule.as_ref()).await?;
            let rule_changed = crate::dynamic::rule_changed(&current.doc, &doc);
            let mut ops = vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: doc.clone(),
                unique: group_claims(&doc),
            }];
            let mut targets = vec![audit::target(&current, Some(&current.doc), Some(&doc))];
            // `members@odata.bind` on PATCH adds members (Graph's "add multiple members").
            self.bind_edges(caller, current.id, &current.doc, was_unified, &members, &owners, &mut ops, &mut targets)
                .await?;
            let change =
                Change { ops, audit: audit::record(caller, "Update group", "GroupManagement", "Update", targets) };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return self.after_group_write(caller.tenant, current.id, rule, rule_changed, &members).await,
                Err(cerulean_store::StoreError::VersionMismatch(_)) => continue,
                Err(cerulean_store::StoreError::EdgeExists(_)) => return Err(already_exist("members")),
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The group was modified concurrently; retry the request.".into()))
    }
}

/// Entra's rules for a group created with `isAssignableToRole: true` (it carries directory
/// roles to its members, so its membership must stay explicit and security-only): it is a
/// security group (`securityEnabled: true`) and never a dynamic one. The flag itself is
/// create-only (the schema refuses it on `PATCH`).
fn check_role_assignable(props: &Map<String, Value>, group_types: &[String]) -> DirectoryResult<()> {
    if !is_role_assignable(props) {
        return Ok(());
    }
    if props.get("securityEnabled").and_then(Value::as_bool) != Some(true) {
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'securityEnabled' of resource 'Group': a group with isAssignableToRole set to true must be security enabled.",
        ));
    }
    if group_types.iter().any(|t| t.eq_ignore_ascii_case(crate::dynamic::DYNAMIC_MEMBERSHIP)) {
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'groupTypes' of resource 'Group': a group with isAssignableToRole set to true cannot have dynamic membership.",
        ));
    }
    Ok(())
}

/// Whether a group document is role-assignable.
pub(crate) fn is_role_assignable(doc: &Map<String, Value>) -> bool {
    doc.get("isAssignableToRole").and_then(Value::as_bool) == Some(true)
}

/// A role-assignable group takes no groups as members (Entra: "group nesting isn't supported"
/// for them), or the members of the nested group would pick up its roles unseen.
pub(crate) fn check_no_nesting(group: &Map<String, Value>, member: &ObjectRecord) -> DirectoryResult<()> {
    if is_role_assignable(group) && member.object_type == "group" {
        return Err(DirectoryError::bad_request(
            "A group cannot be added as a member of a role-assignable group: nesting is not supported for groups with isAssignableToRole set to true.",
        ));
    }
    Ok(())
}

/// `visibility` is `Public`, `Private` or `HiddenMembership` (canonicalised from any case).
fn check_visibility(props: &mut Map<String, Value>) -> DirectoryResult<()> {
    let Some(v) = props.get("visibility").and_then(Value::as_str) else { return Ok(()) };
    let canonical = ["Public", "Private", "HiddenMembership"].into_iter().find(|c| c.eq_ignore_ascii_case(v));
    match canonical {
        Some(c) => {
            props.insert("visibility".into(), json!(c));
            Ok(())
        }
        None => {
            Err(DirectoryError::bad_request("Invalid value specified for property 'visibility' of resource 'Group'."))
        }
    }
}

/// Reads `members@odata.bind` and `owners@odata.bind`; any other annotation but a matching
/// `@odata.type` is refused.
fn binds(annotations: &Map<String, Value>) -> DirectoryResult<(Vec<Uuid>, Vec<Uuid>)> {
    let mut members = Vec::new();
    let mut owners = Vec::new();
    for (k, v) in annotations {
        match k.to_ascii_lowercase().as_str() {
            "members@odata.bind" => members = bind_list(v, "members")?,
            "owners@odata.bind" => owners = bind_list(v, "owners")?,
            "@odata.type" => crate::users::reject_annotations(&Map::from_iter([(k.clone(), v.clone())]), "group")?,
            _ => return Err(crate::validate::unknown_property(k, "group")),
        }
    }
    Ok((members, owners))
}

pub(crate) fn already_exist(property: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "One or more added object references already exist for the following modified properties: '{property}'."
    ))
}

/// Unified groups hold their mail address exclusively.
pub(crate) fn group_claims(doc: &Map<String, Value>) -> Vec<(String, String)> {
    let unified = string_list(doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case("Unified"));
    match (unified, doc.get("mail").and_then(Value::as_str)) {
        (true, Some(mail)) => vec![("mail".to_string(), mail.to_lowercase())],
        _ => Vec::new(),
    }
}

pub(crate) fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn check_group_types(types: &[String]) -> DirectoryResult<()> {
    for t in types {
        if t.eq_ignore_ascii_case("Unified") {
            continue;
        }
        if t.eq_ignore_ascii_case(crate::dynamic::DYNAMIC_MEMBERSHIP) {
            continue;
        }
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'groupTypes' of resource 'Group'.",
        ));
    }
    Ok(())
}

fn bind_list(v: &Value, property: &str) -> DirectoryResult<Vec<Uuid>> {
    let list = v.as_array().ok_or_else(|| {
        DirectoryError::bad_request(format!("Invalid value specified for property '{property}@odata.bind'."))
    })?;
    if list.len() > MAX_BIND {
        return Err(DirectoryError::bad_request(format!(
            "The number of objects in '{property}@odata.bind' exceeds the maximum of {MAX_BIND}."
        )));
    }
    let mut ids = Vec::with_capacity(list.len());
    for item in list {
        let r = item.as_str().unwrap_or_default();
        let id = parse_reference(r)
            .ok_or_else(|| DirectoryError::bad_request(format!("Invalid object identifier '{r}'.")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub(crate) fn invalid_reference(id: Uuid) -> DirectoryError {
    DirectoryError::NotFound {
        message: format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    }
}

/// Which objects may be members or owners: members of security groups are users, groups,
/// service principals, devices and contacts; Microsoft 365 groups take users only; owners are
/// users and service principals.
pub(crate) fn check_edge_target(kind: EdgeKind, unified: bool, target: &ObjectRecord) -> DirectoryResult<()> {
    let t = target.object_type.as_str();
    let ok = match kind {
        EdgeKind::Member if unified => t == "user",
        EdgeKind::Member => matches!(t, "user" | "group" | "servicePrincipal" | "device" | "orgContact"),
        EdgeKind::Owner => matches!(t, "user" | "servicePrincipal"),
        EdgeKind::Manager | EdgeKind::RegisteredUser => t == "user",
    };
    if ok {
        Ok(())
    } else {
        Err(DirectoryError::bad_request(format!(
            "An object of type '{t}' cannot be added to the '{}' of this group.",
            match kind {
                EdgeKind::Owner => "owners",
                _ => "members",
            }
        )))
    }
}
