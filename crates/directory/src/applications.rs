//! Application registrations: create, update, delete (with their service principal, as Entra
//! does in the home tenant), client secrets (`addPassword` / `removePassword`), certificates
//! (`keyCredentials` by PATCH), owners and federated identity credentials.
//!
//! Entra's rules followed here ("Create application", "Update application", "application:
//! addPassword", "Create federatedIdentityCredential"): creating an application does not create
//! its service principal; `appId` is generated and unique; `identifierUris` are unique in the
//! tenant; a secret is generated server-side, returned once as `secretText` and stored as a
//! hash, its `hint` being its first three characters; an enabled app role or scope must be
//! disabled before it is removed; at most 20 federated identity credentials per application,
//! unique by `name` and by (`issuer`, `subject`).

use cerulean_schema::EntityType;
use cerulean_store::{Change, EdgeKind, ObjectRecord, Op, SecretRecord, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::{WRITE_RETRIES, merge, reject_annotations};
use crate::validate::{Mode, format_datetime, normalise_datetime, now, validate_body};
use crate::{Caller, Directory};

/// The `signInAudience` values Graph accepts on an application.
const SIGN_IN_AUDIENCES: &[&str] =
    &["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"];
/// Entra's limit of federated identity credentials per application.
const MAX_FICS: usize = 20;
/// The most client secrets (and certificates) one application holds here; Entra documents no
/// exact number, a bound keeps documents and token checks small.
const MAX_CREDENTIALS: usize = 100;
/// A secret's default lifetime when `endDateTime` is not given ("application: addPassword").
const DEFAULT_SECRET_DAYS: i64 = 2 * 365;

fn application_type() -> &'static EntityType {
    cerulean_schema::entity("application").expect("application is declared")
}

fn fic_type() -> &'static EntityType {
    cerulean_schema::entity("federatedIdentityCredential").expect("federatedIdentityCredential is declared")
}

/// Where a key names an application or service principal by `appId` (`/applications(appId='x')`,
/// rewritten by the front-end to `appId=x`), the appId; otherwise `None` (an object id).
pub fn app_id_key(key: &str) -> Option<&str> {
    key.strip_prefix("appId=").or_else(|| key.strip_prefix("appid="))
}

/// The uniqueness claims of an application: its `appId` and each identifier URI.
pub(crate) fn application_claims(doc: &Map<String, Value>) -> Vec<(String, String)> {
    let mut claims = Vec::new();
    if let Some(app_id) = doc.get("appId").and_then(Value::as_str) {
        claims.push(("appId".to_string(), app_id.to_ascii_lowercase()));
    }
    for uri in crate::groups::string_list(doc.get("identifierUris")) {
        claims.push(("identifierUri".to_string(), uri.to_ascii_lowercase()));
    }
    claims
}

/// The uniqueness claim of a service principal: one per `appId` in a tenant.
pub(crate) fn service_principal_claims(doc: &Map<String, Value>) -> Vec<(String, String)> {
    doc.get("appId")
        .and_then(Value::as_str)
        .map(|a| vec![("spAppId".to_string(), a.to_ascii_lowercase())])
        .unwrap_or_default()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn array<'a>(doc: &'a Map<String, Value>, name: &str) -> Vec<&'a Value> {
    doc.get(name).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// Graph's conflict error for a value another object holds.
fn conflict(e: StoreError) -> DirectoryError {
    match e {
        StoreError::Conflict { namespace, .. } if namespace == "identifierUri" => {
            DirectoryError::ObjectConflict { property: "identifierUris".into() }
        }
        other => other.into(),
    }
}

impl Directory {
    /// An application by object id, or by `appId=...` (see [`app_id_key`]).
    pub async fn find_application(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        self.find_app_object(tenant, "application", "appId", key).await
    }

    /// A service principal by object id, or by `appId=...`.
    pub async fn find_service_principal(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        self.find_app_object(tenant, "servicePrincipal", "spAppId", key).await
    }

    async fn find_app_object(
        &self,
        tenant: Uuid,
        object_type: &str,
        claim: &str,
        key: &str,
    ) -> DirectoryResult<ObjectRecord> {
        let Some(app_id) = app_id_key(key) else {
            return self.find(tenant, object_type, key).await;
        };
        let app_id = app_id.trim_matches('\'');
        if app_id.len() > 256 {
            return Err(DirectoryError::not_found(app_id));
        }
        match self.store.find_unique(tenant, claim, &app_id.to_ascii_lowercase()).await? {
            Some(id) => match self.get(tenant, id).await? {
                Some(o) if o.object_type == object_type => Ok(o),
                _ => Err(DirectoryError::not_found(app_id)),
            },
            None => Err(DirectoryError::not_found(app_id)),
        }
    }

