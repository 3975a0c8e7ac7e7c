//! Passkeys (FIDO2 security keys and platform authenticators) as an authentication method:
//! single-use WebAuthn challenges, registering a verified credential, verifying an assertion
//! at sign-in (and advancing its signature counter), listing and deleting the methods.
//!
//! A passkey is a secrets-table record of kind `fido2` (like a TOTP method, so it goes with
//! its user and is listed and deleted the same way): the key id is the Graph method id, the
//! hash column holds the credential's COSE public key (base64url; public, so not sealed) and
//! the metadata the credential id, counter, AAGUID, name and attestation. The WebAuthn user
//! handle is the user's object id, so a username-less sign-in finds its user from it.

use cerulean_identity::webauthn::{self, Attestation, Expectations, Registration, WebAuthnError};
use cerulean_store::{Change, FlowRecord, FlowRedemption, ObjectRecord, Op, SecretRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{DirectoryError, DirectoryResult};
use crate::validate::{format_datetime, now};
use crate::{Caller, Directory, audit};

/// The secrets-table kind of a passkey.
pub const PASSKEY_KIND: &str = "fido2";
/// The flow kind of an issued challenge.
const CHALLENGE_KIND: &str = "webauthn_challenge";
/// The flow kind of a passkey's last signature counter.
const COUNTER_KIND: &str = "fido2_counter";
/// How long a challenge may be answered (WebAuthn's recommended ceremony timeout).
pub const CHALLENGE_SECS: i64 = 300;
/// At most this many passkeys per user.
pub const MAX_PASSKEYS: usize = 10;

/// A ceremony a challenge is issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Register,
    SignIn,
}

impl Ceremony {
    fn name(self) -> &'static str {
        match self {
            Ceremony::Register => "create",
            Ceremony::SignIn => "get",
        }
    }
}

/// A passkey of a user, as Graph's `fido2AuthenticationMethod` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    pub id: Uuid,
    /// base64url.
    pub credential_id: String,
    pub display_name: String,
    pub created_date_time: Option<String>,
    pub aaguid: String,
    /// `attested` or `notAttested`.
    pub attestation_level: String,
    /// Base64 DER of the attestation certificates.
    pub attestation_certificates: Vec<String>,
    pub sign_count: u32,
}

/// Why a passkey ceremony was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyRefusal {
    /// The challenge is unknown, used, or not this ceremony's or this form's.
    Challenge,
    /// The challenge was this ceremony's, but its five minutes are over.
    ChallengeExpired,
    /// The user handle names no user of the tenant (a username-less sign-in).
    UnknownUser,
    /// The user handle names another user than the one signing in (the second factor).
    UserMismatch,
    /// No such credential (deleted, or another user's).
    UnknownCredential,
    /// The ceremony's own checks failed.
    Invalid(WebAuthnError),
    /// Smart lockout holds the user's sign-ins from this location (Entra's AADSTS50053): the
    /// assertion was not checked, or was refused and locked the account.
    Locked,
}

/// A verified passkey sign-in: the user and the passkey they used.
#[derive(Debug, Clone)]
pub struct PasskeySignIn {
    pub user: ObjectRecord,
    pub passkey: Passkey,
}

/// A refused passkey sign-in: why, and whom it was for when the assertion named a user of the
/// tenant (for the sign-in log; the user is not authenticated).
#[derive(Debug, Clone)]
pub struct PasskeySignInRefused {
    pub reason: PasskeyRefusal,
    pub user: Option<ObjectRecord>,
}

/// What a sign-in ceremony answered (the fields of `PublicKeyCredential`, decoded).
#[derive(Debug, Clone, Default)]
pub struct AssertionInput {
    pub credential_id: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    pub signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
}

fn passkey_of(s: &SecretRecord) -> Passkey {
    let text = |k: &str| s.meta.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Passkey {
        id: s.key_id,
        credential_id: text("credentialId"),
        display_name: text("displayName"),
        created_date_time: s.meta.get("createdDateTime").and_then(Value::as_str).map(str::to_string),
        aaguid: text("aaGuid"),
        attestation_level: text("attestationLevel"),
        attestation_certificates: s
            .meta
            .get("attestationCertificates")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        sign_count: s.meta.get("signCount").and_then(Value::as_u64).and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
    }
}

