//! Configurable token lifetimes: `exp - iat` and `expires_in` of app, user and ID tokens follow
//! the configured lifetimes, refresh tokens live the configured days, retired signing keys stay
//! published for the longest lifetime, and values outside Entra's bounds stop `serve`.

use std::process::Command;

use axum::http::StatusCode;
use cerulean::app::AppOptions;
use cerulean_identity::TokenLifetimes;
use cerulean_identity::tokens::ISSUED_AT_BACKDATE_SECS;
use cerulean_store::{Actor, RefreshRedemption};

use crate::harness::{Harness, id_of};
use crate::token_versions::{PASSWORD, claims, confidential_client, grant};

const LIFETIMES: TokenLifetimes = TokenLifetimes { access_secs: 7200, id_secs: 900, refresh_days: 7 };

fn span(token: &str) -> i64 {
    let c = claims(token, 1);
    c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat")
}

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).expect("time").unix_timestamp()
}

#[tokio::test]
async fn configured_lifetimes_shape_app_user_and_id_tokens() {
    let h =
        Harness::with_options("contoso.onmicrosoft.com", AppOptions { lifetimes: LIFETIMES, ..AppOptions::default() })
            .await;
    let tenant = h.boot.tenant_id.clone();

    // App token (client credentials), v2 and v1 endpoints.
    let r = h
        .form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["expires_in"], 7200);
    assert_eq!(span(r.json["access_token"].as_str().expect("at")), 7200 + ISSUED_AT_BACKDATE_SECS);
    let r = h
        .form(
            &format!("/{tenant}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.boot.client_id),
                ("client_secret", &h.boot.client_secret),
                ("resource", "https://graph.microsoft.com"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["expires_in"], "7200");

    // User tokens (password grant) with an ID token and a refresh token.
    let (client_id, secret, client_sp) = confidential_client(&h, "Web app").await;
    let graph = h.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").await;
    grant(&h, &client_sp, &id_of(&graph.json), "User.Read").await;
    h.user("adele", "Adele Vance").await;
    let r = h
        .form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("grant_type", "password"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("username", "adele@contoso.onmicrosoft.com"),
                ("password", PASSWORD),
                ("scope", "https://graph.microsoft.com/User.Read openid offline_access"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["expires_in"], 7200);
    assert_eq!(span(r.json["access_token"].as_str().expect("at")), 7200 + ISSUED_AT_BACKDATE_SECS);
    assert_eq!(span(r.json["id_token"].as_str().expect("id")), 900 + ISSUED_AT_BACKDATE_SECS);

    // The refreshed tokens too.
    let rt = r.json["refresh_token"].as_str().expect("rt").to_string();
    let r = h
        .form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("refresh_token", &rt),
                ("scope", "https://graph.microsoft.com/User.Read openid offline_access"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["expires_in"], 7200);
    assert_eq!(span(r.json["access_token"].as_str().expect("at")), 7200 + ISSUED_AT_BACKDATE_SECS);
    assert_eq!(span(r.json["id_token"].as_str().expect("id")), 900 + ISSUED_AT_BACKDATE_SECS);

    // The successor refresh token lives the configured days (sliding from its issue).
    let successor = r.json["refresh_token"].as_str().expect("rt");
    let hash = cerulean_identity::user_tokens::refresh_token_hash(successor);
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).expect("now");
    match h.store.redeem_refresh_token(h.tenant(), &hash, &client_id, &now).await.expect("redeem") {
        RefreshRedemption::Redeemed(record) => {
            assert_eq!(unix(&record.expires_at) - unix(&record.created_at), 7 * 86_400);
        }
        other => panic!("the successor is live: {other:?}"),
    }
}

#[tokio::test]
async fn retired_keys_stay_published_for_the_configured_access_token_lifetime() {
    let options = AppOptions { lifetimes: LIFETIMES, key_publication_delay_secs: Some(0), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let actor = Actor { kind: "system".into(), id: None, display_name: None };
    let next = h.app.tokens.add_next_key(h.tenant(), actor.clone()).await.expect("rotate");
    let keys = h.app.tokens.activate_key(h.tenant(), &next.kid, 0, actor).await.expect("activate");
    let retired = keys.iter().find(|k| k.status == "retired").expect("the old key is retired");
    let retention = unix(retired.published_until.as_deref().expect("until"))
        - unix(retired.retired_at.as_deref().expect("retired at"));
    assert_eq!(retention, h.app.tokens.key_retention_secs());
    assert!(retention > 7200, "{retention}: the longest token (7200 s) must expire before the key leaves");
    assert!(retention > cerulean_identity::tokens::key_retention_secs());
}

/// `cerulean serve` with `args` and `env` (meant to stop at start-up): its exit status and
/// stderr.
pub(crate) fn serve(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("cerulean-lifetimes-{}", uuid::Uuid::new_v4()));
    let out = Command::new(env!("CARGO_BIN_EXE_cerulean"))
        .arg("serve")
        .args(["--data-dir", dir.to_str().expect("utf-8"), "--http", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("CERULEAN_DATABASE_URL")
        .env_remove("CERULEAN_ACCESS_TOKEN_LIFETIME_SECS")
        .env_remove("CERULEAN_ID_TOKEN_LIFETIME_SECS")
        .env_remove("CERULEAN_REFRESH_TOKEN_LIFETIME_DAYS")
        .envs(env.iter().copied())
        .output()
        .expect("run cerulean");
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn lifetimes_outside_entras_bounds_stop_serve() {
    for (args, expected) in [
        (
            ["--access-token-lifetime-secs", "599"],
            "--access-token-lifetime-secs: the access token lifetime must be between 600",
        ),
        (["--access-token-lifetime-secs", "86401"], "--access-token-lifetime-secs"),
        (["--id-token-lifetime-secs", "300"], "--id-token-lifetime-secs: the ID token lifetime must be between 600"),
        (
            ["--refresh-token-lifetime-days", "91"],
            "--refresh-token-lifetime-days: the refresh token lifetime must be between 1 and 90 days",
        ),
        (["--refresh-token-lifetime-days", "0"], "got 0"),
    ] {
        let (ok, stderr) = serve(&args, &[]);
        assert!(!ok, "{args:?} must not start");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
