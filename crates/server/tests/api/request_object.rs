//! Request objects (RFC 9101) by value: a JWT the application signs with a certificate
//! registered in its `keyCredentials`, whose claims replace the query parameters; and each
//! way one is refused (AADSTS90100 on the error page): unsigned, unknown key, forged
//! signature, expired, another audience, another client. By reference (`request_uri`): fetched
//! from a loopback HTTPS server only once the application registers a redirect URI on its
//! origin; redirects, oversized documents and plain HTTP refused.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::browser::*;
use crate::client_assertion_pss::{Cert, new_cert};
use crate::harness::{Harness, PUBLIC_URL, Reply};

pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more-entropy";

/// A consented browser app with `cert` registered as a key credential.
pub(crate) async fn app_with_key(h: &Harness, cert: &Cert) -> String {
    let (app_id, object_id) = registered_app(h, Some("User.Read")).await;
    let key = base64::engine::general_purpose::STANDARD.encode(&cert.der);
    let patch = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": key}]});
    let r = h.patch(&format!("/v1.0/applications/{object_id}"), patch).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    app_id
}

/// The request object's claims: the whole authorization request, for this server.
pub(crate) fn request_claims(h: &Harness, app_id: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": app_id,
        "aud": format!("{PUBLIC_URL}/{}/v2.0", h.boot.tenant_id),
        "exp": now + 300,
        "nbf": now,
        "client_id": app_id,
        "response_type": "code",
        "redirect_uri": NATIVE_REDIRECT,
        "scope": "openid profile User.Read",
        "state": "from-the-object",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    })
}

pub(crate) fn header(cert: &Cert) -> Value {
    json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()})
}

pub(crate) fn authorize(h: &Harness, app_id: &str, extra: &[(&str, &str)]) -> String {
    let mut p = vec![("client_id", app_id), ("response_type", "code"), ("state", "from-the-query")];
    p.extend_from_slice(extra);
    format!("/{}/oauth2/v2.0/authorize?{}", h.boot.tenant_id, serde_urlencoded::to_string(&p).expect("query"))
}

pub(crate) fn assert_refused(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
    assert!(r.text.contains("AADSTS90100"), "{what}: {}", r.text);
    assert!(r.headers.get("location").is_none(), "{what}: never a redirect");
}

#[tokio::test]
async fn a_signed_request_object_replaces_the_query_parameters() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let cert = new_cert();
    let app_id = app_with_key(&h, &cert).await;
    let object = cert.sign_ps256(&header(&cert), &request_claims(&h, &app_id));
    let mut b = Browser::default();
    let page = b.get(&h, &authorize(&h, &app_id, &[("request", &object)])).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    let loc = location(&r);
    assert!(loc.starts_with(NATIVE_REDIRECT), "the object's redirect URI: {loc}");
    let p = redirect_params(&loc);
    assert_eq!(p["state"], "from-the-object", "the object's claims win over the query");
    let t = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app_id),
                ("code", &p["code"]),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "the object's PKCE challenge holds: {}", t.text);
}

#[tokio::test]
async fn request_objects_that_are_not_the_applications_are_refused() {
    let h = Harness::new().await;
    let cert = new_cert();
    let other = new_cert();
    let app_id = app_with_key(&h, &cert).await;
    let good = request_claims(&h, &app_id);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unsigned", format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good)), "signing algorithm"),
        ("not a JWT", "not-a-jwt".into(), "not a signed JWT"),
        ("a key the app does not have", other.sign_ps256(&header(&other), &good), "key was not found"),
        ("another key under the app's thumbprint", other.sign_ps256(&header(&cert), &good), "does not verify"),
        ("expired", cert.sign_ps256(&header(&cert), &with("exp", json!(now - 3600))), "expired or not yet valid"),
        (
            "another server",
            cert.sign_ps256(&header(&cert), &with("aud", json!("https://login.example/"))),
            "audience is not this server",
        ),
        (
            "a look-alike host",
            cert.sign_ps256(&header(&cert), &with("aud", json!(format!("{PUBLIC_URL}.evil.example/v2.0")))),
            "audience is not this server",
        ),
        (
            "another client",
            cert.sign_ps256(&header(&cert), &with("client_id", json!(uuid::Uuid::new_v4()))),
            "does not match the",
        ),
        (
            "issued by another client",
            cert.sign_ps256(&header(&cert), &with("iss", json!(uuid::Uuid::new_v4()))),
            "is not the application&#39;s client_id",
        ),
    ];
    for (what, object, detail) in cases {
        let r = h.send(get(&authorize(&h, &app_id, &[("request", &object)]))).await;
        assert_refused(&r, what);
        assert!(r.text.contains(detail), "{what}: {}", r.text);
    }
    // The same object that is refused above under another key is accepted under the right one.
    let r = h.send(get(&authorize(&h, &app_id, &[("request", &cert.sign_ps256(&header(&cert), &good))]))).await;
    assert_eq!(r.status, StatusCode::OK, "the sign-in page: {}", r.text);
}

pub(crate) fn get(uri: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(uri).body(axum::body::Body::empty()).expect("request")
}

/// What the loopback server serves at `/request.jwt` (set once the application exists).
type Slot = std::sync::Arc<std::sync::Mutex<String>>;

