//! Domains ("domain resource type"): add, read, update, verify, delete and force-delete, with
//! the DNS records a domain needs and the objects that reference it.
//!
//! A domain is a row of the store's server-wide `domains` table (name, tenant, `isInitial`,
//! `isDefault`, `isVerified`) with its other properties in the row's document, so that tenant
//! resolution by domain name (token endpoint, Azure AD Graph's `/{tenant}`) reads the same rows
//! the domain API writes. Only verified domains name their tenant. Names are unique across the
//! server: a name another tenant has added is refused (Entra lets several tenants add the same
//! unverified name and only one verify it; Cerulean keeps one holder at a time).
//!
//! Verification proves ownership with the TXT record `MS=ms{code}` at the domain's apex. With
//! a resolver configured (`--dns-resolver`), `verify` asks it; without one, `verify` is an
//! administrative act that succeeds (a stand-in on a private network has no public DNS). A
//! subdomain of a verified domain is verified as it is added, as in Entra.
//!
//! The initial domain (bootstrap's `*.onmicrosoft.com`) is verified, initial and cannot be
//! deleted; the default domain cannot be deleted either (make another one default first).

use std::collections::HashSet;

use cerulean_store::{AuditTarget, Change, DomainRecord, ListQuery, ObjectRecord, Op, Scope, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::groups::string_list;
use crate::validate::{Mode, now, validate_body};
use crate::{Caller, Directory, audit};

/// Services a domain may support (`supportedServices`), as the domain resource lists them.
const SERVICES: &[&str] = &[
    "Email",
    "Sharepoint",
    "EmailInternalRelayOnly",
    "OfficeCommunicationsOnline",
    "SharePointDefaultDomain",
    "FullRedelegation",
    "SharePointPublic",
    "OrgIdAuthentication",
    "Yammer",
    "Intune",
];
/// `passwordValidityPeriodInDays` meaning "passwords never expire".
const NEVER_EXPIRES: i64 = 2_147_483_647;
/// forceDelete renames at most this many objects (Entra's limit).
const FORCE_DELETE_LIMIT: usize = 1000;
/// Page size of the reference scans.
const PAGE: usize = 500;
/// The document key of the verification code (never returned: not a declared property).
const CODE: &str = "verificationCode";

fn domain_type() -> &'static cerulean_schema::EntityType {
    cerulean_schema::entity("domain").expect("domain is declared")
}

fn invalid(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!("Invalid value specified for property '{prop}' of resource 'Domain'."))
}

/// Whether `name` is a fully qualified domain name Entra accepts: two labels at least, each
/// 1-63 letters, digits or inner hyphens, 255 characters in all, an alphabetic top level.
pub(crate) fn valid_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 255
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
}

