//! What user sign-in needs from the directory: password sign-in, the delegated permissions a
//! client holds for a user (`oauth2PermissionGrant`s), the user's directory roles (`wids`),
//! refresh tokens (sign-in sessions) and their revocation.
//!
//! Revocation has two halves, both kept: the store marks the user's refresh tokens revoked,
//! and the user's `signInSessionsValidFromDateTime` moves to now, which the refresh grant
//! compares with the sign-in time of a token. Either alone refuses an old token; together a
//! token survives neither a lost store update nor a clock-second race.

use cerulean_store::{Change, ObjectRecord, Op, RefreshRedemption, RefreshTokenRecord};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::validate::now;
use crate::{Caller, Directory};

/// The outcome of a password sign-in.
#[derive(Debug, Clone)]
pub enum PasswordSignIn {
    /// No live user has this user principal name.
    UnknownUser,
    /// The user exists; the password is not theirs.
    BadPassword,
    /// Smart lockout: too many failed sign-ins from this class of location (Entra's
    /// AADSTS50053). The password was not checked, or was wrong and locked the account.
    Locked,
    /// The password matches. `must_change_password` is the password's
    /// `forceChangePasswordNextSignIn` (or `...WithMfa`) flag.
    Success { user: ObjectRecord, must_change_password: bool },
}

/// The role template id of the "User" role Entra puts in every member's `wids`.
pub const MEMBER_USER_TEMPLATE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

impl Directory {
    /// Checks `password` for the user named `username` (a user principal name), signing in
    /// from `ip`, under smart lockout (see [`crate::lockout`]): a locked account is refused
    /// before its password is checked, and a bad password is counted.
    pub async fn sign_in_with_password(
        &self,
        tenant: Uuid,
        username: &str,
        password: &str,
        ip: &str,
    ) -> DirectoryResult<PasswordSignIn> {
        if !username.contains('@') || username.len() > 256 {
            return Ok(PasswordSignIn::UnknownUser);
        }
        let Ok(user) = self.find(tenant, "user", username).await else {
            return Ok(PasswordSignIn::UnknownUser);
        };
        let class = self.location_class(tenant, user.id, ip).await?;
        if self.is_locked(tenant, user.id, class).await? {
            return Ok(PasswordSignIn::Locked);
        }
        match self.verify_password(tenant, user.id, password).await? {
            Some(must_change_password) => {
                self.reset_failures(tenant, user.id, class).await?;
                Ok(PasswordSignIn::Success { user, must_change_password })
            }
            None if self.count_failure(tenant, user.id, class, password).await? => Ok(PasswordSignIn::Locked),
            None => Ok(PasswordSignIn::BadPassword),
        }
    }

    /// Whether `password` is the user's: `Some(must_change_password)` if it is.
    pub(crate) async fn verify_password(
        &self,
        tenant: Uuid,
        user: Uuid,
        password: &str,
    ) -> DirectoryResult<Option<bool>> {
        for secret in self.store.secrets(tenant, user).await? {
            if secret.kind == "password"
                && self.passwords.verify(password.to_string(), secret.hash.clone()).await.unwrap_or(false)
            {
                let flag = |k: &str| secret.meta.get(k).and_then(Value::as_bool).unwrap_or(false);
                return Ok(Some(flag("forceChangePasswordNextSignIn") || flag("forceChangePasswordNextSignInWithMfa")));
            }
        }
        Ok(None)
    }

    /// The delegated scopes the client service principal `client` holds on the resource
    /// service principal `resource` for `user`: the union of the tenant-wide (`AllPrincipals`)
    /// grant and the user's own (`Principal`) grant, as Entra evaluates consent.
    pub async fn delegated_scopes(
        &self,
        tenant: Uuid,
        client: Uuid,
        resource: Uuid,
        user: Uuid,
    ) -> DirectoryResult<Vec<String>> {
        let mut scopes: Vec<String> = Vec::new();
        for principal in ["all".to_string(), user.to_string()] {
            let key = format!("{client}:{resource}:{principal}");
            let Some(id) = self.store.find_unique(tenant, "oauth2PermissionGrant", &key).await? else {
                continue;
            };
            let Some(grant) = self.get(tenant, id).await? else {
                continue;
            };
            for s in grant.doc.get("scope").and_then(Value::as_str).unwrap_or_default().split(' ') {
                if !s.is_empty() && !scopes.iter().any(|have| have.eq_ignore_ascii_case(s)) {
                    scopes.push(s.to_string());
                }
            }
        }
        Ok(scopes)
    }

