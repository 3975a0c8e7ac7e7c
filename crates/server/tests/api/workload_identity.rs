//! Workload identity federation: a client assertion issued by an external OpenID Connect
//! issuer, exchanged at the token endpoint for an application with a matching federated
//! identity credential. The external issuer is a small HTTPS server the test starts on
//! loopback (certificate from a throwaway CA the server is told to trust), publishing the
//! keys of the harness tenant, so `Harness::sign` mints its tokens. Every refusal is tested
//! with its AADSTS code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use cerulean::app::AppOptions;
use cerulean_identity::federation::{FederationConfig, IssuerKeys};
use cerulean_identity::outbound::FetchPolicy;
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const EXCHANGE: &str = "api://AzureADTokenExchange";
const SUBJECT: &str = "repo:contoso/orders:ref:refs/heads/main";

/// The loopback issuer: its base URL and how often its discovery documents were fetched.
struct Issuer {
    base: String,
    discovery_hits: Arc<AtomicUsize>,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A CA and server certificate for 127.0.0.1, and a harness that trusts the CA for
/// federation (or, with `trust` false, only the system's roots) and, with `loopback`, may
/// fetch from loopback (`serve --allow-private-fetch`), where the issuer is.
async fn setup(trust: bool, loopback: bool) -> (Harness, Issuer) {
    let dir = std::env::temp_dir().join(format!("cerulean-issuer-{}", uuid::Uuid::new_v4()));
    let material = cerulean_identity::ensure_tls_material_with_sans(&dir, &[]).expect("tls material");
    let fetch = FetchPolicy {
        extra_ca_pem: trust.then(|| material.ca_cert_pem.clone().into_bytes()),
        allow_private_addresses: loopback,
        ..FetchPolicy::default()
    };
    let config = FederationConfig { fetch, ..FederationConfig::default() };
    let options =
        AppOptions { federation: Some(Arc::new(IssuerKeys::new(config).expect("keys"))), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let jwks = h
        .send(
            axum::http::Request::get(format!("/{}/discovery/v2.0/keys", h.boot.tenant_id))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .json;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("https://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let hits = Arc::new(AtomicUsize::new(0));
    let discovery = {
        let (base, hits) = (base.clone(), hits.clone());
        move || {
            let (base, hits) = (base.clone(), hits.clone());
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"issuer": base, "jwks_uri": format!("{base}/keys")}))
            }
        }
    };
    let liar = {
        let base = base.clone();
        move || {
            let base = base.clone();
            async move { axum::Json(json!({"issuer": "https://elsewhere.example", "jwks_uri": format!("{base}/keys")})) }
        }
    };
    let redirect = {
        let base = base.clone();
        move || {
            let base = base.clone();
            async move {
                (StatusCode::FOUND, [(header::LOCATION, format!("{base}/.well-known/openid-configuration"))])
                    .into_response()
            }
        }
    };
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/keys", get(move || async move { axum::Json(jwks) }))
        .route("/liar/.well-known/openid-configuration", get(liar))
        .route("/redirect/.well-known/openid-configuration", get(redirect))
        .route("/big/.well-known/openid-configuration", get(|| async { "x".repeat(300 * 1024) }));
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        material.cert_chain_pem.clone().into_bytes(),
        material.key_pem.clone().into_bytes(),
    )
    .await
    .expect("tls config");
    let server = axum_server::tls_rustls::from_tcp_rustls(listener, config).expect("server");
    tokio::spawn(async move {
        let _ = server.serve(router.into_make_service()).await;
    });
    (h, Issuer { base, discovery_hits: hits, _dir: tempdir::Dir(dir) })
}

/// An application with a service principal and, when `issuer` is given, one federated
/// identity credential; returns (object id, appId).
async fn app(h: &Harness, issuer: Option<&str>) -> (String, String) {
    let app = h.post("/v1.0/applications", json!({"displayName": "Deployer"})).await.json;
    let (oid, app_id) = (id_of(&app), app["appId"].as_str().expect("appId").to_string());
    assert_eq!(h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await.status, StatusCode::CREATED);
    if let Some(issuer) = issuer {
        let r = h
            .post(
                &format!("/v1.0/applications/{oid}/federatedIdentityCredentials"),
                json!({"name": "main-branch", "issuer": issuer, "subject": SUBJECT, "audiences": [EXCHANGE]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    (oid, app_id)
}

fn claims(iss: &str, sub: &str, aud: &str, exp_in: i64) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"iss": iss, "sub": sub, "aud": aud, "iat": now - 10, "nbf": now - 10, "exp": now + exp_in, "jti": uuid::Uuid::new_v4()})
}

async fn exchange(h: &Harness, client_id: &str, assertion: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
        None,
    )
    .await
}

