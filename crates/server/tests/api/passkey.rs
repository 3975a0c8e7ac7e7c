//! Passkeys (FIDO2/WebAuthn) on the sign-in pages, driven by a software authenticator written
//! for these tests: it holds a P-256 (or Ed25519) key, builds `authenticatorData`, the
//! `attestationObject` (CBOR, `packed` self attestation, `packed` with an `x5c` certificate, or
//! `none`) and `clientDataJSON`, and signs like a security key. Registration on
//! `/{tenant}/passkeys/register` for a signed-in user; sign-in username-less (`amr` fido+mfa)
//! and as the second factor after the password (`amr` pwd+fido+mfa); each check of both
//! ceremonies refused on its own; `fido2Methods` on Graph (list, get, delete).

use std::collections::BTreeMap;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use axum::http::{Method, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::browser::{
    Browser, NATIVE_REDIRECT, PASSWORD, claims, hidden, location, redirect_params, registered_app, s256,
};
use crate::harness::{Harness, PUBLIC_URL, Reply, id_of};

const ADELE: &str = "adele@contoso.onmicrosoft.com";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-passkeys-entropy";
const RP_ID: &str = "cerulean.test";
/// Delegated scopes of the test application: the user's own methods on `/me`.
const GRANTED: &str = "User.Read UserAuthenticationMethod.ReadWrite";
const SCOPE: &str = "openid User.Read UserAuthenticationMethod.ReadWrite";
const AAGUID: [u8; 16] =
    [0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a];

// --- a little CBOR encoder -------------------------------------------------------------------

fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => {
            let mut v = vec![m | 25];
            v.extend_from_slice(&(n as u16).to_be_bytes());
            v
        }
        _ => {
            let mut v = vec![m | 26];
            v.extend_from_slice(&(n as u32).to_be_bytes());
            v
        }
    }
}

fn int(i: i64) -> Vec<u8> {
    if i >= 0 { head(0, i as u64) } else { head(1, (-1 - i) as u64) }
}

fn bytes(b: &[u8]) -> Vec<u8> {
    let mut v = head(2, b.len() as u64);
    v.extend_from_slice(b);
    v
}

fn text(t: &str) -> Vec<u8> {
    let mut v = head(3, t.len() as u64);
    v.extend_from_slice(t.as_bytes());
    v
}

fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut v = head(5, entries.len() as u64);
    for (k, val) in entries {
        v.extend_from_slice(k);
        v.extend_from_slice(val);
    }
    v
}

fn array(items: &[Vec<u8>]) -> Vec<u8> {
    let mut v = head(4, items.len() as u64);
    for i in items {
        v.extend_from_slice(i);
    }
    v
}

// --- the software authenticator --------------------------------------------------------------

enum Key {
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// How the authenticator attests a new credential.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    None,
    PackedSelf,
    /// `packed` with a certificate (self-signed, `OU=Authenticator Attestation`).
    PackedX5c,
}

struct Authenticator {
    key: Key,
    credential_id: Vec<u8>,
    count: u32,
    /// What the credential stored as its user handle (the user id of the registration options).
    user_handle: Vec<u8>,
}

/// What to falsify in a ceremony.
#[derive(Default, Clone)]
struct Tamper {
    origin: Option<String>,
    rp_id: Option<String>,
    challenge: Option<String>,
    no_uv: bool,
    bad_signature: bool,
    kind: Option<String>,
}

impl Authenticator {
    fn p256() -> Authenticator {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("key");
        Authenticator { key: Key::P256(key), credential_id: random(32), count: 0, user_handle: Vec::new() }
    }

    fn ed25519() -> Authenticator {
        let key = Ed25519KeyPair::generate().expect("key");
        Authenticator { key: Key::Ed25519(key), credential_id: random(24), count: 0, user_handle: Vec::new() }
    }

