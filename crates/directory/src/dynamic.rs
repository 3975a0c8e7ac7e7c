//! Dynamic membership groups (`groupTypes` holding `DynamicMembership`): the server, never a
//! client, writes their member edges, from the group's `membershipRule` ([`crate::rules`]).
//!
//! When membership is computed:
//! - a group's rule, processing state or dynamic-ness changes (create or update), and its
//!   state is `On`: every live user (or device) of the tenant is evaluated, page by page, and
//!   the difference with the current members is written (existing members that do not match
//!   are removed, as Entra does when a rule is applied);
//! - a user (or device) is created, updated or restored: that one object is evaluated against
//!   every dynamic group of the tenant whose state is `On`, so the cost is the number of
//!   dynamic groups, not of users;
//! - an object's direct memberships change (`members/$ref`, `members@odata.bind`, or the rule
//!   engine itself): the object is evaluated again, for rules using `memberOf`. Such chains
//!   are followed [`MAX_PASSES`] levels deep (Entra itself supports one level: a `memberOf`
//!   rule may not reference another `memberOf` dynamic group).
//!
//! `Paused` freezes the members as they are. A soft-deleted user keeps its edges hidden (the
//! store skips them), and is evaluated again when restored.
//!
//! Membership writes are follow-up changes of at most [`CHUNK`] edges each, audited as Entra
//! audits them: "Add member to group" / "Remove member from group", initiated by the "Microsoft
//! Approval Management" first-party service principal that runs Entra's dynamic groups.

use std::collections::{HashMap, HashSet};

use cerulean_store::{
    Actor, Change, EdgeKind, Filter, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope, StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::groups::string_list;
use crate::rules::{Rule, Subject, SubjectKind};
use crate::{Caller, Directory};

pub(crate) const DYNAMIC_MEMBERSHIP: &str = "DynamicMembership";
/// Edges per membership change written by the rule engine.
const CHUNK: usize = 100;
/// Objects per page when a whole tenant is evaluated.
const PAGE: usize = 200;
/// How many rounds of `memberOf` consequences one change may have.
const MAX_PASSES: usize = 3;

/// Graph's answer to adding or removing members of a dynamic group by hand (403
/// `Authorization_RequestDenied`; "You cannot use Microsoft Graph to manage Dynamic group
/// membership", Microsoft's developer support).
const MANUAL_MEMBERSHIP_REFUSED: &str = "Insufficient privileges to complete the operation.";

pub(crate) fn is_dynamic(doc: &Map<String, Value>) -> bool {
    string_list(doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case(DYNAMIC_MEMBERSHIP))
}

/// Members of a dynamic group are the rule's to write.
pub(crate) fn refuse_manual_membership(group: &ObjectRecord) -> DirectoryResult<()> {
    if group.object_type == "group" && is_dynamic(&group.doc) {
        return Err(DirectoryError::Forbidden(MANUAL_MEMBERSHIP_REFUSED.into()));
    }
    Ok(())
}

/// Checks and completes the dynamic-membership properties of a group document about to be
/// written (`requested`: the properties the request sets). A dynamic group needs a valid
/// `membershipRule`; its `membershipRuleProcessingState` is `On` or `Paused` (default `On`).
/// A group that is not dynamic holds neither (they are dropped when a group stops being
/// dynamic; its members stay, as assigned ones).
///
/// Returns the rule when the group's membership is computed (dynamic and `On`).
pub(crate) fn prepare_group(
    doc: &mut Map<String, Value>,
    requested: &Map<String, Value>,
    binds_members: bool,
) -> DirectoryResult<Option<Rule>> {
    let invalid = |p: &str| {
        DirectoryError::bad_request(format!("Invalid value specified for property '{p}' of resource 'Group'."))
    };
    if !is_dynamic(doc) {
        for p in ["membershipRule", "membershipRuleProcessingState"] {
            if requested.get(p).is_some_and(|v| !v.is_null()) {
                return Err(invalid(p));
            }
            doc.remove(p);
        }
        return Ok(None);
    }
    if binds_members {
        return Err(DirectoryError::Forbidden(MANUAL_MEMBERSHIP_REFUSED.into()));
    }
    let text = doc.get("membershipRule").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return Err(DirectoryError::bad_request("Property membershipRule value is required but is empty or missing."));
    }
    let rule = Rule::parse(text).map_err(|e| DirectoryError::bad_request(e.to_string()))?;
    let unified = string_list(doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case("Unified"));
    if unified && rule.subject == SubjectKind::Device {
        return Err(DirectoryError::bad_request(
            "Dynamic membership rule validation error: Microsoft 365 groups can include only users at position 0.",
        ));
    }
    let state = match doc.get("membershipRuleProcessingState") {
        None | Some(Value::Null) => "On",
        Some(Value::String(s)) if s.eq_ignore_ascii_case("On") => "On",
        Some(Value::String(s)) if s.eq_ignore_ascii_case("Paused") => "Paused",
        Some(_) => return Err(invalid("membershipRuleProcessingState")),
    };
    doc.insert("membershipRuleProcessingState".into(), json!(state));
    Ok((state == "On").then_some(rule))
}