fn refused(r: &Reply, status: StatusCode, code: u64) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.json["error_codes"], json!([code]), "{}", r.text);
    let prefix = format!("AADSTS{code}:");
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.starts_with(&prefix)), "{}", r.text);
}

#[tokio::test]
async fn an_external_token_is_exchanged_and_each_mismatch_is_refused() {
    let (h, issuer) = setup(true, true).await;
    let (oid, app_id) = app(&h, Some(&issuer.base)).await;

    let good = h.sign(claims(&issuer.base, SUBJECT, EXCHANGE, 600)).await;
    let r = exchange(&h, &app_id, &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["access_token"].as_str().expect("token");
    let payload: Value = {
        use base64::Engine;
        let p = token.split('.').nth(1).expect("payload");
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).expect("b64")).expect("json")
    };
    assert_eq!(payload["appid"], app_id.as_str());
    assert_eq!(payload["appidacr"], "2");
    // The keys are cached: a second exchange does not fetch the discovery document again.
    let again = h.sign(claims(&issuer.base, SUBJECT, EXCHANGE, 600)).await;
    assert_eq!(exchange(&h, &app_id, &again).await.status, StatusCode::OK);
    assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 1);

    // An issuer no credential of the app names.
    let other = h.sign(claims("https://token.actions.githubusercontent.com", SUBJECT, EXCHANGE, 600)).await;
    refused(&exchange(&h, &app_id, &other).await, StatusCode::BAD_REQUEST, 700211);
    // Wrong subject, wrong audience.
    let wrong_sub = h.sign(claims(&issuer.base, "repo:contoso/orders:pull_request", EXCHANGE, 600)).await;
    refused(&exchange(&h, &app_id, &wrong_sub).await, StatusCode::BAD_REQUEST, 700213);
    let wrong_aud = h.sign(claims(&issuer.base, SUBJECT, "api://SomethingElse", 600)).await;
    refused(&exchange(&h, &app_id, &wrong_aud).await, StatusCode::BAD_REQUEST, 700212);
    // Expired (beyond the five minutes of skew), and not yet valid.
    let expired = h.sign(claims(&issuer.base, SUBJECT, EXCHANGE, -600)).await;
    refused(&exchange(&h, &app_id, &expired).await, StatusCode::UNAUTHORIZED, 700024);
    let mut early = claims(&issuer.base, SUBJECT, EXCHANGE, 3600);
    early["nbf"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() + 1200);
    refused(&exchange(&h, &app_id, &h.sign(early).await).await, StatusCode::UNAUTHORIZED, 700024);
    // A forged signature: the claims of one token with the signature of another.
    let (head, rest) = good.split_once('.').expect("jwt");
    let (_, sig) = rest.rsplit_once('.').expect("jwt");
    let forged_claims = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(claims(&issuer.base, SUBJECT, EXCHANGE, 3600).to_string())
    };
    let forged = format!("{head}.{forged_claims}.{sig}");
    refused(&exchange(&h, &app_id, &forged).await, StatusCode::UNAUTHORIZED, 50013);
    // A key the issuer does not publish.
    let unknown_kid = {
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"nope"}"#);
        format!("{header}.{forged_claims}.{sig}")
    };
    refused(&exchange(&h, &app_id, &unknown_kid).await, StatusCode::UNAUTHORIZED, 50013);
    // An algorithm other than RS256.
    let hs256 = {
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"x"}"#);
        format!("{header}.{forged_claims}.{sig}")
    };
    refused(&exchange(&h, &app_id, &hs256).await, StatusCode::BAD_REQUEST, 50027);
    // The wrong assertion type.
    let r = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app_id),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
                ("client_assertion", &good),
            ],
            None,
        )
        .await;
    refused(&r, StatusCode::BAD_REQUEST, 50027);

    // The credential deleted: the same, valid assertion is refused.
    let r = h.delete(&format!("/v1.0/applications/{oid}/federatedIdentityCredentials/main-branch")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    refused(&exchange(&h, &app_id, &good).await, StatusCode::BAD_REQUEST, 70021);

    // An application without any credential.
    let (_, bare) = app(&h, None).await;
    refused(&exchange(&h, &bare, &good).await, StatusCode::BAD_REQUEST, 70021);
}