    fn cose_key(&self) -> Vec<u8> {
        match &self.key {
            Key::P256(k) => {
                let point = k.public_key().as_ref();
                map(&[
                    (int(1), int(2)),
                    (int(3), int(-7)),
                    (int(-1), int(1)),
                    (int(-2), bytes(&point[1..33])),
                    (int(-3), bytes(&point[33..65])),
                ])
            }
            Key::Ed25519(k) => map(&[
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), bytes(k.public_key().as_ref())),
            ]),
        }
    }

    fn alg(&self) -> i64 {
        match self.key {
            Key::P256(_) => -7,
            Key::Ed25519(_) => -8,
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.key {
            Key::P256(k) => k.sign(&SystemRandom::new(), message).expect("sign").as_ref().to_vec(),
            Key::Ed25519(k) => k.sign(message).as_ref().to_vec(),
        }
    }

    fn auth_data(&self, rp_id: &str, flags: u8, attested: bool) -> Vec<u8> {
        let mut v = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        v.push(flags | if attested { 0x40 } else { 0 });
        v.extend_from_slice(&self.count.to_be_bytes());
        if attested {
            v.extend_from_slice(&AAGUID);
            v.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            v.extend_from_slice(&self.credential_id);
            v.extend_from_slice(&self.cose_key());
        }
        v
    }

    fn client_data(kind: &str, challenge: &str, t: &Tamper) -> Vec<u8> {
        json!({
            "type": t.kind.clone().unwrap_or_else(|| kind.to_string()),
            "challenge": t.challenge.clone().unwrap_or_else(|| challenge.to_string()),
            "origin": t.origin.clone().unwrap_or_else(|| PUBLIC_URL.to_string()),
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// `navigator.credentials.create()` on `options`: the credential JSON the page posts.
    fn create(&mut self, options: &Value, format: Format, t: &Tamper) -> String {
        let o = &options["publicKey"];
        assert_eq!(o["rp"]["id"], RP_ID);
        assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
        self.user_handle = B64.decode(o["user"]["id"].as_str().expect("user id")).expect("b64url");
        let client_data = Self::client_data("webauthn.create", o["challenge"].as_str().expect("challenge"), t);
        let flags = if t.no_uv { 0x01 } else { 0x05 };
        let auth_data = self.auth_data(t.rp_id.as_deref().unwrap_or(RP_ID), flags, true);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
        let stmt = match format {
            Format::None => map(&[]),
            Format::PackedSelf => {
                let mut sig = self.sign(&signed);
                if t.bad_signature {
                    sig[8] ^= 1;
                }
                map(&[(text("alg"), int(self.alg())), (text("sig"), bytes(&sig))])
            }
            Format::PackedX5c => {
                let (cert, key) = attestation_certificate();
                let sig = key.sign(&SystemRandom::new(), &signed).expect("sign").as_ref().to_vec();
                map(&[(text("alg"), int(-7)), (text("sig"), bytes(&sig)), (text("x5c"), array(&[bytes(&cert)]))])
            }
        };
        let fmt = if format == Format::None { "none" } else { "packed" };
        let obj = map(&[(text("fmt"), text(fmt)), (text("attStmt"), stmt), (text("authData"), bytes(&auth_data))]);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {"clientDataJSON": B64.encode(&client_data), "attestationObject": B64.encode(&obj)},
        })
        .to_string()
    }

    /// `navigator.credentials.get()` on `options`: the assertion JSON the page posts. The
    /// counter advances first, as a real authenticator's does.
    fn get(&mut self, options: &Value, t: &Tamper) -> String {
        let o = &options["publicKey"];
        assert_eq!(o["rpId"], RP_ID);
        assert_eq!(o["userVerification"], "required");
        self.count += 1;
        let client_data = Self::client_data("webauthn.get", o["challenge"].as_str().expect("challenge"), t);
        let flags = if t.no_uv { 0x01 } else { 0x05 };
        let auth_data = self.auth_data(t.rp_id.as_deref().unwrap_or(RP_ID), flags, false);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
        let mut sig = self.sign(&signed);
        if t.bad_signature {
            sig[8] ^= 1;
        }
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(&sig),
                "userHandle": B64.encode(&self.user_handle),
            },
        })
        .to_string()
    }
}

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut v).expect("random");
    v
}

/// A self-signed attestation certificate as `packed` requires (v3, not a CA, the OU) and its key.
fn attestation_certificate() -> (Vec<u8>, EcdsaKeyPair) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Test Authenticators");
    params.distinguished_name.push(rcgen::DnType::OrganizationalUnitName, "Authenticator Attestation");
    params.distinguished_name.push(rcgen::DnType::CommonName, "Test Authenticator");
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let cert = params.self_signed(&key).expect("certificate");
    let signer = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der()).expect("pkcs8");
    (cert.der().to_vec(), signer)
}

// --- pages -----------------------------------------------------------------------------------

/// The options JSON a page hands to the script.
fn options_of(page: &Reply) -> Value {
    let start = page.text.find("id=\"passkey-options\">").unwrap_or_else(|| panic!("options in {}", page.text))
        + "id=\"passkey-options\">".len();
    let end = page.text[start..].find("</script>").expect("end") + start;
    serde_json::from_str(&page.text[start..end]).expect("options JSON")
}

fn authorize_url(h: &Harness, client: &str) -> String {
    let q = serde_urlencoded::to_string([
        ("client_id", client),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", SCOPE),
        ("code_challenge", s256(VERIFIER).as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
    ])
    .expect("query");
    format!("/{}/oauth2/v2.0/authorize?{q}", h.boot.tenant_id)
}

fn register_path(h: &Harness) -> String {
    format!("/{}/passkeys/register", h.boot.tenant_id)
}

/// Posts a registration made on `page`'s options.
async fn register(
    h: &Harness,
    b: &mut Browser,
    page: &Reply,
    a: &mut Authenticator,
    format: Format,
    t: &Tamper,
) -> Reply {
    let credential = a.create(&options_of(page), format, t);
    b.post(h, &register_path(h), &[("credential", &credential), ("display_name", "My security key")]).await
}

/// Posts the passkey form of `page` (the sign-in form, or the second-factor step) with an
/// assertion made on its options.
async fn assert_with(h: &Harness, b: &mut Browser, page: &Reply, a: &mut Authenticator, t: &Tamper) -> Reply {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let credential = a.get(&options_of(page), t);
    post_passkey(h, b, page, &credential).await
}

async fn post_passkey(h: &Harness, b: &mut Browser, page: &Reply, credential: &str) -> Reply {
    let form = &page.text[page.text.find("id=\"passkey-form\"").expect("passkey form")..];
    let (flow, csrf) = (hidden(form, "flow"), hidden(form, "csrf"));
    let fields = [("flow", flow.as_str()), ("csrf", csrf.as_str()), ("step", "passkey"), ("credential", credential)];
    b.post(h, &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id), &fields).await
}

/// Redeems the code of a sign-in redirect: the access token's `amr`.
async fn amr_of(h: &Harness, client: &str, r: &Reply) -> Vec<String> {
    let c = claims(&token_of(h, client, r).await, 1);
    c["amr"].as_array().expect("amr").iter().filter_map(Value::as_str).map(str::to_string).collect()
}

/// Redeems the code of a sign-in redirect: the access token.
async fn token_of(h: &Harness, client: &str, r: &Reply) -> String {
    let params: BTreeMap<String, String> = redirect_params(&location(r));
    let t = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client),
                ("code", &params["code"]),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_verifier", VERIFIER),
                ("scope", SCOPE),
            ],
            None,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    t.json["access_token"].as_str().expect("access_token").to_string()
}

