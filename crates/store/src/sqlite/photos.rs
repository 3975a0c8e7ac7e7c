//! Profile photos on SQLite (see [`crate::PhotoRecord`]). The upload is one statement that
//! inserts only while the owning object is live, so a photo never outlives a purge that ran
//! between the caller's check and the write.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::WithContext;
use crate::{PhotoRecord, StoreError, StoreResult};

pub(crate) fn put(conn: &mut Connection, tenant: Uuid, p: &PhotoRecord) -> StoreResult<()> {
    let (tenant, object) = (tenant.to_string(), p.object_id.to_string());
    let n = conn
        .prepare_cached(
            "INSERT INTO photos (tenant_id, object_id, content_type, width, height, etag, updated_at, bytes) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS \
             (SELECT 1 FROM objects WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL) \
             ON CONFLICT (tenant_id, object_id) DO UPDATE SET content_type = excluded.content_type, \
             width = excluded.width, height = excluded.height, etag = excluded.etag, \
             updated_at = excluded.updated_at, bytes = excluded.bytes",
        )
        .ctx("prepare put photo")?
        .execute(params![tenant, object, p.content_type, p.width, p.height, p.etag, p.updated_at, p.bytes])
        .ctx("put photo")?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("object {object}")));
    }
    Ok(())
}

type Cols = (String, i64, i64, String, String, Vec<u8>);

pub(crate) fn get(conn: &mut Connection, tenant: Uuid, object: Uuid) -> StoreResult<Option<PhotoRecord>> {
    let row: Option<Cols> = conn
        .prepare_cached(
            "SELECT content_type, width, height, etag, updated_at, bytes FROM photos \
             WHERE tenant_id = ?1 AND object_id = ?2",
        )
        .ctx("prepare photo")?
        .query_row(params![tenant.to_string(), object.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()
        .ctx("read photo")?;
    Ok(row.map(|(content_type, width, height, etag, updated_at, bytes)| PhotoRecord {
        object_id: object,
        content_type,
        width,
        height,
        etag,
        updated_at,
        bytes,
    }))
}

pub(crate) fn delete(conn: &mut Connection, tenant: Uuid, object: Uuid) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("DELETE FROM photos WHERE tenant_id = ?1 AND object_id = ?2")
        .ctx("prepare delete photo")?
        .execute(params![tenant.to_string(), object.to_string()])
        .ctx("delete photo")?;
    Ok(n > 0)
}