/// Whether a group write changes what its membership is computed from.
pub(crate) fn rule_changed(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    is_dynamic(old) != is_dynamic(new)
        || old.get("membershipRule") != new.get("membershipRule")
        || old.get("membershipRuleProcessingState") != new.get("membershipRuleProcessingState")
}

/// Whether an administrative unit write changes what its membership is computed from.
pub(crate) fn unit_rule_changed(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    ["membershipType", "membershipRule", "membershipRuleProcessingState"].iter().any(|p| old.get(*p) != new.get(*p))
}

/// Whether a group or administrative unit has computed membership.
fn has_rule(object: &ObjectRecord) -> bool {
    match object.object_type.as_str() {
        "administrativeUnit" => crate::administrative_units::is_dynamic_unit(&object.doc),
        _ => is_dynamic(&object.doc),
    }
}

/// The caller the rule engine's changes are recorded under.
fn engine(tenant: Uuid) -> Caller {
    Caller {
        tenant,
        actor: Actor { kind: "system".into(), id: None, display_name: Some("Microsoft Approval Management".into()) },
        correlation_id: None,
    }
}

fn subject_kind(object_type: &str) -> Option<SubjectKind> {
    match object_type {
        "user" => Some(SubjectKind::User),
        "device" => Some(SubjectKind::Device),
        _ => None,
    }
}

impl Directory {
    /// After a group write: computes the membership of a dynamic group whose rule changed,
    /// and re-evaluates objects bound as members (for `memberOf` rules of other groups).
    pub(crate) async fn after_group_write(
        &self,
        tenant: Uuid,
        group: Uuid,
        rule: Option<Rule>,
        changed: bool,
        bound: &[Uuid],
    ) -> DirectoryResult<()> {
        if let Some(rule) = rule
            && changed
            && let Some(record) = self.get(tenant, group).await?
        {
            self.apply_rule(tenant, &record, &rule).await?;
        }
        if !bound.is_empty()
            && let Some(record) = self.get(tenant, group).await?
            && Directory::is_licensed(&record)
        {
            self.reconcile_users(tenant, bound).await?;
        }
        for id in bound {
            self.reevaluate_member(tenant, *id).await?;
        }
        Ok(())
    }

    /// After `members/$ref` added or removed `member`: its `memberOf` changed.
    pub(crate) async fn after_link_change(
        &self,
        tenant: Uuid,
        kind: EdgeKind,
        member: &ObjectRecord,
    ) -> DirectoryResult<()> {
        if kind == EdgeKind::Member && subject_kind(&member.object_type).is_some() {
            self.reevaluate_member(tenant, member.id).await?;
        }
        Ok(())
    }

