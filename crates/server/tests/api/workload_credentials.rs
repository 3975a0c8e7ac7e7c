//! Service principal detections against the kind of credential and the key used: each
//! client-credentials sign-in records `clientCredentialType` and
//! `servicePrincipalCredentialKeyId` (beta's `signIn`), `suspiciousSignins` compares the
//! credential type with the service principal's history beside its hosting (address,
//! network, country), client and resource, and a detection's `keyIds` names the key used.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use serde_json::{Value, json};

use crate::client_assertion_pss::{Cert, new_cert};
use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

/// An application with a certificate and a client secret, and its service principal:
/// (appId, the certificate's keyId, the secret's keyId, the secret).
async fn app_with_two_credentials(h: &Harness, cert: &Cert) -> (String, String, String, String) {
    let r = h.post("/v1.0/applications", json!({"displayName": "Two keys"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (id, app_id) = (id_of(&r.json), r.json["appId"].as_str().expect("appId").to_string());
    let key = base64::engine::general_purpose::STANDARD.encode(&cert.der);
    let patch = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": key}]});
    assert_eq!(h.patch(&format!("/v1.0/applications/{id}"), patch).await.status, StatusCode::NO_CONTENT);
    let secret = h.post(&format!("/v1.0/applications/{id}/addPassword"), json!({"passwordCredential": {}})).await;
    assert_eq!(secret.status, StatusCode::OK, "{}", secret.text);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    let app = h.get(&format!("/v1.0/applications/{id}")).await;
    let cert_key = app.json["keyCredentials"][0]["keyId"].as_str().expect("cert keyId").to_string();
    let secret_key = secret.json["keyId"].as_str().expect("secret keyId").to_string();
    (app_id, cert_key, secret_key, secret.json["secretText"].as_str().expect("secretText").to_string())
}

fn with_cert(a: &str) -> [(&'static str, &str); 2] {
    [("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", a)]
}

fn assertion(h: &Harness, cert: &Cert, app_id: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "aud": format!("{PUBLIC_URL}/{}/oauth2/v2.0/token", h.boot.tenant_id),
        "iss": app_id, "sub": app_id, "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now, "exp": now + 600,
    });
    cert.sign_ps256(&json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()}), &claims)
}

/// A client-credentials sign-in from `client` (via the trusted proxy) with `credential` fields.
async fn sign_in(h: &Harness, app_id: &str, credential: &[(&str, &str)], client: &str, agent: &str, id: &str) -> Reply {
    let mut fields = vec![
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    fields.extend_from_slice(credential);
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{}/oauth2/v2.0/token", h.boot.tenant_id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client)
        .header("user-agent", agent)
        .header("client-request-id", id)
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    req.extensions_mut().insert(ConnectInfo("10.0.0.1:443".parse::<SocketAddr>().expect("peer")));
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r
}

async fn row(h: &Harness, correlation: &str) -> Value {
    // Graph lists app sign-ins only when the filter names their event type.
    let filter = format!("correlationId eq '{correlation}' and signInEventTypes/any(t: t eq 'servicePrincipal')");
    let r =
        h.get(&format!("/beta/auditLogs/signIns?$filter={}", filter.replace(' ', "%20").replace('\'', "%27"))).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{correlation}: {}", r.text);
    r.json["value"][0].clone()
}

async fn detections(h: &Harness) -> Vec<Value> {
    let r = h.get("/v1.0/identityProtection/servicePrincipalRiskDetections").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().expect("value").clone()
}

#[tokio::test]
async fn a_secret_where_a_certificate_was_always_used_is_suspicious_and_named_by_key() {
    let h = crate::identity_protection::proxied_harness(cerulean_identity::risk::RiskConfig::default()).await;
    let cert = new_cert();
    let (app_id, cert_key, secret_key, secret) = app_with_two_credentials(&h, &cert).await;
    for i in 0..5 {
        let a = assertion(&h, &cert, &app_id);
        sign_in(&h, &app_id, &with_cert(&a), "198.51.100.7", "azsdk-python-identity/1.15", &format!("c{i}")).await;
    }
    // Each sign-in says which credential it proved (beta), v1.0 does not show it.
    let c0 = row(&h, "c0").await;
    assert_eq!(
        (&c0["clientCredentialType"], &c0["servicePrincipalCredentialKeyId"]),
        (&json!("certificate"), &json!(cert_key))
    );
    let v1 = h.get(&format!("/v1.0/auditLogs/signIns/{}", c0["id"].as_str().expect("id"))).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    assert!(v1.json.get("clientCredentialType").is_none(), "{}", v1.text);

    // The certificate from a new address with a new client: two unseen properties, nothing.
    let a = assertion(&h, &cert, &app_id);
    sign_in(&h, &app_id, &with_cert(&a), "198.51.100.8", "curl/8.4.0", "cert-new").await;
    assert!(detections(&h).await.is_empty());

    // The secret from another new address with another new client: the credential type is
    // the third unseen property.
    sign_in(&h, &app_id, &[("client_secret", &secret)], "198.51.100.9", "Go-http-client/2.0", "secret").await;
    let found = detections(&h).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let d = &found[0];
    assert_eq!((&d["riskEventType"], &d["riskLevel"]), (&json!("suspiciousSignins"), &json!("medium")), "{d}");
    assert_eq!(d["keyIds"], json!([secret_key]), "the key used: {d}");
    let info: Value = serde_json::from_str(d["additionalInfo"].as_str().expect("info")).expect("json");
    assert!(info.to_string().contains("credential type clientSecret not used before"), "{info}");
    let s = row(&h, "secret").await;
    assert_eq!(
        (&s["clientCredentialType"], &s["servicePrincipalCredentialKeyId"]),
        (&json!("clientSecret"), &json!(secret_key))
    );
    assert_eq!(s["riskEventTypes_v2"], json!(["suspiciousSignins"]));
}
