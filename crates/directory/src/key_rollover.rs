//! `addKey` and `removeKey` on applications and service principals: an application rolls its
//! own certificates, without an administrator, by proving it holds one of its current keys
//! (the `proof` JWT, see [`cerulean_identity::proof`]).
//!
//! Graph's rules ("application: addKey", "application: removeKey"): the new `keyCredential`
//! needs `type`, `usage` and `key`, either `AsymmetricX509Cert` with usage `Verify` or
//! `X509CertAndPassword` with usage `Sign`; the latter comes with a `passwordCredential`
//! whose `secretText` is the key's password (`null` otherwise). An object with no current
//! certificate cannot sign a proof, so it cannot use these actions (PATCH `keyCredentials`
//! instead). A proof that fails any check is Graph's 401 `Authentication_MissingOrMalformed`.
//!
//! The password of an `X509CertAndPassword` key is required as Graph requires it, but not
//! kept: Cerulean never signs with an application's keys, and a password nobody reads is
//! only a liability.

use cerulean_store::{Change, ObjectRecord, Op, SecretRecord, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::applications::{application_claims, check_key_credentials, service_principal_claims};
use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::validate::now;
use crate::{Caller, Directory};

/// Graph's answer to a proof that is missing its signature, audience, issuer or lifetime.
fn proof_refused(why: &cerulean_identity::proof::ProofError) -> DirectoryError {
    tracing::info!(reason = %why, "addKey/removeKey proof refused");
    DirectoryError::Unauthorized {
        code: "Authentication_MissingOrMalformed",
        message: "Access Token missing or malformed.".into(),
    }
}

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn only_params(body: &Map<String, Value>, allowed: &[&str], action: &str) -> DirectoryResult<()> {
    match body.keys().find(|k| !allowed.iter().any(|a| a.eq_ignore_ascii_case(k))) {
        Some(k) => Err(DirectoryError::bad_request(format!(
            "The parameter '{k}' in the request payload is not a valid parameter for the operation '{action}'."
        ))),
        None => Ok(()),
    }
}

fn required_text<'a>(body: &'a Map<String, Value>, name: &str) -> DirectoryResult<&'a str> {
    match field(body, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(DirectoryError::bad_request(format!("Invalid value specified for property '{name}'."))),
        None => Err(DirectoryError::bad_request(format!("Property {name} value is required but is empty or missing."))),
    }
}

/// The graph type name and the uniqueness claims of the two object types that hold keys.
fn claims_of(object: &ObjectRecord) -> Vec<(String, String)> {
    if object.object_type == "servicePrincipal" {
        service_principal_claims(&object.doc)
    } else {
        application_claims(&object.doc)
    }
}

fn activity(object: &ObjectRecord) -> &'static str {
    if object.object_type == "servicePrincipal" {
        "Update service principal"
    } else {
        "Update application – Certificates and secrets management "
    }
}

impl Directory {
    async fn key_holder(&self, tenant: Uuid, object_type: &str, key: &str) -> DirectoryResult<ObjectRecord> {
        if object_type == "servicePrincipal" {
            self.find_service_principal(tenant, key).await
        } else {
            self.find_application(tenant, key).await
        }
    }