/// A browser signed in with the password (an SSO session), on the registration page.
async fn signed_in_browser(h: &Harness, client: &str) -> (Browser, Reply) {
    let mut b = Browser::default();
    let page = b.get(h, &authorize_url(h, client)).await;
    let r = b.sign_in(h, &page, ADELE, PASSWORD).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let page = b.get(h, &register_path(h)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    (b, page)
}

/// Answers the step-up page `page` with an assertion of `a` (posted to the registration page).
async fn step_up(h: &Harness, b: &mut Browser, page: &Reply, a: &mut Authenticator, t: &Tamper) -> Reply {
    assert!(page.text.contains("id=\"step-up\""), "the step-up page: {}", page.text);
    let credential = a.get(&options_of(page), t);
    b.post(h, &register_path(h), &[("step", "passkey"), ("credential", &credential)]).await
}

fn refused(r: &Reply, fragment: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains(fragment), "'{fragment}' in {}", r.text);
    assert!(!r.text.contains("id=\"method\""), "{}", r.text);
}

#[tokio::test]
async fn registration_verifies_the_attestation() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some(GRANTED)).await;

    // Nobody signed in: AADSTS50058.
    let r = Browser::default().get(&h, &register_path(&h)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.text.contains("AADSTS50058"), "{}", r.text);

    let (mut b, page) = signed_in_browser(&h, &client).await;
    // The options: this server as relying party, the user's id as handle, the algorithms, and
    // a script allowed by nonce only.
    let o = options_of(&page);
    assert_eq!(o["publicKey"]["rp"]["id"], RP_ID);
    let handle = B64.decode(o["publicKey"]["user"]["id"].as_str().expect("id")).expect("b64url");
    assert_eq!(uuid::Uuid::from_slice(&handle).expect("uuid").to_string(), adele);
    assert_eq!(o["publicKey"]["user"]["name"], ADELE);
    assert_eq!(
        o["publicKey"]["pubKeyCredParams"],
        json!([{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -8}, {"type": "public-key", "alg": -257}])
    );
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).expect("csp");
    assert!(csp.contains("script-src 'nonce-"), "{csp}");

    let mut a = Authenticator::p256();
    // Each refusal spends its challenge; the page comes back with a fresh one.
    let r = register(
        &h,
        &mut b,
        &page,
        &mut a,
        Format::PackedSelf,
        &Tamper { origin: Some("https://evil.example".into()), ..Tamper::default() },
    )
    .await;
    refused(&r, "origin does not match");
    let r2 = register(
        &h,
        &mut b,
        &r,
        &mut a,
        Format::PackedSelf,
        &Tamper { rp_id: Some("evil.example".into()), ..Tamper::default() },
    )
    .await;
    refused(&r2, "another relying party");
    let r3 = register(&h, &mut b, &r2, &mut a, Format::PackedSelf, &Tamper { no_uv: true, ..Tamper::default() }).await;
    refused(&r3, "unlock it when asked");
    let r4 =
        register(&h, &mut b, &r3, &mut a, Format::PackedSelf, &Tamper { bad_signature: true, ..Tamper::default() })
            .await;
    refused(&r4, "signature does not verify");
    let r5 = register(
        &h,
        &mut b,
        &r4,
        &mut a,
        Format::PackedSelf,
        &Tamper { challenge: Some(B64.encode(random(32))), ..Tamper::default() },
    )
    .await;
    refused(&r5, "expired or was already used");
    let r6 = register(
        &h,
        &mut b,
        &r5,
        &mut a,
        Format::PackedSelf,
        &Tamper { kind: Some("webauthn.get".into()), ..Tamper::default() },
    )
    .await;
    refused(&r6, "not of type webauthn.create");

    // A good one registers; the same answer again is a replayed challenge.
    let credential = a.create(&options_of(&r6), Format::PackedSelf, &Tamper::default());
    let ok = b.post(&h, &register_path(&h), &[("credential", &credential), ("display_name", "My security key")]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert!(ok.text.contains("id=\"method\""), "{}", ok.text);
    // The user now has a method: another passkey needs a recent MFA, proven with the first.
    let up = b.get(&h, &register_path(&h)).await;
    let r = step_up(&h, &mut b, &up, &mut a, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let replay = b.post(&h, &register_path(&h), &[("credential", &credential), ("display_name", "Again")]).await;
    refused(&replay, "expired or was already used");
    // The registered key is now excluded from a new registration's options.
    let excluded = &options_of(&replay)["publicKey"]["excludeCredentials"];
    assert_eq!(excluded, &json!([{"type": "public-key", "id": B64.encode(&a.credential_id)}]));

    // `none` with an Ed25519 key, and `packed` with an attestation certificate.
    let mut ed = Authenticator::ed25519();
    let r = register(&h, &mut b, &replay, &mut ed, Format::None, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut attested = Authenticator::p256();
    let r = register(&h, &mut b, &r, &mut attested, Format::PackedX5c, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Graph: three fido2Methods in Entra's shape, also in `methods`.
    // Listing passkeys by application takes the passkey permission (as the reference has it).
    let reader = h.sign(h.claims(&["UserAuthMethod-Passkey.Read.All", "UserAuthenticationMethod.Read.All"])).await;
    let path = format!("/v1.0/users/{adele}/authentication/fido2Methods");
    let r = h.graph_with(Method::GET, &path, None, &reader, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let value = r.json["value"].as_array().expect("value").clone();
    assert_eq!(value.len(), 3, "{}", r.text);
    let level = |l: &str| value.iter().filter(|m| m["attestationLevel"] == l).cloned().collect::<Vec<_>>();
    let (plain, attested) = (level("notAttested"), level("attested"));
    assert_eq!((plain.len(), attested.len()), (2, 1), "{}", r.text);
    let first = &plain[0];
    assert_eq!(first["displayName"], "My security key");
    assert_eq!(first["aaGuid"], "ee882879-721c-4913-9775-3dfcce97072a");
    assert_eq!(first["attestationCertificates"], json!([]));
    assert!(first.get("@odata.type").is_none(), "{first}");
    for k in ["id", "createdDateTime", "model"] {
        assert!(first.get(k).is_some(), "{k} in {first}");
    }
    assert_eq!(attested[0]["attestationCertificates"].as_array().map(Vec::len), Some(1));
    let id = first["id"].as_str().expect("id");
    let one = h.graph_with(Method::GET, &format!("{path}/{id}"), None, &reader, &[]).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["id"], id);
    let all =
        h.graph_with(Method::GET, &format!("/v1.0/users/{adele}/authentication/methods"), None, &reader, &[]).await;
    let fido = all.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter(|m| m["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethod")
        .count();
    assert_eq!(fido, 3, "{}", all.text);
    // A reader cannot delete; a writer can, once.
    let del = h.graph_with(Method::DELETE, &format!("{path}/{id}"), None, &reader, &[]).await;
    assert_eq!(del.status, StatusCode::FORBIDDEN, "{}", del.text);
    let writer = h.sign(h.claims(&["UserAuthMethod-Passkey.ReadWrite.All"])).await;
    let del = h.graph_with(Method::DELETE, &format!("{path}/{id}"), None, &writer, &[]).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
    let again = h.graph_with(Method::DELETE, &format!("{path}/{id}"), None, &writer, &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    assert_eq!(again.json["error"]["code"], "itemNotFound", "{}", again.text);
}

#[tokio::test]
async fn a_passkey_signs_in_without_a_password() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Username-less: the sign-in form offers any passkey; the user handle names the user.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    assert_eq!(options_of(&page)["publicKey"]["allowCredentials"], json!([]));
    let err = "couldn&#39;t verify your passkey";
    let wrong_origin = assert_with(
        &h,
        &mut b,
        &page,
        &mut a,
        &Tamper { origin: Some("https://evil.example".into()), ..Tamper::default() },
    )
    .await;
    assert!(wrong_origin.text.contains(err) && wrong_origin.text.contains("origin"), "{}", wrong_origin.text);
    let wrong_rp = assert_with(
        &h,
        &mut b,
        &wrong_origin,
        &mut a,
        &Tamper { rp_id: Some("evil.example".into()), ..Tamper::default() },
    )
    .await;
    assert!(wrong_rp.text.contains("another relying party"), "{}", wrong_rp.text);
    let bad_sig =
        assert_with(&h, &mut b, &wrong_rp, &mut a, &Tamper { bad_signature: true, ..Tamper::default() }).await;
    assert!(bad_sig.text.contains("signature does not verify"), "{}", bad_sig.text);
    let no_uv = assert_with(&h, &mut b, &bad_sig, &mut a, &Tamper { no_uv: true, ..Tamper::default() }).await;
    assert!(no_uv.text.contains("unlock it when asked"), "{}", no_uv.text);
    let wrong_challenge = assert_with(
        &h,
        &mut b,
        &no_uv,
        &mut a,
        &Tamper { challenge: Some(B64.encode(random(32))), ..Tamper::default() },
    )
    .await;
    assert!(wrong_challenge.text.contains("expired or was already used"), "{}", wrong_challenge.text);
    // A challenge of another sign-in form is not this form's.
    let mut other = Browser::default();
    let other_page = other.get(&h, &authorize_url(&h, &client)).await;
    let foreign = a.get(&options_of(&other_page), &Tamper::default());
    let r = post_passkey(&h, &mut b, &wrong_challenge, &foreign).await;
    assert!(r.text.contains("expired or was already used"), "{}", r.text);

    let credential = a.get(&options_of(&r), &Tamper::default());
    let ok = post_passkey(&h, &mut b, &r, &credential).await;
    // With a login hint, the offer lists the hinted user's passkeys.
    let hinted = format!("{}&login_hint={}", authorize_url(&h, &client), ADELE.replace('@', "%40"));
    let page = Browser::default().get(&h, &hinted).await;
    let allow = &options_of(&page)["publicKey"]["allowCredentials"];
    assert_eq!(allow, &json!([{"type": "public-key", "id": B64.encode(&a.credential_id)}]));
    let amr = amr_of(&h, &client, &ok).await;
    assert_eq!(amr, vec!["fido".to_string(), "mfa".to_string()]);

    // The same assertion again (a replayed challenge) signs nobody in.
    let mut b2 = Browser::default();
    let page = b2.get(&h, &authorize_url(&h, &client)).await;
    let replay = post_passkey(&h, &mut b2, &page, &credential).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);
    assert!(replay.text.contains("expired or was already used"), "{}", replay.text);
    // A cloned authenticator (its counter behind the last one seen) is refused.
    let saved = a.count;
    a.count = 0;
    let clone = assert_with(&h, &mut b2, &replay, &mut a, &Tamper::default()).await;
    assert!(clone.text.contains("did not increase"), "{}", clone.text);
    a.count = saved;
    let ok = assert_with(&h, &mut b2, &clone, &mut a, &Tamper::default()).await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.text);

    // The signed-in user reads their passkeys on /me (a delegated token from the passkey sign-in).
    let mine = token_of(&h, &client, &ok).await;
    let r = h.graph_with(Method::GET, "/v1.0/me/authentication/fido2Methods", None, &mine, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    let unknown = format!("/v1.0/me/authentication/fido2Methods/{}", uuid::Uuid::new_v4());
    assert_eq!(h.graph_with(Method::DELETE, &unknown, None, &mine, &[]).await.status, StatusCode::NOT_FOUND);

    // Deleted through Graph: the passkey no longer signs in.
    let writer = h.sign(h.claims(&["UserAuthMethod-Passkey.Read.All", "UserAuthenticationMethod.ReadWrite.All"])).await;
    let list = h
        .graph_with(Method::GET, &format!("/v1.0/users/{adele}/authentication/fido2Methods"), None, &writer, &[])
        .await;
    let id = list.json["value"][0]["id"].as_str().expect("id").to_string();
    let path = format!("/v1.0/users/{adele}/authentication/fido2Methods/{id}");
    assert_eq!(h.graph_with(Method::DELETE, &path, None, &writer, &[]).await.status, StatusCode::NO_CONTENT);
    let mut b3 = Browser::default();
    let page = b3.get(&h, &authorize_url(&h, &client)).await;
    let gone = assert_with(&h, &mut b3, &page, &mut a, &Tamper::default()).await;
    assert!(gone.text.contains("don&#39;t recognize this passkey"), "{}", gone.text);
}

#[tokio::test]
async fn a_passkey_is_the_second_factor_after_the_password() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The password grant cannot carry the second factor: AADSTS50076.
    let ropc = h
        .form(
            &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &client),
                ("username", ADELE),
                ("password", PASSWORD),
                ("scope", "User.Read"),
            ],
            None,
        )
        .await;
    assert_eq!(ropc.status, StatusCode::BAD_REQUEST, "{}", ropc.text);
    assert_eq!(ropc.json["error_codes"][0], 50076, "{}", ropc.text);

    // The password is no longer enough: the passkey step follows, for this user's keys only.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let step = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(step.text.contains("Verify your identity"), "{}", step.text);
    let allow = &options_of(&step)["publicKey"]["allowCredentials"];
    assert_eq!(allow, &json!([{"type": "public-key", "id": B64.encode(&a.credential_id)}]));
    let no_uv = assert_with(&h, &mut b, &step, &mut a, &Tamper { no_uv: true, ..Tamper::default() }).await;
    assert!(no_uv.text.contains("unlock it when asked"), "{}", no_uv.text);
    // Another user's key (here: a stranger's) is not this user's.
    let mut stranger = Authenticator::p256();
    stranger.user_handle = a.user_handle.clone();
    let r = assert_with(&h, &mut b, &no_uv, &mut stranger, &Tamper::default()).await;
    assert!(r.text.contains("don&#39;t recognize this passkey"), "{}", r.text);
    let ok = assert_with(&h, &mut b, &r, &mut a, &Tamper::default()).await;
    let amr = amr_of(&h, &client, &ok).await;
    assert_eq!(amr, vec!["pwd".to_string(), "fido".to_string(), "mfa".to_string()]);
}

