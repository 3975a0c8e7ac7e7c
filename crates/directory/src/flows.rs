//! Sign-in flow state (authorization codes, device codes, SSO sessions) passed through to the
//! store: the identity-platform front-end never talks to the store directly.

use cerulean_store::{FlowRecord, FlowRedemption};
use serde_json::Value;
use uuid::Uuid;

use crate::Directory;
use crate::error::DirectoryResult;
use crate::validate::now;

impl Directory {
    /// Stores a new flow record and purges the tenant's expired records of its kind.
    pub async fn put_flow(&self, tenant: Uuid, record: &FlowRecord) -> DirectoryResult<()> {
        Ok(self.store.put_flow(tenant, record, &now()).await?)
    }

    pub async fn flow(&self, tenant: Uuid, kind: &str, key: &str) -> DirectoryResult<Option<FlowRecord>> {
        Ok(self.store.flow(tenant, kind, key).await?)
    }

    pub async fn flow_by_lookup(&self, tenant: Uuid, kind: &str, lookup: &str) -> DirectoryResult<Option<FlowRecord>> {
        Ok(self.store.flow_by_lookup(tenant, kind, lookup).await?)
    }

    pub async fn update_flow(&self, tenant: Uuid, kind: &str, key: &str, data: &Value) -> DirectoryResult<bool> {
        Ok(self.store.update_flow(tenant, kind, key, data).await?)
    }

    /// Marks a single-use record used (see [`cerulean_store::Store::redeem_flow`]).
    pub async fn redeem_flow(&self, tenant: Uuid, kind: &str, key: &str) -> DirectoryResult<FlowRedemption> {
        Ok(self.store.redeem_flow(tenant, kind, key, &now()).await?)
    }

    pub async fn delete_flow(&self, tenant: Uuid, kind: &str, key: &str) -> DirectoryResult<bool> {
        Ok(self.store.delete_flow(tenant, kind, key).await?)
    }

    /// Revokes one refresh-token family (what a replayed authorization code had issued).
    pub async fn revoke_refresh_family(&self, tenant: Uuid, family: Uuid) -> DirectoryResult<u64> {
        Ok(self.store.revoke_refresh_family(tenant, family, &now()).await?)
    }
}