    /// Checks `proof` against the certificates of `object` that are valid now.
    async fn check_proof(&self, tenant: Uuid, object: &ObjectRecord, proof: &str) -> DirectoryResult<()> {
        use base64::Engine;
        let at = now();
        let listed: Vec<&Value> =
            object.doc.get("keyCredentials").and_then(Value::as_array).into_iter().flatten().collect();
        let current = |key_id: Uuid| {
            listed.iter().any(|k| {
                let date = |n: &str| k.get(n).and_then(Value::as_str);
                k.get("keyId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()) == Some(key_id)
                    && date("startDateTime").is_none_or(|s| s <= at.as_str())
                    && date("endDateTime").is_none_or(|e| e > at.as_str())
            })
        };
        let certificates: Vec<Vec<u8>> = self
            .store
            .secrets(tenant, object.id)
            .await?
            .into_iter()
            .filter(|s| s.kind == "certificate" && current(s.key_id))
            .filter_map(|s| base64::engine::general_purpose::STANDARD.decode(s.hash.strip_prefix("der:")?).ok())
            .collect();
        cerulean_identity::proof::verify_proof(
            proof,
            &object.id.to_string(),
            &certificates,
            cerulean_identity::unix_now(),
        )
        .map_err(|e| proof_refused(&e))
    }

    /// `POST /applications/{id}/addKey` (and on service principals): the new key's
    /// `keyCredential` as stored (`key` not echoed).
    pub async fn add_key(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<Map<String, Value>> {
        only_params(body, &["keyCredential", "passwordCredential", "proof"], "addKey")?;
        let credential = match field(body, "keyCredential") {
            Some(Value::Object(o)) => o.clone(),
            Some(_) => {
                return Err(DirectoryError::bad_request("Invalid value specified for property 'keyCredential'."));
            }
            None => {
                return Err(DirectoryError::bad_request(
                    "Property keyCredential value is required but is empty or missing.",
                ));
            }
        };
        let text = |n: &str| credential.get(n).and_then(Value::as_str).unwrap_or_default();
        let bad = |p: &str| {
            DirectoryError::bad_request(format!(
                "Invalid value specified for property '{p}' of resource 'KeyCredential'."
            ))
        };
        match (text("type"), text("usage")) {
            ("AsymmetricX509Cert", "Verify") | ("X509CertAndPassword", "Sign") => {}
            ("AsymmetricX509Cert" | "X509CertAndPassword", _) => return Err(bad("usage")),
            _ => return Err(bad("type")),
        }
        let password = field(body, "passwordCredential");
        if text("type") == "X509CertAndPassword" {
            let secret = password.and_then(|p| p.get("secretText")).and_then(Value::as_str).unwrap_or_default();
            if secret.is_empty() {
                return Err(DirectoryError::bad_request(
                    "Property passwordCredential.secretText value is required but is empty or missing.",
                ));
            }
        } else if password.is_some() {
            return Err(DirectoryError::bad_request(
                "Invalid value specified for property 'passwordCredential': it must be null for a key of type 'AsymmetricX509Cert'.",
            ));
        }
        let proof = required_text(body, "proof")?;
        let (checked, certificates) = check_key_credentials(&json!([credential]))?;
        let (Some(Value::Object(stored)), Some((key_id, der))) =
            (checked.as_array().and_then(|a| a.first()).cloned(), certificates.first().cloned())
        else {
            return Err(bad("key"));
        };
        for _ in 0..WRITE_RETRIES {
            let current = self.key_holder(caller.tenant, object_type, key).await?;
            self.check_proof(caller.tenant, &current, proof).await?;
            let mut doc = current.doc.clone();
            let mut list: Vec<Value> = doc.get("keyCredentials").and_then(Value::as_array).cloned().unwrap_or_default();
            if list.iter().any(|k| k.get("keyId").and_then(Value::as_str) == Some(&key_id.to_string())) {
                return Err(DirectoryError::bad_request(format!(
                    "A key credential with keyId {key_id} already exists."
                )));
            }
            list.push(Value::Object(stored.clone()));
            doc.insert("keyCredentials".into(), Value::Array(list));
            let change = Change {
                ops: vec![
                    Op::Update {
                        id: current.id,
                        expected_version: current.version,
                        doc: doc.clone(),
                        unique: claims_of(&ObjectRecord { doc: doc.clone(), ..current.clone() }),
                    },
                    Op::PutSecret(SecretRecord {
                        owner: current.id,
                        kind: "certificate".into(),
                        key_id,
                        hash: format!("der:{der}"),
                        meta: json!({}),
                    }),
                ],
                audit: audit::record(
                    caller,
                    activity(&current),
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => return Ok(stored),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The object was modified concurrently; retry the request.".into()))
    }

    /// `POST /applications/{id}/removeKey` (and on service principals): the key stops being
    /// accepted at once.
    pub async fn remove_key(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        only_params(body, &["keyId", "proof"], "removeKey")?;
        let key_id = Uuid::parse_str(required_text(body, "keyId")?)
            .map_err(|_| DirectoryError::bad_request("Invalid value specified for property 'keyId'."))?;
        let proof = required_text(body, "proof")?;
        for _ in 0..WRITE_RETRIES {
            let current = self.key_holder(caller.tenant, object_type, key).await?;
            self.check_proof(caller.tenant, &current, proof).await?;
            let mut doc = current.doc.clone();
            let list: Vec<Value> = doc.get("keyCredentials").and_then(Value::as_array).cloned().unwrap_or_default();
            let kept: Vec<Value> = list
                .iter()
                .filter(|c| {
                    c.get("keyId").and_then(Value::as_str).and_then(|k| Uuid::parse_str(k).ok()) != Some(key_id)
                })
                .cloned()
                .collect();
            if kept.len() == list.len() {
                return Err(DirectoryError::bad_request(format!("No key credential found with keyId {key_id}.")));
            }
            doc.insert("keyCredentials".into(), Value::Array(kept));
            let mut ops = vec![Op::Update {
                id: current.id,
                expected_version: current.version,
                doc: doc.clone(),
                unique: claims_of(&ObjectRecord { doc: doc.clone(), ..current.clone() }),
            }];
            let stored = self.store.secrets(caller.tenant, current.id).await?;
            if stored.iter().any(|s| s.kind == "certificate" && s.key_id == key_id) {
                ops.push(Op::DeleteSecret { owner: current.id, key_id });
            }
            let change = Change {
                ops,
                audit: audit::record(
                    caller,
                    activity(&current),
                    "ApplicationManagement",
                    "Update",
                    vec![audit::target(&current, Some(&current.doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The object was modified concurrently; retry the request.".into()))
    }
}