// --- failures: the sign-in log and smart lockout -----------------------------------------------

/// The beta sign-in log, newest first.
async fn sign_ins(h: &Harness) -> Vec<Value> {
    let r = h.get("/beta/auditLogs/signIns?$top=100").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["value"].as_array().expect("value").clone()
}

/// The one logged sign-in with this error code.
fn logged(rows: &[Value], code: i64) -> Value {
    let found: Vec<&Value> = rows.iter().filter(|r| r["status"]["errorCode"] == code).collect();
    assert_eq!(found.len(), 1, "one sign-in with {code} in {rows:#?}");
    found[0].clone()
}

/// `authenticationDetails` as (method, requirement, succeeded) triples.
fn steps(row: &Value) -> Vec<(String, String, bool)> {
    row["authenticationDetails"]
        .as_array()
        .unwrap_or_else(|| panic!("authenticationDetails in {row}"))
        .iter()
        .map(|d| {
            (
                d["authenticationMethod"].as_str().expect("method").to_string(),
                d["authenticationStepRequirement"].as_str().expect("requirement").to_string(),
                d["succeeded"].as_bool().expect("succeeded"),
            )
        })
        .collect()
}

fn passkey_step(requirement: &str, ok: bool) -> (String, String, bool) {
    ("Passkey (device-bound)".into(), requirement.into(), ok)
}

