//! Signing key rotation through `cerulean keys` (the real binary on the harness's store) and
//! through `/cerulean/admin/signingKeys`: a new key is published before it signs, old tokens
//! keep verifying, and a retired key leaves the JWKS only once its tokens have expired.

use std::process::Command;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine;
use cerulean::app::AppOptions;
use cerulean_store::{Op, SigningKeyRecord};
use serde_json::{Value, json};

use crate::harness::Harness;

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

/// A harness whose nodes re-read their keys on every use (as a running node does within
/// `KEY_REFRESH_INTERVAL`), with the given publication delay for the admin route.
async fn harness(publication_delay_secs: Option<i64>) -> Harness {
    let options = AppOptions {
        key_refresh: Some(Duration::ZERO),
        key_publication_delay_secs: publication_delay_secs,
        ..AppOptions::default()
    };
    Harness::with_options("contoso.onmicrosoft.com", options).await
}

fn header_kid(token: &str) -> String {
    let part = token.split('.').next().expect("header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    let header: Value = serde_json::from_slice(&bytes).expect("json");
    header["kid"].as_str().expect("kid").to_string()
}

/// The kids in the tenant's JWKS, sorted.
async fn jwks_kids(h: &Harness) -> Vec<String> {
    let r = h.graph_with(Method::GET, &format!("/{}/discovery/v2.0/keys", h.boot.tenant_id), None, "", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut kids: Vec<String> =
        r.json["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_string()).collect();
    kids.sort();
    kids
}

fn sorted(kids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = kids.iter().map(|k| k.to_string()).collect();
    v.sort();
    v
}

async fn fresh_token(h: &Harness) -> String {
    h.app_token(&h.boot.client_id.clone(), &h.boot.client_secret.clone()).await
}

/// `cerulean keys <args>` on the harness's store; (success, stdout, stderr).
fn cli(h: &Harness, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cerulean"));
    cmd.arg("keys").env_remove("CERULEAN_DATABASE_URL").env_remove("CERULEAN_KEY_PUBLICATION_DELAY_SECS");
    match h.database_url() {
        Some(url) => cmd.args(["--database-url", &url]),
        None => cmd.args(["--data-dir", h.dir.to_str().expect("utf-8 dir")]),
    };
    let out = cmd.args(args).output().expect("run cerulean");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Moves a retired key's retirement back past the retention, as if the longest token
/// lifetime had passed since.
async fn age_retirement(h: &Harness, kid: &str) {
    let keys = h.store.signing_keys(h.tenant()).await.expect("keys");
    let key = keys.into_iter().find(|k| k.kid == kid).expect("key");
    assert_eq!(key.status, "retired");
    let long_ago =
        time::OffsetDateTime::now_utc() - time::Duration::seconds(cerulean_identity::tokens::key_retention_secs() + 1);
    let aged = SigningKeyRecord {
        retired_at: Some(long_ago.format(&time::format_description::well_known::Rfc3339).expect("time")),
        ..key
    };
    let change = cerulean_store::Change {
        ops: vec![Op::PutSigningKey(aged)],
        audit: cerulean_store::AuditRecord {
            id: uuid::Uuid::new_v4(),
            at: "2024-01-01T00:00:00Z".into(),
            activity: "test: age a retired key".into(),
            category: "KeyManagement".into(),
            operation_type: "Update".into(),
            actor: cerulean_store::Actor { kind: "system".into(), id: None, display_name: None },
            targets: vec![],
            correlation_id: None,
            result: "success".into(),
        },
    };
    h.store.apply(h.tenant(), change).await.expect("age key");
}

#[tokio::test]
async fn cli_rotation_publishes_first_activates_then_retires() {
    let h = harness(None).await;
    let old_kid = header_kid(&h.token);
    assert_eq!(jwks_kids(&h).await, vec![old_kid.clone()]);
    // Signed by the old key, first presented after the rotation.
    let old_token = fresh_token(&h).await;

    let (ok, out, err) = cli(&h, &["rotate"]);
    assert!(ok, "{out}{err}");
    let list = cli(&h, &["list"]).1;
    let new_kid = list
        .lines()
        .find(|l| l.contains(" next "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a next key")
        .to_string();
    assert!(out.contains(&new_kid), "{out}");
    // Published before it signs anything.
    assert_eq!(jwks_kids(&h).await, sorted(&[&old_kid, &new_kid]));
    assert_eq!(header_kid(&fresh_token(&h).await), old_kid);
    // A second rotation waits for the first to be activated.
    let (ok, _, err) = cli(&h, &["rotate"]);
    assert!(!ok && err.contains("already waiting for activation"), "{err}");

    // Activation waits for the publication delay (600 s by default).
    let (ok, _, err) = cli(&h, &["activate", &new_kid]);
    assert!(!ok && err.contains("can be activated after 600 s"), "{err}");
    let (ok, _, err) = cli(&h, &["activate", "no-such-kid", "--min-published-secs", "0"]);
    assert!(!ok && err.contains("no signing key 'no-such-kid'"), "{err}");
    let (ok, _, err) = cli(&h, &["activate", &old_kid, "--min-published-secs", "0"]);
    assert!(!ok && err.contains("is active"), "{err}");
    let (ok, out, err) = cli(&h, &["activate", &new_kid, "--min-published-secs", "0"]);
    assert!(ok, "{out}{err}");

    // New tokens use the new key; the old key stays published and its tokens verify.
    let new_token = fresh_token(&h).await;
    assert_eq!(header_kid(&new_token), new_kid);
    assert_eq!(jwks_kids(&h).await, sorted(&[&old_kid, &new_kid]));
    for token in [&old_token, &new_token] {
        let r = h.graph_with(Method::GET, "/v1.0/users?$top=1", None, token, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let list = cli(&h, &["list", "--tenant", "contoso.onmicrosoft.com"]).1;
    let line = |kid: &str| list.lines().find(|l| l.starts_with(kid)).unwrap_or_default().to_string();
    assert!(line(&old_kid).contains(" retired "), "{list}");
    assert!(line(&new_kid).contains(" active "), "{list}");
    // Nothing to prune while the retired key's tokens may still be alive.
    let (ok, out, _) = cli(&h, &["prune"]);
    assert!(ok && out.contains("no retired key"), "{out}");
    assert_eq!(jwks_kids(&h).await.len(), 2);

    // Once the longest token lifetime has passed, the old key leaves the JWKS, prune deletes
    // it, and a token it signed no longer verifies.
    age_retirement(&h, &old_kid).await;
    assert_eq!(jwks_kids(&h).await, vec![new_kid.clone()]);
    let (ok, out, err) = cli(&h, &["prune"]);
    assert!(ok && out.contains(&old_kid), "{out}{err}");
    assert!(!cli(&h, &["list"]).1.contains(&old_kid));
    let r = h.graph_with(Method::GET, "/v1.0/users?$top=1", None, &fresh_token_signed_by_nobody(&old_token), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);

    // An unknown tenant is refused.
    let (ok, _, err) = cli(&h, &["list", "--tenant", "fabrikam.example"]);
    assert!(!ok && err.contains("no tenant 'fabrikam.example'"), "{err}");
}

/// The old token with one claim changed is a different token (the Graph front-end caches
/// principals by token) that still names the old kid: its refusal shows the key is gone.
fn fresh_token_signed_by_nobody(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&engine.decode(&parts[1]).expect("b64")).expect("json");
    claims["uti"] = json!("changed");
    parts[1] = engine.encode(claims.to_string());
    parts.join(".")
}

#[tokio::test]
async fn admin_route_rotates_for_global_administrators_and_privileged_apps() {
    let h = harness(Some(0)).await;
    let old_kid = header_kid(&h.token);

    // Refused: no token, an app without Directory.ReadWrite.All, a user who is not a Global
    // Administrator.
    let r = h.graph_with(Method::GET, "/cerulean/admin/signingKeys", None, "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let reader = h.sign(h.claims(&["User.Read.All"])).await;
    let r = h.graph_with(Method::POST, "/cerulean/admin/signingKeys/rotate", None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    let mut user = h.claims(&[]);
    user["scp"] = json!("Directory.AccessAsUser.All");
    user["idtyp"] = json!("user");
    user["wids"] = json!(["b79fbf4d-3ef9-4689-8143-76b194e85509"]);
    let member = h.sign(user.clone()).await;
    let r = h.graph_with(Method::POST, "/cerulean/admin/signingKeys/rotate", None, &member, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // A Global Administrator rotates.
    user["wids"] = json!([GLOBAL_ADMIN]);
    let admin = h.sign(user).await;
    let r = h.graph_with(Method::POST, "/cerulean/admin/signingKeys/rotate", None, &admin, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["status"], "next");
    assert!(r.json.get("privatePkcs8").is_none() && !r.text.contains("private"), "{}", r.text);
    let new_kid = r.json["kid"].as_str().expect("kid").to_string();
    assert_eq!(jwks_kids(&h).await, sorted(&[&old_kid, &new_kid]));
    let r = h.graph_with(Method::POST, "/cerulean/admin/signingKeys/rotate", None, &admin, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // The bootstrap app (Directory.ReadWrite.All) lists and activates.
    let r = h.get("/cerulean/admin/signingKeys").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut statuses: Vec<&str> =
        r.json["value"].as_array().expect("value").iter().filter_map(|k| k["status"].as_str()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec!["active", "next"]);
    let r = h.post("/cerulean/admin/signingKeys/nope/activate", json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let old_token = fresh_token(&h).await;
    let r = h.post(&format!("/cerulean/admin/signingKeys/{new_kid}/activate"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let old = r.json["value"].as_array().expect("value").iter().find(|k| k["kid"] == old_kid.as_str()).cloned();
    let old = old.expect("old key listed");
    assert_eq!(old["status"], "retired");
    assert!(old["retiredAt"].is_string() && old["publishedUntil"].is_string(), "{old}");
    let new_token = fresh_token(&h).await;
    assert_eq!(header_kid(&new_token), new_kid);
    assert_eq!(jwks_kids(&h).await, sorted(&[&old_kid, &new_kid]));
    let r = h.graph_with(Method::GET, "/v1.0/users?$top=1", None, &old_token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.post(&format!("/cerulean/admin/signingKeys/{new_kid}/activate"), json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Retirement: prune keeps the key until its retention ends, then deletes it.
    let prune = |token: String| {
        let h = &h;
        async move { h.graph_with(Method::POST, "/cerulean/admin/signingKeys/prune", None, &token, &[]).await }
    };
    let r = prune(new_token.clone()).await;
    assert_eq!(r.json["value"], json!([]), "{}", r.text);
    age_retirement(&h, &old_kid).await;
    assert_eq!(jwks_kids(&h).await, vec![new_kid.clone()]);
    let r = prune(new_token).await;
    assert_eq!(r.json["value"], json!([old_kid]), "{}", r.text);

    // Key management is audited, without key material.
    let r = h.get("/v1.0/auditLogs/directoryAudits?$filter=category%20eq%20'KeyManagement'").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["value"].as_array().is_some_and(|v| v.len() >= 3), "{}", r.text);
}

#[tokio::test]
async fn admin_route_waits_for_the_publication_delay() {
    let h = harness(None).await;
    let r = h.post("/cerulean/admin/signingKeys/rotate", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let kid = r.json["kid"].as_str().expect("kid").to_string();
    let r = h.post(&format!("/cerulean/admin/signingKeys/{kid}/activate"), json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.message().contains("can be activated after 600 s"), "{}", r.text);
    assert_ne!(header_kid(&fresh_token(&h).await), kid);
}
