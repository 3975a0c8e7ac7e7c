//! Forged access tokens over HTTP: the classic algorithm-confusion attack (a token "signed"
//! HS256 with the tenant's published RSA public key as the HMAC secret, in every encoding a
//! verifier might turn the JWKS into) and `alg: none`, against Microsoft Graph (`/v1.0/users`),
//! the userinfo endpoint and Azure AD Graph (`/{tenant}/users?api-version=1.6`). Each forged
//! token carries the payload of a genuine token that the same endpoint accepts, so only the
//! signature algorithm differs.

use axum::http::{Method, StatusCode};
use base64::Engine;
use serde_json::{Value, json};

use crate::browser::{adele_password_grant, registered_app};
use crate::harness::Harness;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

/// A DER length.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

/// A positive DER INTEGER of big-endian `bytes`.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    der(0x02, &v)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// Every form of the tenant's public signing key an HS256-confused verifier could use as its
/// HMAC secret: PEM and DER of SubjectPublicKeyInfo and of PKCS#1 RSAPublicKey, the modulus,
/// and the JWK itself.
async fn public_key_materials(h: &Harness) -> Vec<(String, Vec<u8>)> {
    let jwks = h.graph_with(Method::GET, &format!("/{}/discovery/v2.0/keys", h.boot.tenant_id), None, "", &[]).await;
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.text);
    let mut out = Vec::new();
    for key in jwks.json["keys"].as_array().expect("keys") {
        let kid = key["kid"].as_str().unwrap_or("?").to_string();
        let n = unb64(key["n"].as_str().expect("n"));
        let e = unb64(key["e"].as_str().expect("e"));
        let pkcs1 = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
        // AlgorithmIdentifier rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
        let alg =
            der(0x30, &[der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), vec![0x05, 0x00]].concat());
        let mut bits = vec![0u8];
        bits.extend(&pkcs1);
        let spki = der(0x30, &[alg, der(0x03, &bits)].concat());
        out.push((format!("{kid} SPKI PEM"), pem("PUBLIC KEY", &spki).into_bytes()));
        out.push((
            format!("{kid} SPKI PEM without final newline"),
            pem("PUBLIC KEY", &spki).trim_end().as_bytes().to_vec(),
        ));
        out.push((format!("{kid} PKCS#1 PEM"), pem("RSA PUBLIC KEY", &pkcs1).into_bytes()));
        out.push((format!("{kid} SPKI DER"), spki));
        out.push((format!("{kid} PKCS#1 DER"), pkcs1));
        out.push((format!("{kid} modulus"), n));
        out.push((format!("{kid} JWK"), key.to_string().into_bytes()));
    }
    assert!(!out.is_empty(), "the JWKS publishes no key");
    out
}

/// `token`'s header and payload, re-signed HS256 with `secret`.
fn hs256(token: &str, secret: &[u8]) -> String {
    let mut parts = token.split('.');
    let header: Value = serde_json::from_slice(&unb64(parts.next().expect("header"))).expect("header json");
    let payload = parts.next().expect("payload");
    let mut header = header.as_object().cloned().expect("header object");
    header.insert("alg".into(), json!("HS256"));
    let input = format!("{}.{payload}", b64(Value::Object(header).to_string().as_bytes()));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// `token`'s payload under `{"alg": <alg>}` (kid kept) and the given signature part.
fn unsigned(token: &str, alg: &str, signature: &str) -> String {
    let mut parts = token.split('.');
    let header: Value = serde_json::from_slice(&unb64(parts.next().expect("header"))).expect("header json");
    let payload = parts.next().expect("payload");
    let forged = json!({"alg": alg, "typ": "JWT", "kid": header["kid"]});
    format!("{}.{payload}.{signature}", b64(forged.to_string().as_bytes()))
}

/// Forgeries of `genuine`: HS256 with each public-key material, and `alg: none` variants.
async fn forgeries(h: &Harness, genuine: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = public_key_materials(h)
        .await
        .into_iter()
        .map(|(what, secret)| (format!("HS256 with {what}"), hs256(genuine, &secret)))
        .collect();
    let original_signature = genuine.rsplit('.').next().expect("signature").to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        out.push((format!("alg {alg}, empty signature"), unsigned(genuine, alg, "")));
        out.push((format!("alg {alg}, original signature"), unsigned(genuine, alg, &original_signature)));
    }
    out
}

#[tokio::test]
async fn forged_tokens_are_refused_by_microsoft_graph() {
    let h = Harness::new().await;
    let ok = h.graph_with(Method::GET, "/v1.0/users", None, &h.token, &[]).await;
    assert_eq!(ok.status, StatusCode::OK, "the genuine token works: {}", ok.text);
    for (what, token) in forgeries(&h, &h.token).await {
        let r = h.graph_with(Method::GET, "/v1.0/users", None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        assert_eq!(r.code(), "InvalidAuthenticationToken", "{what}");
    }
}

#[tokio::test]
async fn forged_tokens_are_refused_by_userinfo() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (app_id, _) = registered_app(&h, Some("User.Read openid profile")).await;
    let r = adele_password_grant(&h, &app_id, "openid profile https://graph.microsoft.com/User.Read").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let access = r.json["access_token"].as_str().expect("access_token").to_string();
    let tenant_path = format!("/{}/openid/userinfo", h.boot.tenant_id);
    for path in ["/oidc/userinfo", tenant_path.as_str()] {
        let ok = h.graph_with(Method::GET, path, None, &access, &[]).await;
        assert_eq!(ok.status, StatusCode::OK, "{path}: the genuine token works: {}", ok.text);
        for (what, token) in forgeries(&h, &access).await {
            let r = h.graph_with(Method::GET, path, None, &token, &[]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}, {what}: {}", r.text);
            assert!(!r.text.contains("adele"), "{path}, {what}: no user data: {}", r.text);
        }
    }
}

#[tokio::test]
async fn forged_tokens_are_refused_by_azure_ad_graph() {
    let h = Harness::new().await;
    let genuine = crate::aadgraph::aad_token(&h).await;
    let path = format!("/{}/users?api-version=1.6", h.boot.tenant_id);
    let ok = h.graph_with(Method::GET, &path, None, &genuine, &[]).await;
    assert_eq!(ok.status, StatusCode::OK, "the genuine token works: {}", ok.text);
    for (what, token) in forgeries(&h, &genuine).await {
        let r = h.graph_with(Method::GET, &path, None, &token, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        assert!(r.json["odata.error"].is_object(), "{what}: an Azure AD Graph error: {}", r.text);
    }
}
