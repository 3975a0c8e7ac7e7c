//! Users: create, update, delete, with Entra's rules for user principal names, mail nicknames
//! and passwords. Passwords are hashed with argon2id into a secret record; the document never
//! holds a password or the `passwordProfile`.

use cerulean_schema::EntityType;
use cerulean_store::{Change, ObjectRecord, Op, SecretRecord, TenantRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::ids::security_identifier;
use crate::validate::{Mode, now, validate_body, validate_body_waiving};
use crate::{Caller, Directory};

/// How often a write recomputed from a concurrently changed object is retried.
pub(crate) const WRITE_RETRIES: usize = 5;

/// Where a new user's password comes from.
pub(crate) enum UserPassword {
    /// `passwordProfile.password` of the body, checked against the policy and hashed (the API).
    FromProfile,
    /// An argon2id PHC string made elsewhere (a fixture or an export).
    Hash(String),
    /// No password: the user cannot sign in with one (a fixture's bulk users).
    None,
}

/// The longest password hash accepted from a fixture; argon2id PHC strings are ~100 bytes.
const MAX_HASH_LEN: usize = 512;

/// A pre-hashed password must be an argon2id PHC string, the only form sign-in verifies.
fn check_password_hash(hash: String) -> DirectoryResult<String> {
    if hash.starts_with("$argon2id$") && hash.len() <= MAX_HASH_LEN && hash.split('$').count() == 6 {
        Ok(hash)
    } else {
        Err(DirectoryError::bad_request(
            "Invalid value specified for property 'passwordHash': an argon2id PHC string is expected.",
        ))
    }
}

fn user_type() -> &'static EntityType {
    cerulean_schema::entity("user").expect("the user entity is declared")
}

