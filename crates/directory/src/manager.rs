//! A user's manager (`manager/$ref`) and direct reports: one `Manager` edge, user -> manager.
//!
//! A user has at most one manager, so setting one replaces the previous edge in the same
//! change. A user cannot be their own manager; longer loops (A manages B, B manages A) are
//! accepted, as Graph documents no check for them — readers of the chain walk it with a
//! visited set. The manager must be a live user (organizational contacts join when they are
//! served).

use cerulean_store::{Change, EdgeKind, ObjectRecord, Op, StoreError};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::groups::invalid_reference;
use crate::{Caller, Directory};

/// Graph's 404 for `GET /users/{id}/manager` (and `DELETE .../manager/$ref`) without one.
pub const NO_MANAGER: &str =
    "Resource 'manager' does not exist or one of its queried reference-property objects are not present.";

/// How many managers up `manager_chain` walks at most (a loop ends it earlier).
pub const MAX_CHAIN: usize = 100;

impl Directory {
    /// The live manager of the user named by `user_key`, if any.
    pub async fn manager(&self, tenant: Uuid, user_key: &str) -> DirectoryResult<Option<ObjectRecord>> {
        let user = self.find(tenant, "user", user_key).await?;
        self.manager_of(tenant, user.id).await
    }

    /// The live manager of the object `id`, if any (edges to deleted managers are hidden).
    pub async fn manager_of(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<ObjectRecord>> {
        let managers = self.store.edge_ids(tenant, EdgeKind::Manager, id, false).await?;
        match managers.first() {
            Some(m) => self.get(tenant, *m).await,
            None => Ok(None),
        }
    }

    /// The managers above `id`, nearest first, ending at the top or where the chain loops.
    pub async fn manager_chain(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut seen = vec![id];
        let mut out = Vec::new();
        let mut current = id;
        while out.len() < MAX_CHAIN {
            let Some(m) = self.manager_of(tenant, current).await? else { break };
            if seen.contains(&m.id) {
                break;
            }
            seen.push(m.id);
            current = m.id;
            out.push(m);
        }
        Ok(out)
    }

    /// `PUT /users/{id}/manager/$ref`: sets (or replaces) the user's manager.
    pub async fn set_manager(&self, caller: &Caller, user_key: &str, manager: Uuid) -> DirectoryResult<()> {
        let user = self.find(caller.tenant, "user", user_key).await?;
        let target = self.get(caller.tenant, manager).await?.ok_or_else(|| invalid_reference(manager))?;
        if target.object_type != "user" {
            return Err(invalid_reference(manager));
        }
        if target.id == user.id {
            return Err(DirectoryError::bad_request("A user cannot be their own manager."));
        }
        // The visible manager edges (the store hides one to a manager in the recycle bin).
        let current = self.store.edge_ids(caller.tenant, EdgeKind::Manager, user.id, false).await?;
        if current == [target.id] {
            return Ok(());
        }
        let mut ops: Vec<Op> = current
            .iter()
            .map(|old| Op::RemoveEdge { kind: EdgeKind::Manager, source: user.id, target: *old })
            .collect();
        ops.push(Op::AddEdge { kind: EdgeKind::Manager, source: user.id, target: target.id });
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Set user manager",
                "UserManagement",
                "Update",
                vec![audit::bare_target(&user), audit::bare_target(&target)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound(_)) => Err(invalid_reference(manager)),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /users/{id}/manager/$ref`.
    pub async fn remove_manager(&self, caller: &Caller, user_key: &str) -> DirectoryResult<()> {
        let user = self.find(caller.tenant, "user", user_key).await?;
        let current = self.store.edge_ids(caller.tenant, EdgeKind::Manager, user.id, false).await?;
        if current.is_empty() {
            return Err(DirectoryError::NotFound { message: NO_MANAGER.into() });
        }
        let ops =
            current.iter().map(|m| Op::RemoveEdge { kind: EdgeKind::Manager, source: user.id, target: *m }).collect();
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Remove user manager",
                "UserManagement",
                "Update",
                vec![audit::bare_target(&user)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound(_)) => Err(DirectoryError::NotFound { message: NO_MANAGER.into() }),
            Err(e) => Err(e.into()),
        }
    }
}
