//! B2B invitations ("Create invitation") and their redemption.
//!
//! Inviting `adele@fabrikam.com` creates (or reuses) a guest user: `userType` `Guest` (or the
//! `invitedUserType` asked for), UPN `adele_fabrikam.com#EXT#@{initial domain}`, `mail` and
//! `otherMails` the address, `creationType` `Invitation`, `externalUserState`
//! `PendingAcceptance` with its change time. The invitation itself is not stored: what stays
//! is the redemption link's record, a single-use sign-in flow (kind `invitation`) whose key is
//! the hash of the secret in the link, bound to the guest and to this invitation (`lookup` is
//! the guest's id; a new invitation of the guest deletes the earlier links, so only the newest
//! redeems), expiring after [`REDEEM_VALIDITY_DAYS`].
//!
//! There is no home tenant to authenticate the guest against, so redeeming sets the password
//! the guest then signs in with here (the redemption page asks for it), moves the guest to
//! `Accepted` and sends the browser to `inviteRedirectUrl`.

use cerulean_store::{
    Change, CmpOp, Filter, FlowRecord, FlowRedemption, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope,
    StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::{WRITE_RETRIES, check_password, initial_domain, password_secret, user_claims};
use crate::validate::{format_datetime, now};
use crate::{Caller, Directory};

/// The flow kind of redemption links.
pub const INVITATION_FLOW: &str = "invitation";
/// How long a redemption link works.
pub const REDEEM_VALIDITY_DAYS: i64 = 30;
/// The longest invited address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// Earlier links of a guest removed by a new invitation (there is one at most, bar races).
const MAX_OLD_LINKS: usize = 16;

/// What "Create invitation" answers, and the secret of the redemption link (`None` when the
/// guest had accepted already and no new link was asked for: status `Completed`).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub user: ObjectRecord,
    pub email: String,
    pub display_name: Option<String>,
    pub user_type: String,
    pub redirect_url: String,
    pub send_message: bool,
    pub message_info: Value,
    pub reset_redemption: bool,
    /// `PendingAcceptance` or `Completed`.
    pub status: &'static str,
    /// The secret of the redemption link, to be put in `inviteRedeemUrl`.
    pub redeem_secret: Option<String>,
}

/// A redemption link that still works: the guest and where to go afterwards.
#[derive(Debug, Clone)]
pub struct PendingRedemption {
    pub user: ObjectRecord,
    pub redirect_url: String,
}

fn bad(message: impl Into<String>) -> DirectoryError {
    DirectoryError::BadRequest { code: "BadRequest", message: message.into() }
}

/// A plain `local@domain` address: one `@`, a non-empty local part without spaces, a domain
/// with a dot and DNS-style labels.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    !local.is_empty()
        && email.len() <= MAX_EMAIL
        && local.len() <= 64
        && !local.contains('@')
        && local.chars().all(|c| c.is_ascii_graphic() && !"()<>[]\\,;:\"".contains(c))
        && domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An absolute `http(s)` URL, as a redirect after redemption must be.
fn valid_redirect(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    }) && url.len() <= 2048
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> DirectoryResult<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(format!("Invalid value specified for property '{key}' of resource 'Invitation'."))),
    }
}

fn flag(body: &Map<String, Value>, key: &str) -> DirectoryResult<bool> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("Invalid value specified for property '{key}' of resource 'Invitation'."))),
    }
}

const KNOWN: &[&str] = &[
    "invitedUserEmailAddress",
    "inviteRedirectUrl",
    "invitedUserDisplayName",
    "invitedUserType",
    "sendInvitationMessage",
    "invitedUserMessageInfo",
    "resetRedemption",
];