    /// `POST /applications`.
    pub async fn create_application(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        self.create_application_preset(caller, body, Uuid::new_v4(), None, Vec::new()).await
    }

    /// `POST /applications` with what an import presets: the object id, the `appId` (a GUID,
    /// unique as the API's generated ones) and client secrets ([`ImportedSecret`]).
    pub(crate) async fn create_application_preset(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        id: Uuid,
        app_id: Option<String>,
        secrets: Vec<ImportedSecret>,
    ) -> DirectoryResult<ObjectRecord> {
        let (props, annotations) = validate_body(application_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "application")?;
        check_application(&props, None)?;
        let app_id = match app_id {
            Some(a) => Uuid::parse_str(&a).map_err(|_| {
                DirectoryError::bad_request("Invalid value specified for property 'appId' of resource 'Application'.")
            })?,
            None => Uuid::new_v4(),
        };
        if secrets.len() > MAX_CREDENTIALS {
            return Err(DirectoryError::bad_request(format!(
                "The application already has the maximum of {MAX_CREDENTIALS} password credentials."
            )));
        }
        let tenant = self.tenant_record(caller.tenant).await?;
        let domain = tenant
            .domains
            .iter()
            .find(|d| d.is_initial)
            .or(tenant.domains.first())
            .map(|d| d.name.clone())
            .unwrap_or_default();
        let mut doc = default_application(&domain);
        merge(&mut doc, &props);
        doc.insert("appId".into(), json!(app_id.to_string()));
        doc.insert("createdDateTime".into(), json!(now()));
        let mut credentials = Vec::new();
        let mut secret_ops = Vec::new();
        for secret in secrets {
            let (stored, record) = secret.into_credential(id)?;
            credentials.push(Value::Object(stored));
            secret_ops.push(Op::PutSecret(record));
        }
        if !credentials.is_empty() {
            doc.insert("passwordCredentials".into(), Value::Array(credentials));
        }
        let object = ObjectRecord { id, object_type: "application".into(), version: 1, doc, deleted_at: None };
        let mut ops = vec![Op::Insert { object: object.clone(), unique: application_claims(&object.doc) }];
        ops.extend(secret_ops);
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Add application",
                "ApplicationManagement",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        self.apply_change(caller.tenant, change).await.map_err(conflict)?;
        Ok(object)
    }