#[tokio::test]
async fn issuer_documents_are_fetched_within_bounds() {
    let (h, issuer) = setup(true, true).await;
    for (path, why) in [("redirect", "redirect"), ("big", "larger"), ("liar", "names the issuer")] {
        let iss = format!("{}/{path}", issuer.base);
        let (_, app_id) = app(&h, Some(&iss)).await;
        let assertion = h.sign(claims(&iss, SUBJECT, EXCHANGE, 600)).await;
        let r = exchange(&h, &app_id, &assertion).await;
        refused(&r, StatusCode::BAD_REQUEST, 50166);
        assert!(r.json["error_description"].as_str().is_some_and(|d| d.contains(why)), "{path}: {}", r.text);
    }
    // A registered issuer nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("https://127.0.0.1:{}", l.local_addr().expect("addr").port())
    };
    let (_, app_id) = app(&h, Some(&closed)).await;
    let assertion = h.sign(claims(&closed, SUBJECT, EXCHANGE, 600)).await;
    refused(&exchange(&h, &app_id, &assertion).await, StatusCode::BAD_REQUEST, 50166);
}

#[tokio::test]
async fn an_issuer_with_an_untrusted_certificate_is_not_believed() {
    let (h, issuer) = setup(false, true).await;
    let (_, app_id) = app(&h, Some(&issuer.base)).await;
    let assertion = h.sign(claims(&issuer.base, SUBJECT, EXCHANGE, 600)).await;
    let r = exchange(&h, &app_id, &assertion).await;
    refused(&r, StatusCode::BAD_REQUEST, 50166);
    assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 0, "the TLS handshake fails before any request");
}

/// The issuer is trusted and answers, but it is on loopback: without the opt-out nothing is
/// requested from it, and the refusal (AADSTS50166, as any fetch failure) says why and how to
/// allow it. The cloud metadata address is refused the same way.
#[tokio::test]
async fn an_issuer_on_a_private_address_is_not_fetched_without_the_opt_out() {
    let (h, issuer) = setup(true, false).await;
    let (_, app_id) = app(&h, Some(&issuer.base)).await;
    let assertion = h.sign(claims(&issuer.base, SUBJECT, EXCHANGE, 600)).await;
    let r = exchange(&h, &app_id, &assertion).await;
    refused(&r, StatusCode::BAD_REQUEST, 50166);
    let text = r.json["error_description"].as_str().unwrap_or_default();
    assert!(text.contains("resolves to 127.0.0.1, a loopback address"), "{}", r.text);
    assert!(text.contains("private addresses are refused"), "{}", r.text);
    assert!(text.contains("--allow-private-fetch"), "{}", r.text);
    assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 0, "nothing is sent to a private address");

    let metadata = "https://169.254.169.254/metadata";
    let (_, app_id) = app(&h, Some(metadata)).await;
    let assertion = h.sign(claims(metadata, SUBJECT, EXCHANGE, 600)).await;
    let r = exchange(&h, &app_id, &assertion).await;
    refused(&r, StatusCode::BAD_REQUEST, 50166);
    assert!(r.text.contains("169.254.169.254, a link-local address"), "{}", r.text);
}

#[tokio::test]
async fn a_silent_issuer_is_given_up_on_in_bounded_time() {
    // Accepts connections and never answers (not even the TLS handshake).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("https://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let fetch = FetchPolicy {
        timeout: std::time::Duration::from_millis(300),
        allow_private_addresses: true,
        ..FetchPolicy::default()
    };
    let config = FederationConfig { fetch, ..FederationConfig::default() };
    let options =
        AppOptions { federation: Some(Arc::new(IssuerKeys::new(config).expect("keys"))), ..AppOptions::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let (_, app_id) = app(&h, Some(&base)).await;
    let assertion = h.sign(claims(&base, SUBJECT, EXCHANGE, 600)).await;
    let started = std::time::Instant::now();
    let r = exchange(&h, &app_id, &assertion).await;
    refused(&r, StatusCode::BAD_REQUEST, 50166);
    assert!(r.json["error_description"].as_str().is_some_and(|d| d.contains("timed out")), "{}", r.text);
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
}

/// `serve --allow-private-fetch` (parsed as the command line parses it) is what lets the
/// outbound client reach private addresses; without it they are refused.
#[test]
fn the_serve_flag_is_the_opt_out() {
    let keys = |flags: &[&str]| {
        let argv = ["cerulean", "serve"].into_iter().chain(flags.iter().copied());
        let cli = <cerulean::cli::Cli as clap::Parser>::try_parse_from(argv).expect("arguments");
        let cerulean::cli::Command::Serve(args) = cli.command else { panic!("not serve") };
        cerulean::serve::federation_keys(&args).expect("keys")
    };
    assert!(!keys(&[]).fetcher().policy().allow_private_addresses);
    assert!(keys(&["--allow-private-fetch"]).fetcher().policy().allow_private_addresses);
}