    /// Live dynamic groups (and dynamic administrative units) of the tenant whose processing
    /// state is `On`, with their rules. A stored rule that no longer parses (it was checked
    /// when written) is skipped.
    ///
    /// One query per object type: with a single type the filter seeks the expression index
    /// `(tenant, type, state, id)`, whose order is already the id order. Both types in one
    /// `IN` made SQLite walk the tenant's primary key in id order instead, parsing every
    /// document of the tenant, and this runs on every user or device write (issue 8: a
    /// `PATCH /users/{id}` at 100k users cost a full-tenant scan).
    /// Entra refuses a `memberOf` rule that references a group whose own rule uses `memberOf`.
    pub(crate) async fn check_member_of_chain(&self, tenant: Uuid, rule: Option<&Rule>) -> DirectoryResult<()> {
        let Some(refs) = rule.map(Rule::member_of_groups).filter(|r| !r.is_empty()) else { return Ok(()) };
        let chained = self
            .active_dynamic_groups(tenant)
            .await?
            .into_iter()
            .any(|(g, r)| r.uses_member_of() && refs.contains(&g.id.to_string()));
        if chained {
            return Err(DirectoryError::bad_request(
                "Dynamic membership rule validation error: a memberOf rule cannot reference a group whose rule uses memberOf at position 0.",
            ));
        }
        Ok(())
    }