impl Directory {
    /// `POST /invitations`.
    pub async fn invite(&self, caller: &Caller, body: &Map<String, Value>) -> DirectoryResult<Invitation> {
        for key in body.keys() {
            if key.starts_with('@') || KNOWN.contains(&key.as_str()) {
                continue;
            }
            if matches!(key.as_str(), "id" | "inviteRedeemUrl" | "status" | "invitedUser") {
                return Err(bad(format!("Property '{key}' is read-only and cannot be set.")));
            }
            return Err(bad(format!(
                "The property '{key}' does not exist on type 'microsoft.graph.invitation'. Make sure to only use property names that are defined by the type or mark the type as open type."
            )));
        }
        let email = text(body, "invitedUserEmailAddress")?.map(str::trim).unwrap_or_default().to_string();
        if email.is_empty() {
            return Err(bad("Property invitedUserEmailAddress value is required but is empty or missing."));
        }
        if !valid_email(&email) {
            return Err(bad(
                "The specified email address is not valid. Please check the invitedUserEmailAddress property.",
            ));
        }
        let redirect = text(body, "inviteRedirectUrl")?.map(str::trim).unwrap_or_default().to_string();
        if redirect.is_empty() {
            return Err(bad("Property inviteRedirectUrl value is required but is empty or missing."));
        }
        if !valid_redirect(&redirect) {
            return Err(bad("Invalid value specified for property 'inviteRedirectUrl' of resource 'Invitation'."));
        }
        let display_name = text(body, "invitedUserDisplayName")?.map(str::to_string);
        if display_name.as_ref().is_some_and(|d| d.chars().count() > 256) {
            return Err(bad("Invalid value specified for property 'invitedUserDisplayName' of resource 'Invitation'."));
        }
        let user_type = match text(body, "invitedUserType")? {
            None => "Guest".to_string(),
            Some(t) if t.eq_ignore_ascii_case("guest") => "Guest".to_string(),
            Some(t) if t.eq_ignore_ascii_case("member") => "Member".to_string(),
            Some(_) => {
                return Err(bad("Invalid value specified for property 'invitedUserType' of resource 'Invitation'."));
            }
        };
        let send_message = flag(body, "sendInvitationMessage")?;
        let reset = flag(body, "resetRedemption")?;
        let message_info = match body.get("invitedUserMessageInfo") {
            None | Some(Value::Null) => {
                json!({"messageLanguage": null, "ccRecipients": [], "customizedMessageBody": null})
            }
            Some(Value::Object(m)) => {
                let mut out = json!({"messageLanguage": null, "ccRecipients": [], "customizedMessageBody": null});
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("messageLanguage" | "customizedMessageBody", Value::String(_) | Value::Null)
                        | ("ccRecipients", Value::Array(_)) => out[k] = v.clone(),
                        _ => {
                            return Err(bad(format!(
                                "Invalid value specified for property 'invitedUserMessageInfo.{k}' of resource 'Invitation'."
                            )));
                        }
                    }
                }
                out
            }
            Some(_) => {
                return Err(bad(
                    "Invalid value specified for property 'invitedUserMessageInfo' of resource 'Invitation'.",
                ));
            }
        };

        let tenant = self.tenant_record(caller.tenant).await?;
        let (local, domain) = email.rsplit_once('@').unwrap_or((&email, ""));
        let is_own_domain = tenant.domains.iter().any(|d| d.name.eq_ignore_ascii_case(domain));
        if is_own_domain {
            return Err(bad(format!(
                "The invited user already exists in the directory as a member: '{email}' belongs to a domain of this organization."
            )));
        }
        let at = now();
        let existing = self.user_by_mail(caller.tenant, &email).await?;
        let (user, status) = match existing {
            Some(user) => {
                let accepted = user.doc.get("externalUserState").and_then(Value::as_str) == Some("Accepted");
                if accepted && !reset {
                    (user, "Completed")
                } else if accepted {
                    (self.set_external_state(caller, &user, "PendingAcceptance").await?, "PendingAcceptance")
                } else {
                    (user, "PendingAcceptance")
                }
            }
            None => {
                let upn = format!(
                    "{}_{}#EXT#@{}",
                    local.to_ascii_lowercase(),
                    domain.to_ascii_lowercase(),
                    initial_domain(&tenant)
                );
                let nickname = format!("{}_{}#EXT#", local.to_ascii_lowercase(), domain.to_ascii_lowercase());
                let id = Uuid::new_v4();
                let doc = json!({
                    "accountEnabled": true,
                    "businessPhones": [],
                    "createdDateTime": at,
                    "creationType": "Invitation",
                    "displayName": display_name.clone().unwrap_or_else(|| local.to_string()),
                    "externalUserState": "PendingAcceptance",
                    "externalUserStateChangeDateTime": at,
                    "identities": [{"signInType": "emailAddress", "issuer": "ExternalAzureAD", "issuerAssignedId": email}],
                    "mail": email,
                    "mailNickname": nickname,
                    "otherMails": [email],
                    "proxyAddresses": [format!("SMTP:{email}")],
                    "securityIdentifier": crate::ids::security_identifier(id),
                    "signInSessionsValidFromDateTime": at,
                    "userPrincipalName": upn,
                    "userType": user_type,
                });
                let doc = doc.as_object().cloned().unwrap_or_default();
                let object = ObjectRecord { id, object_type: "user".into(), version: 1, doc, deleted_at: None };
                let change = Change {
                    ops: vec![Op::Insert { object: object.clone(), unique: user_claims(&object.doc) }],
                    audit: audit::record(
                        caller,
                        "Invite external user",
                        "UserManagement",
                        "Add",
                        vec![audit::target(&object, None, Some(&object.doc))],
                    ),
                };
                self.store.apply(caller.tenant, change).await?;
                self.reevaluate_member(caller.tenant, object.id).await?;
                (object, "PendingAcceptance")
            }
        };
        let invitation_id = Uuid::new_v4();
        let redeem_secret = if status == "PendingAcceptance" {
            // A new invitation replaces the guest's earlier links.
            for _ in 0..MAX_OLD_LINKS {
                let Some(old) = self.store.flow_by_lookup(caller.tenant, INVITATION_FLOW, &user.id.to_string()).await?
                else {
                    break;
                };
                self.store.delete_flow(caller.tenant, INVITATION_FLOW, &old.key).await?;
            }
            let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
            let expires = cerulean_store::clock::now() + time::Duration::days(REDEEM_VALIDITY_DAYS);
            let record = FlowRecord {
                kind: INVITATION_FLOW.into(),
                key: cerulean_identity::user_tokens::refresh_token_hash(&secret),
                lookup: Some(user.id.to_string()),
                data: json!({"user": user.id, "invitation": invitation_id, "redirect": redirect, "email": email}),
                created_at: at.clone(),
                expires_at: format_datetime(expires),
                used_at: None,
            };
            self.store.put_flow(caller.tenant, &record, &at).await?;
            Some(secret)
        } else {
            None
        };
        Ok(Invitation {
            id: invitation_id,
            user,
            email,
            display_name,
            user_type,
            redirect_url: redirect,
            send_message,
            message_info,
            reset_redemption: reset,
            status,
            redeem_secret,
        })
    }

    /// The live user whose `mail` is this address, if any.
    async fn user_by_mail(&self, tenant: Uuid, email: &str) -> DirectoryResult<Option<ObjectRecord>> {
        let mut query = ListQuery::new(&["user"], Scope::Live);
        query.filter = Some(Filter::Compare {
            path: PropPath::of("mail"),
            kind: ValueKind::String,
            op: CmpOp::Eq,
            value: Scalar::Str(email.to_string()),
        });
        query.top = 1;
        Ok(self.store.list(tenant, &query).await?.items.into_iter().next())
    }

    /// Moves a guest to another `externalUserState`, with the time of the change.
    async fn set_external_state(
        &self,
        caller: &Caller,
        user: &ObjectRecord,
        state: &str,
    ) -> DirectoryResult<ObjectRecord> {
        for _ in 0..WRITE_RETRIES {
            let current = self.find(caller.tenant, "user", &user.id.to_string()).await?;
            let mut doc = current.doc.clone();
            doc.insert("externalUserState".into(), json!(state));
            doc.insert("externalUserStateChangeDateTime".into(), json!(now()));
            let change = Change {
                ops: vec![Op::Update {
                    id: current.id,
                    expected_version: current.version,
                    doc: doc.clone(),
                    unique: user_claims(&doc),
                }],
                audit: audit::record(
                    caller,
                    "Update user",
                    "UserManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => {
                    return Ok(ObjectRecord { doc, version: current.version + 1, ..current });
                }
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The user was modified concurrently; retry the request.".into()))
    }

    /// The redemption a link's secret names, if it still works: unused, unexpired, the
    /// guest's newest invitation, the guest still there and not yet accepted.
    pub async fn pending_redemption(&self, tenant: Uuid, secret: &str) -> DirectoryResult<Option<PendingRedemption>> {
        let key = cerulean_identity::user_tokens::refresh_token_hash(secret);
        let Some(record) = self.store.flow(tenant, INVITATION_FLOW, &key).await? else { return Ok(None) };
        self.check_redemption(tenant, &record).await
    }

    async fn check_redemption(&self, tenant: Uuid, record: &FlowRecord) -> DirectoryResult<Option<PendingRedemption>> {
        if record.used_at.is_some() || record.expires_at.as_str() <= now().as_str() {
            return Ok(None);
        }
        let Some(user_id) = record.lookup.as_deref() else { return Ok(None) };
        let Ok(user) = self.find(tenant, "user", user_id).await else { return Ok(None) };
        if user.doc.get("externalUserState").and_then(Value::as_str) != Some("PendingAcceptance") {
            return Ok(None);
        }
        let redirect = record.data.get("redirect").and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Some(PendingRedemption { user, redirect_url: redirect }))
    }

    /// Redeems a link: spends it, sets the guest's password and moves the guest to
    /// `Accepted`. Returns where to send the browser; `None` when the link does not work.
    pub async fn redeem_invitation(
        &self,
        tenant: Uuid,
        secret: &str,
        password: &str,
    ) -> DirectoryResult<Option<String>> {
        let key = cerulean_identity::user_tokens::refresh_token_hash(secret);
        let Some(record) = self.store.flow(tenant, INVITATION_FLOW, &key).await? else { return Ok(None) };
        let Some(pending) = self.check_redemption(tenant, &record).await? else { return Ok(None) };
        let user = pending.user;
        let upn = user.doc.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default();
        let name = user.doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
        check_password(password, upn, name)?;
        let hash = self.hash_password(password.to_string()).await?;
        if !matches!(self.store.redeem_flow(tenant, INVITATION_FLOW, &key, &now()).await?, FlowRedemption::Redeemed(_))
        {
            return Ok(None);
        }
        let caller = Caller {
            tenant,
            actor: cerulean_store::Actor {
                kind: "user".into(),
                id: Some(user.id),
                display_name: Some(upn.to_string()),
            },
            correlation_id: None,
        };
        for _ in 0..WRITE_RETRIES {
            let current = self.find(tenant, "user", &user.id.to_string()).await?;
            let mut doc = current.doc.clone();
            let at = now();
            doc.insert("externalUserState".into(), json!("Accepted"));
            doc.insert("externalUserStateChangeDateTime".into(), json!(at));
            doc.insert("lastPasswordChangeDateTime".into(), json!(at));
            let mut ops = vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: doc.clone(),
                unique: user_claims(&doc),
            }];
            for old in self.store.secrets(tenant, current.id).await? {
                if old.kind == "password" {
                    ops.push(Op::DeleteSecret { owner: current.id, key_id: old.key_id });
                }
            }
            ops.push(Op::PutSecret(password_secret(current.id, hash.clone(), &Value::Null)));
            let change = Change {
                ops,
                audit: audit::record(
                    &caller,
                    "Redeem external user invite",
                    "UserManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.store.apply(tenant, change).await {
                Ok(_) => {
                    self.reevaluate_member(tenant, current.id).await?;
                    return Ok(Some(pending.redirect_url));
                }
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The user was modified concurrently; retry the request.".into()))
    }
}