/// A loopback HTTPS server (certificate from a throwaway CA the harness trusts for outbound
/// fetches) serving the slot at `/request.jwt`, a redirect to it at `/moved`, and an oversized
/// document at `/big`. Returns the harness, the server's origin, the slot and the CA directory.
/// With `loopback`, the harness may fetch from loopback (`serve --allow-private-fetch`).
async fn serve_objects(loopback: bool) -> (Harness, String, Slot, std::path::PathBuf) {
    use axum::response::IntoResponse;
    let dir = std::env::temp_dir().join(format!("cerulean-request-uri-{}", uuid::Uuid::new_v4()));
    let material = cerulean_identity::ensure_tls_material_with_sans(&dir, &[]).expect("tls material");
    let fetch = cerulean_identity::outbound::FetchPolicy {
        extra_ca_pem: Some(material.ca_cert_pem.clone().into_bytes()),
        allow_private_addresses: loopback,
        ..Default::default()
    };
    let config = cerulean_identity::federation::FederationConfig { fetch, ..Default::default() };
    let keys = cerulean_identity::federation::IssuerKeys::new(config).expect("keys");
    let options = cerulean::app::AppOptions { federation: Some(std::sync::Arc::new(keys)), ..Default::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let origin = format!("https://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let slot: Slot = Default::default();
    let served = slot.clone();
    let moved = format!("{origin}/request.jwt");
    let router = axum::Router::new()
        .route(
            "/request.jwt",
            axum::routing::get(move || {
                let body = served.lock().expect("slot").clone();
                async move { body }
            }),
        )
        .route(
            "/moved",
            axum::routing::get(move || async move {
                (StatusCode::FOUND, [(axum::http::header::LOCATION, moved)]).into_response()
            }),
        )
        .route("/big", axum::routing::get(|| async { "x".repeat(300 * 1024) }));
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        material.cert_chain_pem.clone().into_bytes(),
        material.key_pem.clone().into_bytes(),
    )
    .await
    .expect("tls config");
    let server = axum_server::tls_rustls::from_tcp_rustls(listener, tls).expect("server");
    tokio::spawn(async move {
        let _ = server.serve(router.into_make_service()).await;
    });
    (h, origin, slot, dir)
}

#[tokio::test]
async fn request_uri_is_fetched_only_from_the_applications_origins() {
    let (h, origin, slot, dir) = serve_objects(true).await;
    let cert = new_cert();
    let app_id = app_with_key(&h, &cert).await;
    *slot.lock().expect("slot") = cert.sign_ps256(&header(&cert), &request_claims(&h, &app_id));
    let uri = format!("{origin}/request.jwt");

    // Before the application registers a redirect URI on that origin, the URI is not fetched.
    let r = h.send(get(&authorize(&h, &app_id, &[("request_uri", &uri)]))).await;
    assert_refused(&r, "unregistered origin");
    assert!(r.text.contains("origin is not one of"), "{}", r.text);

    let app = h.get(&format!("/v1.0/applications(appId='{app_id}')")).await;
    let patch = json!({"web": {"redirectUris": [WEB_REDIRECT, format!("{origin}/signin-oidc")]}});
    let p = h.patch(&format!("/v1.0/applications/{}", app.json["id"].as_str().expect("id")), patch).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{}", p.text);

    h.user("adele", "Adele Vance").await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize(&h, &app_id, &[("request_uri", &uri)])).await;
    let r = b.sign_in(&h, &page, "adele@contoso.onmicrosoft.com", PASSWORD).await;
    assert_eq!(redirect_params(&location(&r))["state"], "from-the-object", "the fetched object's request");

    for (what, target, detail) in [
        ("a redirect", format!("{origin}/moved"), "which is not followed"),
        ("an oversized document", format!("{origin}/big"), "is larger than"),
        ("plain http", uri.replacen("https://", "http://", 1), "must be an https URL"),
    ] {
        let r = h.send(get(&authorize(&h, &app_id, &[("request_uri", &target)]))).await;
        assert_refused(&r, what);
        assert!(r.text.contains(detail), "{what}: {}", r.text);
    }
    let object = slot.lock().expect("slot").clone();
    let r = h.send(get(&authorize(&h, &app_id, &[("request_uri", &uri), ("request", &object)]))).await;
    assert_refused(&r, "both");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `request_uri` on a registered origin that is a private address (here loopback) is not
/// fetched unless the server allows private fetches: AADSTS90100 on the error page, saying
/// the address is private and naming the option that allows it.
#[tokio::test]
async fn request_uri_on_a_private_address_is_refused_without_the_opt_out() {
    let (h, origin, slot, dir) = serve_objects(false).await;
    let cert = new_cert();
    let app_id = app_with_key(&h, &cert).await;
    *slot.lock().expect("slot") = cert.sign_ps256(&header(&cert), &request_claims(&h, &app_id));
    let app = h.get(&format!("/v1.0/applications(appId='{app_id}')")).await;
    let patch = json!({"web": {"redirectUris": [WEB_REDIRECT, format!("{origin}/signin-oidc")]}});
    let p = h.patch(&format!("/v1.0/applications/{}", app.json["id"].as_str().expect("id")), patch).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{}", p.text);

    let r = h.send(get(&authorize(&h, &app_id, &[("request_uri", &format!("{origin}/request.jwt"))]))).await;
    assert_refused(&r, "a loopback request_uri");
    assert!(r.text.contains("resolves to 127.0.0.1, a loopback address"), "{}", r.text);
    assert!(r.text.contains("private addresses are refused"), "{}", r.text);
    assert!(r.text.contains("--allow-private-fetch"), "{}", r.text);
    let _ = std::fs::remove_dir_all(&dir);
}
