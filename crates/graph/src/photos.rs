//! Profile photos of users and groups: `GET /users/{id}/photo` (metadata), `GET /users/{id}/photos`
//! (the one size kept), `GET|PUT /users/{id}/photo/$value` (the image), `DELETE
//! /users/{id}/photo`, the same under `/groups/{id}` and `/me`. The rules (JPEG or PNG checked
//! from the bytes, 4 MB, the pixel size) are `cerulean_directory::photos`'.
//!
//! An object without a photo answers Graph's `404 ImageNotFound`. The image carries an `ETag`
//! (new at every upload) and honours `If-None-Match` with a 304, so clients can cache it.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::photos::{MAX_PHOTO_BYTES, PhotoError};
use cerulean_store::PhotoRecord;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::users::client_request_id;
use crate::{GraphState, Principal, caller, odata};

/// Graph's answer for an object that has no photo.
pub(crate) fn image_not_found() -> GraphError {
    GraphError::new(
        404,
        "ImageNotFound",
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
    )
}

impl From<PhotoError> for GraphError {
    fn from(e: PhotoError) -> GraphError {
        match e {
            PhotoError::TooLarge => GraphError::new(413, "RequestEntityTooLarge", e.to_string()),
            PhotoError::UnsupportedType(_) => GraphError::new(415, "UnsupportedMediaType", e.to_string()),
            PhotoError::InvalidImage(_) => GraphError::new(400, "ImageInvalid", e.to_string()),
            PhotoError::Directory(d) => d.into(),
        }
    }
}

/// The size id Graph names a photo by (`240X240`).
fn size_id(p: &PhotoRecord) -> String {
    format!("{}X{}", p.width, p.height)
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// The `profilePhoto` entity of a stored photo.
fn metadata(p: &PhotoRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("@odata.mediaContentType".into(), json!(p.content_type));
    m.insert("@odata.mediaEtag".into(), json!(quoted(&p.etag)));
    m.insert("id".into(), json!(size_id(p)));
    m.insert("height".into(), json!(p.height));
    m.insert("width".into(), json!(p.width));
    m
}

/// The entity set segment of an object type, for `@odata.context`.
fn set_of(object_type: &str) -> &'static str {
    if object_type == "group" { "groups" } else { "users" }
}

async fn stored(s: &GraphState, p: &Principal, object_type: &str, key: &str) -> Result<PhotoRecord, GraphError> {
    s.directory.photo(p.tenant, object_type, key).await?.ok_or_else(image_not_found)
}

/// `GET .../photo`: the metadata.
pub(crate) async fn get_metadata(
    s: &GraphState,
    p: &Principal,
    object_type: &str,
    key: &str,
) -> Result<Response, GraphError> {
    let photo = stored(s, p, object_type, key).await?;
    let mut body = Map::new();
    let context = format!("{}/$metadata#{}('{key}')/photo/$entity", s.base(), set_of(object_type));
    body.insert("@odata.context".into(), json!(context));
    body.extend(metadata(&photo));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `GET .../photos`: the sizes kept (one), or an empty collection.
pub(crate) async fn list(s: &GraphState, p: &Principal, object_type: &str, key: &str) -> Result<Response, GraphError> {
    let photo = s.directory.photo(p.tenant, object_type, key).await?;
    let context = format!("{}/$metadata#{}('{key}')/photos", s.base(), set_of(object_type));
    let value: Vec<Value> = photo.iter().map(|ph| Value::Object(metadata(ph))).collect();
    Ok(odata::json(StatusCode::OK, json!({"@odata.context": context, "value": value})))
}

/// `GET .../photos/{size}`: the one size, by its id.
pub(crate) async fn get_size(
    s: &GraphState,
    p: &Principal,
    object_type: &str,
    key: &str,
    size: &str,
) -> Result<Response, GraphError> {
    let photo = stored(s, p, object_type, key).await?;
    if !size_id(&photo).eq_ignore_ascii_case(size) {
        return Err(image_not_found());
    }
    let mut body = Map::new();
    let context = format!("{}/$metadata#{}('{key}')/photos/$entity", s.base(), set_of(object_type));
    body.insert("@odata.context".into(), json!(context));
    body.extend(metadata(&photo));
    Ok(odata::json(StatusCode::OK, Value::Object(body)))
}

/// `GET .../photo/$value`: the image, with its ETag; 304 when `If-None-Match` names it.
pub(crate) async fn get_value(
    s: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    object_type: &str,
    key: &str,
) -> Result<Response, GraphError> {
    let photo = stored(s, p, object_type, key).await?;
    let etag = quoted(&photo.etag);
    let etag_header = HeaderValue::from_str(&etag).map_err(|_| GraphError::new(500, "InternalServerError", "etag"))?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response());
    }
    let content_type = HeaderValue::from_str(&photo.content_type)
        .map_err(|_| GraphError::new(500, "InternalServerError", "content type"))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type), (header::ETAG, etag_header)], photo.bytes)
        .into_response())
}