fn with_aids(lockout: cerulean_directory::LockoutPolicy) -> cerulean::app::AppOptions {
    cerulean::app::AppOptions { emulator_aids: true, lockout, ..cerulean::app::AppOptions::default() }
}

#[tokio::test]
async fn refused_passkeys_are_in_the_sign_in_log_with_entras_fido_codes() {
    let h = Harness::with_options("contoso.onmicrosoft.com", with_aids(Default::default())).await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let r = assert_with(&h, &mut b, &page, &mut a, &Tamper { bad_signature: true, ..Tamper::default() }).await;
    assert!(r.text.contains("signature does not verify"), "{}", r.text);
    let r = assert_with(&h, &mut b, &r, &mut a, &Tamper { no_uv: true, ..Tamper::default() }).await;
    let r = assert_with(
        &h,
        &mut b,
        &r,
        &mut a,
        &Tamper { origin: Some("https://evil.example".into()), ..Tamper::default() },
    )
    .await;
    // A key the user does not have, and a user handle that names nobody.
    let mut stranger = Authenticator::p256();
    stranger.user_handle = a.user_handle.clone();
    let r = assert_with(&h, &mut b, &r, &mut stranger, &Tamper::default()).await;
    let mut nobody = Authenticator::p256();
    nobody.user_handle = uuid::Uuid::new_v4().as_bytes().to_vec();
    let r = assert_with(&h, &mut b, &r, &mut nobody, &Tamper::default()).await;
    assert!(r.text.contains("don&#39;t recognize this passkey"), "{}", r.text);
    // Another form's challenge, then this form's after its five minutes.
    let other_page = Browser::default().get(&h, &authorize_url(&h, &client)).await;
    let foreign = a.get(&options_of(&other_page), &Tamper::default());
    let r = post_passkey(&h, &mut b, &r, &foreign).await;
    let late = a.get(&options_of(&r), &Tamper::default());
    let advanced = h.post("/cerulean/emulator/clock/advance", json!({"seconds": 301})).await;
    assert_eq!(advanced.status, StatusCode::OK, "{}", advanced.text);
    let r = post_passkey(&h, &mut b, &r, &late).await;
    assert!(r.text.contains("expired or was already used"), "{}", r.text);
    // Six failures stay under the threshold (ten): the passkey signs in, and a clone of it
    // (its counter behind) is refused.
    let ok = assert_with(&h, &mut b, &r, &mut a, &Tamper::default()).await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.text);
    let mut b2 = Browser::default();
    let page = b2.get(&h, &authorize_url(&h, &client)).await;
    a.count = 0;
    let clone = assert_with(&h, &mut b2, &page, &mut a, &Tamper::default()).await;
    assert!(clone.text.contains("did not increase"), "{}", clone.text);

    let rows = sign_ins(&h).await;
    for (code, reason) in [
        (135000, "Fido signature verification failed."),
        (135003, "Fido assertion verification failed. Invalid gesture provided."),
        (135008, "Relying Party Origin is not valid."),
        (135010, "UserPrincipal doesn't have the key ID configured."),
        (135018, "Invalid challenge received from fido assertion."),
        (135019, "Expired Challenge received from Fido assertion."),
        (135017, "Unexpected Signature Counter received from authenticator."),
    ] {
        let row = logged(&rows, code);
        assert_eq!(row["status"]["failureReason"], reason, "{row}");
        assert_eq!(row["userPrincipalName"], ADELE, "{row}");
        assert_eq!(row["userId"], adele, "{row}");
        assert_eq!(row["isInteractive"], true, "{row}");
        assert_eq!(row["appId"], client, "{row}");
        assert_eq!(steps(&row), vec![passkey_step("Primary authentication", false)], "{row}");
        assert_eq!(row["authenticationDetails"][0]["authenticationStepResultDetail"], reason, "{row}");
        assert_eq!(row["authenticationMethodsUsed"], json!([]), "{row}");
    }
    // Nobody's handle: the failure is logged without a user.
    let row = logged(&rows, 500344);
    assert_eq!(row["status"]["failureReason"], "User Account is not found for Fido Sign in flow.", "{row}");
    assert_eq!(row["userId"], "", "{row}");
    assert!(row["userPrincipalName"].is_null(), "{row}");
    // The success: a passkey, primary and multifactor in one.
    let success: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["status"]["errorCode"] == 0 && r["authenticationMethodsUsed"] == json!(["Passkey (device-bound)"])
        })
        .collect();
    assert_eq!(success.len(), 1, "{rows:#?}");
    let row = success[0];
    assert_eq!(row["userId"], adele, "{row}");
    assert_eq!(steps(row), vec![passkey_step("Primary authentication", true)], "{row}");
    assert_eq!(row["authenticationRequirement"], "multiFactorAuthentication", "{row}");
    assert_eq!(row["mfaDetail"]["authMethod"], "Passkey (device-bound)", "{row}");
    // The password sign-ins of the setup show their step too; v1.0 has no authenticationDetails.
    let password =
        rows.iter().find(|r| r["authenticationMethodsUsed"] == json!(["Password"])).expect("password sign-in");
    assert_eq!(password["authenticationDetails"][0]["authenticationStepResultDetail"], "Correct password");
    let v1 = h.get("/v1.0/auditLogs/signIns?$top=100").await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    assert!(v1.json["value"].as_array().expect("value").iter().all(|r| r.get("authenticationDetails").is_none()));
}

