//! Profile photos of users and groups (`/users/{id}/photo/$value`, `/groups/{id}/photo/$value`,
//! Azure AD Graph's `thumbnailPhoto`): the rules of an upload, over the store's photo table.
//!
//! An upload must be a JPEG or PNG image of at most [`MAX_PHOTO_BYTES`] (Graph: "the size of the
//! photo you can add is limited to 4 MB"), declared with the matching `Content-Type`. The type is
//! verified from the bytes (magic number), never trusted from the header, and the pixel size is
//! read from the image header (PNG `IHDR`, JPEG start-of-frame), which is what the photo's
//! metadata (`height`, `width`, the size id `{width}X{height}`) reports. One size is kept per
//! object, as Entra does for objects without an Exchange mailbox.

use cerulean_store::PhotoRecord;
use uuid::Uuid;

use crate::error::DirectoryError;
use crate::{Caller, Directory};

/// The largest photo accepted, in bytes.
pub const MAX_PHOTO_BYTES: usize = 4 * 1024 * 1024;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Larger than [`MAX_PHOTO_BYTES`].
    #[error("The photo is larger than the maximum size of 4 MB (4194304 bytes).")]
    TooLarge,
    /// A declared `Content-Type` other than JPEG or PNG.
    #[error("The content type '{0}' is not supported for a profile photo; use image/jpeg or image/png.")]
    UnsupportedType(String),
    /// The bytes are not the image the `Content-Type` declares (or no readable image at all).
    #[error("The photo is not a valid {0} image.")]
    InvalidImage(&'static str),
    /// Looking up or writing the object failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// What the bytes of an image say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Reads the type and pixel size of a PNG or JPEG image; `None` for anything else, or an image
/// whose header is cut short or names a zero size.
pub fn inspect(bytes: &[u8]) -> Option<ImageInfo> {
    let info = if bytes.starts_with(PNG_SIGNATURE) {
        png(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        jpeg(bytes)?
    } else {
        return None;
    };
    (info.width > 0 && info.height > 0).then_some(info)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// PNG: the first chunk must be `IHDR` (13 bytes: width, height, ...).
fn png(b: &[u8]) -> Option<ImageInfo> {
    if be32(b, 8)? != 13 || b.get(12..16)? != b"IHDR" {
        return None;
    }
    Some(ImageInfo { content_type: "image/png", width: be32(b, 16)?, height: be32(b, 20)? })
}

/// JPEG: walks the marker segments after SOI to the first start-of-frame (SOF0..SOF15 except
/// DHT `C4`, JPG `C8` and DAC `CC`), whose payload is precision, height, width.
fn jpeg(b: &[u8]) -> Option<ImageInfo> {
    let mut at = 2;
    loop {
        // Markers may be padded with fill bytes 0xFF.
        if *b.get(at)? != 0xFF {
            return None;
        }
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame header: not a usable image.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(be16(b, at)?);
        if len < 2 {
            return None;
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = u32::from(be16(b, at + 3)?);
            let width = u32::from(be16(b, at + 5)?);
            return Some(ImageInfo { content_type: "image/jpeg", width, height });
        }
        at += len;
    }
}

/// The declared type, normalised: `image/jpeg` or `image/png`, parameters dropped.
fn declared(content_type: Option<&str>) -> Result<&'static str, PhotoError> {
    let raw = content_type.unwrap_or_default();
    let essence = raw.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => Ok("image/jpeg"),
        "image/png" => Ok("image/png"),
        _ => Err(PhotoError::UnsupportedType(raw.to_string())),
    }
}

/// Checks an upload: size, declared type, and the bytes against the declared type.
pub fn check_upload(content_type: Option<&str>, bytes: &[u8]) -> Result<ImageInfo, PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let wanted = declared(content_type)?;
    let name = if wanted == "image/png" { "PNG" } else { "JPEG" };
    match inspect(bytes) {
        Some(info) if info.content_type == wanted => Ok(info),
        _ => Err(PhotoError::InvalidImage(name)),
    }
}

