//! The ids a token's `groups` claim lists for a user, per an application's
//! `groupMembershipClaims` (Entra's manifest values, comma-separated when combined):
//!
//! | value | emits |
//! |---|---|
//! | `None` (or absent) | nothing |
//! | `SecurityGroup` | security-enabled groups and directory roles |
//! | `DirectoryRole` | directory roles (their role template ids, as in `wids`) |
//! | `ApplicationGroup` | groups assigned to the application (app role assignments) |
//! | `All` | every group (security, Microsoft 365, distribution) and directory roles |
//!
//! Membership is transitive (nested groups, role-assignable groups holding roles), from the
//! directory's in-memory membership graph. A claims mapping policy's `GroupFilter` keeps the
//! groups it matches (whatever the nesting) and every directory role.

use std::collections::HashSet;

use cerulean_store::{Filter, ListQuery, Scope};
use serde_json::Value;
use uuid::Uuid;

use crate::Directory;
use crate::claims_mapping::GroupFilter;
use crate::error::DirectoryResult;
use crate::membership::Direction;

/// What an application's `groupMembershipClaims` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupClaimKinds {
    pub security_groups: bool,
    pub all_groups: bool,
    pub directory_roles: bool,
    pub application_groups: bool,
}

impl GroupClaimKinds {
    /// Parses `groupMembershipClaims` (case-insensitive; unknown words are ignored).
    pub fn parse(value: Option<&str>) -> GroupClaimKinds {
        let mut k = GroupClaimKinds::default();
        for word in value.unwrap_or_default().split(',').map(str::trim) {
            match word.to_ascii_lowercase().as_str() {
                "securitygroup" => {
                    k.security_groups = true;
                    k.directory_roles = true;
                }
                "directoryrole" => k.directory_roles = true,
                "applicationgroup" => k.application_groups = true,
                "all" => {
                    k.all_groups = true;
                    k.directory_roles = true;
                }
                _ => {}
            }
        }
        k
    }

    pub fn any(&self) -> bool {
        self.security_groups || self.all_groups || self.directory_roles || self.application_groups
    }
}

impl Directory {
    /// The `groups` claim values of `user` for an application with `kinds`; `app_sp` is the
    /// application's service principal (for `ApplicationGroup`); `filter` the `GroupFilter`
    /// of the token audience's claims mapping policy. Sorted, without duplicates.
    pub async fn group_claim_ids(
        &self,
        tenant: Uuid,
        user: Uuid,
        kinds: GroupClaimKinds,
        app_sp: Option<Uuid>,
        filter: Option<&GroupFilter>,
    ) -> DirectoryResult<Vec<String>> {
        if !kinds.any() {
            return Ok(Vec::new());
        }
        let containers = self.transitive_ids(tenant, user, Direction::MemberOf, &["group", "directoryRole"]).await?;
        let records = self.get_many(tenant, &containers).await?;
        let assigned: HashSet<Uuid> = match (kinds.application_groups, app_sp) {
            (true, Some(sp)) => self.groups_assigned_to(tenant, sp).await?,
            _ => HashSet::new(),
        };
        let mut out: Vec<String> = Vec::new();
        for r in &records {
            match r.object_type.as_str() {
                "group" => {
                    let security = r.doc.get("securityEnabled").and_then(Value::as_bool) == Some(true);
                    let wanted = kinds.all_groups || (kinds.security_groups && security) || assigned.contains(&r.id);
                    if wanted && filter.is_none_or(|f| f.keeps(r)) {
                        out.push(r.id.to_string());
                    }
                }
                "directoryRole" if kinds.directory_roles => {
                    if let Some(t) = r.doc.get("roleTemplateId").and_then(Value::as_str) {
                        out.push(t.to_ascii_lowercase());
                    }
                }
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The groups with an app role assignment to the service principal `sp`.
    async fn groups_assigned_to(&self, tenant: Uuid, sp: Uuid) -> DirectoryResult<HashSet<Uuid>> {
        let mut query = ListQuery::new(&["appRoleAssignment"], Scope::Live);
        query.filter = Some(Filter::And(vec![crate::guid_filter("resourceId", sp)]));
        query.top = 999;
        let mut out = HashSet::new();
        loop {
            let page = self.store.list(tenant, &query).await?;
            for a in &page.items {
                if a.doc.get("principalType").and_then(Value::as_str) == Some("Group")
                    && let Some(id) =
                        a.doc.get("principalId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
                {
                    out.insert(id);
                }
            }
            match page.next {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_manifest_values() {
        assert!(!GroupClaimKinds::parse(None).any());
        assert!(!GroupClaimKinds::parse(Some("None")).any());
        let s = GroupClaimKinds::parse(Some("SecurityGroup"));
        assert!(s.security_groups && s.directory_roles && !s.all_groups);
        let combo = GroupClaimKinds::parse(Some("DirectoryRole, ApplicationGroup"));
        assert!(combo.directory_roles && combo.application_groups && !combo.security_groups);
        assert!(GroupClaimKinds::parse(Some("all")).all_groups);
    }
}