/// Reads an upload body, refusing one over the limit without buffering the rest.
pub(crate) async fn read_upload(body: Body) -> Result<Vec<u8>, GraphError> {
    axum::body::to_bytes(body, MAX_PHOTO_BYTES + 1).await.map(|b| b.to_vec()).map_err(|_| PhotoError::TooLarge.into())
}

/// `PUT .../photo/$value`: stores the image; 200 with the new ETag.
pub(crate) async fn put_value(
    s: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    object_type: &str,
    key: &str,
    bytes: Vec<u8>,
) -> Result<Response, GraphError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let photo =
        s.directory.put_photo(&caller(p, client_request_id(headers)), object_type, key, content_type, bytes).await?;
    let etag =
        HeaderValue::from_str(&quoted(&photo.etag)).map_err(|_| GraphError::new(500, "InternalServerError", "etag"))?;
    Ok((StatusCode::OK, [(header::ETAG, etag)]).into_response())
}

/// `DELETE .../photo`: 204, or `ImageNotFound`.
pub(crate) async fn delete(
    s: &GraphState,
    p: &Principal,
    headers: &HeaderMap,
    object_type: &str,
    key: &str,
) -> Result<Response, GraphError> {
    if s.directory.delete_photo(&caller(p, client_request_id(headers)), object_type, key).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(image_not_found())
    }
}

/// Declares the route handlers of one object type.
macro_rules! photo_routes {
    ($object_type:literal, $meta:ident, $list:ident, $size:ident, $value:ident, $put:ident, $delete:ident) => {
        pub(crate) async fn $meta(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
        ) -> Result<Response, GraphError> {
            get_metadata(&s, &p, $object_type, &id).await
        }

        pub(crate) async fn $list(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
        ) -> Result<Response, GraphError> {
            list(&s, &p, $object_type, &id).await
        }

        pub(crate) async fn $size(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path((id, size)): Path<(String, String)>,
        ) -> Result<Response, GraphError> {
            get_size(&s, &p, $object_type, &id, &size).await
        }

        pub(crate) async fn $value(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
        ) -> Result<Response, GraphError> {
            get_value(&s, &p, &h, $object_type, &id).await
        }

        pub(crate) async fn $put(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
            body: Body,
        ) -> Result<Response, GraphError> {
            let bytes = read_upload(body).await?;
            put_value(&s, &p, &h, $object_type, &id, bytes).await
        }

        pub(crate) async fn $delete(
            State(s): State<GraphState>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
            h: HeaderMap,
        ) -> Result<Response, GraphError> {
            delete(&s, &p, &h, $object_type, &id).await
        }
    };
}

photo_routes!("user", user_metadata, user_list, user_size, user_value, user_put, user_delete);
photo_routes!("group", group_metadata, group_list, group_size, group_value, group_put, group_delete);
