//! Consent given on the consent pages: an `oauth2PermissionGrant` is created, or widened with
//! the newly consented scopes (one grant per client, resource and principal, as in Entra).

use cerulean_store::{Change, ObjectRecord, Op};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::DirectoryResult;
use crate::{Caller, Directory, audit};

impl Directory {
    /// Records consent of `scopes` for the client service principal `client` on the resource
    /// service principal `resource`: for `user` alone (`Principal`), or tenant-wide
    /// (`AllPrincipals`, admin consent) when `user` is `None`.
    pub async fn record_consent(
        &self,
        caller: &Caller,
        client: Uuid,
        resource: Uuid,
        user: Option<Uuid>,
        scopes: &[String],
    ) -> DirectoryResult<()> {
        let principal = user.map(|u| u.to_string()).unwrap_or_else(|| "all".into());
        let key = format!("{client}:{resource}:{principal}");
        let existing = match self.store.find_unique(caller.tenant, "oauth2PermissionGrant", &key).await? {
            Some(id) => self.get(caller.tenant, id).await?,
            None => None,
        };
        let Some(current) = existing else {
            let body = json!({
                "clientId": client.to_string(),
                "consentType": if user.is_some() { "Principal" } else { "AllPrincipals" },
                "principalId": user.map(|u| u.to_string()),
                "resourceId": resource.to_string(),
                "scope": scopes.join(" "),
            });
            self.create_permission_grant(caller, body.as_object().unwrap_or(&Default::default())).await?;
            return Ok(());
        };
        let mut have: Vec<String> = current
            .doc
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let before = have.len();
        for s in scopes {
            if !have.iter().any(|h| h.eq_ignore_ascii_case(s)) {
                have.push(s.clone());
            }
        }
        if have.len() == before {
            return Ok(());
        }
        let mut doc = current.doc.clone();
        doc.insert("scope".into(), json!(have.join(" ")));
        let updated = ObjectRecord { doc: doc.clone(), ..current.clone() };
        let change = Change {
            ops: vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc,
                unique: vec![("oauth2PermissionGrant".into(), key)],
            }],
            audit: audit::record(
                caller,
                "Consent to application",
                "ApplicationManagement",
                "Update",
                vec![audit::target(&updated, Some(&current.doc), Some(&updated.doc))],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }
}
