//! A certificate client assertion as MSAL for Python and azure-identity send it with a
//! SHA-256 thumbprint: `alg: PS256` (RSASSA-PSS) and `x5t#S256` in the header, no `x5t`.
//! (`user_tokens.rs` covers RS256 with `x5t`.) A PS256 signature by another key under the
//! same header, and an unknown `x5t#S256`, are refused with Entra's codes.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA key and its self-signed certificate (Cerulean's own key generator); request
/// objects (`request_object.rs`) are signed with it too.
pub(crate) struct Cert {
    pkcs8: Vec<u8>,
    pub(crate) der: Vec<u8>,
}

pub(crate) fn new_cert() -> Cert {
    let record = cerulean_identity::generate_signing_key().expect("key");
    let key = cerulean_identity::SigningKey::from_record(&record).expect("parse");
    Cert { pkcs8: record.private_pkcs8.clone(), der: key.certificate_der().to_vec() }
}

impl Cert {
    pub(crate) fn x5t_s256(&self) -> String {
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der).as_ref())
    }

    /// A PS256 JWT of `claims` under `header`.
    pub(crate) fn sign_ps256(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&self.pkcs8).expect("pkcs8");
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &aws_lc_rs::signature::RSA_PSS_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("sign");
        format!("{input}.{}", b64(&sig))
    }
}

async fn cert_app(h: &Harness, cert: &Cert) -> String {
    let r = h.post("/v1.0/applications", json!({"displayName": "PSS app"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let key = base64::engine::general_purpose::STANDARD.encode(&cert.der);
    let patch = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": key}]});
    let p = h.patch(&format!("/v1.0/applications/{}", id_of(&r.json)), patch).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{}", p.text);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    app_id
}

fn claims(h: &Harness, app_id: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "aud": format!("{PUBLIC_URL}/{}/oauth2/v2.0/token", h.boot.tenant_id),
        "iss": app_id, "sub": app_id, "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now, "exp": now + 600,
    })
}

async fn with_assertion(h: &Harness, client_id: &str, assertion: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
        None,
    )
    .await
}

fn assert_oauth(r: &Reply, status: u16, error: &str, code: u64) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.json["error"], error, "{}", r.text);
    assert_eq!(r.json["error_codes"][0], code, "{}", r.text);
}

#[tokio::test]
async fn ps256_assertion_with_x5t_s256_authenticates_the_app() {
    let h = Harness::new().await;
    let cert = new_cert();
    let app_id = cert_app(&h, &cert).await;
    let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()});
    let r = with_assertion(&h, &app_id, &cert.sign_ps256(&header, &claims(&h, &app_id))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().expect("access_token");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).expect("payload"));
    let payload: Value = serde_json::from_slice(&payload.expect("base64url")).expect("json");
    assert_eq!(payload["appid"], app_id);
    assert_eq!(payload["appidacr"], "2", "authenticated by certificate");

    // Another key's PS256 signature under this certificate's thumbprint.
    let other = new_cert();
    let forged = other.sign_ps256(&header, &claims(&h, &app_id));
    let r = with_assertion(&h, &app_id, &forged).await;
    assert_oauth(&r, 401, "invalid_client", 700027);
    // A thumbprint of a certificate the app does not have.
    let unknown = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": other.x5t_s256()});
    let r = with_assertion(&h, &app_id, &other.sign_ps256(&unknown, &claims(&h, &app_id))).await;
    assert_oauth(&r, 401, "invalid_client", 700027);
    // A PSS signature presented as RS256 does not verify either.
    let as_rs256 = json!({"alg": "RS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()});
    let r = with_assertion(&h, &app_id, &cert.sign_ps256(&as_rs256, &claims(&h, &app_id))).await;
    assert_oauth(&r, 401, "invalid_client", 700027);
}
