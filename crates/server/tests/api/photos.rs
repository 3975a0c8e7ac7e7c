//! Profile photos (`/users/{id}/photo`, `/groups/{id}/photo`, `/me/photo`, `photos`) and the
//! Azure AD Graph 1.6 `thumbnailPhoto` stream over the same stored photo: upload checks (type
//! from the bytes, 4 MB), metadata from the image header, ETag and `If-None-Match`, Graph's
//! `ImageNotFound`, permissions.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::aadgraph::{aad_token, url};
use crate::harness::{Harness, Reply, id_of};

/// A minimal PNG header of `w` x `h` pixels (what the server reads), plus padding.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    b
}

/// A minimal baseline JPEG header of `w` x `h` pixels.
fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    b
}

async fn raw(h: &Harness, method: Method, path: &str, token: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let mut b = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    h.send(b.body(Body::from(body)).expect("request")).await
}

async fn put(h: &Harness, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
    raw(h, Method::PUT, path, token, &[("content-type", content_type)], body).await
}

fn image_not_found(r: &Reply) {
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.code(), "ImageNotFound");
    assert_eq!(
        r.message(),
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown."
    );
}

#[tokio::test]
async fn user_photos_are_uploaded_read_cached_and_deleted() {
    let h = Harness::new().await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let base = format!("/v1.0/users/{adele}");

    // None yet.
    image_not_found(&h.get(&format!("{base}/photo")).await);
    image_not_found(&h.get(&format!("{base}/photo/$value")).await);
    image_not_found(&h.delete(&format!("{base}/photo")).await);
    let r = h.get(&format!("{base}/photos")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["value"], json!([]));

    // A JPEG; the metadata comes from its header.
    let image = jpeg(240, 180);
    let r = put(&h, &format!("{base}/photo/$value"), &h.token, "image/jpeg", image.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let etag = r.headers.get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_string();
    let r = h.get(&format!("{base}/photo")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json["@odata.context"],
        format!("https://cerulean.test/v1.0/$metadata#users('{adele}')/photo/$entity")
    );
    assert_eq!(r.json["@odata.mediaContentType"], "image/jpeg");
    assert_eq!(r.json["@odata.mediaEtag"], etag.as_str());
    assert_eq!(
        (r.json["id"].as_str(), r.json["width"].as_i64(), r.json["height"].as_i64()),
        (Some("240X180"), Some(240), Some(180))
    );
    let r = h.get(&format!("{base}/photos")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.json["value"][0]["id"], "240X180");
    assert_eq!(h.get(&format!("{base}/photos/240X180")).await.status, StatusCode::OK);
    image_not_found(&h.get(&format!("{base}/photos/48X48")).await);

    // The bytes come back as sent, with their type and ETag; a matching If-None-Match is a 304.
    let r = raw(&h, Method::GET, &format!("{base}/photo/$value"), &h.token, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("image/jpeg"));
    assert_eq!(r.headers.get("etag").and_then(|v| v.to_str().ok()), Some(etag.as_str()));
    assert_eq!(r.text.as_bytes(), String::from_utf8_lossy(&image).as_bytes());
    let r =
        raw(&h, Method::GET, &format!("{base}/photo/$value"), &h.token, &[("if-none-match", &etag)], Vec::new()).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r =
        raw(&h, Method::GET, &format!("{base}/photo/$value"), &h.token, &[("if-none-match", "\"old\"")], Vec::new())
            .await;
    assert_eq!(r.status, StatusCode::OK);

    // Replacing it changes type, size and ETag; the UPN addresses the same user.
    let r = put(&h, "/v1.0/users/adele@contoso.onmicrosoft.com/photo/$value", &h.token, "image/png", png(96, 64)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(r.headers.get("etag").and_then(|v| v.to_str().ok()), Some(etag.as_str()));
    let r = h.get(&format!("{base}/photo")).await;
    assert_eq!((r.json["@odata.mediaContentType"].as_str(), r.json["id"].as_str()), (Some("image/png"), Some("96X64")));

    // Refused uploads: another type, bytes that are not the declared image, too large.
    let r = put(&h, &format!("{base}/photo/$value"), &h.token, "image/gif", b"GIF89a\x01\0\x01\0".to_vec()).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType"), "{}", r.text);
    let r = put(&h, &format!("{base}/photo/$value"), &h.token, "image/jpeg", png(10, 10)).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "ImageInvalid"), "{}", r.text);
    let r = put(&h, &format!("{base}/photo/$value"), &h.token, "image/png", b"not an image".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let mut big = png(4000, 4000);
    big.resize(4 * 1024 * 1024 + 1, 0);
    let r = put(&h, &format!("{base}/photo/$value"), &h.token, "image/png", big).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"), "{}", r.text);
    let mut largest = png(4000, 4000);
    largest.resize(4 * 1024 * 1024, 0);
    let r = put(&h, &format!("{base}/photo/$value"), &h.token, "image/png", largest).await;
    assert_eq!(r.status, StatusCode::OK, "exactly 4 MB is accepted: {}", r.text);
    // Unknown users.
    let r =
        put(&h, &format!("/v1.0/users/{}/photo/$value", uuid::Uuid::new_v4()), &h.token, "image/png", png(1, 1)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Delete, then none again.
    let r = h.delete(&format!("{base}/photo")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    image_not_found(&h.get(&format!("{base}/photo/$value")).await);
}

#[tokio::test]
async fn group_photos_and_permissions() {
    let h = Harness::new().await;
    let group = id_of(&h.group("sales", "Sales").await);
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let r = put(&h, &format!("/v1.0/groups/{group}/photo/$value"), &h.token, "image/png", png(48, 48)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{group}/photo")).await;
    assert_eq!(
        r.json["@odata.context"],
        format!("https://cerulean.test/v1.0/$metadata#groups('{group}')/photo/$entity")
    );
    assert_eq!(r.json["id"], "48X48");
    // A user's photo is not the group's.
    image_not_found(&h.get(&format!("/v1.0/users/{adele}/photo")).await);

    // Per the permission reference: reading needs ProfilePhoto.Read.All (or User.Read.All, ...),
    // writing ProfilePhoto.ReadWrite.All or User.ReadWrite.All; Group.Read.All reads groups only.
    let reader = h.sign(h.claims(&["ProfilePhoto.Read.All"])).await;
    let r = raw(&h, Method::GET, &format!("/v1.0/groups/{group}/photo/$value"), &reader, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = put(&h, &format!("/v1.0/users/{adele}/photo/$value"), &reader, "image/png", png(1, 1)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let group_reader = h.sign(h.claims(&["Group.Read.All"])).await;
    let r = raw(&h, Method::GET, &format!("/v1.0/users/{adele}/photo"), &group_reader, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let writer = h.sign(h.claims(&["ProfilePhoto.ReadWrite.All"])).await;
    let r = put(&h, &format!("/v1.0/users/{adele}/photo/$value"), &writer, "image/png", png(2, 2)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = raw(&h, Method::DELETE, &format!("/v1.0/groups/{group}/photo"), &writer, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn me_photo_for_the_signed_in_user() {
    let h = Harness::new().await;
    let megan = id_of(&h.user("megan", "Megan Bowen").await);
    let mut claims = h.claims(&[]);
    let c = claims.as_object_mut().expect("claims");
    c.remove("roles");
    c.insert("idtyp".into(), json!("user"));
    c.insert("oid".into(), json!(megan));
    c.insert("scp".into(), json!("User.ReadWrite"));
    let token = h.sign(claims).await;

    let r = raw(&h, Method::GET, "/v1.0/me/photo", &token, &[], Vec::new()).await;
    image_not_found(&r);
    // A member may set their own photo, through /me and through /users/{own id}.
    let r = put(&h, "/v1.0/me/photo/$value", &token, "image/jpeg", jpeg(64, 64)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = raw(&h, Method::GET, "/v1.0/me/photo", &token, &[], Vec::new()).await;
    assert_eq!((r.status, r.json["id"].as_str()), (StatusCode::OK, Some("64X64")), "{}", r.text);
    let r = raw(&h, Method::GET, "/v1.0/me/photos/64x64", &token, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = put(&h, &format!("/v1.0/users/{megan}/photo/$value"), &token, "image/png", png(32, 32)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{megan}/photo")).await;
    assert_eq!(r.json["id"], "32X32", "the same photo: {}", r.text);
    // ... but not another user's photo without a role.
    let adele = id_of(&h.user("adele", "Adele Vance").await);
    let r = put(&h, &format!("/v1.0/users/{adele}/photo/$value"), &token, "image/png", png(32, 32)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = raw(&h, Method::DELETE, "/v1.0/me/photo", &token, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    image_not_found(&raw(&h, Method::GET, "/v1.0/me/photo/$value", &token, &[], Vec::new()).await);
    // App tokens have no /me.
    let r = raw(&h, Method::GET, "/v1.0/me/photo", &h.token, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn aad_graph_thumbnail_photo_is_the_same_photo() {
    let h = Harness::new().await;
    let aad = aad_token(&h).await;
    let adele = id_of(&h.user("adele", "Adele Vance").await);

    let r = raw(&h, Method::GET, &url(&h, &format!("users/{adele}/thumbnailPhoto")), &aad, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.json["odata.error"]["code"], "Request_ResourceNotFound");

    // Written through 1.6 (by UPN), read through v1.0.
    let image = jpeg(120, 90);
    let r = put(&h, &url(&h, "users/adele@contoso.onmicrosoft.com/thumbnailPhoto"), &aad, "image/jpeg", image.clone())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/users/{adele}/photo")).await;
    assert_eq!(
        (r.json["id"].as_str(), r.json["@odata.mediaContentType"].as_str()),
        (Some("120X90"), Some("image/jpeg"))
    );

    // Written through v1.0, read through 1.6.
    let image = png(20, 10);
    let r = put(&h, &format!("/v1.0/users/{adele}/photo/$value"), &h.token, "image/png", image.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = raw(&h, Method::GET, &url(&h, &format!("users/{adele}/thumbnailPhoto")), &aad, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert_eq!(r.text.as_bytes(), String::from_utf8_lossy(&image).as_bytes());

    // The same checks, in 1.6's error shape.
    let r = put(&h, &url(&h, &format!("users/{adele}/thumbnailPhoto")), &aad, "image/gif", b"GIF89a".to_vec()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    assert_eq!(r.json["odata.error"]["code"], "Request_UnsupportedMediaType");
    let r = put(&h, &url(&h, &format!("users/{adele}/thumbnailPhoto")), &aad, "image/png", jpeg(1, 1)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = raw(&h, Method::DELETE, &url(&h, &format!("users/{adele}/thumbnailPhoto")), &aad, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
}
