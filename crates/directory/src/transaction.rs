//! Units of work: several directory operations that commit together or not at all.
//!
//! Azure AD Graph's `$batch` change sets are "all operations in the change set succeed, or the
//! entire change set fails". A [`Transaction`] gives that without a second implementation of
//! any rule: its [`Transaction::directory`] is the ordinary directory service, whose writes are
//! staged instead of committed, and [`Transaction::commit`] hands every staged change to the
//! store in one transaction ([`Store::apply_all`]). Dropping a transaction without committing
//! discards what it staged, so nothing of it was ever visible to anyone.
//!
//! Reads inside a transaction see the committed directory, not the staged writes: the rules of
//! each operation are checked against the state before the transaction. The store still checks
//! every op at commit (versions, uniqueness claims, edges), so a staged write that conflicts
//! with an earlier one of the same transaction, or with a write committed meanwhile, fails the
//! commit and with it the whole transaction.

use std::sync::{Arc, Mutex};

use cerulean_store::{Change, StoreError, StoreResult};
use uuid::Uuid;

use crate::Directory;
use crate::error::{DirectoryError, DirectoryResult};

/// What a transaction has staged: the changes of one tenant, in order.
#[derive(Default)]
pub(crate) struct Staged {
    tenant: Option<Uuid>,
    changes: Vec<Change>,
}

/// A unit of work over the directory (see the module documentation).
pub struct Transaction {
    directory: Directory,
    staged: Arc<Mutex<Staged>>,
}

impl Directory {
    /// Starts a unit of work: the returned transaction's directory stages its writes until
    /// [`Transaction::commit`].
    pub fn transaction(&self) -> Transaction {
        let staged = Arc::new(Mutex::new(Staged::default()));
        let mut directory = self.clone();
        directory.staged = Some(staged.clone());
        Transaction { directory, staged }
    }

    /// Applies `change` now, or stages it when this directory belongs to a transaction. A staged
    /// change answers the tenant's current sequence (nothing is committed yet).
    pub(crate) async fn apply_change(&self, tenant: Uuid, change: Change) -> StoreResult<u64> {
        let Some(staged) = &self.staged else {
            return self.store.apply(tenant, change).await;
        };
        {
            let mut s = staged.lock().unwrap_or_else(|p| p.into_inner());
            if s.tenant.is_some_and(|t| t != tenant) {
                return Err(StoreError::Invalid("a transaction spans a single tenant".into()));
            }
            s.tenant = Some(tenant);
            s.changes.push(change);
        }
        Ok(self.store.change_log_bounds(tenant).await?.last)
    }
}

impl Transaction {
    /// The directory service whose writes this transaction stages.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// How many changes are staged.
    pub fn staged(&self) -> usize {
        self.staged.lock().unwrap_or_else(|p| p.into_inner()).changes.len()
    }

    /// Commits every staged change in one store transaction: all of them, or none.
    pub async fn commit(self) -> DirectoryResult<()> {
        let (tenant, changes) = {
            let mut s = self.staged.lock().unwrap_or_else(|p| p.into_inner());
            (s.tenant, std::mem::take(&mut s.changes))
        };
        match tenant {
            Some(tenant) if !changes.is_empty() => {
                self.directory.store.apply_all(tenant, changes).await.map_err(refused)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The error of a commit the store refused, as the operations answer the same refusal when
/// they commit alone: an edge added twice is Graph's "already exist", a vanished object a 404.
fn refused(e: StoreError) -> DirectoryError {
    match e {
        StoreError::EdgeExists(detail) => {
            let property = match detail.split_whitespace().next().unwrap_or_default() {
                "member" => "members",
                "owner" => "owners",
                other => other,
            };
            crate::groups::already_exist(property)
        }
        StoreError::NotFound(what) => DirectoryError::not_found(&what),
        other => other.into(),
    }
}
