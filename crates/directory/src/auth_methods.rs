//! A user's authentication methods, as Graph's `/users/{id}/authentication` shows them: the
//! password (Entra's fixed method id [`PASSWORD_METHOD_ID`]) and software OATH TOTP methods
//! (RFC 6238, what authenticator apps do). Plus the password operations on them: an
//! administrator's reset (`resetPassword`), which makes the user change the password at next
//! sign-in.
//!
//! A TOTP secret is kept in the secrets table (never in a document), encrypted with AES-256-GCM
//! under a server key from the store's metadata and bound to its user and method id, and is
//! never returned after enrolment (Graph's `secretKey` reads as null). A code is accepted one
//! step early or late (clock skew), and each step's code is accepted once: the step is
//! recorded as a single-use sign-in flow record, so a replay fails on every node.

use cerulean_identity::otp;
use cerulean_store::{Change, FlowRecord, ObjectRecord, Op, SecretRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::validate::{format_datetime, now};
use crate::{Caller, Directory, audit};

/// The id Entra gives every user's password method.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";
/// The secrets-table kind of a TOTP method.
const TOTP_KIND: &str = "softwareOath";
/// The flow kind recording used TOTP steps.
const USED_STEP_KIND: &str = "totp_step";
const TOTP_KEY_META: &str = "totp_encryption_key";
const SEALED_PREFIX: &str = "aes256gcm:";
/// At most this many TOTP methods per user (Entra allows five authenticator apps).
pub const MAX_TOTP_METHODS: usize = 5;

/// What kind of method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethodKind {
    Password,
    SoftwareOath,
    /// A passkey (FIDO2), see [`crate::passkeys`].
    Fido2,
}

/// One authentication method of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMethod {
    pub kind: AuthMethodKind,
    pub id: String,
    pub created_date_time: Option<String>,
    /// A passkey's details (its kind is [`AuthMethodKind::Fido2`]).
    pub passkey: Option<crate::passkeys::Passkey>,
}

/// The flow kind of authentication operations (a password reset's status link).
const OPERATION_KIND: &str = "auth_operation";

/// What an administrator's password reset did.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    /// The password generated when none was given (shown once).
    pub generated: Option<String>,
    pub user: Uuid,
    /// The operation whose status `Location` links to.
    pub operation: Uuid,
}

/// The outcome of a TOTP code at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    Valid,
    Invalid,
    /// Smart lockout holds the account (AADSTS50053).
    Locked,
}

/// A TOTP secret being enrolled: shown to the user once, stored when they prove they have it.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// Base32, as authenticator apps take it.
    pub secret: String,
    /// The `otpauth://totp/...` URI (the QR code's content).
    pub uri: String,
}

/// Sealed bytes as stored text (base32: plain ASCII in a text column).
fn armor(bytes: &[u8]) -> String {
    otp::base32_encode(bytes)
}

