//! Soft delete and the recycle bin (`directory/deletedItems`): delete, restore, purge.
//!
//! Entra deletes an object in the recycle bin permanently 30 days after its deletion. Here the
//! purge happens when the object is read (`GET`, restore, hard delete of
//! `deletedItems/{id}`: an object past its 30 days is purged then and answers 404), before a
//! list of deleted items (at most once a minute per tenant), and hourly in `cerulean serve`.
//! Every one of them reads the process clock ([`cerulean_store::clock`]), so the emulator's
//! clock control moves objects out of the recycle bin as time would.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use cerulean_store::{Change, ObjectRecord, Op};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::{Caller, Directory};

/// The object types that go to the recycle bin instead of being deleted outright.
const RECYCLABLE: &[&str] = &["user", "group", "application", "servicePrincipal", "administrativeUnit"];

/// How long a deleted object stays in the recycle bin (Entra: 30 days).
pub const RECYCLE_BIN_DAYS: i64 = 30;
/// Objects purged per store read of a sweep.
const PURGE_BATCH: usize = 100;
/// A list of deleted items sweeps its tenant's recycle bin at most this often (clock seconds).
const SWEEP_EVERY_SECS: i64 = 60;

/// When the last sweep before a list ran, per tenant (clock seconds).
fn last_sweeps() -> &'static Mutex<HashMap<Uuid, i64>> {
    static SWEEPS: OnceLock<Mutex<HashMap<Uuid, i64>>> = OnceLock::new();
    SWEEPS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Objects deleted before this instant (RFC 3339) have had their 30 days.
fn purge_cutoff() -> String {
    crate::validate::format_datetime(cerulean_store::clock::now() - time::Duration::days(RECYCLE_BIN_DAYS))
}

/// Whether a soft-deleted object has been in the recycle bin for its 30 days.
fn past_retention(object: &ObjectRecord, cutoff: &str) -> bool {
    object.deleted_at.as_deref().is_some_and(|at| at < cutoff)
}