    /// `PATCH /applications/{id}`. App roles and scopes follow to the application's service
    /// principal in the same change, as Entra keeps them in step.
    pub async fn update_application(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let (mut props, annotations) = validate_body(application_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "application")?;
        let mut certificates = Vec::new();
        if let Some(keys) = props.get("keyCredentials").cloned() {
            let (checked, certs) = check_key_credentials(&keys)?;
            props.insert("keyCredentials".into(), checked);
            certificates = certs;
        }
        for _ in 0..WRITE_RETRIES {
            let current = self.find_application(caller.tenant, key).await?;
            check_application(&props, Some(&current.doc))?;
            let mut doc = current.doc.clone();
            merge(&mut doc, &props);
            let mut ops = vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: doc.clone(),
                unique: application_claims(&doc),
            }];
            if props.contains_key("keyCredentials") {
                // The certificates replace the earlier ones.
                for old in self.store.secrets(caller.tenant, current.id).await? {
                    if old.kind == "certificate" {
                        ops.push(Op::DeleteSecret { owner: current.id, key_id: old.key_id });
                    }
                }
                for (key_id, der) in &certificates {
                    ops.push(Op::PutSecret(SecretRecord {
                        owner: current.id,
                        kind: "certificate".into(),
                        key_id: *key_id,
                        hash: format!("der:{der}"),
                        meta: json!({}),
                    }));
                }
            }
            let mut targets = vec![audit::target(&current, Some(&current.doc), Some(&doc))];
            let app_id = doc.get("appId").and_then(Value::as_str).unwrap_or_default().to_string();
            if let Some(sp) = self.service_principal_by_app_id(caller.tenant, &app_id).await? {
                let mut sp_doc = sp.doc.clone();
                sync_service_principal(&mut sp_doc, &doc);
                if sp_doc != sp.doc {
                    targets.push(audit::target(&sp, Some(&sp.doc), Some(&sp_doc)));
                    ops.push(Op::Update {
                        id: sp.id,
                        expected_version: sp.version,
                        doc: sp_doc.clone(),
                        unique: service_principal_claims(&sp_doc),
                    });
                }
            }
            let change = Change {
                ops,
                audit: audit::record(caller, "Update application", "ApplicationManagement", "Update", targets),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(conflict(e)),
            }
        }
        Err(DirectoryError::Conflict("The application was modified concurrently; retry the request.".into()))
    }

    /// `DELETE /applications/{id}`: the application and its service principal in this tenant
    /// go to the recycle bin together ("Delete application").
    pub async fn delete_application(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let app = self.find_application(caller.tenant, key).await?;
        let at = now();
        let mut ops = vec![Op::SoftDelete { id: app.id, at: at.clone() }];
        let mut targets = vec![audit::bare_target(&app)];
        let app_id = app.doc.get("appId").and_then(Value::as_str).unwrap_or_default();
        if let Some(sp) = self.service_principal_by_app_id(caller.tenant, app_id).await? {
            ops.push(Op::SoftDelete { id: sp.id, at });
            targets.push(audit::bare_target(&sp));
        }
        let change = Change {
            ops,
            audit: audit::record(caller, "Delete application", "ApplicationManagement", "Delete", targets),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// `POST /applications/{id}/addPassword`: a new client secret. Returns the
    /// `passwordCredential` with its `secretText`, the only time the secret is shown.
    pub async fn add_password(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Map<String, Value>> {
        let requested = match body.iter().find(|(k, _)| k.eq_ignore_ascii_case("passwordCredential")) {
            Some((_, Value::Object(o))) => o.clone(),
            Some((_, Value::Null)) | None => Map::new(),
            Some(_) => {
                return Err(DirectoryError::bad_request("Invalid value specified for property 'passwordCredential'."));
            }
        };
        if let Some((k, _)) = body.iter().find(|(k, _)| !k.eq_ignore_ascii_case("passwordCredential")) {
            return Err(DirectoryError::bad_request(format!(
                "The parameter '{k}' in the request payload is not a valid parameter for the operation 'addPassword'."
            )));
        }
        let credential = password_credential(&requested)?;
        let generated =
            cerulean_identity::generate_client_secret().map_err(|e| DirectoryError::Internal(e.to_string()))?;
        let key_id = Uuid::new_v4();
        let mut stored = credential.clone();
        stored.insert("keyId".into(), json!(key_id.to_string()));
        stored.insert("hint".into(), json!(generated.hint));
        stored.insert("secretText".into(), Value::Null);
        stored.insert("customKeyIdentifier".into(), Value::Null);
        for _ in 0..WRITE_RETRIES {
            let current = self.find_application(caller.tenant, key).await?;
            let mut doc = current.doc.clone();
            let mut list: Vec<Value> = array(&doc, "passwordCredentials").into_iter().cloned().collect();
            if list.len() >= MAX_CREDENTIALS {
                return Err(DirectoryError::bad_request(format!(
                    "The application already has the maximum of {MAX_CREDENTIALS} password credentials."
                )));
            }
            list.push(Value::Object(stored.clone()));
            doc.insert("passwordCredentials".into(), Value::Array(list));
            let secret = SecretRecord {
                owner: current.id,
                kind: "client_secret".into(),
                key_id,
                hash: generated.hash.clone(),
                meta: json!({
                    "hint": generated.hint,
                    "displayName": stored.get("displayName"),
                    "startDateTime": stored.get("startDateTime"),
                    "endDateTime": stored.get("endDateTime"),
                }),
            };
            let change = Change {
                ops: vec![
                    Op::Update {
                        id: current.id,
                        expected_version: current.version,
                        doc: doc.clone(),
                        unique: application_claims(&doc),
                    },
                    Op::PutSecret(secret),
                ],
                audit: audit::record(
                    caller,
                    "Update application – Certificates and secrets management ",
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => {
                    let mut out = stored;
                    out.insert("secretText".into(), json!(generated.secret.expose()));
                    return Ok(out);
                }
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The application was modified concurrently; retry the request.".into()))
    }

    /// `POST /applications/{id}/removePassword`: the secret stops working at once.
    pub async fn remove_password(&self, caller: &Caller, key: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let key_id = match body.iter().find(|(k, _)| k.eq_ignore_ascii_case("keyId")).map(|(_, v)| v) {
            Some(Value::String(s)) => Uuid::parse_str(s)
                .map_err(|_| DirectoryError::bad_request("Invalid value specified for property 'keyId'."))?,
            _ => return Err(DirectoryError::bad_request("Property keyId value is required but is empty or missing.")),
        };
        for _ in 0..WRITE_RETRIES {
            let current = self.find_application(caller.tenant, key).await?;
            let mut doc = current.doc.clone();
            let list: Vec<Value> = array(&doc, "passwordCredentials").into_iter().cloned().collect();
            let kept: Vec<Value> = list
                .iter()
                .filter(|c| str_of(c, "keyId").and_then(|k| Uuid::parse_str(k).ok()) != Some(key_id))
                .cloned()
                .collect();
            if kept.len() == list.len() {
                return Err(DirectoryError::bad_request(format!("No password credential found with keyId {key_id}.")));
            }
            doc.insert("passwordCredentials".into(), Value::Array(kept));
            let change = Change {
                ops: vec![
                    Op::Update {
                        id: current.id,
                        expected_version: current.version,
                        doc: doc.clone(),
                        unique: application_claims(&doc),
                    },
                    Op::DeleteSecret { owner: current.id, key_id },
                ],
                audit: audit::record(
                    caller,
                    "Update application – Certificates and secrets management ",
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                // A credential listed without a stored secret (should not happen): drop it anyway.
                Err(StoreError::NotFound(_)) => {
                    let change = Change {
                        ops: vec![Op::Update {
                            id: current.id,
                            expected_version: current.version,
                            doc: doc.clone(),
                            unique: application_claims(&doc),
                        }],
                        audit: audit::record(caller, "Update application", "ApplicationManagement", "Update", vec![]),
                    };
                    self.apply_change(caller.tenant, change).await?;
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The application was modified concurrently; retry the request.".into()))
    }

    /// `POST /{applications|servicePrincipals}/{id}/owners/$ref`: owners are users and service
    /// principals.
    pub async fn add_app_owner(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        target: Uuid,
    ) -> DirectoryResult<()> {
        let object = self.find_app_object_of(caller.tenant, object_type, key).await?;
        let other = self.get(caller.tenant, target).await?.ok_or_else(|| crate::groups::invalid_reference(target))?;
        if !matches!(other.object_type.as_str(), "user" | "servicePrincipal") {
            return Err(DirectoryError::bad_request(format!(
                "An object of type '{}' cannot be added to the 'owners' of this object.",
                other.object_type
            )));
        }
        let change = Change {
            ops: vec![Op::AddEdge { kind: EdgeKind::Owner, source: object.id, target }],
            audit: audit::record(
                caller,
                &format!("Add owner to {}", noun(object_type)),
                "ApplicationManagement",
                "Assign",
                vec![audit::bare_target(&object), audit::bare_target(&other)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::EdgeExists(_)) => Err(crate::groups::already_exist("owners")),
            Err(StoreError::NotFound(_)) => Err(crate::groups::invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /{applications|servicePrincipals}/{id}/owners/{ownerId}/$ref`.
    pub async fn remove_app_owner(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        target: Uuid,
    ) -> DirectoryResult<()> {
        let object = self.find_app_object_of(caller.tenant, object_type, key).await?;
        let other = self.get(caller.tenant, target).await?.ok_or_else(|| crate::groups::invalid_reference(target))?;
        let change = Change {
            ops: vec![Op::RemoveEdge { kind: EdgeKind::Owner, source: object.id, target }],
            audit: audit::record(
                caller,
                &format!("Remove owner from {}", noun(object_type)),
                "ApplicationManagement",
                "Unassign",
                vec![audit::bare_target(&object), audit::bare_target(&other)],
            ),
        };
        match self.apply_change(caller.tenant, change).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound(_)) => Err(crate::groups::invalid_reference(target)),
            Err(e) => Err(e.into()),
        }
    }

    /// An application or service principal by key.
    pub async fn find_app_object_of(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
    ) -> DirectoryResult<ObjectRecord> {
        match object_type {
            "application" => self.find_application(tenant, key).await,
            _ => self.find_service_principal(tenant, key).await,
        }
    }

    /// `GET /applications/{id}/federatedIdentityCredentials`.
    pub async fn federated_credentials(&self, tenant: Uuid, key: &str) -> DirectoryResult<Vec<Map<String, Value>>> {
        let app = self.find_application(tenant, key).await?;
        Ok(array(&app.doc, FICS).into_iter().filter_map(|v| v.as_object().cloned()).collect())
    }

    /// `GET /applications/{id}/federatedIdentityCredentials/{id or name}`.
    pub async fn federated_credential(
        &self,
        tenant: Uuid,
        key: &str,
        fic: &str,
    ) -> DirectoryResult<Map<String, Value>> {
        self.federated_credentials(tenant, key)
            .await?
            .into_iter()
            .find(|f| fic_matches(f, fic))
            .ok_or_else(|| DirectoryError::not_found(fic))
    }

    /// `POST /applications/{id}/federatedIdentityCredentials`.
    pub async fn create_federated_credential(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Map<String, Value>> {
        let (props, annotations) = validate_body(fic_type(), body, Mode::Create)?;
        reject_annotations(&annotations, "federatedIdentityCredential")?;
        check_fic(&props)?;
        let mut fic = props;
        fic.insert("id".into(), json!(Uuid::new_v4().to_string()));
        fic.entry("description").or_insert(Value::Null);
        self.edit_federated_credentials(caller, key, "Update application", |list| {
            if list.len() >= MAX_FICS {
                return Err(DirectoryError::bad_request(format!(
                    "The application has reached the limit of {MAX_FICS} federated identity credentials."
                )));
            }
            check_fic_unique(list, &fic, None)?;
            list.push(fic.clone());
            Ok(())
        })
        .await?;
        Ok(fic)
    }

    /// `PATCH /applications/{id}/federatedIdentityCredentials/{id}` (`name` is immutable).
    pub async fn update_federated_credential(
        &self,
        caller: &Caller,
        key: &str,
        fic: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let (props, annotations) = validate_body(fic_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "federatedIdentityCredential")?;
        self.edit_federated_credentials(caller, key, "Update application", |list| {
            let i = list.iter().position(|f| fic_matches(f, fic)).ok_or_else(|| DirectoryError::not_found(fic))?;
            let mut updated = list[i].clone();
            merge(&mut updated, &props);
            check_fic(&updated)?;
            check_fic_unique(list, &updated, Some(i))?;
            list[i] = updated;
            Ok(())
        })
        .await
    }

    /// `DELETE /applications/{id}/federatedIdentityCredentials/{id}`.
    pub async fn delete_federated_credential(&self, caller: &Caller, key: &str, fic: &str) -> DirectoryResult<()> {
        self.edit_federated_credentials(caller, key, "Update application", |list| {
            let i = list.iter().position(|f| fic_matches(f, fic)).ok_or_else(|| DirectoryError::not_found(fic))?;
            list.remove(i);
            Ok(())
        })
        .await
    }

    async fn edit_federated_credentials(
        &self,
        caller: &Caller,
        key: &str,
        activity: &str,
        edit: impl Fn(&mut Vec<Map<String, Value>>) -> DirectoryResult<()>,
    ) -> DirectoryResult<()> {
        for _ in 0..WRITE_RETRIES {
            let current = self.find_application(caller.tenant, key).await?;
            let mut list: Vec<Map<String, Value>> =
                array(&current.doc, FICS).into_iter().filter_map(|v| v.as_object().cloned()).collect();
            edit(&mut list)?;
            let mut doc = current.doc.clone();
            doc.insert(FICS.into(), Value::Array(list.into_iter().map(Value::Object).collect()));
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: application_claims(&doc),
                }],
                audit: audit::record(
                    caller,
                    activity,
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The application was modified concurrently; retry the request.".into()))
    }
}

/// The document key holding an application's federated identity credentials (a contained
/// navigation property, so never part of the application's own shape).
const FICS: &str = "federatedIdentityCredentials";

fn noun(object_type: &str) -> &'static str {
    if object_type == "application" { "application" } else { "service principal" }
}

fn fic_matches(f: &Map<String, Value>, key: &str) -> bool {
    f.get("id").and_then(Value::as_str).is_some_and(|id| id.eq_ignore_ascii_case(key))
        || f.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(key))
}

/// "federatedIdentityCredential resource type": `name` 3-120 characters of
/// `[A-Za-z0-9-_]`, `issuer` and `subject` up to 600 characters, exactly one audience of at
/// most 600 characters.
fn check_fic(f: &Map<String, Value>) -> DirectoryResult<()> {
    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
    if !(3..=120).contains(&name.chars().count())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'name' of resource 'FederatedIdentityCredential'.",
        ));
    }
    for prop in ["issuer", "subject"] {
        let v = f.get(prop).and_then(Value::as_str).unwrap_or_default();
        if v.trim().is_empty() || v.chars().count() > 600 {
            return Err(DirectoryError::bad_request(format!(
                "Invalid value specified for property '{prop}' of resource 'FederatedIdentityCredential'."
            )));
        }
    }
    if let Some(issuer) = f.get("issuer").and_then(Value::as_str)
        && !issuer.starts_with("https://")
    {
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'issuer' of resource 'FederatedIdentityCredential'.",
        ));
    }
    let audiences = crate::groups::string_list(f.get("audiences"));
    if audiences.len() != 1 || audiences[0].trim().is_empty() || audiences[0].chars().count() > 600 {
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'audiences' of resource 'FederatedIdentityCredential'.",
        ));
    }
    Ok(())
}

fn check_fic_unique(list: &[Map<String, Value>], f: &Map<String, Value>, except: Option<usize>) -> DirectoryResult<()> {
    let s = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    for (i, other) in list.iter().enumerate() {
        if Some(i) == except {
            continue;
        }
        if s(other, "name").eq_ignore_ascii_case(&s(f, "name")) {
            return Err(DirectoryError::ObjectConflict { property: "name".into() });
        }
        if s(other, "issuer") == s(f, "issuer") && s(other, "subject") == s(f, "subject") {
            return Err(DirectoryError::bad_request(format!(
                "FederatedIdentityCredential with the same issuer '{}' and subject '{}' already exists on the application.",
                s(f, "issuer"),
                s(f, "subject")
            )));
        }
    }
    Ok(())
}

/// A new application's document: Graph's defaults for the properties a client did not send.
pub(crate) fn default_application(domain: &str) -> Map<String, Value> {
    obj(json!({
        "addIns": [],
        "api": {
            "acceptMappedClaims": null,
            "knownClientApplications": [],
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": [],
            "requestedAccessTokenVersion": null,
        },
        "appRoles": [],
        "identifierUris": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "isFallbackPublicClient": null,
        "keyCredentials": [],
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "publicClient": {"redirectUris": []},
        "publisherDomain": domain,
        "requiredResourceAccess": [],
        "signInAudience": "AzureADMyOrg",
        "spa": {"redirectUris": []},
        "tags": [],
        "web": {
            "homePageUrl": null,
            "logoutUrl": null,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
            "redirectUriSettings": [],
        },
    }))
}

/// Entra's value rules for an application body; `current` is the stored document on update.
fn check_application(props: &Map<String, Value>, current: Option<&Map<String, Value>>) -> DirectoryResult<()> {
    if let Some(a) = props.get("signInAudience").and_then(Value::as_str)
        && !SIGN_IN_AUDIENCES.contains(&a)
    {
        return Err(DirectoryError::bad_request(
            "Invalid value specified for property 'signInAudience' of resource 'Application'.",
        ));
    }
    let uris = crate::groups::string_list(props.get("identifierUris"));
    for uri in &uris {
        let scheme_ok = uri.split_once("://").is_some_and(|(s, rest)| !s.is_empty() && !rest.is_empty());
        if !scheme_ok || uri.chars().any(char::is_whitespace) {
            return Err(DirectoryError::bad_request(format!(
                "Values of identifierUris property must use a verified domain of the organization or its subdomain: '{uri}'"
            )));
        }
    }
    if let Some(roles) = props.get("appRoles") {
        check_entitlements(roles, "appRoles", current.and_then(|c| c.get("appRoles")))?;
    }
    if let Some(api) = props.get("api").and_then(Value::as_object)
        && let Some(scopes) = api.get("oauth2PermissionScopes")
    {
        let old = current.and_then(|c| c.get("api")).and_then(|a| a.get("oauth2PermissionScopes"));
        check_entitlements(scopes, "oauth2PermissionScopes", old)?;
    }
    Ok(())
}

/// App roles and scopes: each has a unique `id`, a `value` without whitespace unique in the
/// list; app roles say who they are for. An enabled one cannot be removed or changed without
/// being disabled first (Graph: `CannotDeleteOrUpdateEnabledEntitlement`).
fn check_entitlements(list: &Value, property: &str, old: Option<&Value>) -> DirectoryResult<()> {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut ids = Vec::new();
    let mut values = Vec::new();
    for item in items {
        let id = str_of(item, "id").and_then(|i| Uuid::parse_str(i).ok()).ok_or_else(|| {
            DirectoryError::bad_request(format!("Property '{property}.id' value is required but is empty or missing."))
        })?;
        if ids.contains(&id) {
            return Err(DirectoryError::bad_request(format!(
                "Request contains a property with duplicate values: '{property}.id'."
            )));
        }
        ids.push(id);
        if let Some(v) = str_of(item, "value") {
            if v.chars().any(char::is_whitespace) || v.starts_with('.') {
                return Err(DirectoryError::bad_request(format!(
                    "Property '{property}.value' is invalid: it cannot contain whitespace or start with '.'."
                )));
            }
            if values.iter().any(|o: &String| o.eq_ignore_ascii_case(v)) {
                return Err(DirectoryError::bad_request(format!(
                    "Request contains a property with duplicate values: '{property}.value'."
                )));
            }
            values.push(v.to_string());
        }
        if property == "appRoles" {
            let types = crate::groups::string_list(item.get("allowedMemberTypes"));
            if types.is_empty() || types.iter().any(|t| t != "User" && t != "Application") {
                return Err(DirectoryError::bad_request(
                    "Invalid value specified for property 'allowedMemberTypes' of resource 'AppRole'.",
                ));
            }
        }
    }
    for was in old.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        if was.get("isEnabled").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let id = str_of(was, "id").unwrap_or_default();
        let now = items.iter().find(|i| str_of(i, "id").is_some_and(|x| x.eq_ignore_ascii_case(id)));
        let changed = match now {
            None => true,
            Some(n) => {
                n.get("isEnabled").and_then(Value::as_bool) == Some(true) && str_of(n, "value") != str_of(was, "value")
            }
        };
        if changed {
            return Err(DirectoryError::BadRequest {
                code: "CannotDeleteOrUpdateEnabledEntitlement",
                message: "Property value cannot be deleted or updated unless it is disabled first.".into(),
            });
        }
    }
    Ok(())
}

/// A `passwordCredential` for `addPassword`: `displayName`, `startDateTime` (default now),
/// `endDateTime` (default two years on), the end after the start. Other properties are the
/// server's (`keyId`, `hint`, `secretText`) and refused.
fn password_credential(requested: &Map<String, Value>) -> DirectoryResult<Map<String, Value>> {
    let now_t = cerulean_store::clock::now();
    let mut out = Map::new();
    out.insert("displayName".into(), Value::Null);
    let mut start = format_datetime(now_t);
    let mut end = format_datetime(now_t + time::Duration::days(DEFAULT_SECRET_DAYS));
    for (k, v) in requested {
        match k.as_str() {
            "displayName" => match v {
                Value::String(s) if s.chars().count() <= 256 => {
                    out.insert("displayName".into(), v.clone());
                    let _ = s;
                }
                Value::Null => {}
                _ => return Err(invalid_credential("displayName")),
            },
            "startDateTime" | "endDateTime" => {
                let s = v.as_str().and_then(normalise_datetime).ok_or_else(|| invalid_credential(k))?;
                if k == "startDateTime" {
                    start = s;
                } else {
                    end = s;
                }
            }
            "@odata.type" => {}
            other => {
                return Err(DirectoryError::bad_request(format!(
                    "Property '{other}' of 'passwordCredential' cannot be set; it is generated by the server."
                )));
            }
        }
    }
    if end <= start {
        return Err(DirectoryError::bad_request("Key credential end date must be later than its start date."));
    }
    out.insert("startDateTime".into(), json!(start));
    out.insert("endDateTime".into(), json!(end));
    Ok(out)
}

/// A client secret an import brings: its text (a hand-written fixture) or the hash an export
/// wrote (secrets are never exported in clear), with the credential's public facts.
#[derive(Debug, Clone, Default)]
pub(crate) struct ImportedSecret {
    /// `displayName`, `startDateTime`, `endDateTime`, checked as `addPassword` checks them.
    pub requested: Map<String, Value>,
    pub key_id: Option<Uuid>,
    pub hint: Option<String>,
    pub text: Option<String>,
    pub hash: Option<String>,
}

impl ImportedSecret {
    /// The `passwordCredential` the document lists and the secret record the store keeps.
    fn into_credential(self, owner: Uuid) -> DirectoryResult<(Map<String, Value>, SecretRecord)> {
        let credential = password_credential(&self.requested)?;
        let (hash, hint) = match (self.text, self.hash) {
            (Some(text), None) if text.len() >= 16 && text.len() <= 256 => {
                let hint = text.chars().take(3).collect::<String>();
                (cerulean_identity::secrets::hash_secret(&text), hint)
            }
            (None, Some(hash)) if hash.starts_with("sha256:") && hash.len() == 71 => {
                (hash, self.hint.unwrap_or_default().chars().take(3).collect())
            }
            _ => {
                return Err(DirectoryError::bad_request(
                    "A password credential needs either 'secretText' (16 to 256 characters) or 'secretHash' (sha256:<hex>).",
                ));
            }
        };
        let key_id = self.key_id.unwrap_or_else(Uuid::new_v4);
        let mut stored = credential;
        stored.insert("keyId".into(), json!(key_id.to_string()));
        stored.insert("hint".into(), json!(hint));
        stored.insert("secretText".into(), Value::Null);
        stored.insert("customKeyIdentifier".into(), Value::Null);
        let record = SecretRecord {
            owner,
            kind: "client_secret".into(),
            key_id,
            hash,
            meta: json!({
                "hint": hint,
                "displayName": stored.get("displayName"),
                "startDateTime": stored.get("startDateTime"),
                "endDateTime": stored.get("endDateTime"),
            }),
        };
        Ok((stored, record))
    }
}

fn invalid_credential(prop: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'PasswordCredential'."
    ))
}

/// Checks `keyCredentials` of a PATCH: each an X.509 certificate (`type`
/// `AsymmetricX509Cert`, `usage` `Verify` or `Sign`, `key` its base64 DER). Returns the
/// credentials as stored (dates from the certificate, `customKeyIdentifier` its SHA-1
/// thumbprint, `key` left out: Graph returns it only on `$select` of one object) and each
/// certificate by `keyId`, for the secret store.
pub(crate) fn check_key_credentials(keys: &Value) -> DirectoryResult<(Value, Vec<(Uuid, String)>)> {
    let items = keys.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.len() > MAX_CREDENTIALS {
        return Err(DirectoryError::bad_request(format!(
            "An application holds at most {MAX_CREDENTIALS} key credentials."
        )));
    }
    let mut out = Vec::new();
    let mut certs = Vec::new();
    for item in items {
        let bad = |p: &str| {
            DirectoryError::bad_request(format!(
                "Invalid value specified for property '{p}' of resource 'KeyCredential'."
            ))
        };
        let ty = str_of(item, "type").unwrap_or_default();
        if ty != "AsymmetricX509Cert" && ty != "X509CertAndPassword" {
            return Err(bad("type"));
        }
        let usage = str_of(item, "usage").unwrap_or_default();
        if usage != "Verify" && usage != "Sign" {
            return Err(bad("usage"));
        }
        let key = str_of(item, "key").ok_or_else(|| {
            DirectoryError::bad_request("Property keyCredentials.key value is required but is empty or missing.")
        })?;
        let cert = cerulean_identity::certs::inspect(key)
            .map_err(|_| DirectoryError::bad_request("Key value is invalid certificate value."))?;
        let key_id = str_of(item, "keyId").and_then(|k| Uuid::parse_str(k).ok()).unwrap_or_else(Uuid::new_v4);
        out.push(json!({
            "customKeyIdentifier": cert.thumbprint_b64,
            "displayName": str_of(item, "displayName").map(str::to_string).unwrap_or(cert.subject.clone()),
            "endDateTime": cert.not_after,
            "key": null,
            "keyId": key_id.to_string(),
            "startDateTime": cert.not_before,
            "type": ty,
            "usage": usage,
        }));
        certs.push((key_id, cert.der_b64));
    }
    Ok((Value::Array(out), certs))
}

/// Copies what a service principal mirrors from its application.
pub(crate) fn sync_service_principal(sp: &mut Map<String, Value>, app: &Map<String, Value>) {
    let get = |k: &str| app.get(k).cloned().unwrap_or(Value::Null);
    sp.insert("appDisplayName".into(), get("displayName"));
    sp.insert("appRoles".into(), app.get("appRoles").cloned().unwrap_or_else(|| json!([])));
    let scopes = app.get("api").and_then(|a| a.get("oauth2PermissionScopes")).cloned().unwrap_or_else(|| json!([]));
    sp.insert("oauth2PermissionScopes".into(), scopes);
    sp.insert("signInAudience".into(), get("signInAudience"));
    sp.insert("info".into(), get("info"));
    let mut names = vec![json!(app.get("appId").and_then(Value::as_str).unwrap_or_default())];
    names.extend(crate::groups::string_list(app.get("identifierUris")).into_iter().map(Value::String));
    sp.insert("servicePrincipalNames".into(), Value::Array(names));
    if let Some(web) = app.get("web") {
        sp.insert("replyUrls".into(), web.get("redirectUris").cloned().unwrap_or_else(|| json!([])));
        sp.insert("homepage".into(), web.get("homePageUrl").cloned().unwrap_or(Value::Null));
        sp.insert("logoutUrl".into(), web.get("logoutUrl").cloned().unwrap_or(Value::Null));
    }
}
