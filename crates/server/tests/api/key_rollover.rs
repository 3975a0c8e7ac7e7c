//! `addKey` / `removeKey` on applications and service principals: the proof of possession
//! (a JWT signed by one of the object's current certificates, `aud` Azure AD Graph, `iss` the
//! object id, at most ten minutes of lifetime) and the key credentials they add and remove.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

const PROOF_AUD: &str = "00000002-0000-0000-c000-000000000000";

/// A real self-signed X.509 certificate with its RSA key.
struct Cert {
    der_b64: String,
    signer: cerulean_identity::Signer,
}

fn cert() -> Cert {
    let record = cerulean_identity::generate_signing_key().expect("key");
    let key = Arc::new(cerulean_identity::SigningKey::from_record(&record).expect("parse"));
    let der_b64 = base64::engine::general_purpose::STANDARD.encode(key.certificate_der());
    Cert { der_b64, signer: cerulean_identity::Signer::new(key) }
}

impl Cert {
    fn credential(&self) -> Value {
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": self.der_b64, "displayName": "CN=rolled"})
    }

    /// A proof for `object_id`, valid for ten minutes from now, after `tweak`.
    fn proof(&self, object_id: &str, tweak: impl FnOnce(&mut Map<String, Value>)) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut c = json!({"aud": PROOF_AUD, "iss": object_id, "nbf": now, "exp": now + 600})
            .as_object()
            .cloned()
            .expect("claims");
        tweak(&mut c);
        self.signer.sign(&c, cerulean_identity::HeaderStyle::KidAndX5t).expect("sign")
    }
}

/// An application with certificate `first` (by PATCH) and its service principal.
async fn app_with(h: &Harness, first: &Cert) -> (String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": "Rolling app"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (oid, app_id) = (id_of(&r.json), r.json["appId"].as_str().expect("appId").to_string());
    let p = h.patch(&format!("/v1.0/applications/{oid}"), json!({"keyCredentials": [first.credential()]})).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{}", p.text);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    (oid, app_id)
}

/// A client-credentials request authenticated with a certificate assertion.
async fn token_with(h: &Harness, app_id: &str, cert: &Cert) -> Reply {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "aud": format!("{PUBLIC_URL}/{}/oauth2/v2.0/token", h.boot.tenant_id),
        "iss": app_id, "sub": app_id, "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "exp": now + 600,
    });
    let assertion =
        cert.signer.sign(claims.as_object().expect("claims"), cerulean_identity::HeaderStyle::KidAndX5t).expect("sign");
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
        None,
    )
    .await
}

fn assert_refused(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.code(), "Authentication_MissingOrMalformed", "{}", r.text);
    assert_eq!(r.message(), "Access Token missing or malformed.");
}