impl Directory {
    /// `DELETE /users/{id}`, `DELETE /groups/{id}`: moves the object to the recycle bin.
    pub async fn delete_object(&self, caller: &Caller, object_type: &str, key: &str) -> DirectoryResult<()> {
        let object = self.find(caller.tenant, object_type, key).await?;
        // Security groups are deleted permanently; Microsoft 365 groups go to the recycle bin
        // ("List deletedItems", "Restore deleted item").
        let security_group = object.object_type == "group"
            && !crate::groups::string_list(object.doc.get("groupTypes"))
                .iter()
                .any(|t| t.eq_ignore_ascii_case("Unified"));
        let op = if RECYCLABLE.contains(&object.object_type.as_str()) && !security_group {
            Op::SoftDelete { id: object.id, at: crate::validate::now() }
        } else {
            Op::Purge { id: object.id }
        };
        // The object leaves its groups: say so on each group's change log (delta's
        // `members@delta`), whether its edges stay hidden for a restore or go with a purge.
        let mut ops = self.membership_notes(caller.tenant, object.id, false).await?;
        if matches!(op, Op::Purge { .. }) {
            ops.extend(self.assignment_purges(caller.tenant, object.id).await?);
        }
        ops.push(op);
        // The members of a licensed group lose the licences it gave them.
        let licensed_members = if Directory::is_licensed(&object) {
            self.store.edge_ids(caller.tenant, cerulean_store::EdgeKind::Member, object.id, false).await?
        } else {
            Vec::new()
        };
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                &format!("Delete {}", noun(&object.object_type)),
                category(&object.object_type),
                "Delete",
                vec![audit::bare_target(&object)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        self.reconcile_and_reevaluate(caller.tenant, &licensed_members).await?;
        Ok(())
    }

    /// Change-log notes that `member` left (or rejoined) each group it is a member of.
    async fn membership_notes(&self, tenant: Uuid, member: Uuid, visible: bool) -> DirectoryResult<Vec<Op>> {
        let groups = self.store.edge_ids(tenant, cerulean_store::EdgeKind::Member, member, true).await?;
        Ok(groups
            .into_iter()
            .map(|group| Op::NoteEdge {
                kind: cerulean_store::EdgeKind::Member,
                source: group,
                target: member,
                visible,
            })
            .collect())
    }

    /// `GET /directory/deletedItems/{id}`. An object past its 30 days is purged now (the
    /// hourly sweep may not have come yet) and is not found.
    pub async fn get_deleted(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        let id = Uuid::parse_str(key).map_err(|_| DirectoryError::not_found(key))?;
        match self.store.get(tenant, id).await? {
            Some(o) if past_retention(&o, &purge_cutoff()) => {
                self.purge_expired(tenant, &o).await?;
                Err(DirectoryError::not_found(key))
            }
            Some(o) if o.deleted_at.is_some() => Ok(o),
            _ => Err(DirectoryError::not_found(key)),
        }
    }

    /// Permanently deletes the tenant's objects that have been in the recycle bin for 30 days.
    /// Returns how many were purged.
    pub async fn purge_recycle_bin(&self, tenant: Uuid) -> DirectoryResult<usize> {
        let cutoff = purge_cutoff();
        let mut total = 0;
        loop {
            let ids = self.store.deleted_before(tenant, &cutoff, PURGE_BATCH).await?;
            for object in self.store.get_many(tenant, &ids).await? {
                if past_retention(&object, &cutoff) {
                    self.purge_expired(tenant, &object).await?;
                    total += 1;
                }
            }
            if ids.len() < PURGE_BATCH {
                return Ok(total);
            }
        }
    }

    /// [`Directory::purge_recycle_bin`] of every tenant (`cerulean serve` runs it hourly).
    pub async fn purge_recycle_bins(&self) -> DirectoryResult<usize> {
        let mut total = 0;
        for tenant in self.store.tenants().await? {
            total += self.purge_recycle_bin(tenant.id).await?;
        }
        Ok(total)
    }

    /// Before a list of deleted items: purges the tenant's expired objects, unless that was
    /// done less than a minute ago (by the clock).
    pub async fn sweep_recycle_bin(&self, tenant: Uuid) -> DirectoryResult<()> {
        let now = cerulean_store::clock::unix_now();
        {
            let mut sweeps = last_sweeps().lock().unwrap_or_else(|e| e.into_inner());
            // A clock moved back makes the last sweep "in the future": sweep again.
            if sweeps.get(&tenant).is_some_and(|&at| (0..SWEEP_EVERY_SECS).contains(&(now - at))) {
                return Ok(());
            }
            sweeps.insert(tenant, now);
        }
        self.purge_recycle_bin(tenant).await.map(|_| ())
    }

    /// The recycle bin's own purge of `object` (its 30 days are over), by the system.
    async fn purge_expired(&self, tenant: Uuid, object: &ObjectRecord) -> DirectoryResult<()> {
        let caller = Caller::system(tenant);
        match self.hard_delete(&caller, object).await {
            // Purged meanwhile (another node, another reader): the same outcome.
            Err(DirectoryError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// `POST /directory/deletedItems/{id}/restore`: brings the object back with its claims
    /// (a UPN taken meanwhile is a conflict) and its memberships.
    ///
    /// A user may come back under `new_upn` (the `newUserPrincipalName` of the request), for
    /// when its own was taken meanwhile.
    pub async fn restore_deleted(
        &self,
        caller: &Caller,
        key: &str,
        new_upn: Option<&str>,
    ) -> DirectoryResult<ObjectRecord> {
        let object = self.get_deleted(caller.tenant, key).await?;
        let mut renamed = None;
        if let Some(upn) = new_upn {
            if object.object_type != "user" {
                return Err(DirectoryError::bad_request("newUserPrincipalName applies to users only."));
            }
            let tenant = self.tenant_record(caller.tenant).await?;
            crate::users::check_upn(upn, &tenant)?;
            let mut doc = object.doc.clone();
            doc.insert("userPrincipalName".into(), serde_json::Value::String(upn.to_string()));
            crate::users::sync_upn_identity(&mut doc, upn);
            renamed = Some(doc);
        }
        let unique = match object.object_type.as_str() {
            "user" => renamed
                .as_ref()
                .unwrap_or(&object.doc)
                .get("userPrincipalName")
                .and_then(|v| v.as_str())
                .map(|u| vec![("upn".to_string(), u.to_lowercase())])
                .unwrap_or_default(),
            "group" => crate::groups::group_claims(&object.doc),
            "application" => crate::applications::application_claims(&object.doc),
            "servicePrincipal" => crate::applications::service_principal_claims(&object.doc),
            _ => Vec::new(),
        };
        let mut ops = vec![Op::Restore { id: object.id, unique: unique.clone() }];
        if let Some(doc) = renamed {
            // Restoring bumps the version once; the rename applies to the restored object.
            ops.push(Op::Update { id: object.id, expected_version: object.version + 1, doc, unique });
        }
        // Its hidden memberships come back with it.
        ops.extend(self.membership_notes(caller.tenant, object.id, true).await?);
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                &format!("Restore {}", noun(&object.object_type)),
                category(&object.object_type),
                "Update",
                vec![audit::bare_target(&object)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        // A restored user or device rejoins the dynamic groups whose rules it matches now.
        self.reevaluate_member(caller.tenant, object.id).await?;
        // A restored licensed group gives its members their licences back.
        if Directory::is_licensed(&object) {
            let members =
                self.store.edge_ids(caller.tenant, cerulean_store::EdgeKind::Member, object.id, false).await?;
            self.reconcile_and_reevaluate(caller.tenant, &members).await?;
        }
        self.store.get(caller.tenant, object.id).await?.ok_or_else(|| DirectoryError::not_found(key))
    }

    /// `DELETE /directory/deletedItems/{id}`: deletes for good.
    pub async fn purge_deleted(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let object = self.get_deleted(caller.tenant, key).await?;
        self.hard_delete(caller, &object).await
    }

    /// Deletes a soft-deleted object for good, with its assignments.
    async fn hard_delete(&self, caller: &Caller, object: &ObjectRecord) -> DirectoryResult<()> {
        let mut ops = self.assignment_purges(caller.tenant, object.id).await?;
        ops.push(Op::Purge { id: object.id });
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                &format!("Hard delete {}", noun(&object.object_type)),
                category(&object.object_type),
                "Delete",
                vec![audit::bare_target(object)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }
}

fn noun(object_type: &str) -> &str {
    match object_type {
        "servicePrincipal" => "service principal",
        "administrativeUnit" => "administrative unit",
        "orgContact" => "contact",
        other => other,
    }
}

fn category(object_type: &str) -> &'static str {
    match object_type {
        "user" => "UserManagement",
        "group" => "GroupManagement",
        "application" | "servicePrincipal" => "ApplicationManagement",
        "device" => "Device",
        "administrativeUnit" => "AdministrativeUnit",
        "orgContact" => "Contact",
        _ => "DirectoryManagement",
    }
}
