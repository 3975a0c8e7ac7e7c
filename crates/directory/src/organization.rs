//! The organization (`/organization`): the tenant as a directory object whose id is the tenant
//! id. What an administrator sets (business address and phones, notification mail lists,
//! privacy profile, preferred language, ...) is stored as an `organization` object, written on
//! the first update; what Entra computes is derived on every read and never stored: the display
//! name and creation time from the tenant, `verifiedDomains` from the tenant's domains, and the
//! plans from the tenant's subscriptions ([`Directory::tenant_assigned_plans`]).

use cerulean_store::{Change, DomainRecord, ObjectRecord, Op, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::users::{WRITE_RETRIES, merge, reject_annotations};
use crate::validate::{Mode, validate_body};
use crate::{Caller, Directory, audit};

/// The object type of the stored organization document.
pub const ORGANIZATION_TYPE: &str = "organization";

fn organization_type() -> &'static cerulean_schema::EntityType {
    cerulean_schema::entity(ORGANIZATION_TYPE).expect("organization is declared")
}

/// `verifiedDomains`: one entry per verified domain, as Entra lists them.
pub(crate) fn verified_domains(domains: &[DomainRecord]) -> Vec<Value> {
    domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "capabilities": if d.is_initial { "Email, OfficeCommunicationsOnline" } else { "None" },
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "name": d.name,
                "type": "Managed",
            })
        })
        .collect()
}

/// Properties whose values are list-valued mail addresses.
const MAIL_LISTS: &[&str] =
    &["marketingNotificationEmails", "securityComplianceNotificationMails", "technicalNotificationMails"];

fn invalid(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!("Invalid value specified for property '{prop}' of resource 'Organization'."))
}

/// Rules of an organization update beyond the schema's types: mail lists hold addresses, one
/// business phone at most (as on users), `defaultUsageLocation` a two-letter country code, and
/// the privacy profile's contact a mail address and statement an absolute http(s) URL.
fn check_values(props: &Map<String, Value>) -> DirectoryResult<()> {
    let is_mail =
        |s: &str| s.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !s.contains(' '));
    for key in MAIL_LISTS {
        if let Some(Value::Array(items)) = props.get(*key)
            && !items.iter().all(|v| v.as_str().is_some_and(is_mail))
        {
            return Err(invalid(key));
        }
    }
    if let Some(Value::Array(items)) = props.get("businessPhones")
        && items.len() > 1
    {
        return Err(invalid("businessPhones"));
    }
    if let Some(v) = props.get("defaultUsageLocation").and_then(Value::as_str)
        && !(v.len() == 2 && v.chars().all(|c| c.is_ascii_uppercase()))
    {
        return Err(invalid("defaultUsageLocation"));
    }
    if let Some(Value::Object(p)) = props.get("privacyProfile") {
        if p.get("contactEmail").and_then(Value::as_str).is_some_and(|m| !is_mail(m)) {
            return Err(invalid("privacyProfile"));
        }
        if p.get("statementUrl")
            .and_then(Value::as_str)
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.contains(' '))
        {
            return Err(invalid("privacyProfile"));
        }
    }
    Ok(())
}

impl Directory {
    /// The organization as a record of Graph v1.0 properties: stored settings over defaults,
    /// with the derived properties filled in.
    pub async fn organization(&self, tenant: Uuid) -> DirectoryResult<ObjectRecord> {
        let record = self.tenant_record(tenant).await?;
        let stored = self.store.get(tenant, tenant).await?.filter(|o| o.object_type == ORGANIZATION_TYPE);
        let mut doc = json!({
            "businessPhones": [],
            "marketingNotificationEmails": [],
            "mobileDeviceManagementAuthority": "unknown",
            "securityComplianceNotificationMails": [],
            "securityComplianceNotificationPhones": [],
            "technicalNotificationMails": [],
            "provisionedPlans": [],
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let version = stored.as_ref().map_or(0, |o| o.version);
        if let Some(o) = stored {
            merge(&mut doc, &o.doc);
        }
        doc.insert("displayName".into(), json!(record.display_name));
        doc.insert("createdDateTime".into(), json!(record.created_at));
        doc.insert("tenantType".into(), json!("AAD"));
        doc.insert("verifiedDomains".into(), Value::Array(verified_domains(&record.domains)));
        doc.insert("assignedPlans".into(), Value::Array(self.tenant_assigned_plans(tenant).await?));
        Ok(ObjectRecord { id: tenant, object_type: ORGANIZATION_TYPE.into(), version, doc, deleted_at: None })
    }

    /// `PATCH /organization/{id}`: `id` must be the tenant's.
    pub async fn update_organization(
        &self,
        caller: &Caller,
        id: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        if Uuid::parse_str(id).ok() != Some(caller.tenant) {
            return Err(DirectoryError::not_found(id));
        }
        let (props, annotations) = validate_body(organization_type(), body, Mode::Update)?;
        reject_annotations(&annotations, ORGANIZATION_TYPE)?;
        check_values(&props)?;
        for _ in 0..WRITE_RETRIES {
            let before = self.organization(caller.tenant).await?;
            let stored = self.store.get(caller.tenant, caller.tenant).await?;
            let old_doc = stored.as_ref().map(|o| o.doc.clone()).unwrap_or_default();
            let mut doc = old_doc.clone();
            merge(&mut doc, &props);
            let op = match &stored {
                Some(o) => Op::Update { id: o.id, expected_version: o.version, doc: doc.clone(), unique: Vec::new() },
                None => Op::Insert {
                    object: ObjectRecord {
                        id: caller.tenant,
                        object_type: ORGANIZATION_TYPE.into(),
                        version: 1,
                        doc: doc.clone(),
                        deleted_at: None,
                    },
                    unique: Vec::new(),
                },
            };
            let change = Change {
                ops: vec![op],
                audit: audit::record(
                    caller,
                    "Set company information",
                    "DirectoryManagement",
                    "Update",
                    vec![audit::target(&before, Some(&old_doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_) | StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The organization was modified concurrently; retry the request.".into()))
    }
}