impl Directory {
    /// `POST /users`.
    pub async fn create_user(&self, caller: &Caller, body: &Map<String, Value>) -> DirectoryResult<ObjectRecord> {
        let tenant = self.tenant_record(caller.tenant).await?;
        let (object, ops) = self.prepare_user(&tenant, body, Uuid::new_v4(), UserPassword::FromProfile).await?;
        let change = Change {
            ops,
            audit: audit::record(
                caller,
                "Add user",
                "UserManagement",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        self.reevaluate_member(caller.tenant, object.id).await?;
        Ok(object)
    }

    /// Validates a new user's body with the API's rules and builds its document and the ops
    /// that create it (the object, and its password's secret), without applying them: the
    /// API applies them at once, an import in large batches.
    pub(crate) async fn prepare_user(
        &self,
        tenant: &TenantRecord,
        body: &Map<String, Value>,
        id: Uuid,
        password: UserPassword,
    ) -> DirectoryResult<(ObjectRecord, Vec<Op>)> {
        let waived: &[&str] = match password {
            UserPassword::FromProfile => &[],
            _ => &["passwordProfile"],
        };
        let (mut props, annotations) = validate_body_waiving(user_type(), body, Mode::Create, waived)?;
        reject_annotations(&annotations, "user")?;
        let upn = props.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default().to_string();
        check_upn(&upn, tenant)?;
        let nickname = props.get("mailNickname").and_then(Value::as_str).unwrap_or_default();
        check_mail_nickname(nickname, "User")?;
        check_user_values(&props)?;
        let profile = props.remove("passwordProfile").unwrap_or(Value::Null);
        let hash = match password {
            UserPassword::FromProfile => {
                let password = password_from_profile(&profile)?;
                let display_name = props.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
                check_password(&password, &upn, &display_name)?;
                Some(self.hash_password(password).await?)
            }
            UserPassword::Hash(hash) => Some(check_password_hash(hash)?),
            UserPassword::None => None,
        };

        let at = now();
        let mut doc = props;
        doc.entry("businessPhones").or_insert_with(|| json!([]));
        doc.entry("userType").or_insert_with(|| json!("Member"));
        doc.insert("createdDateTime".into(), json!(at));
        doc.insert("lastPasswordChangeDateTime".into(), json!(at));
        doc.insert("signInSessionsValidFromDateTime".into(), json!(at));
        doc.insert("securityIdentifier".into(), json!(security_identifier(id)));
        doc.entry("proxyAddresses").or_insert_with(|| json!([]));
        doc.entry("identities").or_insert_with(|| {
            json!([{ "signInType": "userPrincipalName", "issuer": initial_domain(tenant), "issuerAssignedId": upn }])
        });
        let object = ObjectRecord { id, object_type: "user".into(), version: 1, doc, deleted_at: None };
        let mut ops = vec![Op::Insert { object: object.clone(), unique: user_claims(&object.doc) }];
        if let Some(hash) = hash {
            ops.push(Op::PutSecret(password_secret(id, hash, &profile)));
        }
        Ok((object, ops))
    }

    /// `PATCH /users/{id}`.
    pub async fn update_user(&self, caller: &Caller, key: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let (mut props, annotations) = validate_body(user_type(), body, Mode::Update)?;
        reject_annotations(&annotations, "user")?;
        let tenant = self.tenant_record(caller.tenant).await?;
        let profile = props.remove("passwordProfile");
        let mut new_secret_hash = None;
        for _ in 0..WRITE_RETRIES {
            let current = self.find(caller.tenant, "user", key).await?;
            let mut doc = current.doc.clone();
            if let Some(upn) = props.get("userPrincipalName").and_then(Value::as_str) {
                check_upn(upn, &tenant)?;
            }
            check_user_values(&props)?;
            if let Some(nick) = props.get("mailNickname").and_then(Value::as_str) {
                check_mail_nickname(nick, "User")?;
            }
            let mut ops = Vec::new();
            if let Some(profile) = &profile {
                let password = password_from_profile(profile)?;
                let upn = props
                    .get("userPrincipalName")
                    .or_else(|| doc.get("userPrincipalName"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let name = doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
                check_password(&password, &upn, &name)?;
                let hash = match &new_secret_hash {
                    Some(h) => String::clone(h),
                    None => {
                        let h = self.hash_password(password).await?;
                        new_secret_hash = Some(h.clone());
                        h
                    }
                };
                // A new password replaces every earlier one.
                for old in self.store.secrets(caller.tenant, current.id).await? {
                    if old.kind == "password" {
                        ops.push(Op::DeleteSecret { owner: current.id, key_id: old.key_id });
                    }
                }
                ops.push(Op::PutSecret(password_secret(current.id, hash, profile)));
                doc.insert("lastPasswordChangeDateTime".into(), json!(now()));
                // A new password ends the user's sign-in sessions (see `sessions.rs`).
                doc.insert("signInSessionsValidFromDateTime".into(), json!(now()));
            }
            merge(&mut doc, &props);
            if let Some(upn) = props.get("userPrincipalName").and_then(Value::as_str) {
                sync_upn_identity(&mut doc, upn);
            }
            ops.insert(
                0,
                Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: user_claims(&doc),
                },
            );
            let change = Change {
                ops,
                audit: audit::record(
                    caller,
                    "Update user",
                    "UserManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => {
                    // A password reset or a disabled account revokes the refresh tokens.
                    if profile.is_some() || props.get("accountEnabled") == Some(&Value::Bool(false)) {
                        self.revoke_user_tokens(caller.tenant, current.id).await;
                    }
                    if profile.is_some() {
                        self.remediate_after_password_change(caller, current.id).await;
                    }
                    return self.reevaluate_member(caller.tenant, current.id).await;
                }
                Err(cerulean_store::StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The user was modified concurrently; retry the request.".into()))
    }

    /// Verifies a user's password (for sign-in grants). Returns the user when it matches.
    pub async fn verify_user_password(
        &self,
        tenant: Uuid,
        upn: &str,
        password: &str,
    ) -> DirectoryResult<Option<ObjectRecord>> {
        let Ok(user) = self.find(tenant, "user", upn).await else {
            return Ok(None);
        };
        for secret in self.store.secrets(tenant, user.id).await? {
            if secret.kind == "password"
                && self.passwords.verify(password.to_string(), secret.hash.clone()).await.unwrap_or(false)
            {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    pub(crate) async fn hash_password(&self, password: String) -> DirectoryResult<String> {
        self.passwords.hash(password).await.map_err(|e| DirectoryError::Internal(e.to_string()))
    }

    pub(crate) async fn tenant_record(&self, tenant: Uuid) -> DirectoryResult<TenantRecord> {
        self.store.tenant(tenant).await?.ok_or_else(|| DirectoryError::Internal(format!("tenant {tenant} is missing")))
    }
}

/// Applies a validated PATCH body: a null removes the property.
pub(crate) fn merge(doc: &mut Map<String, Value>, props: &Map<String, Value>) {
    for (k, v) in props {
        if v.is_null() {
            doc.remove(k);
        } else {
            doc.insert(k.clone(), v.clone());
        }
    }
}

/// Only `@odata.type` naming the entity itself is accepted on a user body.
pub(crate) fn reject_annotations(annotations: &Map<String, Value>, type_name: &str) -> DirectoryResult<()> {
    for (k, v) in annotations {
        if k == "@odata.type" {
            let expected = format!("#microsoft.graph.{type_name}");
            if v.as_str().is_some_and(|t| t.eq_ignore_ascii_case(&expected) || t.eq_ignore_ascii_case(&expected[1..])) {
                continue;
            }
            return Err(DirectoryError::bad_request(format!(
                "A type named '{}' could not be resolved by the model.",
                v.as_str().unwrap_or_default()
            )));
        }
        return Err(DirectoryError::bad_request(format!(
            "The property '{k}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use property names that are defined by the type or mark the type as open type."
        )));
    }
    Ok(())
}

pub(crate) fn user_claims(doc: &Map<String, Value>) -> Vec<(String, String)> {
    doc.get("userPrincipalName")
        .and_then(Value::as_str)
        .map(|upn| vec![("upn".to_string(), upn.to_lowercase())])
        .unwrap_or_default()
}

pub(crate) fn initial_domain(tenant: &TenantRecord) -> String {
    tenant.domains.iter().find(|d| d.is_initial).or(tenant.domains.first()).map(|d| d.name.clone()).unwrap_or_default()
}

pub(crate) fn sync_upn_identity(doc: &mut Map<String, Value>, upn: &str) {
    if let Some(Value::Array(ids)) = doc.get_mut("identities") {
        for id in ids.iter_mut() {
            if id.get("signInType").and_then(Value::as_str) == Some("userPrincipalName")
                && let Some(obj) = id.as_object_mut()
            {
                obj.insert("issuerAssignedId".into(), json!(upn));
            }
        }
    }
}

/// Entra's rules for a user principal name: `alias@domain`, the alias of allowed characters
/// (letters, digits and `' . - _ ! # ^ ~`), no leading or trailing period, at most 64
/// characters before the `@` and 113 in all, and the domain one of the tenant's verified ones.
pub(crate) fn check_upn(upn: &str, tenant: &TenantRecord) -> DirectoryResult<()> {
    let invalid =
        || DirectoryError::bad_request("Invalid value specified for property 'userPrincipalName' of resource 'User'.");
    let (alias, domain) = upn.rsplit_once('@').ok_or_else(invalid)?;
    let alias_ok = !alias.is_empty()
        && alias.len() <= 64
        && upn.len() <= 113
        && !alias.starts_with('.')
        && !alias.ends_with('.')
        && !alias.contains("..")
        && alias.chars().all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    if !alias_ok {
        return Err(invalid());
    }
    let domain = domain.to_ascii_lowercase();
    if !tenant.domains.iter().any(|d| d.is_verified && d.name == domain) {
        return Err(DirectoryError::bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    Ok(())
}

/// Value rules of the user resource: one business phone at most, and `usageLocation` a
/// two-letter country code (ISO 3166-1 alpha-2, upper case).
fn check_user_values(props: &Map<String, Value>) -> DirectoryResult<()> {
    let invalid = |p: &str| {
        DirectoryError::bad_request(format!("Invalid value specified for property '{p}' of resource 'User'."))
    };
    if props.get("businessPhones").and_then(Value::as_array).is_some_and(|a| a.len() > 1) {
        return Err(invalid("businessPhones"));
    }
    if let Some(loc) = props.get("usageLocation").and_then(Value::as_str)
        && !(loc.len() == 2 && loc.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(invalid("usageLocation"));
    }
    Ok(())
}

/// Entra's rules for `mailNickname`: 1..64 ASCII characters, none of `@ ( ) \ [ ] " ; : < > ,`
/// or space.
pub(crate) fn check_mail_nickname(nick: &str, resource: &str) -> DirectoryResult<()> {
    let ok = !nick.is_empty()
        && nick.len() <= 64
        && nick.chars().all(|c| c.is_ascii() && !c.is_ascii_control() && !"@()\\[]\";:<>, ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DirectoryError::bad_request(format!(
            "Invalid value specified for property 'mailNickname' of resource '{resource}'."
        )))
    }
}

fn password_from_profile(profile: &Value) -> DirectoryResult<String> {
    profile
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or_else(|| DirectoryError::bad_request("Property password value is required but is empty or missing."))
}

pub(crate) fn check_password(password: &str, upn: &str, display_name: &str) -> DirectoryResult<()> {
    let alias = upn.split('@').next().unwrap_or_default();
    cerulean_identity::passwords::check_password_policy(password, &[alias, display_name])
        .map_err(|e| DirectoryError::bad_request(e.graph_message()))
}

pub(crate) fn password_secret(owner: Uuid, hash: String, profile: &Value) -> SecretRecord {
    let flag = |name: &str| profile.get(name).and_then(Value::as_bool).unwrap_or(false);
    SecretRecord {
        owner,
        kind: "password".into(),
        key_id: Uuid::new_v4(),
        hash,
        meta: json!({
            "forceChangePasswordNextSignIn": flag("forceChangePasswordNextSignIn"),
            "forceChangePasswordNextSignInWithMfa": flag("forceChangePasswordNextSignInWithMfa"),
            "setDateTime": now(),
        }),
    }
}