#[tokio::test]
async fn passkey_failures_count_toward_smart_lockout() {
    let lockout = cerulean_directory::LockoutPolicy { threshold: 3, duration_secs: 60 };
    let h = Harness::with_options("contoso.onmicrosoft.com", with_aids(lockout)).await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A refused second factor is logged after the correct password.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let step = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    let r = assert_with(&h, &mut b, &step, &mut a, &Tamper { no_uv: true, ..Tamper::default() }).await;
    assert!(r.text.contains("unlock it when asked"), "{}", r.text);
    let row = logged(&sign_ins(&h).await, 135003);
    assert_eq!(
        steps(&row),
        vec![("Password".to_string(), "Primary authentication".to_string(), true), passkey_step("MFA", false)],
        "{row}"
    );

    // Two more refused passkeys (username-less) reach the threshold: the third is AADSTS50053.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let r = assert_with(&h, &mut b, &page, &mut a, &Tamper { bad_signature: true, ..Tamper::default() }).await;
    assert!(r.text.contains("signature does not verify"), "{}", r.text);
    let r = assert_with(
        &h,
        &mut b,
        &r,
        &mut a,
        &Tamper { origin: Some("https://evil.example".into()), ..Tamper::default() },
    )
    .await;
    assert!(r.text.contains("AADSTS50053"), "{}", r.text);
    // Locked: the good passkey is refused too (not checked), and so is the password.
    let r = assert_with(&h, &mut b, &r, &mut a, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("AADSTS50053"), "{}", r.text);
    let mut b2 = Browser::default();
    let page = b2.get(&h, &authorize_url(&h, &client)).await;
    let r2 = b2.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(r2.text.contains("AADSTS50053"), "{}", r2.text);
    let locked: Vec<Value> = sign_ins(&h).await.into_iter().filter(|r| r["status"]["errorCode"] == 50053).collect();
    assert_eq!(locked.len(), 3, "{locked:#?}");
    assert!(locked.iter().all(|r| r["userPrincipalName"] == ADELE), "{locked:#?}");
    assert_eq!(locked.iter().filter(|r| steps(r) == vec![passkey_step("Primary authentication", false)]).count(), 2);

    // The lockout ends after its minute (the server's clock): the passkey signs in.
    let advanced = h.post("/cerulean/emulator/clock/advance", json!({"seconds": 61})).await;
    assert_eq!(advanced.status, StatusCode::OK, "{}", advanced.text);
    let ok = assert_with(&h, &mut b, &r, &mut a, &Tamper::default()).await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.text);

    // The success reset the count; three refused second factors lock the account again, and
    // the sign-in ends on Entra's error page.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let mut r = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    for _ in 0..2 {
        r = assert_with(&h, &mut b, &r, &mut a, &Tamper { bad_signature: true, ..Tamper::default() }).await;
        assert!(r.text.contains("signature does not verify"), "{}", r.text);
    }
    let r = assert_with(&h, &mut b, &r, &mut a, &Tamper { bad_signature: true, ..Tamper::default() }).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("50053"), "{}", r.text);
}

