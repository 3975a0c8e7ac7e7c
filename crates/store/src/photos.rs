//! Profile photos: the bytes of a user's or group's photo and what the directory parsed from
//! them. Kept in a table of their own, beside the object and never inside its document, so a
//! list or delta read of users never carries megabytes of image data. At most one photo per
//! object (Entra keeps one size for directory-only objects); purging the object removes it.

/// The stored photo of one directory object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRecord {
    /// The user or group the photo belongs to.
    pub object_id: uuid::Uuid,
    /// `image/jpeg` or `image/png`, as verified from the bytes.
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    /// An opaque version tag, changed by every upload (served as the ETag).
    pub etag: String,
    /// RFC 3339 time of the upload.
    pub updated_at: String,
    pub bytes: Vec<u8>,
}