#[tokio::test]
async fn add_key_with_proof_then_remove_the_old_key() {
    let h = Harness::new().await;
    let (first, second) = (cert(), cert());
    let (oid, app_id) = app_with(&h, &first).await;

    // The new certificate cannot sign in yet.
    assert_eq!(token_with(&h, &app_id, &second).await.status, StatusCode::UNAUTHORIZED);

    let body =
        json!({"keyCredential": second.credential(), "passwordCredential": null, "proof": first.proof(&oid, |_| {})});
    let r = h.post(&format!("/v1.0/applications/{oid}/addKey"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["@odata.context"].as_str().is_some_and(|c| c.ends_with("$metadata#microsoft.graph.keyCredential")));
    assert_eq!(r.json["type"], "AsymmetricX509Cert");
    assert_eq!(r.json["usage"], "Verify");
    assert_eq!(r.json["displayName"], "CN=rolled");
    assert!(r.json["key"].is_null(), "the key is not echoed");
    assert!(r.json["customKeyIdentifier"].as_str().is_some_and(|k| !k.is_empty()));
    let new_key_id = r.json["keyId"].as_str().expect("keyId").to_string();

    let app = h.get(&format!("/v1.0/applications/{oid}")).await;
    let keys = app.json["keyCredentials"].as_array().expect("keys");
    assert_eq!(keys.len(), 2, "{}", app.text);
    let old_key_id = keys.iter().find(|k| k["keyId"] != new_key_id.as_str()).expect("old")["keyId"]
        .as_str()
        .expect("keyId")
        .to_string();

    // Both certificates now authenticate the application.
    assert_eq!(token_with(&h, &app_id, &second).await.status, StatusCode::OK);
    assert_eq!(token_with(&h, &app_id, &first).await.status, StatusCode::OK);

    // The new key proves possession to remove the old one (addressed by appId this time).
    let body = json!({"keyId": old_key_id, "proof": second.proof(&oid, |_| {})});
    let r = h.post(&format!("/v1.0/applications(appId='{app_id}')/removeKey"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let app = h.get(&format!("/v1.0/applications/{oid}")).await;
    assert_eq!(app.json["keyCredentials"].as_array().map(Vec::len), Some(1), "{}", app.text);
    assert_eq!(app.json["keyCredentials"][0]["keyId"], new_key_id.as_str());
    assert_eq!(token_with(&h, &app_id, &first).await.status, StatusCode::UNAUTHORIZED, "removed key still works");
    assert_eq!(token_with(&h, &app_id, &second).await.status, StatusCode::OK);

    // The removed key can no longer prove anything.
    let third = cert();
    let body = json!({"keyCredential": third.credential(), "proof": first.proof(&oid, |_| {})});
    assert_refused(&h.post(&format!("/v1.0/applications/{oid}/addKey"), body).await);

    // An unknown keyId.
    let body = json!({"keyId": uuid::Uuid::new_v4().to_string(), "proof": second.proof(&oid, |_| {})});
    let r = h.post(&format!("/v1.0/applications/{oid}/removeKey"), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().starts_with("No key credential found with keyId"), "{}", r.text);

    // Audit: the rollover is recorded.
    let audits = h.get("/v1.0/auditLogs/directoryAudits").await;
    assert!(audits.text.contains("Certificates and secrets management"), "{}", audits.text);
}

#[tokio::test]
async fn proofs_that_fail_are_refused() {
    let h = Harness::new().await;
    let (first, stranger) = (cert(), cert());
    let (oid, app_id) = app_with(&h, &first).await;
    let path = format!("/v1.0/applications/{oid}/addKey");
    let add = |proof: String| json!({"keyCredential": stranger.credential(), "proof": proof});
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // Wrong audience (Microsoft Graph's id instead of Azure AD Graph's).
    assert_refused(
        &h.post(
            &path,
            add(first.proof(&oid, |c| {
                c.insert("aud".into(), json!("00000003-0000-0000-c000-000000000000"));
            })),
        )
        .await,
    );
    // `iss` must be the object id, not the appId.
    assert_refused(&h.post(&path, add(first.proof(&app_id, |_| {}))).await);
    // Longer than ten minutes.
    assert_refused(
        &h.post(
            &path,
            add(first.proof(&oid, |c| {
                c.insert("exp".into(), json!(now + 1200));
            })),
        )
        .await,
    );
    // No nbf.
    assert_refused(
        &h.post(
            &path,
            add(first.proof(&oid, |c| {
                c.remove("nbf");
            })),
        )
        .await,
    );
    // Expired.
    assert_refused(
        &h.post(
            &path,
            add(first.proof(&oid, |c| {
                c.insert("nbf".into(), json!(now - 3600));
                c.insert("exp".into(), json!(now - 3000));
            })),
        )
        .await,
    );
    // Signed by a certificate the application does not hold.
    assert_refused(&h.post(&path, add(stranger.proof(&oid, |_| {}))).await);
    // Tampered claims: the signature no longer verifies.
    let good = first.proof(&oid, |_| {});
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let forged = json!({"aud": PROOF_AUD, "iss": oid, "nbf": now, "exp": now + 60}).to_string();
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
    assert_refused(&h.post(&path, add(parts.join("."))).await);
    // alg none, unsigned.
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    assert_refused(&h.post(&path, add(format!("{header}.{}.", parts[1]))).await);
    // Not a JWT at all.
    assert_refused(&h.post(&path, add("not-a-jwt".into())).await);
    // A proof for another application does not work here.
    let (other_oid, _) = app_with(&h, &stranger).await;
    assert_refused(&h.post(&path, add(stranger.proof(&other_oid, |_| {}))).await);

    // Nothing was added by any of these.
    let app = h.get(&format!("/v1.0/applications/{oid}")).await;
    assert_eq!(app.json["keyCredentials"].as_array().map(Vec::len), Some(1), "{}", app.text);

    // An application without a certificate cannot use addKey at all.
    let r = h.post("/v1.0/applications", json!({"displayName": "No certs"})).await;
    let bare = id_of(&r.json);
    assert_refused(&h.post(&format!("/v1.0/applications/{bare}/addKey"), add(first.proof(&bare, |_| {}))).await);
}

#[tokio::test]
async fn add_key_validates_the_body() {
    let h = Harness::new().await;
    let (first, second) = (cert(), cert());
    let (oid, _) = app_with(&h, &first).await;
    let path = format!("/v1.0/applications/{oid}/addKey");
    let proof = first.proof(&oid, |_| {});
    let bad = |r: &Reply, fragment: &str| {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.code(), "Request_BadRequest", "{}", r.text);
        assert!(r.message().contains(fragment), "{fragment}: {}", r.text);
    };

    bad(&h.post(&path, json!({"keyCredential": second.credential()})).await, "proof");
    bad(&h.post(&path, json!({"proof": proof})).await, "keyCredential");
    let mut sign = second.credential();
    sign["usage"] = json!("Sign");
    bad(&h.post(&path, json!({"keyCredential": sign, "proof": proof})).await, "'usage'");
    let mut weird = second.credential();
    weird["type"] = json!("Symmetric");
    bad(&h.post(&path, json!({"keyCredential": weird, "proof": proof})).await, "'type'");
    let mut not_cert = second.credential();
    not_cert["key"] = json!("bm9wZQ==");
    bad(&h.post(&path, json!({"keyCredential": not_cert, "proof": proof})).await, "certificate");
    // X509CertAndPassword (usage Sign) needs the key's password.
    let pfx = json!({"type": "X509CertAndPassword", "usage": "Sign", "key": second.der_b64});
    bad(&h.post(&path, json!({"keyCredential": pfx, "proof": proof})).await, "passwordCredential.secretText");
    bad(
        &h.post(
            &path,
            json!({"keyCredential": second.credential(), "passwordCredential": {"secretText": "x"}, "proof": proof}),
        )
        .await,
        "passwordCredential",
    );
    bad(&h.post(&path, json!({"keyCredential": second.credential(), "proof": proof, "extra": 1})).await, "'extra'");
    let r = h
        .post(
            &path,
            json!({"keyCredential": pfx, "passwordCredential": {"secretText": "pfx-password"}, "proof": proof}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["type"], "X509CertAndPassword");
    assert_eq!(r.json["usage"], "Sign");
    assert!(!r.text.contains("pfx-password"), "the password is never echoed");

    let rm = format!("/v1.0/applications/{oid}/removeKey");
    bad(&h.post(&rm, json!({"proof": proof})).await, "keyId");
    bad(&h.post(&rm, json!({"keyId": "nope", "proof": proof})).await, "keyId");
    bad(&h.post(&rm, json!({"keyId": uuid::Uuid::new_v4().to_string()})).await, "proof");

    let r = h
        .post(
            &format!("/v1.0/applications/{}/addKey", uuid::Uuid::new_v4()),
            json!({"keyCredential": second.credential(), "proof": proof}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn service_principal_keys_roll_the_same_way() {
    let h = Harness::new().await;
    let (first, second) = (cert(), cert());
    let (_, app_id) = app_with(&h, &cert()).await;
    let sp = h.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await;
    let sp_id = id_of(&sp.json);
    let p = h.patch(&format!("/v1.0/servicePrincipals/{sp_id}"), json!({"keyCredentials": [first.credential()]})).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{}", p.text);
    let sp = h.get(&format!("/v1.0/servicePrincipals/{sp_id}")).await;
    assert!(sp.json["keyCredentials"][0]["key"].is_null(), "{}", sp.text);

    // The application's id is not the service principal's.
    let path = format!("/v1.0/servicePrincipals/{sp_id}/addKey");
    let app_oid = id_of(&h.get(&format!("/v1.0/applications(appId='{app_id}')")).await.json);
    assert_refused(
        &h.post(&path, json!({"keyCredential": second.credential(), "proof": first.proof(&app_oid, |_| {})})).await,
    );

    let r = h.post(&path, json!({"keyCredential": second.credential(), "proof": first.proof(&sp_id, |_| {})})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new_key = r.json["keyId"].as_str().expect("keyId").to_string();
    let sp = h.get(&format!("/v1.0/servicePrincipals/{sp_id}")).await;
    assert_eq!(sp.json["keyCredentials"].as_array().map(Vec::len), Some(2), "{}", sp.text);

    let r = h
        .post(
            &format!("/v1.0/servicePrincipals/{sp_id}/removeKey"),
            json!({"keyId": new_key, "proof": second.proof(&sp_id, |_| {})}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let sp = h.get(&format!("/v1.0/servicePrincipals/{sp_id}")).await;
    assert_eq!(sp.json["keyCredentials"].as_array().map(Vec::len), Some(1), "{}", sp.text);
}

#[tokio::test]
async fn add_key_needs_a_permission_unless_the_app_rolls_its_own() {
    let h = Harness::new().await;
    let first = cert();
    let (oid, _) = app_with(&h, &first).await;
    let body = json!({"keyCredential": cert().credential(), "proof": first.proof(&oid, |_| {})});
    for path in [format!("/v1.0/applications/{oid}/addKey"), format!("/v1.0/applications/{oid}/removeKey")] {
        let weak = h.sign(h.claims(&["Application.Read.All"])).await;
        let r = h.graph_with(Method::POST, &path, Some(body.clone()), &weak, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert_eq!(r.code(), "Authorization_RequestDenied");
    }
    // An application rolls its own keys without any permission (its token has no roles),
    // but not another application's.
    let (second, third) = (cert(), cert());
    let (other_oid, _) = app_with(&h, &second).await;
    let own = h.get(&format!("/v1.0/applications/{oid}")).await.json["appId"].as_str().expect("appId").to_string();
    let t = token_with(&h, &own, &first).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let own_token = t.json["access_token"].as_str().expect("access_token").to_string();
    let mine = json!({"keyCredential": third.credential(), "proof": first.proof(&oid, |_| {})});
    let r = h
        .graph_with(Method::POST, &format!("/v1.0/applications(appId='{own}')/addKey"), Some(mine), &own_token, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let theirs = json!({"keyCredential": third.credential(), "proof": second.proof(&other_oid, |_| {})});
    let r = h
        .graph_with(Method::POST, &format!("/v1.0/applications/{other_oid}/addKey"), Some(theirs), &own_token, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h.graph_with(Method::GET, &format!("/v1.0/applications/{oid}"), None, &own_token, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the key actions are open to the app itself");

    let strong = h.sign(h.claims(&["Application.ReadWrite.All"])).await;
    let r = h.graph_with(Method::POST, &format!("/v1.0/applications/{oid}/addKey"), Some(body), &strong, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
