//! Reading the audit log, and keeping the sign-in log: the directory's side of
//! `/auditLogs`. Audit records are written by every directory write (see [`crate::audit`]);
//! sign-in records are written by the identity platform, one per attempt at its endpoints.
//! Both logs are read newest first through [`LogQuery`] plans and kept for a configurable
//! number of days.

use cerulean_store::{AuditRecord, LogCursor, LogQuery, PRUNE_BATCH, SignInRecord};
use uuid::Uuid;

use crate::{Directory, DirectoryResult};

impl Directory {
    /// Audit records matching `query`, newest first, each with its cursor.
    pub async fn audit_page(&self, tenant: Uuid, query: &LogQuery) -> DirectoryResult<Vec<(LogCursor, AuditRecord)>> {
        Ok(self.store.audit_page(tenant, query).await?)
    }

    /// One audit record by id.
    pub async fn audit_record(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<AuditRecord>> {
        Ok(self.store.audit_record(tenant, id).await?)
    }

    /// Records one sign-in attempt, committed with the sign-ins of concurrent requests (see
    /// `sign_in_writer.rs`); returns once it is committed.
    pub async fn record_sign_in(&self, tenant: Uuid, record: &SignInRecord) -> DirectoryResult<()> {
        Ok(self.sign_ins.put(&self.store, tenant, record.clone()).await?)
    }

    /// Sign-in records matching `query`, newest first, each with its cursor.
    pub async fn sign_in_page(
        &self,
        tenant: Uuid,
        query: &LogQuery,
    ) -> DirectoryResult<Vec<(LogCursor, SignInRecord)>> {
        Ok(self.store.sign_in_page(tenant, query).await?)
    }

    /// [`Directory::sign_in_page`] with only the `keep` properties of each record's `doc`
    /// (see [`cerulean_store::Store::sign_in_page_projected`]).
    pub async fn sign_in_page_projected(
        &self,
        tenant: Uuid,
        query: &LogQuery,
        keep: &[&str],
    ) -> DirectoryResult<Vec<(LogCursor, SignInRecord)>> {
        Ok(self.store.sign_in_page_projected(tenant, query, keep).await?)
    }

    /// One sign-in record by id.
    pub async fn sign_in(&self, tenant: Uuid, id: Uuid) -> DirectoryResult<Option<SignInRecord>> {
        Ok(self.store.sign_in(tenant, id).await?)
    }

    /// Retention: deletes audit and sign-in records older than `before` (RFC 3339) in every
    /// tenant, in bounded batches so no transaction holds the logs for long. Returns how many
    /// were removed.
    pub async fn prune_logs(&self, before: &str) -> DirectoryResult<usize> {
        let mut total = 0;
        for tenant in self.store.tenants().await? {
            loop {
                let n = self.store.prune_logs(tenant.id, before, PRUNE_BATCH).await?;
                total += n;
                if n < PRUNE_BATCH {
                    break;
                }
            }
        }
        Ok(total)
    }
}