impl Directory {
    /// The passkeys of `user`, oldest first.
    pub async fn passkeys(&self, tenant: Uuid, user: Uuid) -> DirectoryResult<Vec<Passkey>> {
        let mut out: Vec<Passkey> =
            self.store.secrets(tenant, user).await?.iter().filter(|s| s.kind == PASSKEY_KIND).map(passkey_of).collect();
        out.sort_by(|a, b| a.created_date_time.cmp(&b.created_date_time).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// A fresh single-use challenge (base64url of 32 random bytes) for `ceremony`, bound to
    /// `binding` (the registering user, or the sign-in form), answerable for five minutes.
    pub async fn new_passkey_challenge(
        &self,
        tenant: Uuid,
        ceremony: Ceremony,
        binding: &str,
    ) -> DirectoryResult<String> {
        let bytes = cerulean_identity::otp::random_bytes(32).map_err(internal)?;
        let challenge = webauthn::b64url(&bytes);
        let now = cerulean_store::clock::now();
        let record = FlowRecord {
            kind: CHALLENGE_KIND.into(),
            key: challenge.clone(),
            lookup: None,
            data: json!({"ceremony": ceremony.name(), "binding": binding}),
            created_at: format_datetime(now),
            expires_at: format_datetime(now + time::Duration::seconds(CHALLENGE_SECS)),
            used_at: None,
        };
        self.store.put_flow(tenant, &record, &format_datetime(now)).await?;
        Ok(challenge)
    }

    /// Spends the challenge `client_data_json` answers: good only the first time, before it
    /// expires, for the ceremony and binding it was issued to.
    async fn take_challenge(
        &self,
        tenant: Uuid,
        client_data_json: &[u8],
        ceremony: Ceremony,
        binding: &str,
    ) -> DirectoryResult<Result<String, PasskeyRefusal>> {
        let Some(challenge) = webauthn::client_data_challenge(client_data_json).filter(|c| c.len() <= 128) else {
            return Ok(Err(PasskeyRefusal::Challenge));
        };
        let FlowRedemption::Redeemed(r) = self.store.redeem_flow(tenant, CHALLENGE_KIND, &challenge, &now()).await?
        else {
            return Ok(Err(PasskeyRefusal::Challenge));
        };
        let fits = r.data.get("ceremony").and_then(Value::as_str) == Some(ceremony.name())
            && r.data.get("binding").and_then(Value::as_str) == Some(binding);
        Ok(match (fits, r.expires_at.as_str() > now().as_str()) {
            (false, _) => Err(PasskeyRefusal::Challenge),
            (true, false) => Err(PasskeyRefusal::ChallengeExpired),
            (true, true) => Ok(challenge),
        })
    }

    /// Verifies a registration answering a challenge issued to `user` and stores the passkey.
    /// `Ok(Err(_))` is a refused ceremony (the page shows why); `Ok(Ok(id))` the new method.
    #[allow(clippy::too_many_arguments)]
    pub async fn register_passkey(
        &self,
        caller: &Caller,
        user: &ObjectRecord,
        client_data_json: &[u8],
        attestation_object: &[u8],
        origin: &str,
        rp_id: &str,
        display_name: &str,
    ) -> DirectoryResult<Result<Uuid, PasskeyRefusal>> {
        let binding = user.id.to_string();
        let challenge = match self.take_challenge(caller.tenant, client_data_json, Ceremony::Register, &binding).await?
        {
            Ok(c) => c,
            Err(r) => return Ok(Err(r)),
        };
        let exp = Expectations { challenge: &challenge, origin, rp_id, require_uv: true };
        let reg: Registration = match webauthn::verify_registration(client_data_json, attestation_object, &exp) {
            Ok(r) => r,
            Err(e) => return Ok(Err(PasskeyRefusal::Invalid(e))),
        };
        let existing = self.passkeys(caller.tenant, user.id).await?;
        let credential_id = webauthn::b64url(&reg.credential_id);
        if existing.iter().any(|p| p.credential_id == credential_id) {
            return Err(DirectoryError::bad_request("This passkey is already registered."));
        }
        if existing.len() >= MAX_PASSKEYS {
            return Err(DirectoryError::bad_request("The user already has the most passkeys allowed."));
        }
        let (level, certs) = match &reg.attestation {
            Attestation::Certificates(c) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD;
                ("attested", c.iter().map(|d| b64.encode(d)).collect::<Vec<_>>())
            }
            Attestation::None | Attestation::SelfAttested => ("notAttested", Vec::new()),
        };
        let name: String = display_name.trim().chars().take(64).collect();
        let id = Uuid::new_v4();
        let secret = SecretRecord {
            owner: user.id,
            kind: PASSKEY_KIND.into(),
            key_id: id,
            hash: webauthn::b64url(&reg.public_key),
            meta: json!({
                "credentialId": credential_id,
                "displayName": if name.is_empty() { "Passkey".to_string() } else { name },
                "createdDateTime": now(),
                "aaGuid": webauthn::aaguid_string(&reg.aaguid),
                "attestationLevel": level,
                "attestationCertificates": certs,
                "signCount": reg.sign_count,
                "alg": reg.alg,
            }),
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
        Ok(Ok(id))
    }

    /// Verifies a sign-in assertion answering a challenge issued to the sign-in form `binding`,
    /// from `ip`, under smart lockout like a password (see [`crate::lockout`]). The user is
    /// `expected` (the second factor after a password) or, username-less, the one the user
    /// handle names. The challenge is spent whatever happens. A user locked out from this
    /// class of location is refused before the assertion is checked; a refused assertion of a
    /// user of the tenant counts as a failed sign-in (the same assertion again counts once),
    /// and a verified one resets the count. On success the counter is stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn verify_passkey_sign_in(
        &self,
        tenant: Uuid,
        expected: Option<Uuid>,
        input: &AssertionInput,
        binding: &str,
        origin: &str,
        rp_id: &str,
        ip: &str,
    ) -> DirectoryResult<Result<PasskeySignIn, PasskeySignInRefused>> {
        let challenge = self.take_challenge(tenant, &input.client_data_json, Ceremony::SignIn, binding).await?;
        let handle_user = input.user_handle.as_deref().and_then(|h| Uuid::from_slice(h).ok());
        let (user_id, mismatch) = match (expected, handle_user) {
            (Some(e), Some(h)) => (Some(e), e != h),
            (Some(e), None) => (Some(e), false),
            (None, h) => (h, false),
        };
        let user = match user_id {
            Some(id) => self.get(tenant, id).await?.filter(|u| u.object_type == "user"),
            None => None,
        };
        let Some(user) = user else {
            return Ok(Err(PasskeySignInRefused { reason: PasskeyRefusal::UnknownUser, user: None }));
        };
        let class = self.location_class(tenant, user.id, ip).await?;
        if self.is_locked(tenant, user.id, class).await? {
            return Ok(Err(PasskeySignInRefused { reason: PasskeyRefusal::Locked, user: Some(user) }));
        }
        // What makes this attempt the same as an earlier one (a replay counts once).
        let attempt = format!("fido:{}:{}", webauthn::b64url(&input.credential_id), webauthn::b64url(&input.signature));
        let attempt: String = attempt.chars().take(512).collect();
        let refused = async |reason: PasskeyRefusal, user: ObjectRecord| -> DirectoryResult<_> {
            let locked = self.count_failure(tenant, user.id, class, &attempt).await?;
            let reason = if locked { PasskeyRefusal::Locked } else { reason };
            Ok(Err(PasskeySignInRefused { reason, user: Some(user) }))
        };
        let challenge = match challenge {
            Ok(c) => c,
            Err(r) => return refused(r, user).await,
        };
        if mismatch {
            return refused(PasskeyRefusal::UserMismatch, user).await;
        }
        let credential_id = webauthn::b64url(&input.credential_id);
        let secrets = self.store.secrets(tenant, user.id).await?;
        let Some(stored) = secrets.iter().find(|s| {
            s.kind == PASSKEY_KIND && s.meta.get("credentialId").and_then(Value::as_str) == Some(&credential_id)
        }) else {
            return refused(PasskeyRefusal::UnknownCredential, user).await;
        };
        let key = webauthn::from_b64url(&stored.hash).ok_or_else(|| internal("bad stored passkey"))?;
        let exp = Expectations { challenge: &challenge, origin, rp_id, require_uv: true };
        let count = self.current_count(tenant, stored).await?;
        let verified = match webauthn::verify_assertion(
            &input.client_data_json,
            &input.authenticator_data,
            &input.signature,
            &key,
            count,
            &exp,
        ) {
            Ok(a) => a,
            Err(e) => {
                if e == WebAuthnError::SignCount {
                    tracing::warn!(%tenant, user = %user.id, method = %stored.key_id, "passkey counter regressed: possible clone");
                }
                return refused(PasskeyRefusal::Invalid(e), user).await;
            }
        };
        self.store_count(tenant, stored.key_id, verified.sign_count).await?;
        self.reset_failures(tenant, user.id, class).await?;
        Ok(Ok(PasskeySignIn { passkey: passkey_of(stored), user }))
    }

    /// The signature counter of a passkey: the last one seen at sign-in, else the registration's.
    async fn current_count(&self, tenant: Uuid, stored: &SecretRecord) -> DirectoryResult<u32> {
        let seen = self.store.flow(tenant, COUNTER_KIND, &stored.key_id.to_string()).await?;
        let seen = seen.and_then(|r| r.data.get("signCount").and_then(Value::as_u64));
        Ok(seen.and_then(|c| u32::try_from(c).ok()).unwrap_or(passkey_of(stored).sign_count))
    }

    /// Records the counter of a sign-in. Kept in a flow record rather than the method's secret
    /// record, so a sign-in is not a directory change (no audit record, no change-log entry).
    async fn store_count(&self, tenant: Uuid, method: Uuid, count: u32) -> DirectoryResult<()> {
        let key = method.to_string();
        let data = json!({"signCount": count, "lastUsedDateTime": now()});
        if self.store.update_flow(tenant, COUNTER_KIND, &key, &data).await? {
            return Ok(());
        }
        let now_t = cerulean_store::clock::now();
        let record = FlowRecord {
            kind: COUNTER_KIND.into(),
            key,
            lookup: None,
            data,
            created_at: format_datetime(now_t),
            // As long as the method lives (deleting it makes the record unreachable).
            expires_at: format_datetime(now_t + time::Duration::days(365 * 100)),
            used_at: None,
        };
        self.store.put_flow(tenant, &record, &format_datetime(now_t)).await?;
        Ok(())
    }

    /// Deletes one passkey of the user named `key`.
    pub async fn delete_passkey(&self, caller: &Caller, key: &str, method: &str) -> DirectoryResult<()> {
        self.delete_method(caller, key, method, PASSKEY_KIND).await
    }
}

fn internal(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Internal(e.to_string())
}
