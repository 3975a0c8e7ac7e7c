//! A scripted user agent for the sign-in pages: plain HTTP requests with a cookie jar, and the
//! few HTML reads a user's eyes would do (hidden fields, a form's action).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{Harness, Reply, id_of};

pub const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
pub const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
pub const NATIVE_REDIRECT: &str = "http://localhost:8400/callback";
pub const SPA_REDIRECT: &str = "https://spa.example/cb";
pub const WEB_REDIRECT: &str = "https://web.example/signin-oidc";

#[derive(Default)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` seen, as sent.
    pub set_cookies: Vec<String>,
    /// The browser's address, sent as `X-Forwarded-For` through a proxy at 10.0.0.1 (trusted
    /// when the harness trusts 10.0.0.0/8).
    pub forwarded_for: Option<String>,
    /// The `User-Agent` sent with every request, if any.
    pub user_agent: Option<String>,
}

impl Browser {
    fn absorb(&mut self, r: &Reply) {
        for v in r.headers.get_all(header::SET_COOKIE) {
            let text = v.to_str().expect("ascii cookie").to_string();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
            self.set_cookies.push(text);
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Sends `req` from the browser's address (see `forwarded_for`).
    async fn send(&self, h: &Harness, mut req: Request<Body>) -> Reply {
        if let Some(ip) = &self.forwarded_for {
            req.headers_mut().insert("x-forwarded-for", ip.parse().expect("header value"));
            let peer: std::net::SocketAddr = "10.0.0.1:443".parse().expect("peer");
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        }
        h.send(req).await
    }

    /// A request with the browser's cookies and its `User-Agent`, if it has one.
    fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        let b = Request::builder().method(method).uri(uri).header(header::COOKIE, self.cookie_header());
        match &self.user_agent {
            Some(ua) => b.header(header::USER_AGENT, ua.as_str()),
            None => b,
        }
    }

    pub async fn get(&mut self, h: &Harness, uri: &str) -> Reply {
        let req = self.request(Method::GET, uri).body(Body::empty()).expect("request");
        let r = self.send(h, req).await;
        self.absorb(&r);
        r
    }

    pub async fn post(&mut self, h: &Harness, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let req = self
            .request(Method::POST, uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(fields).expect("form")))
            .expect("request");
        let r = self.send(h, req).await;
        self.absorb(&r);
        r
    }

    /// Fills in the sign-in form of `page` and submits it.
    pub async fn sign_in(&mut self, h: &Harness, page: &Reply, username: &str, password: &str) -> Reply {
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let action = attr_after(&page.text, "<form method=\"post\" action=\"");
        let flow = hidden(&page.text, "flow");
        let csrf = hidden(&page.text, "csrf");
        self.post(
            h,
            &action,
            &[("flow", &flow), ("csrf", &csrf), ("username", username), ("password", password), ("action", "signin")],
        )
        .await
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn attr_after(html: &str, prefix: &str) -> String {
    let start = html.find(prefix).unwrap_or_else(|| panic!("'{prefix}' in {html}")) + prefix.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    unescape(&html[start..end])
}

/// The value of the hidden input `name`.
pub fn hidden(html: &str, name: &str) -> String {
    attr_after(html, &format!("name=\"{name}\" value=\""))
}

/// The `Location` of a redirect.
pub fn location(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("location").to_string()
}

/// The query (or fragment) parameters of a redirect.
pub fn redirect_params(loc: &str) -> BTreeMap<String, String> {
    let q = loc.split_once(['?', '#']).map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).expect("params").into_iter().collect()
}

/// RFC 7636 S256 of a verifier.
pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    let hex = cerulean_identity::user_tokens::refresh_token_hash(verifier);
    let bytes: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn claims(token: &str, i: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(i).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// The password grant for adele (`adele@contoso.onmicrosoft.com`, [`PASSWORD`]) at the v2.0
/// token endpoint: tokens issued without a browser.
pub async fn adele_password_grant(h: &Harness, client_id: &str, scope: &str) -> Reply {
    h.form(
        &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
        &[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", "adele@contoso.onmicrosoft.com"),
            ("password", PASSWORD),
            ("scope", scope),
        ],
        None,
    )
    .await
}

pub fn assert_oauth(r: &Reply, status: u16, error: &str, code: u64) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.json["error"], error, "{}", r.text);
    assert_eq!(r.json["error_codes"][0], code, "{}", r.text);
}

/// An application registered with native, SPA and web redirect URIs (and `isFallbackPublicClient`
/// for the device flow), its service principal, and a tenant-wide grant of `scope` on Graph.
/// Returns (appId, application object id).
pub async fn registered_app(h: &Harness, scope: Option<&str>) -> (String, String) {
    let r = h
        .post(
            "/v1.0/applications",
            json!({
                "displayName": "Browser app",
                "isFallbackPublicClient": true,
                "publicClient": {"redirectUris": [NATIVE_REDIRECT]},
                "spa": {"redirectUris": [SPA_REDIRECT]},
                "web": {"redirectUris": [WEB_REDIRECT]},
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").to_string();
    let object_id = id_of(&r.json);
    let sp = h.post("/v1.0/servicePrincipals", json!({"appId": app_id})).await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    if let Some(scope) = scope {
        let graph = h.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH}')")).await;
        let grant = h
            .post(
                "/v1.0/oauth2PermissionGrants",
                json!({"clientId": id_of(&sp.json), "consentType": "AllPrincipals", "resourceId": id_of(&graph.json), "scope": scope}),
            )
            .await;
        assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text);
    }
    (app_id, object_id)
}