/// Object types that carry a photo.
fn check_type(object_type: &str) -> Result<(), DirectoryError> {
    match object_type {
        "user" | "group" => Ok(()),
        other => Err(DirectoryError::Internal(format!("{other} objects have no photo"))),
    }
}

impl Directory {
    /// Stores the photo of the user or group `key` (replacing any), after [`check_upload`].
    pub async fn put_photo(
        &self,
        caller: &Caller,
        object_type: &str,
        key: &str,
        content_type: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<PhotoRecord, PhotoError> {
        check_type(object_type)?;
        let object = self.find(caller.tenant, object_type, key).await?;
        if object.deleted_at.is_some() {
            return Err(DirectoryError::not_found(key).into());
        }
        let info = check_upload(content_type, &bytes)?;
        let photo = PhotoRecord {
            object_id: object.id,
            content_type: info.content_type.to_string(),
            width: i64::from(info.width),
            height: i64::from(info.height),
            etag: Uuid::new_v4().simple().to_string(),
            updated_at: crate::validate::now(),
            bytes,
        };
        self.store.put_photo(caller.tenant, &photo).await.map_err(|e| match e {
            cerulean_store::StoreError::NotFound(_) => DirectoryError::not_found(key),
            other => other.into(),
        })?;
        Ok(photo)
    }

    /// The photo of the live user or group `key`: `Err` when the object does not exist,
    /// `Ok(None)` when it has no photo.
    pub async fn photo(
        &self,
        tenant: Uuid,
        object_type: &str,
        key: &str,
    ) -> Result<Option<PhotoRecord>, DirectoryError> {
        check_type(object_type)?;
        let object = self.find(tenant, object_type, key).await?;
        if object.deleted_at.is_some() {
            return Err(DirectoryError::not_found(key));
        }
        Ok(self.store.photo(tenant, object.id).await?)
    }

    /// Removes the photo of the live user or group `key`; returns whether there was one.
    pub async fn delete_photo(&self, caller: &Caller, object_type: &str, key: &str) -> Result<bool, DirectoryError> {
        check_type(object_type)?;
        let object = self.find(caller.tenant, object_type, key).await?;
        if object.deleted_at.is_some() {
            return Err(DirectoryError::not_found(key));
        }
        Ok(self.store.delete_photo(caller.tenant, object.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut b = PNG_SIGNATURE.to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn jpeg_header(w: u16, h: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        // APP0 (JFIF), 16 bytes of payload incl. length.
        b.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        // DHT before the frame must be skipped, not read as a frame.
        b.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x03, 0x00]);
        b.extend_from_slice(&[0xFF, 0xC2, 0x00, 0x11, 0x08]);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b.extend_from_slice(&[0xFF, 0xD9]);
        b
    }

    #[test]
    fn reads_png_and_jpeg_sizes() {
        assert_eq!(inspect(&png_header(48, 32)), Some(ImageInfo { content_type: "image/png", width: 48, height: 32 }));
        assert_eq!(
            inspect(&jpeg_header(640, 480)),
            Some(ImageInfo { content_type: "image/jpeg", width: 640, height: 480 })
        );
        assert_eq!(inspect(b"GIF89a......"), None);
        assert_eq!(inspect(&png_header(0, 10)), None);
        assert_eq!(inspect(&png_header(48, 32)[..18]), None);
        assert_eq!(inspect(&jpeg_header(10, 10)[..12]), None);
    }

    #[test]
    fn uploads_are_checked() {
        assert!(check_upload(Some("image/png"), &png_header(1, 1)).is_ok());
        assert!(check_upload(Some("image/jpeg; charset=binary"), &jpeg_header(1, 1)).is_ok());
        assert!(matches!(check_upload(Some("image/gif"), &png_header(1, 1)), Err(PhotoError::UnsupportedType(_))));
        assert!(matches!(check_upload(None, &png_header(1, 1)), Err(PhotoError::UnsupportedType(_))));
        assert!(matches!(check_upload(Some("image/jpeg"), &png_header(1, 1)), Err(PhotoError::InvalidImage("JPEG"))));
        let mut big = png_header(1, 1);
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert!(matches!(check_upload(Some("image/png"), &big), Err(PhotoError::TooLarge)));
    }
}