#[tokio::test]
async fn a_risky_passwordless_user_changes_the_password_after_the_passkey() {
    use axum::http::Method;
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // High user risk, under a "secure password change" policy.
    let risk = h.sign(h.claims(&["IdentityRiskyUser.ReadWrite.All", "IdentityRiskyUser.Read.All"])).await;
    let confirm = h
        .graph_with(
            Method::POST,
            "/v1.0/identityProtection/riskyUsers/confirmCompromised",
            Some(json!({ "userIds": [adele] })),
            &risk,
            &[],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::NO_CONTENT, "{}", confirm.text);
    let policy = json!({
        "displayName": "Secure password change for high user risk",
        "state": "enabled",
        "conditions": {
            "users": { "includeUsers": ["All"] },
            "applications": { "includeApplications": ["All"] },
            "userRiskLevels": ["high"],
        },
        "grantControls": { "operator": "AND", "builtInControls": ["mfa", "passwordChange"] },
    });
    let admin = h.sign(h.claims(&["Policy.ReadWrite.ConditionalAccess"])).await;
    let created =
        h.graph_with(Method::POST, "/v1.0/identity/conditionalAccess/policies", Some(policy), &admin, &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // The passkey (multi-factor by itself) leads to the password change, not to the application.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let change = assert_with(&h, &mut b, &page, &mut a, &Tamper::default()).await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.text);
    assert!(change.text.contains("Update your password"), "{}", change.text);
    let state = |r: Reply| r.json["riskState"].clone();
    let path = format!("/v1.0/identityProtection/riskyUsers/{adele}");
    assert_eq!(state(h.graph_with(Method::GET, &path, None, &risk, &[]).await), "confirmedCompromised");
    let (flow, csrf, step) = (hidden(&change.text, "flow"), hidden(&change.text, "csrf"), hidden(&change.text, "step"));
    let fields = [
        ("flow", flow.as_str()),
        ("csrf", csrf.as_str()),
        ("step", step.as_str()),
        ("new_password", "Brand-New-Pa55!"),
        ("confirm_password", "Brand-New-Pa55!"),
    ];
    let done = b.post(&h, &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id), &fields).await;
    let amr = amr_of(&h, &client, &done).await;
    assert!(amr.iter().any(|m| m == "fido") && amr.iter().any(|m| m == "mfa"), "{amr:?}");
    assert_eq!(state(h.graph_with(Method::GET, &path, None, &risk, &[]).await), "remediated");
}

#[tokio::test]
async fn refused_accounts_on_the_sign_in_page_are_logged() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some(GRANTED)).await;

    // An account nobody has: logged with the name as typed, and no user.
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let r = b.sign_in(&h, &page, "nobody@contoso.onmicrosoft.com", PASSWORD).await;
    assert!(r.text.contains("AADSTS50034"), "{}", r.text);
    let row = logged(&sign_ins(&h).await, 50034);
    assert_eq!(row["userPrincipalName"], "nobody@contoso.onmicrosoft.com", "{row}");
    assert_eq!(row["userId"], "", "{row}");
    assert_eq!(row["appId"], client, "{row}");
    assert_eq!(row["isInteractive"], true, "{row}");

    // A disabled account with the right password: logged against the user.
    let r = h.patch(&format!("/v1.0/users/{adele}"), json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let r = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    assert!(r.text.contains("50057"), "{}", r.text);
    let row = logged(&sign_ins(&h).await, 50057);
    assert_eq!(row["userId"], adele, "{row}");
    assert_eq!(row["status"]["failureReason"], "The user account is disabled.", "{row}");
    assert_eq!(row["conditionalAccessStatus"], "notApplied", "{row}");
}