    /// The role template ids of the built-in roles `user` holds over the whole directory (its
    /// role assignments with scope `/`, directly or through a group), with the "User" role every
    /// member holds: Entra's `wids` claim, which leaves out custom and scoped roles.
    pub async fn user_role_templates(&self, tenant: Uuid, user: &ObjectRecord) -> DirectoryResult<Vec<String>> {
        let mut wids: Vec<String> = Vec::new();
        for grant in self.role_grants(tenant, user.id).await? {
            let id = grant.role_definition_id.to_ascii_lowercase();
            if grant.scope == "/" && crate::role_catalog::built_in(&id).is_some() && !wids.contains(&id) {
                wids.push(id);
            }
        }
        if user.doc.get("userType").and_then(Value::as_str).unwrap_or("Member") == "Member" {
            wids.push(MEMBER_USER_TEMPLATE.into());
        }
        Ok(wids)
    }

    /// Stores a new refresh token (its hash only).
    pub async fn put_refresh_token(&self, tenant: Uuid, token: &RefreshTokenRecord) -> DirectoryResult<()> {
        Ok(self.store.put_refresh_token(tenant, token).await?)
    }

    /// Presents a refresh token by hash (see [`cerulean_store::Store::redeem_refresh_token`]).
    pub async fn redeem_refresh_token(
        &self,
        tenant: Uuid,
        hash: &str,
        client_id: &str,
    ) -> DirectoryResult<RefreshRedemption> {
        Ok(self.store.redeem_refresh_token(tenant, hash, client_id, &now()).await?)
    }

    /// Revokes the user's refresh tokens in the store (after a password change or when the
    /// account is disabled). A failure is logged, not returned: the write that caused it is
    /// committed, and `signInSessionsValidFromDateTime` or `accountEnabled` still refuse the
    /// tokens at the refresh grant.
    pub(crate) async fn revoke_user_tokens(&self, tenant: Uuid, user: Uuid) {
        if let Err(e) = self.store.revoke_refresh_tokens(tenant, user, &now()).await {
            tracing::error!(%tenant, %user, error = %e, "revoking refresh tokens failed");
        }
    }

    /// `POST /users/{id}/revokeSignInSessions`: every refresh token of the user stops working
    /// and `signInSessionsValidFromDateTime` becomes now.
    pub async fn revoke_sign_in_sessions(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        for _ in 0..WRITE_RETRIES {
            let current = self.find(caller.tenant, "user", key).await?;
            let mut doc: Map<String, Value> = current.doc.clone();
            doc.insert("signInSessionsValidFromDateTime".into(), json!(now()));
            let unique = current
                .doc
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .map(|upn| vec![("upn".to_string(), upn.to_lowercase())])
                .unwrap_or_default();
            let change = Change {
                ops: vec![Op::Update { id: current.id, expected_version: current.version, doc: doc.clone(), unique }],
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
                    self.revoke_user_tokens(caller.tenant, current.id).await;
                    return Ok(());
                }
                Err(cerulean_store::StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The user was modified concurrently; retry the request.".into()))
    }

    /// `POST /me/changePassword`: the signed-in user replaces their password, proving the
    /// current one. The new password follows the same policy as a reset, and the user's other
    /// sessions end, as in Entra.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        user: Uuid,
        current: &str,
        new: &str,
    ) -> DirectoryResult<()> {
        let record =
            self.get(caller.tenant, user).await?.ok_or_else(|| DirectoryError::not_found(&user.to_string()))?;
        match self.verify_password(caller.tenant, record.id, current).await? {
            Some(_) => {}
            None => {
                return Err(DirectoryError::BadRequest {
                    code: "Authorization_RequestDenied",
                    message: "The current password is incorrect.".into(),
                });
            }
        }
        let body = json!({"passwordProfile": {"password": new, "forceChangePasswordNextSignIn": false}});
        let body = body.as_object().cloned().unwrap_or_default();
        // The change remediates the user's risk (see `identity_protection.rs`).
        self.update_user(caller, &user.to_string(), &body).await
    }
}
