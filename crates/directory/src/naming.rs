//! `directoryObjects/validateProperties`: whether a Microsoft 365 group's display name and mail
//! nickname would be accepted, before creating it.
//!
//! Graph runs three checks in order and reports the first failure: the tenant's prefix/suffix
//! naming policy, its custom banned words, and the uniqueness of the mail nickname
//! (`directoryobject-validateproperties`). Cerulean has no group naming policy yet, so the
//! first two always pass and the uniqueness check decides; a malformed nickname is refused as
//! a bad request, as group creation refuses it.

use uuid::Uuid;

use crate::Directory;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::check_mail_nickname;

/// One failed validation: the property, Graph's detail code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyFailure {
    pub target: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl Directory {
    /// Validates a future group's names; an empty list means both pass.
    pub async fn validate_group_names(
        &self,
        tenant: Uuid,
        display_name: Option<&str>,
        mail_nickname: Option<&str>,
        on_behalf_of: Option<Uuid>,
    ) -> DirectoryResult<Vec<PropertyFailure>> {
        if display_name.is_none() && mail_nickname.is_none() {
            return Err(DirectoryError::bad_request(
                "At least one of the properties 'displayName' or 'mailNickname' must be specified.",
            ));
        }
        if let Some(user) = on_behalf_of
            && self.find(tenant, "user", &user.to_string()).await.is_err()
        {
            return Err(DirectoryError::not_found(&user.to_string()));
        }
        if display_name.is_some_and(|d| d.trim().is_empty() || d.chars().count() > 256) {
            return Err(DirectoryError::bad_request(
                "Invalid value specified for property 'displayName' of resource 'Group'.",
            ));
        }
        let Some(nickname) = mail_nickname else { return Ok(Vec::new()) };
        check_mail_nickname(nickname, "Group")?;
        let tenant_record = self.tenant_record(tenant).await?;
        let domain = tenant_record
            .domains
            .iter()
            .find(|d| d.is_default)
            .or(tenant_record.domains.first())
            .map(|d| d.name.clone())
            .unwrap_or_default();
        // A Microsoft 365 group claims `{mailNickname}@{default domain}` (see groups.rs).
        let mail = format!("{nickname}@{domain}").to_lowercase();
        if self.store.find_unique(tenant, "mail", &mail).await?.is_some() {
            return Ok(vec![PropertyFailure {
                target: "mailNickname",
                code: "PropertyConflict",
                message: "Another object with the same value for property mailNickname already exists.".into(),
            }]);
        }
        Ok(Vec::new())
    }
}