/// Entra: "Before a user can register a passkey (FIDO2), they must complete multifactor
/// authentication (MFA) within the past five minutes." The first passkey follows a password
/// sign-in; the next one needs a step-up with the first (a refused step-up is asked again),
/// and five minutes later the step-up is due again.
#[tokio::test]
async fn another_passkey_needs_a_recent_mfa() {
    let h = Harness::new().await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let first = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.text.contains("id=\"method\""), "{}", first.text);

    // The password session no longer opens the registration page: a passkey ceremony limited
    // to the user's passkey is offered instead.
    let up = b.get(&h, &register_path(&h)).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    assert!(up.text.contains("id=\"step-up\""), "{}", up.text);
    assert!(!up.text.contains("id=\"otc\""), "no authenticator app, no code form: {}", up.text);
    let offered = options_of(&up);
    assert!(offered["publicKey"].get("user").is_none(), "a sign-in ceremony, not a registration: {offered}");
    assert_eq!(
        offered["publicKey"]["allowCredentials"],
        json!([{"type": "public-key", "id": B64.encode(&a.credential_id)}])
    );

    // A registration posted anyway (options of the earlier page) is refused with the step-up.
    let mut second = Authenticator::ed25519();
    let r = register(&h, &mut b, &first, &mut second, Format::None, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("requires multifactor authentication within the last 5 minutes"), "{}", r.text);
    assert!(!r.text.contains("id=\"method\""), "{}", r.text);

    // A step-up that does not verify is asked again, with a fresh challenge.
    let again = step_up(&h, &mut b, &r, &mut a, &Tamper { bad_signature: true, ..Tamper::default() }).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert!(again.text.contains("signature does not verify"), "{}", again.text);
    assert_ne!(options_of(&again)["publicKey"]["challenge"], options_of(&r)["publicKey"]["challenge"]);

    // The first passkey proves it: the registration page, and the second passkey registers.
    let open = step_up(&h, &mut b, &again, &mut a, &Tamper::default()).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    assert!(options_of(&open)["publicKey"].get("user").is_some(), "registration options: {}", open.text);
    let r = register(&h, &mut b, &open, &mut second, Format::None, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"method\""), "{}", r.text);
    let excluded = options_of(&r)["publicKey"]["excludeCredentials"].as_array().map(Vec::len);
    assert_eq!(excluded, Some(2), "{}", r.text);

    // Five minutes on, the step-up is due again.
    cerulean_store::clock::advance(5 * 60 + 1);
    let later = b.get(&h, &register_path(&h)).await;
    assert!(later.text.contains("id=\"step-up\""), "{}", later.text);
    let mut third = Authenticator::p256();
    let r = register(&h, &mut b, &r, &mut third, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// A user whose method is an authenticator app: the sign-in that used it is a recent MFA (the
/// registration page opens at once); five minutes later the step-up asks for a code, and a
/// wrong one is asked again.
#[tokio::test]
async fn an_authenticator_app_code_steps_up_for_a_passkey() {
    use cerulean_identity::otp;
    let options = cerulean::app::AppOptions { require_mfa: true, ..Default::default() };
    let h = Harness::with_options("contoso.onmicrosoft.com", options).await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    let enrol = b.sign_in(&h, &page, ADELE, PASSWORD).await;
    let start = enrol.text.find("<code id=\"secret\">").expect("the secret is shown") + "<code id=\"secret\">".len();
    let end = enrol.text[start..].find("</code>").expect("end") + start;
    let secret = otp::base32_decode(&enrol.text[start..end]).expect("base32 secret");
    let code = |offset: i64| otp::totp(&secret, otp::step_of(cerulean_store::clock::unix_now()) + offset);
    let (flow, csrf, step) = (hidden(&enrol.text, "flow"), hidden(&enrol.text, "csrf"), hidden(&enrol.text, "step"));
    let fields = [("flow", flow.as_str()), ("csrf", csrf.as_str()), ("step", step.as_str()), ("otc", &code(0))];
    let r = b.post(&h, &format!("/{}/oauth2/v2.0/login", h.boot.tenant_id), &fields).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);

    let open = b.get(&h, &register_path(&h)).await;
    assert!(open.text.contains("id=\"passkey-options\""), "{}", open.text);
    assert!(!open.text.contains("id=\"step-up\""), "the sign-in was multifactor just now: {}", open.text);

    cerulean_store::clock::advance(10 * 60);
    let up = b.get(&h, &register_path(&h)).await;
    assert!(up.text.contains("id=\"step-up\""), "{}", up.text);
    assert!(up.text.contains("id=\"otc\""), "{}", up.text);
    assert!(!up.text.contains("id=\"passkey-form\""), "no passkey yet: {}", up.text);
    let wrong = b.post(&h, &register_path(&h), &[("step", "totp"), ("otc", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.text);
    assert!(wrong.text.contains("incorrect code") && wrong.text.contains("id=\"otc\""), "{}", wrong.text);
    let r = b.post(&h, &register_path(&h), &[("step", "totp"), ("otc", &code(0))]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &r, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"method\""), "{}", r.text);
}

/// A step-up that fails counts toward smart lockout like a failed sign-in: the attempt that
/// reaches the threshold ends on the error page with AADSTS50053, not on another prompt.
#[tokio::test]
async fn refused_step_ups_count_toward_smart_lockout() {
    let lockout = cerulean_directory::LockoutPolicy { threshold: 2, duration_secs: 60 };
    let h = Harness::with_options("contoso.onmicrosoft.com", with_aids(lockout)).await;
    h.user("adele", "Adele Vance").await;
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let up = b.get(&h, &register_path(&h)).await;
    let bad = Tamper { bad_signature: true, ..Tamper::default() };
    let r = step_up(&h, &mut b, &up, &mut a, &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("signature does not verify"), "{}", r.text);
    let r = step_up(&h, &mut b, &r, &mut a, &bad).await;
    assert!(r.text.contains("AADSTS50053"), "{}", r.text);
    assert!(!r.text.contains("id=\"step-up\""), "{}", r.text);
}

#[tokio::test]
async fn a_policy_blocking_a_passkey_sign_in_is_logged_after_the_passkey() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let (client, _) = registered_app(&h, Some(GRANTED)).await;
    let (mut b, page) = signed_in_browser(&h, &client).await;
    let mut a = Authenticator::p256();
    let r = register(&h, &mut b, &page, &mut a, Format::PackedSelf, &Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let block = json!({ "operator": "OR", "builtInControls": ["block"] });
    crate::ca_session::enabled_policy(&h, "Block", json!({}), block).await;

    let mut b = Browser::default();
    let page = b.get(&h, &authorize_url(&h, &client)).await;
    refused(&assert_with(&h, &mut b, &page, &mut a, &Tamper::default()).await, "53003");
    let row = logged(&sign_ins(&h).await, 53003);
    assert_eq!(row["userId"], adele, "{row}");
    assert_eq!(steps(&row), vec![passkey_step("Primary authentication", true)], "{row}");
    // The passkey is multi-factor: the policies were evaluated, and logged, with MFA done.
    assert_eq!(row["authenticationRequirement"], "multiFactorAuthentication", "{row}");
    assert_eq!(row["conditionalAccessStatus"], "failure", "{row}");
    assert_eq!(row["appliedConditionalAccessPolicies"][0]["enforcedGrantControls"], json!(["block"]), "{row}");
}