/// A domain's Graph v1.0 document: the row's flags over its stored properties and defaults.
pub(crate) fn domain_document(d: &DomainRecord, all: &[DomainRecord]) -> Map<String, Value> {
    let is_root = !all.iter().any(|o| o.name != d.name && d.name.ends_with(&format!(".{}", o.name)));
    let mut doc = json!({
        "authenticationType": "Managed",
        "availabilityStatus": null,
        "isAdminManaged": true,
        "isRoot": is_root,
        "manufacturer": null,
        "model": null,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": NEVER_EXPIRES,
        "state": null,
        "supportedServices": if d.is_initial { json!(["Email", "OfficeCommunicationsOnline"]) } else { json!([]) },
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    for (k, v) in &d.doc {
        doc.insert(k.clone(), v.clone());
    }
    doc.insert("id".into(), json!(d.name));
    doc.insert("isDefault".into(), json!(d.is_default));
    doc.insert("isInitial".into(), json!(d.is_initial));
    doc.insert("isVerified".into(), json!(d.is_verified));
    doc
}

/// The TXT value that proves ownership of a domain with this code.
fn verification_text(code: &str) -> String {
    format!("MS=ms{code}")
}

/// A DNS record of the `verificationDnsRecords` / `serviceConfigurationRecords` shape. Record
/// ids are stable for a domain, type and label.
fn dns_record(domain: &str, ty: &str, label: &str, service: &str, extra: Value) -> Map<String, Value> {
    let mut seed = [0u8; 16];
    for (i, b) in format!("{domain}|{ty}|{label}").bytes().enumerate() {
        seed[i % 16] = seed[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    let id = uuid::Builder::from_random_bytes(seed).into_uuid();
    let mut rec = json!({
        "@odata.type": format!("#microsoft.graph.domainDns{ty}Record"),
        "id": id.to_string(),
        "isOptional": false,
        "label": label,
        "recordType": ty,
        "supportedService": service,
        "ttl": 3600,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    if let Value::Object(extra) = extra {
        rec.extend(extra);
    }
    rec
}

/// The audit target of a domain (domains are not directory objects: named, not by id).
fn domain_target(
    tenant: Uuid,
    name: &str,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> AuditTarget {
    let shim = ObjectRecord {
        id: tenant,
        object_type: "domain".into(),
        version: 0,
        doc: json!({ "displayName": name }).as_object().cloned().unwrap_or_default(),
        deleted_at: None,
    };
    audit::target(&shim, old, new)
}

impl Directory {
    /// The same directory verifying domains against this DNS resolver (`None`: administrative
    /// verification).
    pub fn with_dns_resolver(mut self, resolver: Option<std::net::SocketAddr>) -> Directory {
        self.dns_resolver = resolver;
        self
    }

    async fn tenant_domains(&self, tenant: Uuid) -> DirectoryResult<Vec<DomainRecord>> {
        Ok(self.tenant_record(tenant).await?.domains)
    }

    async fn domain_record(&self, tenant: Uuid, name: &str) -> DirectoryResult<(DomainRecord, Vec<DomainRecord>)> {
        let all = self.tenant_domains(tenant).await?;
        let name = name.to_ascii_lowercase();
        let found = all.iter().find(|d| d.name == name).cloned().ok_or_else(|| DirectoryError::not_found(&name))?;
        Ok((found, all))
    }

    /// `GET /domains`: every domain of the tenant, as Graph v1.0 documents.
    pub async fn domains(&self, tenant: Uuid) -> DirectoryResult<Vec<Map<String, Value>>> {
        let all = self.tenant_domains(tenant).await?;
        Ok(all.iter().map(|d| domain_document(d, &all)).collect())
    }

    /// `GET /domains/{name}`.
    pub async fn domain(&self, tenant: Uuid, name: &str) -> DirectoryResult<Map<String, Value>> {
        let (d, all) = self.domain_record(tenant, name).await?;
        Ok(domain_document(&d, &all))
    }

    /// `POST /domains` with `{"id": "contoso.com"}`: added unverified, or verified at once when
    /// a parent domain of the tenant is verified.
    pub async fn create_domain(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Map<String, Value>> {
        let (props, annotations) = validate_body(domain_type(), body, Mode::Create)?;
        crate::users::reject_annotations(&annotations, "domain")?;
        let name = props.get("id").and_then(Value::as_str).unwrap_or_default().trim().to_ascii_lowercase();
        if !valid_domain_name(&name) {
            return Err(invalid("id"));
        }
        check_domain_values(&props)?;
        let all = self.tenant_domains(caller.tenant).await?;
        if all.iter().any(|d| d.name == name) {
            return Err(DirectoryError::ObjectConflict { property: "id".into() });
        }
        let parent_verified = all.iter().any(|o| o.is_verified && name.ends_with(&format!(".{}", o.name)));
        if props.get("isDefault").and_then(Value::as_bool) == Some(true) && !parent_verified {
            return Err(unverified_default());
        }
        let code = format!("{:08}", Uuid::new_v4().as_u128() % 100_000_000);
        let mut doc = Map::new();
        for (k, v) in &props {
            if !["id", "isDefault"].contains(&k.as_str()) && !v.is_null() {
                doc.insert(k.clone(), v.clone());
            }
        }
        doc.insert(CODE.into(), json!(code));
        let record = DomainRecord {
            name: name.clone(),
            is_initial: false,
            is_default: false,
            is_verified: parent_verified,
            doc,
        };
        let mut ops = vec![Op::PutDomain(record.clone())];
        if parent_verified && props.get("isDefault").and_then(Value::as_bool) == Some(true) {
            ops = self.default_switch(&all, DomainRecord { is_default: true, ..record.clone() });
        }
        let mut with_new = all.clone();
        with_new.push(record.clone());
        let wire = domain_document(&record, &with_new);
        let activity = if parent_verified { "Add verified domain" } else { "Add unverified domain" };
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                activity,
                "DirectoryManagement",
                "Add",
                vec![domain_target(caller.tenant, &name, None, Some(&wire))],
            ),
        };
        self.store.apply(caller.tenant, change).await.map_err(|e| match e {
            StoreError::Conflict { .. } => DirectoryError::ObjectConflict { property: "id".into() },
            other => other.into(),
        })?;
        self.domain(caller.tenant, &name).await
    }

    /// The ops that make `new_default` the default and the previous default not.
    fn default_switch(&self, all: &[DomainRecord], new_default: DomainRecord) -> Vec<Op> {
        let mut ops: Vec<Op> = all
            .iter()
            .filter(|d| d.is_default && d.name != new_default.name)
            .map(|d| Op::PutDomain(DomainRecord { is_default: false, ..d.clone() }))
            .collect();
        ops.push(Op::PutDomain(new_default));
        ops
    }

    /// `PATCH /domains/{name}`: `isDefault` (verified domains only; unset by making another
    /// domain the default), `supportedServices` and the password policy.
    pub async fn update_domain(&self, caller: &Caller, name: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let (props, annotations) = validate_body(domain_type(), body, Mode::Update)?;
        crate::users::reject_annotations(&annotations, "domain")?;
        check_domain_values(&props)?;
        let (current, all) = self.domain_record(caller.tenant, name).await?;
        let mut next = current.clone();
        for (k, v) in &props {
            if k == "isDefault" {
                continue;
            }
            if v.is_null() {
                next.doc.remove(k);
            } else {
                next.doc.insert(k.clone(), v.clone());
            }
        }
        let ops = match props.get("isDefault") {
            Some(Value::Bool(true)) if !current.is_verified => return Err(unverified_default()),
            Some(Value::Bool(true)) => {
                next.is_default = true;
                self.default_switch(&all, next.clone())
            }
            Some(Value::Bool(false)) if current.is_default => {
                return Err(DirectoryError::bad_request(
                    "The default domain cannot be unset. Make another verified domain the default domain instead.",
                ));
            }
            Some(Value::Bool(false)) | None => vec![Op::PutDomain(next.clone())],
            Some(_) => return Err(invalid("isDefault")),
        };
        let old = domain_document(&current, &all);
        let new = domain_document(&next, &all);
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Update domain",
                "DirectoryManagement",
                "Update",
                vec![domain_target(caller.tenant, &current.name, Some(&old), Some(&new))],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok(())
    }

    /// `GET /domains/{name}/verificationDnsRecords`: the TXT record (and its MX alternative)
    /// that proves ownership.
    pub async fn verification_dns_records(&self, tenant: Uuid, name: &str) -> DirectoryResult<Vec<Map<String, Value>>> {
        let (d, _) = self.domain_record(tenant, name).await?;
        let code = domain_code(&d);
        Ok(vec![
            dns_record(&d.name, "Txt", &d.name, "Email", json!({ "text": verification_text(&code) })),
            dns_record(
                &d.name,
                "Mx",
                &d.name,
                "Email",
                json!({ "mailExchange": format!("ms{code}.msv1.invalid"), "preference": 32767 }),
            ),
        ])
    }

    /// `GET /domains/{name}/serviceConfigurationRecords`: the records of the services the
    /// domain supports (Exchange Online, Skype for Business Online, Intune enrollment).
    pub async fn service_configuration_records(
        &self,
        tenant: Uuid,
        name: &str,
    ) -> DirectoryResult<Vec<Map<String, Value>>> {
        let (d, all) = self.domain_record(tenant, name).await?;
        let doc = domain_document(&d, &all);
        let services = string_list(doc.get("supportedServices"));
        let n = d.name.as_str();
        let mut out = Vec::new();
        if services.iter().any(|s| s == "Email") {
            let exchange = format!("{}.mail.protection.outlook.com", n.replace('.', "-"));
            out.push(dns_record(n, "Mx", n, "Email", json!({ "mailExchange": exchange, "preference": 0 })));
            let spf = "v=spf1 include:spf.protection.outlook.com -all";
            out.push(dns_record(n, "Txt", n, "Email", json!({ "text": spf })));
            let label = format!("autodiscover.{n}");
            out.push(dns_record(n, "CName", &label, "Email", json!({ "canonicalName": "autodiscover.outlook.com" })));
        }
        if services.iter().any(|s| s == "OfficeCommunicationsOnline") {
            for (label, target) in [("sip", "sipdir.online.lync.com"), ("lyncdiscover", "webdir.online.lync.com")] {
                let label = format!("{label}.{n}");
                out.push(dns_record(
                    n,
                    "CName",
                    &label,
                    "OfficeCommunicationsOnline",
                    json!({ "canonicalName": target }),
                ));
            }
        }
        if services.iter().any(|s| s == "Intune") {
            for (label, target) in [
                ("enterpriseregistration", "enterpriseregistration.windows.net"),
                ("enterpriseenrollment", "enterpriseenrollment.manage.microsoft.com"),
            ] {
                let label = format!("{label}.{n}");
                out.push(dns_record(n, "CName", &label, "Intune", json!({ "canonicalName": target })));
            }
        }
        Ok(out)
    }

    /// `POST /domains/{name}/verify`: with a resolver, the domain's TXT records must hold its
    /// `MS=ms{code}`; without one, an administrative verification. Returns the domain.
    pub async fn verify_domain(&self, caller: &Caller, name: &str) -> DirectoryResult<Map<String, Value>> {
        let (current, all) = self.domain_record(caller.tenant, name).await?;
        if current.is_verified {
            return Ok(domain_document(&current, &all));
        }
        if let Some(resolver) = self.dns_resolver {
            let code = domain_code(&current);
            let expected = verification_text(&code);
            let records = crate::dns::txt_records(resolver, &current.name).await.map_err(|e| {
                DirectoryError::bad_request(format!(
                    "Domain verification failed: the DNS lookup of '{}' failed ({e}).",
                    current.name
                ))
            })?;
            if !records.iter().any(|r| r.trim().eq_ignore_ascii_case(&expected)) {
                return Err(DirectoryError::bad_request(format!(
                    "Domain verification failed: no TXT record '{expected}' was found for '{}'. Add the record listed by verificationDnsRecords and try again.",
                    current.name
                )));
            }
        }
        let mut next = current.clone();
        next.is_verified = true;
        next.doc.insert(
            "state".into(),
            json!({ "lastActionDateTime": now(), "operation": "Verify", "status": "Succeeded" }),
        );
        let old = domain_document(&current, &all);
        let new = domain_document(&next, &all);
        let change = Change {
            ops: vec![Op::PutDomain(next)],
            audit: audit::record(
                caller,
                "Verify domain",
                "DirectoryManagement",
                "Update",
                vec![domain_target(caller.tenant, &current.name, Some(&old), Some(&new))],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        self.domain(caller.tenant, name).await
    }

    /// `GET /domains/{name}/domainNameReferences`: users whose sign-in name or mail addresses,
    /// groups whose mail addresses and applications whose identifier URIs use the domain.
    pub async fn domain_name_references(&self, tenant: Uuid, name: &str) -> DirectoryResult<Vec<ObjectRecord>> {
        let (d, _) = self.domain_record(tenant, name).await?;
        self.references(tenant, &d.name).await
    }

    async fn references(&self, tenant: Uuid, name: &str) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut out = Vec::new();
        for ty in ["user", "group", "application"] {
            let mut query = ListQuery::new(&[ty], Scope::Live);
            query.top = PAGE;
            loop {
                let page = self.store.list(tenant, &query).await?;
                out.extend(page.items.into_iter().filter(|o| references_domain(&o.doc, name)));
                match page.next {
                    Some(cursor) => query.after = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// `DELETE /domains/{name}`: refused for the initial and the default domain and while any
    /// object uses the domain (see [`Directory::domain_name_references`]).
    pub async fn delete_domain(&self, caller: &Caller, name: &str) -> DirectoryResult<()> {
        let (current, all) = self.domain_record(caller.tenant, name).await?;
        check_deletable(&current)?;
        if !self.references(caller.tenant, &current.name).await?.is_empty() {
            return Err(DirectoryError::bad_request(format!(
                "Unable to delete the domain '{}': objects still reference it. Use domainNameReferences to find them, or forceDelete to rename them.",
                current.name
            )));
        }
        let old = domain_document(&current, &all);
        let change = Change {
            ops: vec![Op::DeleteDomain { name: current.name.clone() }],
            audit: audit::record(
                caller,
                if current.is_verified { "Remove verified domain" } else { "Remove unverified domain" },
                "DirectoryManagement",
                "Delete",
                vec![domain_target(caller.tenant, &current.name, Some(&old), None)],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok(())
    }

    /// `POST /domains/{name}/forceDelete`: renames every reference to the initial domain
    /// (users' `userPrincipalName`, `mail`, `proxyAddresses`; groups' `mail`, `proxyAddresses`;
    /// applications' `identifierUris`), optionally disables the renamed users, and deletes the
    /// domain, all in one change. At most 1000 objects; a renamed name that is taken fails the
    /// whole operation.
    pub async fn force_delete_domain(
        &self,
        caller: &Caller,
        name: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        for key in body.keys() {
            if key != "disableUserAccounts" {
                return Err(DirectoryError::bad_request(format!(
                    "The parameter '{key}' in the request payload is not a valid parameter for the operation 'forceDelete'."
                )));
            }
        }
        let disable = match body.get("disableUserAccounts") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("disableUserAccounts")),
        };
        let (current, all) = self.domain_record(caller.tenant, name).await?;
        check_deletable(&current)?;
        let initial = all
            .iter()
            .find(|d| d.is_initial)
            .map(|d| d.name.clone())
            .ok_or_else(|| DirectoryError::Internal("the tenant has no initial domain".into()))?;
        let references = self.references(caller.tenant, &current.name).await?;
        if references.len() > FORCE_DELETE_LIMIT {
            return Err(DirectoryError::bad_request(format!(
                "The domain '{}' is referenced by more than {FORCE_DELETE_LIMIT} objects; rename some of them first.",
                current.name
            )));
        }
        let mut ops = Vec::with_capacity(references.len() + 1);
        let mut targets = Vec::with_capacity(references.len() + 1);
        let mut users = Vec::new();
        for object in &references {
            let mut doc = object.doc.clone();
            rename_references(&mut doc, &current.name, &initial);
            let unique = match object.object_type.as_str() {
                "user" => {
                    if disable {
                        doc.insert("accountEnabled".into(), json!(false));
                    }
                    users.push(object.id);
                    crate::users::user_claims(&doc)
                }
                "group" => crate::groups::group_claims(&doc),
                _ => crate::applications::application_claims(&doc),
            };
            targets.push(audit::target(object, Some(&object.doc), Some(&doc)));
            ops.push(Op::Update { id: object.id, expected_version: object.version, doc, unique });
        }
        ops.push(Op::DeleteDomain { name: current.name.clone() });
        targets.push(domain_target(caller.tenant, &current.name, Some(&domain_document(&current, &all)), None));
        let change = Change {
            ops,
            audit: audit::record(caller, "Force delete domain", "DirectoryManagement", "Delete", targets),
        };
        self.store.apply(caller.tenant, change).await.map_err(|e| match e {
            StoreError::VersionMismatch(_) => DirectoryError::Conflict(
                "An object referencing the domain changed concurrently; retry the request.".into(),
            ),
            other => other.into(),
        })?;
        for id in users {
            self.reevaluate_member(caller.tenant, id).await?;
        }
        Ok(())
    }
}

impl Directory {
    /// Fixture import: adds the fixture's domains the tenant lacks (a domain it has is left as
    /// it is, so a re-import changes nothing). An added domain is never initial (the tenant has
    /// its own); it is verified and default as the fixture says, default only if verified.
    /// Returns how many were added.
    pub(crate) async fn import_domains(&self, caller: &Caller, wanted: &[DomainRecord]) -> DirectoryResult<usize> {
        let all = self.tenant_domains(caller.tenant).await?;
        let mut ops = Vec::new();
        let mut added = Vec::new();
        let mut current = all.clone();
        for d in wanted.iter().filter(|d| !all.iter().any(|a| a.name == d.name)) {
            if !valid_domain_name(&d.name) {
                return Err(DirectoryError::bad_request(format!(
                    "The fixture domain '{}' is not a domain name.",
                    d.name
                )));
            }
            let mut doc = d.doc.clone();
            doc.entry(CODE).or_insert_with(|| json!(code_of(&d.name)));
            let record = DomainRecord {
                name: d.name.clone(),
                is_initial: false,
                is_default: false,
                is_verified: d.is_verified,
                doc,
            };
            if d.is_default && d.is_verified {
                for old in current.iter_mut().filter(|o| o.is_default) {
                    old.is_default = false;
                    ops.push(Op::PutDomain(old.clone()));
                }
                ops.push(Op::PutDomain(DomainRecord { is_default: true, ..record.clone() }));
                current.push(DomainRecord { is_default: true, ..record.clone() });
            } else {
                ops.push(Op::PutDomain(record.clone()));
                current.push(record.clone());
            }
            added.push(domain_target(caller.tenant, &record.name, None, Some(&domain_document(&record, &current))));
        }
        if ops.is_empty() {
            return Ok(0);
        }
        let n = added.len();
        let change = Change {
            ops,
            audit: audit::record(caller, "Add domains from fixture", "DirectoryManagement", "Add", added),
        };
        self.store.apply(caller.tenant, change).await.map_err(|e| match e {
            StoreError::Conflict { .. } => DirectoryError::ObjectConflict { property: "domain".into() },
            other => other.into(),
        })?;
        Ok(n)
    }
}

/// The initial and the default domain stay.
fn check_deletable(d: &DomainRecord) -> DirectoryResult<()> {
    if d.is_initial {
        return Err(DirectoryError::bad_request(format!("The initial domain '{}' cannot be deleted.", d.name)));
    }
    if d.is_default {
        return Err(DirectoryError::bad_request(format!(
            "The default domain '{}' cannot be deleted. Make another domain the default domain first.",
            d.name
        )));
    }
    Ok(())
}

fn unverified_default() -> DirectoryError {
    DirectoryError::bad_request("Only a verified domain can be the default domain. Verify the domain first.")
}

/// The domain's verification code.
fn domain_code(d: &DomainRecord) -> String {
    d.doc.get(CODE).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| code_of(&d.name))
}

/// A stable code for domains stored without one (the initial domain, fixtures' domains).
fn code_of(name: &str) -> String {
    let sum = name.bytes().fold(7u64, |a, b| a.wrapping_mul(131).wrapping_add(u64::from(b)));
    format!("{:08}", sum % 100_000_000)
}

/// Rules of the writable properties beyond the schema's types.
fn check_domain_values(props: &Map<String, Value>) -> DirectoryResult<()> {
    if let Some(v) = props.get("supportedServices") {
        let items = v.as_array().ok_or_else(|| invalid("supportedServices"))?;
        let mut seen = HashSet::new();
        for item in items {
            let s = item.as_str().ok_or_else(|| invalid("supportedServices"))?;
            if !SERVICES.contains(&s) || !seen.insert(s) {
                return Err(invalid("supportedServices"));
            }
        }
    }
    if let Some(v) = props.get("passwordValidityPeriodInDays").filter(|v| !v.is_null()) {
        let days = v.as_i64().ok_or_else(|| invalid("passwordValidityPeriodInDays"))?;
        if !((14..=730).contains(&days) || days == NEVER_EXPIRES) {
            return Err(invalid("passwordValidityPeriodInDays"));
        }
    }
    if let Some(v) = props.get("passwordNotificationWindowInDays").filter(|v| !v.is_null()) {
        let days = v.as_i64().ok_or_else(|| invalid("passwordNotificationWindowInDays"))?;
        if !(1..=30).contains(&days) {
            return Err(invalid("passwordNotificationWindowInDays"));
        }
    }
    Ok(())
}

/// Whether an address (`a@domain`) is in the domain itself (not a subdomain).
fn address_in(value: &str, domain: &str) -> bool {
    let addr = value.rsplit_once(':').map_or(value, |(_, a)| a);
    addr.rsplit_once('@').is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
}

/// Whether a URI's host is the domain or one of its subdomains.
fn uri_in(uri: &str, domain: &str) -> bool {
    let host = uri.split_once("://").map_or("", |(_, rest)| rest).split(['/', ':', '?', '#']).next().unwrap_or("");
    let host = host.to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

fn references_domain(doc: &Map<String, Value>, domain: &str) -> bool {
    let single = ["userPrincipalName", "mail"]
        .iter()
        .filter_map(|k| doc.get(*k).and_then(Value::as_str))
        .any(|v| address_in(v, domain));
    single
        || string_list(doc.get("proxyAddresses")).iter().any(|v| address_in(v, domain))
        || string_list(doc.get("identifierUris")).iter().any(|u| uri_in(u, domain))
}

/// Moves every address and URI of `from` in `doc` to `to`.
fn rename_references(doc: &mut Map<String, Value>, from: &str, to: &str) {
    let move_addr = |v: &str| -> String {
        match v.rsplit_once('@') {
            Some((local, d)) if d.eq_ignore_ascii_case(from) => format!("{local}@{to}"),
            _ => v.to_string(),
        }
    };
    for key in ["userPrincipalName", "mail"] {
        if let Some(v) = doc.get(key).and_then(Value::as_str).map(move_addr) {
            doc.insert(key.into(), json!(v));
        }
    }
    if doc.contains_key("proxyAddresses") {
        let list: Vec<String> = string_list(doc.get("proxyAddresses")).iter().map(|v| move_addr(v)).collect();
        doc.insert("proxyAddresses".into(), json!(list));
    }
    if doc.contains_key("identifierUris") {
        let list: Vec<String> = string_list(doc.get("identifierUris"))
            .into_iter()
            .map(|u| {
                if !uri_in(&u, from) {
                    return u;
                }
                let lower = u.to_ascii_lowercase();
                match lower.find(from) {
                    Some(at) => format!("{}{to}{}", &u[..at], &u[at + from.len()..]),
                    None => u,
                }
            })
            .collect();
        doc.insert("identifierUris".into(), json!(list));
    }
    // A user's sign-in identity follows the renamed UPN.
    if let (Some(upn), Some(Value::Array(ids))) =
        (doc.get("userPrincipalName").and_then(Value::as_str).map(str::to_string), doc.get_mut("identities"))
    {
        for id in ids.iter_mut().filter_map(Value::as_object_mut) {
            if id.get("signInType").and_then(Value::as_str) == Some("userPrincipalName") {
                id.insert("issuerAssignedId".into(), json!(upn));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names() {
        for ok in ["contoso.com", "mail.contoso.co.uk", "a-b.example", "x1.io"] {
            assert!(valid_domain_name(ok), "{ok}");
        }
        for bad in ["contoso", "-a.com", "a-.com", "a..com", "a.c", "a.c0m", "cont oso.com", ""] {
            assert!(!valid_domain_name(bad), "{bad}");
        }
    }

    #[test]
    fn renames_references() {
        let mut doc = json!({
            "userPrincipalName": "adele@contoso.com",
            "mail": "adele@contoso.com",
            "proxyAddresses": ["SMTP:adele@contoso.com", "smtp:a@other.com"],
            "identifierUris": ["https://api.contoso.com/x", "api://1234"],
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        assert!(references_domain(&doc, "contoso.com"));
        rename_references(&mut doc, "contoso.com", "t.onmicrosoft.com");
        assert_eq!(doc["userPrincipalName"], "adele@t.onmicrosoft.com");
        assert_eq!(doc["proxyAddresses"], json!(["SMTP:adele@t.onmicrosoft.com", "smtp:a@other.com"]));
        assert_eq!(doc["identifierUris"], json!(["https://api.t.onmicrosoft.com/x", "api://1234"]));
        assert!(!references_domain(&doc, "contoso.com"));
    }
}
