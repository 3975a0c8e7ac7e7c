//! Membership and ownership edges: `members/$ref`, `owners/$ref`, `memberOf`.

use cerulean_store::{Change, EdgeKind, ObjectRecord, Op, StoreError};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::groups::{check_edge_target, invalid_reference, string_list};
use crate::{Caller, Directory};

impl Directory {
    /// `POST /groups/{id}/members/$ref` and `/owners/$ref`.
    pub async fn add_group_link(
        &self,
        caller: &Caller,
        group_key: &str,
        kind: EdgeKind,
        target: Uuid,
    ) -> DirectoryResult<()> {
        let group = self.find(caller.tenant, "group", group_key).await?;
        if kind == EdgeKind::Member {
            crate::dynamic::refuse_manual_membership(&group)?;
        }
        let other = self.get(caller.tenant, target).await?.ok_or_else(|| invalid_reference(target))?;
        if kind == EdgeKind::Member && other.id == group.id {
            return Err(DirectoryError::bad_request("A group cannot be a member of itself."));
        }
        let unified = string_list(group.doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case("Unified"));
        check_edge_target(kind, unified, &other)?;
        if kind == EdgeKind::Member {
            crate::groups::check_no_nesting(&group.doc, &other)?;
        }
        let (activity, property) = link_words(kind, true);
        let change = Change {
            ops: vec![Op::AddEdge { kind, source: group.id, target }],
            audit: audit::record(
                caller,
                activity,
                "GroupManagement",
                "Assign",
                vec![audit::bare_target(&group), audit::bare_target(&other)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(seq) => {
                self.note_link(caller.tenant, seq, kind, &group, &other, true);
                if kind == EdgeKind::Member && Directory::licences_follow(&group, &other) {
                    self.reconcile_users(caller.tenant, &[other.id]).await?;
                }
                self.after_link_change(caller.tenant, kind, &other).await
            }
            Err(StoreError::EdgeExists(_)) => Err(crate::groups::already_exist(property)),
            Err(StoreError::NotFound(_)) => Err(invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /groups/{id}/members/{memberId}/$ref` and `/owners/{id}/$ref`.
    pub async fn remove_group_link(
        &self,
        caller: &Caller,
        group_key: &str,
        kind: EdgeKind,
        target: Uuid,
    ) -> DirectoryResult<()> {
        let group = self.find(caller.tenant, "group", group_key).await?;
        if kind == EdgeKind::Member {
            crate::dynamic::refuse_manual_membership(&group)?;
        }
        let Some(other) = self.get(caller.tenant, target).await? else {
            return Err(invalid_reference(target));
        };
        if kind == EdgeKind::Owner
            && self.store.edge_ids(caller.tenant, EdgeKind::Owner, group.id, false).await?.len() == 1
        {
            // Entra keeps at least one owner on a group that has owners only when it is a
            // Microsoft 365 group; security groups may lose their last owner.
            let unified = string_list(group.doc.get("groupTypes")).iter().any(|t| t.eq_ignore_ascii_case("Unified"));
            if unified && self.store.has_edge(caller.tenant, kind, group.id, target).await? {
                return Err(DirectoryError::bad_request(
                    "The group must have at least one owner, hence this owner cannot be removed.",
                ));
            }
        }
        let (activity, _) = link_words(kind, false);
        let change = Change {
            ops: vec![Op::RemoveEdge { kind, source: group.id, target }],
            audit: audit::record(
                caller,
                activity,
                "GroupManagement",
                "Unassign",
                vec![audit::bare_target(&group), audit::bare_target(&other)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(seq) => {
                self.note_link(caller.tenant, seq, kind, &group, &other, false);
                if kind == EdgeKind::Member && Directory::licences_follow(&group, &other) {
                    self.reconcile_users(caller.tenant, &[other.id]).await?;
                }
                self.after_link_change(caller.tenant, kind, &other).await
            }
            Err(StoreError::NotFound(_)) => Err(invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }
}

impl Directory {
    /// Tells the in-memory membership graph about a member edge this node just committed.
    fn note_link(
        &self,
        tenant: uuid::Uuid,
        seq: u64,
        kind: EdgeKind,
        group: &ObjectRecord,
        other: &ObjectRecord,
        added: bool,
    ) {
        if kind == EdgeKind::Member {
            let write = crate::membership::EdgeWrite {
                group: group.id,
                group_type: group.object_type.clone(),
                member: other.id,
                member_type: other.object_type.clone(),
                added,
            };
            self.note_member_write(tenant, seq, write);
        }
    }
}

fn link_words(kind: EdgeKind, add: bool) -> (&'static str, &'static str) {
    match (kind, add) {
        (EdgeKind::Owner, true) => ("Add owner to group", "owners"),
        (EdgeKind::Owner, false) => ("Remove owner from group", "owners"),
        (_, true) => ("Add member to group", "members"),
        (_, false) => ("Remove member from group", "members"),
    }
}
