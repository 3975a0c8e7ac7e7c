//! The in-process harness: the real router over a real store, bootstrapped exactly as
//! `cerulean serve` does, driven with `oneshot`. The store is SQLite in a temporary directory,
//! or with `CERULEAN_TEST_ENGINE=postgres` a fresh PostgreSQL database per harness (the test
//! command runs the whole suite both ways).

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use cerulean::app::{App, AppOptions};
use cerulean::bootstrap::{self, BootstrapFile};
use cerulean_store::testing::TestDatabase;
use cerulean_store::{SqliteStore, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "https://cerulean.test";

pub struct Harness {
    pub app: App,
    pub store: Arc<dyn Store>,
    pub boot: BootstrapFile,
    pub token: String,
    pub dir: PathBuf,
    /// The PostgreSQL database of this harness, dropped with it.
    _database: Option<TestDatabase>,
}

/// The store of a new harness, on the engine the environment asks for.
pub async fn open_store(dir: &std::path::Path) -> (Arc<dyn Store>, Option<TestDatabase>) {
    match std::env::var("CERULEAN_TEST_ENGINE").as_deref() {
        Ok("postgres") => {
            let Some(db) = TestDatabase::create().await else {
                panic!("CERULEAN_TEST_ENGINE=postgres but PostgreSQL tests are skipped (CERULEAN_SKIP_POSTGRES=1)");
            };
            let store = db.store(&cerulean_directory::index_specs()).await;
            (Arc::new(store), Some(db))
        }
        Ok("sqlite") | Err(_) => {
            let store = SqliteStore::open(&dir.join("cerulean.db"), &cerulean_directory::index_specs()).expect("store");
            (Arc::new(store), None)
        }
        Ok(other) => panic!("unknown CERULEAN_TEST_ENGINE '{other}' (sqlite or postgres)"),
    }
}

/// A response, with the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// Graph's error code.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with_domain("contoso.onmicrosoft.com").await
    }

    pub async fn with_domain(domain: &str) -> Harness {
        Self::with_options(domain, AppOptions::default()).await
    }

    /// A harness whose application is built with `options` (throttling, ...).
    pub async fn with_options(domain: &str, options: AppOptions) -> Harness {
        let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (store, database) = open_store(&dir).await;
        let app = App::with_options(store.clone(), PUBLIC_URL, options);
        let (boot, created) =
            bootstrap::ensure(&app.directory, &app.tokens, store.as_ref(), &dir, domain, PUBLIC_URL, None)
                .await
                .expect("bootstrap");
        assert!(created);
        let boot = boot.expect("the bootstrapping node has the credentials");
        app.set_ready();
        let mut h = Harness { app, store, boot, token: String::new(), dir, _database: database };
        h.token = h.app_token(&h.boot.client_id.clone(), &h.boot.client_secret.clone()).await;
        h
    }

    /// Another handle on this harness's store, as a second node (process) would hold it: a
    /// new pool on the same PostgreSQL database, or new connections to the same SQLite file.
    pub async fn other_store(&self) -> Arc<dyn Store> {
        let specs = cerulean_directory::index_specs();
        match &self._database {
            Some(db) => Arc::new(db.store(&specs).await),
            None => Arc::new(SqliteStore::open(&self.dir.join("cerulean.db"), &specs).expect("store")),
        }
    }

    /// The PostgreSQL URL of this harness's database (`None` on SQLite, whose store is
    /// `dir/cerulean.db`): what `--database-url` names for the CLI.
    pub fn database_url(&self) -> Option<String> {
        self._database.as_ref().map(|db| db.url.clone())
    }

    pub fn tenant(&self) -> uuid::Uuid {
        self.boot.tenant_id.parse().expect("tenant id")
    }

    /// A client-credentials token for Graph.
    pub async fn app_token(&self, client_id: &str, secret: &str) -> String {
        let r = self
            .form(
                &format!("/{}/oauth2/v2.0/token", self.boot.tenant_id),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", "https://graph.microsoft.com/.default"),
                ],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["access_token"].as_str().expect("access_token").to_string()
    }

    /// Sends any request.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.service::<Body>().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }

    /// A Graph request with the bootstrap app's token.
    pub async fn graph(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.graph_with(method, path, body, &self.token, &[]).await
    }

    pub async fn graph_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if !token.is_empty() {
            b = b.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.graph(Method::GET, path, None).await
    }

    pub async fn get_eventual(&self, path: &str) -> Reply {
        self.graph_with(Method::GET, path, None, &self.token, &[("ConsistencyLevel", "eventual")]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.graph(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.graph(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.graph(Method::DELETE, path, None).await
    }

    /// A form POST (token endpoint), optionally with an `Authorization` header.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)], authorization: Option<&str>) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(a) = authorization {
            b = b.header("authorization", a);
        }
        self.send(b.body(Body::from(body)).expect("request")).await
    }

    /// Creates a user and returns its JSON.
    pub async fn user(&self, alias: &str, display_name: &str) -> Value {
        let r = self.post("/v1.0/users", user_body(alias, display_name)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json
    }

    /// Creates a security group and returns its JSON.
    pub async fn group(&self, nickname: &str, display_name: &str) -> Value {
        let r = self
            .post(
                "/v1.0/groups",
                json!({"displayName": display_name, "mailEnabled": false, "mailNickname": nickname, "securityEnabled": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json
    }

    /// Signs arbitrary claims with the tenant's active key (for expiry and permission tests).
    pub async fn sign(&self, claims: Value) -> String {
        let keys = self.app.tokens.tenant_keys(self.tenant()).await.expect("keys");
        let map = claims.as_object().cloned().expect("claims object");
        keys.signer().sign(&map, cerulean_identity::HeaderStyle::KidAndX5t).expect("sign")
    }

    /// Claims like the bootstrap app's token, for tweaking.
    pub fn claims(&self, roles: &[&str]) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "aud": "https://graph.microsoft.com",
            "iss": format!("{PUBLIC_URL}/{}/", self.boot.tenant_id),
            "tid": self.boot.tenant_id,
            "oid": uuid::Uuid::new_v4().to_string(),
            "appid": uuid::Uuid::new_v4().to_string(),
            "idtyp": "app",
            "ver": "1.0",
            "roles": roles,
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + 3600,
        })
    }
}

pub fn user_body(alias: &str, display_name: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": display_name,
        "mailNickname": alias,
        "userPrincipalName": format!("{alias}@contoso.onmicrosoft.com"),
        "passwordProfile": {"forceChangePasswordNextSignIn": false, "password": "xWwvJ]6NMw+bWH-d"},
    })
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// Sends a Graph request through another node's router (an [`App`] on [`Harness::other_store`]):
/// the status and the JSON body (`Null` when the body is not JSON).
pub async fn via(app: &App, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let b = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    let req = match body {
        Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .expect("request");
    let res = app.service::<Body>().oneshot(req).await.expect("infallible");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}