fn from_armor(text: &str) -> Option<Vec<u8>> {
    otp::base32_decode(text)
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Directory {
    /// The methods of the user named `key` (id or UPN), with the user.
    pub async fn authentication_methods(
        &self,
        tenant: Uuid,
        key: &str,
    ) -> DirectoryResult<(ObjectRecord, Vec<AuthMethod>)> {
        let user = self.find(tenant, "user", key).await?;
        let mut methods = Vec::new();
        let mut totp = Vec::new();
        for s in self.store.secrets(tenant, user.id).await? {
            let created = s.meta.get("setDateTime").or(s.meta.get("createdDateTime")).and_then(Value::as_str);
            match s.kind.as_str() {
                "password" if methods.is_empty() => methods.push(AuthMethod {
                    kind: AuthMethodKind::Password,
                    id: PASSWORD_METHOD_ID.into(),
                    created_date_time: created.map(str::to_string),
                    passkey: None,
                }),
                TOTP_KIND => totp.push(AuthMethod {
                    kind: AuthMethodKind::SoftwareOath,
                    id: s.key_id.to_string(),
                    created_date_time: created.map(str::to_string),
                    passkey: None,
                }),
                _ => {}
            }
        }
        totp.sort_by(|a, b| a.created_date_time.cmp(&b.created_date_time).then(a.id.cmp(&b.id)));
        methods.extend(totp);
        methods.extend(self.passkeys(tenant, user.id).await?.into_iter().map(|p| AuthMethod {
            kind: AuthMethodKind::Fido2,
            id: p.id.to_string(),
            created_date_time: p.created_date_time.clone(),
            passkey: Some(p),
        }));
        Ok((user, methods))
    }

    /// Whether the user has a second factor (a TOTP method or a passkey): sign-in then asks
    /// for it, and the password grant, which cannot, is refused.
    pub async fn has_second_factor(&self, tenant: Uuid, user: Uuid) -> DirectoryResult<bool> {
        let secrets = self.store.secrets(tenant, user).await?;
        Ok(secrets.iter().any(|s| s.kind == TOTP_KIND || s.kind == crate::passkeys::PASSKEY_KIND))
    }

    /// Whether the user has a TOTP method (sign-in then asks for a code).
    pub async fn has_totp(&self, tenant: Uuid, user: Uuid) -> DirectoryResult<bool> {
        Ok(self.store.secrets(tenant, user).await?.iter().any(|s| s.kind == TOTP_KIND))
    }

    /// Deletes one TOTP method of the user named `key`.
    pub async fn delete_totp_method(&self, caller: &Caller, key: &str, method: &str) -> DirectoryResult<()> {
        self.delete_method(caller, key, method, TOTP_KIND).await
    }

    /// Deletes the method `method` of kind `kind` (its secrets-table record) of the user named
    /// `key`, audited as Entra audits a change of security info.
    pub(crate) async fn delete_method(
        &self,
        caller: &Caller,
        key: &str,
        method: &str,
        kind: &str,
    ) -> DirectoryResult<()> {
        let user = self.find(caller.tenant, "user", key).await?;
        let id = Uuid::parse_str(method).map_err(|_| DirectoryError::not_found(method))?;
        let exists = self.store.secrets(caller.tenant, user.id).await?.iter().any(|s| s.kind == kind && s.key_id == id);
        if !exists {
            return Err(DirectoryError::not_found(method));
        }
        let own = caller.actor.id == Some(user.id);
        let activity = if own { "User deleted security info" } else { "Admin deleted security info" };
        let change = Change {
            ops: vec![Op::DeleteSecret { owner: user.id, key_id: id }],
            audit: audit::record(caller, activity, "UserManagement", "Delete", vec![audit::target(&user, None, None)]),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// A fresh TOTP secret for `user` to enrol (nothing is stored yet).
    pub async fn new_totp_enrolment(&self, tenant_name: &str, user: &ObjectRecord) -> DirectoryResult<TotpEnrolment> {
        let secret = otp::base32_encode(&otp::random_bytes(otp::SECRET_LEN).map_err(internal)?);
        let uri = self.totp_uri(tenant_name, user, &secret);
        Ok(TotpEnrolment { secret, uri })
    }

    /// The `otpauth://totp/` URI of a secret (what a QR code for authenticator apps holds).
    pub fn totp_uri(&self, tenant_name: &str, user: &ObjectRecord, secret: &str) -> String {
        let upn = user.doc.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default();
        let issuer = percent(tenant_name);
        format!(
            "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={}&period={}",
            percent(upn),
            otp::DIGITS,
            otp::STEP_SECS
        )
    }

    /// A secret being registered, sealed for the sign-in form's server-side state (so the
    /// flow record never holds it in clear), bound to the user.
    pub async fn seal_pending_secret(&self, user: Uuid, secret: &str) -> DirectoryResult<String> {
        let key = self.server_key(TOTP_KEY_META).await?;
        let sealed = otp::seal(&key, format!("pending:{user}").as_bytes(), secret.as_bytes()).map_err(internal)?;
        Ok(armor(&sealed))
    }

    /// Opens what [`Directory::seal_pending_secret`] sealed.
    pub async fn open_pending_secret(&self, user: Uuid, sealed: &str) -> DirectoryResult<String> {
        let key = self.server_key(TOTP_KEY_META).await?;
        let raw = from_armor(sealed).ok_or_else(|| internal("bad sealed secret"))?;
        let plain = otp::open(&key, format!("pending:{user}").as_bytes(), &raw).map_err(internal)?;
        String::from_utf8(plain).map_err(internal)
    }

    /// Completes an enrolment: `code` must be a current code of `secret` (proving the app has
    /// it). Stores the method, encrypted, and returns its id; `None` for a wrong code.
    pub async fn complete_totp_enrolment(
        &self,
        caller: &Caller,
        user: &ObjectRecord,
        secret: &str,
        code: &str,
    ) -> DirectoryResult<Option<Uuid>> {
        let Some(raw) = otp::base32_decode(secret).filter(|r| r.len() >= 10) else {
            return Err(DirectoryError::bad_request("The TOTP secret is not valid."));
        };
        let now_secs = cerulean_store::clock::now().unix_timestamp();
        let Some(step) = otp::verify_totp(&raw, code, now_secs) else {
            return Ok(None);
        };
        let count = self.store.secrets(caller.tenant, user.id).await?.iter().filter(|s| s.kind == TOTP_KIND).count();
        if count >= MAX_TOTP_METHODS {
            return Err(DirectoryError::bad_request("The user already has the most authenticator apps allowed."));
        }
        let id = Uuid::new_v4();
        // The enrolment code is spent: it cannot sign in afterwards.
        if !self.spend_step(caller.tenant, id, step).await? {
            return Ok(None);
        }
        let key = self.server_key(TOTP_KEY_META).await?;
        let sealed = otp::seal(&key, &seal_context(user.id, id), &raw).map_err(internal)?;
        let secret = SecretRecord {
            owner: user.id,
            kind: TOTP_KIND.into(),
            key_id: id,
            hash: format!("{SEALED_PREFIX}{}", armor(&sealed)),
            meta: json!({"createdDateTime": now()}),
        };
        let change = Change {
            ops: vec![Op::PutSecret(secret)],
            audit: audit::record(
                caller,
                "User registered security info",
                "UserManagement",
                "Add",
                vec![audit::target(user, None, None)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(Some(id))
    }

    /// Checks a TOTP code against the user's methods: true once per code (a replay within
    /// the code's window is refused).
    pub async fn verify_totp(&self, tenant: Uuid, user: Uuid, code: &str) -> DirectoryResult<bool> {
        let now_secs = cerulean_store::clock::now().unix_timestamp();
        let key = self.server_key(TOTP_KEY_META).await?;
        for s in self.store.secrets(tenant, user).await? {
            if s.kind != TOTP_KIND {
                continue;
            }
            let Some(sealed) = s.hash.strip_prefix(SEALED_PREFIX).and_then(from_armor) else {
                continue;
            };
            let Ok(raw) = otp::open(&key, &seal_context(user, s.key_id), &sealed) else {
                tracing::warn!(%tenant, %user, method = %s.key_id, "a TOTP secret does not open");
                continue;
            };
            if let Some(step) = otp::verify_totp(&raw, code, now_secs) {
                return self.spend_step(tenant, s.key_id, step).await;
            }
        }
        Ok(false)
    }

    /// Records that `method`'s code of `step` was used; false if it was used before.
    async fn spend_step(&self, tenant: Uuid, method: Uuid, step: i64) -> DirectoryResult<bool> {
        let key = format!("{method}:{step}");
        if self.store.flow(tenant, USED_STEP_KIND, &key).await?.is_some() {
            return Ok(false);
        }
        let now = cerulean_store::clock::now();
        // Kept past the last instant the step's code is accepted (one step of skew).
        let expires = now + time::Duration::seconds(4 * otp::STEP_SECS);
        let record = FlowRecord {
            kind: USED_STEP_KIND.into(),
            key,
            lookup: None,
            data: json!({}),
            created_at: format_datetime(now),
            expires_at: format_datetime(expires),
            used_at: Some(format_datetime(now)),
        };
        // Two concurrent uses: the key is unique, so the second insert fails: refused.
        Ok(self.store.put_flow(tenant, &record, &format_datetime(now)).await.is_ok())
    }

    /// `POST /users/{id}/authentication/methods/{id}/resetPassword`: an administrator sets a
    /// new password (or has one generated), which the user must change at next sign-in.
    /// Returns the generated password (if one was generated) and the reset's operation.
    pub async fn reset_password_by_admin(
        &self,
        caller: &Caller,
        key: &str,
        method: &str,
        new_password: Option<&str>,
    ) -> DirectoryResult<PasswordReset> {
        let user = self.find(caller.tenant, "user", key).await?;
        if !method.eq_ignore_ascii_case(PASSWORD_METHOD_ID) {
            return Err(DirectoryError::not_found(method));
        }
        if caller.actor.id == Some(user.id) {
            return Err(DirectoryError::Forbidden(
                "An administrator cannot reset their own password with this operation; use changePassword.".into(),
            ));
        }
        let (password, generated) = match new_password {
            Some(p) => (p.to_string(), None),
            None => {
                let p = generate_password().map_err(internal)?;
                (p.clone(), Some(p))
            }
        };
        let body = json!({"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": true}});
        let body = body.as_object().cloned().unwrap_or_default();
        self.update_user(caller, &user.id.to_string(), &body).await?;
        // The reset completes at once; its operation record answers the status link a day long.
        let operation = Uuid::new_v4();
        let now = cerulean_store::clock::now();
        let record = FlowRecord {
            kind: OPERATION_KIND.into(),
            key: operation.to_string(),
            lookup: Some(user.id.to_string()),
            data: json!({"user": user.id, "status": "succeeded"}),
            created_at: format_datetime(now),
            expires_at: format_datetime(now + time::Duration::days(1)),
            used_at: None,
        };
        self.store.put_flow(caller.tenant, &record, &format_datetime(now)).await?;
        Ok(PasswordReset { generated, user: user.id, operation })
    }

    /// An authentication operation of the user named `key` (Graph's `longRunningOperation`):
    /// (id, createdDateTime, status).
    pub async fn auth_operation(
        &self,
        tenant: Uuid,
        key: &str,
        operation: &str,
    ) -> DirectoryResult<Option<(Uuid, String, String)>> {
        let user = self.find(tenant, "user", key).await?;
        let Ok(id) = Uuid::parse_str(operation) else {
            return Ok(None);
        };
        let Some(r) = self.store.flow(tenant, OPERATION_KIND, &id.to_string()).await? else {
            return Ok(None);
        };
        if r.lookup.as_deref() != Some(user.id.to_string().as_str()) || r.expires_at.as_str() <= now().as_str() {
            return Ok(None);
        }
        let status = r.data.get("status").and_then(Value::as_str).unwrap_or("succeeded").to_string();
        Ok(Some((id, r.created_at, status)))
    }

    /// A TOTP code at sign-in, under smart lockout like the password: refused while the
    /// account is locked for this location, and a wrong code counts as a failure.
    pub async fn verify_totp_sign_in(
        &self,
        tenant: Uuid,
        user: Uuid,
        code: &str,
        ip: &str,
    ) -> DirectoryResult<TotpCheck> {
        let class = self.location_class(tenant, user, ip).await?;
        if self.is_locked(tenant, user, class).await? {
            return Ok(TotpCheck::Locked);
        }
        if self.verify_totp(tenant, user, code).await? {
            return Ok(TotpCheck::Valid);
        }
        let code: String = code.chars().take(16).collect();
        if self.count_failure(tenant, user, class, &format!("otp:{code}")).await? {
            return Ok(TotpCheck::Locked);
        }
        Ok(TotpCheck::Invalid)
    }

    /// The change-password step of a sign-in (`forceChangePasswordNextSignIn`): the user,
    /// having just proved the current password, sets a new one under the password policy.
    pub async fn change_password_at_sign_in(
        &self,
        tenant: Uuid,
        user: &ObjectRecord,
        new_password: &str,
    ) -> DirectoryResult<()> {
        if self.verify_password(tenant, user.id, new_password).await?.is_some() {
            return Err(DirectoryError::bad_request("You can't reuse your current password. Choose a new one."));
        }
        let caller = Caller {
            tenant,
            actor: cerulean_store::Actor {
                kind: "user".into(),
                id: Some(user.id),
                display_name: user.doc.get("displayName").and_then(Value::as_str).map(str::to_string),
            },
            correlation_id: None,
        };
        let body = json!({"passwordProfile": {"password": new_password, "forceChangePasswordNextSignIn": false}});
        self.update_user(&caller, &user.id.to_string(), &body.as_object().cloned().unwrap_or_default()).await
    }

    /// A 32-byte server-wide key kept in the store's metadata (made on first use).
    pub(crate) async fn server_key(&self, name: &str) -> DirectoryResult<Vec<u8>> {
        let stored = match self.store.meta(name).await? {
            Some(k) => k,
            None => {
                let fresh = otp::base32_encode(&otp::random_bytes(32).map_err(internal)?);
                self.store.set_meta(name, &fresh).await?;
                self.store.meta(name).await?.unwrap_or(fresh)
            }
        };
        otp::base32_decode(&stored).filter(|k| k.len() == 32).ok_or_else(|| internal("bad server key"))
    }
}

fn seal_context(user: Uuid, method: Uuid) -> Vec<u8> {
    format!("totp:{user}:{method}").into_bytes()
}

fn internal(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Internal(e.to_string())
}

/// A password Entra's policy accepts: 16 characters with every character class.
fn generate_password() -> cerulean_identity::Result<String> {
    const CLASSES: [&[u8]; 4] =
        [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"!#$%&*+-=?@"];
    let bytes = otp::random_bytes(32)?;
    let mut out: Vec<u8> = Vec::with_capacity(16);
    for (i, b) in bytes.iter().take(16).enumerate() {
        let class = CLASSES[if i < 4 { i } else { usize::from(*b) % 4 }];
        out.push(class[usize::from(bytes[16 + i % 16]) % class.len()]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = generate_password().expect("generate");
            assert_eq!(p.len(), 16);
            cerulean_identity::passwords::check_password_policy(&p, &["adele", "Adele Vance"]).expect("policy");
        }
    }
}