    async fn active_dynamic_groups(&self, tenant: Uuid) -> DirectoryResult<Vec<(ObjectRecord, Rule)>> {
        let mut out = Vec::new();
        for object_type in ["group", "administrativeUnit"] {
            let mut query = ListQuery::new(&[object_type], Scope::Live);
            query.filter = Some(Filter::Compare {
                path: PropPath::of("membershipRuleProcessingState"),
                kind: ValueKind::String,
                op: cerulean_store::CmpOp::Eq,
                value: Scalar::Str("On".into()),
            });
            query.top = PAGE;
            loop {
                let page = self.store.list(tenant, &query).await?;
                for group in page.items {
                    if !has_rule(&group) {
                        continue;
                    }
                    let text = group.doc.get("membershipRule").and_then(Value::as_str).unwrap_or_default();
                    match Rule::parse(text) {
                        Ok(rule) => out.push((group, rule)),
                        Err(e) => {
                            tracing::warn!(group = %group.id, error = %e, "stored membership rule does not parse")
                        }
                    }
                }
                match page.next {
                    Some(cursor) => query.after = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Recomputes every active dynamic group from scratch: after an import, which writes
    /// objects and memberships in bulk instead of re-evaluating each one.
    pub(crate) async fn reapply_dynamic_groups(&self, tenant: Uuid) -> DirectoryResult<()> {
        for (group, rule) in self.active_dynamic_groups(tenant).await? {
            self.apply_rule(tenant, &group, &rule).await?;
        }
        Ok(())
    }

    /// Evaluates one user or device against every active dynamic group and fixes its
    /// memberships; repeats while `memberOf` rules see the memberships it just changed.
    pub(crate) async fn reevaluate_member(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<()> {
        let Some(mut object) = self.get(tenant, id).await? else { return Ok(()) };
        let Some(kind) = subject_kind(&object.object_type) else { return Ok(()) };
        let groups = self.active_dynamic_groups(tenant).await?;
        let chained = groups.iter().any(|(_, r)| r.uses_member_of());
        for _ in 0..MAX_PASSES {
            let member_of = self.store.edge_ids(tenant, EdgeKind::Member, id, true).await?;
            let subject = Subject { kind, id, doc: &object.doc, member_of: &member_of };
            let mut changed = false;
            for (group, rule) in &groups {
                if rule.subject != kind {
                    continue;
                }
                let want = rule.matches(&subject);
                if want != member_of.contains(&group.id) {
                    let (adds, removes) =
                        if want { (vec![object.clone()], vec![]) } else { (vec![], vec![object.clone()]) };
                    self.write_memberships(tenant, group, adds, removes).await?;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
            // The licences of a group just joined or left may have changed the user's plans,
            // which `assignedPlans` rules read: evaluate again with the document as it is now.
            let plans = object.doc.get("assignedPlans").cloned();
            match self.get(tenant, id).await? {
                Some(now) => object = now,
                None => break,
            }
            if !chained && object.doc.get("assignedPlans").cloned() == plans {
                break;
            }
        }
        Ok(())
    }

    /// Computes a dynamic group's membership from scratch over every live candidate.
    pub(crate) async fn apply_rule(&self, tenant: Uuid, group: &ObjectRecord, rule: &Rule) -> DirectoryResult<()> {
        let current: HashSet<Uuid> =
            self.store.edge_ids(tenant, EdgeKind::Member, group.id, false).await?.into_iter().collect();
        let mut desired: HashMap<Uuid, ObjectRecord> = HashMap::new();
        let mut query = ListQuery::new(&[rule.subject.object_type()], Scope::Live);
        query.top = PAGE;
        let member_of_used = rule.uses_member_of();
        loop {
            let page = self.store.list(tenant, &query).await?;
            for object in page.items {
                let member_of = if member_of_used {
                    self.store.edge_ids(tenant, EdgeKind::Member, object.id, true).await?
                } else {
                    Vec::new()
                };
                let subject = Subject { kind: rule.subject, id: object.id, doc: &object.doc, member_of: &member_of };
                if rule.matches(&subject) {
                    desired.insert(object.id, object);
                }
            }
            match page.next {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        let mut stale: Vec<Uuid> = current.iter().filter(|id| !desired.contains_key(id)).copied().collect();
        stale.sort();
        let mut adds: Vec<ObjectRecord> =
            desired.into_iter().filter(|(id, _)| !current.contains(id)).map(|(_, o)| o).collect();
        adds.sort_by_key(|o| o.id);
        let mut removes = Vec::new();
        for chunk in stale.chunks(PAGE) {
            removes.extend(self.store.get_many(tenant, chunk).await?.into_iter().filter(|o| o.deleted_at.is_none()));
        }
        let touched: Vec<Uuid> = adds.iter().chain(removes.iter()).map(|o| o.id).collect();
        self.write_memberships(tenant, group, adds, removes).await?;
        // Other groups' `memberOf` rules may reference this one.
        if self.active_dynamic_groups(tenant).await?.iter().any(|(g, r)| g.id != group.id && r.uses_member_of()) {
            for id in touched {
                self.reevaluate_member(tenant, id).await?;
            }
        }
        Ok(())
    }

    /// Writes membership edges of a dynamic group in audited changes of at most [`CHUNK`]
    /// edges. An edge that a concurrent writer added or removed first is not an error: the
    /// chunk is retried edge by edge, skipping those.
    async fn write_memberships(
        &self,
        tenant: Uuid,
        group: &ObjectRecord,
        adds: Vec<ObjectRecord>,
        removes: Vec<ObjectRecord>,
    ) -> DirectoryResult<()> {
        let caller = engine(tenant);
        for (add, members) in [(true, adds), (false, removes)] {
            for chunk in members.chunks(CHUNK) {
                let change = membership_change(&caller, group, add, chunk);
                match self.apply_change(tenant, change).await {
                    Ok(_) => {}
                    Err(StoreError::EdgeExists(_) | StoreError::NotFound(_)) => {
                        for one in chunk {
                            let change = membership_change(&caller, group, add, std::slice::from_ref(one));
                            match self.apply_change(tenant, change).await {
                                Ok(_) | Err(StoreError::EdgeExists(_) | StoreError::NotFound(_)) => {}
                                Err(e) => return Err(e.into()),
                            }
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Members joining or leaving a licensed group gain or lose its licences.
            let touched: Vec<Uuid> =
                members.iter().filter(|m| Directory::licences_follow(group, m)).map(|m| m.id).collect();
            self.reconcile_users(tenant, &touched).await?;
        }
        Ok(())
    }
}

fn membership_change(caller: &Caller, group: &ObjectRecord, add: bool, members: &[ObjectRecord]) -> Change {
    let ops = members
        .iter()
        .map(|m| {
            if add {
                Op::AddEdge { kind: EdgeKind::Member, source: group.id, target: m.id }
            } else {
                Op::RemoveEdge { kind: EdgeKind::Member, source: group.id, target: m.id }
            }
        })
        .collect();
    let mut targets = vec![audit::bare_target(group)];
    targets.extend(members.iter().map(audit::bare_target));
    let (activity, operation) =
        if add { ("Add member to group", "Assign") } else { ("Remove member from group", "Unassign") };
    Change { ops, audit: audit::record(caller, activity, "GroupManagement", operation, targets) }
}
